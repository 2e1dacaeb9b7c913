//! Bot API objects we read: only the fields we use; unknown fields are ignored so new Bot API versions don't break us.
//! Updates and button presses here; people and chats in `chat.rs`; messages and their content in `message.rs`.

mod chat;
mod message;

pub use chat::*;
pub use message::*;

use serde::{Deserialize, Serialize};

/// One incoming update. Exactly one of the optional payloads is set; kinds we do not handle are kept as `None`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Update {
    /// Monotonic id; used for deduplication and `getUpdates` offsets.
    pub update_id: i64,
    /// A message sent to the bot: in a private chat, or (a command or a reply) in the operators' group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// A new version of a message sent earlier (its text or caption was edited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_message: Option<Message>,
    /// A press of an inline keyboard button under one of the bot's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_query: Option<CallbackQuery>,
    /// Someone changed their reaction to a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_reaction: Option<MessageReactionUpdated>,
}

/// A reaction to a message changed (`message_reaction`).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MessageReactionUpdated {
    /// The chat of the message.
    pub chat: Chat,
    /// The message.
    pub message_id: i64,
    /// Who reacted (absent for anonymous group admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// Unix time.
    #[serde(default)]
    pub date: i64,
    /// Their reactions now (`ReactionType` objects); empty when they took theirs back.
    #[serde(default)]
    pub new_reaction: Vec<serde_json::Value>,
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
        } else if self.message_reaction.is_some() {
            "message_reaction"
        } else {
            "other"
        }
    }
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
