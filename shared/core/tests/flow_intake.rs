//! Every branch a customer can take before a ticket is served: the menu, «Другой вопрос», phone intake, a second
//! request while a ticket is open, a returning customer's known phone, free text in the menu, and a waiting
//! request withdrawn with /cancel.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::db::tickets::Status;
use zabota_core::domain::{CloseReason, Topic};
use zabota_core::texts;
use zabota_testkit::{Dialog, OPERATORS_CHAT_ID, Received, TestApp, TgUser, claim_press, spawn_app, updates};

const MENU: [&str; 3] = ["topic:warranty", "topic:return", "topic:other"];

/// `user` presses `data` under the last message of their private chat; the press is answered silently.
async fn press(t: &TestApp, user: &TgUser, data: &str) {
    let answer = t.press(user, data).await;
    assert_eq!((answer.text, answer.show_alert), (None, false), "{data}");
}

/// An operator takes the ticket and ends the dialog at once.
async fn claim_and_close(t: &TestApp, ticket: i64, card: &Received) {
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    t.answer_to(claim_press(&operator, ticket, card)).await;
    let summary = t.telegram.received(operator.id)[0].message_id;
    t.answer_to(updates::callback(&operator, operator.id, summary, &format!("close:{ticket}"))).await;
}

/// `(status, topic, phone)` of every ticket, oldest first.
async fn tickets(t: &TestApp) -> Vec<(Status, Topic, String)> {
    let rows = t.db.rows("SELECT status, topic, phone FROM tickets ORDER BY id", &[]).await;
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}

/// `(dialog_state, dialog_topic, phone)` of a user.
async fn user(t: &TestApp, tg_id: i64) -> (String, Option<Topic>, Option<String>) {
    let row = t.db.row("SELECT dialog_state, dialog_topic, phone FROM users WHERE tg_id = $1", &[&tg_id]).await;
    (row.get(0), row.get(1), row.get(2))
}

/// The message carries the «📱 Отправить мой номер» reply keyboard.
fn offers_share_phone(message: &Received) -> bool {
    message.reply_markup.as_ref().is_some_and(|m| m["keyboard"][0][0]["request_contact"] == true)
}

#[tokio::test]
async fn understood_thanks_the_customer_and_shows_the_menu_again() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.send(updates::command(&customer, "/start")).await;
    press(&t, &customer, "topic:return").await;
    press(&t, &customer, "ok").await;
    let reply = t.last(customer.id);
    assert_eq!(reply.text.as_deref(), Some(zabota_testkit::shipped::text(zabota_core::desk::Text::Understood)));
    assert_eq!(reply.callback_data(), MENU);
    assert_eq!(t.telegram.received(customer.id).len(), 3, "greeting, template, «Рады были помочь»");
    assert_eq!(t.db.count("tickets").await, 0);
}

#[tokio::test]
async fn another_question_asks_first_and_no_returns_to_the_menu() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.send(updates::command(&customer, "/start")).await;
    press(&t, &customer, "topic:other").await;
    let question = t.last(customer.id);
    assert_eq!(question.text.as_deref(), Some(zabota_testkit::shipped::text(zabota_core::desk::Text::ConfirmOperator)));
    assert_eq!(question.callback_data(), ["operator:other", "home"]);

    press(&t, &customer, "home").await;
    let menu = t.last(customer.id);
    assert_eq!(menu.text.as_deref(), Some(zabota_testkit::shipped::greeting()));
    assert_eq!(menu.callback_data(), MENU);
    assert_eq!(t.db.count("tickets").await, 0);
}

#[tokio::test]
async fn another_question_yes_asks_for_the_phone_and_queues_an_other_ticket() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.ask_for_operator(&customer, Topic::Other).await;
    let ask = t.last(customer.id);
    assert_eq!(ask.text.as_deref(), Some(zabota_testkit::shipped::text(zabota_core::desk::Text::AskPhone)));
    assert!(offers_share_phone(&ask));
    assert_eq!(user(&t, customer.id).await.0, "awaiting_phone");

    t.send(updates::private_text(&customer, "+7 916 123-45-67")).await;
    assert_eq!(tickets(&t).await, [(Status::Waiting, Topic::Other, "+79161234567".into())]);
    let card = t.last(OPERATORS_CHAT_ID).text.unwrap();
    assert!(card.contains("Тема: Другой вопрос"), "{card}");
}

