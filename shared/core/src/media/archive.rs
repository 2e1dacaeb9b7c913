//! Archiving: after a dialog message is delivered, its file is fetched from Telegram (getFile, download) and put
//! in the media store under a stable key. Never on the delivery path; retried with backoff; deduplicated by
//! `file_unique_id`; files over the Bot API's 20 MB download limit are skipped with the reason recorded.
//! Adopting a stored copy and uploading keep the rule of [`crate::db::media::LOCK_KEY`], so retention never deletes an
//! object that a row is about to name.

use super::{content_type, extension, object_key};
use crate::app::App;
use crate::config::DEFAULT_TELEGRAM_API_URL;
use crate::db::Tx;
use crate::db::media::{self, Leased};
use crate::domain::ArchiveStatus;
use crate::telegram::TelegramError;

/// Telegram's cloud Bot API serves files up to 20 MB to bots.
pub(crate) const TELEGRAM_DOWNLOAD_LIMIT: u64 = 20 * 1024 * 1024;
/// A self-hosted telegram-bot-api serves files up to 2000 MB.
pub(crate) const SELF_HOSTED_DOWNLOAD_LIMIT: u64 = 2000 * 1024 * 1024;
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

/// Archives the attachments of these dialog messages (right after their update was delivered).
pub(crate) async fn archive_messages(app: &App, message_ids: &[i64]) -> anyhow::Result<u64> {
    if message_ids.is_empty() {
        return Ok(0);
    }
    archive(app, Some(message_ids)).await
}

/// Archives every pending attachment whose retry time has come (the maintenance job); returns how many it handled.
pub(crate) async fn archive_due(app: &App) -> anyhow::Result<u64> {
    archive(app, None).await
}

async fn archive(app: &App, message_ids: Option<&[i64]>) -> anyhow::Result<u64> {
    let mut handled = 0;
    let (leased, unreadable) = {
        let client = app.db.get().await?;
        let (leased, unreadable) = media::lease(&client, message_ids, BATCH).await?;
        for (id, reason) in &unreadable {
            tracing::error!(attachment = id, reason = %reason, "attachment row not understood; marked failed");
            media::record_not_stored(&client, *id, ArchiveStatus::Failed, reason, None).await?;
        }
        (leased, unreadable.len() as u64)
    };
    handled += unreadable;
    for pending in leased {
        let outcome = archive_one(app, &pending).await;
        record(app, &pending, &outcome).await?;
        handled += 1;
    }
    Ok(handled)
}

async fn archive_one(app: &App, p: &Leased) -> Outcome {
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
    let ext = extension(p.file_name.as_deref(), Some(path), p.mime.as_deref(), p.kind);
    let key = object_key(p.created_at, p.ticket_id, &p.file_unique_id, &ext);
    let size = bytes.len() as u64;
    match name_key(app, p.id, &key).await {
        Ok(true) => {}
        Ok(false) => return Outcome::Gone,
        Err(e) => return Outcome::Retry(format!("database: {e}")),
    }
    match app.media.put(&key, bytes, &content_type(p.mime.as_deref(), p.kind)).await {
        Ok(()) => Outcome::Stored { key, size },
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Adopts the key of an already stored copy of the same file, when one is still there: `None` means upload.
async fn adopt(app: &App, p: &Leased) -> anyhow::Result<Option<Outcome>> {
    let tx = Tx::begin(&app.db).await?;
    let Some(key) = media::find_stored(&tx, &p.file_unique_id).await? else {
        tx.rollback().await;
        return Ok(None);
    };
    // Not adopted: no stored row names the key any more (it is being deleted), or the row is gone (the upload path
    // finds that out).
    Ok(media::adopt_and_commit(&tx, p.id, &key).await?.then_some(Outcome::Adopted))
}

/// Names `key` on the row before the upload (see [`media::name_key_and_commit`]). False when the row is gone.
async fn name_key(app: &App, id: i64, key: &str) -> anyhow::Result<bool> {
    let tx = Tx::begin(&app.db).await?;
    Ok(media::name_key_and_commit(&tx, id, key).await?)
}

async fn record(app: &App, p: &Leased, outcome: &Outcome) -> anyhow::Result<()> {
    let client = app.db.get().await?;
    match outcome {
        Outcome::Adopted => {}
        Outcome::Gone => tracing::debug!(attachment = p.id, "attachment deleted while it was archived"),
        Outcome::Stored { key, size } => {
            if !media::mark_stored(&client, p.id, key, *size as i64).await? {
                // The row went while the upload ran: the object may have no row left.
                media::queue_if_unreferenced(&client, std::slice::from_ref(key)).await?;
            }
        }
        Outcome::Skipped(reason) | Outcome::Failed(reason) => {
            let status =
                if matches!(outcome, Outcome::Skipped(_)) { ArchiveStatus::Skipped } else { ArchiveStatus::Failed };
            tracing::info!(attachment = p.id, %status, reason = %reason, "attachment not archived");
            media::record_not_stored(&client, p.id, status, reason, None).await?;
        }
        Outcome::Retry(reason) if p.attempts + 1 >= MAX_ATTEMPTS => {
            tracing::warn!(attachment = p.id, reason = %reason, "attachment archive given up");
            media::record_not_stored(&client, p.id, ArchiveStatus::Failed, reason, None).await?;
        }
        Outcome::Retry(reason) => {
            let wait_s = 60.0 * 2f64.powi(p.attempts.clamp(0, 10));
            tracing::warn!(attachment = p.id, reason = %reason, retry_in_s = wait_s, "attachment archive will be retried");
            media::record_not_stored(&client, p.id, ArchiveStatus::Pending, reason, Some(wait_s)).await?;
        }
    }
    Ok(())
}
