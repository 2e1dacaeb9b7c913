//! What the scheduled jobs do to one ticket, each in a transaction of its own that ends like every handler's
//! (see [`Ctx::commit`]): `crate::maintenance` picks the tickets and calls these.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::ctx::Ctx;
use super::{ProcessError, board, card, desk, lifecycle, roles};
use crate::app::App;
use crate::db::due::{self, ReminderDue};
use crate::db::tickets::{self, Status};
use crate::domain::CloseReason;
use crate::telegram::SendMessage;
use crate::texts;

/// Warns both sides of assigned ticket `id`, quiet since `since`, that it closes in `minutes`; false when it is
/// no longer due (someone wrote, or it was warned or closed meanwhile).
pub async fn warn_idle(
    app: &App,
    id: i64,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    minutes: i64,
    deadline: Instant,
) -> Result<bool, ProcessError> {
    let mut ctx = Ctx::begin(app).await?;
    let warned = due::mark_idle_warned(ctx.db(), id, now, since).await?;
    if let Some((customer, operator)) = warned {
        ctx.send(SendMessage::new(customer, texts::idle_warning_customer(minutes)))?;
        if let Some(operator) = operator {
            ctx.send(SendMessage::new(operator, texts::idle_warning_operator(id, minutes)))?;
        }
    }
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    Ok(warned.is_some())
}

/// Closes assigned ticket `id` if it is still quiet since `since` and was warned before `warned_before`, as
/// «Завершить диалог» would; false when it is no longer due.
pub async fn close_idle(
    app: &App,
    id: i64,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    warned_before: DateTime<Utc>,
    deadline: Instant,
) -> Result<bool, ProcessError> {
    let mut ctx = Ctx::begin(app).await?;
    let closed = match due::lock_if_idle(ctx.db(), id, since, warned_before).await? {
        Some(ticket) => lifecycle::close(&mut ctx, &ticket, CloseReason::Idle, Some(now)).await?,
        None => false,
    };
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    Ok(closed)
}

/// Posts a fresh card for waiting ticket `id` if a reminder is due (see [`ReminderDue`]), headed by how long the
/// customer has waited (the last one allowed says it is the last); false when it is not due.
pub async fn remind_waiting(
    app: &App,
    id: i64,
    now: DateTime<Utc>,
    due: ReminderDue,
    deadline: Instant,
) -> Result<bool, ProcessError> {
    let mut ctx = Ctx::begin(app).await?;
    let mut reminded = false;
    if let Some((created, sent)) = due::mark_reminded(ctx.db(), id, now, due).await?
        && let Some(ticket) = tickets::lock_ticket(ctx.db(), id).await?
    {
        // On the queue board, the board shows how long it waits; a ticket with cards joins the board while one
        // is in use, instead of adding a card to the operators' chat.
        if crate::db::boards::board_of(ctx.db(), id).await?.is_none()
            && !board::move_to_board(&mut ctx, &ticket).await?
        {
            let minutes = (now - created).num_minutes();
            let header =
                if sent >= due.max { texts::waiting_reminder_last(minutes) } else { texts::waiting_reminder(minutes) };
            card::post(&mut ctx, &ticket, Some(header)).await?;
            ctx.last_is_reminder();
            reminded = true;
        }
    }
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    Ok(reminded)
}

/// Closes waiting ticket `id` as expired if it is still waiting and was created before `created_before`: the
/// customer is told, its card says so; false when it is no longer due (claimed or closed meanwhile).
pub async fn expire_waiting(
    app: &App,
    id: i64,
    now: DateTime<Utc>,
    created_before: DateTime<Utc>,
    deadline: Instant,
) -> Result<bool, ProcessError> {
    let mut ctx = Ctx::begin(app).await?;
    let expired = match due::lock_if_expired(ctx.db(), id, created_before).await? {
        Some(ticket) => lifecycle::close(&mut ctx, &ticket, CloseReason::Expired, Some(now)).await?,
        None => false,
    };
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    Ok(expired)
}

/// Settles the messages of ticket `id` that still invite an action although it left the queue (see
/// [`card::settle_late`]); false when there were none (it is waiting again, or they were settled meanwhile).
pub async fn settle_stale_cards(app: &App, id: i64, deadline: Instant) -> Result<bool, ProcessError> {
    let mut ctx = Ctx::begin(app).await?;
    let mut settled = 0;
    if let Some(ticket) = tickets::lock_ticket(ctx.db(), id).await?
        && ticket.status != Status::Waiting
    {
        settled = card::settle_late(&mut ctx, &ticket).await?;
    }
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    Ok(settled > 0)
}

/// Asks again whether the operator of assigned ticket `id` is still in the operators' chat once their last check is
/// older than `ROLE_CACHE_TTL`, so that a dialog of someone removed from the chat goes back to the queue even if
/// they never write again (as their next message would); true when it did.
pub async fn recheck_operator(app: &App, id: i64, deadline: Instant) -> Result<bool, ProcessError> {
    // Telegram is asked with no lock held (the dialog goes on meanwhile); the ticket is locked after, and acted on
    // only if the same operator still has it.
    let Some(operator) = due::operator_of(&app.db.get().await?, id).await? else { return Ok(false) };
    let ctx = Ctx::begin(app).await?;
    let still = roles::still_operator(&ctx, operator).await?;
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    if still != Some(false) {
        return Ok(false);
    }
    let mut ctx = Ctx::begin(app).await?;
    let mut gone = false;
    if let Some(ticket) = tickets::lock_ticket(ctx.db(), id).await?
        && ticket.status == Status::Assigned
        && ticket.operator_tg_id == Some(operator)
    {
        desk::operator_gone(&mut ctx, &ticket).await?;
        gone = true;
    }
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    Ok(gone)
}
