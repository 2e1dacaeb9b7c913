//! `tickets`: a customer's request from the queue (WAITING) through a dialog (ASSIGNED) to CLOSED.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::Sql;
pub(crate) use super::operators::{Membership, cached_membership, remember_role};
pub use crate::domain::Status;
use crate::domain::{CloseReason, Topic};

/// A ticket with its customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TicketRow {
    /// Shown as #id.
    pub id: i64,
    /// The customer's `users.id`.
    pub user_id: i64,
    /// The customer's Telegram id, which is also their private chat with the bot.
    pub customer_tg_id: i64,
    /// What the customer asked about.
    pub topic: Topic,
    /// The phone the ticket was opened with, E.164.
    pub phone: String,
    /// Where the ticket is.
    pub status: Status,
    /// The operator, when assigned (kept after close).
    pub operator_tg_id: Option<i64>,
    /// The operator's summary message with «Завершить диалог».
    pub operator_message_id: Option<i64>,
    /// The card in the operators' chat, once Telegram confirmed it.
    pub card: Option<(i64, i64)>,
}

/// `SELECT … FOR UPDATE OF t` of a ticket with its customer, filtered by `$filter` on `$1`.
macro_rules! lock_ticket_where {
    ($filter:literal) => {
        concat!(
            "SELECT t.id, t.user_id, u.tg_id, t.topic, t.phone, t.status, t.operator_tg_id, t.operator_message_id, ",
            "t.card_chat_id, t.card_message_id FROM tickets t JOIN users u ON u.id = t.user_id WHERE ",
            $filter,
            " FOR UPDATE OF t"
        )
    };
}

pub(super) use lock_ticket_where;

const LOCK_BY_ID: &str = lock_ticket_where!("t.id = $1");
/// Both tickets of a sender (see [`lock_tickets_of`]), locked in id order so that two people who are each
/// other's operator and customer cannot deadlock.
pub(crate) const LOCK_BOTH_OF: &str = concat!(
    "SELECT t.id, t.user_id, u.tg_id, t.topic, t.phone, t.status, t.operator_tg_id, t.operator_message_id, ",
    "t.card_chat_id, t.card_message_id, (t.operator_tg_id = $1 AND t.status = 'ASSIGNED') AS as_operator, ",
    "(u.tg_id = $1 AND t.status <> 'CLOSED') AS as_customer, ",
    "(SELECT ",
    super::operators::stored_role!("c"),
    " FROM operator_checks c WHERE c.tg_id = $1 AND c.checked_at > now() - make_interval(secs => $2)), ",
    "(SELECT ",
    super::operators::stored_role!("c"),
    " FROM operator_checks c WHERE c.tg_id = $1) ",
    "FROM tickets t JOIN users u ON u.id = t.user_id ",
    "WHERE (t.operator_tg_id = $1 AND t.status = 'ASSIGNED') OR (u.tg_id = $1 AND t.status <> 'CLOSED') ",
    "ORDER BY t.id FOR UPDATE OF t"
);
/// The customer's open ticket (see [`lock_open_ticket_of_customer`]).
const LOCK_OPEN_OF_CUSTOMER: &str = lock_ticket_where!("u.tg_id = $1 AND t.status <> 'CLOSED'");
/// The operator's active ticket (see [`lock_active_ticket_of_operator`]).
const LOCK_ACTIVE_OF_OPERATOR: &str = lock_ticket_where!("t.operator_tg_id = $1 AND t.status = 'ASSIGNED'");

pub(super) fn from_row(row: &Row) -> Result<TicketRow, tokio_postgres::Error> {
    Ok(TicketRow {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        customer_tg_id: row.try_get(2)?,
        topic: row.try_get(3)?,
        phone: row.try_get(4)?,
        status: row.try_get(5)?,
        operator_tg_id: row.try_get(6)?,
        operator_message_id: row.try_get(7)?,
        card: row.try_get::<_, Option<i64>>(8)?.zip(row.try_get::<_, Option<i64>>(9)?),
    })
}

async fn one(db: &impl Sql, sql: &str, id: i64) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    db.query_opt(sql, &[&id]).await?.as_ref().map(from_row).transpose()
}

/// A ticket by id, row-locked for the rest of the transaction.
pub(crate) async fn lock_ticket(db: &impl Sql, id: i64) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    one(db, LOCK_BY_ID, id).await
}

/// The customer's open (WAITING or ASSIGNED) ticket, row-locked.
pub(crate) async fn lock_open_ticket_of_customer(
    db: &impl Sql,
    customer_tg_id: i64,
) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    one(db, LOCK_OPEN_OF_CUSTOMER, customer_tg_id).await
}

