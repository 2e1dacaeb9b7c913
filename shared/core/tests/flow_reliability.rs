//! The flow under redelivery, races and Telegram failures: every message arrives once, in order, and blocked
//! chats end or requeue their tickets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::bot::Outcome;
use zabota_core::db::tickets::Status;
use zabota_core::domain::{HandoverKind, Topic};
use zabota_core::texts;
use zabota_testkit::{Dialog, Fault, OPERATORS_CHAT_ID, TgUser, claim_press, spawn_app, updates};

#[tokio::test]
async fn a_redelivered_update_changes_nothing_and_sends_nothing() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let start = updates::command(&customer, "/start");
    assert_eq!(t.send(start.clone()).await, Outcome::Processed);
    assert_eq!(t.send(start).await, Outcome::Duplicate);
    assert_eq!(t.telegram.texts(customer.id), vec![zabota_testkit::shipped::greeting()]);
    assert_eq!(t.db.count("outbox").await, 1);
}

#[tokio::test]
async fn twenty_operators_pressing_one_card_at_once_make_exactly_one_winner() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    let operators: Vec<TgUser> = (1..=20).map(TgUser::operator).collect();
    for op in &operators {
        t.make_operator(op.id);
    }
    let presses = operators.iter().map(|op| t.send(claim_press(op, ticket, &card)));
    let answered_before = t.telegram.callback_answers().len();
    futures::future::join_all(presses).await;

    let (state, winner) = t.ticket_status(ticket).await;
    assert_eq!(state, Status::Assigned);
    let winner = winner.unwrap();
    let connected = t.telegram.texts(customer.id).iter().filter(|s| *s == texts::OPERATOR_CONNECTED).count();
    assert_eq!(connected, 1, "exactly one «Оператор подключился»");
    for op in &operators {
        let dm = t.telegram.received(op.id);
        assert_eq!(dm.len(), usize::from(op.id == winner), "only the winner gets a summary");
    }
    let answers = t.telegram.callback_answers().split_off(answered_before);
    assert_eq!(answers.len(), 20, "every press is answered");
    let taken = answers.iter().filter(|a| a.text == Some(texts::alert_taken(ticket)) && a.show_alert).count();
    assert_eq!(taken, 19);
}

#[tokio::test]
async fn a_dialog_delivered_twice_at_once_arrives_once_and_in_order() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let before = t.telegram.received(operator.id).len();
    for i in 0..30 {
        let update = updates::private_text(&customer, &format!("сообщение {i}"));
        let (a, b) = tokio::join!(t.send(update.clone()), t.send(update));
        let mut outcomes = [a, b];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(outcomes, [Outcome::Duplicate, Outcome::Processed]);
    }
    let relayed: Vec<String> = t.telegram.texts(operator.id)[before..].to_vec();
    let expected: Vec<String> = (0..30).map(|i| format!("сообщение {i}")).collect();
    assert_eq!(relayed, expected);
    assert_eq!(t.db.count("ticket_messages").await, 30);
}

#[tokio::test]
async fn concurrent_flushers_keep_a_chats_order_and_send_each_call_once() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let before = t.telegram.received(operator.id).len();
    // Telegram is down while 12 messages come in: they queue up in the outbox.
    t.telegram.fail_next("copyMessage", Fault::ServerError, 3);
    for i in 0..12 {
        t.send(updates::private_text(&customer, &format!("m{i}"))).await;
    }
    assert_eq!(t.telegram.received(operator.id).len(), before, "nothing got through yet");
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 12);
    // Time passes (not_before reached), and eight redeliveries race each other.
    t.make_outbox_due().await;
    let app = &t.app;
    tokio::join!(
        zabota_core::bot::deliver(app, vec![operator.id]),
        zabota_core::bot::deliver(app, vec![operator.id]),
        zabota_core::bot::deliver(app, vec![operator.id]),
        zabota_core::bot::deliver(app, vec![operator.id]),
        t.redeliver(),
        t.redeliver(),
        t.redeliver(),
        t.redeliver(),
    );
    let relayed: Vec<String> = t.telegram.texts(operator.id)[before..].to_vec();
    assert_eq!(relayed, (0..12).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 0);
}

