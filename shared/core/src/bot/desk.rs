//! The operators' and supervisors' commands. An operator in a dialog: `/transfer [comment]` or «Передать
//! коллеге» hands it to a colleague, `/close` ends it like «Завершить диалог». A supervisor, in the operators'
//! chat or their private chat with the bot: `/requeue N` takes ticket N from its operator back to the queue,
//! `/close N` closes it whatever its state; `/ban`, `/unban` and `/bans` are `super::bans`'. Someone removed from the operators' chat loses their dialog to the
//! queue at their next message or press.

use super::ProcessError;
use super::ctx::Ctx;
use super::lifecycle::{self, Handover};
use crate::db::tickets::{self, Status, TicketRow};
use crate::db::users;
use crate::domain::{CloseReason, Command, HandoverKind, Role, TicketArg};
use crate::telegram::{CallbackQuery, SendMessage, User};
use crate::texts;

/// A transfer's comment is cut to this many characters (it goes on the card, which holds at most 4096).
const COMMENT_CHARS: usize = 500;

/// How operators see `user`.
fn handle(user: &User) -> String {
    users::handle(user.username.as_deref(), &user.first_name, user.id)
}

/// `/transfer [comment]` from the operator of `ticket` (row-locked, assigned to them; their role checked).
pub(crate) async fn transfer(
    ctx: &mut Ctx<'_>,
    operator: &User,
    ticket: &TicketRow,
    comment: Option<&str>,
) -> Result<(), ProcessError> {
    let comment = comment.map(|c| c.chars().take(COMMENT_CHARS).collect::<String>());
    let by = handle(operator);
    tracing::info!(ticket = ticket.id, "operator handed the dialog over");
    let handover =
        Handover { kind: HandoverKind::Transferred, by: Some((operator.id, &by)), comment: comment.as_deref() };
    lifecycle::hand_over(ctx, ticket, handover).await
}

/// `ticket`'s operator is no longer in the operators' chat: the dialog goes back to the queue and they are told
/// (their message is not relayed).
pub(crate) async fn operator_gone(ctx: &mut Ctx<'_>, ticket: &TicketRow) -> Result<(), ProcessError> {
    tracing::info!(ticket = ticket.id, "operator no longer in the operators' chat; ticket back in the queue");
    let handover = Handover { kind: HandoverKind::OperatorGone, by: None, comment: None };
    lifecycle::hand_over(ctx, ticket, handover).await
}

/// «Передать коллеге» under a summary: only the ticket's operator, while it is theirs.
pub(crate) async fn transfer_button(
    ctx: &mut Ctx<'_>,
    query: &CallbackQuery,
    ticket_id: i64,
) -> Result<(), ProcessError> {
    let Some(ticket) = own_assigned(ctx, query, ticket_id).await? else { return Ok(()) };
    transfer(ctx, &query.from, &ticket, None).await?;
    ctx.ack(query)?;
    Ok(())
}

/// The ticket of an operator's button (row-locked) when it is theirs and assigned and they are still an operator;
/// otherwise the press is answered (and a former operator's dialog goes back to the queue) and `None` returned.
pub(crate) async fn own_assigned(
    ctx: &mut Ctx<'_>,
    query: &CallbackQuery,
    ticket_id: i64,
) -> Result<Option<TicketRow>, ProcessError> {
    let Some(ticket) = tickets::lock_ticket(ctx.db(), ticket_id).await? else {
        ctx.alert(query, texts::ALERT_STALE)?;
        return Ok(None);
    };
    if ticket.operator_tg_id != Some(query.from.id) {
        ctx.alert(query, texts::ALERT_NOT_YOURS)?;
        return Ok(None);
    }
    if ticket.status != Status::Assigned {
        ctx.alert(query, texts::alert_closed(ticket_id))?;
        return Ok(None);
    }
    if let Some(pressed) = query.message.as_ref().filter(|m| Some(m.message_id) != ticket.operator_message_id) {
        // An older summary of this ticket (from an earlier claim): its buttons go too.
        ctx.remove_buttons(pressed.chat_id(), pressed.message_id)?;
    }
    if !super::roles::role(ctx, query.from.id).await?.is_operator() {
        ctx.alert(query, texts::NOT_AN_OPERATOR_ANY_MORE)?;
        operator_gone(ctx, &ticket).await?;
        return Ok(None);
    }
    Ok(Some(ticket))
}

