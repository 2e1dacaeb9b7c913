//! A customer's history at hand: a returning customer's card lists their last tickets, a claim's summary shows
//! the previous ticket's last messages (or says it is the first contact), `/history N` sends a ticket's
//! transcript as a document, `/history +phone|@username|ID` lists a customer's tickets; only operators have it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::{Duration, Instant};

use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{Fault, OPERATORS_CHAT_ID, Received, TestApp, TgUser, spawn_app, updates};

/// Today in the desk's zone, as history lines write dates.
fn today(t: &TestApp) -> String {
    chrono::Utc::now().with_timezone(&t.app.config.desk_tz).format("%d.%m.%Y").to_string()
}

/// Customer 1's history: a dialog about a warranty with operator 1 (two messages, closed by the operator,
/// rated 5), then a return request they cancelled. Returns both ticket numbers.
async fn a_customer_with_history(t: &TestApp) -> (i64, i64) {
    let d = t.open_dialog(1, Topic::Warranty).await;
    t.send(updates::private_text(&d.customer, "Чайник не греет")).await;
    t.send(updates::private_text(&d.operator, "Принесите его в сервис")).await;
    t.press(&d.operator, &format!("close:{}", d.ticket)).await;
    t.press(&d.customer, &format!("rate:{}:5", d.ticket)).await;
    let (cancelled, _) = t.queue_ticket(&d.customer, Topic::Return).await;
    t.send(updates::command(&d.customer, "/cancel")).await;
    (d.ticket, cancelled)
}

fn document_text(t: &TestApp, sent: &Received) -> String {
    String::from_utf8(t.telegram.uploaded(sent.chat_id, sent.message_id).expect("the document's bytes")).unwrap()
}

#[tokio::test]
async fn a_returning_customers_card_and_summary_show_their_history() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let operator = TgUser::operator(2);
    // A first contact's summary says so.
    let first = t.open_dialog_between(TgUser::customer(7), operator.clone(), Topic::Other).await;
    let summary = t.telegram.received(operator.id)[0].text.clone().unwrap();
    assert!(summary.contains(texts::FIRST_CONTACT), "{summary}");
    t.press(&operator, &format!("close:{}", first.ticket)).await;

    let (dialog, cancelled) = a_customer_with_history(&t).await;
    let (ticket, card) = t.queue_ticket(&customer, Topic::Other).await;
    let text = card.text.unwrap();
    let day = today(&t);
    let expected = format!(
        "Прежних обращений: 2\n• #{cancelled} {day} — Возврат, без оператора, отменена клиентом\n\
         • #{dialog} {day} — Гарантия, @operator1, закрыта оператором, оценка 5"
    );
    assert!(text.ends_with(&expected), "{text}");

    // The claim's summary has the card and the previous ticket's last messages: the cancelled one had none.
    t.claim(&operator, ticket, &t.newest_live_card(ticket)).await;
    let summary = t.telegram.received(operator.id).into_iter().rfind(|m| m.callback_data().len() == 2).unwrap();
    let summary = summary.text.unwrap();
    assert!(summary.contains(&expected), "{summary}");
    assert!(summary.contains(&format!("Прошлое обращение #{cancelled} ({day}): сообщений не было.")), "{summary}");

    // A customer whose previous ticket was a dialog: its last messages, in order, with their sides.
    let other = TgUser::customer(3);
    let d = t.open_dialog_between(other.clone(), TgUser::operator(4), Topic::Return).await;
    for (who, text) in [(&d.customer, "Где мой заказ?"), (&d.operator, "Уже в пути"), (&d.customer, "Спасибо")]
    {
        t.send(updates::private_text(who, text)).await;
    }
    t.press(&d.operator, &format!("close:{}", d.ticket)).await;
    let (next, card) = t.queue_ticket(&other, Topic::Return).await;
    let operator5 = TgUser::operator(5);
    t.make_operator(operator5.id);
    t.claim(&operator5, next, &card).await;
    let summary = t.telegram.received(operator5.id)[0].text.clone().unwrap();
    let header = format!("Прошлое обращение #{} ({day}), последние сообщения:\n", d.ticket);
    let start = summary.find(&header).unwrap_or_else(|| panic!("{summary}")) + header.len();
    let lines: Vec<&str> = summary[start..].lines().take(3).collect();
    let sides: Vec<String> =
        lines.iter().map(|l| l.split_once(' ').unwrap().1.split_once(' ').unwrap().1.to_owned()).collect();
    assert_eq!(sides, ["Клиент: Где мой заказ?", "Оператор: Уже в пути", "Клиент: Спасибо"], "{summary}");
}

