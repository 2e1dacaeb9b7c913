//! A customer's history as operators read it: their earlier tickets (on a card, for `/history`), the last
//! messages of the previous one (on a claim's summary), the customer a `/history` lookup names, and a ticket
//! whole, as one JSON document built by PostgreSQL (the `/history N` transcript and `zabota export` read it).

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::Sql;
use crate::domain::{CloseReason, ContentKind, Sender, Status, Topic};

/// A ticket in a customer's history, one line of it.
#[derive(Clone, Debug)]
pub(crate) struct PastTicket {
    /// Its number.
    pub id: i64,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// Its topic, when this version knows it.
    pub topic: Option<Topic>,
    /// Where it is.
    pub status: Status,
    /// How it ended, when closed.
    pub close_reason: Option<CloseReason>,
    /// Who handled it (as operators see them), if anyone did.
    pub operator: Option<String>,
    /// The customer's rating.
    pub score: Option<i16>,
}

/// The columns of a [`PastTicket`] then the count of all rows matched (before the limit).
macro_rules! past_tickets_where {
    ($filter:literal) => {
        concat!(
            "SELECT t.id, t.created_at, t.topic, t.status, t.close_reason, ",
            "CASE WHEN t.operator_tg_id IS NOT NULL THEN ",
            "coalesce('@' || o.username, nullif(o.first_name, ''), t.operator_tg_id::text) END, ",
            "r.score, count(*) OVER () FROM tickets t ",
            "LEFT JOIN users o ON o.tg_id = t.operator_tg_id LEFT JOIN ticket_ratings r ON r.ticket_id = t.id WHERE ",
            $filter,
            " ORDER BY t.id DESC LIMIT $3"
        )
    };
}

const EARLIER: &str = past_tickets_where!("t.user_id = $1 AND t.id < $2");

fn past(row: &Row) -> Result<PastTicket, tokio_postgres::Error> {
    let topic: String = row.try_get(2)?;
    let reason: Option<String> = row.try_get(4)?;
    Ok(PastTicket {
        id: row.try_get(0)?,
        created_at: row.try_get(1)?,
        topic: Topic::parse(&topic),
        status: row.try_get(3)?,
        close_reason: reason.as_deref().and_then(CloseReason::parse),
        operator: row.try_get(5)?,
        score: row.try_get(6)?,
    })
}

async fn tickets(
    db: &impl Sql,
    sql: &str,
    user_id: i64,
    before: i64,
    limit: i64,
) -> Result<(Vec<PastTicket>, i64), tokio_postgres::Error> {
    let rows = db.query(sql, &[&user_id, &before, &limit]).await?;
    let total = rows.first().map(|r| r.try_get(7)).transpose()?.unwrap_or(0);
    Ok((rows.iter().map(past).collect::<Result<_, _>>()?, total))
}

/// Customer `user_id`'s `limit` newest tickets before ticket `before`, newest first, and how many there are.
pub(crate) async fn earlier_tickets(
    db: &impl Sql,
    user_id: i64,
    before: i64,
    limit: i64,
) -> Result<(Vec<PastTicket>, i64), tokio_postgres::Error> {
    tickets(db, EARLIER, user_id, before, limit).await
}

/// Customer `user_id`'s `limit` newest tickets, newest first, and how many there are.
pub(crate) async fn tickets_of_customer(
    db: &impl Sql,
    user_id: i64,
    limit: i64,
) -> Result<(Vec<PastTicket>, i64), tokio_postgres::Error> {
    tickets(db, EARLIER, user_id, i64::MAX, limit).await
}

/// A message of a past dialog, as a line of it.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// Who wrote it.
    pub sender: Sender,
    /// When.
    pub at: DateTime<Utc>,
    /// Its text or caption as it reads now.
    pub text: Option<String>,
    /// What it is.
    pub content: ContentKind,
}

const LAST_LINES: &str = concat!(
    "SELECT sender_type, created_at, body, content_type FROM (SELECT m.id, m.sender_type, m.created_at, ",
    super::messages::current_text!("m"),
    " AS body, m.content_type FROM ticket_messages m WHERE m.ticket_id = $1 ORDER BY m.id DESC LIMIT $2) last \
     ORDER BY id"
);

/// The last `limit` messages of ticket `ticket_id`, in order.
pub(crate) async fn last_lines(db: &impl Sql, ticket_id: i64, limit: i64) -> Result<Vec<Line>, tokio_postgres::Error> {
    let rows = db.query(LAST_LINES, &[&ticket_id, &limit]).await?;
    rows.iter()
        .map(|r| Ok(Line { sender: r.try_get(0)?, at: r.try_get(1)?, text: r.try_get(2)?, content: r.try_get(3)? }))
        .collect()
}

/// Whom a `/history` lookup names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// A Telegram user id.
    Id(i64),
    /// A username, without the `@`.
    Username(&'a str),
    /// A phone number, E.164.
    Phone(&'a str),
}

/// A customer a lookup found.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    /// `users.id`.
    pub user_id: i64,
    /// Their Telegram id.
    pub tg_id: i64,
    /// As operators see them.
    pub handle: String,
}

const BY_ID: &str = "SELECT id, tg_id, username, first_name FROM users WHERE tg_id = $1";
const BY_USERNAME: &str = "SELECT id, tg_id, username, first_name FROM users WHERE lower(username) = lower($1) \
     ORDER BY updated_at DESC LIMIT 5";
