//! `processed_updates`: the record that makes each Telegram update take effect once.

use tokio_postgres::GenericClient;

/// Records `update_id` inside the caller's transaction. Returns false when it was already processed:
/// the caller must then do nothing at all (Telegram redelivered it).
pub async fn record_update(db: &impl GenericClient, update_id: i64, kind: &str) -> Result<bool, tokio_postgres::Error> {
    let inserted = db
        .execute(
            "INSERT INTO processed_updates (update_id, kind) VALUES ($1, $2) ON CONFLICT (update_id) DO NOTHING",
            &[&update_id, &kind],
        )
        .await?;
    Ok(inserted == 1)
}

/// Deletes records older than `keep_days`; returns how many were deleted.
pub async fn prune_processed_updates(db: &impl GenericClient, keep_days: i32) -> Result<u64, tokio_postgres::Error> {
    db.execute("DELETE FROM processed_updates WHERE processed_at < now() - make_interval(days => $1)", &[&keep_days])
        .await
}
