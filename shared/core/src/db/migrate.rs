//! The one migration runner (CLI, deploy step, tests): `migrations/` embedded at build time, each migration in
//! its own transaction, the whole run under an advisory lock so concurrent runners queue instead of clashing.

use super::DbError;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Advisory lock key held for the duration of a migration run ("zabota" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x7a61_626f_7461;

/// Applies every pending migration; returns the names of those applied by this run (empty when up to date).
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<Vec<String>, DbError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY]).await?;
    let result = embedded::migrations::runner().set_grouped(false).set_abort_divergent(true).run_async(client).await;
    // Release even when the run failed; a dropped connection releases it too.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]).await;
    let report = result.map_err(|e| DbError::Migration(e.to_string()))?;
    unlocked?;
    let applied: Vec<String> = report.applied_migrations().iter().map(|m| m.to_string()).collect();
    for name in &applied {
        tracing::info!(migration = %name, "migration applied");
    }
    Ok(applied)
}
