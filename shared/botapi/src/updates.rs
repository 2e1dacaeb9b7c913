//! Builders of realistic Telegram updates (field names as in the Bot API, dates in Unix seconds).
//!
//! Update ids come from a process-wide counter starting at 10 000; incoming message ids from another
//! process-wide counter starting at 100 000, so they never collide with the ids the emulator gives the
//! bot's own messages (1, 2, 3... per chat).

use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::{Map, Value, json};

use super::state::{bot_user, now};

mod media;
pub use media::*;

/// The bot's username, as getMe reports it.
pub const BOT_USERNAME: &str = "zabota_test_bot";

static NEXT_UPDATE_ID: AtomicI64 = AtomicI64::new(10_000);
static NEXT_MESSAGE_ID: AtomicI64 = AtomicI64::new(100_000);
static NEXT_CALLBACK_ID: AtomicI64 = AtomicI64::new(1);

/// A fresh update id, unique in the process and increasing.
pub fn next_update_id() -> i64 {
    NEXT_UPDATE_ID.fetch_add(1, Ordering::Relaxed)
}

/// A fresh incoming message id, unique in the process and increasing.
pub fn next_message_id() -> i64 {
    NEXT_MESSAGE_ID.fetch_add(1, Ordering::Relaxed)
}

/// A Telegram user who writes to the bot.
#[derive(Clone, Debug)]
pub struct TgUser {
    /// Telegram user id; also the id of the private chat with the bot.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Last name, if any.
    pub last_name: Option<String>,
    /// Username without '@', if any.
    pub username: Option<String>,
    /// IETF language tag of the user's client, if known.
    pub language_code: Option<String>,
}

impl TgUser {
    /// Customer number `n`: id 1000+n, Иван Петров, @customer{n}, Russian client.
    pub fn customer(n: i64) -> Self {
        TgUser {
            id: 1000 + n,
            first_name: "Иван".into(),
            last_name: Some("Петров".into()),
            username: Some(format!("customer{n}")),
            language_code: Some("ru".into()),
        }
    }

    /// Operator number `n`: id 5000+n, Оператор{n}, @operator{n}, Russian client.
    pub fn operator(n: i64) -> Self {
        TgUser {
            id: 5000 + n,
            first_name: format!("Оператор{n}"),
            last_name: None,
            username: Some(format!("operator{n}")),
            language_code: Some("ru".into()),
        }
    }

    /// The Bot API User object.
    pub fn json(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        put(&mut user, "last_name", self.last_name.as_deref());
        put(&mut user, "username", self.username.as_deref());
        put(&mut user, "language_code", self.language_code.as_deref());
        user
    }

    /// The private chat of this user with the bot.
    pub fn private_chat(&self) -> Value {
        let mut chat = json!({ "id": self.id, "first_name": self.first_name, "type": "private" });
        put(&mut chat, "last_name", self.last_name.as_deref());
        put(&mut chat, "username", self.username.as_deref());
        chat
    }
}

/// A Chat object for a group (negative id: supergroup) or a bare private chat (positive id).
pub fn group_chat(chat_id: i64) -> Value {
    if chat_id > 0 {
        json!({ "id": chat_id, "first_name": "Пользователь", "type": "private" })
    } else {
        json!({ "id": chat_id, "title": "Операторы Заботы", "type": "supergroup" })
    }
}

/// A `message` update from `user` in their private chat, with `content` fields (text, photo, ...) merged in.
pub fn private_message(user: &TgUser, content: Value) -> Value {
    message_update("message", user.private_chat(), user, content)
}

/// A text message in the private chat; a leading '/' word is marked as a bot_command entity.
pub fn private_text(user: &TgUser, text: &str) -> Value {
    private_message(user, text_content(text))
}

/// A command such as "/start" or "/start payload"; the same as [`private_text`].
pub fn command(user: &TgUser, cmd: &str) -> Value {
    private_text(user, cmd)
}

/// A text message from `user` in the group `chat_id`.
pub fn group_text(chat_id: i64, user: &TgUser, text: &str) -> Value {
    message_update("message", group_chat(chat_id), user, text_content(text))
}

