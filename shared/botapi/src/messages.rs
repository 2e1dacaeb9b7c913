//! Methods that create, copy, forward, edit and delete messages, with Telegram's validation and errors.

use serde_json::{Map, Value, json};

use super::methods::{chat_id_param, int_param, json_param, str_param};
use super::state::{SentMessage, Shared, State, bot_user, now};
use super::types::{ApiError, Received, Reply};

/// Telegram's limit on message text, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;
/// Telegram's limit on media captions, in characters.
pub(crate) const MAX_CAPTION_CHARS: usize = 1024;
/// Fields of an incoming message that describe where it lives rather than what it says.
const META_FIELDS: [&str; 12] = [
    "message_id",
    "from",
    "chat",
    "date",
    "edit_date",
    "forward_origin",
    "reply_to_message",
    "reply_markup",
    "sender_chat",
    "message_thread_id",
    "is_topic_message",
    "has_protected_content",
];

/// 403 when the chat blocked the bot or never started it.
pub(crate) fn ensure_reachable(state: &State, chat_id: i64) -> Result<(), ApiError> {
    match state.blocked.get(&chat_id) {
        Some(description) => Err(ApiError::new(403, *description)),
        None => Ok(()),
    }
}

/// sendMessage.
pub(crate) fn send_message(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let text = str_param(params, "text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request("message is too long"));
    }
    let mut state = shared.lock();
    ensure_reachable(&state, chat_id)?;
    let reply = reply_of(&state, chat_id, params)?;
    let sent = create(&mut state, chat_id, "sendMessage", params, Some(text), None, Map::new(), reply);
    Ok(render(&state, &sent))
}

/// sendPhoto, sendDocument and the other media sends, by file_id or URL.
pub(crate) fn send_media(shared: &Shared, method: &str, params: &Value) -> Reply {
    let (name, kind) = match method {
        "sendphoto" => ("sendPhoto", "photo"),
        "senddocument" => ("sendDocument", "document"),
        "sendvideo" => ("sendVideo", "video"),
        "sendvoice" => ("sendVoice", "voice"),
        "sendaudio" => ("sendAudio", "audio"),
        "sendanimation" => ("sendAnimation", "animation"),
        "sendsticker" => ("sendSticker", "sticker"),
        _ => ("sendVideoNote", "video_note"),
    };
    let chat_id = chat_id_param(params, "chat_id")?;
    // An upload's bytes are kept beside the message, not in its recorded parameters.
    let mut params = params.clone();
    let bytes = params.get_mut(kind).and_then(Value::as_object_mut).and_then(|part| part.remove("bytes"));
    let bytes: Option<Vec<u8>> = bytes
        .as_ref()
        .and_then(Value::as_str)
        .map(|latin1| latin1.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect());
    let params = &params;
    let uploaded =
        params.get(kind).and_then(|v| v.get("filename")).and_then(Value::as_str).map(|f| format!("uploaded_{f}"));
    let Some(file_id) = uploaded.or_else(|| str_param(params, kind)).filter(|f| !f.is_empty()) else {
        return Err(ApiError::bad_request(&format!("there is no {kind} in the request")));
    };
    let file_id = file_id.as_str();
    let caption = checked_caption(params)?;
    let dimensions = match bytes.as_deref() {
        Some(bytes) => super::files::check_upload(kind, bytes)?,
        None => None,
    };
    let size = bytes.as_ref().map_or(1024, Vec::len);
    let file = json!({ "file_id": file_id, "file_unique_id": format!("u_{file_id}"), "file_size": size });
    let mut content = Map::new();
    if kind == "photo" {
        let (width, height) = dimensions.unwrap_or((1280, 960));
        let mut size = file;
        size["width"] = json!(width);
        size["height"] = json!(height);
        content.insert(kind.into(), json!([size]));
    } else {
        if kind == "animation" {
            content.insert("document".into(), file.clone());
        }
        content.insert(kind.into(), file);
    }
    let mut state = shared.lock();
    ensure_reachable(&state, chat_id)?;
    let reply = reply_of(&state, chat_id, params)?;
    let sent = create(&mut state, chat_id, name, params, None, caption, content, reply);
    if let Some(bytes) = bytes {
        state.uploads.insert((chat_id, sent.received.message_id), bytes);
    }
    Ok(render(&state, &sent))
}

