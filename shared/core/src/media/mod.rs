//! Media bytes live outside the database: an S3 bucket or a local folder behind one narrow interface
//! (put, get, delete by key). The database keeps keys and metadata only.

pub mod archive;
mod fs;
pub(crate) mod s3;

pub use fs::FsMediaStore;
pub use s3::S3MediaStore;

use bytes::Bytes;

use crate::config::MediaBackend;
use crate::domain::ContentKind;

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
    pub(crate) async fn from_config(backend: &MediaBackend) -> MediaStore {
        match backend {
            MediaBackend::S3 { bucket, endpoint } => {
                MediaStore::S3(S3MediaStore::from_env(bucket, endpoint.as_deref()).await)
            }
            MediaBackend::Fs { root } => MediaStore::Fs(FsMediaStore::new(root.clone())),
            MediaBackend::Off => MediaStore::Off,
        }
    }

    /// True when bytes are kept.
    pub(crate) fn is_enabled(&self) -> bool {
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

/// The stable key of an archived file: `media/<yyyy>/<mm>/<ticket>/<file_unique_id>.<ext>`.
pub(crate) fn object_key(
    created: chrono::DateTime<chrono::Utc>,
    ticket_id: i64,
    file_unique_id: &str,
    ext: &str,
) -> String {
    let safe: String = file_unique_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    format!("media/{}/{ticket_id}/{safe}.{ext}", created.format("%Y/%m"))
}

/// A file extension from the original name, the file path Telegram gave, or the MIME type; else the kind's.
pub fn extension(file_name: Option<&str>, file_path: Option<&str>, mime: Option<&str>, kind: ContentKind) -> String {
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
        _ => kind.default_extension(),
    };
    by_mime.to_owned()
}

/// The content type to store: the sender's, or one implied by the kind.
pub fn content_type(mime: Option<&str>, kind: ContentKind) -> String {
    match mime {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => kind.default_mime().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_safe() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-05T10:00:00Z").map(|d| d.to_utc()).unwrap_or_default();
        assert_eq!(object_key(at, 42, "AgAD/../x", "pdf"), "media/2026/03/42/AgAD..x.pdf".replace("..", ""));
        assert_eq!(extension(Some("Чек.PDF"), None, None, ContentKind::Document), "pdf");
        assert_eq!(extension(None, Some("photos/file_1.jpg"), None, ContentKind::Photo), "jpg");
        assert_eq!(extension(None, None, Some("audio/ogg"), ContentKind::Voice), "ogg");
        assert_eq!(extension(Some("noext"), None, None, ContentKind::Document), "bin");
        assert_eq!(content_type(None, ContentKind::Photo), "image/jpeg");
    }
}
