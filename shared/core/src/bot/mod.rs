//! Update processing: one entry point, `process`, that every shell (Lambda, local server, polling) calls.
//! One transaction per update: record its id (duplicates stop here), lock the sender's conversation, decide,
//! write state and the Bot API calls to make (the outbox), commit; then send those calls.

mod blocked;
pub(crate) mod ctx;
mod files;
pub(crate) mod intake;
pub(crate) mod keyboards;
mod menu;
mod proxy;
mod route;
mod tickets;

use std::collections::VecDeque;

use crate::app::App;
use crate::db::{DbError, Tx, updates};
use crate::outbox;
use crate::telegram::{TelegramError, Update};

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

/// Processes one update and sends the calls it decided on.
///
/// A relayed message costs one transaction and four round trips: BEGIN, the update's id, the conversation lock,
/// the sender and their tickets (pipelined); the message with its ticket's activity; the outbox call with the
/// chat's lock and queue; then, after the Bot API call, what it delivered with COMMIT.
pub async fn process(app: &App, update: &Update) -> Result<Outcome, ProcessError> {
    let Some(route) = Route::of(app, update) else {
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
    let mut ctx = ctx::Ctx::new(app, &tx);
    let dispatched = loaded.dispatch(&mut ctx).await;
    let (calls, archive) = ctx.into_effects();
    if let Err(e) = dispatched {
        tx.rollback().await;
        return Err(e);
    }
    match ctx::chats_of(&calls).as_slice() {
        // One destination (a relayed message, most replies): sent inside this transaction.
        [chat] => {
            let flush = outbox::write_and_flush(app, tx, *chat, &calls, outbox::Lock::Try).await?;
            tracing::info!(update_id = update.update_id, kind = update.kind(), "update processed");
            follow_up(app, *chat, flush).await;
        }
        chats => {
            outbox::write_and_commit(&tx, &calls).await?;
            drop(tx);
            tracing::info!(update_id = update.update_id, kind = update.kind(), "update processed");
            deliver(app, chats.to_vec()).await;
        }
    }
    if app.media.is_enabled()
        && let Err(e) = crate::media::archive::archive_messages(app, &archive).await
    {
        // Committed and delivered; the maintenance job retries what is still pending.
        tracing::warn!(error = format!("{e:#}"), "archiving deferred");
    }
    Ok(Outcome::Processed)
}

/// Opens the update's transaction: records its id, locks the sender's conversation and loads what the handler
/// needs, all in one round trip. `None` when the update was processed before.
async fn start<'u>(app: &App, update: &Update, route: &Route<'u>) -> Result<(Tx, Option<Loaded<'u>>), ProcessError> {
    let tx = Tx::begin(&app.db).await?;
    let [upsert, tickets, message, touch] = route::STATEMENTS;
    tx.prepare_all(&[updates::RECORD, LOCK_CONVERSATION, upsert, tickets, message, touch]).await?;
    let (recorded, locked, loaded) = tokio::join!(
        updates::record_update(&tx, update.update_id, update.kind()),
        lock_conversation(&tx, route.sender_id()),
        route.load(&tx)
    );
    if !recorded? {
        return Ok((tx, None));
    }
    locked?;
    Ok((tx, Some(loaded?)))
}

const LOCK_CONVERSATION: &str = "SELECT pg_advisory_xact_lock(hashtextextended('conv:' || $1::bigint::text, 0))";

/// Serializes the updates of one conversation (one sender) until the transaction ends.
async fn lock_conversation(db: &impl crate::db::Sql, sender_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(LOCK_CONVERSATION, &[&sender_id]).await?;
    Ok(())
}

/// After a chat was flushed: a 403 triggers the blocked-bot handling, a refused copy tells its sender.
async fn follow_up(app: &App, chat: i64, flush: outbox::ChatFlush) {
    let mut queue = VecDeque::new();
    if flush.unsent {
        queue.push_back(chat);
    }
    let mut budget = 16;
    after_flush(app, chat, flush, &mut queue, &mut budget).await;
    drain(app, queue, budget).await;
}

async fn after_flush(app: &App, chat: i64, flush: outbox::ChatFlush, queue: &mut VecDeque<i64>, budget: &mut u32) {
    if *budget == 0 {
        return;
    }
    if !flush.more_chats.is_empty() {
        *budget -= 1;
        queue.extend(flush.more_chats.into_iter().filter(|c| *c != chat));
    } else if flush.forbidden {
        *budget -= 1;
        match blocked::chat_blocked(app, chat).await {
            Ok(more) => queue.extend(more.into_iter().filter(|c| *c != chat)),
            Err(e) => tracing::error!(chat_id = chat, error = %e, "could not handle a blocked chat"),
        }
    }
}

async fn drain(app: &App, mut queue: VecDeque<i64>, mut budget: u32) {
    while let Some(chat) = queue.pop_front() {
        match outbox::flush_chat(app, chat).await {
            Ok(flush) => after_flush(app, chat, flush, &mut queue, &mut budget).await,
            Err(e) => tracing::warn!(chat_id = chat, error = %e, "outbox not sent now; it stays pending"),
        }
    }
}

/// Sends the outbox of `chats`, in order per chat. A 403 from a chat triggers the blocked-bot handling, whose own
/// messages are sent too. Failures are logged and left pending for the next flush or the maintenance job.
pub async fn deliver(app: &App, chats: Vec<i64>) {
    let mut queue: VecDeque<i64> = VecDeque::new();
    for chat in chats {
        if !queue.contains(&chat) {
            queue.push_back(chat);
        }
    }
    drain(app, queue, 16).await;
}

/// Sends every chat's due outbox calls (periodic redelivery after 429/5xx/network failures).
pub async fn deliver_due(app: &App) -> Result<u64, DbError> {
    let chats = outbox::due_chats(app, 500).await?;
    let n = chats.len() as u64;
    deliver(app, chats).await;
    Ok(n)
}