/// copyMessage: answers only the new message id.
pub(crate) fn copy_message(shared: &Shared, params: &Value) -> Reply {
    let (chat_id, from_chat_id, message_id) = relay_params(params)?;
    let caption = checked_caption(params)?;
    let mut state = shared.lock();
    ensure_reachable(&state, chat_id)?;
    let reply = reply_of(&state, chat_id, params)?;
    let (text, source_caption, mut content) = source_content(&state, from_chat_id, message_id);
    let caption = if text.is_some() { None } else { caption.or(source_caption) };
    if params.get("caption").is_some() {
        content.remove("caption_entities");
    }
    // A part of an album copied on its own is a message of its own.
    content.remove("media_group_id");
    let sent = create(&mut state, chat_id, "copyMessage", params, text, caption, content, reply);
    Ok(json!({ "message_id": sent.received.message_id }))
}

/// copyMessages: 1–100 ids in strictly increasing order; the copies of an album's parts form one album again
/// (they share a new `media_group_id`). A message that cannot be found is skipped, as Telegram does; answers the
/// new ids of what was copied, in order.
pub(crate) fn copy_messages(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let from_chat_id = chat_id_param(params, "from_chat_id")?;
    let ids: Vec<i64> = match json_param(params, "message_ids") {
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_i64).collect(),
        _ => return Err(ApiError::bad_request("message identifiers are not specified")),
    };
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::bad_request("too many messages to copy"));
    }
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ApiError::bad_request("message identifiers must be in strictly increasing order"));
    }
    let mut state = shared.lock();
    ensure_reachable(&state, chat_id)?;
    let known = |state: &State, id: i64| {
        state.incoming.contains_key(&(from_chat_id, id))
            || state.sent.iter().any(|m| m.received.chat_id == from_chat_id && m.received.message_id == id)
    };
    let found: Vec<i64> = ids.iter().copied().filter(|id| known(&state, *id)).collect();
    if found.is_empty() {
        return Err(ApiError::bad_request("MESSAGE_ID_INVALID"));
    }
    let group = format!("copied_{from_chat_id}_{}", found[0]);
    let mut copied = Vec::new();
    for id in found {
        let (text, caption, mut content) = source_content(&state, from_chat_id, id);
        if content.contains_key("media_group_id") {
            content.insert("media_group_id".into(), json!(group));
        }
        let sent = create(&mut state, chat_id, "copyMessages", params, text, caption, content, None);
        copied.push(json!({ "message_id": sent.received.message_id }));
    }
    Ok(Value::Array(copied))
}

/// forwardMessage: the new message carries `forward_origin`.
pub(crate) fn forward_message(shared: &Shared, params: &Value) -> Reply {
    let (chat_id, from_chat_id, message_id) = relay_params(params)?;
    let mut state = shared.lock();
    ensure_reachable(&state, chat_id)?;
    let (text, caption, mut content) = source_content(&state, from_chat_id, message_id);
    let origin = if let Some(source) = state.incoming.get(&(from_chat_id, message_id)).cloned() {
        origin(&state, from_chat_id, source.get("from").cloned(), source.get("date").cloned())
    } else if state.sent_mut(from_chat_id, message_id).is_some() {
        origin(&state, from_chat_id, Some(bot_user()), None)
    } else {
        origin(&state, from_chat_id, None, None)
    };
    content.insert("forward_origin".into(), origin);
    let sent = create(&mut state, chat_id, "forwardMessage", params, text, caption, content, None);
    Ok(render(&state, &sent))
}

/// What `reply_parameters` make of a new message in `chat_id`: the message it replies to and the quote, as
/// Telegram checks them. A target that is not in the chat is 400 "message to be replied not found" unless
/// `allow_sending_without_reply`; a quote that is not in the target's text or caption is 400 "QUOTE_TEXT_INVALID".
fn reply_of(state: &State, chat_id: i64, params: &Value) -> Result<Option<(i64, Option<String>)>, ApiError> {
    let Some(reply) = json_param(params, "reply_parameters") else { return Ok(None) };
    let target =
        int_param(&reply, "message_id").ok_or_else(|| ApiError::bad_request("message to be replied not found"))?;
    if int_param(&reply, "chat_id").is_some_and(|c| c != chat_id) {
        return Err(ApiError::bad_request("replies to other chats are not emulated"));
    }
    let found = state.sent.iter().find(|m| m.received.chat_id == chat_id && m.received.message_id == target);
    let said = match found {
        Some(sent) => Some(sent.received.text.clone().or_else(|| sent.received.caption.clone()).unwrap_or_default()),
        None => state.incoming.get(&(chat_id, target)).map(|m| {
            let text = m.get("text").or_else(|| m.get("caption")).and_then(Value::as_str);
            text.unwrap_or_default().to_owned()
        }),
    };
    let Some(said) = said else {
        if super::methods::bool_param(&reply, "allow_sending_without_reply") {
            return Ok(None);
        }
        return Err(ApiError::bad_request("message to be replied not found"));
    };
    let quote = str_param(&reply, "quote");
    if let Some(quote) = &quote
        && (quote.is_empty() || !said.contains(quote.as_str()))
    {
        return Err(ApiError::bad_request("QUOTE_TEXT_INVALID"));
    }
    Ok(Some((target, quote)))
}

