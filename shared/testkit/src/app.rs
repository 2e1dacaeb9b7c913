//! `TestApp`: a real `App` wired to a fresh database and the Bot API emulator.

use std::collections::HashMap;

use zabota_core::bot::{self, Outcome};
use zabota_core::telegram::Update;
use zabota_core::webhook::{self, WebhookReply};
use zabota_core::{App, Config};

use crate::emulator::{BotApiEmulator, CallbackAnswer, Received};
use crate::pg::TestDb;

/// The operators' group in tests.
pub const OPERATORS_CHAT_ID: i64 = -1001234567890;
/// The webhook secret in tests.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret_0123456789";

/// A running app with its own database and emulator.
pub struct TestApp {
    /// The app, as the shells build it.
    pub app: App,
    /// Its database.
    pub db: TestDb,
    /// The Bot API it talks to.
    pub telegram: BotApiEmulator,
}

impl TestApp {
    /// Delivers an update straight to the core, as the webhook would, and sends what it decided.
    pub async fn send(&self, update: serde_json::Value) -> Outcome {
        self.telegram.observe(&update);
        let update: Update = serde_json::from_value(update).unwrap_or_else(|e| panic!("not an update: {e}"));
        bot::process(&self.app, &update).await.unwrap_or_else(|e| panic!("processing failed: {e}"))
    }

    /// Like `send`, but returns the error instead of panicking.
    pub async fn try_send(&self, update: serde_json::Value) -> Result<Outcome, bot::ProcessError> {
        self.telegram.observe(&update);
        let update: Update = serde_json::from_value(update).unwrap_or_else(|e| panic!("not an update: {e}"));
        bot::process(&self.app, &update).await
    }

    /// Sends every outbox call that is due (what the periodic redelivery does).
    pub async fn redeliver(&self) {
        bot::deliver_due(&self.app).await.unwrap_or_else(|e| panic!("redelivery failed: {e}"));
    }

    /// The last message a chat received.
    pub fn last(&self, chat_id: i64) -> Received {
        self.telegram.received(chat_id).pop().unwrap_or_else(|| panic!("chat {chat_id} received nothing"))
    }

    /// Sends a button press and returns the one answer it got (asserting there was exactly one, to this press).
    pub async fn answer_to(&self, press: serde_json::Value) -> CallbackAnswer {
        let id = press["callback_query"]["id"].as_str().unwrap_or_default().to_owned();
        let before = self.telegram.callback_answers().len();
        self.send(press).await;
        // Only this press's answers: other presses may be answered meanwhile (the race tests press at once).
        let answers = self.telegram.callback_answers().split_off(before);
        let mut new: Vec<CallbackAnswer> = answers.into_iter().filter(|a| a.callback_query_id == id).collect();
        assert_eq!(new.len(), 1, "exactly one answer per press: {new:#?}");
        new.pop().unwrap_or_else(|| unreachable!("one answer was asserted"))
    }

    /// Time passes: every pending outbox call is due now (its `not_before` reached).
    pub async fn make_outbox_due(&self) {
        let due = "UPDATE outbox SET not_before = now() WHERE status = 'pending'";
        self.db.client().await.execute(due, &[]).await.unwrap_or_else(|e| panic!("outbox due: {e}"));
    }

    /// The one archived attachment: its id and storage key (fails unless exactly one is stored).
    pub async fn stored_attachment(&self) -> (i64, String) {
        let stored = "SELECT id, storage_key FROM message_attachments WHERE archive_status = 'stored'";
        let row = self.db.client().await.query_one(stored, &[]).await.unwrap_or_else(|e| panic!("{stored}: {e}"));
        (row.get(0), row.get(1))
    }

    /// The update as Telegram would post it; the emulator learns the message first (so that copies have its text).
    pub fn body_of(&self, update: &serde_json::Value) -> Vec<u8> {
        self.telegram.observe(update);
        serde_json::to_vec(update).unwrap_or_else(|e| panic!("not JSON: {e}"))
    }

    /// Posts `body` to the webhook entry point (the Lambda's) with the right secret, as Telegram does.
    pub async fn post(&self, body: &[u8]) -> WebhookReply {
        webhook::handle(&self.app, Some(WEBHOOK_SECRET.as_bytes()), body).await
    }
}

/// Environment-style settings for a test app; tests may change entries before building the config.
pub fn test_env(api_url: &str, db_url: &str) -> HashMap<String, String> {
    [
        ("BOT_TOKEN", crate::emulator::TEST_BOT_TOKEN),
        ("OPERATORS_CHAT_ID", &OPERATORS_CHAT_ID.to_string()),
        ("DATABASE_URL", db_url),
        ("TELEGRAM_API_URL", api_url),
        ("WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("MEDIA_BACKEND", "off"),
        ("LOG_FORMAT", "pretty"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Builds a `Config` from a map, through the same parser as production.
pub fn config_from(env: &HashMap<String, String>) -> Config {
    Config::from_lookup(|k| env.get(k).cloned()).unwrap_or_else(|e| panic!("test config: {e}"))
}

/// Starts an emulator, creates a database, and builds the app over both.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with settings changed by `edit` first (e.g. `MEDIA_BACKEND`).
pub async fn spawn_app_with(edit: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    let db = TestDb::new().await;
    build(db, edit).await
}

/// A folder for `MEDIA_BACKEND=fs`, removed when dropped.
pub struct MediaFolder {
    /// The folder (`MEDIA_ROOT`).
    pub root: std::path::PathBuf,
}

impl Drop for MediaFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Like `spawn_app`, with media kept in a fresh folder (`MEDIA_BACKEND=fs`).
pub async fn spawn_app_with_media_folder() -> (TestApp, MediaFolder) {
    let root = std::env::temp_dir().join(format!("zabota-media-{}", uuid::Uuid::new_v4().simple()));
    let root_str = root.to_string_lossy().into_owned();
    let t = spawn_app_with(|env| {
        env.insert("MEDIA_BACKEND".into(), "fs".into());
        env.insert("MEDIA_ROOT".into(), root_str);
    })
    .await;
    (t, MediaFolder { root })
}

/// Like `spawn_app`, over a database the test made (e.g. on a cluster of its own).
pub async fn spawn_app_on(db: TestDb) -> TestApp {
    build(db, |_| {}).await
}

async fn build(db: TestDb, edit: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    let telegram = BotApiEmulator::start().await;
    let mut env = test_env(&telegram.base_url(), &db.url);
    edit(&mut env);
    let config = config_from(&env);
    let app = App::new(config, 8).await.unwrap_or_else(|e| panic!("app: {e}"));
    TestApp { app, db, telegram }
}
