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
