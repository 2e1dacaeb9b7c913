//! Chats Telegram refuses (403: the user blocked the bot). A customer's open ticket is closed (the operator is
//! told; a waiting card stops inviting a claim); an operator's active dialog goes back to the queue with a fresh
//! card. Runs in a transaction of its own under the person's conversation lock, after the 403 was recorded.

use std::time::Instant;

use super::ctx::{Ctx, Deliveries};
use super::{ProcessError, lifecycle};
use crate::app::App;
use crate::db::{outbox, tickets, users};
use crate::domain::{CloseReason, HandoverKind};

/// Handles a chat that Telegram refuses; what it decided is committed, and left to the caller to deliver.
pub(crate) async fn chat_blocked(app: &App, chat_id: i64, deadline: Instant) -> Result<Deliveries, ProcessError> {
    let mut ctx = Ctx::begin(app).await?;
    users::lock_conversation(ctx.db(), chat_id).await?;
    if let Some(ticket) = tickets::lock_open_ticket_of_customer(ctx.db(), chat_id).await? {
        tracing::info!(ticket = ticket.id, "customer blocked the bot; ticket closed");
        lifecycle::close(&mut ctx, &ticket, CloseReason::CustomerBlocked, None).await?;
    }
    if let Some(ticket) = tickets::lock_active_ticket_of_operator(ctx.db(), chat_id).await? {
        tracing::info!(ticket = ticket.id, "operator blocked the bot; ticket back in the queue");
        let handover = lifecycle::Handover { kind: HandoverKind::OperatorBlocked, by: None, comment: None };
        lifecycle::hand_over(&mut ctx, &ticket, handover).await?;
    }
    outbox::blocked_chat_handled(ctx.db(), chat_id).await?;
    Ok(ctx.commit(deadline).await?)
}
