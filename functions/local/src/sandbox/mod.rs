//! `zabota sandbox`: the real desk — the same update processing, outbox, schema and maintenance jobs — on the
//! built-in Bot API server (`zabota-botapi`) instead of Telegram, behind a web page that shows a customer's chat,
//! the operators' group and two operators' chats with the bot, side by side. Nothing reaches Telegram.

pub mod database;
mod loops;
mod page;
mod people;

pub use people::{MAX_CUSTOMERS, MAX_FILE_BYTES, MAX_FILES_TOTAL, MAX_TEXT_CHARS, Person, Refusal};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use zabota_botapi::updates;
use zabota_botapi::{BotApiEmulator, TEST_BOT_TOKEN};
use zabota_core::{App, Config, maintenance};

/// The operators' group of the sandbox.
pub const GROUP_ID: i64 = -1_007_770_000_001;
/// The group's title, as its pane shows it.
pub const GROUP_TITLE: &str = "Операторы Заботы";
/// How often the sandbox runs the maintenance jobs (every 5 minutes in `poll`): reminders show up while you watch.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(15);
/// Recorded Bot API calls and callback answers kept (the page shows the newest answers).
const LOG_LIMIT: usize = 5_000;

/// A running sandbox: the desk, its Bot API server, the people, and the page's address.
pub struct Sandbox {
    /// The desk, built as `zabota poll` builds it.
    pub app: App,
    /// The built-in Bot API server the desk talks to.
    pub telegram: BotApiEmulator,
    people: Mutex<Vec<Person>>,
    /// Each background round (poll, outbox, maintenance) holds it shared; reset and fast-forward hold it alone,
    /// so neither runs in the middle of a round (an update half processed, a job between the jump and its run).
    gate: tokio::sync::RwLock<()>,
    /// Bytes of the files attached since the last reset.
    file_bytes: AtomicUsize,
    /// Holds the sandbox's lock on its database while it runs.
    _running: tokio_postgres::Client,
}

/// The sandbox with its page being served; dropping it stops everything.
pub struct Running {
    /// The sandbox.
    pub sandbox: Arc<Sandbox>,
    /// Where the page is served.
    pub addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

impl Running {
    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// Settings of the sandbox's desk: those of `get` (the environment and .env), except what makes it a sandbox —
/// the built-in Bot API and its token, the sandbox's group and database, no supervisors by id, no media archive.
fn sandbox_config(get: &impl Fn(&str) -> Option<String>, api_url: &str, db_url: &str) -> anyhow::Result<Config> {
    let group = GROUP_ID.to_string();
    let config = Config::from_lookup(|name| match name {
        "BOT_TOKEN" => Some(TEST_BOT_TOKEN.to_owned()),
        "TELEGRAM_API_URL" => Some(api_url.to_owned()),
        "OPERATORS_CHAT_ID" => Some(group.clone()),
        "DATABASE_URL" => Some(db_url.to_owned()),
        "SUPERVISOR_IDS" | "WEBHOOK_SECRET" | "WORKING_HOURS" => None,
        "MEDIA_BACKEND" => Some("off".to_owned()),
        other => get(other),
    })?;
    Ok(config)
}

/// Starts the sandbox: the page's address (first, so a second sandbox on the same port changes nothing), its
/// database (created beside the configured one if missing, migrated, locked against a second sandbox, emptied:
/// every start is a fresh desk), the Bot API server on loopback, the desk polling it with the outbox and
/// maintenance loops, and the page on `listen`.
pub async fn start(get: impl Fn(&str) -> Option<String>, listen: SocketAddr) -> anyhow::Result<Running> {
    let target = database::target(&get)?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let telegram = BotApiEmulator::try_start().await.context("starting the built-in Bot API server")?;
    telegram.limit_log(LOG_LIMIT);
    database::ensure(&target).await?;
    let mut client = zabota_core::db::connect(&target.sandbox).await.context("connecting to the sandbox database")?;
    zabota_core::db::migrate(&mut client).await?;
    drop(client);
    let running = database::hold(&target).await?;
    let url = secrecy::ExposeSecret::expose_secret(&target.sandbox.url).to_owned();
    let mut app = App::new(sandbox_config(&get, &telegram.base_url(), &url)?, 8).await?;
    app.concurrent_updates = false;
    // The chats live in this process only: a desk left from an earlier run would point at messages no chat has.
    database::reset(&app).await.context("emptying the sandbox database")?;
    let sandbox = Arc::new(Sandbox {
        app,
        telegram,
        people: Mutex::new(Vec::new()),
        gate: tokio::sync::RwLock::new(()),
        file_bytes: AtomicUsize::new(0),
        _running: running,
    });
    sandbox.seat_people();

    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the sandbox page has no login: anyone who reaches this address can use it");
    }
    let tasks = vec![
        tokio::spawn(loops::poll(sandbox.clone())),
        tokio::spawn(loops::outbox(sandbox.clone(), crate::OUTBOX_INTERVAL)),
        tokio::spawn(loops::maintenance(sandbox.clone(), MAINTENANCE_INTERVAL)),
        tokio::spawn(page::serve(listener, sandbox.clone())),
    ];
    Ok(Running { sandbox, addr, tasks })
}

impl Sandbox {
    /// Back to the start: an empty desk, no chats, one customer and the two operators.
    pub async fn reset(&self) -> anyhow::Result<()> {
        let _alone = self.gate.write().await;
        database::reset(&self.app).await?;
        self.telegram.reset();
        self.file_bytes.store(0, Ordering::Relaxed);
        self.seat_people();
        Ok(())
    }

