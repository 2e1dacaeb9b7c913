//! `zabota export`: tickets opened in a period, one JSON line each (see [`super::TicketRecord`]), streamed from
//! PostgreSQL to a writer row by row, so a history of any size takes constant memory.

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, pin_mut};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::db::{DbError, Pool, Sql};

/// What to export: tickets opened in `[since, until)`, or only ticket `ticket` among them.
#[derive(Clone, Copy, Debug)]
pub struct ExportRange {
    /// From (inclusive).
    pub since: DateTime<Utc>,
    /// To (exclusive).
    pub until: DateTime<Utc>,
    /// Just this ticket.
    pub ticket: Option<i64>,
}

/// Export failed: the database, or the writer.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Writing.
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes every ticket of `range` to `out` as a JSON line; returns how many.
pub async fn export(pool: &Pool, range: ExportRange, out: &mut (impl AsyncWrite + Unpin)) -> Result<u64, ExportError> {
    let client = pool.get().await.map_err(DbError::from)?;
    let statement = client.prepare(crate::db::history::EXPORT).await.map_err(DbError::from)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&range.since, &range.until, &range.ticket];
    let rows = client.query_raw(&statement, params).await.map_err(DbError::from)?;
    pin_mut!(rows);
    let mut written = 0;
    while let Some(row) = rows.next().await {
        let line: String = row.map_err(DbError::from)?.try_get(1).map_err(DbError::from)?;
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        written += 1;
    }
    out.flush().await?;
    Ok(written)
}
