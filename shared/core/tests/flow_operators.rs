//! Every branch on the operators' side: group chatter, refused, stale and forged button presses, messages that
//! must not be relayed, every content kind relayed both ways, and an operator who never started the bot.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use serde_json::{Value, json};
use zabota_core::bot::Outcome;
use zabota_core::db::tickets::Status;
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{CallbackAnswer, Dialog, OPERATORS_CHAT_ID, Received, TestApp, TgUser, spawn_app, updates};

/// An alert with this text, as `(text, show_alert)`.
fn alert(text: impl Into<String>) -> (Option<String>, bool) {
    (Some(text.into()), true)
}

fn shown(answer: CallbackAnswer) -> (Option<String>, bool) {
    (answer.text, answer.show_alert)
}

/// The operator's summary with «Завершить диалог» for the ticket.
fn summary(t: &TestApp, operator: &TgUser, ticket: i64) -> Received {
    let close = format!("close:{ticket}");
    t.telegram.received(operator.id).into_iter().find(|m| m.callback_data().contains(&close)).unwrap()
}

/// The message a button press was made under.
fn pressed_message(press: &Value) -> i64 {
    press["callback_query"]["message"]["message_id"].as_i64().unwrap()
}

fn waiting() -> (Status, Option<i64>) {
    (Status::Waiting, None)
}

/// Customer 1's ticket waits in the queue, and operator 1 is a member of the operators' chat: (customer,
/// operator, ticket, card).
async fn a_waiting_ticket(t: &TestApp) -> (TgUser, TgUser, i64, Received) {
    let (customer, operator) = (TgUser::customer(1), TgUser::operator(1));
    t.make_operator(operator.id);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    (customer, operator, ticket, card)
}

/// A dialog between customer 1 and operator 1, and operator 2, who is an operator too; the number of messages
/// the customer had received once the dialog began.
async fn a_dialog_and_another_operator(t: &TestApp) -> (Dialog, TgUser, usize) {
    let dialog = t.open_dialog(1, Topic::Return).await;
    let other_operator = TgUser::operator(2);
    t.make_operator(other_operator.id);
    let customer_saw = t.telegram.received(dialog.customer.id).len();
    (dialog, other_operator, customer_saw)
}

#[tokio::test]
async fn group_chatter_in_any_group_is_ignored_and_leaves_no_trace() {
    let t = spawn_app().await;
    let (customer, operator) = (TgUser::customer(1), TgUser::operator(1));
    t.make_operator(operator.id);
    assert_eq!(t.send(updates::group_text(OPERATORS_CHAT_ID, &operator, "привет")).await, Outcome::Ignored);
    assert_eq!(t.send(updates::group_text(-1009876543210, &customer, "/start")).await, Outcome::Ignored);
    assert!(t.telegram.calls().is_empty(), "{:#?}", t.telegram.calls());
    assert_eq!(t.db.count("processed_updates").await + t.db.count("users").await, 0);

    // Not even an operator in a dialog reaches the customer by writing in a group.
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    t.claim(&operator, ticket, &card).await;
    let (calls, seen) = (t.telegram.calls().len(), t.db.count("processed_updates").await);
    assert_eq!(
        t.send(updates::group_text(OPERATORS_CHAT_ID, &operator, "Клиенту: здравствуйте")).await,
        Outcome::Ignored
    );
    assert_eq!((t.telegram.calls().len(), t.db.count("processed_updates").await), (calls, seen));
    assert_eq!(t.db.count("ticket_messages").await, 0);
}

#[tokio::test]
async fn a_claim_by_someone_outside_the_operators_chat_gets_an_alert_and_changes_nothing() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Warranty).await;
    let customer_saw = t.telegram.received(customer.id).len();
    for (n, membership) in [(1, "left"), (2, "kicked")] {
        let stranger = TgUser::operator(n);
        t.telegram.set_chat_member(OPERATORS_CHAT_ID, stranger.id, membership);
        assert_eq!(shown(t.claim(&stranger, ticket, &card).await), alert(texts::ALERT_NOT_OPERATOR), "{membership}");
        assert!(t.telegram.received(stranger.id).is_empty());
    }
    assert_eq!(t.ticket_status(ticket).await, waiting());
    assert_eq!(t.telegram.received(customer.id).len(), customer_saw, "the customer hears nothing");
    assert_eq!(t.last(OPERATORS_CHAT_ID).callback_data(), [format!("claim:{ticket}")]);
}

