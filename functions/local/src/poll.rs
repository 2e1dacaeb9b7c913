//! Long polling: fetch updates, process each, and confirm an offset only after its update was processed.

use std::time::Duration;

use zabota_core::App;
use zabota_core::bot::{self, Outcome};
use zabota_core::telegram::{GetUpdates, TelegramError, Update, allowed_updates};

/// What one round of polling did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollRound {
    /// The offset to ask for next: one past the last update that was dealt with.
    pub next_offset: Option<i64>,
    /// Updates processed (including duplicates and ignored kinds).
    pub handled: usize,
    /// Malformed updates skipped.
    pub malformed: usize,
    /// True when processing stopped at an update that must be fetched again (database trouble).
    pub stalled: bool,
}

/// Fetches one batch (waiting up to `timeout_s` for it) and processes it in order. Processing stops at the first
/// update that fails transiently, so its offset is not confirmed and Telegram hands it out again on the next
/// round; one that keeps failing is parked after `bot::MAX_UPDATE_ATTEMPTS` tries over `bot::PARK_AFTER`, so polling never
/// stalls on it for long.
pub async fn poll_once(app: &App, offset: Option<i64>, timeout_s: u32) -> Result<PollRound, TelegramError> {
    let params = GetUpdates { offset, limit: 100, timeout: timeout_s, allowed_updates: allowed_updates() };
    let raw = app.telegram.get_raw_updates(&params).await?;
    let mut round = PollRound { next_offset: offset, ..PollRound::default() };
    for value in raw {
        let update_id = value.get("update_id").and_then(serde_json::Value::as_i64);
        let update: Update = match serde_json::from_value(value) {
            Ok(update) => update,
            Err(e) => {
                tracing::warn!(update_id, error = %e, "malformed update skipped");
                round.malformed += 1;
                if let Some(id) = update_id {
                    round.next_offset = Some(id + 1);
                }
                continue;
            }
        };
        let deadline = std::time::Instant::now() + bot::DELIVERY_BUDGET;
        match bot::handle_update(app, &update, deadline).await {
            Ok(Outcome::Processed | Outcome::Duplicate | Outcome::Ignored | Outcome::Parked) => {
                round.handled += 1;
                round.next_offset = Some(update.update_id + 1);
            }
            Err(e) => {
                tracing::error!(update_id = update.update_id, error = %e, "update not processed; will fetch it again");
                round.stalled = true;
                break;
            }
        }
    }
    Ok(round)
}

/// Polls until `shutdown` resolves. Errors back off from 1 s to 30 s; a set webhook is reported with the fix.
pub async fn run(app: &App, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut offset = None;
    let mut backoff = Duration::from_secs(1);
    tracing::info!("polling for updates");
    loop {
        let round = tokio::select! {
            () = &mut shutdown => break,
            round = poll_once(app, offset, 25) => round,
        };
        let pause = match round {
            Ok(round) => {
                offset = round.next_offset;
                round.stalled.then_some(backoff)
            }
            Err(TelegramError::Api { code: 409, .. }) => {
                tracing::error!(
                    "a webhook is set for this bot, so polling is refused: run `zabota delete-webhook` first"
                );
                Some(Duration::from_secs(30))
            }
            Err(e) => {
                tracing::warn!(error = %e, "getUpdates failed");
                Some(backoff)
            }
        };
        match pause {
            Some(pause) => {
                backoff = (backoff * 2).min(Duration::from_secs(30));
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => {},
                }
            }
            None => backoff = Duration::from_secs(1),
        }
    }
    tracing::info!("polling stopped");
}
