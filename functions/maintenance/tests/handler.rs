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
        11,
        "operator checks, idle warning and close, waiting expiry, reminders, stale cards, queue board, redelivery, \
         archive, retention, dead letters"
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
