//! Method dispatch, parameter readers, and the small methods (getMe, answerCallbackQuery, getChatMember...).

use serde_json::{Value, json};

use super::state::{Shared, bot_user};
use super::types::{ApiError, CallbackAnswer, Reply};
use super::{commands, edits, files, messages, polling};

/// Handles `method` (lowercased) with `params`; unknown methods answer 404 like Telegram.
pub(crate) async fn dispatch(shared: &Shared, method: &str, params: &Value) -> Reply {
    check_markup(params)?;
    match method {
        "getme" => Ok(bot_user()),
        "sendmessage" => messages::send_message(shared, params),
        "sendphoto" | "senddocument" | "sendvideo" | "sendvoice" | "sendaudio" | "sendanimation" | "sendsticker"
        | "sendvideonote" => messages::send_media(shared, method, params),
        "copymessage" => messages::copy_message(shared, params),
        "copymessages" => messages::copy_messages(shared, params),
        "forwardmessage" => messages::forward_message(shared, params),
        "editmessagetext" => edits::edit_text(shared, params),
        "editmessagecaption" => edits::edit_caption(shared, params),
        "editmessagereplymarkup" => edits::edit_reply_markup(shared, params),
        "editmessagemedia" => edits::edit_media(shared, params),
        "setmessagereaction" => edits::set_reaction(shared, params),
        "deletemessage" => edits::delete_message(shared, params),
        "pinchatmessage" => edits::pin_message(shared, params),
        "unpinchatmessage" => edits::unpin_message(shared, params),
        "sendchataction" => send_chat_action(shared, params),
        "answercallbackquery" => answer_callback_query(shared, params),
        "setmycommands" => commands::set(shared, params),
        "getmycommands" => commands::get(shared, params),
        "deletemycommands" => commands::delete(shared, params),
        "setmydescription" | "setmyshortdescription" | "setmyname" | "setchatmenubutton" => Ok(json!(true)),
        "getchatmember" => get_chat_member(shared, params),
        "getfile" => files::get_file(shared, params),
        "getupdates" => polling::get_updates(shared, params).await,
        "setwebhook" => polling::set_webhook(shared, params),
        "deletewebhook" => polling::delete_webhook(shared, params),
        "getwebhookinfo" => Ok(polling::webhook_info(shared)),
        _ => Err(ApiError::new(404, "Not Found")),
    }
}

/// Telegram's check of an inline keyboard, whatever the method: each button's callback data is 1–64 bytes.
fn check_markup(params: &Value) -> Result<(), ApiError> {
    let Some(markup) = json_param(params, "reply_markup") else { return Ok(()) };
    let rows = markup.get("inline_keyboard").and_then(Value::as_array).cloned().unwrap_or_default();
    for button in rows.iter().filter_map(Value::as_array).flatten() {
        if let Some(data) = button.get("callback_data") {
            let len = data.as_str().map_or(0, str::len);
            if !(1..=64).contains(&len) {
                return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
            }
        }
    }
    Ok(())
}

/// An integer parameter, given as a JSON number or a numeric string (form encoding).
pub(crate) fn int_param(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string parameter; numbers are accepted and rendered.
pub(crate) fn str_param(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean parameter: `true` or `"true"`.
pub(crate) fn bool_param(params: &Value, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

/// A JSON parameter, given inline or as a JSON-encoded string; `null` counts as absent.
pub(crate) fn json_param(params: &Value, key: &str) -> Option<Value> {
    match params.get(key)? {
        Value::Null => None,
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

/// The `chat_id` parameter: 400 "chat_id is empty" when missing, "chat not found" for usernames.
pub(crate) fn chat_id_param(params: &Value, key: &str) -> Result<i64, ApiError> {
    match params.get(key) {
        None | Some(Value::Null) => Err(ApiError::bad_request(&format!("{key} is empty"))),
        Some(Value::String(s)) if s.is_empty() => Err(ApiError::bad_request(&format!("{key} is empty"))),
        Some(_) => int_param(params, key).ok_or_else(|| ApiError::bad_request("chat not found")),
    }
}

fn send_chat_action(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    messages::ensure_reachable(&shared.lock(), chat_id)?;
    if str_param(params, "action").is_none_or(|a| a.is_empty()) {
        return Err(ApiError::bad_request("wrong parameter action in request"));
    }
    Ok(json!(true))
}

fn answer_callback_query(shared: &Shared, params: &Value) -> Reply {
    let Some(callback_query_id) = str_param(params, "callback_query_id").filter(|id| !id.is_empty()) else {
        return Err(ApiError::bad_request("query is too old and response timeout expired or query ID is invalid"));
    };
    let text = str_param(params, "text");
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
    }
    let show_alert = bool_param(params, "show_alert");
    shared.lock().record_answer(CallbackAnswer { callback_query_id, text, show_alert });
    Ok(json!(true))
}

fn get_chat_member(shared: &Shared, params: &Value) -> Reply {
    let chat_id = chat_id_param(params, "chat_id")?;
    let user_id = int_param(params, "user_id").ok_or_else(|| ApiError::bad_request("invalid user_id specified"))?;
    let state = shared.lock();
    let status = state.members.get(&(chat_id, user_id)).map_or("left", String::as_str);
    let mut member = json!({ "status": status, "user": state.user_json(user_id) });
    let extra = match status {
        "creator" => json!({ "is_anonymous": false }),
        "administrator" => json!({
            "can_be_edited": false, "is_anonymous": false, "can_manage_chat": true, "can_delete_messages": true,
            "can_manage_video_chats": true, "can_restrict_members": true, "can_promote_members": false,
            "can_change_info": true, "can_invite_users": true, "can_post_stories": false,
            "can_edit_stories": false, "can_delete_stories": false, "can_pin_messages": true
        }),
        "restricted" => json!({
            "is_member": true, "until_date": 0, "can_send_messages": false, "can_send_audios": false,
            "can_send_documents": false, "can_send_photos": false, "can_send_videos": false,
            "can_send_video_notes": false, "can_send_voice_notes": false, "can_send_polls": false,
            "can_send_other_messages": false, "can_add_web_page_previews": false, "can_change_info": false,
            "can_invite_users": false, "can_pin_messages": false, "can_manage_topics": false
        }),
        "kicked" => json!({ "until_date": 0 }),
        _ => json!({}),
    };
    if let (Some(member), Value::Object(extra)) = (member.as_object_mut(), extra) {
        member.extend(extra);
    }
    Ok(member)
}
