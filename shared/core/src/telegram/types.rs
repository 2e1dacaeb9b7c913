//! Bot API objects we read: only the fields we use; unknown fields are ignored so new Bot API versions don't break us.

use serde::{Deserialize, Serialize};

/// One incoming update. Exactly one of the optional payloads is set; kinds we do not handle are kept as `None`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Update {
    /// Monotonic id; used for deduplication and `getUpdates` offsets.
    pub update_id: i64,
    /// A new message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// An edited message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_message: Option<Message>,
    /// A button press.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_query: Option<CallbackQuery>,
}

impl Update {
    /// A short name of the update's kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        if self.message.is_some() {
            "message"
        } else if self.edited_message.is_some() {
            "edited_message"
        } else if self.callback_query.is_some() {
            "callback_query"
        } else {
            "other"
        }
    }
}

/// A Telegram user or bot.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct User {
    /// Unique id.
    pub id: i64,
    /// True for bots.
    #[serde(default)]
    pub is_bot: bool,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// @username without the @.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IETF language tag of the user's client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

/// A chat.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Chat {
    /// Unique id: positive for private chats, negative for groups.
    pub id: i64,
    /// "private", "group", "supergroup" or "channel".
    #[serde(rename = "type")]
    pub kind: String,
    /// Title of a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Chat {
    /// True for a one-to-one chat with a user.
    pub fn is_private(&self) -> bool {
        self.kind == "private"
    }
}

/// A message, with every content kind we proxy.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Message {
    /// Id within the chat.
    pub message_id: i64,
    /// Sender; empty for channel posts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<User>,
    /// Unix time.
    pub date: i64,
    /// The chat it belongs to.
    pub chat: Option<Chat>,
    /// Text of a text message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Caption of a media message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Photo sizes, smallest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<Vec<PhotoSize>>,
    /// A general file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<FileMeta>,
    /// A video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<FileMeta>,
    /// A voice note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<FileMeta>,
    /// An audio file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<FileMeta>,
    /// A sticker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticker: Option<FileMeta>,
    /// A GIF or silent video. Telegram also sets `document` for these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animation: Option<FileMeta>,
    /// A round video note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_note: Option<FileMeta>,
    /// A shared contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// A point on the map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// A venue. Telegram also sets `location` for these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue: Option<Venue>,
    /// Inline keyboard attached to a message the bot sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<serde_json::Value>,
}

impl Message {
    /// The kind of content, as stored in `ticket_messages.content_type`.
    pub fn content_type(&self) -> &'static str {
        // Order matters: an animation also carries `document`, a venue also carries `location`.
        if self.text.is_some() {
            "text"
        } else if self.photo.is_some() {
            "photo"
        } else if self.animation.is_some() {
            "animation"
        } else if self.document.is_some() {
            "document"
        } else if self.video.is_some() {
            "video"
        } else if self.voice.is_some() {
            "voice"
        } else if self.audio.is_some() {
            "audio"
        } else if self.sticker.is_some() {
            "sticker"
        } else if self.video_note.is_some() {
            "video_note"
        } else if self.contact.is_some() {
            "contact"
        } else if self.venue.is_some() {
            "venue"
        } else if self.location.is_some() {
            "location"
        } else {
            "other"
        }
    }

    /// The chat id, or 0 when Telegram left the chat out (it never does for real messages).
    pub fn chat_id(&self) -> i64 {
        self.chat.as_ref().map_or(0, |c| c.id)
    }
}

/// One size of a photo.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct PhotoSize {
    /// For getFile and re-sending.
    pub file_id: String,
    /// Stable across bots; the archive key.
    pub file_unique_id: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// Metadata shared by every file-like content kind (document, video, voice, audio, sticker, animation, video note).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct FileMeta {
    /// For getFile and re-sending.
    pub file_id: String,
    /// Stable across bots; the archive key.
    pub file_unique_id: String,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Original file name (documents, audio, video, animation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// MIME type as the sender's client reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Pixels (video, animation, sticker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixels (video, animation, sticker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Seconds (video, voice, audio, animation, video note).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Diameter of a video note, in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
}

/// A phone contact.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Contact {
    /// As the client sent it: may lack '+', may have spaces.
    pub phone_number: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Set when the contact is a Telegram user; equal to the sender for "share my contact".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
}

/// A point on the map.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
pub struct Location {
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
}

/// A named place.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Venue {
    /// Where it is.
    pub location: Location,
    /// Its name.
    pub title: String,
    /// Its address.
    pub address: String,
}

/// A button press on an inline keyboard.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CallbackQuery {
    /// Answer with answerCallbackQuery.
    pub id: String,
    /// Who pressed.
    pub from: User,
    /// The message the button was on (absent for very old or inline messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// The button's data: user input, never trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// A file ready for download.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct File {
    /// Id.
    pub file_id: String,
    /// Stable id.
    pub file_unique_id: String,
    /// Bytes.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// Path for `/file/bot<token>/<path>`; absent when the file cannot be downloaded.
    #[serde(default)]
    pub file_path: Option<String>,
}

/// A member of a chat and their status.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ChatMember {
    /// creator, administrator, member, restricted, left, kicked.
    pub status: String,
    /// Who.
    pub user: User,
    /// For "restricted": whether they are still in the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_member: Option<bool>,
}

impl ChatMember {
    /// True when the user is currently in the chat (a restricted user only while `is_member`).
    pub fn is_present(&self) -> bool {
        match self.status.as_str() {
            "creator" | "administrator" | "member" => true,
            "restricted" => self.is_member.unwrap_or(false),
            _ => false,
        }
    }
}

/// The id of a copied message.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct MessageId {
    /// Id in the target chat.
    pub message_id: i64,
}

/// Current webhook status.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct WebhookInfo {
    /// Empty when no webhook is set.
    pub url: String,
    /// Updates waiting for delivery.
    pub pending_update_count: i64,
    /// Unix time of the last delivery error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_date: Option<i64>,
    /// The last delivery error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_message: Option<String>,
    /// Concurrent connections Telegram may open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Update kinds delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::ChatMember;

    fn member(json: &str) -> ChatMember {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_restricted_user_counts_only_while_still_in_the_chat() {
        let user = r#""user": {"id": 1, "is_bot": false, "first_name": "A"}"#;
        assert!(member(&format!(r#"{{"status": "member", {user}}}"#)).is_present());
        assert!(member(&format!(r#"{{"status": "restricted", "is_member": true, {user}}}"#)).is_present());
        assert!(!member(&format!(r#"{{"status": "restricted", "is_member": false, {user}}}"#)).is_present());
        assert!(!member(&format!(r#"{{"status": "left", {user}}}"#)).is_present());
        assert!(!member(&format!(r#"{{"status": "kicked", {user}}}"#)).is_present());
    }
}
