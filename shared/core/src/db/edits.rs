//! Edited dialog messages: the message an edit is about, its versions (`ticket_message_versions`, beside the
//! original the message row keeps), a replaced file, and whether its copy is still on its way.

use super::messages::{FileColumns, Sender};
use super::{Sql, pg_text_opt};
use crate::domain::ContentKind;
use crate::telegram::Message;

/// A stored dialog message that its sender edited, with where its ticket is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ToEdit {
    /// Its `ticket_messages.id`.
    pub id: i64,
    /// Its ticket.
    pub ticket_id: i64,
    /// Where the ticket is now.
    pub status: crate::domain::Status,
    /// Who wrote it.
    pub sender: Sender,
    /// The ticket's operator (kept after close).
    pub operator: Option<i64>,
    /// The ticket's customer.
    pub customer: i64,
    /// Where its copy landed, if it did.
    pub delivered: Option<(i64, i64)>,
    /// What it is.
    pub content: ContentKind,
    /// The file of its newest version, if it has one.
    pub file_unique_id: Option<String>,
}

const TO_EDIT: &str = "SELECT m.id, m.ticket_id, t.status, m.sender_type, t.operator_tg_id, u.tg_id, \
      m.delivered_chat_id, m.delivered_message_id, m.content_type, \
      (SELECT a.file_unique_id FROM message_attachments a WHERE a.message_id = m.id ORDER BY a.id DESC LIMIT 1) \
    FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id JOIN users u ON u.id = t.user_id \
    WHERE m.source_chat_id = $1 AND m.source_message_id = $2";
/// The dialog message written as `message_id` in `chat_id`, if one was stored.
pub(crate) async fn to_edit(
    db: &impl Sql,
    chat_id: i64,
    message_id: i64,
) -> Result<Option<ToEdit>, tokio_postgres::Error> {
    let Some(r) = db.query_opt(TO_EDIT, &[&chat_id, &message_id]).await? else { return Ok(None) };
    Ok(Some(ToEdit {
        id: r.try_get(0)?,
        ticket_id: r.try_get(1)?,
        status: r.try_get(2)?,
        sender: r.try_get(3)?,
        operator: r.try_get(4)?,
        customer: r.try_get(5)?,
        delivered: r.try_get::<_, Option<i64>>(6)?.zip(r.try_get::<_, Option<i64>>(7)?),
        content: r.try_get(8)?,
        file_unique_id: r.try_get(9)?,
    }))
}

/// Keeps a new version of message `$1` (edited at `$2`); says whether no newer one is known. Its row is left alone
/// (see V12): only the versions' foreign key takes a key-share lock on it, which a `sent` mark's no-key-update lock
/// does not conflict with.
const ADD_VERSION: &str = "WITH newer AS (SELECT 1 FROM ticket_message_versions WHERE ticket_message_id = $1 \
      AND edit_date > $2 LIMIT 1) \
    INSERT INTO ticket_message_versions (ticket_message_id, edit_date, message_text, caption, file_unique_id) \
    VALUES ($1, $2, $3, $4, $5) RETURNING NOT EXISTS (SELECT 1 FROM newer)";
/// Records `edited` (a new version of stored message `id`, edited at `edit_date`); true when it is the newest
/// version so far (an older edit delivered late is history only).
pub(crate) async fn add_version(
    db: &impl Sql,
    id: i64,
    edit_date: i64,
    edited: &Message,
) -> Result<bool, tokio_postgres::Error> {
    let file = edited.content().file.map(|f| f.file_unique_id);
    let text = pg_text_opt(edited.text.as_deref());
    let caption = pg_text_opt(edited.caption.as_deref());
    db.query_one(ADD_VERSION, &[&id, &edit_date, &text, &caption, &file]).await?.try_get(0)
}

const ADD_ATTACHMENT: &str = "INSERT INTO message_attachments (message_id, kind, file_id, file_unique_id, mime_type, \
      size, width, height, duration, file_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
/// Stores the file of an edited media message: the new version's attachment, archived like any other.
pub(crate) async fn add_attachment(db: &impl Sql, id: i64, edited: &Message) -> Result<(), tokio_postgres::Error> {
    let content = edited.content();
    let Some(meta) = content.file.as_ref() else { return Ok(()) };
    let file = FileColumns::of(meta);
    db.execute(
        ADD_ATTACHMENT,
        &[
            &id,
            &content.kind,
            &meta.file_id,
            &meta.file_unique_id,
            &file.mime_type,
            &file.size,
            &file.width,
            &file.height,
            &file.duration,
            &file.file_name,
        ],
    )
    .await?;
    Ok(())
}

const COPY_PENDING: &str = "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending' AND ( \
      (on_result ->> 'kind' = 'delivered' AND (on_result ->> 'ticket_message_id')::bigint = $1) \
      OR (method = 'copyMessages' AND (params ->> 'from_chat_id')::bigint = $2 \
        AND params -> 'message_ids' @> to_jsonb($3::bigint))))";
/// Whether the copy of stored message `id` (`message_id` in `chat_id`) is still waiting in the outbox, alone or in
/// its album.
pub(crate) async fn copy_pending(
    db: &impl Sql,
    id: i64,
    chat_id: i64,
    message_id: i64,
) -> Result<bool, tokio_postgres::Error> {
    db.query_one(COPY_PENDING, &[&id, &chat_id, &message_id]).await?.try_get(0)
}