#[tokio::test]
async fn typed_text_that_is_not_a_phone_number_is_refused_and_the_bot_keeps_waiting() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.ask_for_operator(&customer, Topic::Return).await;
    let too_long = "9".repeat(40);
    for typed in ["12345", "abc", "+7 916 123", &too_long, "8 800", "+7 916 123-45-67 или +7 903 765-43-21", "/help"]
    {
        t.send(updates::private_text(&customer, typed)).await;
        let reply = t.last(customer.id);
        assert_eq!(
            reply.text.as_deref(),
            Some(zabota_testkit::shipped::phone_reply(zabota_core::desk::Text::PhoneInvalid).as_str()),
            "{typed:?}"
        );
        assert!(offers_share_phone(&reply), "{typed:?}");
    }
    assert_eq!(t.db.count("tickets").await, 0);
    assert_eq!(user(&t, customer.id).await, ("awaiting_phone".into(), Some(Topic::Return), None));

    t.send(updates::private_text(&customer, "8 916 123-45-67")).await;
    assert_eq!(tickets(&t).await, [(Status::Waiting, Topic::Return, "+79161234567".into())]);
}

#[tokio::test]
async fn media_instead_of_a_phone_is_answered_with_what_is_expected() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.ask_for_operator(&customer, Topic::Warranty).await;
    let sent = [
        updates::sticker(&customer, "sticker1", "📞"),
        updates::photo(&customer, "photo1", Some("+7 916 123-45-67")),
        updates::voice(&customer, "voice1", 3),
        updates::location(&customer, 55.75, 37.61),
    ];
    for update in sent {
        t.send(update).await;
        let reply = t.last(customer.id);
        assert_eq!(
            reply.text.as_deref(),
            Some(zabota_testkit::shipped::phone_reply(zabota_core::desk::Text::PhoneExpected).as_str())
        );
        assert!(offers_share_phone(&reply));
    }
    assert_eq!(t.db.count("tickets").await, 0);
    assert_eq!(user(&t, customer.id).await, ("awaiting_phone".into(), Some(Topic::Warranty), None));
}

#[tokio::test]
async fn someone_elses_contact_is_refused_and_creates_no_ticket() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.ask_for_operator(&customer, Topic::Return).await;
    let friend = TgUser::customer(2);
    for contact_user_id in [Some(friend.id), None] {
        t.send(updates::contact(&customer, "+79031234567", contact_user_id)).await;
        let reply = t.last(customer.id);
        assert_eq!(
            reply.text.as_deref(),
            Some(zabota_testkit::shipped::phone_reply(zabota_core::desk::Text::ContactNotOwn).as_str()),
            "{contact_user_id:?}"
        );
        assert!(offers_share_phone(&reply));
    }
    t.send(updates::contact_card(&customer, "+79031234567", "Мария")).await;
    assert_eq!(
        t.last(customer.id).text.as_deref(),
        Some(zabota_testkit::shipped::phone_reply(zabota_core::desk::Text::ContactNotOwn).as_str())
    );
    assert_eq!(t.db.count("tickets").await, 0);
    assert_eq!(user(&t, customer.id).await, ("awaiting_phone".into(), Some(Topic::Return), None));
}

#[tokio::test]
async fn the_customers_own_contact_without_a_plus_creates_the_ticket() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.ask_for_operator(&customer, Topic::Warranty).await;
    t.send(updates::contact(&customer, "79161234567", Some(customer.id))).await;
    assert_eq!(tickets(&t).await, [(Status::Waiting, Topic::Warranty, "+79161234567".into())]);
    let ticket: i64 = t.db.row("SELECT id FROM tickets", &[]).await.get(0);
    assert_eq!(queued_text(&t, customer.id), Some(texts::queued(ticket)));
    assert_eq!(user(&t, customer.id).await, ("menu".into(), None, Some("+79161234567".into())));
}

#[tokio::test]
async fn an_8_800_number_typed_with_the_trunk_prefix_is_stored_in_e164() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.ask_for_operator(&customer, Topic::Return).await;
    t.send(updates::private_text(&customer, "8 800 555-35-35")).await;
    assert_eq!(tickets(&t).await, [(Status::Waiting, Topic::Return, "+78005553535".into())]);
    let card = t.last(OPERATORS_CHAT_ID).text.unwrap();
    assert!(card.contains("Телефон: +7 800 555-35-35"), "{card}");
}

