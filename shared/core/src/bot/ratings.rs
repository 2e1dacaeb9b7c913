//! Satisfaction ratings: after a dialog an operator or a supervisor closed, its customer is asked for 1–5. The
//! first press counts (one rating per ticket, the database's primary key decides); later presses are answered,
//! not counted. The operator who handled the dialog is told. The customer's next text, within
//! [`COMMENT_WINDOW`] of rating, is stored as the rating's comment and passed to the operator too.

use std::time::Duration;

use super::ProcessError;
use super::ctx::Ctx;
use super::keyboards;
use crate::db::ratings;
use crate::db::users::UserRow;
use crate::telegram::{CallbackQuery, EditMessageText, Message, SendMessage};
use crate::texts;

/// How long after rating the customer's next text is taken as their comment.
pub const COMMENT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// A comment is cut to this many characters.
const COMMENT_CHARS: usize = 2000;

/// Asks the customer of `ticket_id`, whose dialog just closed, for a rating.
pub(crate) fn ask(ctx: &mut Ctx<'_>, customer_tg_id: i64, ticket_id: i64) -> Result<(), ProcessError> {
    ctx.send(SendMessage::new(customer_tg_id, texts::RATE_PLEASE).with_markup(keyboards::rating(ticket_id)))?;
    Ok(())
}

/// A press of `score` under the rating request of `ticket_id`.
pub(crate) async fn rate(
    ctx: &mut Ctx<'_>,
    query: &CallbackQuery,
    ticket_id: i64,
    score: u8,
) -> Result<(), ProcessError> {
    let retention = i32::try_from(ctx.app.config.history_retention_days).unwrap_or(i32::MAX);
    let ticket = ratings::rateable(ctx.db(), ticket_id, retention).await?;
    let pressed = query.message.as_ref().map(|m| (m.chat_id(), m.message_id));
    let ticket = match ticket {
        Some(t) if t.customer_tg_id != query.from.id || !t.closed_after_dialog => {
            return Ok(ctx.alert(query, texts::ALERT_STALE)?);
        }
        Some(t) if !t.past_retention => t,
        _ => {
            tracing::info!(ticket = ticket_id, "rating of a ticket past retention refused");
            if let Some((chat, message)) = pressed {
                ctx.remove_buttons(chat, message)?;
            }
            return Ok(ctx.alert(query, texts::RATING_TOO_OLD)?);
        }
    };
    if !ratings::rate(ctx.db(), ticket_id, i16::from(score), ticket.operator_tg_id).await? {
        return Ok(ctx.alert(query, texts::ALREADY_RATED)?);
    }
    tracing::info!(ticket = ticket_id, score, "customer rated the dialog");
    ctx.ack(query)?;
    if let Some((chat_id, message_id)) = pressed {
        let thanks = texts::rated(score);
        ctx.edit_text(EditMessageText { chat_id, message_id, text: thanks, entities: None, reply_markup: None })?;
    }
    if let Some(operator) = on_desk(ctx, ticket.operator_tg_id).await? {
        ctx.send(SendMessage::new(operator, texts::rated_operator(ticket_id, i16::from(score))))?;
    }
    Ok(())
}

/// `operator`, when they are still at the desk: someone who has left the operators' chat is not told of ratings
/// (nor of comments) on their old dialogs.
async fn on_desk(ctx: &Ctx<'_>, operator: Option<i64>) -> Result<Option<i64>, ProcessError> {
    let Some(operator) = operator else { return Ok(None) };
    if super::roles::role(ctx, operator).await?.is_operator() {
        return Ok(Some(operator));
    }
    tracing::info!(operator, "the operator of a rated dialog has left the desk; not told");
    Ok(None)
}

/// A text from `user` (no open ticket, at the menu): their comment on the rating they just gave, if there is one
/// to comment on. False when it is not a comment (the caller answers it as usual).
pub(crate) async fn comment(ctx: &mut Ctx<'_>, user: &UserRow, message: &Message) -> Result<bool, ProcessError> {
    let Some(text) = message.text.as_deref().map(str::trim).filter(|t| !t.is_empty() && !t.starts_with('/')) else {
        return Ok(false);
    };
    let text: String = text.chars().take(COMMENT_CHARS).collect();
    let Some(rated) = ratings::comment(ctx.db(), user.id, &text, COMMENT_WINDOW).await? else { return Ok(false) };
    tracing::info!(ticket = rated.ticket_id, "customer commented on their rating");
    ctx.send(SendMessage::new(user.tg_id, texts::COMMENT_THANKS).with_markup(keyboards::home(&ctx.app.desk)))?;
    if let Some(operator) = on_desk(ctx, rated.operator_tg_id).await? {
        ctx.send(SendMessage::new(operator, texts::comment_operator(rated.ticket_id, rated.score, &text)))?;
    }
    Ok(true)
}
