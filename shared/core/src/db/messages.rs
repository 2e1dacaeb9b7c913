//! `ticket_messages` and `message_attachments`: the dialog's history, with file metadata but never bytes.

use super::{Sql, pg_text_opt};

use crate::domain::ContentKind;
use crate::telegram::Message;

pub use crate::domain::Sender;

/// A message still to be delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingMessage {
    /// ticket_messages.id.
    pub id: i64,
    /// Where it was written.
    pub source_chat_id: i64,
    /// Its id there.
    pub source_message_id: i64,
    /// The album it is a part of.
    pub media_group_id: Option<String>,
}

/// The statement of [`insert_message`]: the message (with the dialog message it replies to, `$18` in the same
/// chat, found on either side of the dialog) and, when it carries a file, its attachment row, in one trip; it
/// returns where the replied message lives on both sides.
const INSERT_MESSAGE: &str = "WITH m AS (\
      INSERT INTO ticket_messages (ticket_id, sender_type, sender_tg_id, content_type, message_text, caption, \
        source_chat_id, source_message_id, reply_to_id, quote_text, media_group_id) VALUES ($1, $2, $3, $4, $5, $6, \
        $7, $8, \
        (SELECT r.id FROM ticket_messages r WHERE r.ticket_id = $1 AND $18::bigint IS NOT NULL \
          AND ((r.source_chat_id = $7 AND r.source_message_id = $18) \
            OR (r.delivered_chat_id = $7 AND r.delivered_message_id = $18)) ORDER BY r.id DESC LIMIT 1), $19, $20) \
      ON CONFLICT (source_chat_id, source_message_id) DO NOTHING RETURNING id, reply_to_id), \
    a AS (\
      INSERT INTO message_attachments (message_id, kind, file_id, file_unique_id, mime_type, size, width, height, \
        duration, file_name) \
      SELECT m.id, $9::text, $10::text, $11::text, $12::text, $13::bigint, $14::int, $15::int, $16::int, $17::text \
      FROM m WHERE $9::text IS NOT NULL) \
    SELECT m.id, r.source_chat_id, r.source_message_id, r.delivered_chat_id, r.delivered_message_id \
    FROM m LEFT JOIN ticket_messages r ON r.id = m.reply_to_id";

/// A message just stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Its `ticket_messages.id`.
    pub id: i64,
    /// The dialog message it replies to.
    pub replied: Option<Pair>,
}

impl Stored {
    /// The replied message's counterpart in chat `to` (see [`Pair::counterpart_in`]).
    pub(crate) fn reply_target(&self, to: i64) -> Option<i64> {
        self.replied?.counterpart_in(to)
    }
}

/// A dialog message on both sides: where it was written and where its copy landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    /// Chat and message id where it was written.
    pub source: (i64, i64),
    /// Chat and message id of its copy, once delivered.
    pub delivered: Option<(i64, i64)>,
}

impl Pair {
    /// The message's id in chat `chat`: the copy when it was written elsewhere, the original when it was written
    /// there; `None` when it has no side in that chat (a copy made for an earlier operator).
    pub(crate) fn counterpart_in(&self, chat: i64) -> Option<i64> {
        // A copy recorded as 0 is one whose id is not known (a part of an album Telegram copied in part).
        [Some(self.source), self.delivered]
            .into_iter()
            .flatten()
            .find(|(c, id)| *c == chat && *id > 0)
            .map(|(_, id)| id)
    }
}

const PAIR_OF: &str = "SELECT source_chat_id, source_message_id, delivered_chat_id, delivered_message_id \
    FROM ticket_messages WHERE ticket_id = $1 \
      AND ((source_chat_id = $2 AND source_message_id = $3) OR (delivered_chat_id = $2 AND delivered_message_id = $3)) \
    ORDER BY id DESC LIMIT 1";
