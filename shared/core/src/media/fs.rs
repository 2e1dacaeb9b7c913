//! A local folder as the media store (`MEDIA_ROOT`, the default for `make run`).

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;

use super::MediaError;

/// Files under a root folder, one per key.
#[derive(Clone, Debug)]
pub struct FsMediaStore {
    root: PathBuf,
}

impl FsMediaStore {
    /// A store under `root` (created on first write).
    pub fn new(root: PathBuf) -> Self {
        FsMediaStore { root }
    }

    /// Keys are relative paths; anything that could leave the root is refused.
    fn path(&self, key: &str) -> Result<PathBuf, MediaError> {
        let relative = Path::new(key);
        if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(MediaError::NotFound(key.to_owned()));
        }
        Ok(self.root.join(relative))
    }

    /// Writes atomically (a temporary file renamed into place).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), MediaError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let tmp = path.with_extension("part");
        tokio::fs::write(&tmp, &bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    /// Reads a file.
    pub async fn get(&self, key: &str) -> Result<Bytes, MediaError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(MediaError::NotFound(key.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a file; a missing one is fine.
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
