//! The maintenance Lambda's handler: any event (an EventBridge schedule) runs every job and returns a summary.

use serde_json::{Value, json};
use zabota_core::{App, maintenance};

/// Runs the jobs once; the summary lists what each did, and `ok` is false when any failed.
pub async fn handle(app: &App, _event: Value) -> Value {
    let reports = maintenance::run_now(app).await;
    let ok = reports.iter().all(|r| r.error.is_none());
    json!({ "ok": ok, "jobs": reports })
}
