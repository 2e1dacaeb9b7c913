//! The emulator's memory: calls, messages, chats, files, faults and the update queue, behind one mutex.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};

use super::types::{CallbackAnswer, Fault, Received, RecordedCall, WebhookSettings};
use super::{BOT_USER_ID, updates};

/// A message the bot created, with what is needed to render it as a Bot API Message again.
#[derive(Clone, Debug)]
pub(crate) struct SentMessage {
    pub(crate) received: Received,
    pub(crate) date: i64,
    pub(crate) edit_date: Option<i64>,
    /// Content fields other than text and caption (photo, document, entities, forward_origin...).
    pub(crate) content: Map<String, Value>,
}

/// A file getFile knows about.
#[derive(Clone, Debug)]
pub(crate) struct StoredFile {
    pub(crate) file_unique_id: String,
    pub(crate) file_path: String,
    pub(crate) size: u64,
    /// `None` for files registered by size only; downloads then yield `size` zero bytes.
    pub(crate) bytes: Option<Vec<u8>>,
}

/// Everything the emulator remembers.
pub(crate) struct State {
    pub(crate) calls: Vec<RecordedCall>,
    /// Calls forgotten to keep the log under `log_limit`: a call's index is this plus its place in `calls`.
    pub(crate) calls_dropped: usize,
    /// At most this many calls and callback answers are kept (the oldest half goes when it is reached); `None`
    /// keeps everything, as tests want. A long-running sandbox sets one.
    pub(crate) log_limit: Option<usize>,
    /// Telegram's flood limits, enforced on every send and edit; `None` lifts them.
    pub(crate) limits: Option<super::limits::Limits>,
    pub(crate) meter: super::limits::Meter,
    pub(crate) sent: Vec<SentMessage>,
    /// Messages seen in pushed updates, by (chat_id, message_id), for copies and forwards.
    pub(crate) incoming: HashMap<(i64, i64), Value>,
    /// Chats and users seen in pushed updates, to render realistic chat and user objects.
    pub(crate) chats: HashMap<i64, Value>,
    pub(crate) users: HashMap<i64, Value>,
    pub(crate) next_message_id: HashMap<i64, i64>,
    pub(crate) members: HashMap<(i64, i64), String>,
    /// Chats every send to which fails with this 403 description.
    pub(crate) blocked: HashMap<i64, &'static str>,
    pub(crate) scripted_faults: VecDeque<(String, Fault)>,
    /// Largest file getFile serves: 20 MB like the cloud Bot API, 2000 MB like a self-hosted one.
    pub(crate) download_limit: u64,
    pub(crate) fault_rates: HashMap<String, (f64, Fault)>,
    pub(crate) rng: fastrand::Rng,
    pub(crate) files: HashMap<String, StoredFile>,
    /// The bytes uploaded with a media send, by the message it created (chat, message id).
    pub(crate) uploads: HashMap<(i64, i64), Vec<u8>>,
    pub(crate) file_count: u64,
    pub(crate) updates: VecDeque<Value>,
    pub(crate) webhook: Option<WebhookSettings>,
    pub(crate) webhook_error: Option<(i64, String)>,
    pub(crate) callback_answers: Vec<CallbackAnswer>,
    /// The command menus set, by scope (canonical JSON) and language code.
    pub(crate) command_menus: std::collections::BTreeMap<super::commands::MenuKey, Vec<Value>>,
    /// The bot's reaction on each message it reacted to, by (chat_id, message_id).
    pub(crate) reactions: HashMap<(i64, i64), Vec<Value>>,
    /// Pinned messages per chat, the latest last.
    pub(crate) pinned: HashMap<i64, Vec<i64>>,
}

/// State shared by the public handle and the HTTP handlers.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Woken whenever an update is pushed, for long-polling getUpdates.
    pub(crate) update_pushed: Notify,
    /// Moves on every answered call and pushed update: what a live view of the chats waits on.
    pub(crate) changed: watch::Sender<u64>,
}

impl Shared {
    /// Fresh, empty state.
    pub(crate) fn new() -> Self {
        Shared { state: Mutex::new(State::new()), update_pushed: Notify::new(), changed: watch::Sender::new(0) }
    }

    /// The state; a panic in another test thread does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Nothing seen, sent or set yet.
    pub(crate) fn new() -> Self {
        State {
            calls: Vec::new(),
            calls_dropped: 0,
            log_limit: None,
            limits: Some(super::limits::Limits::TELEGRAM),
            meter: super::limits::Meter::default(),
            sent: Vec::new(),
            incoming: HashMap::new(),
            chats: HashMap::new(),
            users: HashMap::new(),
            next_message_id: HashMap::new(),
            members: HashMap::new(),
            blocked: HashMap::new(),
            scripted_faults: VecDeque::new(),
            download_limit: super::files::MAX_DOWNLOAD_BYTES,
            fault_rates: HashMap::new(),
            reactions: HashMap::new(),
            pinned: HashMap::new(),
            rng: fastrand::Rng::with_seed(0x7a_ab07a),
            files: HashMap::new(),
            uploads: HashMap::new(),
            file_count: 0,
            updates: VecDeque::new(),
            webhook: None,
            webhook_error: None,
            callback_answers: Vec::new(),
            command_menus: std::collections::BTreeMap::new(),
        }
    }