/// The dialog message of ticket `ticket_id` that is `message_id` in `chat_id` (written there, or copied there).
pub(crate) async fn pair_of(
    db: &impl Sql,
    ticket_id: i64,
    chat_id: i64,
    message_id: i64,
) -> Result<Option<Pair>, tokio_postgres::Error> {
    let Some(r) = db.query_opt(PAIR_OF, &[&ticket_id, &chat_id, &message_id]).await? else { return Ok(None) };
    let delivered = r.try_get::<_, Option<i64>>(2)?.zip(r.try_get::<_, Option<i64>>(3)?);
    Ok(Some(Pair { source: (r.try_get(0)?, r.try_get(1)?), delivered }))
}

/// A file's metadata as `message_attachments` columns take it (sizes that do not fit are left out).
pub(super) struct FileColumns<'a> {
    pub mime_type: Option<std::borrow::Cow<'a, str>>,
    pub size: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration: Option<i32>,
    pub file_name: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> FileColumns<'a> {
    pub(super) fn of(meta: &'a crate::telegram::FileMeta) -> Self {
        let to_i32 = |v: Option<u32>| v.and_then(|v| i32::try_from(v).ok());
        FileColumns {
            mime_type: pg_text_opt(meta.mime_type.as_deref()),
            size: meta.file_size.and_then(|s| i64::try_from(s).ok()),
            width: to_i32(meta.width.or(meta.length)),
            height: to_i32(meta.height.or(meta.length)),
            duration: to_i32(meta.duration),
            file_name: pg_text_opt(meta.file_name.as_deref()),
        }
    }
}

const FROM_CUSTOMER_LAST_MINUTE: &str = "SELECT count(*) FROM ticket_messages \
     WHERE ticket_id = $1 AND sender_type = 'USER' AND created_at > now() - interval '1 minute'";
/// How many messages the customer of ticket `ticket_id` sent in it within the last minute.
pub(crate) async fn from_customer_last_minute(db: &impl Sql, ticket_id: i64) -> Result<i64, tokio_postgres::Error> {
    db.query_one(FROM_CUSTOMER_LAST_MINUTE, &[&ticket_id]).await?.try_get(0)
}

/// Stores a message of a ticket (and its attachment's metadata). `None` when this exact message was stored
/// before, so a redelivery cannot duplicate history.
pub(crate) async fn insert_message(
    db: &impl Sql,
    ticket_id: i64,
    sender: Sender,
    sender_tg_id: i64,
    message: &Message,
) -> Result<Option<Stored>, tokio_postgres::Error> {
    let content = message.content();
    let meta = content.file.as_ref();
    let kind = meta.map(|_| content.kind);
    let file = meta.map(FileColumns::of);
    let file = file.as_ref();
    let row = db
        .query_opt(
            INSERT_MESSAGE,
            &[
                &ticket_id,
                &sender,
                &sender_tg_id,
                &content.kind,
                &pg_text_opt(message.text.as_deref()),
                &pg_text_opt(message.caption.as_deref()),
                &message.chat_id(),
                &message.message_id,
                &kind,
                &meta.map(|m| m.file_id.as_str()),
                &meta.map(|m| m.file_unique_id.as_str()),
                &file.and_then(|f| f.mime_type.as_deref()),
                &file.and_then(|f| f.size),
                &file.and_then(|f| f.width),
                &file.and_then(|f| f.height),
                &file.and_then(|f| f.duration),
                &file.and_then(|f| f.file_name.as_deref()),
                &message.reply_to_message.as_ref().map(|r| r.message_id),
                &message.quote.as_ref().and_then(|q| pg_text_opt(Some(q.text.as_str()))),
                &pg_text_opt(message.media_group_id.as_deref()),
            ],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    let pair = |chat: usize| -> Result<Option<(i64, i64)>, tokio_postgres::Error> {
        Ok(r.try_get::<_, Option<i64>>(chat)?.zip(r.try_get::<_, Option<i64>>(chat + 1)?))
    };
    let replied =
        pair(1)?.map(|source| Ok::<_, tokio_postgres::Error>(Pair { source, delivered: pair(3)? })).transpose()?;
    Ok(Some(Stored { id: r.try_get(0)?, replied }))
}

const UNDELIVERED: &str = "SELECT id, source_chat_id, source_message_id, media_group_id FROM ticket_messages \
             WHERE ticket_id = $1 AND sender_type = 'USER' AND delivered_message_id IS NULL ORDER BY id";
/// The customer's messages not yet delivered to any operator, oldest first.
pub(crate) async fn undelivered_from_customer(
    db: &impl Sql,
    ticket_id: i64,
) -> Result<Vec<PendingMessage>, tokio_postgres::Error> {
    let rows = db.query(UNDELIVERED, &[&ticket_id]).await?;
    rows.iter()
        .map(|r| {
            Ok(PendingMessage {
                id: r.try_get(0)?,
                source_chat_id: r.try_get(1)?,
                source_message_id: r.try_get(2)?,
                media_group_id: r.try_get(3)?,
            })
        })
        .collect()
}

/// A stored message, in short: for the list of earlier messages at a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Brief {
    /// Its text or caption.
    pub text: Option<String>,
    /// What it is.
    pub content: ContentKind,
}

