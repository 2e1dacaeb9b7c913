//! What retention deletes, in bounded batches: old messages with their attachments, closed tickets with no messages
//! left, forgotten people, sent outbox calls, processed update ids, and the queued objects no row names any more.
//! The order and the locks that make this safe are `crate::maintenance`'s; here are the statements.

use chrono::{DateTime, Utc};

use super::Sql;

/// Closed tickets whose messages are all gone, with their cards.
const DELETE_TICKETS: &str = "WITH doomed AS MATERIALIZED (SELECT t.id FROM tickets t \
       WHERE t.status = 'CLOSED' AND t.closed_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = t.id) ORDER BY t.id LIMIT $2), \
     cards AS (DELETE FROM ticket_cards WHERE ticket_id IN (SELECT id FROM doomed)) \
     DELETE FROM tickets WHERE id IN (SELECT id FROM doomed)";

const DELETE_OUTBOX: &str = "DELETE FROM outbox WHERE id IN \
     (SELECT id FROM outbox WHERE status <> 'pending' AND created_at < $1 ORDER BY id LIMIT $2)";

/// What banned people sent, past the floor like dialog messages.
const DELETE_BANNED_MESSAGES: &str = "DELETE FROM banned_messages WHERE id IN \
     (SELECT id FROM banned_messages WHERE created_at < $1 ORDER BY id LIMIT $2)";

/// Bans lifted before the floor (a ban in force is kept however old: it is what keeps its person out).
const DELETE_LIFTED_BANS: &str = "DELETE FROM bans WHERE id IN \
     (SELECT id FROM bans WHERE lifted_at < $1 ORDER BY id LIMIT $2)";

const DELETE_PROCESSED_UPDATES: &str = "DELETE FROM processed_updates WHERE update_id IN \
     (SELECT update_id FROM processed_updates WHERE processed_at < $1 LIMIT $2)";

/// Takes due keys of the queue, each under its lock (a key an archiver holds is left for the next run), and
/// deletes the objects no row names (re-checked under the lock); the queue rows go in the same transaction.
const CLAIM_KEYS: &str = "WITH claimed AS MATERIALIZED (SELECT storage_key FROM media_deletions \
       WHERE not_before <= now() AND storage_key <> ALL($2) ORDER BY not_before, queued_at LIMIT $1 \
       FOR UPDATE SKIP LOCKED) \
     SELECT storage_key, pg_try_advisory_xact_lock(hashtextextended('media:' || storage_key, 0)) FROM claimed";

const UNREFERENCED: &str = "SELECT k FROM unnest($1::text[]) AS k \
     WHERE NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.storage_key = k)";

const DEQUEUE: &str = "DELETE FROM media_deletions WHERE storage_key = ANY($1)";

const DEFER: &str = "UPDATE media_deletions SET attempts = attempts + 1, last_error = $2, \
     not_before = now() + make_interval(secs => 60 * power(2, least(attempts, 10))) WHERE storage_key = $1";

/// People with no ticket left (as customer or as operator) and no activity inside the window are forgotten: the
/// users row goes (its Telegram id identifies them as much as a name would). Each is taken under their
/// conversation lock (the key `bot::process` takes), so nobody is deleted while an update of theirs is handled.
const CLAIM_USERS: &str = "WITH candidates AS MATERIALIZED (SELECT u.id, u.tg_id FROM users u \
       WHERE greatest(u.created_at, u.updated_at) < $1 \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.user_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.operator_tg_id = u.tg_id) \
       ORDER BY u.id LIMIT $2 FOR UPDATE SKIP LOCKED) \
     SELECT id, pg_try_advisory_xact_lock(hashtextextended('conv:' || tg_id::text, 0)) FROM candidates";

/// The same conditions again, in a statement after the locks (an update just committed is seen).
const DELETE_USERS: &str = "DELETE FROM users u WHERE u.id = ANY($1) AND greatest(u.created_at, u.updated_at) < $2 \
       AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.user_id = u.id) \
       AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.operator_tg_id = u.tg_id)";

