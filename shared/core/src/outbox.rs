//! The outbox: Bot API calls decided by an update are written in its transaction and sent in order per chat,
//! under a per-chat lock: inside that transaction when they all go to one chat (a relayed message: one
//! transaction in all), after its commit otherwise. A transient failure leaves the rest of that chat's queue
//! waiting (order is kept); nothing is sent twice because an update was redelivered, since a redelivery writes
//! nothing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::db::{DbError, Params, Sql, Tx};
use tokio_postgres::Client;

/// What to record from a successful call's result.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OnResult {
    /// A relayed dialog message: store where it was delivered.
    Delivered {
        /// ticket_messages.id.
        ticket_message_id: i64,
    },
    /// A ticket's card in the operators' chat: store its message id.
    Card {
        /// tickets.id.
        ticket_id: i64,
    },
}

/// A pending item is given up (status `failed`) after this many attempts or this age.
const MAX_ATTEMPTS: i32 = 30;
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Calls read per batch while flushing a chat.
const BATCH: usize = 20;

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
fn scrub_nul(value: &mut serde_json::Value) {
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
const LOCK_CHAT: &str = "SELECT pg_advisory_xact_lock(hashtextextended('outbox:' || $1::bigint::text, 0))";
const TRY_LOCK_CHAT: &str = "SELECT pg_try_advisory_xact_lock(hashtextextended('outbox:' || $1::bigint::text, 0))";
const PENDING: &str = "SELECT id, method, params, on_result, not_before <= now(), attempts, \
    created_at < now() - make_interval(secs => $2) \
    FROM outbox WHERE chat_id = $1 AND status = 'pending' ORDER BY id LIMIT 20";
const MARK_SENT: &str =
    "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])";
const SET_DELIVERED: &str = "UPDATE ticket_messages m SET delivered_chat_id = $1, delivered_message_id = v.mid \
    FROM unnest($2::bigint[], $3::bigint[]) AS v(id, mid) WHERE m.id = v.id";
const SET_CARDS: &str = "UPDATE tickets t SET card_chat_id = $1, card_message_id = v.mid \
    FROM unnest($2::bigint[], $3::bigint[]) AS v(id, mid) WHERE t.id = v.id";

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

/// How flushing one chat ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatFlush {
    /// Calls that succeeded.
    pub sent: u64,
    /// Calls given up (permanent errors).
    pub failed: u64,
    /// True when a transient failure (or a not-yet-due item) left calls pending.
    pub deferred: bool,
    /// True when Telegram answered 403 for this chat: the user blocked the bot or never started it.
    pub forbidden: bool,
    /// Other chats that got new calls (a sender told their message could not be relayed).
    pub more_chats: Vec<i64>,
    /// True when calls may be left for another flush of this chat ([`Lock::Try`]: lock busy, or one batch sent).
    pub unsent: bool,
}

/// Sends the chat's due calls in order, in a transaction of its own.
pub async fn flush_chat(app: &App, chat_id: i64) -> Result<ChatFlush, DbError> {
    write_and_flush(app, Tx::begin(&app.db).await?, chat_id, &[], Lock::Wait).await
}

/// How a flusher takes a chat's lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// Waits for it (a flusher of its own).
    Wait,
    /// Takes it only if free, and sends one batch at most: an update's transaction holds its sender's locks, which
    /// must not wait behind another flusher or a long backlog. What it leaves is flushed after its commit.
    Try,
}

/// Writes `calls` (all for `chat_id`) in `tx`, sends the chat's due calls in order, records what was sent and
/// commits: for one call, one round trip before the Bot API call and one after it. Holds a per-chat advisory
/// lock, so two flushers never interleave a chat's calls.
pub async fn write_and_flush(
    app: &App,
    tx: Tx,
    chat_id: i64,
    calls: &[Call],
    lock: Lock,
) -> Result<ChatFlush, DbError> {
    let lock_chat = match lock {
        Lock::Wait => LOCK_CHAT,
        Lock::Try => TRY_LOCK_CHAT,
    };
    let statements = tx.prepare_all(&[INSERT_CALLS, lock_chat, PENDING, MARK_SENT, SET_DELIVERED, SET_CARDS]).await?;
    let max_age = MAX_AGE.as_secs() as f64;
    let (lock_params, pending_params): (Params<'_>, Params<'_>) = (&[&chat_id], &[&chat_id, &max_age]);
    let (written, locked, rows) =
        tokio::join!(write(&tx, calls), tx.query(lock_chat, lock_params), tx.query(PENDING, pending_params));
    written?;
    let got_lock = locked?.first().and_then(|r| r.try_get::<_, bool>(0).ok()).unwrap_or(true);
    let mut rows = rows?;
    let mut report = ChatFlush::default();
    if !got_lock {
        // Another flusher has the chat: this update's calls join its queue, sent after commit.
        tx.commit().await?;
        report.unsent = true;
        return Ok(report);
    }
    loop {
        let full = rows.len() == BATCH;
        let mut done = Settled::default();
        let stopped = send_rows(app, &tx, chat_id, rows, &mut report, &mut done).await?;
        if stopped || !full || lock == Lock::Try {
            let client = tx.client();
            tx.commit_after(done.record(client, chat_id, &statements[3..])).await?;
            report.unsent = full && !stopped;
            return Ok(report);
        }
        done.record(tx.client(), chat_id, &statements[3..]).await?;
        rows = tx.query(PENDING, &[&chat_id, &max_age]).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(report);
        }
    }
}

