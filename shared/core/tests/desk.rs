//! A desk its owners shape with the desk file: a fourth topic that goes straight to the phone step, a changed
//! template answer, another language's texts; a ticket whose topic was later removed from the file still shows
//! and closes; a pressed topic the desk no longer has is answered as stale; the command menus, per scope and
//! language, registered again only when they change.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use serde_json::json;
use zabota_core::db::tickets::Status;
use zabota_core::desk::{Desk, Text};
use zabota_core::domain::Topic;
use zabota_core::{maintenance, texts};
use zabota_testkit::{OPERATORS_CHAT_ID, PHONE, TestApp, TgUser, shipped, spawn_app_with, updates};

/// The shipped desk with a «Доставка» topic (straight to the phone step) before «Другой вопрос», and another
/// return policy.
fn shop_desk() -> String {
    let desk = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../desk.toml")).unwrap();
    desk.replacen(
        "[[topics]]\nid = \"other\"",
        "[[topics]]\nid = \"delivery\"\naction = \"phone\"\nlabel = { ru = \"Доставка\", en = \"Delivery\" }\n\n\
         [[topics]]\nid = \"other\"",
        1,
    )
    .replacen("можно вернуть в течение 14 дней", "можно вернуть в течение 30 дней", 1)
}

/// An app on the desk file `source` (written to a file DESK_CONFIG names, as an owner would).
async fn app_on(source: &str) -> TestApp {
    let path = std::env::temp_dir().join(format!("zabota-desk-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, source).unwrap();
    let config = path.to_str().unwrap().to_owned();
    spawn_app_with(move |env| {
        env.insert("DESK_CONFIG".into(), config);
    })
    .await
}

fn delivery() -> Topic {
    Topic::parse("delivery").unwrap()
}

#[tokio::test]
async fn a_fourth_topic_goes_straight_to_the_phone_step_and_its_ticket_carries_it() {
    let t = app_on(&shop_desk()).await;
    let customer = TgUser::customer(1);
    t.send(updates::command(&customer, "/start")).await;
    let menu = t.last(customer.id);
    assert_eq!(menu.text.as_deref(), Some(shipped::greeting()));
    assert_eq!(menu.callback_data(), ["topic:warranty", "topic:return", "topic:delivery", "topic:other"]);
    assert_eq!(menu.button_texts(), ["Гарантия", "Возврат", "Доставка", "Другой вопрос"]);

    // The changed template answer.
    t.press(&customer, "topic:return").await;
    let answer = t.last(customer.id);
    assert!(answer.text.as_deref().unwrap().contains("в течение 30 дней"), "{answer:?}");
    assert_eq!(answer.callback_data(), ["ok", "operator:return"]);

    // «Доставка»: no template, no question: the phone step at once.
    t.send(updates::command(&customer, "/start")).await;
    let pressed = t.press(&customer, "topic:delivery").await;
    assert_eq!((pressed.text, pressed.show_alert), (None, false));
    assert_eq!(
        t.last(customer.id).text.as_deref(),
        Some(zabota_testkit::shipped::text(zabota_core::desk::Text::AskPhone))
    );
    t.send(updates::private_text(&customer, PHONE)).await;
    let card = t.last(OPERATORS_CHAT_ID);
    assert!(card.text.as_deref().unwrap().contains("Тема: Доставка"), "{card:?}");
    let row = t.db.row("SELECT topic, status FROM tickets", &[]).await;
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), ("delivery".into(), "WAITING".into()));
}

#[tokio::test]
async fn a_ticket_whose_topic_left_the_desk_file_still_shows_and_closes() {
    let mut t = app_on(&shop_desk()).await;
    let d = t.open_dialog(1, delivery()).await;
    // The owner removes «Доставка» and the bot restarts (a cold start on Lambda) with the shipped file.
    t.app.desk = Desk::shipped();
    t.press(&d.operator, &format!("close:{}", d.ticket)).await;
    assert_eq!(t.ticket_status(d.ticket).await.0, Status::Closed);
    let reader = TgUser::operator(2);
    t.make_operator(reader.id);
    t.send(updates::command(&reader, &format!("/history {}", d.ticket))).await;
    let document = t.last(reader.id);
    let text = String::from_utf8(t.telegram.uploaded(document.chat_id, document.message_id).unwrap()).unwrap();
    assert!(text.lines().any(|l| l == "Тема: delivery"), "shown by its id:\n{text}");
    // An old menu's «Доставка» button is answered as stale, and nothing starts.
    let answer = t.press(&d.customer, "topic:delivery").await;
    assert_eq!((answer.text.as_deref(), answer.show_alert), (Some(texts::ALERT_STALE), true));
    let answer = t.press(&d.customer, "operator:delivery").await;
    assert_eq!((answer.text.as_deref(), answer.show_alert), (Some(texts::ALERT_STALE), true));
    assert_eq!(t.db.count("tickets").await, 1, "no ticket opened for a topic the desk no longer has");
}

