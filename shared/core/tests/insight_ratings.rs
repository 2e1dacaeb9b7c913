//! Satisfaction ratings: after a dialog an operator or a supervisor closed, the customer rates it 1–5 once (later
//! and concurrent presses are answered, not counted), may add a comment, and the operator is told; dialogs that
//! ended otherwise ask nothing, and a ticket past retention is refused politely.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{Dialog, Received, TestApp, spawn_app, updates};

/// The operator closes `d`: returns the customer's rating request.
async fn closed_by_operator(t: &TestApp, d: &Dialog) -> Received {
    t.press(&d.operator, &format!("close:{}", d.ticket)).await;
    let ask = t.last(d.customer.id);
    assert_eq!(ask.text.as_deref(), Some(texts::RATE_PLEASE));
    assert_eq!(ask.callback_data(), (1..=5).map(|s| format!("rate:{}:{s}", d.ticket)).collect::<Vec<_>>());
    ask
}

/// The customer presses `score` under the rating request `ask`: the answer to the press.
async fn rate(t: &TestApp, d: &Dialog, ask: &Received, score: u8) -> zabota_testkit::CallbackAnswer {
    let press = updates::callback(&d.customer, d.customer.id, ask.message_id, &format!("rate:{}:{score}", d.ticket));
    t.answer_to(press).await
}

async fn ratings(t: &TestApp) -> Vec<(i64, i16, Option<i64>, Option<String>)> {
    let rows = t.db.rows("SELECT ticket_id, score, operator_tg_id, comment FROM ticket_ratings ORDER BY 1", &[]).await;
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
}

/// `chat`'s message `message_id` as it looks now.
fn message(t: &TestApp, chat: i64, message_id: i64) -> Received {
    t.telegram.received(chat).into_iter().find(|m| m.message_id == message_id).unwrap()
}

#[tokio::test]
async fn the_customer_rates_once_comments_and_the_operator_is_told() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let ask = closed_by_operator(&t, &d).await;
    let operator_before = t.telegram.texts(d.operator.id).len();

    let answer = rate(&t, &d, &ask, 4).await;
    assert_eq!((answer.text, answer.show_alert), (None, false));
    let thanked = message(&t, d.customer.id, ask.message_id);
    assert_eq!(thanked.text, Some(texts::rated(4)));
    assert!(thanked.callback_data().is_empty(), "the buttons are gone");
    assert_eq!(t.telegram.texts(d.operator.id)[operator_before..], [texts::rated_operator(d.ticket, 4)]);
    assert_eq!(ratings(&t).await, [(d.ticket, 4, Some(d.operator.id), None)]);

    // A later press (an old client still showing the buttons) is answered and not counted.
    let again = rate(&t, &d, &ask, 1).await;
    assert_eq!((again.text.as_deref(), again.show_alert), (Some(texts::ALREADY_RATED), true));
    assert_eq!(ratings(&t).await, [(d.ticket, 4, Some(d.operator.id), None)]);
    assert_eq!(t.telegram.texts(d.operator.id).len(), operator_before + 1, "told once");

    // The next text is the comment: stored with the rating and passed to the operator.
    t.send(updates::private_text(&d.customer, "  Быстро и вежливо, спасибо  ")).await;
    let thanks = t.last(d.customer.id);
    assert_eq!((thanks.text.as_deref(), thanks.callback_data()), (Some(texts::COMMENT_THANKS), vec!["home".into()]));
    assert_eq!(
        t.telegram.texts(d.operator.id).last().unwrap(),
        &texts::comment_operator(d.ticket, 4, "Быстро и вежливо, спасибо")
    );
    let comment = Some("Быстро и вежливо, спасибо".to_owned());
    assert_eq!(ratings(&t).await, [(d.ticket, 4, Some(d.operator.id), comment.clone())]);

    // Only one comment: the text after it is answered as at the menu.
    t.send(updates::private_text(&d.customer, "А ещё вопрос")).await;
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some(texts::USE_MENU));
    assert_eq!(ratings(&t).await, [(d.ticket, 4, Some(d.operator.id), comment)]);
    assert_eq!(t.telegram.texts(d.operator.id).len(), operator_before + 2);
}

#[tokio::test]
async fn presses_at_once_count_one_rating() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Warranty).await;
    let ask = closed_by_operator(&t, &d).await;
    let presses = [2u8, 5]
        .map(|s| updates::callback(&d.customer, d.customer.id, ask.message_id, &format!("rate:{}:{s}", d.ticket)));
    let (a, b) = tokio::join!(t.answer_to(presses[0].clone()), t.answer_to(presses[1].clone()));
    let refused = [&a, &b].iter().filter(|x| x.text.as_deref() == Some(texts::ALREADY_RATED)).count();
    assert_eq!(refused, 1, "{a:?} {b:?}");
    let stored = ratings(&t).await;
    assert_eq!(stored.len(), 1);
    let score = stored[0].1;
    assert_eq!(message(&t, d.customer.id, ask.message_id).text, Some(texts::rated(u8::try_from(score).unwrap())));
    let told: Vec<String> =
        t.telegram.texts(d.operator.id).into_iter().filter(|x| x.starts_with("Клиент оценил")).collect();
    assert_eq!(told, [texts::rated_operator(d.ticket, score)]);
    // A redelivered press changes nothing either.
    t.redeliver().await;
    assert_eq!(ratings(&t).await.len(), 1);
}

