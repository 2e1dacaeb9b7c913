//! Operators' buttons: «Взять в работу» (the atomic claim, with the dialog so far for whoever takes a ticket
//! over) and «Завершить диалог».

use super::ProcessError;
use super::ctx::Ctx;
use super::{board, card, keyboards, lifecycle};
use crate::db::messages::{self, PendingMessage};
use crate::db::tickets::{self, Status};
use crate::db::{boards, cards, history};
use crate::domain::{CloseReason, ContentKind, Sender};
use crate::telegram::{CallbackQuery, SendMessage};
use crate::texts;

/// Where a claim was pressed: a ticket's card, or the queue board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// «Взять в работу» on a card.
    Card,
    /// «Взять #N» on the queue board.
    Board,
}

/// «Взять в работу» (or «Взять #N» on the queue board). Only members of the operators' chat; one active dialog
/// per operator; only from the ticket's live place (its cards, or the active board it is listed on); the first
/// `UPDATE … WHERE status = 'WAITING'` wins. The operator's summary is sent before commit: if Telegram refuses
/// (the operator never started the bot), the claim is undone in the same transaction.
pub async fn claim(ctx: &mut Ctx<'_>, query: &CallbackQuery, ticket_id: i64, place: Place) -> Result<(), ProcessError> {
    let operator = &query.from;
    let card = query.message.as_ref().filter(|m| m.chat_id() == ctx.app.config.operators_chat_id);
    let Some(card) = card else {
        ctx.alert(query, texts::ALERT_STALE)?;
        return Ok(());
    };
    let pressed = (card.chat_id(), card.message_id);
    if !super::roles::confirm_role(ctx, operator.id).await?.is_operator() {
        return Ok(ctx.alert(query, texts::ALERT_NOT_OPERATOR)?);
    }
    let board = match place {
        Place::Card => {
            if cards::is_settled(ctx.db(), pressed, ticket_id).await? == Some(true)
                || boards::board_of(ctx.db(), ticket_id).await?.is_some()
            {
                // A card that was taken, handed over or closed since (its edit lost or not yet arrived), or of a
                // ticket now on the board: answered, and the claim goes through the ticket's live place only.
                return no_claim(ctx, query, ticket_id, Some(pressed)).await;
            }
            None
        }
        Place::Board => match live_board(ctx, ticket_id, pressed).await? {
            // The ticket's lock, then the board's, before the summary is sent: leaving the board after the
            // send waits for no lock (a lock timeout there would roll back a claim whose summary went out).
            Some(board) if locked_on(ctx, ticket_id, board).await? => Some(board),
            _ => return no_claim(ctx, query, ticket_id, None).await,
        },
    };
    if let Some(active) = tickets::lock_active_ticket_of_operator(ctx.db(), operator.id).await? {
        if active.id == ticket_id {
            return Ok(ctx.notice(query, texts::claimed(ticket_id))?);
        }
        return Ok(ctx.alert(query, texts::alert_busy(active.id))?);
    }
    if !tickets::claim_ticket(ctx.db(), ticket_id, operator.id, board).await? {
        return no_claim(ctx, query, ticket_id, board.is_none().then_some(pressed)).await;
    }
    let Some(ticket) = tickets::lock_ticket(ctx.db(), ticket_id).await? else {
        return Ok(ctx.alert(query, texts::ALERT_STALE)?);
    };
    let backlog = messages::undelivered_from_customer(ctx.db(), ticket_id).await?;
    // The newest messages are copied one by one; earlier ones (a customer who wrote hundreds while waiting)
    // go as a short list, so the claim does not queue hundreds of calls ahead of the dialog.
    let (earlier, replayed) = backlog.split_at(backlog.len().saturating_sub(CLAIM_REPLAY));
    let (card_text, past) = card::text_and_history(ctx, &ticket).await?;
    let previous = previous(ctx, past.first()).await?;
    let summary = SendMessage::new(operator.id, texts::summary(&card_text, &previous, backlog.len(), replayed.len()))
        .with_markup(keyboards::summary(ticket_id));
    // Within the operator's budget and the bot's, like every other call: a storm of claims meets no 429.
    let limits = &ctx.app.config.send_limits;
    crate::db::budgets::take_slot_waiting(ctx.db(), operator.id, limits, SUMMARY_PACE_WAIT).await?;
    let sent = match ctx.app.telegram.send_message(&summary).await {
        Ok(sent) => sent,
        Err(e) if e.is_forbidden() => {
            tickets::requeue_ticket(ctx.db(), ticket_id).await?;
            return Ok(ctx.alert(query, texts::ALERT_START_BOT_FIRST)?);
        }
        Err(e) => return Err(e.into()),
    };
    tickets::set_operator_message(ctx.db(), ticket_id, sent.message_id).await?;
    match board {
        Some(_) => tickets::clear_card(ctx.db(), ticket_id).await?,
        None => tickets::set_card(ctx.db(), ticket_id, card.chat_id(), card.message_id).await?,
    }
    ctx.notice(query, texts::claimed(ticket_id))?;
    story(ctx, operator.id, ticket_id).await?;
    replay(ctx, operator.id, earlier, replayed).await?;
    ctx.send(SendMessage::new(ticket.customer_tg_id, texts::OPERATOR_CONNECTED))?;
    let who = operator.username.as_ref().map_or_else(|| operator.first_name.clone(), |u| format!("@{u}"));
    card::mark_taken(ctx, ticket_id, board.is_none().then_some(pressed), &card_text, &who).await?;
    if let Some(board) = board {
        board::left_board(ctx, board).await?;
    }
    Ok(())
}

