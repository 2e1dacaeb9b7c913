//! `send_windows` and `bot_send_slots`: Telegram's flood limits as budgets in PostgreSQL, shared by every
//! execution (see `migrations/V13__send_budgets.sql` for how a slot is taken without anyone waiting).

use std::time::Duration;

use super::Sql;
use crate::config::SendLimits;

const TAKE: &str = "SELECT take_send_slot($1, $2, $3, $4, $5, $6, $7)";
/// After a 429: half the chat's budget for a while.
const SHRINK: &str = "INSERT INTO send_windows (chat_id, shrunk_until) \
    VALUES ($1, clock_timestamp() + make_interval(secs => $2)) \
    ON CONFLICT (chat_id) DO UPDATE SET shrunk_until = EXCLUDED.shrunk_until";
/// Skips a row a flusher holds (that send then goes uncounted; nothing waits for it).
const COUNT_SENT: &str = "WITH created AS (INSERT INTO send_windows (chat_id, sent_at) \
      VALUES ($1, ARRAY[clock_timestamp()]) ON CONFLICT (chat_id) DO NOTHING RETURNING chat_id) \
    UPDATE send_windows SET sent_at = sent_at || clock_timestamp() \
    WHERE chat_id = (SELECT chat_id FROM send_windows WHERE chat_id = $1 FOR UPDATE SKIP LOCKED) \
      AND NOT EXISTS (SELECT 1 FROM created)";
/// Rows of chats with nothing in their window and no shrink: they would be created again on the next send.
const PRUNE: &str = "DELETE FROM send_windows WHERE coalesce(shrunk_until, '-infinity') < now() \
    AND coalesce(sent_at[cardinality(sent_at)], '-infinity') < now() - interval '1 hour'";

/// The budget arguments `take_send_slot` and `take_head_slot` take after the chat (and the weight or `take`):
/// the chat's messages, padded window (s) and burst, the bot's messages and padded window (s).
pub(super) struct SlotArgs {
    pub chat_max: i32,
    pub chat_per: f64,
    pub burst: i32,
    pub bot_max: i32,
    pub bot_per: f64,
}

impl SlotArgs {
    pub(super) fn of(limits: &SendLimits, chat_id: i64) -> SlotArgs {
        let chat = limits.for_chat(chat_id);
        SlotArgs {
            chat_max: chat.messages as i32,
            chat_per: SendLimits::padded(chat).as_secs_f64(),
            burst: limits.burst(chat_id) as i32,
            bot_max: limits.bot.messages as i32,
            bot_per: SendLimits::padded(limits.bot).as_secs_f64(),
        }
    }
}

/// How long a chat's budget stays halved after a 429.
pub(crate) const SHRINK_AFTER_429: Duration = Duration::from_secs(600);

/// Takes room for `weight` messages to `chat_id` in its budget and the bot's, in the transaction that makes the
/// call (holding the chat's outbox lock). `None` when taken; else how long until there would be room.
pub(crate) async fn take_slot(
    db: &impl Sql,
    chat_id: i64,
    weight: u32,
    limits: &SendLimits,
) -> Result<Option<Duration>, tokio_postgres::Error> {
    let weight = i32::try_from(weight).unwrap_or(i32::MAX);
    let SlotArgs { chat_max, chat_per, burst, bot_max, bot_per } = SlotArgs::of(limits, chat_id);
    let row = db.query_one(TAKE, &[&chat_id, &weight, &chat_max, &chat_per, &burst, &bot_max, &bot_per]).await?;
    let wait: f64 = row.try_get(0)?;
    Ok((wait > 0.0).then(|| Duration::from_secs_f64(wait)))
}

/// Telegram answered 429 for `chat_id` after all: its budget is halved for [`SHRINK_AFTER_429`] (the call itself
/// waits its `retry_after`, and the chat's queue behind it).
pub(crate) async fn shrink(db: &impl Sql, chat_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(SHRINK, &[&chat_id, &SHRINK_AFTER_429.as_secs_f64()]).await?;
    Ok(())
}

/// Takes room for one message to `chat_id` that is sent outside the outbox (a claim's summary, sent at once so
/// that an operator who never started the bot is noticed), waiting for it up to `max_wait`: the chat's window and
/// the bot's are kept like the outbox keeps them. It waits for the chat's budget row while a flusher of that
/// chat holds it (that flusher waits for nothing this transaction holds), and holds it until commit, so what the
/// chat's queue sends next comes after. When there is still no room after `max_wait`, the message is counted
/// anyway and goes (a 429 then fails the update, which Telegram delivers again). Returns how long it waited.
pub(crate) async fn take_slot_waiting(
    db: &impl Sql,
    chat_id: i64,
    limits: &SendLimits,
    max_wait: Duration,
) -> Result<Duration, tokio_postgres::Error> {
    let started = std::time::Instant::now();
    while let Some(wait) = take_slot(db, chat_id, 1, limits).await? {
        if started.elapsed() + wait > max_wait {
            tracing::info!(chat_id, wait_ms = wait.as_millis() as u64, "no room for a direct send in time; it goes");
            count_sent(db, chat_id).await?;
            break;
        }
        tokio::time::sleep(wait).await;
    }
    Ok(started.elapsed())
}

/// Counts a message about to be sent to `chat_id` outside the outbox (a claim's summary, sent at once so that an
/// operator who never started the bot is noticed): what comes after it in the chat's queue waits for it. Never
/// waits for a lock.
pub(crate) async fn count_sent(db: &impl Sql, chat_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(COUNT_SENT, &[&chat_id]).await?;
    Ok(())
}

/// Forgets the budgets of chats idle for an hour; returns how many.
pub(crate) async fn prune(db: &impl Sql) -> Result<u64, tokio_postgres::Error> {
    db.execute(PRUNE, &[]).await
}

/// Pipelined with the outbox's statements, so prepared with them.
pub(super) const PREPARED: &[&str] = &[TAKE, SHRINK, COUNT_SENT];
