//! Retention: messages (with their attachments), the archived objects no row names any more, closed tickets,
//! forgotten customers and sent outbox calls older than `HISTORY_RETENTION_DAYS` are deleted in bounded batches
//! within a time budget; nothing younger is ever touched. Processed update ids are kept a week (Telegram
//! redelivers for about a day).
//!
//! Objects follow the rule of [`crate::media::LOCK_KEY`]: the transaction that deletes the last row naming a key
//! queues the key (`media_deletions`); the object is deleted under the key's lock after a re-check, and the queue
//! row goes with that. A run killed anywhere leaves either the queue row (the next run finishes) or nothing to do.

use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::app::App;
use crate::db::{Sql, Tx};
use crate::media::QUEUE_IF_UNREFERENCED;

const BATCH: i64 = 1000;
/// Keys per deletion transaction (each holds an advisory lock until it commits).
const KEYS_BATCH: i64 = 100;
/// Users per transaction (each holds that person's conversation lock until it commits).
const USERS_BATCH: i64 = 200;
/// At most this many batches per table per run, so one run stays short; the next run continues.
const MAX_BATCHES: usize = 50;
/// Object deletions in flight at once.
const PARALLEL_DELETES: usize = 8;
/// Processed update ids are kept this long.
pub const PROCESSED_UPDATES_KEEP_DAYS: i64 = 7;

/// Deletes what is past retention; returns the number of rows deleted. Starts no new batch after `deadline`; what
/// is left waits for the next run. Fails (after doing the rest) when some objects could not be deleted: their keys
/// stay queued and are retried with backoff.
pub async fn prune_until(app: &App, now: DateTime<Utc>, deadline: Instant) -> anyhow::Result<u64> {
    let cutoff = now - chrono::Duration::days(i64::from(app.config.history_retention_days));
    let recent = now - chrono::Duration::days(PROCESSED_UPDATES_KEEP_DAYS);
    let mut total = prune_messages(app, cutoff, deadline).await?;
    let objects = delete_queued_objects(app, deadline).await?;
    // Only tickets whose messages are all gone: a message pass cut short by its cap leaves the rest (and their
    // objects) to the next run instead of cascading them away.
    total += repeat(app, deadline, BATCH, DELETE_TICKETS, cutoff).await?;
    total += forget_users(app, cutoff, deadline).await?;
    total += repeat(app, deadline, BATCH, DELETE_OUTBOX, recent).await?;
    total += repeat(app, deadline, BATCH, DELETE_PROCESSED_UPDATES, recent).await?;
    tracing::debug!(objects = objects.deleted, "retention done");
    match objects.first_error {
        None => Ok(total),
        Some(e) => anyhow::bail!("{} media objects not deleted (queued, retried later): {e}", objects.failed),
    }
}

const DELETE_TICKETS: &str = "DELETE FROM tickets WHERE id IN (SELECT t.id FROM tickets t \
     WHERE t.status = 'CLOSED' AND t.closed_at < $1 \
       AND NOT EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = t.id) ORDER BY t.id LIMIT $2)";
const DELETE_OUTBOX: &str = "DELETE FROM outbox WHERE id IN \
     (SELECT id FROM outbox WHERE status <> 'pending' AND created_at < $1 ORDER BY id LIMIT $2)";
const DELETE_PROCESSED_UPDATES: &str = "DELETE FROM processed_updates WHERE update_id IN \
     (SELECT update_id FROM processed_updates WHERE processed_at < $1 LIMIT $2)";

/// Runs a `DELETE … LIMIT $2` over rows older than `$1` until it deletes less than a batch, the cap or the deadline.
async fn repeat(app: &App, deadline: Instant, batch: i64, sql: &str, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let client = app.db.get().await?;
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        if Instant::now() >= deadline {
            break;
        }
        let n = client.execute(sql, &[&before, &batch]).await?;
        total += n;
        if n < batch as u64 {
            break;
        }
    }
    Ok(total)
}

/// Deletes old messages a batch at a time, each batch in one transaction with their attachments; the keys those
/// named that no row names any more are queued for deletion in the same transaction.
async fn prune_messages(app: &App, cutoff: DateTime<Utc>, deadline: Instant) -> anyhow::Result<u64> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        if Instant::now() >= deadline {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let ids: Vec<i64> = tx
            .query("SELECT id FROM ticket_messages WHERE created_at < $1 ORDER BY id LIMIT $2", &[&cutoff, &BATCH])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if ids.is_empty() {
            tx.rollback().await;
            break;
        }
        // The keys as deleted (RETURNING), not as read before: an archiver may name one on a row meanwhile.
        let keys: Vec<Option<String>> = tx
            .query("DELETE FROM message_attachments WHERE message_id = ANY($1) RETURNING storage_key", &[&ids])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        total += tx.execute("DELETE FROM ticket_messages WHERE id = ANY($1)", &[&ids]).await?;
        // After the DELETEs, in a statement of its own: sees the rows other transactions committed meanwhile.
        let keys: Vec<String> = keys.into_iter().flatten().collect();
        if !keys.is_empty() {
            tx.execute(QUEUE_IF_UNREFERENCED, &[&keys]).await?;
        }
        tx.commit().await?;
        if (ids.len() as i64) < BATCH {
            break;
        }
    }
    Ok(total)
}

