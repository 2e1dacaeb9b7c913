//! getUpdates with offsets and long polling, and the webhook settings methods.

use std::time::Duration;

use serde_json::{Value, json};

use super::methods::{bool_param, int_param, json_param, str_param};
use super::state::Shared;
use super::types::{ApiError, Reply, WebhookSettings};

const WEBHOOK_CONFLICT: &str =
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";

/// Update kinds Telegram sends only to bots that list them in `allowed_updates`.
const OPT_IN: [&str; 3] = ["chat_member", "message_reaction", "message_reaction_count"];

/// getUpdates: confirms updates below `offset`, answers the rest, long-polls for `timeout` seconds when none.
pub(crate) async fn get_updates(shared: &Shared, params: &Value) -> Reply {
    let offset = int_param(params, "offset");
    // Like Telegram: kinds not asked for are never delivered; without a list, all but the opt-in ones.
    let allowed: Option<Vec<String>> = json_param(params, "allowed_updates")
        .and_then(|v| v.as_array().map(|kinds| kinds.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect()))
        .filter(|kinds: &Vec<String>| !kinds.is_empty());
    let wanted = |update: &Value| {
        let Some(kind) = update.as_object().and_then(|u| u.keys().find(|k| *k != "update_id")) else { return false };
        match &allowed {
            Some(kinds) => kinds.iter().any(|k| k == kind),
            None => !OPT_IN.contains(&kind.as_str()),
        }
    };
    let limit = int_param(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = Duration::from_secs(int_param(params, "timeout").unwrap_or(0).max(0) as u64);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pushed = shared.update_pushed.notified();
        tokio::pin!(pushed);
        pushed.as_mut().enable();
        {
            let mut state = shared.lock();
            if state.webhook.is_some() {
                return Err(ApiError::new(409, WEBHOOK_CONFLICT));
            }
            if let Some(offset) = offset {
                state.updates.retain(|u| u.get("update_id").and_then(Value::as_i64).is_none_or(|id| id >= offset));
            }
            state.updates.retain(|u| wanted(u));
            if !state.updates.is_empty() {
                return Ok(Value::Array(state.updates.iter().take(limit).cloned().collect()));
            }
        }
        if tokio::time::timeout_at(deadline, pushed).await.is_err() {
            return Ok(json!([]));
        }
    }
}

/// setWebhook: an empty url removes the webhook, like Telegram.
pub(crate) fn set_webhook(shared: &Shared, params: &Value) -> Reply {
    let url = str_param(params, "url").unwrap_or_default();
    let secret_token = str_param(params, "secret_token").filter(|s| !s.is_empty());
    if let Some(secret) = &secret_token {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if secret.len() > 256 || !secret.chars().all(allowed) {
            return Err(ApiError::bad_request("secret token contains unallowed characters"));
        }
    }
    let max_connections = int_param(params, "max_connections").map(|n| n.clamp(1, 100) as u32);
    let allowed_updates = json_param(params, "allowed_updates")
        .and_then(|v| v.as_array().map(|kinds| kinds.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect()));
    let drop_pending_updates = bool_param(params, "drop_pending_updates");
    if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ApiError::bad_request("bad webhook: An HTTPS URL must be provided for webhook"));
    }
    let mut state = shared.lock();
    if drop_pending_updates {
        state.updates.clear();
    }
    state.webhook_error = None;
    state.webhook = (!url.is_empty()).then_some(WebhookSettings {
        url,
        secret_token,
        allowed_updates,
        max_connections,
        drop_pending_updates,
    });
    Ok(json!(true))
}

/// deleteWebhook.
pub(crate) fn delete_webhook(shared: &Shared, params: &Value) -> Reply {
    let mut state = shared.lock();
    if bool_param(params, "drop_pending_updates") {
        state.updates.clear();
    }
    state.webhook = None;
    state.webhook_error = None;
    Ok(json!(true))
}

/// getWebhookInfo.
pub(crate) fn webhook_info(shared: &Shared) -> Value {
    let state = shared.lock();
    let mut info = json!({
        "url": state.webhook.as_ref().map_or("", |w| w.url.as_str()),
        "has_custom_certificate": false,
        "pending_update_count": state.updates.len(),
    });
    if let Some(webhook) = &state.webhook {
        info["max_connections"] = json!(webhook.max_connections.unwrap_or(40));
        info["ip_address"] = json!("127.0.0.1");
        if let Some(kinds) = &webhook.allowed_updates {
            info["allowed_updates"] = json!(kinds);
        }
    }
    if let Some((date, message)) = &state.webhook_error {
        info["last_error_date"] = json!(date);
        info["last_error_message"] = json!(message);
    }
    info
}