#[tokio::test]
async fn history_n_sends_the_transcript_as_one_document() {
    let t = spawn_app().await;
    let d = t.closed_dialog_with_history(1).await;
    let attachment: i64 = t.db.row("SELECT id FROM message_attachments", &[]).await.get(0);

    let reader = TgUser::operator(2);
    t.make_operator(reader.id);
    t.send(updates::command(&reader, &format!("/history {}", d.ticket))).await;
    let sent = t.last(reader.id);
    assert_eq!(sent.method, "sendDocument");
    assert_eq!(sent.params["document"]["filename"], format!("zabota-ticket-{}.txt", d.ticket));
    assert_eq!(sent.caption, Some(format!("Переписка по заявке #{}: сообщений — 3.", d.ticket)));
    let text = document_text(&t, &sent);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("Заявка #{} — переписка", d.ticket));
    assert_eq!(lines[1], "Клиент: Иван Петров (@customer1, ID 1001), телефон +79161234567");
    assert_eq!(lines[2], "Тема: Гарантия");
    for line in ["Итог: закрыта оператором; оператор @operator1", "Оценка клиента: 4 из 5 — «Быстро ответили»"]
    {
        assert!(lines.contains(&line), "{line:?} in\n{text}");
    }
    let messages = &lines[lines.iter().position(|l| *l == "Сообщения (3):").unwrap() + 1..];
    let said: Vec<String> =
        messages.iter().map(|l| l.split_once("] ").map_or(l.to_string(), |(_, r)| r.to_owned())).collect();
    assert_eq!(said[0], "Клиент: Чайник не греет");
    assert!(said[1].starts_with("    изменено ") && said[1].ends_with(": Чайник совсем не греет"), "{}", said[1]);
    assert_eq!(said[2], "Клиент: [фото] Вот чек");
    assert!(said[3].starts_with(&format!("    файл {attachment}: фото")), "{}", said[3]);
    assert!(said[3].ends_with(&format!("прислать: /file {attachment}")), "{}", said[3]);
    assert_eq!(said[4], "Оператор @operator1: Принесите его в сервис");
    assert_eq!(said.len(), 5, "{text}");
    // In the operators' chat too, answered there.
    t.in_operators_chat(&reader, &format!("/history #{}", d.ticket)).await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).method, "sendDocument");

    // A ticket that does not exist, and no customer has that id.
    t.send(updates::command(&reader, "/history 999")).await;
    assert_eq!(t.last(reader.id).text.as_deref(), Some(texts::history_nobody("999").as_str()));
    t.send(updates::command(&reader, "/history #999")).await;
    assert_eq!(t.last(reader.id).text, Some(texts::transcript_missing(999)));
    t.send(updates::command(&reader, "/history")).await;
    assert_eq!(t.last(reader.id).text.as_deref(), Some(texts::HISTORY_USAGE));
}

