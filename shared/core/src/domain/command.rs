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
            _ => return None,
        })
    }

    /// A supervisor's command about another ticket: `/close N`, `/requeue …`.
    pub fn is_supervisors(self) -> bool {
        matches!(self, Command::Requeue(_)) || matches!(self, Command::Close(arg) if arg != TicketArg::Missing)
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
        for text in ["/closed", "/transferring", "/help", "close 12", "привет /close 12", "/", ""] {
            assert_eq!(Command::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn only_commands_about_another_ticket_are_supervisors() {
        let supervisors = |t| Command::parse(t).is_some_and(Command::is_supervisors);
        assert!(supervisors("/close 3") && supervisors("/close x") && supervisors("/requeue 3"));
        assert!(supervisors("/requeue"));
        assert!(!supervisors("/close") && !supervisors("/transfer 3") && !supervisors("/cancel"));
    }
}
