//! The start menu and template answers.

use super::ProcessError;
use super::ctx::Ctx;
use super::keyboards;
use crate::db::tickets::{self, SenderTickets, Status};
use crate::db::users::{self, UserRow};
use crate::domain::{CloseReason, DialogState, Topic};
use crate::telegram::{CallbackQuery, SendMessage};
use crate::texts;

/// `/start`: greeting with the topics; any half-finished intake is forgotten.
pub async fn start(ctx: &mut Ctx<'_>, user: &UserRow) -> Result<(), ProcessError> {
    users::set_dialog_state(ctx.db(), user.id, DialogState::Menu).await?;
    ctx.send(SendMessage::new(user.tg_id, texts::GREETING).with_markup(keyboards::menu()))?;
    Ok(())
}

/// `/start` as the customer typed it: during a dialog with an operator they are asked first (it does not silently
/// stay open behind the menu); otherwise the menu.
pub async fn start_command(ctx: &mut Ctx<'_>, user: &UserRow, tickets: &SenderTickets) -> Result<(), ProcessError> {
    match tickets.as_customer.as_ref().filter(|t| t.status == Status::Assigned) {
        Some(ticket) => {
            let ask = SendMessage::new(user.tg_id, texts::ask_end_dialog(ticket.id));
            ctx.send(ask.with_markup(keyboards::end_or_keep(ticket.id)))?;
            Ok(())
        }
        None => start(ctx, user).await,
    }
}

/// «Завершить диалог» from the customer: their assigned ticket is closed (as `cancelled`; the operator is told).
/// A press for a ticket that is not theirs or no longer in a dialog is answered, not acted on.
pub async fn end_dialog(ctx: &mut Ctx<'_>, query: &CallbackQuery, ticket_id: i64) -> Result<(), ProcessError> {
    let ticket = tickets::lock_ticket(ctx.db(), ticket_id).await?;
    let Some(ticket) = ticket.filter(|t| t.customer_tg_id == query.from.id && t.status == Status::Assigned) else {
        return Ok(ctx.alert(query, texts::ALERT_STALE)?);
    };
    ctx.ack(query)?;
    super::lifecycle::close(ctx, &ticket, CloseReason::Cancelled, None).await?;
    Ok(())
}

/// «Продолжить диалог»: nothing changes.
pub async fn keep_dialog(ctx: &mut Ctx<'_>, query: &CallbackQuery) -> Result<(), ProcessError> {
    ctx.ack(query)?;
    ctx.send(SendMessage::new(query.from.id, texts::DIALOG_KEPT))?;
    Ok(())
}

/// «В начало» and «Нет».
pub async fn home(ctx: &mut Ctx<'_>, query: &CallbackQuery, user: &UserRow) -> Result<(), ProcessError> {
    ctx.ack(query)?;
    start(ctx, user).await
}

/// A topic from the menu: its template answer, or the «Связаться с оператором?» question.
pub async fn topic(ctx: &mut Ctx<'_>, query: &CallbackQuery, topic: Topic) -> Result<(), ProcessError> {
    ctx.ack(query)?;
    let chat = query.from.id;
    let message = match topic {
        Topic::Other => SendMessage::new(chat, texts::OTHER_QUESTION).with_markup(keyboards::yes_no()),
        topic => SendMessage::new(chat, texts::template(topic)).with_markup(keyboards::template(topic)),
    };
    ctx.send(message)?;
    Ok(())
}

/// «Понятно»: a polite end and the menu again.
pub async fn understood(ctx: &mut Ctx<'_>, query: &CallbackQuery) -> Result<(), ProcessError> {
    ctx.ack(query)?;
    ctx.send(SendMessage::new(query.from.id, texts::UNDERSTOOD).with_markup(keyboards::menu()))?;
    Ok(())
}
