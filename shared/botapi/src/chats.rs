//! Chats as the people in them see them, for the sandbox: what users do (write, edit, press, react) with message
//! ids taken from the chat's own counter like Telegram's, every chat's transcript (both sides, in order), and a
//! change counter a page can wait on.

use serde_json::{Value, json};

use super::messages::render;
use super::state::now;
use super::updates::{self, TgUser};
use super::{BotApiEmulator, CallbackAnswer};

impl BotApiEmulator {
    /// A counter that moves whenever a chat may look different: a call answered (not the `get…` reads), an
    /// update pushed, a reset.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// Tells whoever waits on [`changes`](Self::changes) that something outside the chats changed (who is in them).
    pub fn poke(&self) {
        self.shared.changed.send_modify(|n| *n += 1);
    }

    /// Pushes a `message` update built by [`updates`] (a text, a photo, a contact…) as a user's new message: its
    /// id is the chat's next one, shared with the bot's messages, as in Telegram. Returns that id.
    pub fn write(&self, mut update: Value) -> i64 {
        let chat_id = update.pointer("/message/chat/id").and_then(Value::as_i64).unwrap_or_default();
        let message_id = self.shared.lock().next_message_id(chat_id);
        update["message"]["message_id"] = json!(message_id);
        self.push_update(update);
        message_id
    }

    /// `user` edits their message `message_id` of `chat_id` to say `text` (a caption, for media). False when there
    /// is no such message of theirs or it says that already (Telegram sends no update then).
    pub fn edit_by_user(&self, user: &TgUser, chat_id: i64, message_id: i64, text: &str) -> bool {
        let Some(mut message) = self.shared.lock().incoming.get(&(chat_id, message_id)).cloned() else { return false };
        if message.pointer("/from/id").and_then(Value::as_i64) != Some(user.id) || text.trim().is_empty() {
            return false;
        }
        let field = if message.get("text").is_some() { "text" } else { "caption" };
        if message.get(field).and_then(Value::as_str) == Some(text) {
            return false;
        }
        message[field] = json!(text);
        if let Some(object) = message.as_object_mut() {
            object.remove("entities");
            object.remove("caption_entities");
        }
        message["edit_date"] = json!(now());
        self.push_update(json!({ "update_id": updates::next_update_id(), "edited_message": message }));
        true
    }

    /// `user` presses the inline button with `data` under the bot's message `message_id` in `chat_id`. Returns the
    /// callback query id (to find its answer), or `None` when there is no such message of the bot's. Like Telegram,
    /// a press on a keyboard the bot has meanwhile edited away still arrives (the user's screen had it): two operators
    /// pressing one card at once both reach the bot.
    pub fn press(&self, user: &TgUser, chat_id: i64, message_id: i64, data: &str) -> Option<String> {
        let message = {
            let state = self.shared.lock();
            let sent =
                state.sent.iter().find(|m| m.received.chat_id == chat_id && m.received.message_id == message_id)?;
            render(&state, sent)
        };
        let mut update = updates::callback(user, chat_id, message_id, data);
        update["callback_query"]["message"] = message;
        let id = update["callback_query"]["id"].as_str().map(str::to_owned);
        self.push_update(update);
        id
    }

    /// `user` sets `emoji` (none: takes theirs back) on message `message_id` of their private chat.
    pub fn react(&self, user: &TgUser, message_id: i64, emoji: Option<&str>) {
        self.push_update(updates::reaction(user, message_id, emoji));
    }

    /// The answer to callback query `id`, once the bot gave one.
    pub fn callback_answer(&self, id: &str) -> Option<CallbackAnswer> {
        self.shared.lock().callback_answers.iter().find(|a| a.callback_query_id == id).cloned()
    }

    /// Every message of `chat_id` that exists now, both sides, in order, as Bot API Message objects. The bot's
    /// carry their `reply_markup` as sent (reply keyboards too) and `bot_reaction`, the bot's reaction on them.
    pub fn transcript(&self, chat_id: i64) -> Vec<Value> {
        transcript_of(&self.shared.lock(), chat_id)
    }

    /// The transcripts of `chats`, read at one moment: a message relayed from one to another is in both or in
    /// neither.
    pub fn transcripts(&self, chats: &[i64]) -> Vec<(i64, Vec<Value>)> {
        let state = self.shared.lock();
        chats.iter().map(|chat| (*chat, transcript_of(&state, *chat))).collect()
    }
    /// The bytes of file `file_id`, if they were registered with [`add_file`](Self::add_file).
    pub fn file_bytes(&self, file_id: &str) -> Option<Vec<u8>> {
        self.shared.lock().files.get(file_id)?.bytes.clone()
    }

    /// Keeps at most `limit` recorded calls and callback answers (the oldest half is forgotten when it is
    /// reached), so a long-running server's memory stays bounded; tests keep everything by default.
    pub fn limit_log(&self, limit: usize) {
        self.shared.lock().log_limit = Some(limit.max(2));
    }

    /// Forgets every chat, call, file and pending update, as if the bot were new; chat members, the log limit
    /// and the flood limits stay.
    pub fn reset(&self) {
        let mut state = self.shared.lock();
        let members = std::mem::take(&mut state.members);
        let (log_limit, limits) = (state.log_limit, state.limits);
        *state = super::state::State::new();
        state.members = members;
        state.log_limit = log_limit;
        state.limits = limits;
        drop(state);
        self.shared.changed.send_modify(|n| *n += 1);
    }
}

/// The transcript of one chat from `state`: see [`BotApiEmulator::transcript`].
fn transcript_of(state: &super::state::State, chat_id: i64) -> Vec<Value> {
    let mut messages: Vec<Value> =
        state.incoming.iter().filter(|((chat, _), _)| *chat == chat_id).map(|(_, message)| message.clone()).collect();
    for sent in state.sent.iter().filter(|m| m.received.chat_id == chat_id) {
        let mut message = render(state, sent);
        if let Some(markup) = &sent.received.reply_markup {
            message["reply_markup"] = markup.clone();
        }
        if let Some(reply_to) = sent.received.reply_to_message_id {
            message["reply_to_message"] = json!({ "message_id": reply_to });
        }
        messages.push(message);
    }
    for message in &mut messages {
        let id = message.get("message_id").and_then(Value::as_i64).unwrap_or_default();
        if let Some(reactions) = state.reactions.get(&(chat_id, id)).filter(|r| !r.is_empty()) {
            message["bot_reaction"] = json!(reactions);
        }
    }
    messages.sort_by_key(|m| m.get("message_id").and_then(Value::as_i64).unwrap_or_default());
    messages
}
