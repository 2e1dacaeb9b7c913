//! Retention: messages (with their attachments), the archived objects no row names any more, closed tickets,
//! forgotten customers and sent outbox calls older than `HISTORY_RETENTION_DAYS` are deleted in bounded batches
//! within a time budget, with what banned people sent and the bans lifted before that floor (a ban in force is
//! kept); nothing younger is ever touched. Processed update ids are kept a week (Telegram
//! redelivers for about a day); the flood budgets of chats idle for an hour go too.
//!
//! Objects follow the rule of [`crate::db::media::LOCK_KEY`]: the transaction that deletes the last row naming a key
//! queues the key (`media_deletions`); the object is deleted under the key's lock after a re-check, and the queue
//! row goes with that. A run killed anywhere leaves either the queue row (the next run finishes) or nothing to do.

use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::app::App;
use crate::db::Tx;
use crate::db::media::queue_if_unreferenced;
use crate::db::retention::{self, Sweep};

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
pub(crate) const PROCESSED_UPDATES_KEEP_DAYS: i64 = 7;

/// Deletes what is past retention; returns the number of rows deleted. Starts no new batch after `deadline`; what
/// is left waits for the next run. Fails (after doing the rest) when some objects could not be deleted: their keys
/// stay queued and are retried with backoff.
pub(crate) async fn prune_until(app: &App, now: DateTime<Utc>, deadline: Instant) -> anyhow::Result<u64> {
    let cutoff = now - chrono::Duration::days(i64::from(app.config.history_retention_days));
    let recent = now - chrono::Duration::days(PROCESSED_UPDATES_KEEP_DAYS);
    let mut total = prune_messages(app, cutoff, deadline).await?;
    let objects = delete_queued_objects(app, deadline).await?;
    // Only tickets whose messages are all gone: a message pass cut short by its cap leaves the rest (and their
    // objects) to the next run instead of cascading them away.
    total += repeat(app, deadline, Sweep::Tickets, cutoff).await?;
    total += forget_users(app, cutoff, deadline).await?;
    total += repeat(app, deadline, Sweep::Outbox, recent).await?;
    total += repeat(app, deadline, Sweep::ProcessedUpdates, recent).await?;
    total += repeat(app, deadline, Sweep::BannedMessages, cutoff).await?;
    total += repeat(app, deadline, Sweep::LiftedBans, cutoff).await?;
    // Flood budgets of chats idle for an hour (a row per chat the bot wrote to; recreated on the next send).
    total += crate::db::budgets::prune(&app.db.get().await?).await?;
    // Queue boards drained a week ago (tickets keep the board's id as history).
    total += crate::db::boards::prune(&app.db.get().await?, 7).await?;
    tracing::debug!(objects = objects.deleted, "retention done");
    match objects.first_error {
        None => Ok(total),
        Some(e) => anyhow::bail!("{} media objects not deleted (queued, retried later): {e}", objects.failed),
    }
}

/// Runs a `DELETE … LIMIT $2` over rows older than `$1` until it deletes less than a batch, the cap or the deadline.
async fn repeat(app: &App, deadline: Instant, what: Sweep, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let client = app.db.get().await?;
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        if Instant::now() >= deadline {
            break;
        }
        let n = retention::sweep(&client, what, before, BATCH).await?;
        total += n;
        if n < BATCH as u64 {
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
        let ids = retention::old_messages(&tx, cutoff, BATCH).await?;
        if ids.is_empty() {
            tx.rollback().await;
            break;
        }
        let (deleted, keys) = retention::delete_messages(&tx, &ids).await?;
        total += deleted;
        // After the DELETEs, in a statement of its own: sees the rows other transactions committed meanwhile.
        if !keys.is_empty() {
            queue_if_unreferenced(&tx, &keys).await?;
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

async fn delete_queued_objects(app: &App, deadline: Instant) -> anyhow::Result<Deletions> {
    let mut done = Deletions::default();
    let mut busy: Vec<String> = Vec::new();
    for _ in 0..MAX_BATCHES {
        if Instant::now() >= deadline {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let claimed = retention::claim_keys(&tx, KEYS_BATCH, &busy).await?;
        if claimed.is_empty() {
            tx.rollback().await;
            break;
        }
        let mut locked = Vec::new();
        for (key, got_lock) in &claimed {
            if *got_lock { locked.push(key.clone()) } else { busy.push(key.clone()) }
        }
        // A statement of its own, after the locks: sees every row an archiver committed before letting go.
        let free = retention::unreferenced(&tx, &locked).await?;
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
                    retention::defer_deletion(&tx, &key, &message).await?;
                    done.first_error.get_or_insert(message);
                    failed.push(key);
                }
            }
        }
        let finished: Vec<&String> = locked.iter().filter(|k| !failed.contains(k)).collect();
        retention::dequeue(&tx, &finished).await?;
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

async fn forget_users(app: &App, cutoff: DateTime<Utc>, deadline: Instant) -> anyhow::Result<u64> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        if Instant::now() >= deadline {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let claimed = retention::claim_users(&tx, cutoff, USERS_BATCH).await?;
        let free: Vec<i64> = claimed.iter().filter(|(_, got_lock)| *got_lock).map(|(id, _)| *id).collect();
        if free.is_empty() {
            tx.rollback().await;
            break;
        }
        total += retention::delete_users(&tx, &free, cutoff).await?;
        tx.commit().await?;
        if (claimed.len() as i64) < USERS_BATCH {
            break;
        }
    }
    Ok(total)
}