const OLD_MESSAGES: &str = "SELECT id FROM ticket_messages WHERE created_at < $1 ORDER BY id LIMIT $2";
const DELETE_ATTACHMENTS: &str = "DELETE FROM message_attachments WHERE message_id = ANY($1) RETURNING storage_key";
const DELETE_MESSAGES: &str = "DELETE FROM ticket_messages WHERE id = ANY($1)";

/// Rows swept by age, a batch at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sweep {
    /// Closed tickets whose messages are all gone.
    Tickets,
    /// Outbox calls no longer pending.
    Outbox,
    /// Processed update ids.
    ProcessedUpdates,
    /// What banned people sent.
    BannedMessages,
    /// Bans lifted long ago.
    LiftedBans,
}

/// Deletes up to `batch` rows of `what` older than `before`; returns how many.
pub(crate) async fn sweep(
    db: &impl Sql,
    what: Sweep,
    before: DateTime<Utc>,
    batch: i64,
) -> Result<u64, tokio_postgres::Error> {
    let sql = match what {
        Sweep::Tickets => DELETE_TICKETS,
        Sweep::Outbox => DELETE_OUTBOX,
        Sweep::ProcessedUpdates => DELETE_PROCESSED_UPDATES,
        Sweep::BannedMessages => DELETE_BANNED_MESSAGES,
        Sweep::LiftedBans => DELETE_LIFTED_BANS,
    };
    db.execute(sql, &[&before, &batch]).await
}

/// Up to `limit` messages stored before `cutoff`, oldest id first.
pub(crate) async fn old_messages(
    db: &impl Sql,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<i64>, tokio_postgres::Error> {
    db.query(OLD_MESSAGES, &[&cutoff, &limit]).await?.iter().map(|r| r.try_get(0)).collect()
}

/// Deletes messages `ids` with their attachments; returns the messages deleted and the keys the deleted
/// attachments named (as deleted, not as read before: an archiver may name one on a row meanwhile).
pub(crate) async fn delete_messages(db: &impl Sql, ids: &[i64]) -> Result<(u64, Vec<String>), tokio_postgres::Error> {
    let keys: Vec<Option<String>> =
        db.query(DELETE_ATTACHMENTS, &[&ids]).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    let deleted = db.execute(DELETE_MESSAGES, &[&ids]).await?;
    Ok((deleted, keys.into_iter().flatten().collect()))
}

/// Up to `limit` due keys of the deletion queue (none of `busy`), row-locked, each with whether its key lock was
/// free (see [`CLAIM_KEYS`]).
pub(crate) async fn claim_keys(
    db: &impl Sql,
    limit: i64,
    busy: &[String],
) -> Result<Vec<(String, bool)>, tokio_postgres::Error> {
    let rows = db.query(CLAIM_KEYS, &[&limit, &busy]).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Those of `keys` that no attachment row names. Run it in a statement after the key locks were taken.
pub(crate) async fn unreferenced(db: &impl Sql, keys: &[String]) -> Result<Vec<String>, tokio_postgres::Error> {
    db.query(UNREFERENCED, &[&keys]).await?.iter().map(|r| r.try_get(0)).collect()
}

/// A key whose object could not be deleted is retried later, with backoff.
pub(crate) async fn defer_deletion(db: &impl Sql, key: &str, error: &str) -> Result<(), tokio_postgres::Error> {
    db.execute(DEFER, &[&key, &error]).await?;
    Ok(())
}

/// Removes `keys` from the deletion queue (their objects are gone).
pub(crate) async fn dequeue(db: &impl Sql, keys: &[&String]) -> Result<(), tokio_postgres::Error> {
    db.execute(DEQUEUE, &[&keys]).await?;
    Ok(())
}

/// Up to `limit` people to forget (see [`CLAIM_USERS`]), each with whether their conversation lock was free.
pub(crate) async fn claim_users(
    db: &impl Sql,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(i64, bool)>, tokio_postgres::Error> {
    let rows = db.query(CLAIM_USERS, &[&cutoff, &limit]).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Forgets people `ids` if nothing keeps them since (see [`DELETE_USERS`]); returns how many.
pub(crate) async fn delete_users(
    db: &impl Sql,
    ids: &[i64],
    cutoff: DateTime<Utc>,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(DELETE_USERS, &[&ids, &cutoff]).await
}
