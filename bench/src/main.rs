//! `make bench`: N customers and M operators play whole dialogs (menu, phone, claim, 10–30 relayed messages,
//! close) through the webhook entry point the Lambda uses, against a real PostgreSQL and the Bot API emulator.
//! Reports throughput, latency, SQL and Bot API calls per update, CPU and memory, the Lambda binary's cold init
//! and size, our proxied-message rate as a share of pgbench's rate for the same statements, and a ticket storm
//! under Telegram's flood limits (tickets offered per minute, 429s, the private chats' latency meanwhile).

mod costs;
mod insight;
mod pgbench;
mod probes;
mod proxy;
mod storm;
mod workload;

use std::time::Duration;

use anyhow::Context;
use serde_json::json;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let customers = env_number("BENCH_CUSTOMERS", 160);
    let operators = env_number("BENCH_OPERATORS", 16);
    let out = std::env::var("BENCH_OUTPUT").unwrap_or_else(|_| "bench/results.json".into());
    // `BENCH_ONLY=insight make bench`: only the /stats and export figures, printed (results.json is left alone).
    if std::env::var("BENCH_ONLY").as_deref() == Ok("insight") {
        let insight = insight::run().await.context("the insight bench")?;
        println!("{}", serde_json::to_string_pretty(&insight)?);
        return Ok(());
    }
    eprintln!("bench: {customers} customers, {operators} operators (concurrency {operators})");

    let setup = std::sync::Arc::new(workload::Setup::new(operators).await);
    let cpu_before = probes::cpu_time();
    let run = workload::run_dialogs(&setup, customers, operators).await?;
    let cpu = probes::cpu_time().saturating_sub(cpu_before);
    let proxied = workload::proxied_message_phase(&setup, operators).await?;
    eprintln!("bench: cost of each update kind ...");
    let kinds = costs::per_kind(&setup).await.context("per-kind costs")?;
    eprintln!("bench: the Lambda binary under the Runtime API emulator ...");
    let lambda = probes::lambda(&setup, &zabota_testkit::TgUser::customer(workload::PROXIED_BASE), 200).await;
    let ceiling = pgbench::run(&setup.db, operators, Duration::from_secs(10)).await.context("pgbench")?;
    let (bootstrap_bytes, bootstrap_source) = probes::bootstrap_size();
    eprintln!("bench: a ticket storm: 200 customers in an emulated minute, 10 operators ...");
    let storm = storm::run().await;
    eprintln!("bench: /stats 30d and the export on 100 000 tickets and 1 000 000 messages ...");
    let insight = insight::run().await.context("the insight bench")?;

    let updates = run.latencies_ms.len() as f64;
    let relayed = kinds.get("customer_message").cloned().unwrap_or_default();
    let before_call = relayed.get("round_trips_before_bot_api_call").cloned().unwrap_or_default();
    let after_call = relayed.get("round_trips_after_bot_api_call").cloned().unwrap_or_default();
    let ratio = proxied.per_s / ceiling;
    let cold_init = lambda.as_ref().map(|l| l.cold_init_ms);
    let rss = lambda.as_ref().map(|l| l.peak_rss_kib);
    let target = |value: Option<f64>, limit: f64, at_most: bool| {
        json!({ "value": value, "target": limit,
                "met": value.map(|v| if at_most { v <= limit } else { v >= limit }) })
    };
    let results = json!({
        "machine": probes::machine(),
        "workload": { "customers": customers, "operators": operators, "updates": run.latencies_ms.len(),
                      "concurrency": operators },
        "updates_per_s": updates / run.wall.as_secs_f64(),
        "latency_ms": { "p50": probes::percentile(&run.latencies_ms, 50.0), "p95": probes::percentile(&run.latencies_ms, 95.0),
                        "p99": probes::percentile(&run.latencies_ms, 99.0), "max": probes::percentile(&run.latencies_ms, 100.0) },
        "sql_statements_per_update": run.statements as f64 / updates,
        "transactions_per_update": run.transactions as f64 / updates,
        "bot_api_calls_per_update": run.api_calls as f64 / updates,
        "cpu_ms_per_update": cpu.as_secs_f64() * 1000.0 / updates,
        "per_update_kind": kinds,
        "proxied_message": {
            "per_s": proxied.per_s,
            "sql_statements": proxied.statements_per_message,
            "transactions": proxied.transactions_per_message,
            "round_trips_before_bot_api_call": before_call,
            "round_trips_after_bot_api_call": after_call,
        },
        "pgbench_tps": ceiling,
        "pgbench_ratio": ratio,
        "cold_init_ms": cold_init,
        "peak_rss_kib": rss,
        "lambda": lambda.as_ref().map(|l| json!({
            "first_invocation_ms": l.first_invocation_ms,
            "warm_invocation_ms_p50": l.warm_invocation_ms_p50,
            "invocations": l.invocations,
        })),
        "bench_process_peak_rss_kib": probes::peak_rss_kib(),
        "bootstrap_bytes": bootstrap_bytes,
        "bootstrap_source": bootstrap_source,
        "storm": storm,
        "insight": insight,
        "targets": {
            "cold_init_ms": target(cold_init, 20.0, true),
            "peak_rss_kib": target(rss.map(|r| r as f64), 25.0 * 1024.0, true),
            "round_trips_before_bot_api_call": target(before_call.as_f64(), 3.0, true),
            "round_trips_after_bot_api_call": target(after_call.as_f64(), 1.0, true),
            "transactions_per_proxied_message": target(Some(proxied.transactions_per_message), 1.0, true),
            "pgbench_ratio": target(Some(ratio), 0.6, false),
            "storm_429s": target(storm["over_limit_429"].as_f64(), 0.0, true),
            "stats_30d_ms": target(insight["stats_30d_ms"].as_f64(), 200.0, true),
        },
    });
    probes::print_table(&results);
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)?)?;
    eprintln!("bench: results written to {out}");
    Ok(())
}