#[tokio::test]
async fn an_operator_already_in_a_dialog_cannot_claim_a_second_ticket() {
    let t = spawn_app().await;
    let (first_customer, second_customer, operator) = (TgUser::customer(1), TgUser::customer(2), TgUser::operator(1));
    t.make_operator(operator.id);
    let (first, first_card) = t.queue_ticket(&first_customer, Topic::Return).await;
    let (second, second_card) = t.queue_ticket(&second_customer, Topic::Warranty).await;
    t.claim(&operator, first, &first_card).await;
    let operator_saw = t.telegram.received(operator.id).len();

    assert_eq!(shown(t.claim(&operator, second, &second_card).await), alert(texts::alert_busy(first)));
    assert_eq!(t.ticket_status(second).await, waiting());
    assert_eq!(t.ticket_status(first).await, (Status::Assigned, Some(operator.id)));
    assert!(!t.telegram.texts(second_customer.id).contains(&texts::OPERATOR_CONNECTED.to_owned()));
    assert_eq!(t.telegram.received(operator.id).len(), operator_saw);
    let second_card_now =
        t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == second_card.message_id);
    assert_eq!(second_card_now.unwrap().callback_data(), [format!("claim:{second}")]);
}

#[tokio::test]
async fn a_claim_on_a_closed_ticket_says_it_is_closed() {
    let t = spawn_app().await;
    let (dialog, second_operator, _) = a_dialog_and_another_operator(&t).await;
    let Dialog { customer, operator: first_operator, ticket, card } = dialog;
    let close = updates::callback(
        &first_operator,
        first_operator.id,
        summary(&t, &first_operator, ticket).message_id,
        &format!("close:{ticket}"),
    );
    assert_eq!(shown(t.answer_to(close.clone()).await), (None, false));
    let customer_saw = t.telegram.received(customer.id).len();

    assert_eq!(shown(t.claim(&second_operator, ticket, &card).await), alert(texts::alert_closed(ticket)));
    // «Завершить диалог» pressed again (a fresh press on the same message) is no longer possible either.
    let again =
        updates::callback(&first_operator, first_operator.id, pressed_message(&close), &format!("close:{ticket}"));
    assert_eq!(shown(t.answer_to(again).await), alert(texts::alert_closed(ticket)));
    assert_eq!(t.ticket_status(ticket).await, (Status::Closed, Some(first_operator.id)));
    assert_eq!(t.telegram.received(customer.id).len(), customer_saw);
    assert!(t.telegram.received(second_operator.id).is_empty());
}

#[tokio::test]
async fn a_claim_on_a_ticket_another_operator_took_says_it_is_taken() {
    let t = spawn_app().await;
    let (dialog, second_operator, _) = a_dialog_and_another_operator(&t).await;
    let Dialog { customer, operator: first_operator, ticket, card } = dialog;
    assert_eq!(shown(t.claim(&second_operator, ticket, &card).await), alert(texts::alert_taken(ticket)));
    assert_eq!(t.ticket_status(ticket).await, (Status::Assigned, Some(first_operator.id)));
    assert!(t.telegram.received(second_operator.id).is_empty());
    let connected = t.telegram.texts(customer.id).iter().filter(|s| *s == texts::OPERATOR_CONNECTED).count();
    assert_eq!(connected, 1);
}

#[tokio::test]
async fn made_up_callback_data_gets_the_stale_alert() {
    let t = spawn_app().await;
    let (customer, operator, ticket, card) = a_waiting_ticket(&t).await;
    let customer_message = t.last(customer.id).message_id;
    for data in ["claim:999999", "close:999999", "hack", "close:abc", "claim:-1", "topic:", "", "phone:keep:1"] {
        let press = updates::callback(&operator, OPERATORS_CHAT_ID, card.message_id, data);
        assert_eq!(shown(t.answer_to(press).await), alert(texts::ALERT_STALE), "operator, {data:?}");
        let press = updates::callback(&customer, customer.id, customer_message, data);
        assert_eq!(shown(t.answer_to(press).await), alert(texts::ALERT_STALE), "customer, {data:?}");
    }
    assert_eq!(t.ticket_status(ticket).await, waiting());
    assert!(t.telegram.received(operator.id).is_empty());
    assert_eq!(t.telegram.received(OPERATORS_CHAT_ID).len(), 1, "only the card");
    assert_eq!(t.db.count("tickets").await, 1);
}

#[tokio::test]
async fn only_the_assigned_operator_can_close_a_dialog() {
    let t = spawn_app().await;
    let (Dialog { customer, operator, ticket, card }, other_operator, customer_saw) =
        a_dialog_and_another_operator(&t).await;

    let data = format!("close:{ticket}");
    let by_customer = updates::callback(&customer, customer.id, t.last(customer.id).message_id, &data);
    assert_eq!(shown(t.answer_to(by_customer).await), alert(texts::ALERT_NOT_YOURS));
    let by_other = updates::callback(&other_operator, OPERATORS_CHAT_ID, card.message_id, &data);
    assert_eq!(shown(t.answer_to(by_other).await), alert(texts::ALERT_NOT_YOURS));

    assert_eq!(t.ticket_status(ticket).await, (Status::Assigned, Some(operator.id)));
    assert_eq!(t.telegram.received(customer.id).len(), customer_saw, "no «Оператор отключился»");
    let kept = summary(&t, &operator, ticket).callback_data();
    assert_eq!(kept, [data, format!("transfer:{ticket}")], "the operator keeps «Завершить диалог»");
}