/// Customers whose tickets carry the number, or whose confirmed number it is.
const BY_PHONE: &str = "SELECT id, tg_id, username, first_name FROM users \
     WHERE id IN (SELECT user_id FROM tickets WHERE phone = $1) OR phone = $1 ORDER BY updated_at DESC LIMIT 5";

/// The customers `lookup` names (a phone or a username may name several; at most 5, most recent first).
pub(crate) async fn find_customers(db: &impl Sql, lookup: Lookup<'_>) -> Result<Vec<Customer>, tokio_postgres::Error> {
    let rows = match lookup {
        Lookup::Id(id) => db.query(BY_ID, &[&id]).await?,
        Lookup::Username(name) => db.query(BY_USERNAME, &[&name]).await?,
        Lookup::Phone(phone) => db.query(BY_PHONE, &[&phone]).await?,
    };
    rows.iter()
        .map(|r| {
            let tg_id: i64 = r.try_get(1)?;
            let username: Option<String> = r.try_get(2)?;
            let first_name: String = r.try_get(3)?;
            Ok(Customer {
                user_id: r.try_get(0)?,
                tg_id,
                handle: super::users::handle(username.as_deref(), &first_name, tg_id),
            })
        })
        .collect()
}

/// A timestamp as JSON text: ISO 8601 in UTC whatever the session's time zone.
macro_rules! iso {
    ($column:literal) => {
        concat!("to_char(", $column, " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    };
}

/// A ticket whole as one JSON object: its customer, times, rating, hand-overs, and every message with its edits
/// and attachments (their archive keys, never bytes), in order. `$filter` selects the tickets (`t`, `u`).
macro_rules! ticket_json_where {
    ($filter:literal) => {
        concat!(
            "SELECT t.id, json_build_object(",
            "'ticket', t.id, ",
            "'customer', json_build_object('tg_id', u.tg_id, 'username', u.username, 'first_name', u.first_name, ",
            "'last_name', u.last_name), ",
            "'topic', t.topic, 'phone', t.phone, 'status', t.status, 'close_reason', t.close_reason, ",
            "'operator_tg_id', t.operator_tg_id, ",
            "'created_at', ",
            iso!("t.created_at"),
            ", 'first_assigned_at', ",
            iso!("t.first_assigned_at"),
            ", 'first_reply_at', ",
            iso!("t.first_reply_at"),
            ", 'closed_at', ",
            iso!("t.closed_at"),
            ", ",
            "'rating', (SELECT json_build_object('score', r.score, 'comment', r.comment, ",
            "'operator_tg_id', r.operator_tg_id, 'rated_at', ",
            iso!("r.rated_at"),
            ") ",
            "FROM ticket_ratings r WHERE r.ticket_id = t.id), ",
            "'handovers', coalesce((SELECT json_agg(json_build_object('kind', h.kind, ",
            "'operator_tg_id', h.operator_tg_id, 'by_tg_id', h.by_tg_id, 'comment', h.comment, ",
            "'at', ",
            iso!("h.created_at"),
            ") ORDER BY h.id) FROM ticket_handovers h WHERE h.ticket_id = t.id), '[]'), ",
            "'messages', coalesce((SELECT json_agg(json_build_object(",
            "'id', m.id, 'at', ",
            iso!("m.created_at"),
            ", 'sender', m.sender_type, 'sender_tg_id', m.sender_tg_id, ",
            "'content', m.content_type, 'text', m.message_text, 'caption', m.caption, ",
            "'media_group_id', m.media_group_id, 'reply_to', m.reply_to_id, ",
            "'delivered', m.delivered_message_id IS NOT NULL, ",
            "'edits', coalesce((SELECT json_agg(json_build_object('at', ",
            iso!("v.created_at"),
            ", ",
            "'text', v.message_text, 'caption', v.caption) ORDER BY v.edit_date, v.id) ",
            "FROM ticket_message_versions v WHERE v.ticket_message_id = m.id), '[]'), ",
            "'attachments', coalesce((SELECT json_agg(json_build_object('id', a.id, 'kind', a.kind, ",
            "'file_id', a.file_id, 'file_unique_id', a.file_unique_id, 'mime_type', a.mime_type, 'size', a.size, ",
            "'file_name', a.file_name, 'storage_key', a.storage_key, 'archive_status', a.archive_status) ",
            "ORDER BY a.id) FROM message_attachments a WHERE a.message_id = m.id), '[]')",
            ") ORDER BY m.id) FROM ticket_messages m WHERE m.ticket_id = t.id), '[]')",
            ")::text FROM tickets t JOIN users u ON u.id = t.user_id WHERE ",
            $filter
        )
    };
}

/// Tickets opened in `[$1, $2)` (and, when `$3` is not NULL, only ticket `$3`), in id order: `zabota export`.
pub(crate) const EXPORT: &str =
    ticket_json_where!("t.created_at >= $1 AND t.created_at < $2 AND ($3::bigint IS NULL OR t.id = $3) ORDER BY t.id");

const TICKET_JSON: &str = ticket_json_where!("t.id = $1");

/// Ticket `ticket_id` whole, as JSON text (see [`ticket_json_where`]).
pub(crate) async fn ticket_json(db: &impl Sql, ticket_id: i64) -> Result<Option<String>, tokio_postgres::Error> {
    db.query_opt(TICKET_JSON, &[&ticket_id]).await?.map(|r| r.try_get(1)).transpose()
}

/// The statements every pooled connection prepares when it opens: a card's history is read on every card.
pub(super) const PREPARED: &[&str] = &[EARLIER, LAST_LINES];
