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