#[tokio::test]
async fn a_claim_pressed_outside_the_operators_chat_is_stale_and_claims_nothing() {
    let t = spawn_app().await;
    let (customer, operator, ticket, _card) = a_waiting_ticket(&t).await;
    t.send(updates::command(&operator, "/start")).await;
    let in_private =
        updates::callback(&operator, operator.id, t.last(operator.id).message_id, &format!("claim:{ticket}"));
    assert_eq!(shown(t.answer_to(in_private).await), alert(texts::ALERT_STALE));
    let by_customer =
        updates::callback(&customer, customer.id, t.last(customer.id).message_id, &format!("claim:{ticket}"));
    assert_eq!(shown(t.answer_to(by_customer).await), alert(texts::ALERT_STALE));
    assert_eq!(t.ticket_status(ticket).await, waiting());
    assert!(!t.telegram.texts(customer.id).contains(&texts::OPERATOR_CONNECTED.to_owned()));
    assert_eq!(t.last(OPERATORS_CHAT_ID).callback_data(), [format!("claim:{ticket}")]);
}

#[tokio::test]
async fn another_operators_message_never_reaches_a_customer_in_someone_elses_dialog() {
    let t = spawn_app().await;
    let (Dialog { customer, .. }, other_operator, customer_saw) = a_dialog_and_another_operator(&t).await;

    t.send(updates::private_text(&other_operator, "Здравствуйте, я тоже могу помочь")).await;
    t.send(updates::photo(&other_operator, "photo_other", None)).await;
    assert_eq!(t.telegram.texts(other_operator.id), [texts::NO_ACTIVE_DIALOG, texts::NO_ACTIVE_DIALOG]);
    assert_eq!(t.telegram.received(customer.id).len(), customer_saw);
    assert_eq!(t.db.count("ticket_messages").await, 0);
}

const KINDS: [&str; 12] = [
    "text",
    "photo",
    "document",
    "video",
    "voice",
    "audio",
    "sticker",
    "animation",
    "video_note",
    "location",
    "venue",
    "contact",
];

/// A message of `kind` from `user`; files get `file_id`.
fn message_of(kind: &str, user: &TgUser, file_id: &str) -> Value {
    match kind {
        "text" => updates::private_text(user, "Добрый день"),
        "photo" => updates::photo(user, file_id, Some("Вот чек")),
        "document" => updates::document(user, file_id, "чек.pdf", "application/pdf", Some("Чек")),
        "video" => updates::video(user, file_id, None),
        "voice" => updates::voice(user, file_id, 7),
        "audio" => updates::audio(user, file_id, None),
        "sticker" => updates::sticker(user, file_id, "👍"),
        "animation" => updates::animation(user, file_id, None),
        "video_note" => updates::video_note(user, file_id, 9),
        "location" => updates::location(user, 55.7558, 37.6173),
        "venue" => updates::venue(user, 55.7558, 37.6173, "Сервисный центр", "Москва, Тверская, 1"),
        _ => updates::contact_card(user, "+7 903 765-43-21", "Мария"),
    }
}

/// The message_attachments row expected for a message of `kind` (nulls left out); `None` when it has no file.
fn attachment_of(kind: &str, file_id: &str) -> Option<Value> {
    let extra = match kind {
        "photo" => json!({ "mime_type": "image/jpeg", "size": 131_502, "width": 1280, "height": 960 }),
        "document" => json!({ "mime_type": "application/pdf", "size": 48_213, "file_name": "чек.pdf" }),
        "video" => json!({ "mime_type": "video/mp4", "size": 2_345_678, "width": 1280, "height": 720, "duration": 12,
            "file_name": "video.mp4" }),
        "voice" => json!({ "mime_type": "audio/ogg", "size": 42_000, "duration": 7 }),
        "audio" => json!({ "mime_type": "audio/mpeg", "size": 4_321_000, "duration": 180, "file_name": "track.mp3" }),
        "sticker" => json!({ "size": 23_456, "width": 512, "height": 512 }),
        "animation" => json!({ "mime_type": "video/mp4", "size": 345_678, "width": 480, "height": 270, "duration": 3,
            "file_name": "animation.mp4" }),
        "video_note" => json!({ "size": 567_890, "width": 384, "height": 384, "duration": 9 }),
        _ => return None,
    };
    let mut row = json!({ "kind": kind, "file_id": file_id, "file_unique_id": format!("u_{file_id}") });
    row.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    Some(row)
}

