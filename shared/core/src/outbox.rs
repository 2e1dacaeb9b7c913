//! The outbox: Bot API calls decided by an update are written in its transaction and sent in order per chat,
//! under a per-chat lock. Every call is recorded as sent in a commit of its own right after it was made, so a
//! process killed at any point repeats at most the one call that was in flight. Nothing sleeps on a 429 while it
//! holds a transaction or a lock: the call is deferred with its `not_before`, and the chat's queue waits for it.
//! A redelivered update writes nothing, so it sends nothing again.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::db::budgets;
use crate::db::outbox::{self as queue, ChatLock, Pending};
use crate::db::{DbError, Sql, Tx};
use crate::telegram::TelegramError;

pub(crate) use crate::db::albums::add_album_part;
pub(crate) use crate::db::outbox::cancel_copies_to_operator;

/// What to record from a successful call's result.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum OnResult {
    /// A relayed dialog message: store where it was delivered.
    Delivered {
        /// The `ticket_messages` row that was copied.
        ticket_message_id: i64,
    },
    /// A ticket's card in the operators' chat: store its message id.
    Card {
        /// The ticket whose card this is.
        ticket_id: i64,
    },
    /// An album copied with copyMessages (its parts are the call's `message_ids`): store where each part landed.
    Album,
    /// The customer's place in the queue with «Отменить обращение»: remember it, so that its button goes when the
    /// ticket leaves the queue.
    Prompt {
        /// The ticket it is about.
        ticket_id: i64,
    },
    /// The queue board's first post (drawn when sent): store its message id.
    BoardPost {
        /// The board.
        board_id: i64,
    },
    /// An edit of the queue board (drawn when sent, covering every change committed before).
    BoardRefresh {
        /// The board.
        board_id: i64,
    },
    /// Pins the queue board's message (once it is posted).
    BoardPin {
        /// The board.
        board_id: i64,
    },
    /// Unpins the drained queue board's message.
    BoardUnpin {
        /// The board.
        board_id: i64,
    },
}

/// A pending call is given up (status `failed`) only when it is this old: transient failures (429, 5xx, network)
/// are retried until then, with a backoff of at most [`MAX_BACKOFF_S`].
pub(crate) const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The longest wait between two attempts of a call that failed transiently (unless Telegram asks for longer).
pub(crate) const MAX_BACKOFF_S: u64 = 256;

/// Which calls of a chat's queue go first when its budget is short; calls of one priority keep their order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Priority {
    /// An answer to a button press: the button spins until it comes.
    Answer = 0,
    /// Dialog messages, replies, and everything not named below.
    Dialog = 1,
    /// A message in the operators' chat or its edit (cards, the edit that takes a claimed card's button away),
    /// in their order: edits overtaking new cards would starve them while claims keep coming.
    Operators = 2,
    /// A reminder card for a ticket still waiting, and the edit that says how a taken card's dialog ended.
    Reminder = 3,
}

impl Priority {
    /// The priority a call gets unless its maker says otherwise.
    fn of(chat_id: i64, method: &str) -> Priority {
        match method {
            "answerCallbackQuery" => Priority::Answer,
            _ if chat_id < 0 => Priority::Operators,
            _ => Priority::Dialog,
        }
    }
}

/// A Bot API call decided inside a transaction, written to the outbox with it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Call {
    /// The chat whose queue it joins (sent in order within that chat, by priority).
    pub chat_id: i64,
    /// Where it goes in the chat's queue.
    pub priority: Priority,
    /// Bot API method.
    pub method: &'static str,
    /// Its parameters.
    pub params: serde_json::Value,
    /// What to record from its result.
    pub on_result: Option<OnResult>,
}

impl Call {
    /// A call with serialized parameters.
    pub fn new(
        chat_id: i64,
        method: &'static str,
        params: &impl Serialize,
        on_result: Option<OnResult>,
    ) -> Result<Call, DbError> {
        let mut params = serde_json::to_value(params).map_err(|e| DbError::Config(format!("outbox params: {e}")))?;
        scrub_nul(&mut params);
        Ok(Call { chat_id, priority: Priority::of(chat_id, method), method, params, on_result })
    }
}