#[tokio::test]
async fn the_desk_speaks_the_language_its_file_makes_the_default() {
    let english = shop_desk().replacen("default_language = \"ru\"", "default_language = \"en\"", 1);
    let t = app_on(&english).await;
    let customer = TgUser::customer(1);
    t.send(updates::command(&customer, "/start")).await;
    let menu = t.last(customer.id);
    assert_eq!(menu.text.as_deref(), Some("Hello! This is the Care Service.\nChoose a topic:"));
    assert_eq!(menu.button_texts(), ["Warranty", "Return", "Delivery", "Other question"]);
    t.press(&customer, "topic:other").await;
    let question = t.last(customer.id);
    assert_eq!(question.text.as_deref(), Some(t.app.desk.text(Text::ConfirmOperator)));
    assert_eq!(question.text.as_deref(), Some("Contact an operator?"));
    assert_eq!(question.button_texts(), ["Yes", "No"]);
    assert_eq!(question.callback_data(), ["operator:other", "home"]);
}

/// A menu as the emulator holds it: each command and its description.
fn menu(t: &TestApp, scope: serde_json::Value, language: &str) -> Vec<String> {
    t.telegram.command_menu(&scope, language).into_iter().map(|(command, _)| command).collect()
}

#[tokio::test]
async fn the_command_menus_are_registered_per_scope_and_language_and_again_only_when_they_change() {
    let t = spawn_app_with(|env| {
        env.insert("SUPERVISOR_IDS".into(), "777".into());
    })
    .await;
    // Four menus (private chats, the operators' chat, its administrators, the listed supervisor) in two languages.
    assert_eq!(maintenance::keep_command_menus(&t.app, false).await.unwrap(), 8);
    let private = json!({ "type": "all_private_chats" });
    assert_eq!(
        t.telegram.command_menu(&private, ""),
        [
            ("start".to_owned(), "Начать сначала: выбрать тему обращения".to_owned()),
            ("cancel".to_owned(), "Отменить обращение".to_owned())
        ]
    );
    assert_eq!(t.telegram.command_menu(&private, "en")[0].1, "Start over: choose a topic");
    assert_eq!(menu(&t, json!({ "type": "chat", "chat_id": OPERATORS_CHAT_ID }), ""), ["history"]);
    assert_eq!(
        menu(&t, json!({ "type": "chat_administrators", "chat_id": OPERATORS_CHAT_ID }), "en"),
        ["history", "stats", "requeue", "close", "ban", "unban", "bans"]
    );
    let supervisor = menu(&t, json!({ "type": "chat", "chat_id": 777 }), "");
    assert_eq!(supervisor[..3], ["start", "history", "files"]);
    assert!(supervisor.contains(&"stats".to_owned()) && supervisor.contains(&"transfer".to_owned()));

    // Unchanged: nothing is sent again (the job runs every minute).
    assert_eq!(maintenance::keep_command_menus(&t.app, false).await.unwrap(), 0);
    let jobs = maintenance::run_now(&t.app).await;
    let menus = jobs.iter().find(|r| r.job == "command_menus").unwrap();
    assert_eq!((menus.affected, menus.error.as_deref()), (Some(0), None));
    assert_eq!(t.telegram.calls_to("setMyCommands").len(), 8);

    // The owner reworded a command (an edited desk file, the next cold start): registered again; a 429 on the way
    // fails the job without recording anything, so the next run does it.
    let mut t = t;
    let edited =
        shop_desk().replacen("command_cancel = \"Отменить обращение\"", "command_cancel = \"Отозвать заявку\"", 1);
    t.app.desk = zabota_core::desk::parse(&edited).unwrap();
    t.telegram.fail_next("setMyCommands", zabota_testkit::Fault::TooManyRequests { retry_after: 30 }, 1);
    assert!(maintenance::keep_command_menus(&t.app, false).await.is_err());
    assert_eq!(maintenance::keep_command_menus(&t.app, false).await.unwrap(), 8);
    assert_eq!(t.telegram.command_menu(&private, "")[1].1, "Отозвать заявку");
    assert_eq!(maintenance::keep_command_menus(&t.app, false).await.unwrap(), 0);

    // The supervisor is no longer listed: their menus go (two deletions), the six others are set again; Telegram
    // refusing one of those for good is logged, the rest still go and the run is not repeated every minute.
    t.app.config.supervisor_ids.clear();
    t.telegram.fail_next("setMyCommands", zabota_testkit::Fault::BadRequest("chat not found".into()), 1);
    assert_eq!(maintenance::keep_command_menus(&t.app, false).await.unwrap(), 2 + 5);
    assert!(menu(&t, json!({ "type": "chat", "chat_id": 777 }), "").is_empty());
    assert!(menu(&t, json!({ "type": "chat", "chat_id": 777 }), "en").is_empty());
    assert_eq!(maintenance::keep_command_menus(&t.app, false).await.unwrap(), 0);
}
