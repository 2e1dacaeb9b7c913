//! Archiving: after a dialog message is delivered, its file is fetched from Telegram (getFile, download) and put
//! in the media store under a stable key. Never on the delivery path; retried with backoff; deduplicated by
//! `file_unique_id`; files over the Bot API's 20 MB download limit are skipped with the reason recorded.
//! Adopting a stored copy and uploading keep the rule of [`super::LOCK_KEY`], so retention never deletes an
//! object that a row is about to name.

use chrono::{DateTime, Utc};

use super::{LOCK_KEY, QUEUE_IF_UNREFERENCED, content_type, extension, object_key};
use crate::app::App;
use crate::config::DEFAULT_TELEGRAM_API_URL;
use crate::db::{Params, Sql, Tx};
use crate::telegram::TelegramError;

/// Telegram's cloud Bot API serves files up to 20 MB to bots.
pub const TELEGRAM_DOWNLOAD_LIMIT: u64 = 20 * 1024 * 1024;
/// A self-hosted telegram-bot-api serves files up to 2000 MB.
pub const SELF_HOSTED_DOWNLOAD_LIMIT: u64 = 2000 * 1024 * 1024;
/// After this many failed attempts an attachment is marked failed.
const MAX_ATTEMPTS: i32 = 8;
const BATCH: i64 = 50;

/// What happened to one attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// An already stored copy was adopted; the row was marked in the same transaction.
    Adopted,
    /// Uploaded under `key`, which the row already names: to be marked stored.
    Stored {
        key: String,
        size: u64,
    },
    /// The row went meanwhile (retention deleted its message): nothing to record.
    Gone,
    Skipped(String),
    Retry(String),
    Failed(String),
}

struct Pending {
    id: i64,
    kind: String,
    file_id: String,
    file_unique_id: String,
    mime: Option<String>,
    size: Option<i64>,
    file_name: Option<String>,
    attempts: i32,
    ticket_id: i64,
    created_at: DateTime<Utc>,
}

/// Archives the attachments of these dialog messages (right after their update was delivered).
pub async fn archive_messages(app: &App, message_ids: &[i64]) -> anyhow::Result<u64> {
    if message_ids.is_empty() {
        return Ok(0);
    }
    archive(app, Some(message_ids)).await
}

/// Archives every pending attachment whose retry time has come (the maintenance job); returns how many it handled.
pub async fn archive_due(app: &App) -> anyhow::Result<u64> {
    archive(app, None).await
}

async fn archive(app: &App, message_ids: Option<&[i64]>) -> anyhow::Result<u64> {
    let mut handled = 0;
    for pending in lease(app, message_ids).await? {
        let outcome = archive_one(app, &pending).await;
        record(app, &pending, &outcome).await?;
        handled += 1;
    }
    Ok(handled)
}

/// Takes a five-minute lease on due pending attachments, so two archivers never work on the same one.
async fn lease(app: &App, message_ids: Option<&[i64]>) -> anyhow::Result<Vec<Pending>> {
    let client = app.db.get().await?;
    let rows = client
        .query(
            "UPDATE message_attachments a SET archive_not_before = now() + interval '5 minutes' \
             FROM ticket_messages m \
             WHERE a.id IN (SELECT id FROM message_attachments WHERE archive_status = 'pending' \
                              AND archive_not_before <= now() AND ($1::bigint[] IS NULL OR message_id = ANY($1)) \
                            ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
               AND m.id = a.message_id \
             RETURNING a.id, a.kind, a.file_id, a.file_unique_id, a.mime_type, a.size, a.file_name, a.archive_attempts, \
                       m.ticket_id, m.created_at",
            &[&message_ids, &BATCH],
        )
        .await?;
    let mut pending: Vec<Pending> = rows
        .iter()
        .map(|r| Pending {
            id: r.get(0),
            kind: r.get(1),
            file_id: r.get(2),
            file_unique_id: r.get(3),
            mime: r.get(4),
            size: r.get(5),
            file_name: r.get(6),
            attempts: r.get(7),
            ticket_id: r.get(8),
            created_at: r.get(9),
        })
        .collect();
    pending.sort_by_key(|p| p.id);
    Ok(pending)
}