/// jsonb cannot hold U+0000 (a name or a callback id could carry one): it becomes U+FFFD, as in stored text.
pub(crate) fn scrub_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_nul),
        serde_json::Value::Object(map) => map.values_mut().for_each(scrub_nul),
        _ => {}
    }
}

/// Writes `calls` and commits `tx`, in one round trip.
pub(crate) async fn write_and_commit(tx: &Tx, calls: &[Call]) -> Result<(), DbError> {
    Ok(queue::write_and_commit(tx, calls).await?)
}

/// Why flushing a chat stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Nothing is pending.
    Empty,
    /// The head call is waiting for its `not_before` (a deferred retry): the periodic redelivery sends it.
    NotDue,
    /// The head call failed transiently and was deferred.
    Deferred,
    /// Telegram answered 403 for this chat: the user blocked the bot or never started it. Its queue was failed.
    Forbidden,
    /// Another flusher holds the chat; it sends what is queued.
    Busy,
    /// The time budget ran out with calls left.
    Budget,
    /// This chat's turn is over (its share of calls was sent) and calls are left: other chats go first.
    Turn,
    /// One call was sent inside an update's transaction and more are queued: flush again after its commit.
    More,
    /// The head call waits for room in a flood budget (the chat's or the bot's): due again after this long.
    Paced(Duration),
}

/// How flushing one chat ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChatFlush {
    /// Calls that succeeded.
    pub sent: u64,
    /// Calls given up.
    pub failed: u64,
    /// Why it stopped.
    pub stop: Stop,
    /// Other chats that got new calls (a sender told that their message was not delivered).
    pub notified: Vec<i64>,
}

impl ChatFlush {
    fn new() -> Self {
        ChatFlush { sent: 0, failed: 0, stop: Stop::Empty, notified: Vec::new() }
    }

    /// Calls are left in this chat's queue for a flush after this one (one was sent inside an update's
    /// transaction, or another flusher held the chat).
    pub(crate) fn calls_left(&self) -> bool {
        matches!(self.stop, Stop::More | Stop::Busy)
    }
}

/// Sends the chat's due calls in order, each in a transaction of its own that records it as sent, until the
/// queue is empty or not due, a call fails transiently, `turn` calls were sent, or `deadline` passes. Waits
/// (bounded by the connection's `lock_timeout`) for a flusher that holds the chat: such a hold lasts one call.
/// One round trip per call besides the call itself: a call's record, its COMMIT, the next transaction's BEGIN,
/// the chat's lock and the next head go out together.
pub(crate) async fn flush_chat(app: &App, chat_id: i64, deadline: Instant, turn: u64) -> Result<ChatFlush, DbError> {
    let mut report = ChatFlush::new();
    let mut tx = Tx::begin(&app.db).await?;
    let limits = &app.config.send_limits;
    let mut rows = queue::lock_head(&tx, chat_id, ChatLock::Wait, &[], limits, true).await?;
    loop {
        let stop = if Instant::now() >= deadline {
            Some(Stop::Budget)
        } else if report.sent + report.failed >= turn {
            Some(Stop::Turn)
        } else {
            None
        };
        if let Some(stop) = stop {
            tx.commit().await?;
            report.stop = stop;
            return Ok(report);
        }
        let (pending, more) = match next_due(rows) {
            Ok(next) => next,
            Err(stop) => {
                tx.commit().await?;
                report.stop = stop;
                return Ok(report);
            }
        };
        let Some(pending) = crate::db::albums::close_album(&tx, pending).await? else {
            // A part is joining it right now: its handler sends it once it is due.
            tx.commit().await?;
            report.stop = Stop::NotDue;
            return Ok(report);
        };
        let Some(pending) = drawn(&tx, &app.desk, chat_id, pending).await? else {
            // A board call with nothing to do: cancelled; the queue goes on in a fresh transaction.
            tx.commit().await?;
            if !more {
                report.stop = Stop::Empty;
                return Ok(report);
            }
            tx = Tx::begin(&app.db).await?;
            rows = queue::lock_head(&tx, chat_id, ChatLock::Wait, &[], limits, true).await?;
            continue;
        };
        if let Some(wait) = no_room(app, &tx, chat_id, &pending).await? {
            tx.commit().await?;
            report.stop = Stop::Paced(wait);
            return Ok(report);
        }
        let result = match Box::pin(call(app, &pending, deadline)).await {
            Ok(result) => result,
            Err(e) => {
                let stop = settle_failure(&tx, chat_id, &pending, &e, &mut report).await?;
                tx.commit().await?;
                if let Some(stop) = stop.or((!more).then_some(Stop::Empty)) {
                    report.stop = stop;
                    return Ok(report);
                }
                // Given up, and more is queued: go on in a fresh transaction (rare).
                tx = Tx::begin(&app.db).await?;
                rows = queue::lock_head(&tx, chat_id, ChatLock::Wait, &[], limits, true).await?;
                continue;
            }
        };
        report.sent += 1;
        if !more {
            tx.commit_after(queue::record_sent(tx.client(), &pending, chat_id, &result)).await?;
            report.stop = Stop::Empty;
            return Ok(report);
        }
        // Room for the next call only if this flush will go on to send it (no room taken for nothing).
        let goes_on = report.sent + report.failed < turn && Instant::now() < deadline;
        let (recorded, next) = tokio::join!(
            tx.commit_and_begin_after(queue::record_sent(tx.client(), &pending, chat_id, &result)),
            queue::lock_head(&tx, chat_id, ChatLock::Wait, &[], limits, goes_on)
        );
        recorded?;
        rows = next?;
    }
}

