//! The queue board: while the operators' chat's flood budget cannot carry a card for each new ticket (and the edit
//! its claim makes), new tickets are listed on one pinned message with «Взять #N» each, instead of a card each.
//! A waiting ticket is claimable from exactly one place: its cards, or the active board it joined. When no ticket
//! waits on the board any more it says so, is unpinned, and new tickets get cards again.
//!
//! Changes only queue a refresh, and only when none is pending; the board is drawn by the operators' chat flusher
//! when it sends one (see [`draw_call`]), so however many changes pile up while the budget is short, one edit
//! waits and shows them all.

use serde_json::json;

use super::ProcessError;
use super::card;
use super::ctx::Ctx;
use crate::db::boards::{self, Drawn};
use crate::db::tickets::TicketRow;
use crate::db::{DbError, Sql, cards};
use crate::outbox::OnResult;
use crate::telegram::{InlineKeyboardButton, InlineKeyboardMarkup};
use crate::texts;

/// Messages a ticket announced by card costs the operators' chat: the card and the edit its claim makes.
const CARD_COST: i64 = 2;
/// The board lists at most this many tickets (the oldest), each with a button…
pub const BOARD_ROWS: i64 = 30;
/// …in rows of this many buttons.
const BUTTONS_PER_ROW: usize = 3;
/// Claims shown at the board's foot.
const TAKEN_SHOWN: i64 = 5;

/// Announces waiting `ticket` (row-locked) in the operators' chat: on the active board if there is one; on a new
/// board when the chat's budget cannot carry its card and its claim's edit; else as a card (headed by `header`).
pub(crate) async fn announce(
    ctx: &mut Ctx<'_>,
    ticket: &TicketRow,
    header: Option<String>,
) -> Result<(), ProcessError> {
    let chat = ctx.app.config.operators_chat_id;
    let (active, carries) = boards::lock_for_announce(ctx.db(), chat, CARD_COST, &ctx.app.config.send_limits).await?;
    if let Some(board) = active {
        return join(ctx, ticket.id, board).await;
    }
    if carries {
        return card::post(ctx, ticket, header).await;
    }
    match boards::open(ctx.db(), chat).await? {
        Some(board) => {
            let adopted = boards::adopt_unsent_cards(ctx.db(), chat, board, &ctx.app.config.send_limits).await?;
            tracing::info!(board, ticket = ticket.id, adopted, "operators' chat budget short: queue board opened");
            boards::join(ctx.db(), ticket.id, board).await?;
            // Drawn as it is sent: the post shows whatever joined meanwhile.
            ctx.call_tracked(
                chat,
                "sendMessage",
                &json!({ "chat_id": chat }),
                OnResult::BoardPost { board_id: board },
            )?;
            let pin = json!({ "chat_id": chat, "disable_notification": true });
            ctx.call_tracked(chat, "pinChatMessage", &pin, OnResult::BoardPin { board_id: board })?;
            Ok(())
        }
        // Another update opened it a moment ago: join it (or, drained already, fall back to a card).
        None => match boards::lock_active(ctx.db(), chat).await? {
            Some(board) => join(ctx, ticket.id, board).await,
            None => card::post(ctx, ticket, header).await,
        },
    }
}

/// Lists `ticket_id` on `board` (locked).
async fn join(ctx: &mut Ctx<'_>, ticket_id: i64, board: i64) -> Result<(), ProcessError> {
    boards::join(ctx.db(), ticket_id, board).await?;
    let change = boards::changed(ctx.db(), board).await?;
    refresh(ctx, board, change)?;
    Ok(())
}

/// Ticket `ticket_id` left the queue (claimed, closed) in this transaction: if it was listed on the active board,
/// the board is refreshed, or drained and unpinned when it was the last one.
pub(crate) async fn left(ctx: &mut Ctx<'_>, ticket_id: i64) -> Result<(), ProcessError> {
    let Some(board) = boards::board_of(ctx.db(), ticket_id).await? else { return Ok(()) };
    left_board(ctx, board).await
}

/// A ticket listed on `board` left the queue in this transaction.
pub(crate) async fn left_board(ctx: &mut Ctx<'_>, board: i64) -> Result<(), ProcessError> {
    let change = boards::changed(ctx.db(), board).await?;
    refresh(ctx, board, change)?;
    if change.drained {
        tracing::info!(board, "queue board drained: cards are back");
        let chat = ctx.app.config.operators_chat_id;
        ctx.call_tracked(
            chat,
            "unpinChatMessage",
            &json!({ "chat_id": chat }),
            OnResult::BoardUnpin { board_id: board },
        )?;
    }
    Ok(())
}

/// Moves waiting `ticket` (row-locked, announced by card) to the active board, if there is one: its cards say
/// where it went and invite no claim. False when no board is active.
pub(crate) async fn move_to_board(ctx: &mut Ctx<'_>, ticket: &TicketRow) -> Result<bool, ProcessError> {
    let chat = ctx.app.config.operators_chat_id;
    let Some(board) = boards::lock_active(ctx.db(), chat).await? else { return Ok(false) };
    boards::cancel_unsent_cards_of(ctx.db(), chat, ticket.id).await?;
    for (chat_id, message_id) in cards::settle(ctx.db(), ticket.id).await?.into_iter().filter(|(c, _)| *c == chat) {
        let text = texts::card_moved_to_board(ticket.id);
        ctx.edit_text(crate::telegram::EditMessageText {
            chat_id,
            message_id,
            text,
            entities: None,
            reply_markup: None,
        })?;
    }
    join(ctx, ticket.id, board).await?;
    Ok(true)
}

