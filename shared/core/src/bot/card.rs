//! A ticket's card in the operators' chat: its text (always built from the database, never from what a button
//! press carried), posting it with «Взять в работу» (a new ticket, a reminder, a ticket back in the queue), and
//! what it says once claimed or closed.

use super::ProcessError;
use super::ctx::Ctx;
use super::keyboards;
use crate::db::history;
use crate::db::tickets::{self, Status, TicketRow};
use crate::db::users;
use crate::db::{DbError, cards};
use crate::domain::CloseReason;
use crate::domain::phone::Phone;
use crate::outbox::OnResult;
use crate::telegram::{EditMessageText, SendMessage};
use crate::texts;

/// A returning customer's card shows this many of their earlier tickets.
const CARD_HISTORY: i64 = 3;

/// The card's text: who, which phone and topic, and a returning customer's last tickets (when, what about, who
/// handled them, how they ended, the rating).
pub(crate) async fn text(ctx: &Ctx<'_>, ticket: &TicketRow) -> Result<String, ProcessError> {
    Ok(text_and_history(ctx, ticket).await?.0)
}

/// [`text`], and the earlier tickets it lists (newest first).
pub(crate) async fn text_and_history(
    ctx: &Ctx<'_>,
    ticket: &TicketRow,
) -> Result<(String, Vec<history::PastTicket>), ProcessError> {
    let (profile, earlier) = tokio::join!(
        users::profile(ctx.db(), ticket.user_id),
        history::earlier_tickets(ctx.db(), ticket.user_id, ticket.id, CARD_HISTORY)
    );
    let (profile, (earlier, count)) = (profile?, earlier?);
    let phone = Phone::parse(&ticket.phone, &ctx.app.config.default_region)
        .map_or_else(|_| ticket.phone.clone(), |p| p.display());
    let card = texts::card(
        ticket.id,
        &profile.full_name(),
        profile.username.as_deref(),
        &phone,
        &ctx.app.desk.topic_label(ticket.topic),
        count,
    );
    let tz = ctx.app.config.desk_tz;
    let lines: Vec<String> = earlier.iter().map(|p| past_line(p, tz, &ctx.app.desk)).collect();
    Ok((card + &texts::card_history(&lines), earlier))
}

/// A past ticket as one line of a customer's history.
pub(crate) fn past_line(p: &history::PastTicket, tz: chrono_tz::Tz, desk: &crate::desk::Desk) -> String {
    let date = p.created_at.with_timezone(&tz).format("%d.%m.%Y").to_string();
    let topic = p.topic.map_or_else(|| "—".to_owned(), |t| desk.topic_label(t));
    texts::past_ticket_line(p.id, &date, &topic, p.operator.as_deref(), p.status, p.close_reason, p.score)
}

/// Posts the ticket's card with «Взять в работу», with a header line above it (a reminder) if given. Where it
/// lands is recorded when Telegram confirms it.
pub(crate) async fn post(ctx: &mut Ctx<'_>, ticket: &TicketRow, header: Option<String>) -> Result<(), ProcessError> {
    let mut text = text(ctx, ticket).await?;
    if let Some(header) = header {
        text = format!("{header}\n{text}");
    }
    let chat = ctx.app.config.operators_chat_id;
    ctx.send_tracked(
        SendMessage::new(chat, text).with_markup(keyboards::claim(ticket.id)),
        OnResult::Card { ticket_id: ticket.id },
    )?;
    Ok(())
}

/// Every card of ticket `ticket_id` says who took it and invites no further claim: the `pressed` one first (none
/// when it was claimed from the queue board), then the others it had (an earlier card, reminders).
pub(crate) async fn mark_taken(
    ctx: &mut Ctx<'_>,
    ticket_id: i64,
    pressed: Option<(i64, i64)>,
    card_text: &str,
    operator: &str,
) -> Result<(), ProcessError> {
    let mut others = settle(ctx, ticket_id).await?;
    if let Some(pressed) = pressed {
        if others.contains(&pressed) {
            others.retain(|c| *c != pressed);
        } else {
            // Pressed before its `sent` mark recorded it (or posted before cards were recorded).
            cards::add_settled(ctx.db(), pressed, ticket_id).await?;
        }
    }
    let text = texts::card_taken(card_text, operator);
    for card in pressed.into_iter().chain(others) {
        edit(ctx, card, text.clone())?;
    }
    Ok(())
}

