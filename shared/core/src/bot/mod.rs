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
use crate::db::{DbError, updates};
use crate::outbox;
use crate::telegram::{TelegramError, Update};

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
/// (webhook 500, polling offset not confirmed); deduplication makes the retry safe.
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
pub async fn process(app: &App, update: &Update) -> Result<Outcome, ProcessError> {
    let Some(route) = Route::of(app, update) else {
        tracing::debug!(update_id = update.update_id, kind = update.kind(), "update ignored");
        return Ok(Outcome::Ignored);
    };
    let mut client = app.db.get().await?;
    let tx = client.transaction().await?;
    if !updates::record_update(&*tx, update.update_id, update.kind()).await? {
        tracing::info!(update_id = update.update_id, "redelivered update, already processed");
        return Ok(Outcome::Duplicate);
    }
    lock_conversation(&*tx, route.sender_id()).await?;
    let mut ctx = ctx::Ctx::new(app, &tx);
    route.dispatch(&mut ctx).await?;
    let (chats, archive) = ctx.into_effects();
    tx.commit().await?;
    drop(client);
    tracing::info!(update_id = update.update_id, kind = update.kind(), "update processed");
    deliver(app, chats).await;
    if app.media.is_enabled()
        && let Err(e) = crate::media::archive::archive_messages(app, &archive).await
    {
        // Committed and delivered; the maintenance job retries what is still pending.
        tracing::warn!(error = format!("{e:#}"), "archiving deferred");
    }
    Ok(Outcome::Processed)
}

/// Serializes the updates of one conversation (one sender) until the transaction ends.
async fn lock_conversation(
    db: &impl tokio_postgres::GenericClient,
    sender_id: i64,
) -> Result<(), tokio_postgres::Error> {
    db.execute("SELECT pg_advisory_xact_lock(hashtextextended('conv:' || $1::bigint::text, 0))", &[&sender_id]).await?;
    Ok(())
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
    let mut budget = 16;
    while let Some(chat) = queue.pop_front() {
        match outbox::flush_chat(app, chat).await {
            Ok(flush) if !flush.more_chats.is_empty() && budget > 0 => {
                budget -= 1;
                queue.extend(flush.more_chats.into_iter().filter(|c| *c != chat));
            }
            Ok(flush) if flush.forbidden && budget > 0 => {
                budget -= 1;
                match blocked::chat_blocked(app, chat).await {
                    Ok(more) => queue.extend(more.into_iter().filter(|c| *c != chat)),
                    Err(e) => tracing::error!(chat_id = chat, error = %e, "could not handle a blocked chat"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(chat_id = chat, error = %e, "outbox not sent now; it stays pending"),
        }
    }
}

/// Sends every chat's due outbox calls (periodic redelivery after 429/5xx/network failures).
pub async fn deliver_due(app: &App) -> Result<u64, DbError> {
    let chats = outbox::due_chats(app, 500).await?;
    let n = chats.len() as u64;
    deliver(app, chats).await;
    Ok(n)
}