/// Queues one refresh of `board` for this transaction's `change`, unless one is pending already: then the chat is
/// flushed after the commit all the same, for the refresh its flusher may have queued again for this change (it
/// drew the board as this change held it; see `boards::shown`).
fn refresh(ctx: &mut Ctx<'_>, board: i64, change: boards::Change) -> Result<(), DbError> {
    let chat = ctx.app.config.operators_chat_id;
    let on_result = OnResult::BoardRefresh { board_id: board };
    if change.refresh_pending {
        ctx.flush_after(chat);
    } else if !ctx.queues(on_result) {
        ctx.call_tracked(chat, "editMessageText", &json!({ "chat_id": chat }), on_result)?;
    }
    Ok(())
}

/// A board call as drawn for sending: what to call, and what to record once it went.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BoardDrawing {
    /// The board.
    pub board_id: i64,
    /// Its message, when known before the call (an edit).
    pub message_id: Option<i64>,
    /// The version shown.
    pub version: i64,
    /// The refreshes this drawing covers.
    pub covers: Vec<i64>,
}

/// Draws a board call (`on_result` says which) of the operators' chat `chat_id` from the database as it is now:
/// the method and parameters to send, and what to record. `None`: nothing to do (a pin of a board drained before
/// it was posted, a refresh of a board that never got a message and is drained already…).
pub(crate) async fn draw_call(
    db: &impl Sql,
    desk: &crate::desk::Desk,
    chat_id: i64,
    on_result: OnResult,
) -> Result<Option<(&'static str, serde_json::Value, Option<BoardDrawing>)>, DbError> {
    let board_id = match on_result {
        OnResult::BoardPost { board_id }
        | OnResult::BoardRefresh { board_id }
        | OnResult::BoardPin { board_id }
        | OnResult::BoardUnpin { board_id } => board_id,
        _ => return Ok(None),
    };
    let Some(drawn) = boards::draw(db, board_id, BOARD_ROWS, TAKEN_SHOWN).await? else { return Ok(None) };
    let drawing =
        |message_id| BoardDrawing { board_id, message_id, version: drawn.version, covers: drawn.covers.clone() };
    Ok(match (on_result, drawn.message_id) {
        (OnResult::BoardPin { .. }, Some(message_id)) if drawn.active => Some((
            "pinChatMessage",
            json!({ "chat_id": chat_id, "message_id": message_id, "disable_notification": true }),
            None,
        )),
        (OnResult::BoardUnpin { .. }, Some(message_id)) => {
            Some(("unpinChatMessage", json!({ "chat_id": chat_id, "message_id": message_id }), None))
        }
        (OnResult::BoardPin { .. } | OnResult::BoardUnpin { .. }, _) => None,
        (_, Some(message_id)) => Some((
            "editMessageText",
            message_params(desk, chat_id, Some(message_id), &drawn)?,
            Some(drawing(Some(message_id))),
        )),
        // Not posted (yet, or its post was given up): a board still in use is posted now.
        (_, None) if drawn.active => {
            Some(("sendMessage", message_params(desk, chat_id, None, &drawn)?, Some(drawing(None))))
        }
        (_, None) => None,
    })
}

/// The parameters of the board's sendMessage (no `message_id`) or editMessageText, as `drawn`.
fn message_params(
    desk: &crate::desk::Desk,
    chat_id: i64,
    message_id: Option<i64>,
    drawn: &Drawn,
) -> Result<serde_json::Value, DbError> {
    let (text, markup) = content(desk, drawn);
    let mut params = json!({ "chat_id": chat_id, "text": text });
    if let Some(message_id) = message_id {
        params["message_id"] = json!(message_id);
    }
    if let Some(markup) = markup {
        params["reply_markup"] = serde_json::to_value(markup).map_err(|e| DbError::Config(e.to_string()))?;
    }
    Ok(params)
}

/// The board's text and buttons as `drawn`.
fn content(desk: &crate::desk::Desk, drawn: &Drawn) -> (String, Option<InlineKeyboardMarkup>) {
    if !drawn.active {
        return (texts::BOARD_DRAINED.to_owned(), None);
    }
    let lines: Vec<String> = drawn
        .listed
        .iter()
        .map(|t| texts::board_line(t.id, &t.name, &desk.topic_label(t.topic), t.queued_at, drawn.now))
        .collect();
    let text = texts::board(&lines, drawn.waiting, &drawn.taken);
    let buttons: Vec<InlineKeyboardButton> = drawn
        .listed
        .iter()
        .map(|t| {
            InlineKeyboardButton::callback(
                &texts::btn_board_claim(t.id),
                &crate::domain::Callback::BoardClaim(t.id).encode(),
            )
        })
        .collect();
    let rows = buttons.chunks(BUTTONS_PER_ROW).map(<[_]>::to_vec).collect::<Vec<_>>();
    (text, (!rows.is_empty()).then_some(InlineKeyboardMarkup { inline_keyboard: rows }))
}

/// Queues a refresh of every active board last drawn more than a minute ago (its waiting times); returns the chats
/// to flush.
pub(crate) async fn catch_up(db: &impl Sql) -> Result<Vec<i64>, DbError> {
    Ok(boards::catch_up(db, std::time::Duration::from_secs(60)).await?)
}
