//! `zabota sandbox` over its page's HTTP API: the desk it runs is the real one (its own database, the outbox, the
//! maintenance jobs), the page and its live events are served, bad requests get a 4xx with the reason, and the
//! control strip (another customer, time forward, reset) does what it says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zabota_core::texts;
use zabota_local::sandbox::{self, GROUP_ID, Running};
use zabota_testkit::TestDb;

const CUSTOMER: i64 = 1001;
const OLGA: i64 = 7001;

/// A database the sandbox may take (its name ends in `_sandbox`).
async fn sandbox_db() -> TestDb {
    TestDb::ending_in("_sandbox").await
}

async fn start(db: &TestDb) -> Running {
    let url = db.url.clone();
    let env = move |name: &str| matches!(name, "DATABASE_URL" | "SANDBOX_DATABASE_URL").then(|| url.clone());
    sandbox::start(env, "127.0.0.1:0".parse().unwrap()).await.expect("the sandbox starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().unwrap()
}

/// A POST to the page's API as the page makes it (with its action header).
fn action(running: &Running, path: &str) -> reqwest::RequestBuilder {
    client().post(format!("{}api/{path}", running.url())).header("x-zabota-sandbox", "1")
}

/// POSTs `body` to the page's API; the status and the answer.
async fn post(running: &Running, path: &str, body: Value) -> (u16, Value) {
    let response = action(running, path).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn ok(running: &Running, path: &str, body: Value) -> Value {
    let (status, answer) = post(running, path, body).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

/// Waits until `chat` has a message saying `text` (in part); returns that message's id.
async fn wait_for(running: &Running, chat: i64, text: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = running
            .sandbox
            .telegram
            .received(chat)
            .into_iter()
            .rev()
            .find(|m| m.text.as_deref().or(m.caption.as_deref()).is_some_and(|t| t.contains(text)));
        if let Some(message) = found {
            return message.message_id;
        }
        assert!(
            Instant::now() < deadline,
            "chat {chat} never got «{text}»: {:#?}",
            running.sandbox.telegram.texts(chat)
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Presses the button labelled `label` on the newest message of `chat` that has it, as `from`.
async fn press(running: &Running, chat: i64, from: i64, label: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let messages = running.sandbox.telegram.received(chat);
        let button = messages.iter().rev().find_map(|m| {
            let rows = m.inline_keyboard()?;
            let button = rows.iter().filter_map(Value::as_array).flatten().find(|b| b["text"] == label)?;
            Some((m.message_id, button["callback_data"].as_str()?.to_owned()))
        });
        if let Some((message_id, data)) = button {
            return ok(running, "press", json!({ "chat": chat, "from": from, "message_id": message_id, "data": data }))
                .await;
        }
        assert!(Instant::now() < deadline, "no «{label}» in chat {chat}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// The customer asks for an operator: Гарантия → Обратиться к оператору → the contact.
async fn ask(running: &Running, customer: i64) {
    ok(running, "write", json!({ "chat": customer, "from": customer, "text": "/start" })).await;
    press(running, customer, customer, "Гарантия").await;
    press(running, customer, customer, "Обратиться к оператору").await;
    wait_for(running, customer, "номер").await;
    ok(running, "contact", json!({ "from": customer })).await;
}

/// The customer asks for an operator and Ольга takes the card.
async fn open_dialog(running: &Running, customer: i64) {
    ask(running, customer).await;
    press(running, GROUP_ID, OLGA, "Взять в работу").await;
    wait_for(running, OLGA, "+7 916 555").await;
    // The summary goes out inside the claim's transaction; the customer is told after it committed.
    wait_for(running, customer, texts::OPERATOR_CONNECTED).await;
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_page_and_its_live_events_are_served() {
    let db = sandbox_db().await;
    let running = start(&db).await;
    let page = client().get(running.url()).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains("ничего не уходит в Telegram"), "the page says plainly it is not Telegram");
    for (path, kind) in [("sandbox.js", "text/javascript; charset=utf-8"), ("sandbox.css", "text/css; charset=utf-8")] {
        let asset = client().get(format!("{}{path}", running.url())).send().await.unwrap();
        assert_eq!((asset.status().as_u16(), asset.headers()["content-type"].to_str().unwrap()), (200, kind));
    }

    // The live feed opens with the whole state, then sends it again after a change.
    let mut events = client().get(format!("{}api/events", running.url())).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    let mut states = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while states.len() < 2 {
        assert!(Instant::now() < deadline, "two state events, got {seen}");
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk()).await.unwrap().unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = seen.find("\n\n") {
            let event: String = seen.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                states.push(serde_json::from_str::<Value>(data).unwrap());
            }
        }
        if states.len() == 1 && seen.is_empty() {
            ok(&running, "write", json!({ "chat": CUSTOMER, "from": CUSTOMER, "text": "/start" })).await;
        }
    }
    let names: Vec<&str> =
        states[0]["people"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ольга", "Дмитрий", "Анна Смирнова"]);
    assert_eq!(states[0]["group"]["id"], GROUP_ID);
    assert!(states[1]["chats"][CUSTOMER.to_string()].as_array().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn the_real_desk_runs_behind_it_from_hello_to_goodbye() {
    let db = sandbox_db().await;
    let running = start(&db).await;
    open_dialog(&running, CUSTOMER).await;
    assert_eq!(count(&db, "SELECT count(*) FROM tickets WHERE status = 'ASSIGNED' AND operator_tg_id = 7001").await, 1);

    ok(&running, "write", json!({ "chat": CUSTOMER, "from": CUSTOMER, "text": "Чайник не включается" })).await;
    wait_for(&running, OLGA, "Чайник не включается").await;
    ok(&running, "write", json!({ "chat": OLGA, "from": OLGA, "text": "Пришлите фото наклейки" })).await;
    wait_for(&running, CUSTOMER, "Пришлите фото наклейки").await;

    // A photo from the page: stored as the customer's, relayed by file id, served back to the page.
    let png = b"\x89PNG\r\n\x1a\n-not-really-but-enough".to_vec();
    let path = format!("file?from={CUSTOMER}&name=label.png&caption=%D0%9D%D0%B0%D0%BA%D0%BB%D0%B5%D0%B9%D0%BA%D0%B0");
    let sent = action(&running, &path).header("content-type", "image/png").body(png.clone()).send().await.unwrap();
    assert_eq!(sent.status(), 200);
    let relayed = wait_for(&running, OLGA, "Наклейка").await;
    let file_id = running.sandbox.telegram.photo_file_id(OLGA, relayed).expect("the operator got a photo");
    let served = client().get(format!("{}api/files/{file_id}", running.url())).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["content-disposition"], "inline");
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);

    // A document: relayed as a document, served back as a download the browser never renders.
    let html = b"<script>alert(1)</script>".to_vec();
    let path = format!("file?from={CUSTOMER}&name=check.html&caption=%D0%A7%D0%B5%D0%BA");
    let sent = action(&running, &path).header("content-type", "text/html").body(html.clone()).send().await.unwrap();
    assert_eq!(sent.status(), 200);
    let relayed = wait_for(&running, OLGA, "Чек").await;
    let copy = running.sandbox.telegram.transcript(OLGA).into_iter().find(|m| m["message_id"] == relayed).unwrap();
    assert_eq!(copy["document"]["file_name"], "check.html", "{copy}");
    let file_id = copy["document"]["file_id"].as_str().unwrap().to_owned();
    let served = client().get(format!("{}api/files/{file_id}", running.url())).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "application/octet-stream");
    assert_eq!(served.headers()["content-disposition"], "attachment");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(served.bytes().await.unwrap().to_vec(), html);

    // The customer edits their message: the operator's copy says the new text.
    let mine = running.sandbox.telegram.transcript(CUSTOMER);
    let said = mine.iter().find(|m| m["text"] == "Чайник не включается").unwrap()["message_id"].as_i64().unwrap();
    assert_eq!(
        ok(&running, "edit", json!({ "from": CUSTOMER, "message_id": said, "text": "Чайник не греет" })).await["edited"],
        true
    );
    wait_for(&running, OLGA, "Чайник не греет").await;

    press(&running, OLGA, OLGA, "Завершить диалог").await;
    wait_for(&running, CUSTOMER, texts::OPERATOR_DISCONNECTED).await;
    assert_eq!(count(&db, "SELECT count(*) FROM tickets WHERE status = 'CLOSED'").await, 1);
    // The history is kept as in production: two texts, the photo and the document, the edit as a version beside
    // its original.
    assert_eq!(count(&db, "SELECT count(*) FROM ticket_messages").await, 4);
    assert_eq!(count(&db, "SELECT count(*) FROM ticket_message_versions").await, 1);
}

#[tokio::test]
async fn time_forward_shows_the_idle_warning_then_the_auto_close() {
    let db = sandbox_db().await;
    let running = start(&db).await;
    open_dialog(&running, CUSTOMER).await;

    // 23 hours of silence: both sides are warned, the dialog stays.
    let result = ok(&running, "fast-forward", json!({ "hours": 23 })).await;
    assert!(result["jobs"].as_array().unwrap().iter().any(|j| j["job"] == "idle_warning"), "{result}");
    wait_for(&running, CUSTOMER, "Диалог давно без сообщений").await;
    wait_for(&running, OLGA, "без сообщений и закроется").await;
    assert_eq!(count(&db, "SELECT count(*) FROM tickets WHERE status = 'ASSIGNED'").await, 1);

    // One more hour: closed for being idle, both told.
    ok(&running, "fast-forward", json!({ "hours": 1 })).await;
    wait_for(&running, OLGA, "закрыт автоматически").await;
    assert_eq!(count(&db, "SELECT count(*) FROM tickets WHERE status = 'CLOSED' AND close_reason = 'idle'").await, 1);
}

#[tokio::test]
async fn time_forward_shows_the_reminders_then_the_expiry() {
    let db = sandbox_db().await;
    let running = start(&db).await;
    ask(&running, CUSTOMER).await;
    wait_for(&running, GROUP_ID, "Новый клиент #1").await;

    // Six hours nobody took it: a reminder card in the group (one per run, however late).
    let result = ok(&running, "fast-forward", json!({ "hours": 6 })).await;
    assert!(result["jobs"].as_array().unwrap().iter().any(|j| j["job"] == "waiting_reminders"), "{result}");
    wait_for(&running, GROUP_ID, "Клиент ждёт уже").await;
    assert_eq!(count(&db, "SELECT count(*) FROM tickets WHERE status = 'WAITING'").await, 1);

    // A day: closed as expired, the customer told, the card says so.
    ok(&running, "fast-forward", json!({ "hours": 24 })).await;
    wait_for(&running, CUSTOMER, "так и не успели ответить").await;
    wait_for(&running, GROUP_ID, "её так никто и не взял").await;
    assert_eq!(count(&db, "SELECT count(*) FROM tickets WHERE close_reason = 'expired'").await, 1);
}

#[tokio::test]
async fn another_customer_and_a_reset() {
    let db = sandbox_db().await;
    let running = start(&db).await;
    let second = ok(&running, "customers", json!({})).await["id"].as_i64().unwrap();
    assert_eq!(second, 1002);
    ok(&running, "write", json!({ "chat": second, "from": second, "text": "/start" })).await;
    wait_for(&running, second, "Выберите тему").await;
    open_dialog(&running, CUSTOMER).await;

    ok(&running, "reset", json!({})).await;
    let state: Value = client().get(format!("{}api/state", running.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["people"].as_array().unwrap().len(), 3, "one customer and two operators again");
    assert!(state["chats"].as_object().unwrap().values().all(|m| m.as_array().unwrap().is_empty()), "{state}");
    assert_eq!(count(&db, "SELECT count(*) FROM tickets").await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM users").await, 0);

    // And the desk works from scratch.
    open_dialog(&running, CUSTOMER).await;
    assert_eq!(count(&db, "SELECT min(id) FROM tickets").await, 1, "numbering starts again");
}

#[tokio::test]
async fn bad_requests_get_a_4xx_with_the_reason_and_change_nothing() {
    let db = sandbox_db().await;
    let running = start(&db).await;
    let long = "а".repeat(4097);
    let cases = [
        ("write", json!({ "chat": 1001, "from": 7001, "text": "я не покупатель" }), 400, "cannot write"),
        ("write", json!({ "chat": GROUP_ID, "from": 1001, "text": "/stats" }), 400, "cannot write"),
        ("write", json!({ "chat": 1001, "from": 1001, "text": "   " }), 400, "nothing to send"),
        ("write", json!({ "chat": 1001, "from": 1001, "text": long }), 413, "at most 4096 characters"),
        ("write", json!({ "chat": 1001, "from": 4242, "text": "кто я" }), 404, "nobody with id 4242"),
        ("write", json!({ "chat": 1001, "from": "1001", "text": "строка" }), 400, "invalid type"),
        ("press", json!({ "chat": 1001, "from": 1001, "message_id": 99, "data": "x" }), 404, "no message 99"),
        ("fast-forward", json!({ "hours": 0 }), 400, "from 1 hour"),
        ("contact", json!({ "from": 4242 }), 404, "nobody with id 4242"),
        ("edit", json!({ "from": 1001, "message_id": 1, "text": "нет такого" }), 404, "wrote no message 1"),
    ];
    for (path, body, expected, reason) in cases {
        let (status, answer) = post(&running, path, body.clone()).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{path}: «{reason}» in {answer}");
    }
    let malformed = action(&running, "write").header("content-type", "application/json").body("{not json");
    assert_eq!(malformed.send().await.unwrap().status(), 400);
    let not_json = action(&running, "write").body(r#"{"chat":1001,"from":1001,"text":"hi"}"#);
    assert_eq!(not_json.send().await.unwrap().status(), 415, "JSON is asked for by its content type");
    let huge = action(&running, "file?from=1001&name=big.bin").body(vec![0u8; sandbox::MAX_FILE_BYTES + 2]);
    assert_eq!(huge.send().await.unwrap().status(), 413, "over Telegram's 20 MB");
    let nameless = action(&running, "file?from=1001").body(vec![1u8; 10]).send().await.unwrap();
    assert_eq!(nameless.status(), 400, "a file needs its name");

    // Another site's form, or a DNS name rebound to 127.0.0.1, gets nothing done.
    let forged = client()
        .post(format!("{}api/write", running.url()))
        .json(&json!({ "chat": 1001, "from": 1001, "text": "/start" }));
    assert_eq!(forged.send().await.unwrap().status(), 403, "a POST without the page's header");
    let reset = client().post(format!("{}api/reset", running.url())).send().await.unwrap();
    assert_eq!(reset.status(), 403);
    let rebound = client().get(format!("{}api/state", running.url())).header("host", "evil.example:8080");
    assert_eq!(rebound.send().await.unwrap().status(), 403, "a Host that is not loopback");
    let local = client().get(format!("http://localhost:{}/api/state", running.addr.port())).send().await.unwrap();
    assert_eq!(local.status(), 200, "localhost is this machine");

    // At most 20 customers.
    for n in 2..=sandbox::MAX_CUSTOMERS as i64 {
        assert_eq!(ok(&running, "customers", json!({})).await["id"], 1000 + n);
    }
    let (status, answer) = post(&running, "customers", json!({})).await;
    assert_eq!((status, answer["error"].as_str().is_some_and(|e| e.contains("at most 20"))), (400, true), "{answer}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    for chat in [1001, GROUP_ID, OLGA] {
        assert!(running.sandbox.telegram.transcript(chat).is_empty(), "nothing reached chat {chat}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM users").await + count(&db, "SELECT count(*) FROM tickets").await, 0);
}

#[tokio::test]
async fn one_sandbox_per_database_and_a_busy_port_touches_nothing() {
    let db = sandbox_db().await;
    let running = start(&db).await;
    open_dialog(&running, CUSTOMER).await;

    // The same port: refused before the database is touched.
    let url = db.url.clone();
    let env = move |name: &str| matches!(name, "DATABASE_URL" | "SANDBOX_DATABASE_URL").then(|| url.clone());
    let busy = sandbox::start(env.clone(), running.addr).await.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(busy.contains("binding"), "{busy}");
    // Another port, the same database: refused, the running desk keeps its ticket.
    let twice = sandbox::start(env.clone(), "127.0.0.1:0".parse().unwrap()).await;
    let twice = twice.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(twice.contains("another `zabota sandbox` is running"), "{twice}");
    assert_eq!(count(&db, "SELECT count(*) FROM tickets").await, 1, "the first sandbox's desk is untouched");
    ok(&running, "write", json!({ "chat": CUSTOMER, "from": CUSTOMER, "text": "Я ещё здесь" })).await;
    wait_for(&running, OLGA, "Я ещё здесь").await;

    // Stopped, its database is free again.
    drop(running);
    let again = sandbox::start(env, "127.0.0.1:0".parse().unwrap()).await.expect("starts once the first stopped");
    assert!(again.sandbox.telegram.transcript(CUSTOMER).is_empty());
    assert_eq!(count(&db, "SELECT count(*) FROM tickets").await, 0, "a fresh desk");
}

#[tokio::test]
async fn its_database_is_a_new_one_beside_the_configured_one() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    let env = move |name: &str| (name == "DATABASE_URL").then(|| url.clone());
    let running = sandbox::start(env, "127.0.0.1:0".parse().unwrap()).await.expect("the sandbox starts");
    open_dialog(&running, CUSTOMER).await;
    drop(running);

    let name: String = db.client().await.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    assert_eq!(count(&db, "SELECT count(*) FROM tickets").await, 0, "the configured database saw nothing");
    let sandbox_db = format!("{name}_sandbox");
    let client = db.client().await;
    let sandbox_url = db.url.replace(&format!("/{name}"), &format!("/{sandbox_db}"));
    let tickets = || async {
        let (other, connection) = tokio_postgres::connect(&sandbox_url, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        let n: i64 = other.query_one("SELECT count(*) FROM tickets", &[]).await.unwrap().get(0);
        drop(other);
        task.abort();
        n
    };
    assert_eq!(tickets().await, 1, "the sandbox's ticket is in {sandbox_db}");

    // The chats lived in that process only: the next start is a fresh desk, not tickets pointing at lost chats.
    let url = db.url.clone();
    let env = move |name: &str| (name == "DATABASE_URL").then(|| url.clone());
    let running = sandbox::start(env, "127.0.0.1:0".parse().unwrap()).await.expect("the sandbox starts again");
    assert_eq!(tickets().await, 0, "a new start empties {sandbox_db}");
    drop(running);
    client.batch_execute(&format!("DROP DATABASE \"{sandbox_db}\" WITH (FORCE)")).await.unwrap();
}
