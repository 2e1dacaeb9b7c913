//! setMyCommands, getMyCommands and deleteMyCommands: a command menu per scope and language, with the checks
//! Telegram makes (a command is 1–32 of `a`–`z`, `0`–`9` and `_`; a description 1–256 characters; at most 100
//! commands; a known scope; a two-letter language code or none).

use serde_json::{Value, json};

use super::methods::{json_param, str_param};
use super::state::Shared;
use super::types::{ApiError, Reply};

/// Where a menu shows: the scope's JSON (its `type` and ids, as given) and the language code (`""`: every language
/// without a menu of its own).
pub(crate) type MenuKey = (String, String);

/// The scope of `params` (default: `{"type":"default"}`), checked and written canonically.
fn scope(params: &Value) -> Result<String, ApiError> {
    let Some(scope) = json_param(params, "scope") else { return Ok(json!({ "type": "default" }).to_string()) };
    let kind = scope.get("type").and_then(Value::as_str).unwrap_or_default();
    let id = |key: &str| match scope.get(key) {
        Some(Value::Number(n)) => n.as_i64().map(Value::from),
        Some(Value::String(s)) if !s.is_empty() => Some(Value::from(s.clone())),
        _ => None,
    };
    let canonical = match kind {
        "default" | "all_private_chats" | "all_group_chats" | "all_chat_administrators" => json!({ "type": kind }),
        "chat" | "chat_administrators" => match id("chat_id") {
            Some(chat_id) => json!({ "type": kind, "chat_id": chat_id }),
            None => return Err(ApiError::bad_request("chat not found")),
        },
        "chat_member" => match (id("chat_id"), id("user_id")) {
            (Some(chat_id), Some(user_id)) => json!({ "type": kind, "chat_id": chat_id, "user_id": user_id }),
            _ => return Err(ApiError::bad_request("chat not found")),
        },
        _ => return Err(ApiError::bad_request("can't parse BotCommandScope: unknown type")),
    };
    Ok(canonical.to_string())
}

/// The language code of `params`: empty, or two lower-case letters.
fn language(params: &Value) -> Result<String, ApiError> {
    let code = str_param(params, "language_code").unwrap_or_default();
    if code.is_empty() || (code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())) {
        Ok(code)
    } else {
        Err(ApiError::bad_request("invalid language code specified"))
    }
}

fn key(params: &Value) -> Result<MenuKey, ApiError> {
    Ok((scope(params)?, language(params)?))
}

/// setMyCommands.
pub(crate) fn set(shared: &Shared, params: &Value) -> Reply {
    let key = key(params)?;
    let commands = match json_param(params, "commands") {
        Some(Value::Array(commands)) => commands,
        Some(_) => return Err(ApiError::bad_request("can't parse commands JSON object")),
        None => return Err(ApiError::bad_request("parameter \"commands\" is required")),
    };
    if commands.len() > 100 {
        return Err(ApiError::bad_request("too many commands specified"));
    }
    let mut checked = Vec::with_capacity(commands.len());
    for command in &commands {
        let name = command.get("command").and_then(Value::as_str);
        let description = command.get("description").and_then(Value::as_str);
        let (Some(name), Some(description)) = (name, description) else {
            return Err(ApiError::bad_request("can't parse BotCommand: Can't find field \"description\""));
        };
        let valid_name = (1..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name {
            return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
        }
        let description = description.trim();
        if description.is_empty() {
            return Err(ApiError::bad_request("command description must be non-empty"));
        }
        if description.chars().count() > 256 {
            return Err(ApiError::bad_request("command description is too long"));
        }
        checked.push(json!({ "command": name, "description": description }));
    }
    let mut state = shared.lock();
    if checked.is_empty() {
        state.command_menus.remove(&key);
    } else {
        state.command_menus.insert(key, checked);
    }
    Ok(json!(true))
}

/// getMyCommands: the menu of exactly that scope and language, or an empty list.
pub(crate) fn get(shared: &Shared, params: &Value) -> Reply {
    let key = key(params)?;
    Ok(Value::Array(shared.lock().command_menus.get(&key).cloned().unwrap_or_default()))
}

/// deleteMyCommands.
pub(crate) fn delete(shared: &Shared, params: &Value) -> Reply {
    let key = key(params)?;
    shared.lock().command_menus.remove(&key);
    Ok(json!(true))
}
