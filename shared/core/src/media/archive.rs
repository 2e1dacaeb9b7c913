//! Archiving: after a dialog message is delivered, its file is fetched from Telegram (getFile, download) and put
//! in the media store under a stable key. Never on the delivery path; retried with backoff; deduplicated by
//! `file_unique_id`; files over the Bot API's 20 MB download limit are skipped with the reason recorded.

use chrono::{DateTime, Utc};

use super::{content_type, extension, object_key};
use crate::app::App;
use crate::config::DEFAULT_TELEGRAM_API_URL;
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
    Stored { key: String, size: u64 },
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
    match already_stored(app, &p.file_unique_id).await {
        Ok(Some((key, size))) => return Outcome::Stored { key, size },
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
    match app.media.put(&key, bytes, &content_type(p.mime.as_deref(), &p.kind)).await {
        Ok(()) => Outcome::Stored { key, size },
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

async fn already_stored(app: &App, file_unique_id: &str) -> anyhow::Result<Option<(String, u64)>> {
    let client = app.db.get().await?;
    let row = client
        .query_opt(
            "SELECT storage_key, coalesce(size, 0) FROM message_attachments \
             WHERE file_unique_id = $1 AND archive_status = 'stored' AND storage_key IS NOT NULL LIMIT 1",
            &[&file_unique_id],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get::<_, i64>(1) as u64)))
}

async fn record(app: &App, p: &Pending, outcome: &Outcome) -> anyhow::Result<()> {
    let client = app.db.get().await?;
    match outcome {
        Outcome::Stored { key, size } => {
            let size = *size as i64;
            client
                .execute(
                    "UPDATE message_attachments SET archive_status = 'stored', storage_key = $2, archived_at = now(), \
                       size = coalesce(size, $3), archive_error = NULL, archive_attempts = archive_attempts + 1 \
                     WHERE id = $1",
                    &[&p.id, key, &size],
                )
                .await?;
        }
        Outcome::Skipped(reason) | Outcome::Failed(reason) => {
            let status = if matches!(outcome, Outcome::Skipped(_)) { "skipped" } else { "failed" };
            tracing::info!(attachment = p.id, status, reason = %reason, "attachment not archived");
            client
                .execute(
                    "UPDATE message_attachments SET archive_status = $2, archive_error = $3, \
                       archive_attempts = archive_attempts + 1 WHERE id = $1",
                    &[&p.id, &status, reason],
                )
                .await?;
        }
        Outcome::Retry(reason) if p.attempts + 1 >= MAX_ATTEMPTS => {
            tracing::warn!(attachment = p.id, reason = %reason, "attachment archive given up");
            client
                .execute(
                    "UPDATE message_attachments SET archive_status = 'failed', archive_error = $2, \
                       archive_attempts = archive_attempts + 1 WHERE id = $1",
                    &[&p.id, reason],
                )
                .await?;
        }
        Outcome::Retry(reason) => {
            let wait_s = 60.0 * 2f64.powi(p.attempts.clamp(0, 10));
            tracing::warn!(attachment = p.id, reason = %reason, retry_in_s = wait_s, "attachment archive will be retried");
            client
                .execute(
                    "UPDATE message_attachments SET archive_error = $2, archive_attempts = archive_attempts + 1, \
                       archive_not_before = now() + make_interval(secs => $3) WHERE id = $1",
                    &[&p.id, reason, &wait_s],
                )
                .await?;
        }
    }
    Ok(())
}
