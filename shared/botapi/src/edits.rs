//! Methods that change or remove the bot's messages: editMessageText, editMessageCaption,
//! editMessageReplyMarkup and deleteMessage, with Telegram's "not modified" and "not found" errors.

use serde_json::{Value, json};

use super::messages::{MAX_TEXT_CHARS, checked_caption, inline_markup, is_inline_keyboard, render};
use super::methods::{chat_id_param, int_param, json_param, str_param};
use super::state::{SentMessage, Shared, now};
use super::types::{ApiError, Reply};

const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

/// editMessageText.
pub(crate) fn edit_text(shared: &Shared, params: &Value) -> Reply {
    let text = str_param(params, "text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
    }
    edit(shared, params, |message, markup| {
        if message.received.text.is_none() {
            return Err(ApiError::bad_request("there is no text in the message to edit"));
        }
        if message.received.text.as_deref() == Some(text.as_str()) && inline_markup(&message.received) == markup {
            return Err(ApiError::bad_request(NOT_MODIFIED));
        }
        message.received.text = Some(text);
        message.received.reply_markup = markup;
        Ok(())
    })
}

/// editMessageCaption.
pub(crate) fn edit_caption(shared: &Shared, params: &Value) -> Reply {
    let caption = checked_caption(params)?;
    edit(shared, params, |message, markup| {
        if message.received.text.is_some() {
            return Err(ApiError::bad_request("there is no caption in the message to edit"));
        }
        if message.received.caption == caption && inline_markup(&message.received) == markup {
            return Err(ApiError::bad_request(NOT_MODIFIED));
        }
        message.received.caption = caption;
        message.received.reply_markup = markup;
        Ok(())
    })
}

/// editMessageReplyMarkup.
pub(crate) fn edit_reply_markup(shared: &Shared, params: &Value) -> Reply {
    edit(shared, params, |message, markup| {
        if inline_markup(&message.received) == markup {
            return Err(ApiError::bad_request(NOT_MODIFIED));
        }
        message.received.reply_markup = markup;
        Ok(())
    })
}

/// The media types editMessageMedia takes, and the field each becomes in a message.
const INPUT_MEDIA: [&str; 5] = ["photo", "video", "animation", "audio", "document"];

/// editMessageMedia by file_id: the message's media (and caption) replaced. A text message has no media to edit.
pub(crate) fn edit_media(shared: &Shared, params: &Value) -> Reply {
    let Some(media) = json_param(params, "media") else {
        return Err(ApiError::bad_request("can't parse InputMedia: media is empty"));
    };
    let kind = str_param(&media, "type").unwrap_or_default();
    if !INPUT_MEDIA.contains(&kind.as_str()) {
        return Err(ApiError::bad_request("can't parse InputMedia: unsupported media type"));
    }
    let Some(file_id) = str_param(&media, "media").filter(|f| !f.is_empty()) else {
        return Err(ApiError::bad_request("can't parse InputMedia: media not found"));
    };
    let caption = checked_caption(&media)?;
    edit(shared, params, |message, markup| {
        if message.received.text.is_some() {
            return Err(ApiError::bad_request("there is no media in the message to edit"));
        }
        let current = message.content.get(kind.as_str()).map(|f| {
            let f = f.as_array().and_then(|sizes| sizes.last()).unwrap_or(f);
            f.get("file_id").and_then(Value::as_str).unwrap_or_default().to_owned()
        });
        if current.as_deref() == Some(file_id.as_str()) && message.received.caption == caption {
            return Err(ApiError::bad_request(NOT_MODIFIED));
        }
        for other in INPUT_MEDIA {
            message.content.remove(other);
        }
        let file = json!({ "file_id": file_id, "file_unique_id": format!("u_{file_id}"), "file_size": 1024 });
        let file = if kind == "photo" { json!([file]) } else { file };
        message.content.insert(kind.clone(), file);
        message.received.caption = caption;
        message.received.reply_markup = markup;
        Ok(())
    })
}

/// The emoji a bot may react with (Telegram's list for ReactionTypeEmoji).
const REACTIONS: &[&str] = &[
    "👍",
    "👎",
    "❤",
    "🔥",
    "🥰",
    "👏",
    "😁",
    "🤔",
    "🤯",
    "😱",
    "🤬",
    "😢",
    "🎉",
    "🤩",
    "🤮",
    "💩",
    "🙏",
    "👌",
    "🕊",
    "🤡",
    "🥱",
    "🥴",
    "😍",
    "🐳",
    "❤‍🔥",
    "🌚",
    "🌭",
    "💯",
    "🤣",
    "⚡",
    "🍌",
    "🏆",
    "💔",
    "🤨",
    "😐",
    "🍓",
    "🍾",
    "💋",
    "🖕",
    "😈",
    "😴",
    "😭",
    "🤓",
    "👻",
    "👨‍💻",
    "👀",
    "🎃",
    "🙈",
    "😇",
    "😨",
    "🤝",
    "✍",
    "🤗",
    "🫡",
    "🎅",
    "🎄",
    "☃",
    "💅",
    "🤪",
    "🗿",
    "🆒",
    "💘",
    "🙉",
    "🦄",
    "😘",
    "💊",
    "🙊",
    "😎",
    "👾",
    "🤷‍♂",
    "🤷",
    "🤷‍♀",
    "😡",
];

