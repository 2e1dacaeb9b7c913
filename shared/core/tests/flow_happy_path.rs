//! The whole support flow as customers and operators see it: menu → template → phone → queue → card →
//! claim → relay in both directions → close.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::db::tickets::Status;
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{OPERATORS_CHAT_ID, TestApp, TgUser, spawn_app, updates};

async fn ticket_row(t: &TestApp) -> (i64, Status, Topic, String, Option<i64>) {
    let row = t.db.row("SELECT id, status, topic, phone, operator_tg_id FROM tickets", &[]).await;
    (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))
}

#[tokio::test]
async fn a_customer_reaches_an_operator_and_back_to_the_start() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);

    // Start menu.
    t.send(updates::command(&customer, "/start")).await;
    let greeting = t.last(customer.id);
    assert_eq!(greeting.text.as_deref(), Some(zabota_testkit::shipped::greeting()));
    assert_eq!(greeting.callback_data(), ["topic:warranty", "topic:return", "topic:other"]);

    // Гарантия: the template answer with Понятно / Обратиться к оператору.
    t.press(&customer, "topic:warranty").await;
    let template = t.last(customer.id);
    assert_eq!(template.text.as_deref(), Some(zabota_testkit::shipped::template(Topic::Warranty)));
    assert_eq!(template.callback_data(), ["ok", "operator:warranty"]);

    // Обратиться к оператору: asked for the phone with a share-contact button.
    t.press(&customer, "operator:warranty").await;
    let ask = t.last(customer.id);
    assert_eq!(ask.text.as_deref(), Some(zabota_testkit::shipped::text(zabota_core::desk::Text::AskPhone)));
    assert_eq!(ask.reply_markup.as_ref().unwrap()["keyboard"][0][0]["request_contact"], true);

    // A typed number with the Russian trunk prefix.
    t.send(updates::private_text(&customer, "8 (916) 123-45-67")).await;
    let (ticket, status, topic, phone, operator_id) = ticket_row(&t).await;
    assert_eq!((status, topic, phone.as_str(), operator_id), (Status::Waiting, Topic::Warranty, "+79161234567", None));
    let got = t.telegram.received(customer.id);
    let (queued, position) = (&got[got.len() - 2], &got[got.len() - 1]);
    assert_eq!(queued.text, Some(texts::queued(ticket)));
    assert_eq!(queued.reply_markup.as_ref().unwrap()["remove_keyboard"], true);
    assert_eq!(position.text, Some(texts::queue_position(1, None)));
    assert_eq!(position.callback_data(), [format!("cancel:{ticket}")]);
    let card = t.last(OPERATORS_CHAT_ID);
    let card_text = card.text.clone().unwrap();
    assert!(card_text.starts_with(&format!("Новый клиент #{ticket}")), "{card_text}");
    for part in ["Иван Петров", "@customer1", "+7 916 123-45-67", "Гарантия", "Прежних обращений: 0"]
    {
        assert!(card_text.contains(part), "card lacks {part}: {card_text}");
    }
    assert_eq!(card.callback_data(), [format!("claim:{ticket}")]);

    // While waiting, the customer describes the problem: stored, delivered at the claim.
    t.send(updates::private_text(&customer, "Сломался чайник")).await;
    t.send(updates::private_text(&customer, "Купил неделю назад")).await;
    assert!(t.telegram.received(operator.id).is_empty());

    // Взять в работу.
    t.send(updates::callback(&operator, OPERATORS_CHAT_ID, card.message_id, &format!("claim:{ticket}"))).await;
    let dm = t.telegram.received(operator.id);
    assert_eq!(dm.len(), 3, "summary, then the backlog in order: {dm:#?}");
    let summary = dm[0].text.as_deref().unwrap();
    assert!(summary.starts_with("Вы взяли заявку в работу."), "{summary}");
    assert!(summary.contains(&card_text), "the summary carries the card, rebuilt from the database: {summary}");
    assert_eq!(dm[0].callback_data(), [format!("close:{ticket}"), format!("transfer:{ticket}")]);
    assert_eq!(dm[1].text.as_deref(), Some("Сломался чайник"));
    assert_eq!(dm[2].text.as_deref(), Some("Купил неделю назад"));
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::OPERATOR_CONNECTED));
    let card_now = t.telegram.received(OPERATORS_CHAT_ID).pop().unwrap();
    assert_eq!(card_now.text, Some(format!("{card_text}\n\n✅ Взял в работу: @operator1")));
    assert!(card_now.callback_data().is_empty(), "the card loses its button");
    assert_eq!(ticket_row(&t).await.1, Status::Assigned);

    // The relay, both ways, every content kind stored.
    t.send(updates::photo(&customer, "photo1", Some("Вот чек"))).await;
    t.send(updates::private_text(&operator, "Здравствуйте! Принесите чайник в сервис.")).await;
    let to_operator = t.last(operator.id);
    assert_eq!(
        (to_operator.method.as_str(), to_operator.params["from_chat_id"].as_i64()),
        ("copyMessage", Some(customer.id))
    );
    assert_eq!(to_operator.caption.as_deref(), Some("Вот чек"));
    assert_eq!(t.last(customer.id).text.as_deref(), Some("Здравствуйте! Принесите чайник в сервис."));
    let history = "SELECT sender_type, content_type, coalesce(message_text, caption), delivered_message_id IS NOT NULL \
                   FROM ticket_messages ORDER BY id";
    let rows = t.db.rows(history, &[]).await;
    let history: Vec<(String, String, String, bool)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    let expected = [
        ("USER", "text", "Сломался чайник"),
        ("USER", "text", "Купил неделю назад"),
        ("USER", "photo", "Вот чек"),
        ("OPERATOR", "text", "Здравствуйте! Принесите чайник в сервис."),
    ];
    assert_eq!(history.len(), expected.len());
    for (got, want) in history.iter().zip(expected) {
        assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str(), got.3), (want.0, want.1, want.2, true));
    }
    let attachment = t.db.row("SELECT kind, file_id, width FROM message_attachments", &[]).await;
    assert_eq!((attachment.get::<_, String>(0), attachment.get::<_, String>(1)), ("photo".into(), "photo1".into()));

    // Завершить диалог.
    let summary_id = dm[0].message_id;
    t.send(updates::callback(&operator, operator.id, summary_id, &format!("close:{ticket}"))).await;
    let said = t.telegram.received(customer.id);
    let [goodbye, rate] = &said[said.len() - 2..] else { unreachable!() };
    assert_eq!(goodbye.text.as_deref(), Some(texts::OPERATOR_DISCONNECTED));
    assert_eq!(goodbye.callback_data(), ["home"]);
    // Then the request for a rating, 1 to 5.
    assert_eq!(rate.text.as_deref(), Some(texts::RATE_PLEASE));
    assert_eq!(rate.callback_data(), (1..=5).map(|s| format!("rate:{ticket}:{s}")).collect::<Vec<_>>());
    assert_eq!(t.last(operator.id).text, Some(texts::closed_for_operator(ticket)));
    assert!(t.telegram.received(operator.id)[0].callback_data().is_empty(), "Завершить диалог is gone");
    let closed = t.db.row("SELECT status, closed_at IS NOT NULL FROM tickets", &[]).await;
    assert_eq!((closed.get::<_, Status>(0), closed.get::<_, bool>(1)), (Status::Closed, true));

    // В начало: the menu again. Every press was answered.
    t.press(&customer, "home").await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(zabota_testkit::shipped::greeting()));
    assert_eq!(t.telegram.callback_answers().len(), 5);
}
