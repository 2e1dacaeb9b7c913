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

async fn start(db: &TestDb) -> Running {
    let url = db.url.clone();
    let env = move |name: &str| matches!(name, "DATABASE_URL" | "SANDBOX_DATABASE_URL").then(|| url.clone());
    sandbox::start(env, "127.0.0.1:0".parse().unwrap()).await.expect("the sandbox starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().unwrap()
}

/// POSTs `body` to the page's API; the status and the answer.
async fn post(running: &Running, path: &str, body: Value) -> (u16, Value) {
    let response = client().post(format!("{}api/{path}", running.url())).json(&body).send().await.unwrap();
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

/// The customer asks for an operator (Гарантия → Обратиться к оператору → the contact) and Ольга takes the card.
async fn open_dialog(running: &Running, customer: i64) {
    ok(running, "write", json!({ "chat": customer, "from": customer, "text": "/start" })).await;
    press(running, customer, customer, "Гарантия").await;
    press(running, customer, customer, "Обратиться к оператору").await;
    wait_for(running, customer, "номер").await;
    ok(running, "contact", json!({ "from": customer })).await;
    press(running, GROUP_ID, OLGA, "Взять в работу").await;
    wait_for(running, OLGA, "+7 916 555").await;
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_page_and_its_live_events_are_served() {
    let db = TestDb::new().await;
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
    let db = TestDb::new().await;
    let running = start(&db).await;
    open_dialog(&running, CUSTOMER).await;
    assert_eq!(count(&db, "SELECT count(*) FROM tickets WHERE status = 'ASSIGNED' AND operator_tg_id = 7001").await, 1);

    ok(&running, "write", json!({ "chat": CUSTOMER, "from": CUSTOMER, "text": "Чайник не включается" })).await;
    wait_for(&running, OLGA, "Чайник не включается").await;
    ok(&running, "write", json!({ "chat": OLGA, "from": OLGA, "text": "Пришлите фото наклейки" })).await;
    wait_for(&running, CUSTOMER, "Пришлите фото наклейки").await;

    // A photo from the page: stored as the customer's, relayed by file id, served back to the page.
    let png = b"\x89PNG\r\n\x1a\n-not-really-but-enough".to_vec();
    let url = format!(
        "{}api/file?from={CUSTOMER}&name=label.png&caption=%D0%9D%D0%B0%D0%BA%D0%BB%D0%B5%D0%B9%D0%BA%D0%B0",
        running.url()
    );
    let sent = client().post(url).header("content-type", "image/png").body(png.clone()).send().await.unwrap();
    assert_eq!(sent.status(), 200);
    let relayed = wait_for(&running, OLGA, "Наклейка").await;
    let file_id = running.sandbox.telegram.photo_file_id(OLGA, relayed).expect("the operator got a photo");
    let served = client().get(format!("{}api/files/{file_id}", running.url())).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);

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
    // The history is kept as in production: two texts and the photo, the edit as a version beside its original.
    assert_eq!(count(&db, "SELECT count(*) FROM ticket_messages").await, 3);
    assert_eq!(count(&db, "SELECT count(*) FROM ticket_message_versions").await, 1);
}

#[tokio::test]
async fn time_forward_shows_the_idle_warning_then_the_auto_close() {
    let db = TestDb::new().await;
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
async fn another_customer_and_a_reset() {
    let db = TestDb::new().await;
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
    let db = TestDb::new().await;
    let running = start(&db).await;
    let cases = [
        ("write", json!({ "chat": 1001, "from": 7001, "text": "я не покупатель" }), "cannot write"),
        ("write", json!({ "chat": GROUP_ID, "from": 1001, "text": "/stats" }), "cannot write"),
        ("write", json!({ "chat": 1001, "from": 1001, "text": "   " }), "nothing to send"),
        ("write", json!({ "chat": 1001, "from": 4242, "text": "кто я" }), "nobody with id 4242"),
        ("press", json!({ "chat": 1001, "from": 1001, "message_id": 99, "data": "x" }), ""),
        ("fast-forward", json!({ "hours": 0 }), "from 1 hour"),
        ("contact", json!({ "from": 4242 }), "nobody with id 4242"),
        ("edit", json!({ "from": 1001, "message_id": 1, "text": "нет такого" }), ""),
    ];
    for (path, body, reason) in cases {
        let (status, answer) = post(&running, path, body.clone()).await;
        if reason.is_empty() {
            // Nothing to press or edit: answered, nothing sent (Telegram has no update for it either).
            assert_eq!(status, 200, "{path} {body}");
            assert!(answer["callback_query_id"].is_null() && answer["edited"] != true, "{path}: {answer}");
        } else {
            assert_eq!(status, 400, "{path} {body}: {answer}");
            assert!(answer["error"].as_str().unwrap().contains(reason), "{path}: {answer}");
        }
    }
    let malformed = client().post(format!("{}api/write", running.url())).header("content-type", "application/json");
    assert_eq!(malformed.body("{not json").send().await.unwrap().status(), 400);
    let huge = client()
        .post(format!("{}api/file?from=1001&name=big.bin", running.url()))
        .body(vec![0u8; sandbox::MAX_FILE_BYTES + 2])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413, "over Telegram's 20 MB");
    assert!(running.sandbox.telegram.transcript(1001).is_empty(), "nothing reached the chat");
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
