//! The Bot API methods we call directly, typed. Everything a handler decides on goes through the outbox instead,
//! which sends it with [`TelegramClient::call_until`].

use std::time::Duration;

use super::TelegramClient;
use crate::telegram::error::TelegramError;
use crate::telegram::requests::{BotCommandScope, GetUpdates, SendMessage, SetMyCommands, SetWebhook};
use crate::telegram::types::{ChatMember, File, Message, User};

impl TelegramClient {
    /// getMe: the bot itself; a cheap check that the token works.
    pub async fn get_me(&self) -> Result<User, TelegramError> {
        self.call("getMe", &serde_json::json!({})).await
    }

    /// getUpdates without decoding, its HTTP timeout extended by the poll time: malformed updates must not stop
    /// the loop, so each is decoded by the caller.
    pub async fn get_raw_updates(&self, params: &GetUpdates) -> Result<Vec<serde_json::Value>, TelegramError> {
        let timeout = self.policy.request_timeout + Duration::from_secs(u64::from(params.timeout));
        self.call_with_timeout("getUpdates", params, timeout).await
    }

    /// setWebhook: Telegram answers `true` once the URL is registered.
    pub async fn set_webhook(&self, params: &SetWebhook) -> Result<bool, TelegramError> {
        self.call("setWebhook", params).await
    }

    /// setMyCommands: one command menu, for a scope and a language.
    pub async fn set_my_commands(&self, params: &SetMyCommands) -> Result<bool, TelegramError> {
        self.call("setMyCommands", params).await
    }

    /// deleteMyCommands: the command menu of a scope and a language (empty: the default one) goes.
    pub async fn delete_my_commands(
        &self,
        scope: &BotCommandScope,
        language_code: &str,
    ) -> Result<bool, TelegramError> {
        let mut params = serde_json::json!({ "scope": scope });
        if !language_code.is_empty() {
            params["language_code"] = serde_json::json!(language_code);
        }
        self.call("deleteMyCommands", &params).await
    }

    /// deleteWebhook, so that getUpdates works again.
    pub async fn delete_webhook(&self, drop_pending_updates: bool) -> Result<bool, TelegramError> {
        self.call("deleteWebhook", &serde_json::json!({ "drop_pending_updates": drop_pending_updates })).await
    }

    /// sendMessage now, outside the outbox, when the caller needs the sent message back at once.
    pub async fn send_message(&self, params: &SendMessage) -> Result<Message, TelegramError> {
        self.call("sendMessage", params).await
    }

    /// getChatMember: whether `user_id` is in `chat_id`, and as what.
    pub(crate) async fn get_chat_member(&self, chat_id: i64, user_id: i64) -> Result<ChatMember, TelegramError> {
        self.call("getChatMember", &serde_json::json!({ "chat_id": chat_id, "user_id": user_id })).await
    }

    /// getFile: the path to download a file from, and its size.
    pub async fn get_file(&self, file_id: &str) -> Result<File, TelegramError> {
        self.call("getFile", &serde_json::json!({ "file_id": file_id })).await
    }
}
