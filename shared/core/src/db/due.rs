//! The tickets the scheduled jobs are due to act on (idle warnings, idle closes, waiting reminders), and the marks
//! that make each act once: every mark re-checks the condition, so a ticket that changed meanwhile is left alone.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::Sql;
use super::tickets::{TicketRow, from_row, lock_ticket_where};

/// Tickets looked at per run of a ticket job.
pub(crate) const JOB_BATCH: i64 = 100;

/// Assigned tickets quiet since `since` and not warned yet, oldest id first.
pub(crate) async fn idle_unwarned(db: &impl Sql, since: DateTime<Utc>) -> Result<Vec<i64>, tokio_postgres::Error> {
    let sql = "SELECT id FROM tickets WHERE status = 'ASSIGNED' AND idle_warned_at IS NULL AND last_activity_at <= $1 \
               ORDER BY id LIMIT $2";
    ids(db.query(sql, &[&since, &JOB_BATCH]).await?)
}

/// Marks ticket `id` warned at `now` if it is still assigned, unwarned and quiet since `since`; returns its
/// customer and operator then.
pub(crate) async fn mark_idle_warned(
    db: &impl Sql,
    id: i64,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<Option<(i64, Option<i64>)>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "UPDATE tickets t SET idle_warned_at = $2 FROM users u WHERE t.id = $1 AND u.id = t.user_id \
             AND t.status = 'ASSIGNED' AND t.idle_warned_at IS NULL AND t.last_activity_at <= $3 \
             RETURNING u.tg_id, t.operator_tg_id",
            &[&id, &now, &since],
        )
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Assigned tickets quiet since `since` and warned before `warned_before`, oldest id first.
pub(crate) async fn idle_warned(
    db: &impl Sql,
    since: DateTime<Utc>,
    warned_before: DateTime<Utc>,
) -> Result<Vec<i64>, tokio_postgres::Error> {
    let sql = "SELECT id FROM tickets WHERE status = 'ASSIGNED' AND idle_warned_at <= $2 AND last_activity_at <= $1 \
               ORDER BY id LIMIT $3";
    ids(db.query(sql, &[&since, &warned_before, &JOB_BATCH]).await?)
}

/// Ticket `id`, row-locked, if it is still assigned, quiet since `since` and warned before `warned_before`.
pub(crate) async fn lock_if_idle(
    db: &impl Sql,
    id: i64,
    since: DateTime<Utc>,
    warned_before: DateTime<Utc>,
) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    let row = db.query_opt(LOCK_IF_IDLE, &[&id, &since, &warned_before]).await?;
    row.as_ref().map(from_row).transpose()
}

const LOCK_IF_IDLE: &str =
    lock_ticket_where!("t.id = $1 AND t.status = 'ASSIGNED' AND t.last_activity_at <= $2 AND t.idle_warned_at <= $3");

/// When reminders are due: for tickets in the queue since before `created_before`, not reminded since `reminded_before`, and
/// reminded fewer than `max` times.
#[derive(Clone, Copy, Debug)]
pub struct ReminderDue {
    /// In the queue (`queued_at`: opened, or handed back) since at least then.
    pub created_before: DateTime<Utc>,
    /// Not reminded since then.
    pub reminded_before: DateTime<Utc>,
    /// Reminded fewer times than this.
    pub max: u32,
}

/// Waiting tickets a reminder is due for, oldest id first.
pub(crate) async fn due_reminders(db: &impl Sql, due: ReminderDue) -> Result<Vec<i64>, tokio_postgres::Error> {
    let sql = "SELECT id FROM tickets WHERE status = 'WAITING' AND queued_at <= $1 \
               AND (reminded_at IS NULL OR reminded_at <= $2) AND reminders_sent < $3 ORDER BY id LIMIT $4";
    let max = i32::try_from(due.max).unwrap_or(i32::MAX);
    ids(db.query(sql, &[&due.created_before, &due.reminded_before, &max, &JOB_BATCH]).await?)
}