#[tokio::test]
async fn every_content_kind_is_relayed_both_ways_by_copy_and_stored_with_its_file() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Warranty).await;
    let db = t.db.client().await;
    for (from, to, sender_type) in [(&customer, &operator, "USER"), (&operator, &customer, "OPERATOR")] {
        for kind in KINDS {
            let file_id = format!("{kind}_{}", from.id);
            let update = message_of(kind, from, &file_id);
            let source_id = update["message"]["message_id"].as_i64().unwrap();
            t.send(update).await;

            let copy = t.last(to.id);
            assert_eq!(copy.method, "copyMessage", "{kind} from {sender_type}");
            assert_eq!(
                (
                    copy.params["chat_id"].as_i64(),
                    copy.params["from_chat_id"].as_i64(),
                    copy.params["message_id"].as_i64()
                ),
                (Some(to.id), Some(from.id), Some(source_id)),
                "{kind} from {sender_type}"
            );
            let row = db
                .query_one(
                    "SELECT id, ticket_id, sender_type, content_type, delivered_chat_id, delivered_message_id \
                     FROM ticket_messages WHERE source_chat_id = $1 AND source_message_id = $2",
                    &[&from.id, &source_id],
                )
                .await
                .unwrap();
            let stored: (i64, String, String, Option<i64>, Option<i64>) =
                (row.get(1), row.get(2), row.get(3), row.get(4), row.get(5));
            assert_eq!(
                stored,
                (ticket, sender_type.into(), kind.into(), Some(to.id), Some(copy.message_id)),
                "{kind} from {sender_type}"
            );
            let attachments: Vec<Value> = db
                .query(
                    "SELECT jsonb_strip_nulls(jsonb_build_object('kind', kind, 'file_id', file_id, \
                       'file_unique_id', file_unique_id, 'mime_type', mime_type, 'size', size, 'width', width, \
                       'height', height, 'duration', duration, 'file_name', file_name)) \
                     FROM message_attachments WHERE message_id = $1",
                    &[&row.get::<_, i64>(0)],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(attachments, Vec::from_iter(attachment_of(kind, &file_id)), "{kind} from {sender_type}");
        }
    }
    assert_eq!(t.db.count("ticket_messages").await, 24);
    assert_eq!(t.db.count("message_attachments").await, 16);
}

#[tokio::test]
async fn an_operator_who_never_started_the_bot_is_asked_to_and_the_ticket_stays_in_the_queue() {
    let t = spawn_app().await;
    let (customer, operator, ticket, card) = a_waiting_ticket(&t).await;
    t.send(updates::private_text(&customer, "Чайник не включается")).await;
    let customer_saw = t.telegram.texts(customer.id);
    t.telegram.never_started(operator.id);

    assert_eq!(shown(t.claim(&operator, ticket, &card).await), alert(texts::ALERT_START_BOT_FIRST));
    let row =
        t.db.row("SELECT status, operator_tg_id, assigned_at IS NULL FROM tickets WHERE id = $1", &[&ticket]).await;
    assert_eq!(
        (row.get::<_, Status>(0), row.get::<_, Option<i64>>(1), row.get::<_, bool>(2)),
        (Status::Waiting, None, true)
    );
    assert_eq!(t.telegram.texts(customer.id), customer_saw, "no «Оператор подключился»");
    let card_now = t.last(OPERATORS_CHAT_ID);
    assert_eq!((card_now.message_id, card_now.text.clone()), (card.message_id, card.text.clone()));
    assert_eq!(card_now.callback_data(), [format!("claim:{ticket}")], "the card keeps its button");
    assert_eq!(t.db.count("ticket_messages WHERE delivered_message_id IS NULL").await, 1, "the backlog waits");

    // The operator opens the bot; the same card now works.
    t.telegram.unblock_chat(operator.id);
    assert_eq!(shown(t.claim(&operator, ticket, &card).await), (Some(texts::claimed(ticket)), false));
    assert_eq!(t.ticket_status(ticket).await, (Status::Assigned, Some(operator.id)));
    let dm = t.telegram.received(operator.id);
    assert_eq!(dm.len(), 2, "summary and the backlog: {dm:#?}");
    let card_text = card.text.as_deref().unwrap();
    assert_eq!(dm[0].text, Some(texts::summary(card_text, texts::FIRST_CONTACT, 1, 1)));
    assert_eq!(dm[0].callback_data(), [format!("close:{ticket}"), format!("transfer:{ticket}")]);
    assert_eq!((dm[1].method.as_str(), dm[1].text.as_deref()), ("copyMessage", Some("Чайник не включается")));
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::OPERATOR_CONNECTED));
    let card_now = t.last(OPERATORS_CHAT_ID);
    assert_eq!(card_now.text, Some(texts::card_taken(card_text, "@operator1")));
    assert!(card_now.callback_data().is_empty(), "the card loses its button");
}
