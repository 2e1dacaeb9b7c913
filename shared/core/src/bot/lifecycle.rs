//! The ticket lifecycle's steps that more than one path takes: closing a ticket (the operator's button, the idle
//! close, a request that expired in the queue or that its customer withdrew, a customer who blocked the bot) and giving a ticket back to the
//! queue (an operator who blocked it).

use chrono::{DateTime, Utc};

use super::ProcessError;
use super::ctx::Ctx;
use super::{card, keyboards};
use crate::db::tickets::{self, Status, TicketRow};
use crate::domain::CloseReason;
use crate::outbox;
use crate::telegram::SendMessage;
use crate::texts;

/// Closes `ticket` (row-locked by the caller) for `reason`, at `at` (the database's clock when `None`): copies
/// still waiting for its operator are cancelled; the customer gets «Оператор отключился» (or, for a request that
/// expired in the queue, why it was closed) with «В начало», unless they blocked the bot; the operator's summary
/// loses «Завершить диалог» and they are told why; every card still inviting a claim says the ticket is closed.
/// False when it was closed already (nothing is queued).
pub(crate) async fn close(
    ctx: &mut Ctx<'_>,
    ticket: &TicketRow,
    reason: CloseReason,
    at: Option<DateTime<Utc>>,
) -> Result<bool, ProcessError> {
    if !tickets::close_ticket(ctx.db(), ticket.id, reason, at).await? {
        return Ok(false);
    }
    outbox::cancel_copies_to_operator(ctx.db(), ticket.id, "ticket closed").await?;
    let farewell = match reason {
        CloseReason::CustomerBlocked => None,
        CloseReason::Expired => Some(texts::expired_customer(ticket.id)),
        CloseReason::Cancelled => Some(texts::cancelled_customer(ticket.id)),
        CloseReason::Operator | CloseReason::Idle => Some(texts::OPERATOR_DISCONNECTED.to_owned()),
    };
    if let Some(farewell) = farewell {
        ctx.send(SendMessage::new(ticket.customer_tg_id, farewell).with_markup(keyboards::home()))?;
    }
    match (ticket.status, ticket.operator_tg_id) {
        (Status::Assigned, Some(operator)) => {
            if let Some(summary) = ticket.operator_message_id {
                ctx.remove_buttons(operator, summary)?;
            }
            ctx.send(SendMessage::new(operator, texts::dialog_closed_for_operator(ticket.id, reason)))?;
        }
        (Status::Waiting, _) => card::mark_closed(ctx, ticket.id, reason).await?,
        _ => {}
    }
    Ok(true)
}

/// Gives `ticket` (row-locked, assigned) back to the queue: copies still waiting for its operator are cancelled
/// (they stay undelivered, so the next claim replays them), its old card says it is back in the queue, and a fresh
/// card is posted.
pub(crate) async fn requeue(ctx: &mut Ctx<'_>, ticket: &TicketRow) -> Result<(), ProcessError> {
    outbox::cancel_copies_to_operator(ctx.db(), ticket.id, "ticket requeued").await?;
    tickets::requeue_ticket(ctx.db(), ticket.id).await?;
    if let Some(old) = ticket.card {
        card::mark_requeued(ctx, old, ticket.id)?;
    }
    let requeued =
        TicketRow { status: Status::Waiting, operator_tg_id: None, operator_message_id: None, ..ticket.clone() };
    card::post(ctx, &requeued, None).await
}
