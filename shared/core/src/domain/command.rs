//! The commands people type to the bot. Parsed strictly from the message's first word (with or without the bot's
//! `@name`); anything else is not a command and is handled as text (customers' messages may start with `/`).

/// A ticket number given to a command: `/close 12`, `/close #12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketArg {
    /// No argument.
    Missing,
    /// A ticket number.
    Id(i64),
    /// Something that is not a ticket number.
    Invalid,
}

impl TicketArg {
    fn parse(rest: &str) -> TicketArg {
        let rest = rest.trim();
        if rest.is_empty() {
            return TicketArg::Missing;
        }
        let digits = rest.strip_prefix('#').unwrap_or(rest);
        match digits.parse::<i64>() {
            Ok(id) if id > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => TicketArg::Id(id),
            _ => TicketArg::Invalid,
        }
    }
}

/// A command the desk knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command<'t> {
    /// `/start [payload]`.
    Start,
    /// `/cancel`: a customer withdraws a waiting request.
    Cancel,
    /// `/transfer [comment]` (the operator in a dialog): hand it to a colleague.
    Transfer(Option<&'t str>),
    /// `/close` (the operator in a dialog) or `/close N` (supervisors).
    Close(TicketArg),
    /// `/requeue N` (supervisors): take ticket N from its operator, back to the queue.
    Requeue(TicketArg),
    /// `/ban N [reason]` (supervisors): bar ticket N's customer from the desk.
    Ban(TicketArg, Option<&'t str>),
    /// `/unban USER_ID` (supervisors): lift a ban (the id `/bans` lists).
    Unban(TicketArg),
    /// `/bans` (supervisors): the bans in force.
    Bans,
    /// `/history ARG` (operators): a ticket's transcript, or a customer's tickets.
    History(&'t str),
    /// `/stats [7d|30d]` (supervisors): the desk's figures with a chart.
    Stats(&'t str),
}

impl<'t> Command<'t> {
    /// The command `text` starts with, if it is one of ours.
    pub fn parse(text: &'t str) -> Option<Command<'t>> {
        let text = text.trim_start();
        let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let name = first.split_once('@').map_or(first, |(name, _bot)| name);
        Some(match name {
            "/start" => Command::Start,
            "/cancel" => Command::Cancel,
            "/transfer" => Command::Transfer(Some(rest.trim()).filter(|c| !c.is_empty())),
            "/close" => Command::Close(TicketArg::parse(rest)),
            "/requeue" => Command::Requeue(TicketArg::parse(rest)),
            "/ban" => {
                let rest = rest.trim();
                let (number, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                Command::Ban(TicketArg::parse(number), Some(reason.trim()).filter(|r| !r.is_empty()))
            }
            "/unban" => Command::Unban(TicketArg::parse(rest)),
            "/bans" => Command::Bans,
            "/history" => Command::History(rest.trim()),
            "/stats" => Command::Stats(rest.trim()),
            _ => return None,
        })
    }

    /// A supervisor's command about another ticket or person, or about the desk: `/close N`, `/requeue …`,
    /// `/ban …`, `/unban …`, `/bans`, `/stats`.
    pub fn is_supervisors(self) -> bool {
        matches!(self, Command::Requeue(_) | Command::Ban(..) | Command::Unban(_) | Command::Bans | Command::Stats(_))
            || matches!(self, Command::Close(arg) if arg != TicketArg::Missing)
    }

    /// A supervisor's command whose argument is well formed: an operator in a dialog who types one means it for
    /// the desk; anything else they type (`/close 3 дня`, `/ban`) is for their customer.
    pub fn is_complete_supervisors(self) -> bool {
        matches!(
            self,
            Command::Requeue(TicketArg::Id(_))
                | Command::Close(TicketArg::Id(_))
                | Command::Ban(TicketArg::Id(_), _)
                | Command::Unban(TicketArg::Id(_))
                | Command::Bans
                | Command::Stats(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_from_the_first_word_only() {
        assert_eq!(Command::parse("/start"), Some(Command::Start));
        assert_eq!(Command::parse("/start@zabota_bot promo"), Some(Command::Start));
        assert_eq!(Command::parse("/cancel"), Some(Command::Cancel));
        assert_eq!(Command::parse("/files 12"), None, "the archive's commands parse their own arguments");
        assert_eq!(Command::parse("/transfer"), Some(Command::Transfer(None)));
        assert_eq!(Command::parse("/transfer   "), Some(Command::Transfer(None)));
        assert_eq!(
            Command::parse("/transfer@zabota_bot нужен юрист\nсрочно"),
            Some(Command::Transfer(Some("нужен юрист\nсрочно")))
        );
        assert_eq!(Command::parse("/close"), Some(Command::Close(TicketArg::Missing)));
        assert_eq!(Command::parse("/close 12"), Some(Command::Close(TicketArg::Id(12))));
        assert_eq!(Command::parse("/close #12"), Some(Command::Close(TicketArg::Id(12))));
        assert_eq!(Command::parse("/close twelve"), Some(Command::Close(TicketArg::Invalid)));
        assert_eq!(Command::parse("/close -3"), Some(Command::Close(TicketArg::Invalid)));
        assert_eq!(Command::parse("/close +3"), Some(Command::Close(TicketArg::Invalid)));
        assert_eq!(Command::parse("/close 0"), Some(Command::Close(TicketArg::Invalid)));
        assert_eq!(Command::parse("/close 99999999999999999999"), Some(Command::Close(TicketArg::Invalid)));
        assert_eq!(Command::parse("/requeue 7"), Some(Command::Requeue(TicketArg::Id(7))));
        assert_eq!(Command::parse("/requeue"), Some(Command::Requeue(TicketArg::Missing)));
        assert_eq!(Command::parse("/ban 12"), Some(Command::Ban(TicketArg::Id(12), None)));
        assert_eq!(
            Command::parse("/ban@zabota_bot #12   спам и оскорбления\nснова"),
            Some(Command::Ban(TicketArg::Id(12), Some("спам и оскорбления\nснова")))
        );
        assert_eq!(Command::parse("/ban"), Some(Command::Ban(TicketArg::Missing, None)));
        assert_eq!(Command::parse("/ban спам"), Some(Command::Ban(TicketArg::Invalid, None)));
        assert_eq!(Command::parse("/unban 123456789"), Some(Command::Unban(TicketArg::Id(123_456_789))));
        assert_eq!(Command::parse("/unban"), Some(Command::Unban(TicketArg::Missing)));
        assert_eq!(Command::parse("/bans"), Some(Command::Bans));
        assert_eq!(Command::parse("/bans all"), Some(Command::Bans));
        assert_eq!(Command::parse("/history  +7 916 123-45-67 "), Some(Command::History("+7 916 123-45-67")));
        assert_eq!(Command::parse("/history@zabota_bot"), Some(Command::History("")));
        assert_eq!(Command::parse("/stats 7d"), Some(Command::Stats("7d")));
        for text in
            ["/closed", "/transferring", "/help", "close 12", "привет /close 12", "/", "", "/banned", "/unbanned"]
        {
            assert_eq!(Command::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn only_commands_about_another_ticket_are_supervisors() {
        let supervisors = |t| Command::parse(t).is_some_and(Command::is_supervisors);
        assert!(supervisors("/close 3") && supervisors("/close x") && supervisors("/requeue 3"));
        assert!(supervisors("/requeue"));
        assert!(!supervisors("/close") && !supervisors("/transfer 3") && !supervisors("/cancel"));
        assert!(supervisors("/ban 3 спам") && supervisors("/ban") && supervisors("/unban 5") && supervisors("/bans"));
        let complete = |t| Command::parse(t).is_some_and(Command::is_complete_supervisors);
        assert!(complete("/ban 3 спам") && complete("/unban 5") && complete("/bans") && complete("/close 3"));
        assert!(!complete("/ban") && !complete("/ban спам") && !complete("/unban x") && !complete("/close 3 дня"));
    }
}
