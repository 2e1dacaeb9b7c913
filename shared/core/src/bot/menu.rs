//! The start menu and template answers.

use super::ProcessError;
use super::ctx::Ctx;
use super::keyboards;
use crate::db::tickets::{self, SenderTickets, Status};
use crate::db::users::{self, UserRow};
use crate::desk::{self, Text, TopicAction};
use crate::domain::{CloseReason, DialogState, Topic};
use crate::telegram::{CallbackQuery, SendMessage};
use crate::texts;

/// `/start`: greeting with the topics; any half-finished intake is forgotten.
pub async fn start(ctx: &mut Ctx<'_>, user: &UserRow) -> Result<(), ProcessError> {
    users::set_dialog_state(ctx.db(), user.id, DialogState::Menu).await?;
    let desk = &ctx.app.desk;
    let greeting = desk::render(desk.text(Text::Greeting), &[("name", &user.first_name)]);
    let message = SendMessage::new(user.tg_id, greeting).with_markup(keyboards::menu(desk));
    ctx.send(message)?;
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

/// A topic from the menu, as the desk file says: its template answer, the «Связаться с оператором?» question, or
/// straight to the phone step. A topic the desk no longer has (an old menu's button) is answered as stale.
pub async fn topic(ctx: &mut Ctx<'_>, query: &CallbackQuery, user: &UserRow, topic: Topic) -> Result<(), ProcessError> {
    let desk = &ctx.app.desk;
    let Some(def) = desk.topic(topic) else {
        tracing::info!(topic = %topic, "a topic the desk file no longer has was pressed");
        return Ok(ctx.alert(query, texts::ALERT_STALE)?);
    };
    let chat = query.from.id;
    let label = desk.label(def);
    let values = [("name", user.first_name.as_str()), ("topic", label)];
    let message = match (def.action, desk.template(topic)) {
        (TopicAction::Phone, _) => return super::intake::request_operator(ctx, query, user, topic).await,
        (TopicAction::Template, Some(template)) => {
            SendMessage::new(chat, desk::render(template, &values)).with_markup(keyboards::template(desk, topic))
        }
        (TopicAction::Confirm | TopicAction::Template, _) => {
            let question = desk::render(desk.text(Text::ConfirmOperator), &values);
            SendMessage::new(chat, question).with_markup(keyboards::yes_no(desk, topic))
        }
    };
    ctx.ack(query)?;
    ctx.send(message)?;
    Ok(())
}

/// «Понятно»: a polite end and the menu again.
pub async fn understood(ctx: &mut Ctx<'_>, query: &CallbackQuery) -> Result<(), ProcessError> {
    ctx.ack(query)?;
    let desk = &ctx.app.desk;
    let text = desk::render(desk.text(Text::Understood), &[("name", &query.from.first_name)]);
    ctx.send(SendMessage::new(query.from.id, text).with_markup(keyboards::menu(desk)))?;
    Ok(())
}