/// setMessageReaction: the bot's reaction on a message of the chat, incoming or its own. A bot sets at most one;
/// an emoji outside Telegram's list is 400 REACTION_INVALID; an empty list removes the reaction.
pub(crate) fn set_reaction(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let message_id =
        int_param(params, "message_id").ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
    let reaction = match json_param(params, "reaction") {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::bad_request("can't parse reaction types JSON object")),
    };
    if reaction.len() > 1 {
        return Err(ApiError::bad_request("REACTIONS_TOO_MANY"));
    }
    for r in &reaction {
        let emoji = (str_param(r, "type").as_deref() == Some("emoji")).then(|| str_param(r, "emoji")).flatten();
        if !emoji.is_some_and(|e| REACTIONS.contains(&e.as_str())) {
            return Err(ApiError::bad_request("REACTION_INVALID"));
        }
    }
    let mut state = shared.lock();
    super::messages::ensure_reachable(&state, chat_id)?;
    let known = state.incoming.contains_key(&(chat_id, message_id))
        || state.sent.iter().any(|m| m.received.chat_id == chat_id && m.received.message_id == message_id);
    if !known {
        return Err(ApiError::bad_request("message to react not found"));
    }
    if reaction.is_empty() {
        state.reactions.remove(&(chat_id, message_id));
    } else {
        state.reactions.insert((chat_id, message_id), reaction);
    }
    Ok(json!(true))
}

/// deleteMessage: always true; the message disappears from `received`.
pub(crate) fn delete_message(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let message_id =
        int_param(params, "message_id").ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
    let mut state = shared.lock();
    state.sent.retain(|m| !(m.received.chat_id == chat_id && m.received.message_id == message_id));
    state.incoming.remove(&(chat_id, message_id));
    // A deleted message is no longer pinned, as in Telegram.
    if let Some(pinned) = state.pinned.get_mut(&chat_id) {
        pinned.retain(|m| *m != message_id);
    }
    Ok(json!(true))
}

/// The bot may manage pinned messages in `chat_id`: always in private chats; in a group unless it was made a
/// plain member there (`set_chat_member` with the bot's id), where Telegram wants an administrator.
fn may_pin(state: &super::state::State, chat_id: i64) -> Result<(), ApiError> {
    let status = state.members.get(&(chat_id, super::BOT_USER_ID)).map(String::as_str);
    if chat_id < 0 && matches!(status, Some("member" | "restricted" | "left" | "kicked")) {
        return Err(ApiError::bad_request("not enough rights to manage pinned messages in the chat"));
    }
    Ok(())
}

/// pinChatMessage: the message (the bot's or one it saw) joins the chat's pinned messages.
pub(crate) fn pin_message(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let message_id =
        int_param(params, "message_id").ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
    let mut state = shared.lock();
    super::messages::ensure_reachable(&state, chat_id)?;
    may_pin(&state, chat_id)?;
    let known = state.incoming.contains_key(&(chat_id, message_id))
        || state.sent.iter().any(|m| m.received.chat_id == chat_id && m.received.message_id == message_id);
    if !known {
        return Err(ApiError::bad_request("message to pin not found"));
    }
    let pinned = state.pinned.entry(chat_id).or_default();
    pinned.retain(|m| *m != message_id);
    pinned.push(message_id);
    Ok(json!(true))
}

/// unpinChatMessage: the message given (the latest pinned when none is) is unpinned.
pub(crate) fn unpin_message(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let mut state = shared.lock();
    super::messages::ensure_reachable(&state, chat_id)?;
    may_pin(&state, chat_id)?;
    let pinned = state.pinned.entry(chat_id).or_default();
    match int_param(params, "message_id") {
        Some(message_id) => pinned.retain(|m| *m != message_id),
        None => {
            pinned.pop();
        }
    }
    Ok(json!(true))
}

/// Finds the bot's message named by `chat_id`/`message_id`, lets `change` alter it, and renders the result.
fn edit(
    shared: &Shared,
    params: &Value,
    change: impl FnOnce(&mut SentMessage, Option<Value>) -> Result<(), ApiError>,
) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let message_id =
        int_param(params, "message_id").ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
    let markup = json_param(params, "reply_markup").filter(is_inline_keyboard);
    let mut state = shared.lock();
    let is_incoming = state.incoming.contains_key(&(chat_id, message_id));
    let Some(message) = state.sent_mut(chat_id, message_id) else {
        let what = if is_incoming { "message can't be edited" } else { "message to edit not found" };
        return Err(ApiError::bad_request(what));
    };
    change(message, markup)?;
    message.edit_date = Some(now());
    let message = message.clone();
    Ok(render(&state, &message))
}
