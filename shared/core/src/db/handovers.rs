//! `ticket_handovers`: every time a ticket left its operator without being closed.

use super::Sql;
use crate::domain::HandoverKind;

const RECORD: &str = "INSERT INTO ticket_handovers (ticket_id, kind, operator_tg_id, by_tg_id, comment) \
     VALUES ($1, $2, $3, $4, $5)";
/// Records that ticket `ticket_id` left `operator` (`kind`), handed over by `by` with `comment`.
pub(crate) async fn record(
    db: &impl Sql,
    ticket_id: i64,
    kind: HandoverKind,
    operator: i64,
    by: Option<i64>,
    comment: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    db.execute(RECORD, &[&ticket_id, &kind, &operator, &by, &comment]).await?;
    Ok(())
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[RECORD];
