//! Bot API request parameters and keyboards, serialized exactly as the Bot API expects.

use serde::{Deserialize, Serialize};

/// An inline keyboard under a message.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InlineKeyboardMarkup {
    /// Rows of buttons.
    pub inline_keyboard: Vec<Vec<InlineKeyboardButton>>,
}

/// A button that sends callback data back to the bot.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InlineKeyboardButton {
    /// The text on the button.
    pub text: String,
    /// 1-64 bytes returned in the callback query.
    pub callback_data: String,
}

impl InlineKeyboardButton {
    /// A button whose press sends `data` back as the callback query's data.
    pub fn callback(text: &str, data: &str) -> Self {
        InlineKeyboardButton { text: text.to_owned(), callback_data: data.to_owned() }
    }
}

/// A custom keyboard replacing the user's keyboard.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplyKeyboardMarkup {
    /// Rows of buttons.
    pub keyboard: Vec<Vec<KeyboardButton>>,
    /// Fit the keyboard to its buttons.
    pub resize_keyboard: bool,
    /// Hide after one use.
    pub one_time_keyboard: bool,
}

/// A reply-keyboard button; with `request_contact` it shares the user's own phone number.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyboardButton {
    /// Label, sent as text when pressed.
    pub text: String,
    /// Share the user's contact instead of sending the label.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub request_contact: bool,
}

/// Any reply markup a message can carry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ReplyMarkup {
    /// Buttons under the message.
    Inline(InlineKeyboardMarkup),
    /// A custom keyboard in place of the user's (the «share my phone number» button).
    Keyboard(ReplyKeyboardMarkup),
    /// Remove a custom keyboard.
    Remove {
        /// Always true.
        remove_keyboard: bool,
    },
}

impl ReplyMarkup {
    /// Removes the custom keyboard.
    pub fn remove_keyboard() -> Self {
        ReplyMarkup::Remove { remove_keyboard: true }
    }
}

/// sendMessage.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SendMessage {
    /// Target chat.
    pub chat_id: i64,
    /// 1-4096 characters.
    pub text: String,
    /// "HTML" or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Buttons under the message, or a custom keyboard to show (or remove) with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<ReplyMarkup>,
}

impl SendMessage {
    /// Plain text, no markup.
    pub fn new(chat_id: i64, text: impl Into<String>) -> Self {
        SendMessage { chat_id, text: text.into(), parse_mode: None, reply_markup: None }
    }

    /// The same message with `markup`.
    pub fn with_markup(mut self, markup: ReplyMarkup) -> Self {
        self.reply_markup = Some(markup);
        self
    }
}

/// copyMessage: re-sends any message without a "forwarded from" header.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct CopyMessage {
    /// Target chat.
    pub chat_id: i64,
    /// Source chat.
    pub from_chat_id: i64,
    /// Source message.
    pub message_id: i64,
    /// Buttons to put under the copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<ReplyMarkup>,
    /// The message of the target chat the copy replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_parameters: Option<ReplyParameters>,
}

/// What a message replies to (`reply_parameters`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct ReplyParameters {
    /// The message replied to, in the target chat.
    pub message_id: i64,
    /// Sent anyway, as a plain message, when that message is gone.
    pub allow_sending_without_reply: bool,
    /// The part of it quoted; Telegram refuses a quote it cannot find in the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// Where the quote starts, in UTF-16 code units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_position: Option<i64>,
}

/// editMessageCaption.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct EditMessageCaption {
    /// Chat of the message.
    pub chat_id: i64,
    /// Its id within that chat.
    pub message_id: i64,
    /// New caption; none removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Its formatting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_entities: Option<serde_json::Value>,
}

/// editMessageMedia: the message's photo, video, file… replaced.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct EditMessageMedia {
    /// Chat of the message.
    pub chat_id: i64,
    /// Its id within that chat.
    pub message_id: i64,
    /// The new media.
    pub media: InputMedia,
}

/// A photo, video, animation, audio or document to put in a message, by `file_id`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct InputMedia {
    /// "photo", "video", "animation", "audio" or "document".
    #[serde(rename = "type")]
    pub kind: String,
    /// The file_id.
    pub media: String,
    /// Its caption; none leaves it without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The caption's formatting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_entities: Option<serde_json::Value>,
}

/// setMessageReaction: the bot's reaction on a message (an empty list removes it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct SetMessageReaction {
    /// Chat of the message.
    pub chat_id: i64,
    /// Its id within that chat.
    pub message_id: i64,
    /// At most one for a bot.
    pub reaction: Vec<serde_json::Value>,
}

/// editMessageText.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct EditMessageText {
    /// Chat of the message.
    pub chat_id: i64,
    /// Its id within that chat.
    pub message_id: i64,
    /// New text.
    pub text: String,
    /// Its formatting (a relayed edit keeps the sender's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<serde_json::Value>,
    /// New inline keyboard; none removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

/// editMessageReplyMarkup.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct EditMessageReplyMarkup {
    /// Chat of the message.
    pub chat_id: i64,
    /// Its id within that chat.
    pub message_id: i64,
    /// New inline keyboard; none removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

/// answerCallbackQuery.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct AnswerCallbackQuery {
    /// The id of the press being answered.
    pub callback_query_id: String,
    /// 0-200 characters shown to the presser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A modal alert instead of a toast.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub show_alert: bool,
}

/// getUpdates.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GetUpdates {
    /// First update to return; confirms every update before it.
    pub offset: Option<i64>,
    /// At most this many updates (1-100).
    pub limit: u32,
    /// Long-polling timeout in seconds.
    pub timeout: u32,
    /// Update kinds wanted.
    pub allowed_updates: Vec<String>,
}

/// setWebhook.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SetWebhook {
    /// HTTPS URL Telegram will POST updates to.
    pub url: String,
    /// Sent back in `X-Telegram-Bot-Api-Secret-Token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_token: Option<String>,
    /// Update kinds wanted.
    pub allowed_updates: Vec<String>,
    /// Concurrent connections Telegram may open (1-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Drop updates queued so far.
    pub drop_pending_updates: bool,
}

/// A command in a command menu (setMyCommands).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BotCommand {
    /// Without the slash: 1–32 of `a`–`z`, `0`–`9` and `_`.
    pub command: String,
    /// What it does, 1–256 characters.
    pub description: String,
}

/// Where a command menu shows (BotCommandScope).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BotCommandScope {
    /// Every private chat.
    AllPrivateChats,
    /// One chat (a group, or a person's private chat with the bot).
    Chat {
        /// The chat.
        chat_id: i64,
    },
    /// The administrators of one group.
    ChatAdministrators {
        /// The group.
        chat_id: i64,
    },
}

/// setMyCommands.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SetMyCommands {
    /// The menu, in order.
    pub commands: Vec<BotCommand>,
    /// Where it shows.
    pub scope: BotCommandScope,
    /// For users of this language; empty: everyone without a menu in their own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub language_code: String,
}

/// The update kinds the bot handles; everything else is not even sent to us.
pub fn allowed_updates() -> Vec<String> {
    ["message", "edited_message", "callback_query", "message_reaction"].into_iter().map(String::from).collect()
}
