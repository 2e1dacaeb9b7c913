//! The maintenance Lambda: its handler in-process and the built binary under the Lambda Runtime API emulator,
//! both fed the EventBridge "Scheduled Event" that triggers it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::Duration;

use serde_json::Value;
use zabota_testkit::app::test_env;
use zabota_testkit::lambda::events::scheduled_event;
use zabota_testkit::{LambdaRuntimeEmulator, spawn_app};

use zabota_core::maintenance::JOBS;

/// Checks `{"ok": true, "jobs": [{"job", "affected", "error": null}...]}` with every job, in order.
fn assert_all_jobs_ran(summary: &Value) {
    assert_eq!(summary["ok"], true, "{summary}");
    let jobs = summary["jobs"].as_array().unwrap_or_else(|| panic!("no jobs: {summary}"));
    let names: Vec<&str> = jobs.iter().filter_map(|job| job["job"].as_str()).collect();
    assert_eq!(names, JOBS, "{summary}");
    assert_eq!(
        JOBS.len(),
        12,
        "operator checks, idle warning and close, waiting expiry, reminders, stale cards, queue board, redelivery, \
         archive, retention, command menus, dead letters"
    );
    for job in jobs {
        assert!(job["error"].is_null() && job["affected"].is_u64(), "{summary}");
    }
}

#[tokio::test]
async fn a_scheduled_event_runs_every_job_and_reports_each() {
    let t = spawn_app().await;
    assert_all_jobs_ran(&maintenance::handle(&t.app, scheduled_event()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_a_scheduled_event_with_the_same_summary() {
    let t = spawn_app().await;
    let lambda = LambdaRuntimeEmulator::start().await;
    let function = lambda.spawn_function(
        env!("CARGO_BIN_EXE_maintenance"),
        "zabota-maintenance",
        test_env(&t.telegram.base_url(), &t.db.url),
    );
    let summary = lambda.invoke(scheduled_event(), Duration::from_secs(30)).await;
    let summary = summary.unwrap_or_else(|e| panic!("{e}\n--- function logs ---\n{}", function.logs()));
    assert_all_jobs_ran(&summary);
}

#[tokio::test]
async fn a_run_writes_an_emf_line_with_the_desks_gauges() {
    let t = spawn_app().await;
    let (ticket, _) = t.queue_ticket(&zabota_testkit::TgUser::customer(1), zabota_core::domain::Topic::Return).await;
    t.db.execute(&format!("UPDATE tickets SET queued_at = now() - interval '20 minutes' WHERE id = {ticket}")).await;
    let (summary, line) = maintenance::handle_measured(&t.app, scheduled_event(), None, "zabota-maintenance").await;
    assert_all_jobs_ran(&summary);
    let line: Value = serde_json::from_str(&line).unwrap();
    let declared = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(
        (declared["Namespace"].as_str(), &declared["Dimensions"]),
        (Some("Zabota"), &serde_json::json!([["Function"]]))
    );
    let names: Vec<&str> =
        declared["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "MaintenanceFailures",
            "BotApi429",
            "BotApi5xx",
            "MaintenanceDuration",
            "OutboxPending",
            "OutboxOldestPendingAge",
            "TicketsWaiting",
            "OldestWaitingTicketAge",
            "TicketsAssigned",
        ]
    );
    for name in names {
        assert!(line[name].is_number(), "{name} in {line}");
    }
    assert_eq!(
        (line["Function"].as_str(), line["MaintenanceFailures"].as_u64()),
        (Some("zabota-maintenance"), Some(0))
    );
    assert_eq!((line["TicketsWaiting"].as_i64(), line["TicketsAssigned"].as_i64()), (Some(1), Some(0)));
    let oldest = line["OldestWaitingTicketAge"].as_f64().unwrap();
    assert!((1200.0..1300.0).contains(&oldest), "{oldest}");
}
