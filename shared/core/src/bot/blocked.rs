//! A chat answered 403: a customer who blocked the bot loses their ticket (the operator is told why);
//! an operator who blocked it gives the ticket back to the queue with a fresh card.

use super::ProcessError;
use super::ctx::Ctx;
use super::intake;
use crate::app::App;
use crate::db::Tx;
use crate::db::tickets::{self, Status};
use crate::telegram::{EditMessageText, SendMessage};
use crate::texts;

/// Handles a chat that Telegram refuses; returns the chats with new outbox calls.
pub async fn chat_blocked(app: &App, chat_id: i64) -> Result<Vec<i64>, ProcessError> {
    let tx = Tx::begin(&app.db).await?;
    super::lock_conversation(&tx, chat_id).await?;
    let mut ctx = Ctx::new(app, &tx);
    if let Some(ticket) = tickets::lock_open_ticket_of_customer(ctx.db, chat_id).await? {
        tracing::info!(ticket = ticket.id, "customer blocked the bot; ticket closed");
        tickets::close_ticket(ctx.db, ticket.id, "customer_blocked").await?;
        crate::outbox::cancel_copies_to_operator(ctx.db, ticket.id, "ticket closed").await?;
        if let (Status::Waiting, Some((chat_id, message_id))) = (ticket.status, ticket.card) {
            // The card must not invite a claim any more.
            let text = texts::card_closed_blocked(ticket.id);
            ctx.edit_text(EditMessageText { chat_id, message_id, text, reply_markup: None })?;
        }
        if let (Status::Assigned, Some(operator)) = (ticket.status, ticket.operator_tg_id) {
            if let Some(message_id) = ticket.operator_message_id {
                ctx.remove_buttons(operator, message_id)?;
            }
            ctx.send(SendMessage::new(operator, texts::customer_blocked(ticket.id)))?;
        }
    }
    if let Some(ticket) = tickets::lock_active_ticket_of_operator(ctx.db, chat_id).await? {
        tracing::info!(ticket = ticket.id, "operator blocked the bot; ticket back in the queue");
        // Copies still waiting for this operator go to whoever claims the ticket next.
        crate::outbox::cancel_copies_to_operator(ctx.db, ticket.id, "ticket requeued").await?;
        tickets::requeue_ticket(ctx.db, ticket.id).await?;
        let requeued = tickets::lock_ticket(ctx.db, ticket.id).await?.unwrap_or(ticket);
        intake::post_card(&mut ctx, &requeued).await?;
    }
    crate::db::outbox::blocked_chat_handled(&tx, chat_id).await?;
    let chats = ctx.finish().await?;
    tx.commit().await?;
    Ok(chats)
}