    /// Records a call and returns its index, so its status can be filled in later.
    pub(crate) fn record(&mut self, method: &str, mut params: Value) -> usize {
        // An upload's bytes are not logged (the message it created keeps them).
        if let Some(fields) = params.as_object_mut() {
            for part in fields.values_mut().filter_map(Value::as_object_mut) {
                part.remove("bytes");
            }
        }
        if let Some(limit) = self.log_limit.filter(|limit| self.calls.len() >= *limit) {
            let forget = self.calls.len() - limit / 2;
            self.calls.drain(..forget);
            self.calls_dropped += forget;
        }
        self.calls.push(RecordedCall {
            method: method.to_owned(),
            params,
            status: 0,
            over_limit: false,
            at: std::time::Instant::now(),
        });
        self.calls_dropped + self.calls.len() - 1
    }

    /// The recorded call at `index` (as [`record`](Self::record) returned it), unless it was forgotten.
    pub(crate) fn call_mut(&mut self, index: usize) -> Option<&mut RecordedCall> {
        let at = index.checked_sub(self.calls_dropped)?;
        self.calls.get_mut(at)
    }

    /// Keeps an answer to a callback query, forgetting the oldest half when the log limit is reached.
    pub(crate) fn record_answer(&mut self, answer: CallbackAnswer) {
        if let Some(limit) = self.log_limit.filter(|limit| self.callback_answers.len() >= *limit) {
            let forget = self.callback_answers.len() - limit / 2;
            self.callback_answers.drain(..forget);
        }
        self.callback_answers.push(answer);
    }

    /// Takes the fault that applies to this call, if any: scripted ones first, then random ones.
    /// `wildcard` says whether faults registered for "*" apply (not to file downloads).
    pub(crate) fn take_fault(&mut self, method: &str, wildcard: bool) -> Option<Fault> {
        let matches = |pattern: &str| (wildcard && pattern == "*") || pattern.eq_ignore_ascii_case(method);
        if let Some(index) = self.scripted_faults.iter().position(|(pattern, _)| matches(pattern)) {
            return self.scripted_faults.remove(index).map(|(_, fault)| fault);
        }
        let own = self.fault_rates.get(&method.to_ascii_lowercase());
        let any = if wildcard { self.fault_rates.get("*") } else { None };
        let (rate, fault) = own.or(any).cloned()?;
        (self.rng.f64() < rate).then_some(fault)
    }

    /// The next message id in `chat_id`, shared by every method that creates messages.
    pub(crate) fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let next = self.next_message_id.entry(chat_id).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    /// The bot's message `message_id` in `chat_id`, if it exists.
    pub(crate) fn sent_mut(&mut self, chat_id: i64, message_id: i64) -> Option<&mut SentMessage> {
        self.sent.iter_mut().find(|m| m.received.chat_id == chat_id && m.received.message_id == message_id)
    }

    /// A Chat object for `chat_id`: as seen in updates, or a plausible one.
    pub(crate) fn chat_json(&self, chat_id: i64) -> Value {
        if let Some(chat) = self.chats.get(&chat_id) {
            return chat.clone();
        }
        if chat_id > 0 {
            json!({ "id": chat_id, "first_name": "Пользователь", "type": "private" })
        } else {
            json!({ "id": chat_id, "title": "Группа", "type": "supergroup" })
        }
    }

    /// A User object for `user_id`: the bot, one seen in updates, or a plausible one.
    pub(crate) fn user_json(&self, user_id: i64) -> Value {
        if user_id == BOT_USER_ID {
            return bot_user();
        }
        self.users
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| json!({ "id": user_id, "is_bot": false, "first_name": "Пользователь" }))
    }

    /// Remembers chats, users and messages of a pushed update.
    pub(crate) fn learn(&mut self, update: &Value) {
        for key in ["message", "edited_message", "channel_post", "edited_channel_post"] {
            if let Some(message) = update.get(key) {
                self.learn_message(message, true);
            }
        }
        if let Some(query) = update.get("callback_query") {
            self.learn_user(query.get("from"));
            if let Some(message) = query.get("message") {
                self.learn_message(message, false);
            }
        }
    }

    fn learn_message(&mut self, message: &Value, keep_content: bool) {
        self.learn_user(message.get("from"));
        let Some(chat_id) = message.pointer("/chat/id").and_then(Value::as_i64) else { return };
        if let Some(chat) = message.get("chat") {
            self.chats.insert(chat_id, chat.clone());
        }
        if let (true, Some(message_id)) = (keep_content, message.get("message_id").and_then(Value::as_i64)) {
            // Telegram holds a message's newest version: a late original (or older edit) does not replace it.
            let edited = |m: &Value| m.get("edit_date").and_then(Value::as_i64).unwrap_or(0);
            let newer = self.incoming.get(&(chat_id, message_id)).is_some_and(|known| edited(known) > edited(message));
            if !newer {
                self.incoming.insert((chat_id, message_id), message.clone());
            }
        }
    }

    fn learn_user(&mut self, user: Option<&Value>) {
        if let Some(id) = user.and_then(|u| u.get("id")).and_then(Value::as_i64)
            && id != BOT_USER_ID
            && let Some(user) = user
        {
            self.users.insert(id, user.clone());
        }
    }
}

/// The bot's own User object, as getMe returns it.
pub(crate) fn bot_user() -> Value {
    json!({
        "id": BOT_USER_ID,
        "is_bot": true,
        "first_name": "Служба Заботы",
        "username": updates::BOT_USERNAME,
        "can_join_groups": true,
        "can_read_all_group_messages": false,
        "supports_inline_queries": false,
        "can_connect_to_business": false,
        "has_main_web_app": false
    })
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
