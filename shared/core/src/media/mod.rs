//! Media bytes live outside the database: an S3 bucket or a local folder behind one narrow interface
//! (put, get, delete by key). The database keeps keys and metadata only.

pub mod archive;
mod fs;
mod s3;

pub use fs::FsMediaStore;
pub use s3::S3MediaStore;

use bytes::Bytes;

use crate::config::MediaBackend;

/// A media storage failure. Never contains file contents.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The local folder failed.
    #[error("media folder: {0}")]
    Io(#[from] std::io::Error),
    /// S3 failed.
    #[error("S3: {0}")]
    S3(String),
    /// The object does not exist.
    #[error("no object at {0}")]
    NotFound(String),
}

/// Where archived media goes.
#[derive(Clone, Debug)]
pub enum MediaStore {
    /// An S3 bucket (or an S3-compatible server).
    S3(S3MediaStore),
    /// A local folder.
    Fs(FsMediaStore),
    /// Not kept: metadata only.
    Off,
}

impl MediaStore {
    /// Builds the store `MEDIA_BACKEND` asks for. S3 takes region and credentials from the standard AWS chain.
    pub async fn from_config(backend: &MediaBackend) -> MediaStore {
        match backend {
            MediaBackend::S3 { bucket, endpoint } => {
                MediaStore::S3(S3MediaStore::from_env(bucket, endpoint.as_deref()).await)
            }
            MediaBackend::Fs { root } => MediaStore::Fs(FsMediaStore::new(root.clone())),
            MediaBackend::Off => MediaStore::Off,
        }
    }

    /// True when bytes are kept.
    pub fn is_enabled(&self) -> bool {
        !matches!(self, MediaStore::Off)
    }

    /// Stores `bytes` under `key` with its content type.
    pub async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), MediaError> {
        match self {
            MediaStore::S3(s3) => s3.put(key, bytes, content_type).await,
            MediaStore::Fs(fs) => fs.put(key, bytes).await,
            MediaStore::Off => Ok(()),
        }
    }

    /// Reads the object at `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, MediaError> {
        match self {
            MediaStore::S3(s3) => s3.get(key).await,
            MediaStore::Fs(fs) => fs.get(key).await,
            MediaStore::Off => Err(MediaError::NotFound(key.to_owned())),
        }
    }

    /// Deletes the object at `key`; deleting a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match self {
            MediaStore::S3(s3) => s3.delete(key).await,
            MediaStore::Fs(fs) => fs.delete(key).await,
            MediaStore::Off => Ok(()),
        }
    }
}

/// Serializes, per storage key, whatever could make an object and a row that names it disagree: adopting or
/// uploading a key (the archiver) and deleting its object (retention). Held until the transaction ends.
///
/// The rule both sides keep: an object lives as long as the youngest `message_attachments` row naming it
/// (`storage_key`, any status: a pending row with a key is an upload in flight). The archiver names a key on its
/// row under this lock *before* it uploads, and adopts a stored key only after re-checking under it that a stored
/// row still names it. Retention, when it deletes the last row naming a key, queues the key in
/// `media_deletions` ([`QUEUE_IF_UNREFERENCED`]); the object is deleted later under this lock, after a re-check.
pub(crate) const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended('media:' || $1::text, 0))";

/// Queues for deletion those of the keys `$1` (a text array) that no attachment row names. Run it in a statement
/// *after* the one that removed the rows, so that it sees rows committed meanwhile (READ COMMITTED). A key already
/// queued is left queued; if a deleter holds it right now this waits, and queues it again when it was removed.
pub(crate) const QUEUE_IF_UNREFERENCED: &str = "INSERT INTO media_deletions (storage_key) \
     SELECT DISTINCT k FROM unnest($1::text[]) AS k \
     WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.storage_key = k) \
     ON CONFLICT (storage_key) DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at)";

/// The stable key of an archived file: `media/<yyyy>/<mm>/<ticket>/<file_unique_id>.<ext>`.
pub fn object_key(created: chrono::DateTime<chrono::Utc>, ticket_id: i64, file_unique_id: &str, ext: &str) -> String {
    let safe: String = file_unique_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    format!("media/{}/{ticket_id}/{safe}.{ext}", created.format("%Y/%m"))
}

/// A file extension from the original name, the file path Telegram gave, or the MIME type; `bin` otherwise.
pub fn extension(file_name: Option<&str>, file_path: Option<&str>, mime: Option<&str>, kind: &str) -> String {
    let from_name = |name: &str| {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        (!ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric())).then_some(ext)
    };
    if let Some(ext) = file_name.and_then(from_name).or_else(|| file_path.and_then(from_name)) {
        return ext;
    }
    let by_mime = match mime.unwrap_or_default() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "application/pdf" => "pdf",
        _ => match kind {
            "photo" => "jpg",
            "voice" => "ogg",
            "video" | "video_note" | "animation" => "mp4",
            "sticker" => "webp",
            _ => "bin",
        },
    };
    by_mime.to_owned()
}

/// The content type to store: the sender's, or one implied by the kind.
pub fn content_type(mime: Option<&str>, kind: &str) -> String {
    match mime {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => match kind {
            "photo" => "image/jpeg",
            "voice" => "audio/ogg",
            "video" | "video_note" | "animation" => "video/mp4",
            "sticker" => "image/webp",
            _ => "application/octet-stream",
        }
        .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_safe() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-05T10:00:00Z").map(|d| d.to_utc()).unwrap_or_default();
        assert_eq!(object_key(at, 42, "AgAD/../x", "pdf"), "media/2026/03/42/AgAD..x.pdf".replace("..", ""));
        assert_eq!(extension(Some("Чек.PDF"), None, None, "document"), "pdf");
        assert_eq!(extension(None, Some("photos/file_1.jpg"), None, "photo"), "jpg");
        assert_eq!(extension(None, None, Some("audio/ogg"), "voice"), "ogg");
        assert_eq!(extension(Some("noext"), None, None, "document"), "bin");
        assert_eq!(content_type(None, "photo"), "image/jpeg");
    }
}