#[tokio::test]
async fn history_finds_a_customer_by_phone_username_or_id() {
    let t = spawn_app().await;
    let (dialog, cancelled) = a_customer_with_history(&t).await;
    let reader = TgUser::operator(2);
    t.make_operator(reader.id);
    let day = today(&t);
    let expected = format!(
        "Обращения клиента @customer1 (ID 1001), всего 2:\n\
         #{cancelled} {day} — Возврат, без оператора, отменена клиентом\n\
         #{dialog} {day} — Гарантия, @operator1, закрыта оператором, оценка 5"
    );
    for asked in ["+7 916 123-45-67", "+79161234567", "@customer1", "@CUSTOMER1", "1001"] {
        t.send(updates::command(&reader, &format!("/history {asked}"))).await;
        assert_eq!(t.last(reader.id).text.as_deref(), Some(expected.as_str()), "{asked}");
    }
    for asked in ["+7 916 000-00-00", "@nobody"] {
        t.send(updates::command(&reader, &format!("/history {asked}"))).await;
        assert_eq!(t.last(reader.id).text, Some(texts::history_nobody(asked)), "{asked}");
    }
}

#[tokio::test]
async fn customers_never_reach_history() {
    let t = spawn_app().await;
    let (dialog, _) = a_customer_with_history(&t).await;
    let stranger = TgUser::customer(5);
    t.send(updates::command(&stranger, &format!("/history {dialog}"))).await;
    assert_eq!(t.last(stranger.id).text.as_deref(), Some(texts::USE_MENU));
    // In a dialog, their /history is a message to their operator.
    let d = t.open_dialog(6, Topic::Return).await;
    t.send(updates::command(&d.customer, "/history +79161234567")).await;
    assert_eq!(t.last(d.operator.id).text.as_deref(), Some("/history +79161234567"));
    assert!(t.telegram.calls_to("sendDocument").is_empty());
    // In the operators' chat, someone who is not a member is refused.
    t.in_operators_chat(&stranger, &format!("/history {dialog}")).await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text.as_deref(), Some(texts::ONLY_OPERATORS));
    assert!(t.telegram.calls_to("sendDocument").is_empty());
}

#[tokio::test]
async fn a_transcript_upload_that_outlasts_the_invocation_is_given_up_and_sent_on_the_redelivery() {
    let t = spawn_app().await;
    let d = t.closed_dialog_with_history(1).await;
    let reader = TgUser::operator(2);
    t.make_operator(reader.id);
    let update = updates::command(&reader, &format!("/history {}", d.ticket));
    let documents = || t.telegram.received(reader.id).iter().filter(|m| m.method == "sendDocument").count();
    // Telegram takes longer over the upload than the invocation has left (the webhook's deadline is a margin
    // before the Lambda's): the update gives up at its deadline instead of being killed by the Lambda's timeout
    // with the conversation locked, and nothing of it is recorded.
    t.telegram.fail_next("sendDocument", Fault::Delay(Duration::from_secs(60)), 1);
    let failed = t.try_send_until(update.clone(), Instant::now() + Duration::from_secs(2)).await;
    assert!(failed.as_ref().is_err_and(|e| e.is_transient()), "{failed:?}");
    let processed = format!("processed_updates WHERE update_id = {}", update["update_id"]);
    assert_eq!(t.db.count(&processed).await, 0, "Telegram delivers it again");
    assert_eq!(documents(), 0);
    // The redelivery sends it, once.
    t.send(update).await;
    assert_eq!(documents(), 1);
    assert_eq!(t.db.count(&processed).await, 1);
}

#[tokio::test]
async fn history_is_refused_while_telegram_says_nothing_of_the_operators_chat() {
    let t = spawn_app().await;
    let d = t.closed_dialog_with_history(1).await;
    let reader = TgUser::operator(2);
    t.make_operator(reader.id);
    t.send(updates::command(&reader, &format!("/history {}", d.ticket))).await;
    assert_eq!(t.last(reader.id).method, "sendDocument", "an operator reads it");
    // The bot was removed from the operators' chat (or it was upgraded): the role remembered from before opens
    // no history.
    t.telegram.fail_next("getChatMember", Fault::BadRequest("chat not found".into()), 10);
    t.send(updates::command(&reader, &format!("/history {}", d.ticket))).await;
    assert_eq!(t.last(reader.id).text.as_deref(), Some(texts::ONLY_OPERATORS));
    assert_eq!(t.telegram.received(reader.id).iter().filter(|m| m.method == "sendDocument").count(), 1);
}
