//! Files: registration by tests, getFile with Telegram's 20 MB limit, and downloads.

use serde_json::{Value, json};

use super::methods::str_param;
use super::state::{Shared, StoredFile};
use super::types::{ApiError, Reply};

/// The largest file the Bot API lets a bot download: 20 MB.
pub const MAX_DOWNLOAD_BYTES: u64 = 20 * 1024 * 1024;

/// Registers a file and returns its file_path; `bytes` is `None` for a file known by size only.
pub(crate) fn register(
    shared: &Shared,
    file_id: &str,
    file_unique_id: &str,
    size: u64,
    bytes: Option<Vec<u8>>,
) -> String {
    let mut state = shared.lock();
    state.file_count += 1;
    let (folder, extension) = bytes.as_deref().map_or(("documents", ""), kind_of);
    let file_path = format!("{folder}/file_{}{extension}", state.file_count);
    let file = StoredFile { file_unique_id: file_unique_id.to_owned(), file_path: file_path.clone(), size, bytes };
    state.files.insert(file_id.to_owned(), file);
    file_path
}

/// getFile.
pub(crate) fn get_file(shared: &Shared, params: &Value) -> Reply {
    let file_id = str_param(params, "file_id").unwrap_or_default();
    let state = shared.lock();
    let Some(file) = state.files.get(&file_id) else {
        return Err(ApiError::bad_request("invalid file_id"));
    };
    if file.size > state.download_limit {
        return Err(ApiError::bad_request("file is too big"));
    }
    Ok(json!({
        "file_id": file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.size,
        "file_path": file.file_path,
    }))
}

/// The bytes behind `file_path`, if a downloadable file has that path.
pub(crate) fn content(shared: &Shared, file_path: &str) -> Option<Vec<u8>> {
    let state = shared.lock();
    let file = state.files.values().find(|f| f.file_path == file_path && f.size <= state.download_limit)?;
    Some(file.bytes.clone().unwrap_or_else(|| vec![0; usize::try_from(file.size).unwrap_or(0)]))
}

/// Telegram's folder and extension for content that starts like `bytes`.
fn kind_of(bytes: &[u8]) -> (&'static str, &'static str) {
    const SIGNATURES: [(&[u8], &str, &str); 6] = [
        (b"%PDF", "documents", ".pdf"),
        (b"\xFF\xD8\xFF", "photos", ".jpg"),
        (b"\x89PNG", "photos", ".png"),
        (b"OggS", "voice", ".oga"),
        (b"PK\x03\x04", "documents", ".zip"),
        (b"GIF8", "animations", ".gif"),
    ];
    SIGNATURES
        .iter()
        .find(|(magic, _, _)| bytes.starts_with(magic))
        .map_or(("documents", ""), |(_, folder, extension)| (folder, extension))
}

/// Largest photo Telegram takes as an upload (10 MB), and largest other file (50 MB).
const PHOTO_UPLOAD_MAX: usize = 10 * 1024 * 1024;
const FILE_UPLOAD_MAX: usize = 50 * 1024 * 1024;

/// Telegram's checks of an uploaded file: not empty, within the upload limits and, for a photo, an image whose
/// width and height add up to at most 10000 with a ratio of at most 20. Answers a photo's dimensions.
pub(crate) fn check_upload(kind: &str, bytes: &[u8]) -> Result<Option<(u32, u32)>, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("file must be non-empty"));
    }
    let max = if kind == "photo" { PHOTO_UPLOAD_MAX } else { FILE_UPLOAD_MAX };
    if bytes.len() > max {
        return Err(ApiError::new(413, "Request Entity Too Large"));
    }
    if kind != "photo" {
        return Ok(None);
    }
    let Some((width, height)) = image_size(bytes) else {
        return Err(ApiError::bad_request("IMAGE_PROCESS_FAILED"));
    };
    let (long, short) = (width.max(height), width.min(height).max(1));
    // In u64: a crafted header's dimensions must not overflow; the ratio compared exactly (20.5:1 is refused too).
    let (long, short) = (u64::from(long), u64::from(short));
    if width == 0 || height == 0 || u64::from(width) + u64::from(height) > 10_000 || long > 20 * short {
        return Err(ApiError::bad_request("PHOTO_INVALID_DIMENSIONS"));
    }
    Ok(Some((width, height)))
}

/// Width and height of a PNG (its IHDR) or a JPEG (its first start-of-frame).
fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let be16 = |at: usize| Some(u32::from(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?)));
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    while at + 9 < bytes.len() {
        if bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        if matches!(marker, 0xC0..=0xC3) {
            return Some((be16(at + 7)?, be16(at + 5)?));
        }
        at += 2 + usize::try_from(be16(at + 2)?).ok()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check_upload;

    /// A PNG's signature and IHDR with these dimensions (all a dimension check reads).
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 2, 0, 0, 0]);
        bytes
    }

    fn refused(width: u32, height: u32) -> bool {
        check_upload("photo", &png(width, height)).is_err()
    }

    #[test]
    fn photo_dimensions_are_checked_as_telegram_does() {
        assert_eq!(check_upload("photo", &png(1200, 800)).ok().flatten(), Some((1200, 800)));
        assert!(!refused(2000, 100), "20:1 is allowed");
        assert!(refused(41, 2), "20.5:1 is not");
        assert!(refused(6000, 4001), "width and height add up to over 10000");
        assert!(refused(u32::MAX, u32::MAX), "a crafted header does not overflow");
        assert!(refused(0, 10));
        assert!(check_upload("document", &png(u32::MAX, 1)).is_ok(), "documents are not images");
    }
}
