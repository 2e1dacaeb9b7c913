//! Scheduled jobs: each runs on its own, a failing job is reported and the others still run. Every job takes
//! `now` from the caller, so tests drive the clock instead of sleeping.

mod dead_letters;
mod desk;
mod idle;
mod menus;
mod reminders;
mod retention;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::App;
pub use crate::bot::Due;
pub use menus::keep_command_menus;

/// How long one run may take in all: below the maintenance Lambda's 300 s timeout, with room to report.
pub const RUN_BUDGET: Duration = Duration::from_secs(240);

/// What one job did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct JobReport {
    /// One of [`JOBS`].
    pub job: &'static str,
    /// Rows or items affected, when it succeeded.
    pub affected: Option<u64>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// True when the job stopped at its time budget with work left (the next run goes on).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_time: bool,
    /// What the job has to show (the dead letters), when it has anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The jobs, in the order they run. Each gets its turn every run.
pub const JOBS: [&str; 12] = [
    "operator_checks",
    "idle_warning",
    "idle_close",
    "waiting_expiry",
    "waiting_reminders",
    "stale_cards",
    "queue_board",
    "outbox_redelivery",
    "media_archive",
    "retention",
    "command_menus",
    "dead_letters",
];

/// Runs every job once within [`RUN_BUDGET`] (see [`run_all_until`]); the redelivery sends what is due now (the
/// local loops, `zabota maintain`: the outbox loop comes back in seconds).
pub async fn run_all(app: &App, now: DateTime<Utc>) -> Vec<JobReport> {
    run_all_until(app, now, Instant::now() + RUN_BUDGET, Due::Now).await
}

/// Runs every job once, in a fixed order, and reports each; the run ends by `deadline`. Each job gets a share of
/// the time left (the outbox redelivery half of it, each other job an equal part), and time a job does not use
/// passes to the ones after it, so a long outbox backlog cannot starve idle closes, reminders or retention. The
/// redelivery takes up the calls `due` says; when it waits for what comes due, it ends [`REDELIVERY_SPAN`] after
/// the run's start.
pub async fn run_all_until(app: &App, now: DateTime<Utc>, deadline: Instant, due: Due) -> Vec<JobReport> {
    let started = Instant::now();
    let mut reports = Vec::with_capacity(JOBS.len());
    for (i, job) in JOBS.into_iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let jobs_left = (JOBS.len() - i) as u32;
        let share = if job == "outbox_redelivery" { left / 2 } else { left / jobs_left };
        let mut until = Instant::now() + share;
        if job == "outbox_redelivery" && due == Due::ByDeadline {
            // At least a short while even when the jobs before it took the span: it must not starve.
            until = until.min((started + REDELIVERY_SPAN).max(Instant::now() + REDELIVERY_AT_LEAST));
        }
        let work = run_job(app, job, now, until, due);
        // A job that does not stop by itself at its budget (one slow call) is cut off a little later; its
        // transactions roll back and what it committed stays.
        let report = match tokio::time::timeout(share + JOB_GRACE, work).await {
            Ok(report) => report,
            Err(_) => JobReport { job, affected: None, error: None, out_of_time: true, details: None },
        };
        log(&report);
        reports.push(report);
    }
    reports
}

/// When, from a run's start, an outbox redelivery that waits for what comes due ([`Due::ByDeadline`]: a busy
/// operators' chat's paced messages) ends: about when the scheduled Lambda's next run, a minute later, takes over.
pub const REDELIVERY_SPAN: Duration = Duration::from_secs(50);

/// The least a redelivery that waits for what comes due gets, however long the jobs before it took.
const REDELIVERY_AT_LEAST: Duration = Duration::from_secs(10);

/// How long past its budget a job may run before it is cut off.
const JOB_GRACE: Duration = Duration::from_secs(5);

async fn run_job(app: &App, job: &'static str, now: DateTime<Utc>, until: Instant, due: Due) -> JobReport {
    // Each job's future is boxed: together they would make one very deep type.
    let result = match job {
        "operator_checks" => Box::pin(desk::recheck_operators(app, until)).await,
        "idle_warning" => Box::pin(idle::warn(app, now, until)).await,
        "idle_close" => Box::pin(idle::close(app, now, until)).await,
        "waiting_expiry" => Box::pin(reminders::expire(app, now, until)).await,
        "waiting_reminders" => Box::pin(reminders::remind(app, now, until)).await,
        "stale_cards" => Box::pin(desk::settle_stale_cards(app, until)).await,
        "queue_board" => Box::pin(desk::refresh_boards(app)).await,
        "outbox_redelivery" => {
            Box::pin(crate::bot::deliver_due_until(app, until, due)).await.map_err(anyhow::Error::from)
        }
        "media_archive" => Box::pin(crate::media::archive::archive_due(app)).await,
        "retention" => Box::pin(retention::prune_until(app, now, until)).await,
        "command_menus" => Box::pin(menus::keep_command_menus(app, false)).await,
        _ => return dead_letters::report(app).await,
    };
    let out_of_time = Instant::now() >= until;
    match result {
        Ok(n) => JobReport { job, affected: Some(n), error: None, out_of_time, details: None },
        Err(e) => JobReport { job, affected: None, error: Some(format!("{e:#}")), out_of_time, details: None },
    }
}

/// Runs every job once at the current time (the scheduled Lambda, `zabota maintain`, the local loops).
pub async fn run_now(app: &App) -> Vec<JobReport> {
    run_all(app, Utc::now()).await
}

/// Runs every job once at the current time, ending by `deadline` (the maintenance Lambda, from its context): it
/// comes back only a minute later, so its redelivery also waits for what comes due meanwhile.
pub async fn run_now_until(app: &App, deadline: Instant) -> Vec<JobReport> {
    run_all_until(app, Utc::now(), deadline, Due::ByDeadline).await
}

fn log(report: &JobReport) {
    let JobReport { job, affected, out_of_time, .. } = report;
    match &report.error {
        None => tracing::info!(job, affected, out_of_time, "maintenance job done"),
        Some(error) => tracing::error!(job, error, "maintenance job failed"),
    }
}

/// Runs `step` on each ticket of `ids` in turn until `until`; returns how many it acted on (`step` says whether it
/// did: a ticket may have changed since it was picked).
async fn each_ticket<F>(ids: Vec<i64>, until: Instant, mut step: impl FnMut(i64) -> F) -> anyhow::Result<u64>
where
    F: std::future::Future<Output = Result<bool, crate::bot::ProcessError>>,
{
    let mut acted = 0;
    for id in ids {
        if Instant::now() >= until {
            break;
        }
        acted += u64::from(step(id).await?);
    }
    Ok(acted)
}

/// `now - d` for SQL parameters.
fn ago(now: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