/// `pending` as it goes: a queue board's call is drawn from the database now (so it shows every change committed
/// before); one with nothing to do is cancelled and `None` returned.
async fn drawn(
    tx: &Tx,
    desk: &crate::desk::Desk,
    chat_id: i64,
    mut pending: Pending,
) -> Result<Option<Pending>, DbError> {
    let Some(on_result) = pending.board_call() else { return Ok(Some(pending)) };
    match crate::bot::board::draw_call(tx, desk, chat_id, on_result).await? {
        Some((method, params, drawing)) => {
            pending.method = method.to_owned();
            pending.params = params;
            pending.drawn = drawing.map(|mut d| {
                d.covers.retain(|id| *id != pending.id);
                d
            });
            Ok(Some(pending))
        }
        None => {
            queue::cancel(tx, pending.id, "queue board: nothing to show").await?;
            Ok(None)
        }
    }
}

/// Takes room in the flood budgets for `pending` (a message sent or edited; other calls need none). When there is
/// none, the call is held back until there would be (`not_before`, no attempt counted) and that wait returned.
async fn no_room(app: &App, tx: &Tx, chat_id: i64, pending: &Pending) -> Result<Option<Duration>, DbError> {
    let weight = weight(&pending.method, &pending.params);
    if weight == 0 {
        return Ok(None);
    }
    // Usually taken already, in the round trip that locked the chat; an album that grew since takes the rest.
    let taken = match pending.slot {
        Some(slot) if slot.wait.is_some() => return Ok(slot.wait),
        Some(slot) => slot.weight,
        None => 0,
    };
    if weight <= taken {
        return Ok(None);
    }
    let Some(wait) = budgets::take_slot(tx, chat_id, weight - taken, &app.config.send_limits).await? else {
        return Ok(None);
    };
    tracing::debug!(chat_id, method = pending.method, wait_ms = wait.as_millis() as u64, "outbox call paced");
    queue::pace(tx, pending.id, wait).await?;
    Ok(Some(wait))
}