/// Marks waiting ticket `id` reminded at `now` if a reminder is still due; returns when the ticket joined the queue and
/// how many reminders it has had, this one included.
pub(crate) async fn mark_reminded(
    db: &impl Sql,
    id: i64,
    now: DateTime<Utc>,
    due: ReminderDue,
) -> Result<Option<(DateTime<Utc>, u32)>, tokio_postgres::Error> {
    let max = i32::try_from(due.max).unwrap_or(i32::MAX);
    let row = db
        .query_opt(
            "UPDATE tickets SET reminded_at = $2, reminders_sent = reminders_sent + 1 WHERE id = $1 \
             AND status = 'WAITING' AND queued_at <= $3 AND (reminded_at IS NULL OR reminded_at <= $4) \
             AND reminders_sent < $5 RETURNING queued_at, reminders_sent",
            &[&id, &now, &due.created_before, &due.reminded_before, &max],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((r.try_get(0)?, u32::try_from(r.try_get::<_, i32>(1)?).unwrap_or(0))))
}

/// Tickets still waiting that joined the queue before `created_before`, oldest id first.
pub(crate) async fn expired_waiting(
    db: &impl Sql,
    created_before: DateTime<Utc>,
) -> Result<Vec<i64>, tokio_postgres::Error> {
    let sql = "SELECT id FROM tickets WHERE status = 'WAITING' AND queued_at <= $1 ORDER BY id LIMIT $2";
    ids(db.query(sql, &[&created_before, &JOB_BATCH]).await?)
}

/// Ticket `id`, row-locked, if it is still waiting and joined the queue before `created_before`.
pub(crate) async fn lock_if_expired(
    db: &impl Sql,
    id: i64,
    created_before: DateTime<Utc>,
) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    let row = db.query_opt(LOCK_IF_EXPIRED, &[&id, &created_before]).await?;
    row.as_ref().map(from_row).transpose()
}

const LOCK_IF_EXPIRED: &str = lock_ticket_where!("t.id = $1 AND t.status = 'WAITING' AND t.queued_at <= $2");

/// Tickets no longer waiting that still have a message inviting an action (a card or the customer's place in the
/// queue that went out, or was recorded, after the ticket left the queue), oldest id first.
pub(crate) async fn stale_cards(db: &impl Sql) -> Result<Vec<i64>, tokio_postgres::Error> {
    let sql = "SELECT DISTINCT c.ticket_id FROM ticket_cards c JOIN tickets t ON t.id = c.ticket_id \
               WHERE c.settled_at IS NULL AND t.status <> 'WAITING' ORDER BY 1 LIMIT $1";
    ids(db.query(sql, &[&JOB_BATCH]).await?)
}

/// Assigned tickets whose operator's membership was last checked longer than `ttl` ago (or never), but for
/// operators in `listed` (`SUPERVISOR_IDS`), oldest id first.
pub(crate) async fn unchecked_operators(
    db: &impl Sql,
    ttl: std::time::Duration,
    listed: &[i64],
) -> Result<Vec<i64>, tokio_postgres::Error> {
    let sql = "SELECT t.id FROM tickets t LEFT JOIN operator_checks c ON c.tg_id = t.operator_tg_id \
               WHERE t.status = 'ASSIGNED' AND t.operator_tg_id <> ALL($2) \
               AND (c.checked_at IS NULL OR c.checked_at <= now() - make_interval(secs => $1)) ORDER BY t.id LIMIT $3";
    let ttl = super::operators::ttl_seconds(ttl);
    ids(db.query(sql, &[&ttl, &listed, &JOB_BATCH]).await?)
}

/// The operator of ticket `id` while it is assigned (read without a lock).
pub(crate) async fn operator_of(db: &impl Sql, id: i64) -> Result<Option<i64>, tokio_postgres::Error> {
    let sql = "SELECT operator_tg_id FROM tickets WHERE id = $1 AND status = 'ASSIGNED'";
    Ok(db.query_opt(sql, &[&id]).await?.map(|r| r.try_get(0)).transpose()?.flatten())
}

fn ids(rows: Vec<Row>) -> Result<Vec<i64>, tokio_postgres::Error> {
    rows.iter().map(|r| r.try_get(0)).collect()
}