#[tokio::test]
async fn a_429_mid_dialog_defers_and_everything_arrives_once_in_order_after_redelivery() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 30 }, 1);
    t.send(updates::private_text(&customer, "первое")).await;
    t.send(updates::private_text(&customer, "второе")).await;
    t.send(updates::private_text(&operator, "ответ")).await;
    // The operator's chat waits behind the 429; the customer's chat is independent.
    assert!(!t.telegram.texts(operator.id).contains(&"первое".to_string()));
    assert_eq!(t.telegram.texts(customer.id).last().map(String::as_str), Some("ответ"));
    let deferred = t.db.row("SELECT not_before > now() + interval '20 seconds' FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1", &[]).await;
    assert!(deferred.get::<_, bool>(0), "retry_after is honoured");
    t.redeliver().await;
    assert!(!t.telegram.texts(operator.id).contains(&"первое".to_string()), "not before retry_after");
    t.make_outbox_due().await;
    t.redeliver().await;
    let texts_now = t.telegram.texts(operator.id);
    let tail: Vec<&str> = texts_now.iter().rev().take(2).rev().map(String::as_str).collect();
    assert_eq!(tail, ["первое", "второе"]);
    assert_eq!(texts_now.iter().filter(|s| *s == "первое").count(), 1);
}

#[tokio::test]
async fn server_errors_during_a_claim_make_the_update_fail_and_its_redelivery_succeed() {
    let t = spawn_app().await;
    let (customer, operator) = (TgUser::customer(1), TgUser::operator(1));
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    t.make_operator(operator.id);
    t.telegram.fail_next("sendMessage", Fault::ServerError, 3);
    let press = claim_press(&operator, ticket, &card);
    assert!(t.try_send(press.clone()).await.is_err(), "a transient failure before commit is an error (webhook 500)");
    assert_eq!(t.ticket_status(ticket).await, (Status::Waiting, None));
    assert_eq!(t.send(press).await, Outcome::Processed, "Telegram's redelivery is processed");
    assert_eq!(t.ticket_status(ticket).await, (Status::Assigned, Some(operator.id)));
    assert_eq!(t.telegram.texts(customer.id).iter().filter(|s| *s == texts::OPERATOR_CONNECTED).count(), 1);
}

#[tokio::test]
async fn a_customer_who_blocked_the_bot_loses_the_ticket_and_the_operator_is_told() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.block_chat(customer.id);
    t.send(updates::private_text(&operator, "Вы здесь?")).await;
    assert_eq!(t.ticket_status(ticket).await.0, Status::Closed);
    assert_eq!(t.last(operator.id).text, Some(texts::customer_blocked(ticket)));
    assert!(t.telegram.received(operator.id)[0].callback_data().is_empty(), "Завершить диалог removed");
    let reason = t.db.row("SELECT close_reason FROM tickets", &[]).await;
    assert_eq!(reason.get::<_, String>(0), "customer_blocked");
}

