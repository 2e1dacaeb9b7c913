//! `zabota sandbox`: the real desk — the same update processing, outbox, schema and maintenance jobs — on the
//! built-in Bot API server (`zabota-botapi`) instead of Telegram, behind a web page that shows a customer's chat,
//! the operators' group and two operators' chats with the bot, side by side. Nothing reaches Telegram.

pub mod database;
mod page;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use zabota_botapi::updates::{self, TgUser};
use zabota_botapi::{BotApiEmulator, TEST_BOT_TOKEN};
use zabota_core::{App, Config, maintenance};

/// The operators' group of the sandbox.
pub const GROUP_ID: i64 = -1_007_770_000_001;
/// The group's title, as its pane shows it.
pub const GROUP_TITLE: &str = "Операторы Заботы";
/// How often the sandbox runs the maintenance jobs (every 5 minutes in `poll`): reminders show up while you watch.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(15);
/// The largest file the page may attach: Telegram's limit for bots' downloads.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

/// Customers' first and last names, in the order «Ещё покупатель» adds them.
const CUSTOMERS: [(&str, &str); 6] = [
    ("Анна", "Смирнова"),
    ("Иван", "Петров"),
    ("Мария", "Кузнецова"),
    ("Пётр", "Соколов"),
    ("Ольга", "Попова"),
    ("Сергей", "Волков"),
];

/// Someone in the sandbox, as the page lists them.
#[derive(Clone, Debug)]
pub struct Person {
    /// Their Telegram self.
    pub user: TgUser,
    /// What they are: "customer", "supervisor" (an administrator of the group) or "operator".
    pub role: &'static str,
    /// The number their «📱 Отправить мой номер» shares (customers).
    pub phone: Option<String>,
}

/// A running sandbox: the desk, its Bot API server, the people, and the page's address.
pub struct Sandbox {
    /// The desk, built as `zabota poll` builds it.
    pub app: App,
    /// The built-in Bot API server the desk talks to.
    pub telegram: BotApiEmulator,
    people: Mutex<Vec<Person>>,
    /// Serialises reset and fast-forward (each is a whole-database step).
    steps: tokio::sync::Mutex<()>,
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

/// Starts the sandbox: its database (created beside `DATABASE_URL` if missing, migrated, emptied: every start is a
/// fresh desk), the Bot API server on loopback, the desk polling it with the outbox and maintenance loops, and the page on `listen`.
pub async fn start(get: impl Fn(&str) -> Option<String>, listen: SocketAddr) -> anyhow::Result<Running> {
    let db_url = database::url(&get)?;
    let telegram = BotApiEmulator::start().await;
    // The server the sandbox database lives on, reached through the real settings (TLS rules and all).
    let server = sandbox_config(&get, &telegram.base_url(), &get("DATABASE_URL").unwrap_or(db_url.clone()))?.database;
    database::ensure(&server, &db_url).await?;
    let config = sandbox_config(&get, &telegram.base_url(), &db_url)?;
    let mut client = zabota_core::db::connect(&config.database).await.context("connecting to the sandbox database")?;
    zabota_core::db::migrate(&mut client).await?;
    drop(client);
    let mut app = App::new(config, 8).await?;
    app.concurrent_updates = false;
    // The chats live in this process only: a desk left from an earlier run would point at messages no chat has.
    database::reset(&app).await.context("emptying the sandbox database")?;
    let sandbox = Arc::new(Sandbox { app, telegram, people: Mutex::new(Vec::new()), steps: Default::default() });
    sandbox.seat_people();

    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the sandbox page has no login: anyone who reaches this address can use it");
    }
    let app = sandbox.app.clone();
    let tasks = vec![
        tokio::spawn(async move { crate::poll::run(&app, std::future::pending()).await }),
        tokio::spawn(crate::outbox_loop(sandbox.app.clone(), crate::OUTBOX_INTERVAL)),
        tokio::spawn(crate::maintenance_loop(sandbox.app.clone(), MAINTENANCE_INTERVAL)),
        tokio::spawn(page::serve(listener, sandbox.clone())),
    ];
    Ok(Running { sandbox, addr, tasks })
}

impl Sandbox {
    fn people(&self) -> MutexGuard<'_, Vec<Person>> {
        self.people.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everyone in the sandbox now.
    pub fn everyone(&self) -> Vec<Person> {
        self.people().clone()
    }

    /// One customer and two operators (the first an administrator of the group, so a supervisor).
    fn seat_people(&self) {
        let operators = [("Ольга", "supervisor", "administrator"), ("Дмитрий", "operator", "member")];
        let mut people = self.people();
        people.clear();
        for (n, (name, role, status)) in (1..).zip(operators) {
            let user = TgUser {
                id: 7000 + n,
                first_name: name.to_owned(),
                last_name: None,
                username: Some(format!("operator_{n}")),
                language_code: Some("ru".into()),
            };
            self.telegram.set_chat_member(GROUP_ID, user.id, status);
            people.push(Person { user, role, phone: None });
        }
        drop(people);
        self.add_customer();
    }

    /// Adds a customer; returns their id (their chat's too).
    pub fn add_customer(&self) -> i64 {
        let mut people = self.people();
        let n = people.iter().filter(|p| p.role == "customer").count() as i64 + 1;
        let (first, last) = CUSTOMERS[(n as usize - 1) % CUSTOMERS.len()];
        let user = TgUser {
            id: 1000 + n,
            first_name: first.to_owned(),
            last_name: Some(last.to_owned()),
            username: Some(format!("customer_{n}")),
            language_code: Some("ru".into()),
        };
        let id = user.id;
        people.push(Person {
            user,
            role: "customer",
            phone: Some(format!("+7 916 555-{:02}-{:02}", 10 + n / 100, n % 100)),
        });
        id
    }

