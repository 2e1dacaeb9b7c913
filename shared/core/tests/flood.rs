//! Flood control: a customer who writes faster than `FLOOD_MESSAGES_PER_MINUTE` is told once to slow down and every
//! message still reaches the operator, once and in order, within the chat's budget; a customer cannot open more
//! than `MAX_TICKETS_PER_DAY` tickets (cancel-and-reopen loops).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{Dialog, OPERATORS_CHAT_ID, PHONE, TgUser, spawn_app, spawn_app_with, updates};

#[tokio::test]
async fn a_flooding_customer_is_told_once_and_every_message_reaches_the_operator_in_order() {
    let t = spawn_app_with(|env| {
        env.insert("FLOOD_MESSAGES_PER_MINUTE".into(), "5".into());
    })
    .await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    let before = t.telegram.texts(operator.id).len();
    let said: Vec<String> = (1..=12).map(|n| format!("сообщение {n}")).collect();
    for text in &said {
        t.send(updates::private_text(&customer, text)).await;
    }
    for _ in 0..5 {
        t.make_outbox_due().await;
        t.redeliver().await;
    }
    let told = t.telegram.texts(customer.id).iter().filter(|s| s.as_str() == texts::FLOOD_SLOW_DOWN).count();
    assert_eq!(told, 1, "told once: {:#?}", t.telegram.texts(customer.id));
    assert_eq!(t.telegram.texts(operator.id)[before..], said[..], "every message once, in order");
    let stored = t.db.count(&format!("ticket_messages WHERE ticket_id = {ticket} AND sender_type = 'USER'")).await;
    assert_eq!(stored, 12, "all stored");
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}

#[tokio::test]
async fn a_customer_under_the_flood_limit_is_never_told() {
    let t = spawn_app().await;
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Return).await;
    for n in 1..=20 {
        t.send(updates::private_text(&customer, &format!("вопрос {n}"))).await;
    }
    assert!(!t.telegram.texts(customer.id).iter().any(|s| s == texts::FLOOD_SLOW_DOWN), "20 a minute is allowed");
}

#[tokio::test]
async fn a_cancel_and_reopen_loop_stops_at_the_days_limit_with_a_clear_reply_and_no_ticket() {
    let t = spawn_app_with(|env| {
        env.insert("MAX_TICKETS_PER_DAY".into(), "2".into());
    })
    .await;
    let customer = TgUser::customer(1);
    for _ in 0..2 {
        t.queue_ticket(&customer, Topic::Warranty).await;
        t.send(updates::command(&customer, "/cancel")).await;
    }
    let cards_before = t.telegram.texts(OPERATORS_CHAT_ID).len();
    t.ask_for_operator(&customer, Topic::Warranty).await;
    t.send(updates::private_text(&customer, PHONE)).await;
    let last = t.last(customer.id);
    assert_eq!(last.text, Some(texts::too_many_tickets(2)));
    assert_eq!(t.db.count("tickets").await, 2, "no third ticket");
    assert_eq!(t.telegram.texts(OPERATORS_CHAT_ID).len(), cards_before, "no card");
    // Back in the menu: a /start shows it as usual.
    t.send(updates::command(&customer, "/start")).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(zabota_testkit::shipped::greeting()));
}