/// A message's text or caption as it reads now: its newest version, or the original.
macro_rules! current_text {
    ($m:literal) => {
        concat!(
            "coalesce((SELECT coalesce(v.message_text, v.caption, '') FROM ticket_message_versions v WHERE v.ticket_message_id = ",
            $m,
            ".id ORDER BY v.edit_date DESC, v.id DESC LIMIT 1), coalesce(",
            $m,
            ".message_text, ",
            $m,
            ".caption))"
        )
    };
}

pub(super) use current_text;

const BRIEFS: &str = concat!(
    "SELECT ",
    current_text!("m"),
    ", m.content_type FROM ticket_messages m WHERE m.id = ANY($1) ORDER BY m.id"
);
/// The texts (or captions) and kinds of messages `ids`, in their order.
pub(crate) async fn briefs(db: &impl Sql, ids: &[i64]) -> Result<Vec<Brief>, tokio_postgres::Error> {
    let rows = db.query(BRIEFS, &[&ids]).await?;
    rows.iter().map(|r| Ok(Brief { text: r.try_get(0)?, content: r.try_get(1)? })).collect()
}

/// A message of a ticket's dialog so far, for the operator who takes the ticket over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Said {
    /// Who wrote it.
    pub sender: Sender,
    /// Their name as we know it (`users`), `@username` when they have one.
    pub who: String,
    /// When it was written.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Its text or caption.
    pub text: Option<String>,
    /// What it is.
    pub content: ContentKind,
    /// Where it was written, to copy it again.
    pub source: (i64, i64),
}

const SAID: &str = concat!(
    "SELECT m.sender_type, coalesce('@' || u.username, nullif(u.first_name, ''), m.sender_tg_id::text), m.created_at, ",
    current_text!("m"),
    ", m.content_type, m.source_chat_id, m.source_message_id \
     FROM ticket_messages m LEFT JOIN users u ON u.tg_id = m.sender_tg_id \
     WHERE m.ticket_id = $1 AND (m.sender_type = 'OPERATOR' OR m.delivered_message_id IS NOT NULL) ORDER BY m.id"
);
/// What was said in ticket `ticket_id` before it came back to the queue: every operator's message and every
/// customer's message an operator received, in order (what nobody received yet is [`undelivered_from_customer`]).
pub(crate) async fn said(db: &impl Sql, ticket_id: i64) -> Result<Vec<Said>, tokio_postgres::Error> {
    let rows = db.query(SAID, &[&ticket_id]).await?;
    rows.iter()
        .map(|r| {
            Ok(Said {
                sender: r.try_get(0)?,
                who: r.try_get(1)?,
                at: r.try_get(2)?,
                text: r.try_get(3)?,
                content: r.try_get(4)?,
                source: (r.try_get(5)?, r.try_get(6)?),
            })
        })
        .collect()
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[INSERT_MESSAGE, FROM_CUSTOMER_LAST_MINUTE, UNDELIVERED, BRIEFS, SAID];
