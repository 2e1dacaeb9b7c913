//! The start menu and template answers.

use super::ProcessError;
use super::ctx::Ctx;
use super::keyboards;
use crate::db::users::{self, UserRow};
use crate::domain::{DialogState, Topic};
use crate::telegram::{CallbackQuery, SendMessage};
use crate::texts;

/// `/start`: greeting with the topics; any half-finished intake is forgotten.
pub async fn start(ctx: &mut Ctx<'_>, user: &UserRow) -> Result<(), ProcessError> {
    users::set_dialog_state(ctx.db(), user.id, DialogState::Menu).await?;
    ctx.send(SendMessage::new(user.tg_id, texts::GREETING).with_markup(keyboards::menu()))?;
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
