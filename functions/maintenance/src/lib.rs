//! The maintenance Lambda's handler: any event (an EventBridge schedule) runs every job and returns a summary.

use std::time::Duration;

use serde_json::{Value, json};
use zabota_core::{App, maintenance};

/// Time kept back from the invocation's deadline for the jobs to stop and the summary to be returned.
const DEADLINE_MARGIN: Duration = Duration::from_secs(30);

/// Runs the jobs once within the default budget; the summary lists what each did, and `ok` is false when any failed.
pub async fn handle(app: &App, event: Value) -> Value {
    handle_by(app, event, None).await
}

/// Like [`handle`], ending the run [`DEADLINE_MARGIN`] before the invocation's deadline (milliseconds since the
/// epoch) when that comes sooner than [`maintenance::RUN_BUDGET`].
pub async fn handle_by(app: &App, _event: Value, invocation_deadline_ms: Option<u64>) -> Value {
    let deadline = zabota_core::deadline::within(invocation_deadline_ms, DEADLINE_MARGIN, maintenance::RUN_BUDGET);
    let reports = maintenance::run_now_until(app, deadline).await;
    let ok = reports.iter().all(|r| r.error.is_none());
    json!({ "ok": ok, "jobs": reports })
}