    /// The person with this id.
    fn person(&self, id: i64) -> anyhow::Result<Person> {
        self.people().iter().find(|p| p.user.id == id).cloned().with_context(|| format!("nobody with id {id}"))
    }

    /// Who may write in `chat` as `from`: the private chat's own person, or an operator in the group.
    fn writer(&self, chat: i64, from: i64) -> anyhow::Result<Person> {
        let person = self.person(from)?;
        let allowed = if chat == GROUP_ID { person.role != "customer" } else { chat == from };
        anyhow::ensure!(allowed, "{} cannot write in chat {chat}", person.user.first_name);
        Ok(person)
    }

    /// `from` writes `text` in `chat`, as a reply to message `reply_to` if given. Returns the message's id.
    pub fn write(&self, chat: i64, from: i64, text: &str, reply_to: Option<i64>) -> anyhow::Result<i64> {
        anyhow::ensure!(!text.trim().is_empty(), "nothing to send");
        let person = self.writer(chat, from)?;
        let mut update = if chat == GROUP_ID {
            updates::group_text(GROUP_ID, &person.user, text)
        } else {
            updates::private_text(&person.user, text)
        };
        if let Some(reply_to) = reply_to {
            let chat_json = update["message"]["chat"].clone();
            update["message"]["reply_to_message"] = json!({ "message_id": reply_to, "chat": chat_json, "date": 0 });
        }
        Ok(self.telegram.write(update))
    }

    /// The customer `from` shares their own contact (the «📱 Отправить мой номер» button).
    pub fn share_contact(&self, from: i64) -> anyhow::Result<i64> {
        let person = self.writer(from, from)?;
        let phone = person.phone.clone().unwrap_or_else(|| "+7 916 555-00-00".to_owned());
        Ok(self.telegram.write(updates::contact(&person.user, &phone, Some(person.user.id))))
    }

    /// `from` sends a file in their private chat: a photo when `mime` is an image, a document otherwise.
    pub fn send_file(
        &self,
        from: i64,
        name: &str,
        mime: &str,
        caption: Option<&str>,
        bytes: Vec<u8>,
    ) -> anyhow::Result<i64> {
        let person = self.writer(from, from)?;
        anyhow::ensure!(!bytes.is_empty() && bytes.len() <= MAX_FILE_BYTES, "a file of 1 byte to 20 MB, please");
        let file_id = format!("sandbox_{}", uuid_like());
        let size = bytes.len();
        self.telegram.add_file(&file_id, &format!("u_{file_id}"), bytes);
        let caption = caption.filter(|c| !c.trim().is_empty());
        let file = json!({ "file_id": file_id, "file_unique_id": format!("u_{file_id}"), "file_size": size });
        let update = if mime.starts_with("image/") && !mime.contains("svg") {
            let mut update = updates::photo(&person.user, &file_id, caption);
            // One size, the file itself: the page shows what was attached.
            let mut size = file;
            size["width"] = json!(1280);
            size["height"] = json!(960);
            update["message"]["photo"] = json!([size]);
            update
        } else {
            let mut update = updates::document(&person.user, &file_id, name, mime, caption);
            update["message"]["document"]["file_size"] = json!(size);
            update
        };
        Ok(self.telegram.write(update))
    }

    /// `from` presses the button with `data` under message `message_id` of `chat`. The callback query's id, to
    /// find its answer; `None` when the bot has no such message (deleted).
    pub fn press(&self, chat: i64, from: i64, message_id: i64, data: &str) -> anyhow::Result<Option<String>> {
        let person = self.writer(chat, from)?;
        Ok(self.telegram.press(&person.user, chat, message_id, data))
    }

    /// `from` edits their message `message_id` in their private chat.
    pub fn edit(&self, from: i64, message_id: i64, text: &str) -> anyhow::Result<bool> {
        let person = self.writer(from, from)?;
        Ok(self.telegram.edit_by_user(&person.user, from, message_id, text))
    }

    /// `from` sets (or, with `None`, takes back) a reaction on message `message_id` of their private chat.
    pub fn react(&self, from: i64, message_id: i64, emoji: Option<&str>) -> anyhow::Result<()> {
        let person = self.writer(from, from)?;
        self.telegram.react(&person.user, message_id, emoji);
        Ok(())
    }

    /// Back to the start: an empty desk, no chats, one customer and the two operators.
    pub async fn reset(&self) -> anyhow::Result<()> {
        let _step = self.steps.lock().await;
        database::reset(&self.app).await?;
        self.telegram.reset();
        self.seat_people();
        Ok(())
    }

    /// `hours` pass at once: every stored moment moves that far back, then the maintenance jobs run (idle warnings,
    /// auto-close, reminders, expiry) and what they decided is sent.
    pub async fn fast_forward(&self, hours: u32) -> anyhow::Result<Value> {
        let _step = self.steps.lock().await;
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
        let mut chats = serde_json::Map::new();
        chats.insert(GROUP_ID.to_string(), json!(self.telegram.transcript(GROUP_ID)));
        for person in &people {
            chats.insert(person.user.id.to_string(), json!(self.telegram.transcript(person.user.id)));
        }
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

/// A short unique token for file ids.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{n}_{nanos:x}")
}
