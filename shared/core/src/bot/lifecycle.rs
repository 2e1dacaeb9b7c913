//! The ticket lifecycle's steps that more than one path takes: closing a ticket (the operator's button or
//! `/close`, a supervisor's `/close N`, the idle close, a request that expired in the queue or that its customer
//! withdrew, a customer who blocked the bot) and handing a ticket back to the queue (`/transfer`, a supervisor's
//! `/requeue N`, an operator who left the operators' chat or blocked the bot).

use chrono::{DateTime, Utc};

use super::ProcessError;
use super::ctx::Ctx;
use super::{card, keyboards};
use crate::db::tickets::{self, Status, TicketRow};
use crate::db::{handovers, users};
use crate::domain::{CloseReason, HandoverKind};
use crate::outbox;
use crate::telegram::SendMessage;
use crate::texts;

/// Closes `ticket` (row-locked by the caller) for `reason`, at `at` (the database's clock when `None`): copies
/// still waiting for its operator are cancelled; the customer gets «Оператор отключился» (or, for a request that
/// expired in the queue, why it was closed) with «В начало», unless they blocked the bot (a banned customer gets
/// the polite refusal, without the button), and after a dialog an operator or a supervisor ended, is asked to rate
/// it; the operator's summary
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
    if reason == CloseReason::Banned {
        // No «В начало»: the menu leads nowhere for them now. `/ban` notes this as the day's reply.
        ctx.send(SendMessage::new(ticket.customer_tg_id, texts::BANNED_REPLY))?;
    }
    let farewell = match reason {
        CloseReason::CustomerBlocked | CloseReason::Banned => None,
        CloseReason::Expired => Some(texts::expired_customer(ticket.id)),
        CloseReason::Cancelled => Some(texts::cancelled_customer(ticket.id)),
        CloseReason::Supervisor if ticket.status == Status::Waiting => {
            Some(texts::closed_by_supervisor_customer(ticket.id))
        }
        CloseReason::Operator | CloseReason::Idle | CloseReason::Supervisor => {
            Some(texts::OPERATOR_DISCONNECTED.to_owned())
        }
    };
    if let Some(farewell) = farewell {
        ctx.send(SendMessage::new(ticket.customer_tg_id, farewell).with_markup(keyboards::home(&ctx.app.desk)))?;
    }
    if reason.invites_rating() && ticket.status == Status::Assigned {
        super::ratings::ask(ctx, ticket.customer_tg_id, ticket.id)?;
    }
    match (ticket.status, ticket.operator_tg_id) {
        (Status::Assigned, Some(operator)) => {
            if let Some(summary) = ticket.operator_message_id {
                ctx.remove_buttons(operator, summary)?;
            }
            ctx.send(SendMessage::new(operator, texts::dialog_closed_for_operator(ticket.id, reason)))?;
        }
        (Status::Waiting, _) => {
            card::mark_closed(ctx, ticket.id, reason).await?;
            super::board::left(ctx, ticket.id).await?;
        }
        _ => {}
    }
    if let (Status::Assigned, Some(taken)) = (ticket.status, ticket.card) {
        // The card said whose dialog it was; now it says how the dialog ended. Only that: it has no button left, so
        // in the operators' chat's queue it goes after everything else (a storm's cards and board first).
        card::mark_handed_over(ctx, taken, texts::card_closed(ticket.id, reason))?;
        ctx.last_is_reminder();
    }
    Ok(true)
}

/// Why and by whom a ticket leaves its operator for the queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handover<'a> {
    /// How.
    pub kind: HandoverKind,
    /// Who did it (the operator, a supervisor) as shown to operators, and their id; `None` when nobody did.
    pub by: Option<(i64, &'a str)>,
    /// The operator's comment for the colleague.
    pub comment: Option<&'a str>,
}

/// Gives `ticket` (row-locked, assigned) back to the queue: copies still waiting for its operator are cancelled
/// (they stay undelivered, so the next claim replays them), the hand-over is recorded, the operator's summary loses
/// its buttons and they are told why (unless they blocked the bot), the customer is told their question is being
/// passed on, the old card says what happened and a fresh card, headed so, invites the next claim.
pub(crate) async fn hand_over(
    ctx: &mut Ctx<'_>,
    ticket: &TicketRow,
    handover: Handover<'_>,
) -> Result<(), ProcessError> {
    let Handover { kind, by, comment } = handover;
    let Some(operator) = ticket.operator_tg_id.filter(|_| ticket.status == Status::Assigned) else {
        return Ok(());
    };
    outbox::cancel_copies_to_operator(ctx.db(), ticket.id, "ticket handed over").await?;
    tickets::hand_back(ctx.db(), ticket.id).await?;
    handovers::record(ctx.db(), ticket.id, kind, operator, by.map(|(id, _)| id), comment).await?;
    let operator_handle = users::handle_of(ctx.db(), operator).await?;
    let by_handle = by.map_or(operator_handle.as_str(), |(_, handle)| handle);
    let told = match kind {
        HandoverKind::Transferred => Some(texts::transferred_operator(ticket.id)),
        HandoverKind::Requeued => Some(texts::requeued_operator(ticket.id, by_handle)),
        HandoverKind::OperatorGone => Some(texts::operator_gone(ticket.id)),
        HandoverKind::OperatorBlocked => None,
    };
    if let Some(told) = told {
        if let Some(summary) = ticket.operator_message_id {
            ctx.remove_buttons(operator, summary)?;
        }
        ctx.send(SendMessage::new(operator, told))?;
    }
    ctx.send(SendMessage::new(ticket.customer_tg_id, texts::passing_on_customer(ticket.id)))?;
    // Back in the queue: the customer sees their place in it and may withdraw the request, as when they joined.
    super::intake::post_position(ctx, ticket.customer_tg_id, ticket.id).await?;
    if let Some(old) = ticket.card {
        card::mark_handed_over(ctx, old, texts::card_handed_over(ticket.id, kind, by_handle))?;
    }
    let requeued =
        TicketRow { status: Status::Waiting, operator_tg_id: None, operator_message_id: None, ..ticket.clone() };
    let header = texts::card_handover_header(kind, &operator_handle, by_handle, comment);
    // Always a card, even while the queue board is in use: it carries who handed it over and their comment.
    card::post(ctx, &requeued, Some(header)).await
}