#[tokio::test]
async fn asking_for_an_operator_again_with_an_open_ticket_points_to_it() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (ticket, _card) = t.queue_ticket(&customer, Topic::Return).await;
    let cards = t.telegram.received(OPERATORS_CHAT_ID).len();

    // «Обратиться к оператору» once more, and «Да» under «Другой вопрос».
    press(&t, &customer, "operator:return").await;
    assert_eq!(t.last(customer.id).text, Some(texts::already_open(ticket)));
    press(&t, &customer, "topic:other").await;
    press(&t, &customer, "operator:other").await;
    assert_eq!(t.last(customer.id).text, Some(texts::already_open(ticket)));

    assert_eq!(t.db.count("tickets").await, 1);
    assert_eq!(t.telegram.received(OPERATORS_CHAT_ID).len(), cards, "no second card");
    assert_eq!(user(&t, customer.id).await.0, "menu", "no phone is asked for");
}

#[tokio::test]
async fn a_returning_customer_keeps_the_known_phone_and_the_card_counts_the_earlier_ticket() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (first, card) = t.queue_ticket(&customer, Topic::Return).await;
    claim_and_close(&t, first, &card).await;

    press(&t, &customer, "home").await;
    press(&t, &customer, "topic:warranty").await;
    press(&t, &customer, "operator:warranty").await;
    let confirm = t.last(customer.id);
    assert_eq!(confirm.text, Some(zabota_testkit::shipped::confirm_phone("+7 916 123-45-67")));
    assert_eq!(confirm.callback_data(), ["phone:keep", "phone:other"]);
    assert_eq!(user(&t, customer.id).await.0, "confirm_phone");

    press(&t, &customer, "phone:keep").await;
    let all = tickets(&t).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1], (Status::Waiting, Topic::Warranty, "+79161234567".into()));
    let card = t.last(OPERATORS_CHAT_ID);
    let second: i64 = t.db.row("SELECT max(id) FROM tickets", &[]).await.get(0);
    assert_ne!(second, first);
    assert_eq!(queued_text(&t, customer.id), Some(texts::queued(second)));
    let text = card.text.as_deref().unwrap();
    assert!(text.starts_with(&format!("Новый клиент #{second}")), "{text}");
    assert!(text.contains("Прежних обращений: 1"), "{text}");
    assert_eq!(card.callback_data(), [format!("claim:{second}")]);
}

#[tokio::test]
async fn a_returning_customer_can_give_another_phone() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (first, card) = t.queue_ticket(&customer, Topic::Warranty).await;
    claim_and_close(&t, first, &card).await;

    press(&t, &customer, "home").await;
    press(&t, &customer, "topic:return").await;
    press(&t, &customer, "operator:return").await;
    assert_eq!(t.last(customer.id).text, Some(zabota_testkit::shipped::confirm_phone("+7 916 123-45-67")));
    press(&t, &customer, "phone:other").await;
    let ask = t.last(customer.id);
    assert_eq!(ask.text.as_deref(), Some(zabota_testkit::shipped::text(zabota_core::desk::Text::AskPhone)));
    assert!(offers_share_phone(&ask));
    assert_eq!(user(&t, customer.id).await.0, "awaiting_phone");

    t.send(updates::private_text(&customer, "+7 903 765-43-21")).await;
    assert_eq!(tickets(&t).await[1], (Status::Waiting, Topic::Return, "+79037654321".into()));
    assert_eq!(user(&t, customer.id).await.2.as_deref(), Some("+79037654321"));
}

#[tokio::test]
async fn free_text_in_the_menu_gets_the_menu_for_a_customer_and_a_hint_for_an_operator() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    t.send(updates::command(&customer, "/start")).await;
    t.send(updates::private_text(&customer, "У меня сломался чайник")).await;
    let reply = t.last(customer.id);
    assert_eq!(reply.text.as_deref(), Some(texts::USE_MENU));
    assert_eq!(reply.callback_data(), MENU);

    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    t.send(updates::private_text(&operator, "Есть кто в очереди?")).await;
    let hint = t.telegram.received(operator.id);
    assert_eq!(hint.len(), 1);
    assert_eq!(hint[0].text.as_deref(), Some(texts::NO_ACTIVE_DIALOG));
    assert!(hint[0].callback_data().is_empty());
    assert_eq!(t.db.count("tickets").await + t.db.count("ticket_messages").await, 0);
}

