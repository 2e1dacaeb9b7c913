//! The relay: while a ticket is ASSIGNED, every private message is copied between the customer and the operator.
//! While it is WAITING, the customer's messages are stored and delivered at the claim.

use super::ProcessError;
use super::ctx::Ctx;
use super::{intake, keyboards};
use crate::db::messages::{self, Sender};
use crate::db::tickets::{self, SenderTickets, Status};
use crate::db::users::UserRow;
use crate::domain::DialogState;
use crate::telegram::{Message, SendMessage};
use crate::texts;

/// Any private message that is not one of the desk's commands (see `route`).
pub async fn private_message(
    ctx: &mut Ctx<'_>,
    user: &UserRow,
    tickets: SenderTickets,
    message: &Message,
) -> Result<(), ProcessError> {
    if let Some(ticket) = tickets.as_operator {
        // The sender's role was checked by the route (someone removed from the operators' chat lost the dialog).
        let to = Some(ticket.customer_tg_id);
        return store_and_copy(ctx, ticket.id, Sender::Operator, user.tg_id, to, message).await;
    }
    if let Some(ticket) = tickets.as_customer {
        let operator = match (ticket.status, ticket.operator_tg_id) {
            (Status::Assigned, Some(operator)) => Some(operator),
            _ => None,
        };
        return store_and_copy(ctx, ticket.id, Sender::User, user.tg_id, operator, message).await;
    }
    match user.state {
        DialogState::AwaitingPhone(topic) | DialogState::ConfirmPhone(topic) => {
            intake::phone_input(ctx, user, topic, message).await
        }
        DialogState::Menu => {
            let reply = if super::roles::role(ctx, user.tg_id).await?.is_operator() {
                SendMessage::new(user.tg_id, texts::NO_ACTIVE_DIALOG)
            } else {
                SendMessage::new(user.tg_id, texts::USE_MENU).with_markup(keyboards::menu())
            };
            ctx.send(reply)?;
            Ok(())
        }
    }
}

/// Stores a dialog message of ticket `ticket_id` and, when someone is on the other side (`to`), notes the ticket's
/// activity in the same round trip and copies the message to them. A redelivered message is stored once and
/// copied once.
async fn store_and_copy(
    ctx: &mut Ctx<'_>,
    ticket_id: i64,
    sender: Sender,
    from: i64,
    to: Option<i64>,
    message: &Message,
) -> Result<(), ProcessError> {
    let db = ctx.db();
    let touch = async {
        match to {
            Some(_) => tickets::touch(db, ticket_id).await,
            None => Ok(()),
        }
    };
    let (stored, touched) = tokio::join!(messages::insert_message(db, ticket_id, sender, from, message), touch);
    touched?;
    let Some(id) = stored? else { return Ok(()) };
    note_file(ctx, id, message);
    if let Some(to) = to {
        ctx.copy(to, from, message.message_id, id)?;
    }
    Ok(())
}

/// Remembers a stored message with a file, to archive it after delivery.
fn note_file(ctx: &mut Ctx<'_>, id: i64, message: &Message) {
    if message.content().file.is_some() {
        ctx.archive_after_delivery(id);
    }
}

/// An edited message: edits are not relayed; someone in a dialog is told so.
pub async fn edited(ctx: &mut Ctx<'_>, sender: i64, tickets: &SenderTickets) -> Result<(), ProcessError> {
    if tickets.as_operator.is_some() || tickets.as_customer.is_some() {
        ctx.send(SendMessage::new(sender, texts::EDIT_NOT_DELIVERED))?;
    }
    Ok(())
}
