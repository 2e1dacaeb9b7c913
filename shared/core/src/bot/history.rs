//! `/history` for operators: `/history N` sends ticket N's transcript as a `.txt` document (one message however
//! long the dialog); `/history +79161234567`, `/history @username` or `/history USER_ID` lists that customer's
//! tickets, one line each. Operators (their role confirmed with Telegram) may look up anyone; customers never
//! reach the command (theirs is an ordinary message).

use std::collections::HashMap;

use bytes::Bytes;

use super::ProcessError;
use super::ctx::Ctx;
use crate::db::history::{self, Lookup};
use crate::db::users;
use crate::domain::phone::Phone;
use crate::history::TicketRecord;
use crate::history::transcript;
use crate::telegram::SendMessage;
use crate::texts;

/// A customer's `/history` lists at most this many tickets (the newest).
const LIST_ROWS: i64 = 30;
/// How long the transcript may wait for room in the chat's and the bot's budgets.
const UPLOAD_PACE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// What `/history` was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked<'a> {
    Usage,
    /// A number: a ticket, or else a customer's Telegram id.
    Number(i64),
    /// `#N`: a ticket.
    Ticket(i64),
    Customer(Lookup<'a>),
}

fn parse<'a>(arg: &'a str, phone: &'a Option<String>) -> Asked<'a> {
    let arg = arg.trim();
    if let Some(name) = arg.strip_prefix('@').filter(|n| !n.is_empty() && !n.contains(char::is_whitespace)) {
        return Asked::Customer(Lookup::Username(name));
    }
    let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0 && s.bytes().all(|b| b.is_ascii_digit()));
    if let Some(id) = arg.strip_prefix('#').and_then(number) {
        return Asked::Ticket(id);
    }
    if arg.starts_with('+')
        && let Some(phone) = phone
    {
        return Asked::Customer(Lookup::Phone(phone));
    }
    match number(arg) {
        Some(n) => Asked::Number(n),
        None => Asked::Usage,
    }
}

/// `/history ARG` from operator `from` (their role confirmed by the caller), answered in `reply_to`.
pub(crate) async fn command(ctx: &mut Ctx<'_>, reply_to: i64, arg: &str) -> Result<(), ProcessError> {
    let phone = arg.trim().strip_prefix('+').map(|_| arg.trim());
    let phone =
        phone.and_then(|p| Phone::parse(p, &ctx.app.config.default_region).ok()).map(|p| p.as_e164().to_owned());
    let reply = match parse(arg, &phone) {
        Asked::Usage => texts::HISTORY_USAGE.to_owned(),
        Asked::Ticket(id) => match send_transcript(ctx, reply_to, id).await? {
            Some(reply) => reply,
            None => return Ok(()),
        },
        Asked::Number(n) => match history::ticket_json(ctx.db(), n).await? {
            Some(json) => match send(ctx, reply_to, n, &json).await? {
                Some(reply) => reply,
                None => return Ok(()),
            },
            None => customers(ctx, Lookup::Id(n), arg.trim()).await?,
        },
        Asked::Customer(lookup) => customers(ctx, lookup, arg.trim()).await?,
    };
    ctx.send(SendMessage::new(reply_to, reply))?;
    Ok(())
}

/// Ticket `id`'s transcript to `chat`; `None` when it was sent, else the reply saying why not.
async fn send_transcript(ctx: &mut Ctx<'_>, chat: i64, id: i64) -> Result<Option<String>, ProcessError> {
    match history::ticket_json(ctx.db(), id).await? {
        Some(json) => send(ctx, chat, id, &json).await,
        None => Ok(Some(texts::transcript_missing(id))),
    }
}

async fn send(ctx: &mut Ctx<'_>, chat: i64, id: i64, json: &str) -> Result<Option<String>, ProcessError> {
    let record: TicketRecord = match serde_json::from_str(json) {
        Ok(record) => record,
        Err(e) => {
            tracing::error!(ticket = id, error = %e, "a ticket's record does not read back");
            return Ok(Some(texts::transcript_unreadable(id)));
        }
    };
    let mut ids: Vec<i64> = record.operator_tg_id.into_iter().collect();
    ids.extend(record.handovers.iter().map(|h| h.operator_tg_id));
    ids.extend(record.messages.iter().filter(|m| m.sender == "OPERATOR").map(|m| m.sender_tg_id));
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<i64, String> = users::handles_of(ctx.db(), &ids).await?.into_iter().collect();
    let text = transcript::render(&record, ctx.app.config.desk_tz, &names, &ctx.app.desk);
    let limits = &ctx.app.config.send_limits;
    crate::db::budgets::take_slot_waiting(ctx.db(), chat, limits, UPLOAD_PACE_WAIT).await?;
    let caption = texts::transcript_caption(id, record.messages.len());
    let name = texts::transcript_file_name(id);
    let sent = ctx
        .app
        .telegram
        .send_document_upload(
            ctx.deadline(),
            chat,
            &name,
            Bytes::from(text),
            "text/plain; charset=utf-8",
            Some(&caption),
        )
        .await;
    match sent {
        Ok(_) => {
            tracing::info!(ticket = id, messages = record.messages.len(), "transcript sent to an operator");
            Ok(None)
        }
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => {
            tracing::warn!(ticket = id, error = %e, "transcript could not be sent");
            Ok(Some(texts::transcript_not_sent(id, e.said())))
        }
    }
}

/// The tickets of the customers `lookup` names (`asked`: as typed), one line each.
async fn customers(ctx: &Ctx<'_>, lookup: Lookup<'_>, asked: &str) -> Result<String, ProcessError> {
    let found = history::find_customers(ctx.db(), lookup).await?;
    if found.is_empty() {
        return Ok(texts::history_nobody(asked));
    }
    let tz = ctx.app.config.desk_tz;
    let mut parts = Vec::new();
    for customer in &found {
        let (tickets, total) = history::tickets_of_customer(ctx.db(), customer.user_id, LIST_ROWS).await?;
        if tickets.is_empty() {
            parts.push(texts::history_none(&customer.handle, customer.tg_id));
            continue;
        }
        let mut text = texts::history_header(&customer.handle, customer.tg_id, total);
        for ticket in &tickets {
            text.push('\n');
            text.push_str(&super::card::past_line(ticket, tz, &ctx.app.desk));
        }
        if total > i64::try_from(tickets.len()).unwrap_or(i64::MAX) {
            text.push('\n');
            text.push_str(&texts::history_more(total - i64::try_from(tickets.len()).unwrap_or(0)));
        }
        parts.push(text);
    }
    let all = parts.join("\n\n");
    Ok(super::bans::cut(&all, LIST_CHARS))
}

/// A `/history` list stays within one message.
const LIST_CHARS: usize = 4000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_reads_its_argument() {
        let phone = Some("+79161234567".to_owned());
        assert_eq!(parse("", &None), Asked::Usage);
        assert_eq!(parse("  12 ", &None), Asked::Number(12));
        assert_eq!(parse("#12", &None), Asked::Ticket(12));
        assert_eq!(parse("@olga", &None), Asked::Customer(Lookup::Username("olga")));
        assert_eq!(parse("+7 916 123-45-67", &phone), Asked::Customer(Lookup::Phone("+79161234567")));
        for bad in ["@", "@a b", "#", "#x", "-5", "0", "+7 000", "двенадцать", "12 13"] {
            assert_eq!(parse(bad, &None), Asked::Usage, "{bad:?}");
        }
    }
}
