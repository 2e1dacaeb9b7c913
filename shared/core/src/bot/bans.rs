//! Bans. A supervisor's `/ban N [reason]` bars ticket N's customer: their open ticket is closed and from then on
//! what they send, edit, press or react is stored (`banned_messages`) and goes nowhere else: no ticket, no card,
//! nothing to an operator. They get one polite fixed reply a day. `/unban USER_ID` lifts it; `/bans` lists them.
//!
//! The ban is written under the customer's conversation lock, the lock every update of theirs takes first and
//! under which it looks the ban up: an update of theirs handled meanwhile either finished before (its ticket is
//! then closed by the ban) or sees the ban.

use super::ProcessError;
use super::ctx::Ctx;
use super::lifecycle;
use crate::db::bans::{self, BannedEvent, BannedRecord};
use crate::db::tickets;
use crate::db::users;
use crate::domain::{CloseReason, DialogState};
use crate::telegram::{CallbackQuery, Message, MessageReactionUpdated, SendMessage, User};
use crate::texts;

/// A ban's reason is cut to this many characters.
const REASON_CHARS: usize = 300;
/// `/bans` lists at most this many (the newest), and stops earlier to stay within one message.
const LIST_ROWS: i64 = 50;
/// Room kept in a `/bans` message (Telegram's limit is 4096) for its tail.
const LIST_CHARS: usize = 3900;
/// A reason as `/bans` shows it.
const LIST_REASON_CHARS: usize = 80;

/// `/ban N [reason]` from `supervisor` (their role confirmed): the supervisor's reply.
pub(crate) async fn ban(
    ctx: &mut Ctx<'_>,
    supervisor: &User,
    ticket_id: i64,
    reason: Option<&str>,
) -> Result<String, ProcessError> {
    let Some((user_id, customer)) = bans::customer_of(ctx.db(), ticket_id).await? else {
        return Ok(texts::no_such_ticket(ticket_id));
    };
    if super::roles::confirm_role(ctx, customer).await?.is_operator() {
        return Ok(texts::cannot_ban_staff(ticket_id));
    }
    // Their updates wait for this transaction from here on, and the next one sees the ban.
    users::lock_conversation(ctx.db(), customer).await?;
    let reason = reason.map(|r| r.chars().take(REASON_CHARS).collect::<String>());
    let Some(ban_id) = bans::ban(ctx.db(), customer, ticket_id, reason.as_deref(), supervisor.id).await? else {
        return Ok(texts::already_banned(ticket_id, customer));
    };
    tracing::info!(ticket = ticket_id, user = customer, "supervisor banned a customer");
    let open = tickets::lock_open_ticket_of_customer(ctx.db(), customer).await?;
    let mut closed = None;
    if let Some(ticket) = open
        && lifecycle::close(ctx, &ticket, CloseReason::Banned, None).await?
    {
        // The close told them (the polite refusal): that is the day's reply.
        bans::replied(ctx.db(), ban_id).await?;
        closed = Some(ticket.id);
    }
    // A phone step half done is not resumed after an unban.
    users::set_dialog_state(ctx.db(), user_id, DialogState::Menu).await?;
    let who = users::handle_of(ctx.db(), customer).await?;
    Ok(texts::ban_done(ticket_id, &who, customer, closed))
}

/// `/unban USER_ID`: the supervisor's reply.
pub(crate) async fn unban(ctx: &mut Ctx<'_>, supervisor: &User, tg_id: i64) -> Result<String, ProcessError> {
    if !bans::lift(ctx.db(), tg_id, supervisor.id).await? {
        return Ok(texts::not_banned(tg_id));
    }
    tracing::info!(user = tg_id, "supervisor lifted a ban");
    Ok(texts::unbanned(tg_id))
}

/// `/bans`: the bans in force, newest first, in one message.
pub(crate) async fn list(ctx: &mut Ctx<'_>) -> Result<String, ProcessError> {
    let (bans, total) = bans::list(ctx.db(), LIST_ROWS).await?;
    if bans.is_empty() {
        return Ok(texts::NO_BANS.to_owned());
    }
    let tz = ctx.app.config.desk_tz;
    let mut text = texts::bans_header(total);
    let mut shown = 0;
    for ban in &bans {
        let who = match (&ban.first_name, &ban.username) {
            (None, None) => texts::BANNED_UNKNOWN.to_owned(),
            (first, username) => users::handle(username.as_deref(), first.as_deref().unwrap_or_default(), ban.tg_id),
        };
        let since = ban.banned_at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string();
        let reason = ban.reason.as_deref().map(|r| cut(r, LIST_REASON_CHARS));
        let line = texts::ban_line(ban.tg_id, &who, &since, ban.ticket_id, reason.as_deref(), ban.stored);
        if text.chars().count() + line.chars().count() + 1 > LIST_CHARS {
            break;
        }
        text.push('\n');
        text.push_str(&line);
        shown += 1;
    }
    if total > shown {
        text.push('\n');
        text.push_str(&texts::bans_more(total - shown));
    }
    Ok(text)
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Stores what a banned person did and gives them the day's reply if it is due.
async fn store(
    ctx: &mut Ctx<'_>,
    ban_id: i64,
    tg_id: i64,
    event: BannedEvent,
    record: BannedRecord<'_>,
) -> Result<(), ProcessError> {
    let reply = bans::record(ctx.db(), ban_id, tg_id, event, &record).await?;
    tracing::info!(user = tg_id, event = event.as_str(), reply, "banned person's update stored, not relayed");
    if reply {
        ctx.send(SendMessage::new(tg_id, texts::BANNED_REPLY))?;
    }
    Ok(())
}

/// What a message carries, as stored.
fn of_message(message: &Message) -> (crate::domain::Content, Option<&str>) {
    (message.content(), message.text.as_deref().or(message.caption.as_deref()))
}

/// A message (or, `edited`, an edit) from banned `tg_id`.
pub(crate) async fn message(
    ctx: &mut Ctx<'_>,
    ban_id: i64,
    tg_id: i64,
    message: &Message,
    edited: bool,
) -> Result<(), ProcessError> {
    let (content, body) = of_message(message);
    let file = content.file.as_ref().map(|f| (f.file_id.as_str(), f.file_unique_id.as_str()));
    let record = BannedRecord { message_id: Some(message.message_id), content: Some(content.kind), body, file };
    let event = if edited { BannedEvent::Edit } else { BannedEvent::Message };
    store(ctx, ban_id, tg_id, event, record).await
}

/// A button press from a banned person: stored, its spinner stopped.
pub(crate) async fn press(ctx: &mut Ctx<'_>, ban_id: i64, query: &CallbackQuery) -> Result<(), ProcessError> {
    let record = BannedRecord {
        message_id: query.message.as_ref().map(|m| m.message_id),
        body: query.data.as_deref(),
        ..BannedRecord::default()
    };
    ctx.ack(query)?;
    store(ctx, ban_id, query.from.id, BannedEvent::Press, record).await
}

/// A reaction from a banned person.
pub(crate) async fn reaction(
    ctx: &mut Ctx<'_>,
    ban_id: i64,
    tg_id: i64,
    reaction: &MessageReactionUpdated,
) -> Result<(), ProcessError> {
    let emoji = serde_json::Value::Array(reaction.new_reaction.clone()).to_string();
    let record = BannedRecord { message_id: Some(reaction.message_id), body: Some(&emoji), ..BannedRecord::default() };
    store(ctx, ban_id, tg_id, BannedEvent::Reaction, record).await
}