/// An `edited_message` update: `user` changed their message `message_id` to `text`.
pub fn edited_text(user: &TgUser, message_id: i64, text: &str) -> Value {
    let mut content = text_content(text);
    content["message_id"] = json!(message_id);
    content["date"] = json!(now() - 60);
    content["edit_date"] = json!(now());
    message_update("edited_message", user.private_chat(), user, content)
}

/// A text message from `user` replying to message `reply_to` of their private chat, quoting `quote` of it if given.
pub fn reply_text(user: &TgUser, reply_to: i64, text: &str, quote: Option<&str>) -> Value {
    let mut content = text_content(text);
    content["reply_to_message"] = json!({ "message_id": reply_to, "chat": user.private_chat(), "date": now() - 30 });
    if let Some(quote) = quote {
        content["quote"] = json!({ "text": quote, "position": 0 });
    }
    private_message(user, content)
}

/// An `edited_message` update: `user` changed their message `message` (an update built here) to carry `content`
/// instead (text, caption, photo…), edited `seconds_later` after it was sent.
pub fn edited(message: &Value, content: Value, seconds_later: i64) -> Value {
    let mut edited = message["message"].clone();
    if let Some(object) = edited.as_object_mut() {
        for field in ["text", "entities", "caption", "photo", "document", "video", "animation", "audio"] {
            object.remove(field);
        }
        if let Value::Object(content) = content {
            object.extend(content);
        }
    }
    let date = edited["date"].as_i64().unwrap_or_else(now);
    edited["edit_date"] = json!(date + seconds_later);
    json!({ "update_id": next_update_id(), "edited_message": edited })
}

/// A `message_reaction` update: `user` set `emoji` (none: took theirs back) on message `message_id` of their
/// private chat.
pub fn reaction(user: &TgUser, message_id: i64, emoji: Option<&str>) -> Value {
    let new_reaction = emoji.map_or_else(|| json!([]), |e| json!([{ "type": "emoji", "emoji": e }]));
    json!({
        "update_id": next_update_id(),
        "message_reaction": {
            "chat": user.private_chat(),
            "message_id": message_id,
            "user": user.json(),
            "date": now(),
            "old_reaction": [],
            "new_reaction": new_reaction,
        }
    })
}

/// A `callback_query` update: `user` pressed a button with `data` under the bot's message `message_id` in `chat_id`.
pub fn callback(user: &TgUser, chat_id: i64, message_id: i64, data: &str) -> Value {
    let chat = if chat_id == user.id { user.private_chat() } else { group_chat(chat_id) };
    let id = NEXT_CALLBACK_ID.fetch_add(1, Ordering::Relaxed);
    json!({
        "update_id": next_update_id(),
        "callback_query": {
            "id": format!("{}", 4_382_000_000_000_000_000_i64 + id),
            "from": user.json(),
            "message": { "message_id": message_id, "from": bot_user(), "chat": chat, "date": now() - 5 },
            "chat_instance": format!("{}", chat_id.wrapping_mul(-7_919_993_457)),
            "data": data,
        }
    })
}

/// The same update with `update_id` replaced.
pub fn with_update_id(mut update: Value, id: i64) -> Value {
    update["update_id"] = json!(id);
    update
}

/// An update of kind `kind` carrying a message from `user` in `chat`; `content` may override any field.
fn message_update(kind: &str, chat: Value, user: &TgUser, content: Value) -> Value {
    let mut message = Map::new();
    message.insert("message_id".into(), json!(next_message_id()));
    message.insert("from".into(), user.json());
    message.insert("chat".into(), chat);
    message.insert("date".into(), json!(now()));
    if let Value::Object(content) = content {
        message.extend(content);
    }
    let mut update = Map::new();
    update.insert("update_id".into(), json!(next_update_id()));
    update.insert(kind.into(), Value::Object(message));
    Value::Object(update)
}

/// `text`, plus a bot_command entity when it starts with '/'.
fn text_content(text: &str) -> Value {
    let mut content = json!({ "text": text });
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        let length = command.encode_utf16().count();
        content["entities"] = json!([{ "offset": 0, "length": length, "type": "bot_command" }]);
    }
    content
}

/// Sets `key` when `value` is present.
fn put(object: &mut Value, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        object[key] = json!(value);
    }
}