#[tokio::test]
async fn an_operator_who_blocked_the_bot_returns_the_ticket_to_the_queue_with_a_fresh_card() {
    let t = spawn_app().await;
    let Dialog { customer, operator: first, ticket, card } = t.open_dialog(1, Topic::Return).await;
    let second = TgUser::operator(2);
    t.telegram.block_chat(first.id);
    t.send(updates::private_text(&customer, "Алло?")).await;
    assert_eq!(t.ticket_status(ticket).await, (Status::Waiting, None));
    let fresh = t.last(OPERATORS_CHAT_ID);
    assert_ne!(fresh.message_id, card.message_id);
    let header = texts::card_handover_header(HandoverKind::OperatorBlocked, "@operator1", "@operator1", None);
    assert!(fresh.text.as_deref().unwrap().starts_with(&format!("{header}\nНовый клиент #{ticket}")), "{fresh:#?}");
    assert_eq!(fresh.callback_data(), [format!("claim:{ticket}")]);
    assert!(t.telegram.texts(customer.id).contains(&texts::passing_on_customer(ticket)), "not requeued silently");
    // The old card no longer says who took it, and still invites no claim.
    let old = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == card.message_id).unwrap();
    assert_eq!(old.text, Some(texts::card_requeued(ticket)));
    assert!(old.callback_data().is_empty());
    // The next operator gets the message the first one never saw.
    t.make_operator(second.id);
    t.claim(&second, ticket, &fresh).await;
    assert_eq!(t.telegram.texts(second.id).last().map(String::as_str), Some("Алло?"));
    assert_eq!(t.ticket_status(ticket).await, (Status::Assigned, Some(second.id)));
}

#[tokio::test]
async fn a_restart_between_any_two_updates_changes_nothing() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.ask_for_operator(&customer, Topic::Warranty).await;
    // A new process: a fresh App (new pool, new client), nothing carried over but the database.
    let restarted = zabota_core::App::new(t.app.config.clone(), 2).await.unwrap();
    let update: zabota_core::telegram::Update =
        serde_json::from_value(updates::private_text(&customer, "89161234567")).unwrap();
    assert_eq!(zabota_core::bot::process(&restarted, &update).await.unwrap(), Outcome::Processed);
    assert_eq!(t.db.count("tickets WHERE status = 'WAITING' AND phone = '+79161234567'").await, 1);
}

#[tokio::test]
async fn a_message_telegram_refuses_to_copy_is_reported_to_its_sender() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.fail_next("copyMessage", Fault::BadRequest("Bad Request: message can't be copied".into()), 1);
    t.send(updates::private_text(&customer, "не дойдёт")).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::UNSUPPORTED_CONTENT));
    assert!(!t.telegram.texts(operator.id).contains(&"не дойдёт".to_owned()));
    t.send(updates::private_text(&customer, "а это дойдёт")).await;
    assert_eq!(t.last(operator.id).text.as_deref(), Some("а это дойдёт"), "the chat's queue is not blocked");
}

#[tokio::test]
async fn a_waiting_customer_who_blocked_the_bot_has_the_card_withdrawn() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    t.telegram.block_chat(customer.id);
    // The next thing sent to the customer (an answer to their message) meets the 403.
    t.send(updates::command(&customer, "/start")).await;
    assert_eq!(t.ticket_status(ticket).await.0, Status::Closed);
    let card_now =
        t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == card.message_id).unwrap();
    assert_eq!(card_now.text, Some(texts::card_closed_blocked(ticket)));
    assert!(card_now.callback_data().is_empty(), "no claim button on a closed ticket");
}

#[tokio::test]
async fn a_row_this_version_cannot_read_parks_the_update_at_once_and_answers_its_sender() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.send(updates::command(&customer, "/start")).await;
    // A state written by another version (or by hand) that this one does not know.
    t.db.execute(&format!("UPDATE users SET dialog_state = 'wizard' WHERE tg_id = {}", customer.id)).await;
    let update: zabota_core::telegram::Update =
        serde_json::from_value(updates::private_text(&customer, "Здравствуйте")).unwrap();
    let deadline = std::time::Instant::now() + zabota_core::bot::DELIVERY_BUDGET;
    let outcome = zabota_core::bot::handle_update(&t.app, &update, deadline).await.unwrap();
    // Not a transient failure: parked on the first attempt, never redelivered forever.
    assert_eq!(outcome, Outcome::Parked);
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::UPDATE_FAILED));
    let error = t.db.row("SELECT error FROM dead_letters", &[]).await.get::<_, String>(0);
    assert!(error.contains("unknown DialogStep"), "{error}");
}
