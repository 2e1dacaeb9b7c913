//! `tickets`: a customer's request from the queue (WAITING) through a dialog (ASSIGNED) to CLOSED.

use tokio_postgres::Row;

use super::Sql;

use crate::domain::Topic;

/// Ticket status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// In the queue.
    Waiting,
    /// An operator has it.
    Assigned,
    /// Done.
    Closed,
}

/// A ticket with its customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketRow {
    /// Ticket id (shown as #id).
    pub id: i64,
    /// Customer's users.id.
    pub user_id: i64,
    /// Customer's Telegram id = their private chat.
    pub customer_tg_id: i64,
    /// Topic.
    pub topic: Topic,
    /// E.164 phone.
    pub phone: String,
    /// Status.
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

const LOCK_BY_ID: &str = lock_ticket_where!("t.id = $1");
/// A membership check of the operators' chat younger than this is used as it is (one minute).
macro_rules! membership_fresh_since {
    () => {
        "now() - interval '60 seconds'"
    };
}

/// Both tickets of a sender (see [`lock_tickets_of`]), locked in id order so that two people who are each
/// other's operator and customer cannot deadlock.
pub const LOCK_BOTH_OF: &str = concat!(
    "SELECT t.id, t.user_id, u.tg_id, t.topic, t.phone, t.status, t.operator_tg_id, t.operator_message_id, ",
    "t.card_chat_id, t.card_message_id, (t.operator_tg_id = $1 AND t.status = 'ASSIGNED') AS as_operator, ",
    "(u.tg_id = $1 AND t.status <> 'CLOSED') AS as_customer, ",
    "(SELECT c.is_member FROM operator_checks c WHERE c.tg_id = $1 AND c.checked_at > ",
    membership_fresh_since!(),
    "), ",
    "(SELECT c.is_member FROM operator_checks c WHERE c.tg_id = $1) ",
    "FROM tickets t JOIN users u ON u.id = t.user_id ",
    "WHERE (t.operator_tg_id = $1 AND t.status = 'ASSIGNED') OR (u.tg_id = $1 AND t.status <> 'CLOSED') ",
    "ORDER BY t.id FOR UPDATE OF t"
);
/// The customer's open ticket (see [`lock_open_ticket_of_customer`]).
const LOCK_OPEN_OF_CUSTOMER: &str = lock_ticket_where!("u.tg_id = $1 AND t.status <> 'CLOSED'");
/// The operator's active ticket (see [`lock_active_ticket_of_operator`]).
const LOCK_ACTIVE_OF_OPERATOR: &str = lock_ticket_where!("t.operator_tg_id = $1 AND t.status = 'ASSIGNED'");

fn from_row(row: &Row) -> TicketRow {
    let status: &str = row.get(5);
    TicketRow {
        id: row.get(0),
        user_id: row.get(1),
        customer_tg_id: row.get(2),
        topic: Topic::parse(row.get(3)).unwrap_or(Topic::Other),
        phone: row.get(4),
        status: match status {
            "WAITING" => Status::Waiting,
            "ASSIGNED" => Status::Assigned,
            _ => Status::Closed,
        },
        operator_tg_id: row.get(6),
        operator_message_id: row.get(7),
        card: row.get::<_, Option<i64>>(8).zip(row.get::<_, Option<i64>>(9)),
    }
}

async fn one(db: &impl Sql, sql: &str, id: i64) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    Ok(db.query_opt(sql, &[&id]).await?.as_ref().map(from_row))
}

/// A ticket by id, row-locked for the rest of the transaction.
pub async fn lock_ticket(db: &impl Sql, id: i64) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    one(db, LOCK_BY_ID, id).await
}

/// The customer's open (WAITING or ASSIGNED) ticket, row-locked.
pub async fn lock_open_ticket_of_customer(
    db: &impl Sql,
    customer_tg_id: i64,
) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    one(db, LOCK_OPEN_OF_CUSTOMER, customer_tg_id).await
}

/// The sender's tickets, as [`lock_tickets_of`] reads them.
#[derive(Clone, Debug, Default)]
pub struct SenderTickets {
    /// The ticket the sender works on as an operator.
    pub as_operator: Option<TicketRow>,
    /// The sender's own open ticket as a customer.
    pub as_customer: Option<TicketRow>,
    /// Whether the sender is in the operators' chat, as last checked.
    pub member: Membership,
}

/// Membership of the operators' chat as `operator_checks` remembers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    /// What a check within the last minute said (`None`: ask Telegram again).
    pub fresh: Option<bool>,
    /// What the last check said, however old (used when Telegram cannot be asked right now).
    pub last: Option<bool>,
}

