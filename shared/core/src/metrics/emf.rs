//! CloudWatch Embedded Metric Format: one JSON line on stdout per webhook invocation and per maintenance run,
//! which CloudWatch Logs turns into metrics with no API call (and no latency) on the function's path. Namespace
//! [`NAMESPACE`], dimension `Function` (the Lambda's name, so two stacks in one account keep theirs apart) and,
//! for updates, `Function` × `Kind`. The template's alarms read these.

use serde_json::{Value, json};

use super::Gauges;
use super::counters::{KINDS, Snapshot};

/// The metrics' namespace.
pub const NAMESPACE: &str = "Zabota";

fn metric(name: &str, unit: &str) -> Value {
    json!({ "Name": name, "Unit": unit })
}

fn envelope(timestamp_ms: i64, dimensions: Value, metrics: Vec<Value>) -> Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics }],
        }
    })
}

/// The webhook's line for one invocation: `delta` is what the counters counted during it, `took_ms` its time.
/// The kind is the update's (`none` when nothing was handled: a refused or unparseable call).
pub fn webhook_line(function: &str, timestamp_ms: i64, delta: &Snapshot, took_ms: f64) -> String {
    let kind = KINDS.iter().zip(delta.updates).find(|(_, n)| *n > 0).map_or("none", |(kind, _)| kind);
    let metrics = vec![
        metric("Updates", "Count"),
        metric("DuplicateUpdates", "Count"),
        metric("FailedUpdates", "Count"),
        metric("BotApi429", "Count"),
        metric("BotApi5xx", "Count"),
        metric("HandlerDuration", "Milliseconds"),
    ];
    let mut line = envelope(timestamp_ms, json!([["Function"], ["Function", "Kind"]]), metrics);
    line["Function"] = json!(function);
    line["Kind"] = json!(kind);
    line["Updates"] = json!(delta.total_updates());
    line["DuplicateUpdates"] = json!(delta.duplicates);
    line["FailedUpdates"] = json!(delta.failures);
    line["BotApi429"] = json!(delta.bot_api_429);
    line["BotApi5xx"] = json!(delta.bot_api_5xx);
    line["HandlerDuration"] = json!(took_ms);
    line.to_string()
}

/// The maintenance run's line: the desk's gauges (`None` when they could not be read), how many jobs failed,
/// the Bot API 429s and 5xx of the run, its time.
pub fn maintenance_line(
    function: &str,
    timestamp_ms: i64,
    gauges: Option<&Gauges>,
    failed_jobs: u64,
    delta: &Snapshot,
    took_ms: f64,
) -> String {
    let mut metrics = vec![
        metric("MaintenanceFailures", "Count"),
        metric("BotApi429", "Count"),
        metric("BotApi5xx", "Count"),
        metric("MaintenanceDuration", "Milliseconds"),
    ];
    if gauges.is_some() {
        metrics.extend([
            metric("OutboxPending", "Count"),
            metric("OutboxOldestPendingAge", "Seconds"),
            metric("TicketsWaiting", "Count"),
            metric("OldestWaitingTicketAge", "Seconds"),
            metric("TicketsAssigned", "Count"),
        ]);
    }
    let mut line = envelope(timestamp_ms, json!([["Function"]]), metrics);
    line["Function"] = json!(function);
    line["MaintenanceFailures"] = json!(failed_jobs);
    line["BotApi429"] = json!(delta.bot_api_429);
    line["BotApi5xx"] = json!(delta.bot_api_5xx);
    line["MaintenanceDuration"] = json!(took_ms);
    if let Some(g) = gauges {
        line["OutboxPending"] = json!(g.outbox_pending);
        line["OutboxOldestPendingAge"] = json!(g.outbox_oldest_pending_s);
        line["TicketsWaiting"] = json!(g.tickets_waiting);
        line["OldestWaitingTicketAge"] = json!(g.tickets_oldest_wait_s);
        line["TicketsAssigned"] = json!(g.tickets_assigned);
    }
    line.to_string()
}
