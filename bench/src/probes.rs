//! Measurements outside the workload: CPU time, peak memory, the Lambda binary's cold init and size, the machine.

use std::time::Duration;

use serde_json::{Value, json};
use std::time::Instant;

use zabota_core::webhook::SECRET_HEADER;
use zabota_testkit::app::test_env;
use zabota_testkit::lambda::{LambdaRuntimeEmulator, events};
use zabota_testkit::{TgUser, WEBHOOK_SECRET, updates};

use crate::workload::Setup;

/// User + system CPU time of this process so far (from /proc/self/stat, in clock ticks of 10 ms).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Peak resident set size of this process (the bench: emulator, workload and app together) (VmHWM).
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

/// Peak resident set size of process `pid` (VmHWM).
fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()
}

/// What the Lambda function binary measured under the Runtime API emulator.
pub struct LambdaRun {
    /// Process start to its first request for an event (median of five starts): configuration, logging,
    /// pool and client set-up; no database connection, no TLS.
    pub cold_init_ms: f64,
    /// The first event of a fresh process (database connection included).
    pub first_invocation_ms: f64,
    /// Warm invocations relaying a message.
    pub warm_invocation_ms_p50: f64,
    /// Peak resident memory of the function process after them.
    pub peak_rss_kib: u64,
    pub invocations: usize,
}

/// Starts the webhook binary five times for its cold init; the last one then relays `messages` messages of the
/// open dialog of `customer` (one invocation each) and its peak memory is read.
pub async fn lambda(setup: &Setup, customer: &TgUser, messages: usize) -> Option<LambdaRun> {
    let binary = std::env::current_exe().ok().and_then(|p| Some(p.parent()?.join("webhook")))?;
    if !binary.exists() {
        eprintln!("bench: {} not built; the Lambda binary is not measured", binary.display());
        return None;
    }
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let runtime = LambdaRuntimeEmulator::start().await;
        let mut env = test_env(&setup.telegram.base_url(), &setup.db.url);
        zabota_testkit::lift_limits(&mut env);
        let process = runtime.spawn_function(&binary.to_string_lossy(), "zabota-webhook", env);
        for _ in 0..1000 {
            if runtime.first_poll_at().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let ready = runtime.first_poll_at()?;
        samples.push(ready.duration_since(process.started_at()).as_secs_f64() * 1000.0);
        last = Some((runtime, process));
    }
    let (runtime, process) = last?;
    let mut latencies = Vec::new();
    for i in 0..messages {
        let update = updates::private_text(customer, &format!("lambda {i}"));
        setup.telegram.observe(&update);
        let event = events::function_url_event(&update.to_string(), &[(SECRET_HEADER, WEBHOOK_SECRET)]);
        let started = Instant::now();
        let reply = runtime.invoke(event, Duration::from_secs(10)).await;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        match reply {
            Ok(reply) if reply["statusCode"] == 200 => {}
            other => {
                eprintln!("bench: the Lambda binary answered {other:?}; logs:\n{}", process.logs());
                return None;
            }
        }
    }
    Some(LambdaRun {
        cold_init_ms: percentile(&samples, 50.0),
        first_invocation_ms: latencies.first().copied().unwrap_or_default(),
        warm_invocation_ms_p50: percentile(latencies.get(1..).unwrap_or_default(), 50.0),
        peak_rss_kib: peak_rss_of(process.pid()).unwrap_or_default(),
        invocations: latencies.len(),
    })
}

/// Size of the deployable bootstrap: the cargo-lambda zip of `make build` when it is newer than the bench's own
/// build of the binary (it then holds this code), else that binary (thin LTO, so larger than the zip's).
pub fn bootstrap_size() -> (u64, String) {
    let zip = std::path::Path::new("target/lambda/webhook/bootstrap.zip");
    let binary = std::env::current_exe().ok().and_then(|p| Some(p.parent()?.join("webhook")));
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let binary_time = binary.as_deref().and_then(modified);
    if let (Ok(meta), Some(zip_time)) = (std::fs::metadata(zip), modified(zip))
        && binary_time.is_none_or(|b| zip_time >= b)
    {
        return (meta.len(), zip.display().to_string());
    }
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
        ("updates/s (whole dialogs)", "/updates_per_s"),
        ("latency p50 ms", "/latency_ms/p50"),
        ("latency p95 ms", "/latency_ms/p95"),
        ("latency p99 ms", "/latency_ms/p99"),
        ("SQL statements/update", "/sql_statements_per_update"),
        ("transactions/update", "/transactions_per_update"),
        ("Bot API calls/update", "/bot_api_calls_per_update"),
        ("CPU ms/update", "/cpu_ms_per_update"),
        ("proxied messages/s", "/proxied_message/per_s"),
        ("  SQL statements", "/proxied_message/sql_statements"),
        ("  transactions", "/proxied_message/transactions"),
        ("  round trips before Bot API call", "/proxied_message/round_trips_before_bot_api_call"),
        ("  round trips after it", "/proxied_message/round_trips_after_bot_api_call"),
        ("album of 10: last part to delivery ms", "/per_update_kind/album_of_10/ms_from_last_part_to_delivery"),
        ("pgbench tps (same statements)", "/pgbench_tps"),
        ("share of pgbench", "/pgbench_ratio"),
        ("Lambda cold init ms", "/cold_init_ms"),
        ("Lambda first invocation ms", "/lambda/first_invocation_ms"),
        ("Lambda warm invocation p50 ms", "/lambda/warm_invocation_ms_p50"),
        ("Lambda peak RSS KiB", "/peak_rss_kib"),
        ("bench process peak RSS KiB", "/bench_process_peak_rss_kib"),
        ("bootstrap bytes", "/bootstrap_bytes"),
        ("storm: new tickets per minute", "/storm/tickets_per_minute"),
        ("  announced (card or board)", "/storm/tickets_announced"),
        ("  announced after, p99 s", "/storm/announced_after_emulated_s/p99"),
        ("  cards (the rest on the board)", "/storm/cards"),
        ("  429s", "/storm/over_limit_429"),
        ("  private chat p99 ms", "/storm/private_latency_ms/p99"),
        ("  group gap with backlog, max s", "/storm/operators_chat_max_gap_with_backlog_emulated_s"),
        ("/stats 30d, 1M messages, ms", "/insight/stats_30d_ms"),
        ("export, tickets/s", "/insight/export_tickets_per_s"),
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
    if let Some(Value::Object(kinds)) = results.get("per_update_kind") {
        println!("{:<28}{:>6}{:>6}{:>7}{:>6}", "per update kind", "SQL", "txn", "trips", "API");
        for (kind, cost) in kinds {
            let n = |k: &str| cost.get(k).and_then(Value::as_i64).unwrap_or(0);
            println!(
                "{kind:<28}{:>6}{:>6}{:>7}{:>6}",
                n("sql_statements"),
                n("transactions"),
                n("round_trips"),
                n("bot_api_calls")
            );
        }
        println!("{:-<52}", "");
    }
    if let Some(Value::Object(targets)) = results.get("targets") {
        for (name, t) in targets {
            let met = match t.get("met").and_then(Value::as_bool) {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "n/a",
            };
            println!("target {name:<34}{met:>10}");
        }
        println!("{:-<52}", "");
    }
}
