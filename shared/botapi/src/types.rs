//! Plain data the emulator hands back to tests: recorded calls, delivered messages, faults, webhook settings.

use std::time::Duration;

use serde_json::Value;

/// One HTTP call the bot made to the emulator, recorded before any fault applied.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    /// The method as written in the URL, e.g. `sendMessage` (`downloadFile` for file downloads).
    pub method: String,
    /// The parameters: the JSON body, form fields and query string merged into one object.
    pub params: Value,
    /// The HTTP status answered; 0 while the call is in flight or when the connection was dropped.
    pub status: u16,
    /// Answered 429 because it was over a flood limit (not an injected fault).
    pub over_limit: bool,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// A message the bot successfully delivered to a chat, as it looks now (after edits).
#[derive(Clone, Debug)]
pub struct Received {
    /// The chat the message reached.
    pub chat_id: i64,
    /// The message id the emulator assigned (per chat, starting at 1).
    pub message_id: i64,
    /// The method that created it: `sendMessage`, `copyMessage`, `forwardMessage`, `sendPhoto`...
    pub method: String,
    /// The text, for text messages (copies and forwards of known text messages included).
    pub text: Option<String>,
    /// The caption, for media messages.
    pub caption: Option<String>,
    /// The reply markup as last sent or edited; `None` once an edit removed the inline keyboard.
    pub reply_markup: Option<Value>,
    /// The parameters of the call that created the message.
    pub params: Value,
    /// The message of this chat it replies to, if Telegram found it.
    pub reply_to_message_id: Option<i64>,
    /// The part of that message it quotes.
    pub quote: Option<String>,
    /// The album it is a part of.
    pub media_group_id: Option<String>,
}

impl Received {
    /// The inline keyboard rows, if the message carries one.
    pub fn inline_keyboard(&self) -> Option<&Vec<Value>> {
        self.reply_markup.as_ref()?.get("inline_keyboard")?.as_array()
    }

    /// The callback_data of every inline button, row by row.
    pub fn callback_data(&self) -> Vec<String> {
        self.button_field("callback_data")
    }

    /// The label of every inline button, row by row.
    pub fn button_texts(&self) -> Vec<String> {
        self.button_field("text")
    }

    /// `field` of every inline button that has it, row by row.
    fn button_field(&self, field: &str) -> Vec<String> {
        let rows = self.inline_keyboard().cloned().unwrap_or_default();
        rows.iter()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|button| button.get(field)?.as_str().map(str::to_owned))
            .collect()
    }
}

/// An answerCallbackQuery the bot made.
#[derive(Clone, Debug)]
pub struct CallbackAnswer {
    /// The id of the callback query answered.
    pub callback_query_id: String,
    /// The notification text, if any.
    pub text: Option<String>,
    /// Whether an alert was requested instead of a toast.
    pub show_alert: bool,
}

/// A failure the emulator can inject in place of a normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 500 "Internal Server Error".
    ServerError,
    /// 429 "Too Many Requests: retry after N" with `parameters.retry_after`.
    TooManyRequests {
        /// Seconds the bot is told to wait.
        retry_after: u64,
    },
    /// 403 with this description ("Forbidden: " is prepended when missing).
    Forbidden(String),
    /// 400 with this description ("Bad Request: " is prepended when missing).
    BadRequest(String),
    /// Waits this long, then answers normally.
    Delay(Duration),
    /// Closes the connection without any HTTP answer.
    Drop,
}

/// The webhook as last set by setWebhook.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookSettings {
    /// Where updates are POSTed.
    pub url: String,
    /// Sent back in `X-Telegram-Bot-Api-Secret-Token` with every delivery.
    pub secret_token: Option<String>,
    /// The update kinds the bot asked for, if it asked.
    pub allowed_updates: Option<Vec<String>>,
    /// The connection limit the bot asked for, if it asked.
    pub max_connections: Option<u32>,
    /// Whether setWebhook was asked to drop pending updates.
    pub drop_pending_updates: bool,
}

/// A Bot API error answer: `{"ok":false,"error_code":code,"description":...}`.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this code and description.
    pub(crate) fn new(code: u16, description: impl Into<String>) -> Self {
        ApiError { code, description: description.into(), retry_after: None }
    }

    /// 400 "Bad Request: {what}".
    pub(crate) fn bad_request(what: &str) -> Self {
        ApiError::new(400, format!("Bad Request: {what}"))
    }

    /// The answer body.
    pub(crate) fn body(&self) -> Value {
        let mut body = serde_json::json!({ "ok": false, "error_code": self.code, "description": self.description });
        if let Some(seconds) = self.retry_after {
            body["parameters"] = serde_json::json!({ "retry_after": seconds });
        }
        body
    }
}

/// What a method handler answers: a `result` or an error.
pub(crate) type Reply = Result<Value, ApiError>;