/// Stores a new message from the bot in `chat_id` and returns it.
#[allow(clippy::too_many_arguments)] // the one place every kind of new message goes through
fn create(
    state: &mut State,
    chat_id: i64,
    method: &str,
    params: &Value,
    text: Option<String>,
    caption: Option<String>,
    content: Map<String, Value>,
    reply: Option<(i64, Option<String>)>,
) -> SentMessage {
    let message_id = state.next_message_id(chat_id);
    let (reply_to_message_id, quote) = reply.map_or((None, None), |(id, quote)| (Some(id), quote));
    let received = Received {
        chat_id,
        message_id,
        method: method.to_owned(),
        text,
        caption,
        reply_markup: json_param(params, "reply_markup"),
        params: params.clone(),
        reply_to_message_id,
        quote,
        media_group_id: content.get("media_group_id").and_then(Value::as_str).map(str::to_owned),
    };
    let sent = SentMessage { received, date: now(), edit_date: None, content };
    state.sent.push(sent.clone());
    sent
}

/// The bot's message as a Bot API Message object.
pub(crate) fn render(state: &State, sent: &SentMessage) -> Value {
    let received = &sent.received;
    let mut message = Map::new();
    message.insert("message_id".into(), json!(received.message_id));
    message.insert("from".into(), bot_user());
    message.insert("chat".into(), state.chat_json(received.chat_id));
    message.insert("date".into(), json!(sent.date));
    if let Some(edit_date) = sent.edit_date {
        message.insert("edit_date".into(), json!(edit_date));
    }
    message.extend(sent.content.clone());
    if let Some(text) = &received.text {
        message.insert("text".into(), json!(text));
    }
    if let Some(caption) = &received.caption {
        message.insert("caption".into(), json!(caption));
    }
    if let Some(markup) = inline_markup(received) {
        message.insert("reply_markup".into(), markup);
    }
    Value::Object(message)
}

/// The message's inline keyboard markup, if it has a non-empty one.
pub(crate) fn inline_markup(received: &Received) -> Option<Value> {
    received.reply_markup.clone().filter(is_inline_keyboard)
}

pub(crate) fn is_inline_keyboard(markup: &Value) -> bool {
    markup.get("inline_keyboard").and_then(Value::as_array).is_some_and(|rows| !rows.is_empty())
}

/// The `caption` parameter, refused when over Telegram's limit.
pub(crate) fn checked_caption(params: &Value) -> Result<Option<String>, ApiError> {
    let caption = str_param(params, "caption");
    if caption.as_ref().is_some_and(|c| c.chars().count() > MAX_CAPTION_CHARS) {
        return Err(ApiError::bad_request("message caption is too long"));
    }
    Ok(caption)
}

/// chat_id, from_chat_id and message_id of copyMessage and forwardMessage.
fn relay_params(params: &Value) -> Result<(i64, i64, i64), ApiError> {
    let chat_id = chat_id_param(params, "chat_id")?;
    let from_chat_id = chat_id_param(params, "from_chat_id")?;
    let message_id =
        int_param(params, "message_id").ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
    Ok((chat_id, from_chat_id, message_id))
}

/// Text, caption and other content of a message the emulator knows (incoming or the bot's); empty if unknown.
fn source_content(
    state: &State,
    chat_id: i64,
    message_id: i64,
) -> (Option<String>, Option<String>, Map<String, Value>) {
    let found = state.sent.iter().find(|m| m.received.chat_id == chat_id && m.received.message_id == message_id);
    if let Some(sent) = found {
        let mut content = sent.content.clone();
        content.remove("forward_origin");
        return (sent.received.text.clone(), sent.received.caption.clone(), content);
    }
    let Some(Value::Object(mut content)) = state.incoming.get(&(chat_id, message_id)).cloned() else {
        return (None, None, Map::new());
    };
    for field in META_FIELDS {
        content.remove(field);
    }
    let text = content.remove("text").and_then(|t| t.as_str().map(str::to_owned));
    let caption = content.remove("caption").and_then(|c| c.as_str().map(str::to_owned));
    (text, caption, content)
}

/// A MessageOrigin for a forward from `chat_id`.
fn origin(state: &State, chat_id: i64, sender: Option<Value>, date: Option<Value>) -> Value {
    let date = date.unwrap_or_else(|| json!(now()));
    if chat_id > 0 {
        let sender = sender.unwrap_or_else(|| state.user_json(chat_id));
        json!({ "type": "user", "sender_user": sender, "date": date })
    } else {
        json!({ "type": "chat", "sender_chat": state.chat_json(chat_id), "date": date })
    }
}
