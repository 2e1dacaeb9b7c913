//! `bans` and `banned_messages`: who a supervisor barred from the desk, and what they sent while barred.

use chrono::{DateTime, Utc};

use super::{Sql, pg_text_opt};
pub(crate) use crate::domain::BannedEvent;
use crate::domain::ContentKind;

const IN_FORCE: &str = "SELECT id FROM bans WHERE tg_id = $1 AND lifted_at IS NULL";
/// The ban in force against `tg_id`, if any. Pipelined with the update's load, under the sender's conversation
/// lock (the lock `/ban` takes before it writes the ban).
pub(crate) async fn in_force(db: &impl Sql, tg_id: i64) -> Result<Option<i64>, tokio_postgres::Error> {
    db.query_opt(IN_FORCE, &[&tg_id]).await?.map(|r| r.try_get(0)).transpose()
}

/// One thing a banned person sent, as stored.
#[derive(Clone, Debug, Default)]
pub(crate) struct BannedRecord<'a> {
    /// Their message's id in their chat (messages, edits, reactions).
    pub message_id: Option<i64>,
    /// The message's kind (messages, edits).
    pub content: Option<ContentKind>,
    /// The text or caption; a press's data; a reaction's emoji.
    pub body: Option<&'a str>,
    /// The file it carried: Telegram's `file_id` and `file_unique_id`.
    pub file: Option<(&'a str, &'a str)>,
}

/// Stores what the banned person sent, and takes the day's reply if it is due: one statement.
const RECORD: &str = "WITH stored AS (\
      INSERT INTO banned_messages (ban_id, tg_id, event, tg_message_id, content_type, body, file_id, file_unique_id) \
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)) \
    UPDATE bans SET replied_at = now() WHERE id = $1 AND $9 \
      AND (replied_at IS NULL OR replied_at <= now() - interval '1 day') RETURNING true";
/// Stores `record` under ban `ban_id`; true when the person is to get the polite reply now (the first message or
/// press for a day).
pub(crate) async fn record(
    db: &impl Sql,
    ban_id: i64,
    tg_id: i64,
    event: BannedEvent,
    record: &BannedRecord<'_>,
) -> Result<bool, tokio_postgres::Error> {
    let (file_id, file_unique_id) = record.file.unzip();
    let reply = event.answerable();
    let row = db
        .query_opt(
            RECORD,
            &[
                &ban_id,
                &tg_id,
                &event.as_str(),
                &record.message_id,
                &record.content,
                &pg_text_opt(record.body),
                &file_id,
                &file_unique_id,
                &reply,
            ],
        )
        .await?;
    Ok(row.is_some())
}

const CUSTOMER_OF: &str = "SELECT u.id, u.tg_id FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1";
/// Ticket `ticket_id`'s customer: their `users.id` and Telegram id (they never change: read without a lock).
pub(crate) async fn customer_of(db: &impl Sql, ticket_id: i64) -> Result<Option<(i64, i64)>, tokio_postgres::Error> {
    db.query_opt(CUSTOMER_OF, &[&ticket_id]).await?.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

const BAN: &str = "INSERT INTO bans (tg_id, ticket_id, reason, banned_by) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (tg_id) WHERE lifted_at IS NULL DO NOTHING RETURNING id";
/// Bans `tg_id`; `None` when a ban is in force already.
pub(crate) async fn ban(
    db: &impl Sql,
    tg_id: i64,
    ticket_id: i64,
    reason: Option<&str>,
    by: i64,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = db.query_opt(BAN, &[&tg_id, &ticket_id, &pg_text_opt(reason), &by]).await?;
    row.map(|r| r.try_get(0)).transpose()
}

const REPLIED: &str = "UPDATE bans SET replied_at = now() WHERE id = $1";
/// Notes that the person was just given the polite reply (the day's one).
pub(crate) async fn replied(db: &impl Sql, ban_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(REPLIED, &[&ban_id]).await?;
    Ok(())
}

const LIFT: &str =
    "UPDATE bans SET lifted_at = now(), lifted_by = $2 WHERE tg_id = $1 AND lifted_at IS NULL RETURNING id";
/// Lifts the ban in force against `tg_id`; false when there was none.
pub(crate) async fn lift(db: &impl Sql, tg_id: i64, by: i64) -> Result<bool, tokio_postgres::Error> {
    Ok(db.query_opt(LIFT, &[&tg_id, &by]).await?.is_some())
}

/// A ban in force, as `/bans` lists it.
#[derive(Clone, Debug)]
pub(crate) struct BanRow {
    /// Who is banned.
    pub tg_id: i64,
    /// How operators see them (`None` once retention forgot their profile).
    pub username: Option<String>,
    /// Their first name, as Telegram gave it.
    pub first_name: Option<String>,
    /// The ticket `/ban` named.
    pub ticket_id: Option<i64>,
    /// The supervisor's reason.
    pub reason: Option<String>,
    /// Since when.
    pub banned_at: DateTime<Utc>,
    /// How many things they sent while banned.
    pub stored: i64,
}

const LIST: &str = "SELECT b.tg_id, u.username, u.first_name, b.ticket_id, b.reason, b.banned_at, \
       (SELECT count(*) FROM banned_messages m WHERE m.ban_id = b.id), count(*) OVER () \
     FROM bans b LEFT JOIN users u ON u.tg_id = b.tg_id WHERE b.lifted_at IS NULL \
     ORDER BY b.banned_at DESC, b.id DESC LIMIT $1";
/// The newest `limit` bans in force, and how many are in force in all.
pub(crate) async fn list(db: &impl Sql, limit: i64) -> Result<(Vec<BanRow>, i64), tokio_postgres::Error> {
    let rows = db.query(LIST, &[&limit]).await?;
    let total = rows.first().map(|r| r.try_get(7)).transpose()?.unwrap_or(0);
    let bans = rows
        .iter()
        .map(|r| {
            Ok(BanRow {
                tg_id: r.try_get(0)?,
                username: r.try_get(1)?,
                first_name: r.try_get(2)?,
                ticket_id: r.try_get(3)?,
                reason: r.try_get(4)?,
                banned_at: r.try_get(5)?,
                stored: r.try_get(6)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    Ok((bans, total))
}

/// Pipelined with every update's load.
pub(super) const PREPARED: &[&str] = &[IN_FORCE];