    /// `hours` pass at once: every stored moment moves that far back, then the maintenance jobs run (idle warnings,
    /// auto-close, reminders, expiry) and what they decided is sent.
    pub async fn fast_forward(&self, hours: u32) -> anyhow::Result<Value> {
        let _alone = self.gate.write().await;
        let moved = database::fast_forward(&self.app, hours).await?;
        let reports = maintenance::run_now(&self.app).await;
        let acted: Vec<Value> = reports
            .iter()
            .filter(|r| r.affected.is_some_and(|n| n > 0))
            .map(|r| json!({ "job": r.job, "affected": r.affected }))
            .collect();
        tracing::info!(hours, rows = moved, "sandbox: time moved forward");
        Ok(json!({ "hours": hours, "jobs": acted }))
    }

    /// Everything the page shows: the people, every chat's messages, and the answers to presses.
    pub fn snapshot(&self) -> Value {
        let people = self.everyone();
        let ids: Vec<i64> = std::iter::once(GROUP_ID).chain(people.iter().map(|p| p.user.id)).collect();
        let chats: serde_json::Map<String, Value> = self
            .telegram
            .transcripts(&ids)
            .into_iter()
            .map(|(id, messages)| (id.to_string(), json!(messages)))
            .collect();
        let answers: Vec<Value> = self
            .telegram
            .callback_answers()
            .iter()
            .rev()
            .take(50)
            .map(|a| json!({ "id": a.callback_query_id, "text": a.text, "show_alert": a.show_alert }))
            .collect();
        let people: Vec<Value> = people
            .iter()
            .map(|p| {
                let name = [Some(p.user.first_name.as_str()), p.user.last_name.as_deref()];
                let name: Vec<&str> = name.into_iter().flatten().collect();
                json!({ "id": p.user.id, "name": name.join(" "), "role": p.role, "phone": p.phone,
                        "username": p.user.username })
            })
            .collect();
        json!({
            "bot": { "name": "Служба Заботы", "username": updates::BOT_USERNAME },
            "group": { "id": GROUP_ID, "title": GROUP_TITLE },
            "people": people,
            "chats": chats,
            "answers": answers,
        })
    }
}
