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

/// deleteMessage: always true; the message disappears from `received`.
pub(crate) fn delete_message(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let message_id =
        int_param(params, "message_id").ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
    let mut state = shared.lock();
    state.sent.retain(|m| !(m.received.chat_id == chat_id && m.received.message_id == message_id));
    state.incoming.remove(&(chat_id, message_id));
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
