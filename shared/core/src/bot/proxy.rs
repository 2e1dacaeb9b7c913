//! The relay: while a ticket is ASSIGNED, every private message is copied between the customer and the operator.
//! While it is WAITING, the customer's messages are stored and delivered at the claim.

use super::ProcessError;
use super::ctx::Ctx;
use super::{intake, keyboards};
use crate::app::App;
use crate::db::messages::{self, Sender};
use crate::db::tickets::{self, Status};
use crate::db::users::UserRow;
use crate::domain::DialogState;
use crate::telegram::{Message, SendMessage};
use crate::texts;

/// Any private message that is not /start.
pub async fn private_message(ctx: &mut Ctx<'_, '_>, user: &UserRow, message: &Message) -> Result<(), ProcessError> {
    if let Some(ticket) = tickets::lock_active_ticket_of_operator(ctx.db, user.tg_id).await? {
        if let Some(id) = messages::insert_message(ctx.db, ticket.id, Sender::Operator, user.tg_id, message).await? {
            note_file(ctx, id, message);
            tickets::touch(ctx.db, ticket.id).await?;
            ctx.copy(ticket.customer_tg_id, user.tg_id, message.message_id, id).await?;
        }
        return Ok(());
    }
    if let Some(ticket) = tickets::lock_open_ticket_of_customer(ctx.db, user.tg_id).await? {
        let Some(id) = messages::insert_message(ctx.db, ticket.id, Sender::User, user.tg_id, message).await? else {
            return Ok(());
        };
        note_file(ctx, id, message);
        if let (Status::Assigned, Some(operator)) = (ticket.status, ticket.operator_tg_id) {
            tickets::touch(ctx.db, ticket.id).await?;
            ctx.copy(operator, user.tg_id, message.message_id, id).await?;
        }
        return Ok(());
    }
    match user.state {
        DialogState::AwaitingPhone(topic) | DialogState::ConfirmPhone(topic) => {
            intake::phone_input(ctx, user, topic, message).await
        }
        DialogState::Menu => {
            let reply = if is_operator(ctx.app, user.tg_id).await {
                SendMessage::new(user.tg_id, texts::NO_ACTIVE_DIALOG)
            } else {
                SendMessage::new(user.tg_id, texts::USE_MENU).with_markup(keyboards::menu())
            };
            ctx.send(reply).await?;
            Ok(())
        }
    }
}

/// Remembers a stored message with a file, to archive it after delivery.
fn note_file(ctx: &mut Ctx<'_, '_>, id: i64, message: &Message) {
    if messages::attachment_of(message).is_some() {
        ctx.archive.push(id);
    }
}

/// An edited message: edits are not relayed; someone in a dialog is told so.
pub async fn edited(ctx: &mut Ctx<'_, '_>, sender: i64) -> Result<(), ProcessError> {
    let in_dialog = tickets::lock_active_ticket_of_operator(ctx.db, sender).await?.is_some()
        || tickets::lock_open_ticket_of_customer(ctx.db, sender).await?.is_some();
    if in_dialog {
        ctx.send(SendMessage::new(sender, texts::EDIT_NOT_DELIVERED)).await?;
    }
    Ok(())
}

/// True when the user is in the operators' chat. Asked only when it decides a reply, never on the relay path.
pub async fn is_operator(app: &App, user_id: i64) -> bool {
    match app.telegram.get_chat_member(app.config.operators_chat_id, user_id).await {
        Ok(member) => member.is_present(),
        Err(e) => {
            tracing::debug!(user_id, error = %e, "getChatMember failed; treated as not an operator");
            false
        }
    }
}
