//! Operators' buttons: «Взять в работу» (the atomic claim) and «Завершить диалог».

use super::ProcessError;
use super::ctx::Ctx;
use super::{card, keyboards, lifecycle};
use crate::db::messages::{self, PendingMessage};
use crate::db::tickets::{self, Status};
use crate::domain::CloseReason;
use crate::telegram::{CallbackQuery, SendMessage};
use crate::texts;

/// «Взять в работу». Only members of the operators' chat; one active dialog per operator; the first
/// `UPDATE … WHERE status = 'WAITING'` wins. The operator's summary is sent before commit: if Telegram refuses
/// (the operator never started the bot), the claim is undone in the same transaction.
pub async fn claim(ctx: &mut Ctx<'_>, query: &CallbackQuery, ticket_id: i64) -> Result<(), ProcessError> {
    let operator = &query.from;
    let card = query.message.as_ref().filter(|m| m.chat_id() == ctx.app.config.operators_chat_id);
    let Some(card) = card else {
        ctx.alert(query, texts::ALERT_STALE)?;
        return Ok(());
    };
    if !super::roles::confirm_operator(ctx, operator.id).await? {
        return Ok(ctx.alert(query, texts::ALERT_NOT_OPERATOR)?);
    }
    if let Some(active) = tickets::lock_active_ticket_of_operator(ctx.db(), operator.id).await? {
        if active.id == ticket_id {
            return Ok(ctx.notice(query, texts::claimed(ticket_id))?);
        }
        return Ok(ctx.alert(query, texts::alert_busy(active.id))?);
    }
    if !tickets::claim_ticket(ctx.db(), ticket_id, operator.id).await? {
        let text = match tickets::lock_ticket(ctx.db(), ticket_id).await?.map(|t| t.status) {
            Some(Status::Assigned) => texts::alert_taken(ticket_id),
            Some(Status::Closed) => texts::alert_closed(ticket_id),
            _ => texts::ALERT_STALE.into(),
        };
        return Ok(ctx.alert(query, text)?);
    }
    let Some(ticket) = tickets::lock_ticket(ctx.db(), ticket_id).await? else {
        return Ok(ctx.alert(query, texts::ALERT_STALE)?);
    };
    let backlog = messages::undelivered_from_customer(ctx.db(), ticket_id).await?;
    // The newest messages are copied one by one; earlier ones (a customer who wrote hundreds while waiting)
    // go as a short list, so the claim does not queue hundreds of calls ahead of the dialog.
    let (earlier, replayed) = backlog.split_at(backlog.len().saturating_sub(CLAIM_REPLAY));
    let card_text = card::text(ctx, &ticket).await?;
    let summary = SendMessage::new(operator.id, texts::summary(&card_text, backlog.len(), replayed.len()))
        .with_markup(keyboards::close(ticket_id));
    let sent = match ctx.app.telegram.send_message(&summary).await {
        Ok(sent) => sent,
        Err(e) if e.is_forbidden() => {
            tickets::requeue_ticket(ctx.db(), ticket_id).await?;
            return Ok(ctx.alert(query, texts::ALERT_START_BOT_FIRST)?);
        }
        Err(e) => return Err(e.into()),
    };
    tickets::set_operator_message(ctx.db(), ticket_id, sent.message_id).await?;
    tickets::set_card(ctx.db(), ticket_id, card.chat_id(), card.message_id).await?;
    ctx.notice(query, texts::claimed(ticket_id))?;
    replay(ctx, operator.id, earlier, replayed).await?;
    ctx.send(SendMessage::new(ticket.customer_tg_id, texts::OPERATOR_CONNECTED))?;
    let who = operator.username.as_ref().map_or_else(|| operator.first_name.clone(), |u| format!("@{u}"));
    card::mark_taken(ctx, ticket_id, (card.chat_id(), card.message_id), &card_text, &who).await?;
    Ok(())
}

/// What the customer wrote while waiting, for the operator who claimed the ticket: `earlier` as a short list,
/// `replayed` copied one by one.
async fn replay(
    ctx: &mut Ctx<'_>,
    operator: i64,
    earlier: &[PendingMessage],
    replayed: &[PendingMessage],
) -> Result<(), ProcessError> {
    if !earlier.is_empty() {
        let ids: Vec<i64> = earlier.iter().map(|m| m.id).collect();
        for text in earlier_list(&messages::briefs(ctx.db(), &ids).await?) {
            ctx.send(SendMessage::new(operator, text))?;
        }
    }
    for message in replayed {
        ctx.copy(operator, message.source_chat_id, message.source_message_id, message.id)?;
    }
    Ok(())
}

/// Customer messages copied one by one at a claim; earlier ones are listed in short (see [`earlier_list`]).
pub const CLAIM_REPLAY: usize = 50;
/// Messages of at most this many characters carry the list of earlier messages…
const LIST_CHARS: usize = 3500;
/// …and at most this many of them.
const LIST_MESSAGES: usize = 3;

/// The list of earlier messages, as at most [`LIST_MESSAGES`] texts of at most [`LIST_CHARS`] characters.
fn earlier_list(briefs: &[messages::Brief]) -> Vec<String> {
    let mut out = vec![texts::earlier_messages(briefs.len())];
    for (i, brief) in briefs.iter().enumerate() {
        let line = texts::earlier_line(brief.text.as_deref(), brief.content);
        let last = out.len() - 1;
        if out[last].chars().count() + line.chars().count() < LIST_CHARS {
            out[last].push('\n');
            out[last].push_str(&line);
        } else if out.len() < LIST_MESSAGES {
            out.push(line);
        } else {
            out[last].push('\n');
            out[last].push_str(&texts::earlier_more(briefs.len() - i));
            break;
        }
    }
    out
}

/// «Завершить диалог»: only the assigned operator; the customer gets «Оператор отключился» with «В начало».
pub async fn close(ctx: &mut Ctx<'_>, query: &CallbackQuery, ticket_id: i64) -> Result<(), ProcessError> {
    let Some(ticket) = tickets::lock_ticket(ctx.db(), ticket_id).await? else {
        return Ok(ctx.alert(query, texts::ALERT_STALE)?);
    };
    if ticket.operator_tg_id != Some(query.from.id) {
        return Ok(ctx.alert(query, texts::ALERT_NOT_YOURS)?);
    }
    if ticket.status != Status::Assigned {
        return Ok(ctx.alert(query, texts::alert_closed(ticket_id))?);
    }
    let cached = tickets::cached_membership(ctx.db(), query.from.id).await?;
    if !super::roles::is_operator_cached(ctx, query.from.id, cached).await? {
        return Ok(ctx.alert(query, texts::NOT_AN_OPERATOR_ANY_MORE)?);
    }
    if let Some(pressed) = query.message.as_ref().filter(|m| Some(m.message_id) != ticket.operator_message_id) {
        // An older summary of this ticket (from an earlier claim): its button goes too.
        ctx.remove_buttons(pressed.chat_id(), pressed.message_id)?;
    }
    lifecycle::close(ctx, &ticket, CloseReason::Operator, None).await?;
    ctx.ack(query)?;
    Ok(())
}
