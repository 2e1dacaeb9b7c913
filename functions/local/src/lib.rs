//! The local shells around zabota-core: long polling, a plain HTTP webhook server, and the scheduled jobs
//! on an interval. The `zabota` binary (main.rs) is a thin CLI over these.

pub mod export;
pub mod poll;
pub mod sandbox;
pub mod serve;

use std::time::Duration;

use zabota_core::{App, maintenance};

/// How often `poll` and `serve` run the maintenance jobs.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(300);

/// Runs the maintenance jobs every `interval` until the task is dropped.
pub async fn maintenance_loop(app: App, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        maintenance::run_now(&app).await;
    }
}

/// How often `poll` and `serve` retry outbox calls that failed transiently (429, 5xx, network).
pub const OUTBOX_INTERVAL: Duration = Duration::from_secs(2);

/// Sends due outbox calls every `interval` until the task is dropped.
pub async fn outbox_loop(app: App, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(e) = zabota_core::bot::deliver_due(&app).await {
            tracing::warn!(error = %e, "outbox redelivery failed");
        }
    }
}

/// Starts the background work `poll` and `serve` share: outbox redelivery and the maintenance jobs.
pub fn spawn_background(app: &App) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(outbox_loop(app.clone(), OUTBOX_INTERVAL)),
        tokio::spawn(maintenance_loop(app.clone(), MAINTENANCE_INTERVAL)),
    ]
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
