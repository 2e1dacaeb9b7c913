//! `processed_updates`: the record that makes each Telegram update take effect once.

use super::Sql;

/// The statement of [`record_update`].
pub const RECORD: &str =
    "INSERT INTO processed_updates (update_id, kind) VALUES ($1, $2) ON CONFLICT (update_id) DO NOTHING";

/// Records `update_id` inside the caller's transaction. Returns false when it was already processed:
/// the caller must then do nothing at all (Telegram redelivered it).
pub async fn record_update(db: &impl Sql, update_id: i64, kind: &str) -> Result<bool, tokio_postgres::Error> {
    let inserted = db.execute(RECORD, &[&update_id, &kind]).await?;
    Ok(inserted == 1)
}