/// Records `value` for `id`; a later call for the same id wins (an `UPDATE … FROM unnest` would pick any).
fn set_last(pairs: &mut (Vec<i64>, Vec<i64>), id: i64, value: i64) {
    match pairs.0.iter().position(|known| *known == id) {
        Some(i) => pairs.1[i] = value,
        None => {
            pairs.0.push(id);
            pairs.1.push(value);
        }
    }
}

/// Calls sent in this batch, recorded all at once (pipelined with COMMIT at the end).
#[derive(Default)]
struct Settled {
    sent: Vec<i64>,
    delivered: (Vec<i64>, Vec<i64>),
    cards: (Vec<i64>, Vec<i64>),
}

impl Settled {
    fn note(&mut self, id: i64, on_result: Option<OnResult>, result: &serde_json::Value) {
        self.sent.push(id);
        let message_id = result.get("message_id").and_then(serde_json::Value::as_i64);
        match (on_result, message_id) {
            (Some(OnResult::Delivered { ticket_message_id }), Some(message_id)) => {
                set_last(&mut self.delivered, ticket_message_id, message_id);
            }
            (Some(OnResult::Card { ticket_id }), Some(message_id)) => set_last(&mut self.cards, ticket_id, message_id),
            _ => {}
        }
    }

    /// Runs the recording statements (prepared: MARK_SENT, SET_DELIVERED, SET_CARDS), pipelined.
    async fn record(
        &self,
        client: &deadpool_postgres::ClientWrapper,
        chat_id: i64,
        statements: &[tokio_postgres::Statement],
    ) -> Result<(), tokio_postgres::Error> {
        let [mark_sent, set_delivered, set_cards] = statements else { return Ok(()) };
        let sent = async {
            if self.sent.is_empty() { Ok(0) } else { Client::execute(client, mark_sent, &[&self.sent]).await }
        };
        let delivered = async {
            if self.delivered.0.is_empty() {
                Ok(0)
            } else {
                Client::execute(client, set_delivered, &[&chat_id, &self.delivered.0, &self.delivered.1]).await
            }
        };
        let cards = async {
            if self.cards.0.is_empty() {
                Ok(0)
            } else {
                Client::execute(client, set_cards, &[&chat_id, &self.cards.0, &self.cards.1]).await
            }
        };
        tokio::try_join!(sent, delivered, cards)?;
        Ok(())
    }
}

/// Sends `rows` in order. Returns true when the chat's queue must stop here (not yet due, deferred, forbidden).
async fn send_rows(
    app: &App,
    tx: &Tx,
    chat_id: i64,
    rows: Vec<tokio_postgres::Row>,
    report: &mut ChatFlush,
    done: &mut Settled,
) -> Result<bool, DbError> {
    for row in rows {
        let (id, method, params): (i64, String, serde_json::Value) = (row.get(0), row.get(1), row.get(2));
        let on_result: Option<serde_json::Value> = row.get(3);
        let on_result = on_result.and_then(|v| serde_json::from_value::<OnResult>(v).ok());
        let (due, attempts, too_old): (bool, i32, bool) = (row.get(4), row.get(5), row.get(6));
        if !due {
            report.deferred = true;
            return Ok(true);
        }
        let e = match app.telegram.call::<_, serde_json::Value>(&method, &params).await {
            Ok(result) => {
                done.note(id, on_result, &result);
                report.sent += 1;
                continue;
            }
            Err(e) => e,
        };
        // Failures are rare: record what was sent so far first, then the failure.
        done.record(tx.client(), chat_id, &tx.prepare_all(&[MARK_SENT, SET_DELIVERED, SET_CARDS]).await?).await?;
        *done = Settled::default();
        if e.is_transient() && attempts + 1 < MAX_ATTEMPTS && !too_old {
            let wait = e.retry_after().unwrap_or_else(|| 2u64.saturating_pow(attempts.clamp(0, 8) as u32));
            tracing::warn!(chat_id, method, error = %e, retry_in_s = wait, "outbox call deferred");
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
                   not_before = now() + make_interval(secs => $3) WHERE id = $1",
                &[&id, &e.to_string(), &(wait as f64)],
            )
            .await?;
            report.deferred = true;
            return Ok(true);
        }
        tracing::warn!(chat_id, method, error = %e, "outbox call failed for good");
        tx.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1",
            &[&id, &e.to_string()],
        )
        .await?;
        report.failed += 1;
        if method == "copyMessage"
            && !e.is_forbidden()
            && let Some(sender) = params.get("from_chat_id").and_then(serde_json::Value::as_i64)
        {
            // Telegram refused to copy this kind of message: the sender must know it did not arrive.
            let notice = crate::telegram::SendMessage::new(sender, crate::texts::UNSUPPORTED_CONTENT);
            write(tx, &[Call::new(sender, "sendMessage", &notice, None)?]).await?;
            report.more_chats.push(sender);
        }
        if e.is_forbidden() {
            // Nothing more can reach this chat: the rest of its queue fails with the same reason.
            let n = tx
                .execute(
                    "UPDATE outbox SET status = 'failed', last_error = $2 WHERE chat_id = $1 AND status = 'pending'",
                    &[&chat_id, &e.to_string()],
                )
                .await?;
            report.failed += n;
            report.forbidden = true;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Chats that have calls due now (for the periodic redelivery).
pub async fn due_chats(app: &App, limit: i64) -> Result<Vec<i64>, DbError> {
    let client = app.db.get().await?;
    let rows = client
        .query(
            "SELECT chat_id FROM outbox WHERE status = 'pending' GROUP BY chat_id HAVING min(not_before) <= now() \
             ORDER BY min(id) LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