/// The sender's tickets, as [`lock_tickets_of`] reads them.
#[derive(Clone, Debug, Default)]
pub(crate) struct SenderTickets {
    /// The ticket the sender works on as an operator.
    pub as_operator: Option<TicketRow>,
    /// The sender's own open ticket as a customer.
    pub as_customer: Option<TicketRow>,
    /// The sender's role in the operators' chat, as last checked.
    pub member: Membership,
}

/// The sender's active ticket as an operator and open ticket as a customer, both row-locked, with their cached
/// role in the operators' chat (fresh when younger than `ttl`), in one statement.
pub(crate) async fn lock_tickets_of(
    db: &impl Sql,
    tg_id: i64,
    ttl: std::time::Duration,
) -> Result<SenderTickets, tokio_postgres::Error> {
    let mut found = SenderTickets::default();
    for row in db.query(LOCK_BOTH_OF, &[&tg_id, &super::operators::ttl_seconds(ttl)]).await? {
        found.member = Membership { fresh: row.try_get(12)?, last: row.try_get(13)? };
        if row.try_get::<_, Option<bool>>(10)?.unwrap_or(false) {
            found.as_operator = Some(from_row(&row)?);
        }
        if row.try_get::<_, Option<bool>>(11)?.unwrap_or(false) {
            found.as_customer = Some(from_row(&row)?);
        }
    }
    Ok(found)
}

/// The statement of [`touch`].
const TOUCH: &str = "UPDATE tickets SET last_activity_at = now(), idle_warned_at = NULL, \
     first_reply_at = CASE WHEN $2 THEN coalesce(first_reply_at, now()) ELSE first_reply_at END, \
     operator_reply_at = CASE WHEN $2 THEN coalesce(operator_reply_at, now()) ELSE operator_reply_at END WHERE id = $1";

/// The operator's active (ASSIGNED) ticket, row-locked.
pub(crate) async fn lock_active_ticket_of_operator(
    db: &impl Sql,
    operator_tg_id: i64,
) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    one(db, LOCK_ACTIVE_OF_OPERATOR, operator_tg_id).await
}

const INSERT: &str = "INSERT INTO tickets (user_id, topic, phone) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) WHERE status <> 'CLOSED' DO NOTHING RETURNING id";
const OPENED_TODAY: &str = "SELECT count(*) FILTER (WHERE created_at > now() - interval '1 day'), \
     coalesce(bool_or(status <> 'CLOSED'), false) FROM tickets \
     WHERE user_id = $1 AND (created_at > now() - interval '1 day' OR status <> 'CLOSED')";
