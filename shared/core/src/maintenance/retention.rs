//! Retention: messages (with their attachments and archived media objects), closed tickets and sent outbox calls older than
//! `HISTORY_RETENTION_DAYS` are deleted in bounded batches; nothing younger is ever touched.
//! Processed update ids are kept a week (Telegram redelivers for about a day).

use chrono::{DateTime, Utc};

use crate::app::App;

const BATCH: i64 = 1000;
/// At most this many batches per table per run, so one run stays short; the next run continues.
const MAX_BATCHES: usize = 50;
/// Processed update ids are kept this long.
pub const PROCESSED_UPDATES_KEEP_DAYS: i64 = 7;

/// Deletes what is past retention; returns the number of rows deleted.
pub async fn prune(app: &App, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let cutoff = now - chrono::Duration::days(i64::from(app.config.history_retention_days));
    let recent = now - chrono::Duration::days(PROCESSED_UPDATES_KEEP_DAYS);
    let mut total = prune_messages(app, cutoff).await?;
    let statements = [
        (
            "tickets",
            "DELETE FROM tickets WHERE id IN (SELECT id FROM tickets WHERE status = 'CLOSED' AND closed_at < $1 ORDER BY id LIMIT $2)",
            cutoff,
        ),
        (
            "outbox",
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status <> 'pending' AND created_at < $1 ORDER BY id LIMIT $2)",
            recent,
        ),
        (
            "processed_updates",
            "DELETE FROM processed_updates WHERE update_id IN (SELECT update_id FROM processed_updates WHERE processed_at < $1 LIMIT $2)",
            recent,
        ),
    ];
    let client = app.db.get().await?;
    for (table, sql, before) in statements {
        let statement = client.prepare(sql).await?;
        for _ in 0..MAX_BATCHES {
            let n = client.execute(&statement, &[&before, &BATCH]).await?;
            total += n;
            if n < BATCH as u64 {
                break;
            }
        }
        tracing::debug!(table, "retention pass done");
    }
    Ok(total)
}

/// Deletes old messages a batch at a time, their archived media objects first: an object is deleted only when no
/// younger attachment shares it (archives are deduplicated by file). A storage failure stops the job before the
/// rows go, so nothing is orphaned and the next run tries again.
async fn prune_messages(app: &App, cutoff: DateTime<Utc>) -> anyhow::Result<u64> {
    let client = app.db.get().await?;
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let ids: Vec<i64> = client
            .query("SELECT id FROM ticket_messages WHERE created_at < $1 ORDER BY id LIMIT $2", &[&cutoff, &BATCH])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if ids.is_empty() {
            break;
        }
        let keys = client
            .query(
                "SELECT DISTINCT a.storage_key FROM message_attachments a \
                 WHERE a.message_id = ANY($1) AND a.storage_key IS NOT NULL AND NOT EXISTS ( \
                   SELECT 1 FROM message_attachments b WHERE b.storage_key = a.storage_key AND b.message_id <> ALL($1))",
                &[&ids],
            )
            .await?;
        for row in keys {
            let key: String = row.get(0);
            app.media.delete(&key).await?;
        }
        total += client.execute("DELETE FROM ticket_messages WHERE id = ANY($1)", &[&ids]).await?;
        if (ids.len() as i64) < BATCH {
            break;
        }
    }
    Ok(total)
}
