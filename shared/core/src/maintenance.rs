//! Scheduled jobs: each runs on its own, a failing job is reported and the others still run.

use serde::Serialize;

use crate::app::App;
use crate::db::updates;

/// Processed update ids are kept this long: Telegram redelivers for at most about a day.
pub const PROCESSED_UPDATES_KEEP_DAYS: i32 = 7;

/// What one job did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct JobReport {
    /// Job name.
    pub job: &'static str,
    /// Rows or items affected, when it succeeded.
    pub affected: Option<u64>,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// Runs every job once and reports each.
pub async fn run_all(app: &App) -> Vec<JobReport> {
    vec![
        report("outbox_redelivery", crate::bot::deliver_due(app).await.map_err(anyhow::Error::from)),
        report("prune_processed_updates", prune_processed_updates(app).await),
    ]
}

fn report(job: &'static str, result: anyhow::Result<u64>) -> JobReport {
    match result {
        Ok(n) => {
            tracing::info!(job, affected = n, "maintenance job done");
            JobReport { job, affected: Some(n), error: None }
        }
        Err(e) => {
            tracing::error!(job, error = format!("{e:#}"), "maintenance job failed");
            JobReport { job, affected: None, error: Some(format!("{e:#}")) }
        }
    }
}

async fn prune_processed_updates(app: &App) -> anyhow::Result<u64> {
    let client = app.db.get().await?;
    Ok(updates::prune_processed_updates(&**client, PROCESSED_UPDATES_KEEP_DAYS).await?)
}
