//! The maintenance Lambda's handler: any event (an EventBridge schedule) runs every job and returns a summary.

use std::time::Duration;

use serde_json::{Value, json};
use zabota_core::metrics::counters::Snapshot;
use zabota_core::metrics::{Gauges, emf};
use zabota_core::{App, maintenance};

/// Time kept back from the invocation's deadline for the jobs to stop and the summary to be returned.
const DEADLINE_MARGIN: Duration = Duration::from_secs(30);

/// Runs the jobs once within the default budget; the summary lists what each did, and `ok` is false when any failed.
pub async fn handle(app: &App, event: Value) -> Value {
    handle_by(app, event, None).await
}

/// Like [`handle`], ending the run [`DEADLINE_MARGIN`] before the invocation's deadline (milliseconds since the
/// epoch) when that comes sooner than [`maintenance::RUN_BUDGET`].
pub async fn handle_by(app: &App, event: Value, invocation_deadline_ms: Option<u64>) -> Value {
    handle_measured(app, event, invocation_deadline_ms, "local").await.0
}

/// [`handle_by`] for function `function`, with the run's EMF metrics line: the desk's gauges after the run (the
/// outbox backlog and its oldest call's age, waiting tickets and the oldest wait, dialogs), jobs failed, Bot API
/// 429s and 5xx, the run's time. `main` writes the line to stdout.
pub async fn handle_measured(
    app: &App,
    _event: Value,
    invocation_deadline_ms: Option<u64>,
    function: &str,
) -> (Value, String) {
    let started = std::time::Instant::now();
    let before = Snapshot::now();
    let deadline = zabota_core::deadline::within(invocation_deadline_ms, DEADLINE_MARGIN, maintenance::RUN_BUDGET);
    let reports = maintenance::run_now_until(app, deadline).await;
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let gauges = match app.db.get().await {
        Ok(client) => Gauges::read(&client).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let gauges = gauges.inspect_err(|e| tracing::warn!(error = %e, "the desk's gauges could not be read")).ok();
    let delta = Snapshot::now().since(&before);
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let now = chrono::Utc::now().timestamp_millis();
    let line =
        emf::maintenance_line(function, now, gauges.as_ref(), u64::try_from(failed).unwrap_or(0), &delta, took_ms);
    (json!({ "ok": failed == 0, "jobs": reports }), line)
}
