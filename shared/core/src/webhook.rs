//! The webhook endpoint's logic, shared by the Lambda and the local server: secret check, size limit,
//! parse, process, and the HTTP status Telegram should see.

use std::time::Instant;

use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::bot::{self, Outcome};
use crate::telegram::Update;

/// The header Telegram sends with the secret given to setWebhook.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// Largest body accepted. A real update is a few KiB; a 4096-character message is under 20 KiB of JSON.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The answer to one webhook call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookReply {
    /// What Telegram is answered with: 200 (done, or never worth a retry), 401 or 413 (refused), 500 (deliver again).
    pub status: u16,
    /// Short plain-text body.
    pub body: &'static str,
}

impl WebhookReply {
    const fn new(status: u16, body: &'static str) -> Self {
        WebhookReply { status, body }
    }
}

/// True when `given` equals the configured secret; compared in constant time.
pub fn secret_matches(app: &App, given: Option<&[u8]>) -> bool {
    match (&app.config.webhook_secret, given) {
        (Some(expected), Some(given)) => expected.expose_secret().as_bytes().ct_eq(given).into(),
        _ => false,
    }
}

/// Handles one webhook call with the default time budget for sending (see [`handle_until`]).
pub async fn handle(app: &App, secret: Option<&[u8]>, body: &[u8]) -> WebhookReply {
    handle_until(app, secret, body, Instant::now() + bot::DELIVERY_BUDGET).await
}

/// Handles one webhook call:
/// wrong or missing secret → 401; body over [`MAX_BODY_BYTES`] → 413; unparseable body → logged, 200
/// (Telegram would redeliver it forever); processed or duplicate → 200; an update that failed for good (or too
/// often) → parked, 200; a transient failure before commit → 500, so Telegram redelivers (deduplication makes
/// that safe). Sending after the commit stops at `deadline`; the rest stays in the outbox.
pub async fn handle_until(app: &App, secret: Option<&[u8]>, body: &[u8], deadline: Instant) -> WebhookReply {
    if !secret_matches(app, secret) {
        tracing::warn!(secret_present = secret.is_some(), "webhook call with a wrong or missing secret");
        return WebhookReply::new(401, "unauthorized");
    }
    if body.len() > MAX_BODY_BYTES {
        tracing::warn!(bytes = body.len(), "webhook body too large");
        return WebhookReply::new(413, "payload too large");
    }
    let update: Update = match serde_json::from_slice(body) {
        Ok(update) => update,
        Err(e) => {
            // The body may carry personal data: log the error and size only.
            tracing::warn!(error = %e, bytes = body.len(), "webhook body is not an update; dropped");
            return WebhookReply::new(200, "ignored");
        }
    };
    match bot::handle_update(app, &update, deadline).await {
        Ok(Outcome::Processed) => WebhookReply::new(200, "ok"),
        Ok(Outcome::Duplicate) => WebhookReply::new(200, "duplicate"),
        Ok(Outcome::Ignored) => WebhookReply::new(200, "ignored"),
        Ok(Outcome::Parked) => WebhookReply::new(200, "parked"),
        Err(e) => {
            tracing::error!(update_id = update.update_id, error = %e, "update not processed; Telegram will redeliver");
            WebhookReply::new(500, "retry later")
        }
    }
}
