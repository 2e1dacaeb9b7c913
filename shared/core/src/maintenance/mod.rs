//! Scheduled jobs: each runs on its own, a failing job is reported and the others still run. Every job takes
//! `now` from the caller, so tests drive the clock instead of sleeping.

mod idle;
mod reminders;
mod retention;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::App;

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

/// Runs every job once, in a fixed order, and reports each.
pub async fn run_all(app: &App, now: DateTime<Utc>) -> Vec<JobReport> {
    vec![
        report("outbox_redelivery", crate::bot::deliver_due(app).await.map_err(anyhow::Error::from)),
        report("idle_warning", idle::warn(app, now).await),
        report("idle_close", idle::close(app, now).await),
        report("waiting_reminders", reminders::remind(app, now).await),
        report("media_archive", crate::media::archive::archive_due(app).await),
        report("retention", retention::prune(app, now).await),
    ]
}

/// Runs every job once at the current time (the scheduled Lambda, `zabota maintain`, the local loops).
pub async fn run_now(app: &App) -> Vec<JobReport> {
    run_all(app, Utc::now()).await
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

/// `now - d` for SQL parameters.
fn ago(now: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
