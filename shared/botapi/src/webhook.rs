//! Webhook delivery: POSTs pending updates to the URL the bot set, as Telegram's servers would.

use std::time::Duration;

use serde_json::Value;

use super::state::{Shared, now};

/// The header Telegram uses to pass the webhook secret back to the bot.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// POSTs every pending update, in order; 2xx confirms (drops) an update, anything else keeps it pending.
/// Returns one status per update (0 for a connection error); nothing when no webhook is set.
pub(crate) async fn deliver(shared: &Shared) -> Vec<u16> {
    let (webhook, pending) = {
        let state = shared.lock();
        let Some(webhook) = state.webhook.clone() else { return Vec::new() };
        (webhook, state.updates.iter().cloned().collect::<Vec<Value>>())
    };
    let client = match reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "the emulator could not build an HTTP client for webhook delivery");
            return vec![0; pending.len()];
        }
    };
    let mut statuses = Vec::with_capacity(pending.len());
    for update in pending {
        let mut request = client.post(&webhook.url).json(&update);
        if let Some(secret) = &webhook.secret_token {
            request = request.header(SECRET_HEADER, secret);
        }
        let (status, error) = match request.send().await {
            Ok(response) if response.status().is_success() => (response.status().as_u16(), None),
            Ok(response) => {
                let status = response.status();
                let reason = status.canonical_reason().unwrap_or("");
                (status.as_u16(), Some(format!("Wrong response from the webhook: {} {reason}", status.as_u16())))
            }
            Err(error) => (0, Some(format!("Connection failed: {}", error.without_url()))),
        };
        let mut state = shared.lock();
        match error {
            None => {
                let id = update.get("update_id");
                if let Some(index) = state.updates.iter().position(|u| u.get("update_id") == id) {
                    state.updates.remove(index);
                }
            }
            Some(message) => state.webhook_error = Some((now(), message)),
        }
        statuses.push(status);
    }
    statuses
}