/// The previous ticket's last messages shown on a claim's summary.
const PREVIOUS_LINES: i64 = 5;
/// A line of them is cut to this many characters.
const PREVIOUS_LINE_CHARS: usize = 200;

/// What the summary says of the customer's previous ticket: its last few messages, or that this is their first.
async fn previous(ctx: &Ctx<'_>, previous: Option<&history::PastTicket>) -> Result<String, ProcessError> {
    let Some(previous) = previous else { return Ok(texts::FIRST_CONTACT.to_owned()) };
    let lines = history::last_lines(ctx.db(), previous.id, PREVIOUS_LINES).await?;
    let zone = ctx.app.config.desk_tz;
    let date = previous.created_at.with_timezone(&zone).format("%d.%m.%Y").to_string();
    let mut text = texts::previous_header(previous.id, &date, lines.len());
    for line in &lines {
        let at = line.at.with_timezone(&zone).format("%d.%m %H:%M").to_string();
        let body = line.text.as_deref().map(|t| super::bans::cut(t, PREVIOUS_LINE_CHARS));
        text.push('\n');
        text.push_str(&texts::previous_line(&at, line.sender == Sender::User, body.as_deref(), line.content));
    }
    Ok(text)
}

/// Locks ticket `ticket_id` and then `board` (in the order every path takes them); false when the board is no
/// longer active.
async fn locked_on(ctx: &Ctx<'_>, ticket_id: i64, board: i64) -> Result<bool, ProcessError> {
    tickets::lock_ticket(ctx.db(), ticket_id).await?;
    Ok(boards::lock(ctx.db(), board).await?)
}

/// The active board a press on board message `pressed` may claim `ticket_id` from: the one the ticket is listed
/// on, if `pressed` is its message (or its message is not recorded yet: its `sent` mark may be on its way).
/// `None`: a stale board, or a ticket no longer listed.
async fn live_board(ctx: &Ctx<'_>, ticket_id: i64, pressed: (i64, i64)) -> Result<Option<i64>, ProcessError> {
    let Some(board) = boards::board_of(ctx.db(), ticket_id).await? else { return Ok(None) };
    Ok(match boards::pressed(ctx.db(), pressed.0, pressed.1).await? {
        Some((pressed_board, true)) if pressed_board == board => Some(board),
        Some(_) => None,
        None if boards::message_of(ctx.db(), board).await?.is_none() => Some(board),
        None => None,
    })
}

/// A press that claims nothing (the ticket was taken or closed, or the card or board was replaced) is told where
/// the ticket is now. A pressed card nobody settled (a card whose `sent` mark was lost: the process died right
/// after Telegram posted it, and the post was made again) is settled here: it says what became of the ticket. A
/// board is never edited from here: its refreshes redraw it.
async fn no_claim(
    ctx: &mut Ctx<'_>,
    query: &CallbackQuery,
    ticket_id: i64,
    pressed_card: Option<(i64, i64)>,
) -> Result<(), ProcessError> {
    let ticket = tickets::lock_ticket(ctx.db(), ticket_id).await?;
    let on_board = boards::board_of(ctx.db(), ticket_id).await?.is_some();
    let alert = match ticket.as_ref().map(|t| t.status) {
        Some(Status::Assigned) => texts::alert_taken(ticket_id),
        Some(Status::Closed) => texts::alert_closed(ticket_id),
        Some(Status::Waiting) if on_board && pressed_card.is_none() => texts::ALERT_STALE_BOARD.into(),
        Some(Status::Waiting) if on_board => texts::card_moved_to_board(ticket_id),
        Some(Status::Waiting) if pressed_card.is_none() => texts::ALERT_STALE_BOARD.into(),
        Some(Status::Waiting) => texts::alert_newer_card(ticket_id),
        None => texts::ALERT_STALE.into(),
    };
    if let Some(ticket) = ticket.filter(|t| t.status != Status::Waiting)
        && let Some(pressed) = pressed_card
        && cards::settle_one(ctx.db(), pressed, ticket_id).await?
    {
        card::show_outcome(ctx, &ticket, pressed).await?;
    }
    Ok(ctx.alert(query, alert)?)
}

