//! The sandbox's background work — polling the built-in Bot API, the outbox, the maintenance jobs — each round
//! under the desk's gate, so a reset or a jump in time never runs in the middle of one.

use std::sync::Arc;
use std::time::Duration;

use super::Sandbox;

/// How long one getUpdates waits for an update: a reset waits at most this for the round to end.
const POLL_TIMEOUT_S: u32 = 1;
/// The pause after a round that failed.
const PAUSE: Duration = Duration::from_secs(1);

/// Fetches and processes updates in order, as `zabota poll` does.
pub(super) async fn poll(sandbox: Arc<Sandbox>) {
    let mut offset = None;
    loop {
        let round = {
            let _round = sandbox.gate.read().await;
            crate::poll::poll_once(&sandbox.app, offset, POLL_TIMEOUT_S).await
        };
        match round {
            Ok(round) => {
                offset = round.next_offset;
                if round.stalled {
                    tokio::time::sleep(PAUSE).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "sandbox: getUpdates failed");
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
}

/// Sends due outbox calls every `interval`.
pub(super) async fn outbox(sandbox: Arc<Sandbox>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let _round = sandbox.gate.read().await;
        // A short round: a reset or a jump in time waits for it.
        let deadline = std::time::Instant::now() + interval;
        if let Err(error) =
            zabota_core::bot::deliver_due_until(&sandbox.app, deadline, zabota_core::bot::Due::Now).await
        {
            tracing::warn!(%error, "sandbox: outbox redelivery failed");
        }
    }
}

/// Runs the maintenance jobs every `interval`.
pub(super) async fn maintenance(sandbox: Arc<Sandbox>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let _round = sandbox.gate.read().await;
        zabota_core::maintenance::run_now(&sandbox.app).await;
    }
}