/// How many messages a call counts for in Telegram's flood limits: each message sent, copied, forwarded or
/// edited; 0 for the rest (answers to callback queries, reactions, deletions, pins, reads).
pub(crate) fn weight(method: &str, params: &serde_json::Value) -> u32 {
    let many = |key: &str| {
        let n = params.get(key).and_then(serde_json::Value::as_array).map_or(1, Vec::len).max(1);
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    match method {
        "copyMessages" | "forwardMessages" => many("message_ids"),
        "sendMediaGroup" => many("media"),
        "sendChatAction" => 0,
        "copyMessage" | "forwardMessage" => 1,
        m if m.starts_with("send") || m.starts_with("editMessage") => 1,
        _ => 0,
    }
}

/// Makes `pending`'s call. An edit Telegram calls "not modified" did what it was for (the message already shows
/// it): it counts as sent, never as a failure. A reply whose quote Telegram refuses goes again as a plain reply.
async fn call(app: &App, pending: &Pending, deadline: Instant) -> Result<serde_json::Value, TelegramError> {
    let mut result = app.telegram.call_until::<_, serde_json::Value>(&pending.method, &pending.params, deadline).await;
    if let Err(TelegramError::Api { code: 400, description, .. }) = &result
        && description.contains("QUOTE")
        && let Some(unquoted) = without_quote(&pending.params)
    {
        tracing::info!(method = pending.method, "quote refused; sent as a plain reply");
        result = app.telegram.call_until(&pending.method, &unquoted, deadline).await;
    }
    match result {
        Err(e) if e.is_not_modified() => {
            tracing::info!(method = pending.method, "edit already in place; counted as sent");
            Ok(serde_json::Value::Bool(true))
        }
        other => other,
    }
}

/// `params` without the quote of their `reply_parameters`; `None` when they quote nothing.
fn without_quote(params: &serde_json::Value) -> Option<serde_json::Value> {
    params.get("reply_parameters")?.get("quote")?;
    let mut unquoted = params.clone();
    if let Some(reply) = unquoted.get_mut("reply_parameters").and_then(serde_json::Value::as_object_mut) {
        reply.remove("quote");
        reply.remove("quote_position");
    }
    Some(unquoted)
}

/// The head call of `rows` when it is due, and whether another waits behind it; else why the flush stops.
fn next_due(rows: Option<Vec<Pending>>) -> Result<(Pending, bool), Stop> {
    let rows = rows.ok_or(Stop::Busy)?;
    let more = rows.len() > 1;
    let pending = rows.into_iter().next().ok_or(Stop::Empty)?;
    // Held back just now for room in a budget (which also made it not due): the wait is known.
    if let Some(wait) = pending.slot.and_then(|slot| slot.wait) {
        return Err(Stop::Paced(wait));
    }
    if !pending.due {
        return Err(Stop::NotDue);
    }
    Ok((pending, more))
}

/// Writes `calls` (all for `chat_id`) in the update's transaction `tx`, sends the head of the chat's queue if it
/// can take the chat's lock without waiting, records it and commits. One round trip before the Bot API call and one
/// after it. [`Stop::More`] or [`Stop::Busy`]: calls are left, to be flushed after this commit.
pub(crate) async fn write_and_flush(
    app: &App,
    tx: Tx,
    chat_id: i64,
    calls: &[Call],
    deadline: Instant,
) -> Result<ChatFlush, DbError> {
    let mut report = ChatFlush::new();
    let rows = queue::lock_head(&tx, chat_id, ChatLock::Try, calls, &app.config.send_limits, true).await?;
    if let Some(stop) = send_head(app, tx, chat_id, rows, &mut report, deadline).await? {
        report.stop = stop;
        return Ok(report);
    }
    report.stop = Stop::More;
    Ok(report)
}

/// Sends the head call of `rows` and commits `tx` with what it did. `None` when a call was sent and another is
/// waiting behind it (the caller goes on after this commit); otherwise why the chat's flush stops here.
async fn send_head(
    app: &App,
    tx: Tx,
    chat_id: i64,
    rows: Option<Vec<Pending>>,
    report: &mut ChatFlush,
    deadline: Instant,
) -> Result<Option<Stop>, DbError> {
    let (pending, more) = match next_due(rows) {
        Ok(next) => next,
        Err(stop) => {
            tx.commit().await?;
            return Ok(Some(stop));
        }
    };
    let Some(pending) = crate::db::albums::close_album(&tx, pending).await? else {
        tx.commit().await?;
        return Ok(Some(Stop::NotDue));
    };
    let Some(pending) = drawn(&tx, &app.desk, chat_id, pending).await? else {
        tx.commit().await?;
        return Ok((!more).then_some(Stop::Empty));
    };
    if let Some(wait) = no_room(app, &tx, chat_id, &pending).await? {
        tx.commit().await?;
        return Ok(Some(Stop::Paced(wait)));
    }
    match Box::pin(call(app, &pending, deadline)).await {
        Ok(result) => {
            tx.commit_after(queue::record_sent(tx.client(), &pending, chat_id, &result)).await?;
            report.sent += 1;
            Ok((!more).then_some(Stop::Empty))
        }
        Err(e) => {
            let stop = settle_failure(&tx, chat_id, &pending, &e, report).await?;
            tx.commit().await?;
            Ok(stop.or((!more).then_some(Stop::Empty)))
        }
    }
}

/// Records a failed call: deferred when transient and younger than [`MAX_AGE`], else given up (the sender of a
/// copy is told it was not delivered). A 403 fails the rest of the chat's queue. `None` when the queue goes on.
async fn settle_failure(
    tx: &Tx,
    chat_id: i64,
    pending: &Pending,
    e: &TelegramError,
    report: &mut ChatFlush,
) -> Result<Option<Stop>, DbError> {
    let method = pending.method.as_str();
    if e.is_transient() && !pending.too_old {
        let backoff = 2u64.saturating_pow(pending.attempts.clamp(0, 8) as u32).min(MAX_BACKOFF_S);
        let wait = e.retry_after().unwrap_or(backoff);
        tracing::warn!(chat_id, method, error = %e, retry_in_s = wait, "outbox call deferred");
        queue::defer(tx, pending.id, &e.to_string(), wait).await?;
        if e.retry_after().is_some() {
            // Over a limit after all: the chat's budget is halved for a while.
            budgets::shrink(tx, chat_id).await?;
        }
        return Ok(Some(Stop::Deferred));
    }
    tracing::warn!(chat_id, method, error = %e, attempts = pending.attempts + 1, "outbox call given up");
    queue::give_up(tx, pending.id, &e.to_string()).await?;
    report.failed += 1;
    if pending.is_relayed_copy()
        && !e.is_forbidden()
        && let Some(sender) = pending.params.get("from_chat_id").and_then(serde_json::Value::as_i64)
    {
        // The sender must know their message did not arrive, and why as far as we know.
        let notice = crate::telegram::SendMessage::new(sender, crate::texts::copy_not_delivered(!e.is_transient()));
        queue::write(tx, &[Call::new(sender, "sendMessage", &notice, None)?]).await?;
        report.notified.push(sender);
    }
    if e.is_forbidden() {
        // Nothing more can reach this chat: the rest of its queue fails with the same reason.
        report.failed += queue::fail_blocked_chat(tx, chat_id, &e.to_string()).await?;
        return Ok(Some(Stop::Forbidden));
    }
    if let (Some(OnResult::BoardRefresh { board_id }), TelegramError::Api { code: 400, description, .. }) =
        (pending.board_call(), e)
        && description.contains("message to edit not found")
    {
        // Someone deleted the board's message: the board is posted afresh (its tickets must stay claimable).
        tracing::warn!(board_id, "queue board message gone; posting it again");
        crate::db::boards::forget_message(tx, board_id).await?;
        // Pinned again after it (a pin draws the message the post recorded; a deleted message is unpinned).
        let params = serde_json::json!({ "chat_id": chat_id });
        let pin = serde_json::json!({ "chat_id": chat_id, "disable_notification": true });
        queue::write(
            tx,
            &[
                Call::new(chat_id, "editMessageText", &params, Some(OnResult::BoardRefresh { board_id }))?,
                Call::new(chat_id, "pinChatMessage", &pin, Some(OnResult::BoardPin { board_id }))?,
            ],
        )
        .await?;
        report.notified.push(chat_id);
    }
    Ok(None)
}
