//! Update processing: one entry point, `process`, that every shell (Lambda, local server, polling) calls.

use crate::app::App;
use crate::db::{DbError, updates};
use crate::telegram::Update;

/// What processing an update did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The update took effect.
    Processed,
    /// Telegram redelivered an update that had already taken effect; nothing was done.
    Duplicate,
    /// An update kind we do not handle; nothing was stored.
    Ignored,
}

/// Why an update could not be processed. Every variant is transient from Telegram's point of view:
/// nothing was committed, so the update must be delivered again (webhook 500, polling offset not confirmed).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for ProcessError {
    fn from(e: tokio_postgres::Error) -> Self {
        ProcessError::Db(DbError::Postgres(e))
    }
}

impl From<deadpool_postgres::PoolError> for ProcessError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ProcessError::Db(DbError::Pool(e))
    }
}

/// Processes one update: records its id (duplicates stop here) and applies its effects in one transaction.
pub async fn process(app: &App, update: &Update) -> Result<Outcome, ProcessError> {
    let kind = update.kind();
    if kind == "other" {
        tracing::info!(update_id = update.update_id, "update of a kind we do not handle, ignored");
        return Ok(Outcome::Ignored);
    }
    let mut client = app.db.get().await?;
    let tx = client.transaction().await?;
    if !updates::record_update(&*tx, update.update_id, kind).await? {
        tracing::info!(update_id = update.update_id, kind, "redelivered update, already processed");
        return Ok(Outcome::Duplicate);
    }
    tracing::info!(update_id = update.update_id, kind, "update processed");
    tx.commit().await?;
    Ok(Outcome::Processed)
}
