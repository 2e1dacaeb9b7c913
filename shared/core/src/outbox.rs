//! The outbox: Bot API calls decided by an update are written in its transaction and sent in order per chat,
//! under a per-chat lock. Every call is recorded as sent in a commit of its own right after it was made, so a
//! process killed at any point repeats at most the one call that was in flight. Nothing sleeps on a 429 while it
//! holds a transaction or a lock: the call is deferred with its `not_before`, and the chat's queue waits for it.
//! A redelivered update writes nothing, so it sends nothing again.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::db::{DbError, Params, Sql, Tx};
use crate::telegram::TelegramError;

/// What to record from a successful call's result.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OnResult {
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
}

/// A pending call is given up (status `failed`) only when it is this old: transient failures (429, 5xx, network)
/// are retried until then, with a backoff of at most [`MAX_BACKOFF_S`].
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The longest wait between two attempts of a call that failed transiently (unless Telegram asks for longer).
pub const MAX_BACKOFF_S: u64 = 256;

/// A Bot API call decided inside a transaction, written to the outbox with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The chat whose queue it joins (sent in order within that chat).
    pub chat_id: i64,
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
        Ok(Call { chat_id, method, params, on_result })
    }
}

/// jsonb cannot hold U+0000 (a name or a callback id could carry one): it becomes U+FFFD, as in stored text.
pub fn scrub_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_nul),
        serde_json::Value::Object(map) => map.values_mut().for_each(scrub_nul),
        _ => {}
    }
}

const INSERT_CALLS: &str = "INSERT INTO outbox (chat_id, method, params, on_result) \
    SELECT c, m, p, r FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::jsonb[]) WITH ORDINALITY AS v(c, m, p, r, n) \
    ORDER BY n";
const LOCK_CHAT: &str = "SELECT true FROM pg_advisory_xact_lock(hashtextextended('outbox:' || $1::bigint::text, 0))";
const TRY_LOCK_CHAT: &str = "SELECT pg_try_advisory_xact_lock(hashtextextended('outbox:' || $1::bigint::text, 0))";
/// The head of a chat's queue: the next call and the one after it (to know whether more is waiting).
const HEAD: &str = "SELECT id, method, params, on_result, not_before <= now(), attempts, \
    created_at < now() - make_interval(secs => $2) \
    FROM outbox WHERE chat_id = $1 AND status = 'pending' ORDER BY id LIMIT 2";
const MARK_SENT: &str = "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = $1";
/// What a call delivered, stored with its `sent` mark. The rows are skipped, not waited for, when an update holds
/// them: nothing may make the `sent` mark wait for a lock (a lock timeout would roll it back and the call would
/// be made again).
const SET_DELIVERED: &str = "UPDATE ticket_messages SET delivered_chat_id = $2, delivered_message_id = $3 \
    WHERE id = (SELECT id FROM ticket_messages WHERE id = $1 FOR UPDATE SKIP LOCKED)";
const SET_CARD: &str = "UPDATE tickets SET card_chat_id = $2, card_message_id = $3 \
    WHERE id = (SELECT id FROM tickets WHERE id = $1 FOR UPDATE SKIP LOCKED)";
const DEFER: &str = "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
    not_before = now() + make_interval(secs => $3) WHERE id = $1 AND status = 'pending'";
const GIVE_UP: &str = "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 \
    WHERE id = $1 AND status = 'pending'";
const FAIL_REST: &str =
    "UPDATE outbox SET status = 'failed', last_error = $2 WHERE chat_id = $1 AND status = 'pending'";
/// A 403 is remembered with the failed calls, so its handling (closing or requeueing tickets) cannot be lost.
const NOTE_BLOCKED: &str = "INSERT INTO blocked_chats (chat_id) VALUES ($1) \
    ON CONFLICT (chat_id) DO UPDATE SET blocked_at = now(), handled_at = NULL";
/// Copies of a ticket's customer messages still waiting for its operator; cancelled when the ticket is closed or
/// given back to the queue (they stay undelivered, so the next claim replays them).
const CANCEL_COPIES: &str = "UPDATE outbox o SET status = 'cancelled', last_error = $2 \
    FROM tickets t WHERE t.id = $1 AND o.chat_id = t.operator_tg_id AND o.status = 'pending' \
      AND o.method = 'copyMessage' AND o.on_result ->> 'kind' = 'delivered' \
      AND (o.on_result ->> 'ticket_message_id')::bigint IN ( \
        SELECT id FROM ticket_messages WHERE ticket_id = $1 AND sender_type = 'USER')";

/// Writes `calls` in the caller's transaction, in order, in one statement.
pub async fn write(db: &impl Sql, calls: &[Call]) -> Result<(), tokio_postgres::Error> {
    if calls.is_empty() {
        return Ok(());
    }
    let chats: Vec<i64> = calls.iter().map(|c| c.chat_id).collect();
    let methods: Vec<&str> = calls.iter().map(|c| c.method).collect();
    let params: Vec<&serde_json::Value> = calls.iter().map(|c| &c.params).collect();
    let results: Vec<Option<serde_json::Value>> =
        calls.iter().map(|c| c.on_result.and_then(|r| serde_json::to_value(r).ok())).collect();
    db.execute(INSERT_CALLS, &[&chats, &methods, &params, &results]).await?;
    Ok(())
}