/// Ticket `ticket` is closed as cancelled, and its customer was last told so, with «В начало».
async fn assert_cancelled(t: &TestApp, customer: &TgUser, ticket: i64) {
    assert_eq!(t.ticket_status(ticket).await.0, Status::Closed);
    let reason = t.db.row("SELECT close_reason FROM tickets WHERE id = $1", &[&ticket]).await;
    assert_eq!(reason.get::<_, CloseReason>(0), CloseReason::Cancelled);
    let told = t.last(customer.id);
    assert_eq!(told.text, Some(texts::cancelled_customer(ticket)));
    assert_eq!(told.callback_data(), ["home"]);
}

#[tokio::test]
async fn a_waiting_customer_can_cancel_with_slash_cancel_and_ask_again_later() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    assert_eq!(queued_text(&t, customer.id), Some(texts::queued(ticket)));
    assert!(texts::queued(ticket).contains("/cancel"), "the queued message says how to cancel");
    t.send(updates::private_text(&customer, "/cancel")).await;
    assert_cancelled(&t, &customer, ticket).await;
    // The card says so and invites no claim; a press that slipped through is answered, not acted on.
    let card_now =
        t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == card.message_id).unwrap();
    assert_eq!(card_now.text, Some(texts::card_closed(ticket, CloseReason::Cancelled)));
    assert!(card_now.callback_data().is_empty());
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    assert_eq!(t.claim(&operator, ticket, &card).await.text, Some(texts::alert_closed(ticket)));
    // Nothing left to cancel: /cancel is free text in the menu. A new request opens a fresh ticket.
    t.send(updates::private_text(&customer, "/cancel")).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::USE_MENU));
    let (fresh, _) = t.queue_ticket(&customer, Topic::Return).await;
    assert_ne!(fresh, ticket);
}

#[tokio::test]
async fn slash_cancel_in_a_dialog_is_relayed_like_any_message() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    t.send(updates::private_text(&customer, "/cancel")).await;
    assert_eq!(t.telegram.texts(operator.id).last().map(String::as_str), Some("/cancel"));
    assert_eq!(t.ticket_status(ticket).await.0, Status::Assigned);
}

#[tokio::test]
async fn start_during_a_dialog_asks_first_and_ending_it_tells_the_operator() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    t.send(updates::command(&customer, "/start")).await;
    let ask = t.last(customer.id);
    assert_eq!(ask.text, Some(texts::ask_end_dialog(ticket)));
    assert_eq!(ask.callback_data(), [format!("end:{ticket}"), "keep".to_owned()]);
    assert_eq!(t.ticket_status(ticket).await.0, Status::Assigned, "the question changes nothing yet");
    // «Продолжить диалог»: nothing changes, and the dialog goes on.
    t.press(&customer, "keep").await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::DIALOG_KEPT));
    t.send(updates::private_text(&customer, "ещё вопрос")).await;
    assert_eq!(t.telegram.texts(operator.id).last().map(String::as_str), Some("ещё вопрос"));
    // «Завершить диалог»: closed as cancelled, the customer gets «В начало», the operator is told.
    t.send(updates::command(&customer, "/start")).await;
    let answer = t.press(&customer, &format!("end:{ticket}")).await;
    assert_eq!((answer.text, answer.show_alert), (None, false));
    assert_cancelled(&t, &customer, ticket).await;
    let operator_texts = t.telegram.texts(operator.id);
    assert_eq!(operator_texts.last(), Some(&texts::dialog_closed_for_operator(ticket, CloseReason::Cancelled)));
    // The question's button pressed again, or forged by someone else, is answered and changes nothing.
    let stale = t.press(&customer, &format!("end:{ticket}")).await;
    assert_eq!((stale.text.as_deref(), stale.show_alert), (Some(texts::ALERT_STALE), true));
    let Dialog { ticket: other, .. } = t.open_dialog(2, Topic::Warranty).await;
    let forged = t.press(&customer, &format!("end:{other}")).await;
    assert_eq!(forged.text.as_deref(), Some(texts::ALERT_STALE));
    assert_eq!(t.ticket_status(other).await.0, Status::Assigned);
}

/// The customer's «вы в очереди» message: the one before their place in the queue (their last message).
fn queued_text(t: &TestApp, customer: i64) -> Option<String> {
    let got = t.telegram.received(customer);
    assert_eq!(got.last().and_then(|m| m.text.as_deref()).map(|x| x.starts_with("Ваше место в очереди")), Some(true));
    got[got.len() - 2].text.clone()
}
