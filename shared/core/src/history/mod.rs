//! A ticket's whole history as one record: what `zabota export` writes (one JSON line per ticket) and what the
//! `/history N` transcript is rendered from. PostgreSQL builds the JSON (`db::history`); these types read it back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod export;
pub mod transcript;

/// A ticket with everything stored about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// Its number.
    pub ticket: i64,
    /// Its customer.
    pub customer: CustomerRecord,
    /// The topic's id.
    pub topic: String,
    /// The phone it was opened with (E.164).
    pub phone: String,
    /// WAITING, ASSIGNED or CLOSED.
    pub status: String,
    /// Why it was closed.
    pub close_reason: Option<String>,
    /// Its (last) operator.
    pub operator_tg_id: Option<i64>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When an operator first took it.
    pub first_assigned_at: Option<DateTime<Utc>>,
    /// When an operator first wrote in it.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// The customer's rating.
    pub rating: Option<RatingRecord>,
    /// Every time it left an operator without being closed.
    pub handovers: Vec<HandoverRecord>,
    /// Its messages, in order.
    pub messages: Vec<MessageRecord>,
}

/// The customer as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// Telegram id.
    pub tg_id: i64,
    /// Username, without `@`.
    pub username: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
}

/// A satisfaction rating.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingRecord {
    /// 1–5.
    pub score: i16,
    /// The customer's comment.
    pub comment: Option<String>,
    /// The operator rated.
    pub operator_tg_id: Option<i64>,
    /// When.
    pub rated_at: DateTime<Utc>,
}

/// A hand-over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandoverRecord {
    /// transferred, requeued, operator_gone, operator_blocked.
    pub kind: String,
    /// Who had the ticket.
    pub operator_tg_id: i64,
    /// Who handed it over.
    pub by_tg_id: Option<i64>,
    /// Their comment.
    pub comment: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A dialog message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Its id (`ticket_messages.id`).
    pub id: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// USER or OPERATOR.
    pub sender: String,
    /// Who wrote it.
    pub sender_tg_id: i64,
    /// text, photo, document…
    pub content: String,
    /// Its text as first written.
    pub text: Option<String>,
    /// Its caption as first written.
    pub caption: Option<String>,
    /// The album it was part of.
    pub media_group_id: Option<String>,
    /// The dialog message it replied to.
    pub reply_to: Option<i64>,
    /// Whether it reached the other side.
    pub delivered: bool,
    /// Its edits, in order.
    pub edits: Vec<EditRecord>,
    /// Its files.
    pub attachments: Vec<AttachmentRecord>,
}

/// An edit of a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditRecord {
    /// When it reached us.
    pub at: DateTime<Utc>,
    /// The text after the edit.
    pub text: Option<String>,
    /// The caption after the edit.
    pub caption: Option<String>,
}

/// A file of a message: its metadata and where the archive keeps its bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    /// Its id, as `/file ID` takes it.
    pub id: i64,
    /// photo, document…
    pub kind: String,
    /// Telegram's file id.
    pub file_id: String,
    /// Telegram's unique file id.
    pub file_unique_id: String,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// Its size in bytes.
    pub size: Option<i64>,
    /// Its file name.
    pub file_name: Option<String>,
    /// The archive's key (S3 or the media folder), once stored.
    pub storage_key: Option<String>,
    /// pending, stored, skipped, failed.
    pub archive_status: String,
}