async fn archive_one(app: &App, p: &Pending) -> Outcome {
    if !app.media.is_enabled() {
        return Outcome::Skipped("MEDIA_BACKEND=off".into());
    }
    match adopt(app, p).await {
        Ok(Some(outcome)) => return outcome,
        Ok(None) => {}
        Err(e) => return Outcome::Retry(format!("database: {e}")),
    }
    let cloud = app.config.telegram_api_url == DEFAULT_TELEGRAM_API_URL;
    let limit = if cloud { TELEGRAM_DOWNLOAD_LIMIT } else { SELF_HOSTED_DOWNLOAD_LIMIT };
    let too_big = || Outcome::Skipped(format!("larger than the Bot API's {} MB download limit", limit / (1024 * 1024)));
    if p.size.is_some_and(|s| s as u64 > limit) {
        return too_big();
    }
    let file = match app.telegram.get_file(&p.file_id).await {
        Ok(file) => file,
        Err(TelegramError::Api { description, .. }) if description.contains("too big") => return too_big(),
        Err(e) if e.is_transient() => return Outcome::Retry(e.to_string()),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if file.file_size.is_some_and(|s| s > limit) {
        return too_big();
    }
    let Some(path) = file.file_path.as_deref() else {
        return Outcome::Failed("getFile gave no file_path".into());
    };
    let bytes = match app.telegram.download_file(path, limit).await {
        Ok(bytes) => bytes,
        Err(e) if e.is_transient() => return Outcome::Retry(e.to_string()),
        Err(TelegramError::Api { code: 413, .. }) => return too_big(),
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let ext = extension(p.file_name.as_deref(), Some(path), p.mime.as_deref(), &p.kind);
    let key = object_key(p.created_at, p.ticket_id, &p.file_unique_id, &ext);
    let size = bytes.len() as u64;
    match name_key(app, p.id, &key).await {
        Ok(true) => {}
        Ok(false) => return Outcome::Gone,
        Err(e) => return Outcome::Retry(format!("database: {e}")),
    }
    match app.media.put(&key, bytes, &content_type(p.mime.as_deref(), &p.kind)).await {
        Ok(()) => Outcome::Stored { key, size },
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// A stored copy of the same file: its key.
const FIND_STORED: &str = "SELECT storage_key FROM message_attachments \
     WHERE file_unique_id = $1 AND archive_status = 'stored' AND storage_key IS NOT NULL LIMIT 1";
/// Run after [`LOCK_KEY`] (a statement of its own, so it sees whatever a deleter committed before letting the lock
/// go): marks the leased, pending row `$1` stored under key `$2` if a stored row still names that key (so its object
/// exists). A key the row named before (an earlier attempt) is queued for deletion. Returns the rows marked.
const MARK_ADOPTED: &str = "WITH old AS (SELECT id, storage_key FROM message_attachments WHERE id = $1 FOR UPDATE), \
       src AS (SELECT coalesce(size, 0) AS size FROM message_attachments \
               WHERE storage_key = $2 AND archive_status = 'stored' LIMIT 1), \
       up AS (UPDATE message_attachments a SET archive_status = 'stored', storage_key = $2, archived_at = now(), \
                size = coalesce(a.size, src.size), archive_error = NULL, archive_attempts = a.archive_attempts + 1 \
              FROM old, src WHERE a.id = old.id AND a.archive_status = 'pending' \
              RETURNING old.storage_key AS previous), \
       queued AS (INSERT INTO media_deletions (storage_key) SELECT previous FROM up \
                  WHERE previous IS NOT NULL AND previous <> $2 \
                  ON CONFLICT (storage_key) \
                  DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at) RETURNING 1) \
     SELECT count(*) FROM up";
/// Run after [`LOCK_KEY`]: names key `$2` on the leased, pending row `$1` before the upload. A key the row named
/// before is queued for deletion. Returns the rows named (0: the row is gone).
const NAME_KEY: &str = "WITH old AS (SELECT id, storage_key FROM message_attachments WHERE id = $1 FOR UPDATE), \
       up AS (UPDATE message_attachments a SET storage_key = $2 \
              FROM old WHERE a.id = old.id AND a.archive_status = 'pending' RETURNING old.storage_key AS previous), \
       queued AS (INSERT INTO media_deletions (storage_key) SELECT previous FROM up \
                  WHERE previous IS NOT NULL AND previous <> $2 \
                  ON CONFLICT (storage_key) \
                  DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at) RETURNING 1) \
     SELECT count(*) FROM up";

/// Adopts the key of an already stored copy of the same file, when one is still there: `None` means upload.
async fn adopt(app: &App, p: &Pending) -> anyhow::Result<Option<Outcome>> {
    let tx = Tx::begin(&app.db).await?;
    let Some(found) = tx.query_opt(FIND_STORED, &[&p.file_unique_id]).await? else {
        tx.rollback().await;
        return Ok(None);
    };
    let key: String = found.get(0);
    let marked = locked_and_committed(&tx, &key, MARK_ADOPTED, p.id).await?;
    // Not marked: no stored row names the key any more (it is being deleted), or the row is gone (the upload path
    // finds that out).
    Ok((marked == 1).then_some(Outcome::Adopted))
}

/// Names `key` on the row before the upload, under the key's lock: from then on retention keeps the object, and a
/// deletion of that key already under way has finished. False when the row is gone.
async fn name_key(app: &App, id: i64, key: &str) -> anyhow::Result<bool> {
    let tx = Tx::begin(&app.db).await?;
    Ok(locked_and_committed(&tx, key, NAME_KEY, id).await? == 1)
}

/// Takes the key's lock, runs `statement` (`$1` the attachment, `$2` the key; it returns a count) and commits, in
/// one round trip (with BEGIN, if the transaction has not begun): the statements are sent in order, and each
/// starts after the one before it has finished.
async fn locked_and_committed(tx: &Tx, key: &str, statement: &str, id: i64) -> Result<i64, tokio_postgres::Error> {
    tx.prepare_all(&[LOCK_KEY, statement]).await?;
    let key = key.to_owned();
    let (lock_params, params): (Params<'_>, Params<'_>) = (&[&key], &[&id, &key]);
    tx.commit_after(async {
        let (locked, counted) =
            tokio::join!(tx.execute(LOCK_KEY, lock_params), tx.client().query_one(statement, params));
        locked?;
        Ok(counted?.get(0))
    })
    .await
}

/// Records an attempt that stored nothing: the status, the reason and (for a retry) when to try again. A key the
/// row named for an upload that failed is let go and queued in the same statement: a partial object may exist, and
/// retention deletes it unless a row names the key again by then.
const RECORD_NOT_STORED: &str = "\
     WITH old AS (SELECT id, storage_key FROM message_attachments WHERE id = $1 FOR UPDATE), \
       up AS (UPDATE message_attachments a SET archive_status = $2, archive_error = $3, storage_key = NULL, \
                archive_attempts = a.archive_attempts + 1, \
                archive_not_before = coalesce(now() + make_interval(secs => $4::float8), a.archive_not_before) \
              FROM old WHERE a.id = old.id RETURNING old.storage_key AS key) \
     INSERT INTO media_deletions (storage_key) SELECT key FROM up WHERE key IS NOT NULL \
     ON CONFLICT (storage_key) DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at)";

async fn record(app: &App, p: &Pending, outcome: &Outcome) -> anyhow::Result<()> {
    let client = app.db.get().await?;
    match outcome {
        Outcome::Adopted => {}
        Outcome::Gone => tracing::debug!(attachment = p.id, "attachment deleted while it was archived"),
        Outcome::Stored { key, size } => {
            let size = *size as i64;
            let marked = client
                .execute(
                    "UPDATE message_attachments SET archive_status = 'stored', archived_at = now(), \
                       size = coalesce(size, $3), archive_error = NULL, archive_attempts = archive_attempts + 1 \
                     WHERE id = $1 AND storage_key = $2",
                    &[&p.id, key, &size],
                )
                .await?;
            if marked == 0 {
                // The row went while the upload ran: the object may have no row left.
                client.execute(QUEUE_IF_UNREFERENCED, &[&vec![key.clone()]]).await?;
            }
        }
        Outcome::Skipped(reason) | Outcome::Failed(reason) => {
            let status = if matches!(outcome, Outcome::Skipped(_)) { "skipped" } else { "failed" };
            tracing::info!(attachment = p.id, status, reason = %reason, "attachment not archived");
            client.execute(RECORD_NOT_STORED, &[&p.id, &status, reason, &None::<f64>]).await?;
        }
        Outcome::Retry(reason) if p.attempts + 1 >= MAX_ATTEMPTS => {
            tracing::warn!(attachment = p.id, reason = %reason, "attachment archive given up");
            client.execute(RECORD_NOT_STORED, &[&p.id, &"failed", reason, &None::<f64>]).await?;
        }
        Outcome::Retry(reason) => {
            let wait_s = 60.0 * 2f64.powi(p.attempts.clamp(0, 10));
            tracing::warn!(attachment = p.id, reason = %reason, retry_in_s = wait_s, "attachment archive will be retried");
            client.execute(RECORD_NOT_STORED, &[&p.id, &"pending", reason, &Some(wait_s)]).await?;
        }
    }
    Ok(())
}