/// A supervisor's command (`/requeue N`, `/close N`, `/ban N [reason]`, `/unban USER_ID`, `/bans`) from `from`, answered in `reply_to` (the chat it came from).
/// Refused, with nothing changed, unless Telegram says right now that `from` is a supervisor (or they are listed in
/// `SUPERVISOR_IDS`).
pub(crate) async fn supervisor(
    ctx: &mut Ctx<'_>,
    from: &User,
    reply_to: i64,
    command: Command<'_>,
) -> Result<(), ProcessError> {
    if super::roles::confirm_role(ctx, from.id).await? != Role::Supervisor {
        tracing::info!(user = from.id, "supervisor's command refused: not a supervisor");
        ctx.send(SendMessage::new(reply_to, texts::ONLY_SUPERVISORS))?;
        return Ok(());
    }
    let reply = match command {
        Command::Requeue(TicketArg::Id(id)) => requeue(ctx, from, id).await?,
        Command::Close(TicketArg::Id(id)) => close(ctx, id).await?,
        Command::Ban(TicketArg::Id(id), reason) => super::bans::ban(ctx, from, id, reason).await?,
        Command::Ban(..) => texts::BAN_USAGE.to_owned(),
        Command::Unban(TicketArg::Id(tg_id)) => super::bans::unban(ctx, from, tg_id).await?,
        Command::Unban(_) => texts::UNBAN_USAGE.to_owned(),
        Command::Bans => super::bans::list(ctx).await?,
        Command::Stats(period) => match Box::pin(super::stats::command(ctx, reply_to, period)).await? {
            Some(reply) => reply,
            None => return Ok(()),
        },
        _ => texts::SUPERVISOR_USAGE.to_owned(),
    };
    ctx.send(SendMessage::new(reply_to, reply))?;
    Ok(())
}

/// `/history ARG` from `from`, answered in `reply_to`: only someone Telegram says right now is in the operators'
/// chat (a removed operator reads no history from a stale role, nor anyone while Telegram says nothing of the chat).
pub(crate) async fn history(ctx: &mut Ctx<'_>, from: &User, reply_to: i64, arg: &str) -> Result<(), ProcessError> {
    if !super::roles::confirm_access(ctx, from.id).await?.is_operator() {
        tracing::info!(user = from.id, "history refused: not an operator");
        ctx.send(SendMessage::new(reply_to, texts::ONLY_OPERATORS))?;
        return Ok(());
    }
    // Rare and deep: on the heap, so the update's future stays small.
    Box::pin(super::history::command(ctx, reply_to, arg)).await
}

/// `/requeue N`: ticket N, if an operator has it, goes back to the queue.
async fn requeue(ctx: &mut Ctx<'_>, supervisor: &User, id: i64) -> Result<String, ProcessError> {
    let Some(ticket) = tickets::lock_ticket(ctx.db(), id).await? else { return Ok(texts::no_such_ticket(id)) };
    if ticket.status != Status::Assigned {
        return Ok(texts::not_in_work(id, ticket.status == Status::Waiting));
    }
    tracing::info!(ticket = id, "supervisor requeued a ticket");
    let by = handle(supervisor);
    let handover = Handover { kind: HandoverKind::Requeued, by: Some((supervisor.id, &by)), comment: None };
    lifecycle::hand_over(ctx, &ticket, handover).await?;
    Ok(texts::requeued_done(id))
}

/// `/close N`: ticket N is closed, waiting or assigned.
async fn close(ctx: &mut Ctx<'_>, id: i64) -> Result<String, ProcessError> {
    let Some(ticket) = tickets::lock_ticket(ctx.db(), id).await? else { return Ok(texts::no_such_ticket(id)) };
    if !lifecycle::close(ctx, &ticket, CloseReason::Supervisor, None).await? {
        return Ok(texts::alert_closed(id));
    }
    tracing::info!(ticket = id, "supervisor closed a ticket");
    Ok(texts::closed_done(id))
}
