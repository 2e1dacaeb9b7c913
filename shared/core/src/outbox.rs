//! The outbox: Bot API calls decided by an update are written in its transaction and sent after commit,
//! in order per chat. A transient failure leaves the rest of that chat's queue waiting (order is kept);
//! nothing is sent twice because an update was redelivered, since a redelivery writes nothing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use crate::app::App;
use crate::db::{DbError, messages, tickets};

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

/// Queues a call inside the caller's transaction.
pub async fn enqueue(
    db: &impl GenericClient,
    chat_id: i64,
    method: &str,
    params: &impl Serialize,
    on_result: Option<OnResult>,
) -> Result<(), DbError> {
    let params = serde_json::to_value(params).map_err(|e| DbError::Config(format!("outbox params: {e}")))?;
    let on_result = on_result.map(|r| serde_json::to_value(r).unwrap_or(serde_json::Value::Null));
    db.execute(
        "INSERT INTO outbox (chat_id, method, params, on_result) VALUES ($1, $2, $3, $4)",
        &[&chat_id, &method, &params, &on_result],
    )
    .await?;
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
}

/// Sends the chat's due calls in order. Holds a per-chat advisory lock, so two flushers never interleave.
pub async fn flush_chat(app: &App, chat_id: i64) -> Result<ChatFlush, DbError> {
    let mut client = app.db.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('outbox:' || $1::bigint::text, 0))", &[&chat_id]).await?;
    let mut report = ChatFlush::default();
    'batches: loop {
        let rows = tx
            .query(
                "SELECT id, method, params, on_result, not_before <= now(), attempts, \
                   created_at < now() - make_interval(secs => $2) \
                 FROM outbox WHERE chat_id = $1 AND status = 'pending' ORDER BY id LIMIT 20",
                &[&chat_id, &(MAX_AGE.as_secs() as f64)],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let (id, method, params): (i64, String, serde_json::Value) = (row.get(0), row.get(1), row.get(2));
            let on_result: Option<serde_json::Value> = row.get(3);
            let (due, attempts, too_old): (bool, i32, bool) = (row.get(4), row.get(5), row.get(6));
            if !due {
                report.deferred = true;
                break 'batches;
            }
            match app.telegram.call::<_, serde_json::Value>(&method, &params).await {
                Ok(result) => {
                    tx.execute(
                        "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = $1",
                        &[&id],
                    )
                    .await?;
                    if let Some(on_result) = on_result.and_then(|v| serde_json::from_value::<OnResult>(v).ok()) {
                        record_result(&*tx, chat_id, on_result, &result).await?;
                    }
                    report.sent += 1;
                }
                Err(e) if e.is_transient() && attempts + 1 < MAX_ATTEMPTS && !too_old => {
                    let wait = e.retry_after().unwrap_or_else(|| 2u64.saturating_pow(attempts.clamp(0, 8) as u32));
                    tracing::warn!(chat_id, method, error = %e, retry_in_s = wait, "outbox call deferred");
                    tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
                           not_before = now() + make_interval(secs => $3) WHERE id = $1",
                        &[&id, &e.to_string(), &(wait as f64)],
                    )
                    .await?;
                    report.deferred = true;
                    break 'batches;
                }
                Err(e) => {
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
                        enqueue(&*tx, sender, "sendMessage", &notice, None).await?;
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
                        break 'batches;
                    }
                }
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

async fn record_result(
    db: &impl GenericClient,
    chat_id: i64,
    on_result: OnResult,
    result: &serde_json::Value,
) -> Result<(), DbError> {
    let Some(message_id) = result.get("message_id").and_then(serde_json::Value::as_i64) else {
        return Ok(());
    };
    match on_result {
        OnResult::Delivered { ticket_message_id } => {
            messages::set_delivered(db, ticket_message_id, chat_id, message_id).await?
        }
        OnResult::Card { ticket_id } => tickets::set_card(db, ticket_id, chat_id, message_id).await?,
    }
    Ok(())
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