/// Writes `calls` and commits `tx`, in one round trip.
pub async fn write_and_commit(tx: &Tx, calls: &[Call]) -> Result<(), DbError> {
    tx.prepare_all(&[INSERT_CALLS]).await?;
    tx.commit_after(async { write(tx.client(), calls).await }).await?;
    Ok(())
}

/// Cancels the copies of ticket `ticket_id`'s customer messages still pending for its operator; returns how many.
/// Call it in the transaction that closes or requeues the ticket, before the operator is unset.
pub async fn cancel_copies_to_operator(db: &impl Sql, ticket_id: i64, why: &str) -> Result<u64, tokio_postgres::Error> {
    db.execute(CANCEL_COPIES, &[&ticket_id, &why]).await
}

/// Why flushing a chat stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
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
}

/// How flushing one chat ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatFlush {
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
}

/// Sends the chat's due calls in order, each in a transaction of its own that records it as sent, until the
/// queue is empty or not due, a call fails transiently, `turn` calls were sent, or `deadline` passes. Waits
/// (bounded by the connection's `lock_timeout`) for a flusher that holds the chat: such a hold lasts one call.
/// One round trip per call besides the call itself: a call's record, its COMMIT, the next transaction's BEGIN,
/// the chat's lock and the next head go out together.
pub async fn flush_chat(app: &App, chat_id: i64, deadline: Instant, turn: u64) -> Result<ChatFlush, DbError> {
    let mut report = ChatFlush::new();
    let mut tx = Tx::begin(&app.db).await?;
    let mut rows = head(&tx, chat_id, LOCK_CHAT, &[]).await?;
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
        let result =
            match app.telegram.call_until::<_, serde_json::Value>(&pending.method, &pending.params, deadline).await {
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
                    rows = head(&tx, chat_id, LOCK_CHAT, &[]).await?;
                    continue;
                }
            };
        report.sent += 1;
        tx.prepare_all(&[MARK_SENT, SET_DELIVERED, SET_CARD, LOCK_CHAT, HEAD]).await?;
        if !more {
            tx.commit_after(record_sent(tx.client(), &pending, chat_id, &result)).await?;
            report.stop = Stop::Empty;
            return Ok(report);
        }
        let (recorded, next) = tokio::join!(
            tx.commit_and_begin_after(record_sent(tx.client(), &pending, chat_id, &result)),
            head(&tx, chat_id, LOCK_CHAT, &[])
        );
        recorded?;
        rows = next?;
    }
}

/// The head call of `rows` when it is due, and whether another waits behind it; else why the flush stops.
fn next_due(rows: Option<Vec<tokio_postgres::Row>>) -> Result<(Pending, bool), Stop> {
    let rows = rows.ok_or(Stop::Busy)?;
    let more = rows.len() > 1;
    let pending = rows.first().map(Pending::from_row).ok_or(Stop::Empty)?;
    if !pending.due {
        return Err(Stop::NotDue);
    }
    Ok((pending, more))
}

/// Writes `calls` (all for `chat_id`) in the update's transaction `tx`, sends the head of the chat's queue if it
/// can take the chat's lock without waiting, records it and commits. One round trip before the Bot API call and one
/// after it. [`Stop::More`] or [`Stop::Busy`]: calls are left, to be flushed after this commit.
pub async fn write_and_flush(
    app: &App,
    tx: Tx,
    chat_id: i64,
    calls: &[Call],
    deadline: Instant,
) -> Result<ChatFlush, DbError> {
    let mut report = ChatFlush::new();
    let rows = head(&tx, chat_id, TRY_LOCK_CHAT, calls).await?;
    if let Some(stop) = send_head(app, tx, chat_id, rows, &mut report, deadline).await? {
        report.stop = stop;
        return Ok(report);
    }
    report.stop = Stop::More;
    Ok(report)
}

/// Locks the chat (with `lock`) and reads its head, pipelined after writing `calls`. `None` when the lock was not
/// free.
async fn head(tx: &Tx, chat_id: i64, lock: &str, calls: &[Call]) -> Result<Option<Vec<tokio_postgres::Row>>, DbError> {
    tx.prepare_all(&[INSERT_CALLS, lock, HEAD]).await?;
    let max_age = MAX_AGE.as_secs() as f64;
    let (lock_params, head_params): (Params<'_>, Params<'_>) = (&[&chat_id], &[&chat_id, &max_age]);
    let (written, locked, rows) =
        tokio::join!(write(tx, calls), tx.query(lock, lock_params), tx.query(HEAD, head_params));
    written?;
    let got_lock = locked?.first().and_then(|r| r.try_get::<_, bool>(0).ok()).unwrap_or(false);
    let rows = rows?;
    Ok(got_lock.then_some(rows))
}

