//! A Telegram Bot API server in the box: a real HTTP server on 127.0.0.1 that answers like api.telegram.org,
//! with its validation, refusals and limits, records every call, and injects faults on demand. The tests drive it,
//! and `zabota sandbox` runs the desk on it behind a web page (the chats' side is in `chats`). Point
//! `TELEGRAM_API_URL` at [`BotApiEmulator::base_url`]. Nothing it is told reaches Telegram.

mod chats;
mod commands;
mod edits;
mod files;
mod limits;
mod messages;
mod methods;
mod polling;
mod server;
mod state;
mod types;
pub mod updates;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;

pub use files::MAX_DOWNLOAD_BYTES;
pub use limits::{Limits, Window};
pub use types::{CallbackAnswer, Fault, Received, RecordedCall, WebhookSettings};
pub use webhook::SECRET_HEADER;

use state::Shared;

/// The token the emulator accepts; any other gets 401.
pub const TEST_BOT_TOKEN: &str = "123456789:TEST-token_ABCdefGHIjkl";
/// The bot's user id, as getMe reports it.
pub const BOT_USER_ID: i64 = 123456789;

/// A running emulator. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct BotApiEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _server: Arc<ServerTask>,
}

/// Aborts the server task when the last handle goes away.
struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl BotApiEmulator {
    /// Binds 127.0.0.1 on a random port and serves in a tokio task.
    ///
    /// # Panics
    /// When no local port can be bound: the test cannot run without one (the sandbox uses [`try_start`]).
    ///
    /// [`try_start`]: Self::try_start
    pub async fn start() -> BotApiEmulator {
        match Self::try_start().await {
            Ok(emulator) => emulator,
            Err(error) => panic!("the Bot API emulator cannot bind 127.0.0.1: {error}"),
        }
    }

    /// Binds 127.0.0.1 on a random port and serves in a tokio task; the error when no port can be bound.
    pub async fn try_start() -> std::io::Result<BotApiEmulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        let task = tokio::spawn(server::serve(listener, server::router(shared.clone())));
        Ok(BotApiEmulator { shared, addr, _server: Arc::new(ServerTask(task)) })
    }

    /// Enforces `limits` from now on (`None`: none). Telegram's figures ([`Limits::TELEGRAM`]) are the default.
    pub fn set_limits(&self, limits: Option<Limits>) {
        let mut state = self.shared.lock();
        state.limits = limits;
        state.meter = limits::Meter::default();
    }

    /// Calls answered 429 because they were over a flood limit (injected 429 faults are not counted).
    pub fn over_limit_calls(&self) -> Vec<RecordedCall> {
        let state = self.shared.lock();
        state.calls.iter().filter(|c| c.status == 429 && c.over_limit).cloned().collect()
    }

    /// The API root, e.g. "http://127.0.0.1:40123": the value for `TELEGRAM_API_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token the emulator accepts: [`TEST_BOT_TOKEN`].
    pub fn token(&self) -> &'static str {
        TEST_BOT_TOKEN
    }

    /// Every call in arrival order, failed and faulted ones included.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    /// The calls of `method` (case-insensitive), in arrival order.
    pub fn calls_to(&self, method: &str) -> Vec<RecordedCall> {
        let state = self.shared.lock();
        state.calls.iter().filter(|c| c.method.eq_ignore_ascii_case(method)).cloned().collect()
    }

    /// The bot's messages that reached `chat_id` and were not deleted, in order, as they are now.
    pub fn received(&self, chat_id: i64) -> Vec<Received> {
        let state = self.shared.lock();
        state.sent.iter().filter(|m| m.received.chat_id == chat_id).map(|m| m.received.clone()).collect()
    }

    /// The bytes uploaded with the send that created the bot's message `message_id` of `chat_id`.
    pub fn uploaded(&self, chat_id: i64, message_id: i64) -> Option<Vec<u8>> {
        self.shared.lock().uploads.get(&(chat_id, message_id)).cloned()
    }

    /// The file id of the photo in the bot's message `message_id` of `chat_id` (its largest size), if it has one.
    pub fn photo_file_id(&self, chat_id: i64, message_id: i64) -> Option<String> {
        let state = self.shared.lock();
        let sent = state.sent.iter().find(|m| m.received.chat_id == chat_id && m.received.message_id == message_id)?;
        let sizes = sent.content.get("photo")?.as_array()?;
        sizes.last()?.get("file_id")?.as_str().map(str::to_owned)
    }

    /// Someone deleted message `message_id` of `chat_id` (theirs or the bot's) in their app.
    pub fn delete(&self, chat_id: i64, message_id: i64) {
        let mut state = self.shared.lock();
        state.incoming.remove(&(chat_id, message_id));
        state.sent.retain(|m| !(m.received.chat_id == chat_id && m.received.message_id == message_id));
        if let Some(pinned) = state.pinned.get_mut(&chat_id) {
            pinned.retain(|m| *m != message_id);
        }
        drop(state);
        self.shared.changed.send_modify(|n| *n += 1);
    }

    /// The emoji the bot has set as its reaction on message `message_id` of `chat_id` (none: empty).
    pub fn reaction(&self, chat_id: i64, message_id: i64) -> Vec<String> {
        let state = self.shared.lock();
        let reactions = state.reactions.get(&(chat_id, message_id)).cloned().unwrap_or_default();
        reactions.iter().filter_map(|r| r.get("emoji").and_then(Value::as_str).map(str::to_owned)).collect()
    }

    /// The messages pinned in `chat_id`, the latest last.
    pub fn pinned(&self, chat_id: i64) -> Vec<i64> {
        self.shared.lock().pinned.get(&chat_id).cloned().unwrap_or_default()
    }

    /// The text (or caption) of each message in [`received`](Self::received); "" when it has neither.
    pub fn texts(&self, chat_id: i64) -> Vec<String> {
        self.received(chat_id).into_iter().map(|m| m.text.or(m.caption).unwrap_or_default()).collect()
    }

    /// Every successful answerCallbackQuery, in order.
    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.shared.lock().callback_answers.clone()
    }

    /// Sets what getChatMember answers for the pair: "creator", "administrator", "member", "restricted",
    /// "left" or "kicked". Pairs never set are "left".
    pub fn set_chat_member(&self, chat_id: i64, user_id: i64, status: &str) {
        self.shared.lock().members.insert((chat_id, user_id), status.to_owned());
    }

    /// Every send to `chat_id` fails with 403 "Forbidden: bot was blocked by the user".
    pub fn block_chat(&self, chat_id: i64) {
        self.shared.lock().blocked.insert(chat_id, "Forbidden: bot was blocked by the user");
    }

    /// Every send to `chat_id` fails with 403 "Forbidden: bot can't initiate conversation with a user".
    pub fn never_started(&self, chat_id: i64) {
        self.shared.lock().blocked.insert(chat_id, "Forbidden: bot can't initiate conversation with a user");
    }

    /// Lets sends to `chat_id` through again.
    pub fn unblock_chat(&self, chat_id: i64) {
        self.shared.lock().blocked.remove(&chat_id);
    }

    /// The next `times` calls of `method` ("*" for any Bot API method) get `fault` instead of their answer.
    /// Faults are consumed in the order they were added. File downloads are method "downloadFile",
    /// and only faults named so apply to them.
    pub fn fail_next(&self, method: &str, fault: Fault, times: usize) {
        let mut state = self.shared.lock();
        state.scripted_faults.extend(std::iter::repeat_n((method.to_owned(), fault), times));
    }

    /// Each call of `method` ("*" for any) gets `fault` with probability `rate`, from a seeded generator,
    /// so runs repeat. A rate of 0.0 clears it.
    pub fn set_fault_rate(&self, method: &str, rate: f64, fault: Fault) {
        let mut state = self.shared.lock();
        let key = method.to_ascii_lowercase();
        if rate <= 0.0 {
            state.fault_rates.remove(&key);
        } else {
            state.fault_rates.insert(key, (rate, fault));
        }
    }

    /// Registers a downloadable file and returns its file_path, e.g. "documents/file_7.pdf".
    pub fn add_file(&self, file_id: &str, file_unique_id: &str, bytes: Vec<u8>) -> String {
        let size = bytes.len() as u64;
        files::register(&self.shared, file_id, file_unique_id, size, Some(bytes))
    }

    /// Registers a file known only by size. Over 20 MB, getFile refuses it with 400
    /// "Bad Request: file is too big", like Telegram; smaller ones download as zero bytes.
    pub fn add_file_with_size(&self, file_id: &str, file_unique_id: &str, reported_size: u64) {
        files::register(&self.shared, file_id, file_unique_id, reported_size, None);
    }

    /// Serves files up to 2000 MB, like a self-hosted telegram-bot-api, instead of the cloud's 20 MB.
    pub fn act_as_self_hosted(&self) {
        self.shared.lock().download_limit = 2000 * 1024 * 1024;
    }

    /// Queues an update for getUpdates or webhook delivery; one without `update_id` gets a fresh one.
    /// Messages in it are remembered, so copies and forwards of them carry their text and media.
    pub fn push_update(&self, mut update: Value) {
        if update.get("update_id").and_then(Value::as_i64).is_none() {
            update["update_id"] = Value::from(updates::next_update_id());
        }
        let mut state = self.shared.lock();
        state.learn(&update);
        state.updates.push_back(update);
        drop(state);
        self.shared.update_pushed.notify_waiters();
        self.shared.changed.send_modify(|n| *n += 1);
    }

    /// Remembers the messages in an update delivered some other way (a test calling the bot directly), so copies
    /// and forwards of them carry their text and media, as Telegram's would.
    pub fn observe(&self, update: &Value) {
        self.shared.lock().learn(update);
    }

    /// Updates not yet confirmed (by a getUpdates offset or a 2xx webhook answer).
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().updates.len()
    }

    /// POSTs each pending update, in order, to the webhook URL with the secret header (if a secret
    /// was set). An update answered 2xx is dropped; otherwise it stays pending. Returns the statuses
    /// (0 for a connection error); empty when no webhook is set.
    pub async fn deliver_webhook(&self) -> Vec<u16> {
        webhook::deliver(&self.shared).await
    }

    /// The webhook as last set, or `None` when none is set.
    pub fn webhook(&self) -> Option<WebhookSettings> {
        self.shared.lock().webhook.clone()
    }

    /// The command menu set for `scope` (e.g. `{"type":"all_private_chats"}`) and `language` (`""`: the default):
    /// each command and its description, in order.
    pub fn command_menu(&self, scope: &serde_json::Value, language: &str) -> Vec<(String, String)> {
        let key = (scope.to_string(), language.to_owned());
        let state = self.shared.lock();
        let menu = state.command_menus.get(&key).cloned().unwrap_or_default();
        let text = |c: &serde_json::Value, k: &str| {
            c.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned()
        };
        menu.iter().map(|c| (text(c, "command"), text(c, "description"))).collect()
    }

    /// How many command menus are set (scope × language).
    pub fn command_menu_count(&self) -> usize {
        self.shared.lock().command_menus.len()
    }
}
