//! `TestApp`: a real `App` wired to a fresh database and the Bot API emulator.

use std::collections::HashMap;

use zabota_core::bot::{self, Outcome};
use zabota_core::config::{Rate, SendLimits};
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
        // On the heap: a test that sends many updates keeps a small future (a debug build's deep polls need stack).
        Box::pin(bot::process(&self.app, &update)).await.unwrap_or_else(|e| panic!("processing failed: {e}"))
    }

    /// Like `send`, but returns the error instead of panicking.
    pub async fn try_send(&self, update: serde_json::Value) -> Result<Outcome, bot::ProcessError> {
        self.telegram.observe(&update);
        let update: Update = serde_json::from_value(update).unwrap_or_else(|e| panic!("not an update: {e}"));
        Box::pin(bot::process(&self.app, &update)).await
    }

    /// Like `try_send`, with the update's own calls and its sending stopping at `deadline`, as the webhook's do
    /// (a margin before the Lambda's invocation deadline).
    pub async fn try_send_until(
        &self,
        update: serde_json::Value,
        deadline: std::time::Instant,
    ) -> Result<Outcome, bot::ProcessError> {
        self.telegram.observe(&update);
        let update: Update = serde_json::from_value(update).unwrap_or_else(|e| panic!("not an update: {e}"));
        Box::pin(bot::process_until(&self.app, &update, deadline)).await
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

    /// Time passes: every pending outbox call is due now (its `not_before` reached), and the flood budgets have
    /// room again.
    pub async fn make_outbox_due(&self) {
        let due = "UPDATE outbox SET not_before = now() WHERE status = 'pending'; \
            UPDATE send_windows SET sent_at = '{}', paced_until = NULL; \
            UPDATE bot_send_slots SET sent_at = '-infinity'";
        self.db.client().await.batch_execute(due).await.unwrap_or_else(|e| panic!("outbox due: {e}"));
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
    let limits = desk_limits();
    let [group, private, bot] =
        [limits.group, limits.private, limits.bot].map(|r| format!("{}/{}ms", r.messages, r.per.as_millis()));
    [
        ("TELEGRAM_GROUP_LIMIT", group.as_str()),
        ("TELEGRAM_CHAT_LIMIT", private.as_str()),
        ("TELEGRAM_BOT_LIMIT", bot.as_str()),
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

/// Tests run Telegram's flood limits with every window this much shorter (a group's minute is 1.2 s), on both
/// sides: the emulator refuses what Telegram would, in a test's time.
pub const TIME_SCALE: f64 = 0.02;

/// Telegram's limits with their windows scaled by `factor`.
pub fn scaled_limits(factor: f64) -> SendLimits {
    let scale = |r: Rate| Rate { messages: r.messages, per: r.per.mul_f64(factor) };
    let t = SendLimits::TELEGRAM;
    SendLimits { group: scale(t.group), private: scale(t.private), bot: scale(t.bot), group_burst: t.group_burst }
}

/// What the desk keeps to in tests: Telegram's figures in [`TIME_SCALE`], a tenth fewer messages per group and
/// for the bot, so a test machine's scheduling jitter (a slot taken, the call reaching the emulator later) cannot
/// turn into a 429 in windows this short.
fn desk_limits() -> SendLimits {
    let limits = scaled_limits(TIME_SCALE);
    let fewer = |r: Rate| Rate { messages: r.messages - r.messages / 10, per: r.per };
    SendLimits { group: fewer(limits.group), private: limits.private, bot: fewer(limits.bot), ..limits }
}

/// Makes `telegram` enforce Telegram's limits in [`TIME_SCALE`], or the desk's own where those are looser (a test
/// that lifted them, see [`lift_limits`]).
pub fn enforce(telegram: &BotApiEmulator, desk: &SendLimits) {
    let telegram_limits = crate::emulator::Limits::TELEGRAM.scaled(TIME_SCALE);
    let looser = |own: crate::emulator::Window, desk: Rate| {
        let desk = crate::emulator::Window { messages: desk.messages, per: desk.per };
        let rate = |w: crate::emulator::Window| f64::from(w.messages) / w.per.as_secs_f64();
        if rate(desk) > rate(own) { desk } else { own }
    };
    telegram.set_limits(Some(crate::emulator::Limits {
        group: looser(telegram_limits.group, desk.group),
        private: looser(telegram_limits.private, desk.private),
        bot: looser(telegram_limits.bot, desk.bot),
    }));
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

/// Like `spawn_app`, with flood limits too high to matter (1000 messages per 10 ms, on both sides): for tests of the
/// outbox's own mechanics (a killed flush, a backlog of hundreds) whose point is not pacing.
pub async fn spawn_app_without_limits() -> TestApp {
    spawn_app_with(lift_limits).await
}

/// Sets flood limits too high to matter (see [`spawn_app_without_limits`]).
pub fn lift_limits(env: &mut HashMap<String, String>) {
    for name in ["TELEGRAM_GROUP_LIMIT", "TELEGRAM_CHAT_LIMIT", "TELEGRAM_BOT_LIMIT"] {
        env.insert(name.to_owned(), "1000/10ms".to_owned());
    }
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
    enforce(&telegram, &config.send_limits);
    let app = App::new(config, 8).await.unwrap_or_else(|e| panic!("app: {e}"));
    TestApp { app, db, telegram }
}