/// Every card of a ticket closed while it waited says why, and invites no claim.
pub(crate) async fn mark_closed(ctx: &mut Ctx<'_>, ticket_id: i64, why: CloseReason) -> Result<(), ProcessError> {
    // A customer who blocked the bot cannot have their buttons removed (the call would only meet another 403).
    let (cards, _) = settle_all(ctx, ticket_id, why != CloseReason::CustomerBlocked).await?;
    for card in cards {
        edit(ctx, card, texts::card_closed(ticket_id, why))?;
    }
    Ok(())
}

/// Cards that went out, or were recorded, after their ticket left the queue (a reminder on its way while someone
/// claimed, a `sent` mark that landed after the claim's): they say what became of the ticket, as if they had
/// been there at the time. `ticket` is row-locked and no longer waiting. Returns how many messages were settled.
pub(crate) async fn settle_late(ctx: &mut Ctx<'_>, ticket: &TicketRow) -> Result<usize, ProcessError> {
    let (cards, prompts) = settle_all(ctx, ticket.id, true).await?;
    if cards.is_empty() {
        return Ok(prompts);
    }
    let line = outcome(ctx, ticket).await?;
    for card in &cards {
        edit(ctx, *card, line.clone())?;
    }
    Ok(cards.len() + prompts)
}

/// `card`, settled by the caller, of `ticket` (row-locked, no longer waiting) says what became of the ticket.
pub(crate) async fn show_outcome(ctx: &mut Ctx<'_>, ticket: &TicketRow, card: (i64, i64)) -> Result<(), ProcessError> {
    let line = outcome(ctx, ticket).await?;
    Ok(edit(ctx, card, line)?)
}

/// What a card of `ticket` (no longer waiting) says: who took it, or why it was closed.
async fn outcome(ctx: &Ctx<'_>, ticket: &TicketRow) -> Result<String, ProcessError> {
    Ok(match (ticket.status, ticket.operator_tg_id) {
        (Status::Assigned, Some(operator)) => {
            let who = users::handle_of(ctx.db(), operator).await?;
            texts::card_taken(&text(ctx, ticket).await?, &who)
        }
        _ => match tickets::close_reason(ctx.db(), ticket.id).await? {
            Some(why) => texts::card_closed(ticket.id, why),
            None => texts::card_closed_plain(ticket.id),
        },
    })
}

/// Settles every message of ticket `ticket_id` that still invites an action and returns its cards; the
/// customer's place in the queue loses «Отменить обращение» here.
async fn settle(ctx: &mut Ctx<'_>, ticket_id: i64) -> Result<Vec<(i64, i64)>, ProcessError> {
    Ok(settle_all(ctx, ticket_id, true).await?.0)
}

/// [`settle`], removing the prompts' buttons only if `remove_prompts`; also says how many prompts it settled.
async fn settle_all(
    ctx: &mut Ctx<'_>,
    ticket_id: i64,
    remove_prompts: bool,
) -> Result<(Vec<(i64, i64)>, usize), ProcessError> {
    let operators = ctx.app.config.operators_chat_id;
    let (cards, prompts): (Vec<_>, Vec<_>) =
        cards::settle(ctx.db(), ticket_id).await?.into_iter().partition(|(chat, _)| *chat == operators);
    for &(chat, message) in prompts.iter().filter(|_| remove_prompts) {
        ctx.remove_buttons(chat, message)?;
    }
    Ok((cards, prompts.len()))
}

/// The card of a claimed ticket says what became of it since (handed over, closed by a supervisor): `line`.
pub(crate) fn mark_handed_over(ctx: &mut Ctx<'_>, card: (i64, i64), line: String) -> Result<(), DbError> {
    edit(ctx, card, line)
}

fn edit(ctx: &mut Ctx<'_>, (chat_id, message_id): (i64, i64), text: String) -> Result<(), DbError> {
    ctx.edit_text(EditMessageText { chat_id, message_id, text, entities: None, reply_markup: None })
}
