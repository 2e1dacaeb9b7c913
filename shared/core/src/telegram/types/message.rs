//! A message and what it can carry: text, photos, files, contacts, places; and the getFile answer for a file.

use serde::{Deserialize, Serialize};

use super::{Chat, User};

/// A message, with every content kind we proxy. What it carries is decided once, by [`Message::content`].
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
    /// A file sent as a file, of any type; also set for an animation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<FileMeta>,
    /// A video sent as a video (playable in the chat), not as a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<FileMeta>,
    /// A voice message recorded in Telegram (OGG/Opus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<FileMeta>,
    /// A music file, shown with Telegram's player.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<FileMeta>,
    /// A sticker (WebP, or an animated TGS/WebM one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticker: Option<FileMeta>,
    /// A GIF or silent video. Telegram also sets `document` for these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animation: Option<FileMeta>,
    /// A round video message recorded in Telegram.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_note: Option<FileMeta>,
    /// A shared contact: the customer's own phone number when they press «Отправить мой номер».
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
    /// Formatting of `text` (bold, links…), passed on as it is when an edit is relayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<serde_json::Value>,
    /// Formatting of `caption`, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption_entities: Option<serde_json::Value>,
    /// The message of this chat it replies to (only its id is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_message: Option<Box<RepliedTo>>,
    /// The part of the replied message it quotes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<TextQuote>,
    /// Unix time of the last edit (edited messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_date: Option<i64>,
    /// Parts of one album share it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_group_id: Option<String>,
}

/// The message a reply answers, as far as the relay needs it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct RepliedTo {
    /// Its id in the same chat.
    pub message_id: i64,
}

/// A quoted part of the replied message.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct TextQuote {
    /// The quoted text.
    pub text: String,
    /// Where it starts in the replied message, in UTF-16 code units.
    #[serde(default)]
    pub position: i64,
}

impl Message {
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
    /// Size in bytes, when Telegram knows it.
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
    /// Size in bytes, when Telegram knows it.
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
    /// The contact's name as the sender's client gives it.
    pub first_name: String,
    /// The rest of the contact's name, if any.
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
    /// The place's name, e.g. a shop's.
    pub title: String,
    /// The street address, as one line of text.
    pub address: String,
}

/// A file ready for download.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct File {
    /// The id it was asked for.
    pub file_id: String,
    /// Stable across bots and time; the archive key.
    pub file_unique_id: String,
    /// Size in bytes, when Telegram knows it.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// Path for `/file/bot<token>/<path>`; absent when the file cannot be downloaded.
    #[serde(default)]
    pub file_path: Option<String>,
}