/// What the object deletions did.
#[derive(Default)]
struct Deletions {
    deleted: u64,
    failed: u64,
    first_error: Option<String>,
}

/// Takes due keys of the queue, each under its lock (a key an archiver holds is left for the next run), and
/// deletes the objects no row names (re-checked under the lock); the queue rows go in the same transaction.
const CLAIM_KEYS: &str = "WITH claimed AS MATERIALIZED (SELECT storage_key FROM media_deletions \
       WHERE not_before <= now() AND storage_key <> ALL($2) ORDER BY not_before, queued_at LIMIT $1 \
       FOR UPDATE SKIP LOCKED) \
     SELECT storage_key, pg_try_advisory_xact_lock(hashtextextended('media:' || storage_key, 0)) FROM claimed";
const UNREFERENCED: &str = "SELECT k FROM unnest($1::text[]) AS k \
     WHERE NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.storage_key = k)";
const DEQUEUE: &str = "DELETE FROM media_deletions WHERE storage_key = ANY($1)";
const DEFER: &str = "UPDATE media_deletions SET attempts = attempts + 1, last_error = $2, \
     not_before = now() + make_interval(secs => 60 * power(2, least(attempts, 10))) WHERE storage_key = $1";

async fn delete_queued_objects(app: &App, deadline: Instant) -> anyhow::Result<Deletions> {
    let mut done = Deletions::default();
    let mut busy: Vec<String> = Vec::new();
    for _ in 0..MAX_BATCHES {
        if Instant::now() >= deadline {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let claimed = tx.query(CLAIM_KEYS, &[&KEYS_BATCH, &busy]).await?;
        if claimed.is_empty() {
            tx.rollback().await;
            break;
        }
        let mut locked = Vec::new();
        for row in &claimed {
            let key: String = row.get(0);
            if row.get::<_, bool>(1) { locked.push(key) } else { busy.push(key) }
        }
        // A statement of its own, after the locks: sees every row an archiver committed before letting go.
        let free: Vec<String> = tx.query(UNREFERENCED, &[&locked]).await?.iter().map(|r| r.get(0)).collect();
        let results: Vec<(String, Result<(), crate::media::MediaError>)> =
            futures_util::stream::iter(free.into_iter().map(|key| async move {
                let result = app.media.delete(&key).await;
                (key, result)
            }))
            .buffer_unordered(PARALLEL_DELETES)
            .collect()
            .await;
        let mut failed = Vec::new();
        for (key, result) in results {
            match result {
                Ok(()) => done.deleted += 1,
                Err(e) => {
                    done.failed += 1;
                    let message = e.to_string();
                    tx.execute(DEFER, &[&key, &message]).await?;
                    done.first_error.get_or_insert(message);
                    failed.push(key);
                }
            }
        }
        let finished: Vec<&String> = locked.iter().filter(|k| !failed.contains(k)).collect();
        tx.execute(DEQUEUE, &[&finished]).await?;
        tx.commit().await?;
        if (claimed.len() as i64) < KEYS_BATCH {
            break;
        }
    }
    if done.failed > 0 {
        tracing::warn!(failed = done.failed, "some media objects could not be deleted; they stay queued");
    }
    Ok(done)
}

/// People with no ticket left (as customer or as operator) and no activity inside the window are forgotten: the
/// users row goes (its Telegram id identifies them as much as a name would). Each is taken under their
/// conversation lock (the key `bot::process` takes), so nobody is deleted while an update of theirs is handled.
const CLAIM_USERS: &str = "WITH candidates AS MATERIALIZED (SELECT u.id, u.tg_id FROM users u \
       WHERE greatest(u.created_at, u.updated_at) < $1 \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.user_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.operator_tg_id = u.tg_id) \
       ORDER BY u.id LIMIT $2 FOR UPDATE SKIP LOCKED) \
     SELECT id, pg_try_advisory_xact_lock(hashtextextended('conv:' || tg_id::text, 0)) FROM candidates";
/// The same conditions again, in a statement after the locks (an update just committed is seen).
const DELETE_USERS: &str = "DELETE FROM users u WHERE u.id = ANY($1) AND greatest(u.created_at, u.updated_at) < $2 \
       AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.user_id = u.id) \
       AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.operator_tg_id = u.tg_id)";

async fn forget_users(app: &App, cutoff: DateTime<Utc>, deadline: Instant) -> anyhow::Result<u64> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        if Instant::now() >= deadline {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let claimed = tx.query(CLAIM_USERS, &[&cutoff, &USERS_BATCH]).await?;
        let free: Vec<i64> = claimed.iter().filter(|r| r.get::<_, bool>(1)).map(|r| r.get(0)).collect();
        if free.is_empty() {
            tx.rollback().await;
            break;
        }
        total += tx.execute(DELETE_USERS, &[&free, &cutoff]).await?;
        tx.commit().await?;
        if (claimed.len() as i64) < USERS_BATCH {
            break;
        }
    }
    Ok(total)
}