#[tokio::test]
async fn only_dialogs_an_operator_or_supervisor_closed_ask_for_a_rating() {
    let t = spawn_app().await;
    // The customer ends the dialog themselves: cancelled, no request.
    let d = t.open_dialog(1, Topic::Return).await;
    t.press(&d.customer, &format!("end:{}", d.ticket)).await;
    assert!(!t.telegram.texts(d.customer.id).iter().any(|x| x == texts::RATE_PLEASE));
    // A forged press for it is refused and stores nothing.
    let forged = rate(&t, &d, &t.last(d.customer.id), 5).await;
    assert_eq!(forged.text.as_deref(), Some(texts::ALERT_STALE));

    // A supervisor closes a ticket that waited (no dialog): no request either.
    let customer = zabota_testkit::TgUser::customer(2);
    let (waiting, _) = t.queue_ticket(&customer, Topic::Other).await;
    let supervisor = zabota_testkit::TgUser::operator(9);
    t.make_supervisor(supervisor.id);
    t.send(updates::private_text(&supervisor, &format!("/close {waiting}"))).await;
    assert!(!t.telegram.texts(customer.id).iter().any(|x| x == texts::RATE_PLEASE));
    let forged = t.press(&customer, &format!("rate:{waiting}:5")).await;
    assert_eq!(forged.text.as_deref(), Some(texts::ALERT_STALE));

    // Someone else's press on a rateable ticket is refused.
    let d = t.open_dialog(3, Topic::Warranty).await;
    let ask = closed_by_operator(&t, &d).await;
    let stranger = zabota_testkit::TgUser::customer(4);
    let press = updates::callback(&stranger, stranger.id, ask.message_id, &format!("rate:{}:1", d.ticket));
    assert_eq!(t.answer_to(press).await.text.as_deref(), Some(texts::ALERT_STALE));
    assert!(ratings(&t).await.is_empty());
    // A text from a customer who rated nothing is not a comment.
    t.send(updates::private_text(&d.customer, "Ещё вопрос")).await;
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some(texts::USE_MENU));
}

#[tokio::test]
async fn a_ticket_past_retention_or_gone_is_refused_politely() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let ask = closed_by_operator(&t, &d).await;
    t.db.execute(&format!("UPDATE tickets SET closed_at = now() - interval '400 days' WHERE id = {}", d.ticket)).await;
    let answer = rate(&t, &d, &ask, 5).await;
    assert_eq!((answer.text.as_deref(), answer.show_alert), (Some(texts::RATING_TOO_OLD), true));
    assert!(message(&t, d.customer.id, ask.message_id).callback_data().is_empty(), "its buttons go");
    assert!(ratings(&t).await.is_empty());

    let d = t.open_dialog(2, Topic::Return).await;
    let ask = closed_by_operator(&t, &d).await;
    t.db.execute(&format!("DELETE FROM tickets WHERE id = {}", d.ticket)).await;
    assert_eq!(rate(&t, &d, &ask, 5).await.text.as_deref(), Some(texts::RATING_TOO_OLD));
    assert!(ratings(&t).await.is_empty());
}

#[tokio::test]
async fn a_text_long_after_rating_is_not_a_comment() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let ask = closed_by_operator(&t, &d).await;
    rate(&t, &d, &ask, 3).await;
    t.db.execute("UPDATE ticket_ratings SET rated_at = now() - interval '16 minutes'").await;
    t.send(updates::private_text(&d.customer, "Здравствуйте")).await;
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some(texts::USE_MENU));
    assert_eq!(ratings(&t).await, [(d.ticket, 3, Some(d.operator.id), None)]);
}

#[tokio::test]
async fn a_text_after_a_newer_ticket_is_not_a_comment_on_the_old_rating() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let ask = closed_by_operator(&t, &d).await;
    rate(&t, &d, &ask, 4).await;
    // Within the comment window the customer opens another ticket and withdraws it; what they write next is not
    // about the dialog they rated.
    let (second, _) = t.queue_ticket(&d.customer, Topic::Warranty).await;
    t.send(updates::private_text(&d.customer, "/cancel")).await;
    assert_eq!(t.ticket_status(second).await.0, zabota_core::db::tickets::Status::Closed);
    t.send(updates::private_text(&d.customer, "Здравствуйте")).await;
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some(texts::USE_MENU));
    assert_eq!(ratings(&t).await, [(d.ticket, 4, Some(d.operator.id), None)]);
}

#[tokio::test]
async fn an_operator_who_left_the_desk_is_not_told_of_the_rating_or_the_comment() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let ask = closed_by_operator(&t, &d).await;
    t.remove_operator(d.operator.id, "left").await;
    let operator_before = t.telegram.texts(d.operator.id).len();
    rate(&t, &d, &ask, 2).await;
    t.send(updates::private_text(&d.customer, "Долго отвечали")).await;
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some(texts::COMMENT_THANKS));
    // Stored all the same, with who handled the dialog; nothing went to them.
    assert_eq!(ratings(&t).await, [(d.ticket, 2, Some(d.operator.id), Some("Долго отвечали".to_owned()))]);
    assert_eq!(t.telegram.texts(d.operator.id).len(), operator_before);
}
