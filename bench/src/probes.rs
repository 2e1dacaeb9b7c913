//! Measurements outside the workload: CPU time, peak memory, the Lambda binary's cold init and size, the machine.

use std::time::Duration;

use serde_json::{Value, json};
use zabota_testkit::app::test_env;
use zabota_testkit::lambda::LambdaRuntimeEmulator;

use crate::workload::Setup;

/// User + system CPU time of this process so far (from /proc/self/stat, in clock ticks of 10 ms).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Peak resident set size of this process (VmHWM).
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The p-th percentile (nearest rank) of `values`.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The webhook binary started under the Lambda Runtime API emulator, five times: process start to its first
/// request for an event (configuration, logging, pool and client set-up; no database connection), median in ms.
pub async fn cold_init(setup: &Setup) -> Value {
    let Some(binary) = std::env::current_exe().ok().and_then(|p| Some(p.parent()?.join("webhook"))) else {
        return Value::Null;
    };
    if !binary.exists() {
        eprintln!("bench: {} not built; cold init not measured", binary.display());
        return Value::Null;
    }
    let mut samples = Vec::new();
    for _ in 0..5 {
        let runtime = LambdaRuntimeEmulator::start().await;
        let env = test_env(&setup.telegram.base_url(), &setup.db.url);
        let process = runtime.spawn_function(&binary.to_string_lossy(), "zabota-webhook", env);
        for _ in 0..500 {
            if runtime.first_poll_at().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if let Some(ready) = runtime.first_poll_at() {
            samples.push(ready.duration_since(process.started_at()).as_secs_f64() * 1000.0);
        }
    }
    json!(percentile(&samples, 50.0))
}

/// Size of the deployable bootstrap: the cargo-lambda zip when `make build` made one, else the bench's own build.
pub fn bootstrap_size() -> (u64, String) {
    let zip = std::path::Path::new("target/lambda/webhook/bootstrap.zip");
    if let Ok(meta) = std::fs::metadata(zip) {
        return (meta.len(), zip.display().to_string());
    }
    let binary = std::env::current_exe().ok().and_then(|p| Some(p.parent()?.join("webhook")));
    match binary.and_then(|b| Some((std::fs::metadata(&b).ok()?.len(), b.display().to_string()))) {
        Some(found) => found,
        None => (0, "not built".into()),
    }
}

/// What machine produced the figures.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model =
        cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|v| v.trim_start_matches([' ', '\t', ':']));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:")).map(str::trim);
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu_model": model,
        "memory": memory,
    })
}

/// The figures as a table on the terminal.
pub fn print_table(results: &Value) {
    let rows = [
        ("updates/s", "/updates_per_s"),
        ("latency p50 ms", "/latency_ms/p50"),
        ("latency p95 ms", "/latency_ms/p95"),
        ("latency p99 ms", "/latency_ms/p99"),
        ("SQL statements/update", "/sql_statements_per_update"),
        ("transactions/update", "/transactions_per_update"),
        ("Bot API calls/update", "/bot_api_calls_per_update"),
        ("CPU ms/update", "/cpu_ms_per_update"),
        ("peak RSS KiB", "/peak_rss_kib"),
        ("proxied messages/s", "/proxied_message/per_s"),
        ("SQL statements/proxied message", "/proxied_message/sql_statements"),
        ("transactions/proxied message", "/proxied_message/transactions"),
        ("pgbench tps (same statements)", "/pgbench_tps"),
        ("share of pgbench", "/pgbench_ratio"),
        ("cold init ms", "/cold_init_ms"),
        ("bootstrap bytes", "/bootstrap_bytes"),
    ];
    println!("{:-<52}", "");
    for (label, pointer) in rows {
        let value = results.pointer(pointer).cloned().unwrap_or(Value::Null);
        let shown = match value.as_f64() {
            Some(v) if v.fract() != 0.0 => format!("{v:.3}"),
            Some(v) => format!("{v}"),
            None => "n/a".into(),
        };
        println!("{label:<36}{shown:>16}");
    }
    println!("{:-<52}", "");
}
