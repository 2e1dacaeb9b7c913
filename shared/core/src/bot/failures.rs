//! Updates that fail: a transient failure (database, network, 5xx, 429) is counted and handed back so Telegram
//! delivers the update again; a permanent one, or the [`MAX_UPDATE_ATTEMPTS`]th transient one, parks the update
//! in `dead_letters` (recorded as processed, so it is never redelivered forever, and a polling loop moves on),
//! and its sender is told it could not be handled.

use std::time::{Duration, Instant};

use super::ctx::Ctx;
use super::{Outcome, ProcessError, Route, process_until};
use crate::app::App;
use crate::db::updates;
use crate::metrics::counters::Ended;
use crate::telegram::{SendMessage, Update};
use crate::texts;

/// Failed attempts after which an update is parked even though its failures looked transient…
pub const MAX_UPDATE_ATTEMPTS: i32 = 8;
/// …provided its first failure is at least this old: a short outage (Telegram or the database down for a few
/// minutes) must not park the updates that met it.
pub const PARK_AFTER: Duration = Duration::from_secs(10 * 60);

/// Processes an update as every shell should: like [`process_until`], but an update that cannot succeed is parked
/// and answered for, instead of failing on every delivery. `Err` only for a failure worth a redelivery.
pub async fn handle_update(app: &App, update: &Update, deadline: Instant) -> Result<Outcome, ProcessError> {
    let started = Instant::now();
    let handled = handle_counted(app, update, deadline).await;
    let ended = match handled {
        Ok(Outcome::Duplicate) => Ended::Duplicate,
        Ok(Outcome::Parked) | Err(_) => Ended::Failed,
        Ok(_) => Ended::Processed,
    };
    crate::metrics::counters::update_handled(update.kind(), ended, started.elapsed());
    handled
}

async fn handle_counted(app: &App, update: &Update, deadline: Instant) -> Result<Outcome, ProcessError> {
    let e = match process_until(app, update, deadline).await {
        Ok(outcome) => return Ok(outcome),
        Err(e) => e,
    };
    // The error's text carries SQLSTATEs and constraint names, never row values (see `DbError`).
    let error = e.to_string();
    let counted = match app.db.get().await {
        Ok(client) => updates::count_failure(&client, update.update_id, &error).await.map_err(ProcessError::from),
        Err(pool) => Err(pool.into()),
    };
    let (attempts, failing_for) = match counted {
        Ok(counted) => counted,
        // The database cannot even count: it is the trouble, and Telegram will deliver the update again.
        Err(_) if e.is_transient() => return Err(e),
        Err(_) => (1, Duration::ZERO),
    };
    if e.is_transient() && (attempts < MAX_UPDATE_ATTEMPTS || failing_for < PARK_AFTER) {
        tracing::warn!(update_id = update.update_id, attempts, error = %e, "update failed; to be delivered again");
        return Err(e);
    }
    tracing::error!(
        update_id = update.update_id,
        kind = update.kind(),
        attempts,
        transient = e.is_transient(),
        error = %e,
        "update parked in dead_letters"
    );
    park(app, update, attempts, &error, deadline).await?;
    Ok(Outcome::Parked)
}

/// Records the update as processed and parked, and tells its sender, in one transaction.
async fn park(app: &App, update: &Update, attempts: i32, error: &str, deadline: Instant) -> Result<(), ProcessError> {
    let mut body = serde_json::to_value(update).unwrap_or(serde_json::Value::Null);
    crate::outbox::scrub_nul(&mut body);
    let mut ctx = Ctx::begin(app).await?;
    if !updates::park(ctx.db(), update.update_id, update.kind(), attempts, error, &body).await? {
        // Processed meanwhile (a concurrent delivery succeeded): nothing to park.
        ctx.rollback().await;
        return Ok(());
    }
    match Route::of(update, app.config.operators_chat_id) {
        Some(Route::Button(query)) => ctx.alert(query, texts::UPDATE_FAILED)?,
        Some(Route::Private(message, _) | Route::Operators(message, ..)) => {
            ctx.send(SendMessage::new(message.chat_id(), texts::UPDATE_FAILED))?
        }
        Some(Route::EditedPrivate(..) | Route::Reaction(..)) | None => {}
    }
    ctx.commit(deadline).await?.deliver(app, deadline).await;
    Ok(())
}