/// The dialog so far, for an operator who takes over a ticket another operator had (after a transfer, a requeue,
/// an operator who left or blocked the bot): what was said, as a transcript with time and side in as few
/// messages as fit, then a copy of each message with a file (a photo, a voice…), in order. Nothing when the
/// ticket is new. What the customer wrote that nobody received follows as copies (see [`replay`]).
async fn story(ctx: &mut Ctx<'_>, operator: i64, ticket_id: i64) -> Result<(), ProcessError> {
    let said = messages::said(ctx.db(), ticket_id).await?;
    if said.is_empty() {
        return Ok(());
    }
    let zone = ctx.app.config.desk_tz;
    let mut texts = vec![texts::story_header(ticket_id, said.len())];
    for m in &said {
        let at = m.at.with_timezone(&zone).format("%d.%m %H:%M").to_string();
        let line = texts::story_line(&at, &m.who, m.sender == Sender::User, m.text.as_deref(), m.content);
        let last = texts.len() - 1;
        if texts[last].chars().count() + line.chars().count() < LIST_CHARS {
            texts[last].push('\n');
            texts[last].push_str(&line);
        } else {
            // A line longer than a message (a long text) goes whole, over as many messages as it takes.
            let chars: Vec<char> = line.chars().collect();
            texts.extend(chars.chunks(LIST_CHARS).map(|part| part.iter().collect::<String>()));
        }
    }
    for text in texts {
        ctx.send(SendMessage::new(operator, text))?;
    }
    for m in said.iter().filter(|m| m.content != ContentKind::Text) {
        ctx.copy_again(operator, m.source.0, m.source.1)?;
    }
    Ok(())
}

/// What the customer wrote while waiting, for the operator who claimed the ticket: `earlier` as a short list,
/// `replayed` copied one by one.
async fn replay(
    ctx: &mut Ctx<'_>,
    operator: i64,
    earlier: &[PendingMessage],
    replayed: &[PendingMessage],
) -> Result<(), ProcessError> {
    if !earlier.is_empty() {
        let ids: Vec<i64> = earlier.iter().map(|m| m.id).collect();
        for text in earlier_list(&messages::briefs(ctx.db(), &ids).await?) {
            ctx.send(SendMessage::new(operator, text))?;
        }
    }
    // The parts of an album go as the album (one copyMessages), the rest one by one.
    for run in replayed.chunk_by(|a, b| a.media_group_id.is_some() && a.media_group_id == b.media_group_id) {
        match run {
            [message] => ctx.copy(operator, message.source_chat_id, message.source_message_id, message.id)?,
            parts => {
                // Stored in the order they arrived; Telegram wants them in the order they were sent.
                let mut ids: Vec<i64> = parts.iter().map(|m| m.source_message_id).collect();
                ids.sort_unstable();
                ctx.copy_album(operator, parts[0].source_chat_id, &ids)?;
            }
        }
    }
    Ok(())
}

/// Customer messages copied one by one at a claim; earlier ones are listed in short (see [`earlier_list`]).
pub const CLAIM_REPLAY: usize = 50;
/// How long a claim's summary may wait for room in the operator's and the bot's budgets (a private chat's window
/// is 5 s; a storm fills the bot's 1 s one). The presser's button spins meanwhile; the ticket is theirs already.
const SUMMARY_PACE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);
/// Messages of at most this many characters carry the list of earlier messages…
const LIST_CHARS: usize = 3500;
/// …and at most this many of them.
const LIST_MESSAGES: usize = 3;

/// The list of earlier messages, as at most [`LIST_MESSAGES`] texts of at most [`LIST_CHARS`] characters.
fn earlier_list(briefs: &[messages::Brief]) -> Vec<String> {
    let mut out = vec![texts::earlier_messages(briefs.len())];
    for (i, brief) in briefs.iter().enumerate() {
        let line = texts::earlier_line(brief.text.as_deref(), brief.content);
        let last = out.len() - 1;
        if out[last].chars().count() + line.chars().count() < LIST_CHARS {
            out[last].push('\n');
            out[last].push_str(&line);
        } else if out.len() < LIST_MESSAGES {
            out.push(line);
        } else {
            out[last].push('\n');
            out[last].push_str(&texts::earlier_more(briefs.len() - i));
            break;
        }
    }
    out
}

/// «Завершить диалог»: only the assigned operator; the customer gets «Оператор отключился» with «В начало».
pub async fn close(ctx: &mut Ctx<'_>, query: &CallbackQuery, ticket_id: i64) -> Result<(), ProcessError> {
    let Some(ticket) = super::desk::own_assigned(ctx, query, ticket_id).await? else { return Ok(()) };
    close_own(ctx, &ticket).await?;
    ctx.ack(query)?;
    Ok(())
}

/// The operator ends their dialog (`ticket`, row-locked, theirs): «Завершить диалог» or `/close`.
pub(crate) async fn close_own(ctx: &mut Ctx<'_>, ticket: &tickets::TicketRow) -> Result<(), ProcessError> {
    lifecycle::close(ctx, ticket, CloseReason::Operator, None).await?;
    Ok(())
}
