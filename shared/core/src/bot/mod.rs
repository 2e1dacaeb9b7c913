//! Update processing: one entry point, `process`, that every shell (Lambda, local server, polling) calls.
//! One transaction per update: record its id (duplicates stop here), lock the sender's conversation, decide,
//! write state and the Bot API calls to make (the outbox), commit; then send those calls.

mod bans;
mod blocked;
pub(crate) mod board;
mod card;
pub mod commands;
mod ctx;
mod delivery;
mod desk;
mod failures;
mod files;
mod history;
mod intake;
mod jobs;
mod keyboards;
mod lifecycle;
mod menu;
mod operator;
mod proxy;
mod ratings;
mod roles;
mod route;
mod stats;

use std::time::Instant;

use crate::app::App;
use crate::db::{DbError, Tx, updates, users};
use crate::telegram::{TelegramError, Update};

pub use delivery::{DELIVERY_BUDGET, Due, FLUSH_TURN, deliver, deliver_due, deliver_due_until, deliver_until};
pub use failures::{MAX_UPDATE_ATTEMPTS, PARK_AFTER, handle_update};
pub use jobs::{close_idle, expire_waiting, recheck_operator, remind_waiting, settle_stale_cards, warn_idle};
use route::Loaded;
pub use route::Route;

/// What processing an update did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The update took effect.
    Processed,
    /// Telegram redelivered an update that had already taken effect; nothing was done.
    Duplicate,
    /// An update we do not act on (group chatter, unknown kinds); nothing was stored.
    Ignored,
    /// An update that failed for good (or too often): recorded as processed, kept in `dead_letters` with its
    /// error, and its sender told it could not be handled. Telegram must not deliver it again.
    Parked,
}

/// Why an update could not be processed. Nothing was committed, so the update must be delivered again
/// (webhook 500, polling offset not confirmed); deduplication makes the retry safe. The one exception: a Bot API
/// call made inside the transaction before it failed (a database failure at that moment) is made again.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A Bot API call the decision depends on failed transiently.
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    /// The update came before one it depends on (an edit before the message it edits): delivered again, it finds
    /// it.
    #[error("not yet: {0}")]
    NotYet(&'static str),
}

impl ProcessError {
    /// Worth delivering the update again: the database was unreachable, busy, timed out or restarting, or the
    /// Bot API failed transiently. A failure the same update would meet again (a constraint, bad data, a refused
    /// Bot API call) is not.
    pub fn is_transient(&self) -> bool {
        match self {
            ProcessError::Db(e) => e.is_transient(),
            ProcessError::Telegram(e) => e.is_transient(),
            ProcessError::NotYet(_) => true,
        }
    }
}

impl From<tokio_postgres::Error> for ProcessError {
    fn from(e: tokio_postgres::Error) -> Self {
        ProcessError::Db(DbError::Postgres(e))
    }
}

impl From<deadpool_postgres::PoolError> for ProcessError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ProcessError::Db(DbError::Pool(e))
    }
}

/// Processes one update and sends the calls it decided on, within [`DELIVERY_BUDGET`] (see [`process_until`]).
pub async fn process(app: &App, update: &Update) -> Result<Outcome, ProcessError> {
    process_until(app, update, Instant::now() + DELIVERY_BUDGET).await
}

/// Processes one update and sends the calls it decided on; sending stops at `deadline`, and what is left stays
/// in the outbox for the periodic redelivery.
///
/// A relayed message costs one transaction and four round trips: BEGIN, the update's id, the conversation lock,
/// the sender and their tickets (pipelined); the message with its ticket's activity; the outbox call with the
/// chat's lock and queue; then, after the Bot API call, what it delivered with COMMIT.
pub async fn process_until(app: &App, update: &Update, deadline: Instant) -> Result<Outcome, ProcessError> {
    let Some(route) = Route::of(update, app.config.operators_chat_id) else {
        tracing::debug!(update_id = update.update_id, kind = update.kind(), "update ignored");
        return Ok(Outcome::Ignored);
    };
    let (tx, loaded) = match start(app, update, &route).await {
        Ok(started) => started,
        // A pooled connection that died while idle (a frozen Lambda, a database restart) shows only when used.
        // Nothing has happened yet, so the update starts again on a fresh connection.
        Err(ProcessError::Db(DbError::Postgres(e))) if crate::db::connection_lost(&e) => {
            tracing::info!("pooled database connection was closed; reconnecting");
            // Its idle siblings most likely died with it (a restart, a frozen environment): open fresh ones.
            let _ = app.db.retain(|_, _| false);
            start(app, update, &route).await?
        }
        Err(e) => return Err(e),
    };
    let Some(loaded) = loaded else {
        tx.rollback().await;
        tracing::info!(update_id = update.update_id, "redelivered update, already processed");
        return Ok(Outcome::Duplicate);
    };
    let mut ctx = ctx::Ctx::for_update(app, tx, deadline);
    if let Err(e) = loaded.dispatch(&mut ctx).await {
        ctx.rollback().await;
        return Err(e);
    }
    let deliveries = ctx.commit(deadline).await?;
    tracing::info!(update_id = update.update_id, kind = update.kind(), "update processed");
    deliveries.deliver(app, deadline).await;
    Ok(Outcome::Processed)
}

/// Opens the update's transaction: records its id, locks the sender's conversation and loads what the handler
/// needs, all in one round trip. `None` when the update was processed before.
async fn start<'u>(app: &App, update: &Update, route: &Route<'u>) -> Result<(Tx, Option<Loaded<'u>>), ProcessError> {
    let tx = Tx::begin(&app.db).await?;
    let (recorded, locked, loaded) = tokio::join!(
        updates::record_update(&tx, update.update_id, update.kind()),
        users::lock_conversation(&tx, route.sender_id()),
        route.load(&tx, app.config.role_cache_ttl)
    );
    if !recorded? {
        return Ok((tx, None));
    }
    locked?;
    Ok((tx, Some(loaded?)))
}
