//! The relay: while a ticket is ASSIGNED, every private message is copied between the customer and the operator.
//! While it is WAITING, the customer's messages are stored and delivered at the claim.

use super::ProcessError;
use super::ctx::Ctx;
use super::{intake, keyboards};
use crate::db::messages::{self, Sender};
use crate::db::tickets::{self, Status, TicketRow};
use crate::db::users::UserRow;
use crate::domain::DialogState;
use crate::telegram::{Message, SendMessage};
use crate::texts;

/// The sender's tickets, row-locked, loaded with the update (see `Route::load`).
#[derive(Clone, Debug, Default)]
pub struct Tickets {
    /// The ticket the sender works on as an operator.
    pub as_operator: Option<TicketRow>,
    /// The sender's own open ticket as a customer.
    pub as_customer: Option<TicketRow>,
    /// Whether the sender is in the operators' chat, as last checked.
    pub member: crate::db::tickets::Membership,
}

/// Any private message that is not /start.
pub async fn private_message(
    ctx: &mut Ctx<'_>,
    user: &UserRow,
    tickets: Tickets,
    message: &Message,
) -> Result<(), ProcessError> {
    let db = ctx.db;
    if let Some(ticket) = tickets.as_operator {
        if !super::roles::is_operator_cached(ctx, user.tg_id, tickets.member).await? {
            // Removed from the operators' chat: this dialog is no longer theirs to answer.
            tracing::info!(ticket = ticket.id, "message from an operator no longer in the operators' chat refused");
            ctx.send(SendMessage::new(user.tg_id, texts::NOT_AN_OPERATOR_ANY_MORE))?;
            return Ok(());
        }
        // The message and the ticket's activity go in one round trip.
        let (stored, touched) = tokio::join!(
            messages::insert_message(db, ticket.id, Sender::Operator, user.tg_id, message),
            tickets::touch(db, ticket.id)
        );
        touched?;
        if let Some(id) = stored? {
            note_file(ctx, id, message);
            ctx.copy(ticket.customer_tg_id, user.tg_id, message.message_id, id)?;
        }
        return Ok(());
    }
    if let Some(ticket) = tickets.as_customer {
        let operator = match (ticket.status, ticket.operator_tg_id) {
            (Status::Assigned, Some(operator)) => Some(operator),
            _ => None,
        };
        let touch = async {
            match operator {
                Some(_) => tickets::touch(db, ticket.id).await,
                None => Ok(()),
            }
        };
        let (stored, touched) =
            tokio::join!(messages::insert_message(db, ticket.id, Sender::User, user.tg_id, message), touch);
        touched?;
        let Some(id) = stored? else { return Ok(()) };
        note_file(ctx, id, message);
        if let Some(operator) = operator {
            ctx.copy(operator, user.tg_id, message.message_id, id)?;
        }
        return Ok(());
    }
    match user.state {
        DialogState::AwaitingPhone(topic) | DialogState::ConfirmPhone(topic) => {
            intake::phone_input(ctx, user, topic, message).await
        }
        DialogState::Menu => {
            let reply = if super::roles::is_operator(ctx, user.tg_id).await? {
                SendMessage::new(user.tg_id, texts::NO_ACTIVE_DIALOG)
            } else {
                SendMessage::new(user.tg_id, texts::USE_MENU).with_markup(keyboards::menu())
            };
            ctx.send(reply)?;
            Ok(())
        }
    }
}

/// Remembers a stored message with a file, to archive it after delivery.
fn note_file(ctx: &mut Ctx<'_>, id: i64, message: &Message) {
    if messages::attachment_of(message).is_some() {
        ctx.archive.push(id);
    }
}

/// An edited message: edits are not relayed; someone in a dialog is told so.
pub async fn edited(ctx: &mut Ctx<'_>, sender: i64, tickets: &Tickets) -> Result<(), ProcessError> {
    if tickets.as_operator.is_some() || tickets.as_customer.is_some() {
        ctx.send(SendMessage::new(sender, texts::EDIT_NOT_DELIVERED))?;
    }
    Ok(())
}