/// Sends the head call of `rows` and commits `tx` with what it did. `None` when a call was sent and another is
/// waiting behind it (the caller goes on after this commit); otherwise why the chat's flush stops here.
async fn send_head(
    app: &App,
    tx: Tx,
    chat_id: i64,
    rows: Option<Vec<tokio_postgres::Row>>,
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
    match app.telegram.call_until::<_, serde_json::Value>(&pending.method, &pending.params, deadline).await {
        Ok(result) => {
            tx.prepare_all(&[MARK_SENT, SET_DELIVERED, SET_CARD]).await?;
            tx.commit_after(record_sent(tx.client(), &pending, chat_id, &result)).await?;
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

/// A pending call as read from the queue.
struct Pending {
    id: i64,
    method: String,
    params: serde_json::Value,
    on_result: Option<OnResult>,
    due: bool,
    attempts: i32,
    too_old: bool,
}

impl Pending {
    fn from_row(row: &tokio_postgres::Row) -> Pending {
        let on_result: Option<serde_json::Value> = row.get(3);
        Pending {
            id: row.get(0),
            method: row.get(1),
            params: row.get(2),
            on_result: on_result.and_then(|v| serde_json::from_value::<OnResult>(v).ok()),
            due: row.get(4),
            attempts: row.get(5),
            too_old: row.get(6),
        }
    }
}

/// Marks the call sent and stores what its result says (where a copy landed, a card's message id), pipelined.
async fn record_sent(
    client: &deadpool_postgres::ClientWrapper,
    pending: &Pending,
    chat_id: i64,
    result: &serde_json::Value,
) -> Result<(), tokio_postgres::Error> {
    let message_id = result.get("message_id").and_then(serde_json::Value::as_i64);
    let extra = async {
        match (pending.on_result, message_id) {
            (Some(OnResult::Delivered { ticket_message_id }), Some(message_id)) => {
                Sql::execute(client, SET_DELIVERED, &[&ticket_message_id, &chat_id, &message_id]).await
            }
            (Some(OnResult::Card { ticket_id }), Some(message_id)) => {
                Sql::execute(client, SET_CARD, &[&ticket_id, &chat_id, &message_id]).await
            }
            _ => Ok(0),
        }
    };
    let sent_params: Params<'_> = &[&pending.id];
    let (sent, extra) = tokio::join!(Sql::execute(client, MARK_SENT, sent_params), extra);
    sent?;
    extra?;
    Ok(())
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
        tx.execute(DEFER, &[&pending.id, &e.to_string(), &(wait as f64)]).await?;
        return Ok(Some(Stop::Deferred));
    }
    tracing::warn!(chat_id, method, error = %e, attempts = pending.attempts + 1, "outbox call given up");
    tx.execute(GIVE_UP, &[&pending.id, &e.to_string()]).await?;
    report.failed += 1;
    if method == "copyMessage"
        && !e.is_forbidden()
        && let Some(sender) = pending.params.get("from_chat_id").and_then(serde_json::Value::as_i64)
    {
        // The sender must know their message did not arrive, and why as far as we know.
        let text = if e.is_transient() { crate::texts::NOT_DELIVERED } else { crate::texts::UNSUPPORTED_CONTENT };
        let notice = crate::telegram::SendMessage::new(sender, text);
        write(tx, &[Call::new(sender, "sendMessage", &notice, None)?]).await?;
        report.notified.push(sender);
    }
    if e.is_forbidden() {
        // Nothing more can reach this chat: the rest of its queue fails with the same reason.
        report.failed += tx.execute(FAIL_REST, &[&chat_id, &e.to_string()]).await?;
        tx.execute(NOTE_BLOCKED, &[&chat_id]).await?;
        return Ok(Some(Stop::Forbidden));
    }
    Ok(None)
}

/// Chats whose next call is due now, for the periodic redelivery: those waiting longest first.
pub async fn due_chats(app: &App, limit: i64) -> Result<Vec<i64>, DbError> {
    let client = app.db.get().await?;
    let rows = client
        .query(
            "SELECT chat_id FROM (SELECT DISTINCT ON (chat_id) chat_id, id, not_before FROM outbox \
               WHERE status = 'pending' ORDER BY chat_id, id) head \
             WHERE not_before <= now() ORDER BY not_before, id LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Blocked chats whose handling has not been done yet (it failed, or the process died before it).
pub async fn unhandled_blocked_chats(app: &App, limit: i64) -> Result<Vec<i64>, DbError> {
    let client = app.db.get().await?;
    let rows = client
        .query("SELECT chat_id FROM blocked_chats WHERE handled_at IS NULL ORDER BY blocked_at LIMIT $1", &[&limit])
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Marks a blocked chat handled, in the transaction that handled it.
pub async fn blocked_chat_handled(db: &impl Sql, chat_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute("UPDATE blocked_chats SET handled_at = now() WHERE chat_id = $1", &[&chat_id]).await?;
    Ok(())
}