/// The sender's active ticket as an operator and open ticket as a customer, both row-locked, with their cached
/// membership of the operators' chat, in one statement.
pub async fn lock_tickets_of(db: &impl Sql, tg_id: i64) -> Result<SenderTickets, tokio_postgres::Error> {
    let mut found = SenderTickets::default();
    for row in db.query(LOCK_BOTH_OF, &[&tg_id]).await? {
        found.member = Membership { fresh: row.get(12), last: row.get(13) };
        if row.get::<_, Option<bool>>(10).unwrap_or(false) {
            found.as_operator = Some(from_row(&row));
        }
        if row.get::<_, Option<bool>>(11).unwrap_or(false) {
            found.as_customer = Some(from_row(&row));
        }
    }
    Ok(found)
}

/// Membership of the operators' chat as last checked.
pub async fn cached_membership(db: &impl Sql, tg_id: i64) -> Result<Membership, tokio_postgres::Error> {
    let row = db
        .query_opt(
            concat!(
                "SELECT CASE WHEN checked_at > ",
                membership_fresh_since!(),
                " THEN is_member END, is_member FROM operator_checks WHERE tg_id = $1"
            ),
            &[&tg_id],
        )
        .await?;
    Ok(row.map_or_else(Membership::default, |r| Membership { fresh: r.get(0), last: r.get(1) }))
}

/// Remembers what getChatMember said of `tg_id`.
pub async fn remember_membership(db: &impl Sql, tg_id: i64, is_member: bool) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "INSERT INTO operator_checks (tg_id, is_member) VALUES ($1, $2) \
         ON CONFLICT (tg_id) DO UPDATE SET is_member = excluded.is_member, checked_at = now()",
        &[&tg_id, &is_member],
    )
    .await?;
    Ok(())
}

/// The statement of [`touch`].
pub const TOUCH: &str = "UPDATE tickets SET last_activity_at = now(), idle_warned_at = NULL WHERE id = $1";

/// The operator's active (ASSIGNED) ticket, row-locked.
pub async fn lock_active_ticket_of_operator(
    db: &impl Sql,
    operator_tg_id: i64,
) -> Result<Option<TicketRow>, tokio_postgres::Error> {
    one(db, LOCK_ACTIVE_OF_OPERATOR, operator_tg_id).await
}

/// Creates a WAITING ticket; `None` when the customer already has an open one (the database enforces one).
pub async fn insert_ticket(
    db: &impl Sql,
    user_id: i64,
    topic: Topic,
    phone: &str,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "INSERT INTO tickets (user_id, topic, phone) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) WHERE status <> 'CLOSED' DO NOTHING RETURNING id",
            &[&user_id, &topic.as_str(), &phone],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// How many tickets the customer had before this one.
pub async fn count_earlier_tickets(db: &impl Sql, user_id: i64, ticket_id: i64) -> Result<i64, tokio_postgres::Error> {
    let row =
        db.query_one("SELECT count(*) FROM tickets WHERE user_id = $1 AND id < $2", &[&user_id, &ticket_id]).await?;
    Ok(row.get(0))
}

/// The atomic claim: true only for the one operator whose UPDATE found the ticket still WAITING.
pub async fn claim_ticket(db: &impl Sql, id: i64, operator_tg_id: i64) -> Result<bool, tokio_postgres::Error> {
    let n = db
        .execute(
            "UPDATE tickets SET status = 'ASSIGNED', operator_tg_id = $2, assigned_at = now(), last_activity_at = now(), \
               idle_warned_at = NULL WHERE id = $1 AND status = 'WAITING'",
            &[&id, &operator_tg_id],
        )
        .await?;
    Ok(n == 1)
}

/// Back to the queue (the claim could not be completed, or the operator blocked the bot). The card stays
/// recorded: it is still live, or a fresh one replaces it when posted.
pub async fn requeue_ticket(db: &impl Sql, id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "UPDATE tickets SET status = 'WAITING', operator_tg_id = NULL, assigned_at = NULL, operator_message_id = NULL \
           WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

/// Closes the ticket with a reason (operator, customer_blocked, idle, …).
pub async fn close_ticket(db: &impl Sql, id: i64, reason: &str) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "UPDATE tickets SET status = 'CLOSED', closed_at = now(), close_reason = $2 WHERE id = $1",
        &[&id, &reason],
    )
    .await?;
    Ok(())
}

/// Records the operator's summary message.
pub async fn set_operator_message(db: &impl Sql, id: i64, message_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute("UPDATE tickets SET operator_message_id = $2 WHERE id = $1", &[&id, &message_id]).await?;
    Ok(())
}

/// Records where the card is in the operators' chat.
pub async fn set_card(db: &impl Sql, id: i64, chat_id: i64, message_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "UPDATE tickets SET card_chat_id = $2, card_message_id = $3 WHERE id = $1",
        &[&id, &chat_id, &message_id],
    )
    .await?;
    Ok(())
}

/// Notes activity in the dialog (idle auto-close counts from here).
pub async fn touch(db: &impl Sql, id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(TOUCH, &[&id]).await?;
    Ok(())
}