/// How many tickets customer `user_id` opened within the last 24 hours, and whether one is open now.
pub(crate) async fn opened_today(db: &impl Sql, user_id: i64) -> Result<(i64, bool), tokio_postgres::Error> {
    let row = db.query_one(OPENED_TODAY, &[&user_id]).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Creates a WAITING ticket; `None` when the customer already has an open one (the database enforces one).
pub(crate) async fn insert_ticket(
    db: &impl Sql,
    user_id: i64,
    topic: Topic,
    phone: &str,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = db.query_opt(INSERT, &[&user_id, &topic, &phone]).await?;
    row.map(|r| r.try_get(0)).transpose()
}

const CLAIM: &str = "UPDATE tickets SET status = 'ASSIGNED', operator_tg_id = $2, assigned_at = now(), last_activity_at = now(), \
               idle_warned_at = NULL, first_assigned_at = coalesce(first_assigned_at, now()), operator_reply_at = NULL WHERE id = $1 AND status = 'WAITING' AND board_id IS NOT DISTINCT FROM $3";
/// The atomic claim: true only for the one operator whose UPDATE found the ticket still WAITING, in the place the
/// press came from (`board`: the queue board it is listed on; `None`: its cards). Re-checked after any lock wait,
/// so a ticket that moved to the board meanwhile is not claimed from its card.
pub(crate) async fn claim_ticket(
    db: &impl Sql,
    id: i64,
    operator_tg_id: i64,
    board: Option<i64>,
) -> Result<bool, tokio_postgres::Error> {
    let n = db.execute(CLAIM, &[&id, &operator_tg_id, &board]).await?;
    Ok(n == 1)
}

const REQUEUE: &str = "UPDATE tickets SET status = 'WAITING', operator_tg_id = NULL, assigned_at = NULL, operator_message_id = NULL, \
           first_assigned_at = CASE WHEN first_assigned_at = assigned_at THEN NULL ELSE first_assigned_at END WHERE id = $1";
/// Back to the queue as if never claimed (the claim could not be completed). The card stays recorded: it is still
/// live.
pub(crate) async fn requeue_ticket(db: &impl Sql, id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(REQUEUE, &[&id]).await?;
    Ok(())
}

const HAND_BACK: &str = "UPDATE tickets SET status = 'WAITING', operator_tg_id = NULL, assigned_at = NULL, board_id = NULL, \
           operator_message_id = NULL, queued_at = now(), reminded_at = NULL, reminders_sent = 0, idle_warned_at = NULL \
           WHERE id = $1";
/// Back to the queue after a dialog (a transfer, a requeue, an operator gone): it waits afresh, so reminders and
/// expiry count from now.
pub(crate) async fn hand_back(db: &impl Sql, id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(HAND_BACK, &[&id]).await?;
    Ok(())
}

const CLOSE: &str = "UPDATE tickets SET status = 'CLOSED', closed_at = coalesce($3, now()), close_reason = $2 \
             WHERE id = $1 AND status <> 'CLOSED'";
/// Closes an open ticket with a reason, at `at` (the database's clock when `None`). False when it was closed already.
pub(crate) async fn close_ticket(
    db: &impl Sql,
    id: i64,
    reason: CloseReason,
    at: Option<DateTime<Utc>>,
) -> Result<bool, tokio_postgres::Error> {
    let closed = db.execute(CLOSE, &[&id, &reason, &at]).await?;
    Ok(closed == 1)
}

/// Why ticket `id` was closed, if it is closed with a reason this version knows.
pub(crate) async fn close_reason(db: &impl Sql, id: i64) -> Result<Option<CloseReason>, tokio_postgres::Error> {
    let row = db.query_opt("SELECT close_reason FROM tickets WHERE id = $1 AND status = 'CLOSED'", &[&id]).await?;
    let reason = row.map(|r| r.try_get::<_, Option<String>>(0)).transpose()?.flatten();
    Ok(reason.as_deref().and_then(CloseReason::parse))
}

const QUEUE_POSITION: &str = "SELECT count(*) FROM tickets WHERE status = 'WAITING' AND id <= $1";
/// Where waiting ticket `id` is in the queue: 1 when no ticket waits ahead of it.
pub(crate) async fn queue_position(db: &impl Sql, id: i64) -> Result<i64, tokio_postgres::Error> {
    db.query_one(QUEUE_POSITION, &[&id]).await?.try_get(0)
}

const SET_OPERATOR_MESSAGE: &str = "UPDATE tickets SET operator_message_id = $2 WHERE id = $1";
/// Records the operator's summary message.
pub(crate) async fn set_operator_message(db: &impl Sql, id: i64, message_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(SET_OPERATOR_MESSAGE, &[&id, &message_id]).await?;
    Ok(())
}

const CLEAR_CARD: &str = "UPDATE tickets SET card_chat_id = NULL, card_message_id = NULL WHERE id = $1";
/// Forgets the ticket's card: claimed from the queue board, it has none that speaks for it.
pub(crate) async fn clear_card(db: &impl Sql, id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(CLEAR_CARD, &[&id]).await?;
    Ok(())
}

const SET_CARD: &str = "UPDATE tickets SET card_chat_id = $2, card_message_id = $3 WHERE id = $1";
/// Records where the card is in the operators' chat.
pub(crate) async fn set_card(
    db: &impl Sql,
    id: i64,
    chat_id: i64,
    message_id: i64,
) -> Result<(), tokio_postgres::Error> {
    db.execute(SET_CARD, &[&id, &chat_id, &message_id]).await?;
    Ok(())
}

/// Notes activity in the dialog (idle auto-close counts from here); an operator's message (`by_operator`) that is
/// the ticket's first is its first reply.
pub(crate) async fn touch(db: &impl Sql, id: i64, by_operator: bool) -> Result<(), tokio_postgres::Error> {
    db.execute(TOUCH, &[&id, &by_operator]).await?;
    Ok(())
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[
    LOCK_BY_ID,
    LOCK_BOTH_OF,
    LOCK_OPEN_OF_CUSTOMER,
    LOCK_ACTIVE_OF_OPERATOR,
    TOUCH,
    INSERT,
    CLAIM,
    REQUEUE,
    HAND_BACK,
    CLOSE,
    SET_OPERATOR_MESSAGE,
    SET_CARD,
    CLEAR_CARD,
    OPENED_TODAY,
    QUEUE_POSITION,
    super::operators::CACHED,
    super::operators::REMEMBER,
];
