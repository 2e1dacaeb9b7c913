//! The scheduled jobs against a real PostgreSQL, with the clock driven by the test (timestamps moved back,
//! or `now` moved forward): idle warning then close, reminders once per interval, the retention boundary,
//! outbox redelivery, and one failing job not stopping the others; retention cut short by its cap, and the
//! people it forgets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use chrono::{Duration, Utc};
use zabota_core::domain::Topic;
use zabota_core::maintenance::{JobReport, run_all};
use zabota_core::texts;
use zabota_testkit::{
    Dialog, Fault, OPERATORS_CHAT_ID, TestApp, TgUser, claim_press, hold_lock, spawn_app, spawn_app_with_media_folder,
    updates,
};

/// Ticket `id` was closed `days` ago.
async fn closed_days_ago(t: &TestApp, id: i64, days: i64) {
    t.db.execute(&format!(
        "UPDATE tickets SET status = 'CLOSED', closed_at = now() - interval '{days} days' WHERE id = {id}"
    ))
    .await;
}

fn affected(reports: &[JobReport], job: &str) -> Option<u64> {
    reports.iter().find(|r| r.job == job).unwrap_or_else(|| panic!("no job {job}")).affected
}

#[tokio::test]
async fn an_idle_dialog_is_warned_first_and_then_closed() {
    let t = spawn_app().await; // TICKET_IDLE_CLOSE_AFTER 24h, TICKET_IDLE_WARN_BEFORE 1h (defaults)
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Warranty).await;

    let reports = run_all(&t.app, Utc::now() + Duration::hours(22)).await;
    assert_eq!(affected(&reports, "idle_warning"), Some(0), "22 h idle: too early to warn");

    let reports = run_all(&t.app, Utc::now() + Duration::minutes(23 * 60 + 1)).await;
    assert_eq!(affected(&reports, "idle_warning"), Some(1));
    assert_eq!(t.last(customer.id).text, Some(texts::idle_warning_customer(60)));
    assert_eq!(t.last(operator.id).text, Some(texts::idle_warning_operator(ticket, 60)));
    let again = run_all(&t.app, Utc::now() + Duration::minutes(23 * 60 + 30)).await;
    assert_eq!(affected(&again, "idle_warning"), Some(0), "warned once");
    assert_eq!(affected(&again, "idle_close"), Some(0), "not closed before the idle time is up");

    let reports = run_all(&t.app, Utc::now() + Duration::minutes(24 * 60 + 1)).await;
    assert_eq!(affected(&reports, "idle_close"), Some(1));
    let goodbye = t.last(customer.id);
    assert_eq!(goodbye.text.as_deref(), Some(texts::OPERATOR_DISCONNECTED));
    assert_eq!(goodbye.callback_data(), ["home"]);
    assert_eq!(t.last(operator.id).text, Some(texts::idle_closed_operator(ticket)));
    assert_eq!(t.db.count("tickets WHERE status = 'CLOSED' AND close_reason = 'idle'").await, 1);
}

#[tokio::test]
async fn a_message_after_the_warning_keeps_the_dialog_open() {
    let t = spawn_app().await;
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Warranty).await;
    t.db.execute("UPDATE tickets SET last_activity_at = last_activity_at - interval '23 hours 5 minutes'").await;
    assert_eq!(affected(&run_all(&t.app, Utc::now()).await, "idle_warning"), Some(1));
    t.send(updates::private_text(&customer, "Я ещё здесь")).await;
    // An hour later: the dialog had a message 1 h ago, so it is neither closed nor warned again.
    let reports = run_all(&t.app, Utc::now() + Duration::hours(1)).await;
    assert_eq!((affected(&reports, "idle_warning"), affected(&reports, "idle_close")), (Some(0), Some(0)));
    assert_eq!(t.db.count("tickets WHERE status = 'ASSIGNED'").await, 1);
}

#[tokio::test]
async fn a_waiting_ticket_is_reannounced_at_most_once_per_interval() {
    let t = spawn_app().await; // WAITING_REMINDER_AFTER 15m, WAITING_REMINDER_INTERVAL 30m
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Warranty).await;
    let cards = || t.telegram.received(OPERATORS_CHAT_ID).len();
    assert_eq!(affected(&run_all(&t.app, Utc::now() + Duration::minutes(10)).await, "waiting_reminders"), Some(0));
    assert_eq!(affected(&run_all(&t.app, Utc::now() + Duration::minutes(16)).await, "waiting_reminders"), Some(1));
    let reminder = t.last(OPERATORS_CHAT_ID);
    assert!(
        reminder.text.as_deref().unwrap().starts_with("⏰ Клиент ждёт уже 16 мин.\nНовый клиент #"),
        "{reminder:?}"
    );
    assert_eq!(reminder.callback_data(), [format!("claim:{ticket}")]);
    assert_ne!(reminder.message_id, card.message_id);
    assert_eq!(affected(&run_all(&t.app, Utc::now() + Duration::minutes(40)).await, "waiting_reminders"), Some(0));
    assert_eq!(cards(), 2);
    assert_eq!(affected(&run_all(&t.app, Utc::now() + Duration::minutes(47)).await, "waiting_reminders"), Some(1));
    assert_eq!(cards(), 3);
    // A claimed ticket is never re-announced.
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    t.send(claim_press(&operator, ticket, &reminder)).await;
    assert_eq!(affected(&run_all(&t.app, Utc::now() + Duration::hours(5)).await, "waiting_reminders"), Some(0));
}

#[tokio::test]
async fn a_waiting_ticket_is_reminded_at_most_three_times_and_the_last_reminder_says_so() {
    let t = spawn_app().await; // WAITING_REMINDER_AFTER 15m, WAITING_REMINDER_INTERVAL 30m, WAITING_REMINDER_MAX 3
    let customer = TgUser::customer(1);
    let (ticket, _) = t.queue_ticket(&customer, Topic::Warranty).await;
    let reminders = async |minutes: i64| {
        affected(&run_all(&t.app, Utc::now() + Duration::minutes(minutes)).await, "waiting_reminders")
    };
    assert_eq!(reminders(16).await, Some(1));
    assert_eq!(reminders(47).await, Some(1));
    assert!(t.last(OPERATORS_CHAT_ID).text.unwrap().starts_with(&texts::waiting_reminder(47)));
    assert_eq!(reminders(78).await, Some(1));
    let last = t.last(OPERATORS_CHAT_ID);
    assert!(last.text.as_deref().unwrap().starts_with(&texts::waiting_reminder_last(78)), "{last:?}");
    assert_eq!(last.callback_data(), [format!("claim:{ticket}")]);
    // No fourth: the first card and three reminders, nothing more however long it waits.
    assert_eq!(reminders(109).await, Some(0));
    assert_eq!(reminders(600).await, Some(0));
    assert_eq!(t.telegram.received(OPERATORS_CHAT_ID).len(), 4);
    assert_eq!(t.db.count(&format!("tickets WHERE id = {ticket} AND reminders_sent = 3")).await, 1);
    // A claim on the last card updates all four: none of them invites another claim.
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    t.claim(&operator, ticket, &last).await;
    let cards = t.telegram.received(OPERATORS_CHAT_ID);
    assert_eq!(cards.len(), 4);
    for card in &cards {
        assert!(card.callback_data().is_empty(), "{card:?}");
        assert!(card.text.as_deref().unwrap().ends_with("✅ Взял в работу: @operator1"), "{card:?}");
    }
    let settled = format!("ticket_cards WHERE ticket_id = {ticket} AND settled_at IS NOT NULL");
    assert_eq!(t.db.count(&format!("{settled} AND chat_id = {OPERATORS_CHAT_ID}")).await, 4);
    assert_eq!(t.db.count(&format!("{settled} AND chat_id = {}", customer.id)).await, 1, "and the place in the queue");
    assert_eq!(t.db.count("ticket_cards WHERE settled_at IS NULL").await, 0);
}

#[tokio::test]
async fn a_ticket_nobody_claims_expires_and_its_customer_is_told_with_the_way_back() {
    let t = spawn_app().await; // WAITING_EXPIRE_AFTER 24h
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    let expiry = async |at| affected(&run_all(&t.app, at).await, "waiting_expiry");
    assert_eq!(expiry(Utc::now() + Duration::hours(23)).await, Some(0));
    assert_eq!(t.ticket_status(ticket).await.0, zabota_core::db::tickets::Status::Waiting);
    let before = t.telegram.received(customer.id).len();
    assert_eq!(expiry(Utc::now() + Duration::hours(24) + Duration::minutes(1)).await, Some(1));
    assert_eq!(t.ticket_status(ticket).await.0, zabota_core::db::tickets::Status::Closed);
    let reason = t.db.row("SELECT close_reason FROM tickets WHERE id = $1", &[&ticket]).await;
    assert_eq!(reason.get::<_, zabota_core::domain::CloseReason>(0), zabota_core::domain::CloseReason::Expired);
    // The customer hears it once, with «В начало»; the card the ticket last had invites no claim.
    let told = t.telegram.received(customer.id);
    assert_eq!(told.len(), before + 1);
    assert_eq!(told[before].text, Some(texts::expired_customer(ticket)));
    assert_eq!(told[before].callback_data(), ["home"]);
    // Every card it had (the first and the reminder of the 23 h run) says what happened and invites no claim.
    let cards = t.telegram.received(OPERATORS_CHAT_ID);
    assert_eq!(cards.len(), 2);
    for card in &cards {
        assert_eq!(card.text, Some(texts::card_closed(ticket, zabota_core::domain::CloseReason::Expired)));
        assert!(card.callback_data().is_empty());
    }
    // A press on the first card that slipped through is answered, not acted on; a later run expires nothing more.
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    let answer = t.claim(&operator, ticket, &card).await;
    assert_eq!(answer.text, Some(texts::alert_closed(ticket)));
    assert_eq!(expiry(Utc::now() + Duration::hours(48)).await, Some(0));
    // «Обратиться к оператору» again opens a fresh ticket.
    let (fresh, _) = t.queue_ticket(&customer, Topic::Return).await;
    assert_ne!(fresh, ticket);
}

#[tokio::test]
async fn an_expiry_telegram_refuses_for_now_is_committed_and_its_messages_arrive_once_later() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    let before = t.telegram.received(customer.id).len();
    // The customer's message meets a 429, the card's edit a dropped connection (the call in flight).
    t.telegram.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 30 }, 1);
    t.telegram.fail_next("editMessageText", Fault::Drop, 1);
    let at = Utc::now() + Duration::hours(24) + Duration::minutes(1);
    assert_eq!(affected(&run_all(&t.app, at).await, "waiting_expiry"), Some(1));
    // The close is committed whatever Telegram said; the calls wait in the outbox.
    assert_eq!(t.ticket_status(ticket).await.0, zabota_core::db::tickets::Status::Closed);
    assert_eq!(t.telegram.received(customer.id).len(), before, "deferred, not lost");
    t.make_outbox_due().await;
    t.redeliver().await;
    t.redeliver().await;
    let told: Vec<_> = t.telegram.received(customer.id).into_iter().skip(before).collect();
    assert_eq!(told.len(), 1, "told exactly once: {told:?}");
    assert_eq!(told[0].text, Some(texts::expired_customer(ticket)));
    let card_now = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == card.message_id);
    assert_eq!(card_now.unwrap().text, Some(texts::card_closed(ticket, zabota_core::domain::CloseReason::Expired)));
    // A later run does not close or tell anything again.
    assert_eq!(affected(&run_all(&t.app, at + Duration::hours(1)).await, "waiting_expiry"), Some(0));
    assert_eq!(t.telegram.received(customer.id).len(), before + 1);
}

#[tokio::test]
async fn retention_deletes_what_is_one_day_too_old_and_keeps_what_is_one_day_younger() {
    let t = spawn_app().await; // HISTORY_RETENTION_DAYS 365
    let Dialog { customer, ticket, .. } = t.open_dialog(1, Topic::Warranty).await;
    t.send(updates::private_text(&customer, "старое")).await;
    t.send(updates::document(&customer, "doc-old", "check.pdf", "application/pdf", None)).await;
    t.send(updates::private_text(&customer, "молодое")).await;
    t.db.execute("UPDATE ticket_messages SET created_at = now() - interval '366 days' WHERE message_text = 'старое' OR content_type = 'document';
             UPDATE ticket_messages SET created_at = now() - interval '364 days' WHERE message_text = 'молодое'").await;
    // Two closed tickets of another customer, one on each side of the boundary.
    let other = TgUser::customer(2);
    for days in [366, 364] {
        let (old, _) = t.queue_ticket(&other, Topic::Warranty).await;
        closed_days_ago(&t, old, days).await;
    }
    t.db.execute("UPDATE processed_updates SET processed_at = now() - interval '8 days' WHERE update_id = (SELECT min(update_id) FROM processed_updates)").await;

    let reports = run_all(&t.app, Utc::now()).await;
    assert!(affected(&reports, "retention").unwrap() >= 4);
    let rows = t.db.rows("SELECT coalesce(message_text, content_type) FROM ticket_messages", &[]).await;
    let texts_left: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(texts_left, ["молодое"]);
    assert_eq!(t.db.count("message_attachments").await, 0, "the old document's attachment went with it");
    assert_eq!(t.db.count("tickets WHERE status = 'CLOSED'").await, 1, "only the ticket closed 364 days ago is left");
    assert_eq!(t.db.count(&format!("tickets WHERE id = {ticket}")).await, 1, "an open ticket is never deleted");
    assert_eq!(t.db.count("ticket_cards WHERE ticket_id NOT IN (SELECT id FROM tickets)").await, 0, "cards go too");
    let cards_left = format!("ticket_cards WHERE chat_id = {OPERATORS_CHAT_ID}");
    assert_eq!(t.db.count(&cards_left).await, 2, "the cards of the two tickets left");
    assert_eq!(t.db.count("ticket_cards").await, 4, "and their customers' places in the queue");
    assert_eq!(t.db.count("processed_updates WHERE processed_at < now() - interval '7 days'").await, 0);
}

#[tokio::test]
async fn the_outbox_is_redelivered_after_429_and_5xx() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Warranty).await;
    t.telegram.fail_next("copyMessage", Fault::ServerError, 3);
    t.send(updates::private_text(&customer, "раз")).await;
    t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 40 }, 1);
    t.make_outbox_due().await;
    // The redelivery reports the calls it sent: none, the 429 deferred it again.
    assert_eq!(affected(&run_all(&t.app, Utc::now()).await, "outbox_redelivery"), Some(0));
    assert!(!t.telegram.texts(operator.id).contains(&"раз".to_owned()), "the 429 deferred it again");
    t.make_outbox_due().await;
    assert_eq!(affected(&run_all(&t.app, Utc::now()).await, "outbox_redelivery"), Some(1));
    assert_eq!(t.telegram.texts(operator.id).iter().filter(|s| *s == "раз").count(), 1);
}

#[tokio::test]
async fn one_failing_job_does_not_stop_the_others() {
    let t = spawn_app().await;
    t.open_dialog(1, Topic::Warranty).await;
    t.db.execute(
        "UPDATE tickets SET last_activity_at = now() - interval '23 hours 30 minutes';
             ALTER TABLE tickets RENAME COLUMN reminded_at TO reminded_at_broken",
    )
    .await;
    let reports = run_all(&t.app, Utc::now()).await;
    let failed: Vec<&str> = reports.iter().filter(|r| r.error.is_some()).map(|r| r.job).collect();
    assert_eq!(failed, ["waiting_reminders"]);
    assert_eq!(affected(&reports, "idle_warning"), Some(1), "the jobs before and after it still ran");
    assert!(affected(&reports, "retention").is_some());
}

async fn users_left(t: &TestApp, tg_ids: Vec<i64>) -> i64 {
    let list = tg_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    t.db.count(&format!("users WHERE tg_id IN ({list})")).await
}

#[tokio::test]
async fn a_message_pass_cut_short_by_its_cap_leaves_the_closed_ticket_and_its_files_to_the_next_run() {
    let (t, media) = spawn_app_with_media_folder().await;
    let root = &media.root;
    let Dialog { customer, ticket, .. } = t.open_dialog(1, Topic::Warranty).await;
    // More old messages than one run deletes (50 batches of 1000), and after them one with a file.
    t.db.execute(&format!(
        "INSERT INTO ticket_messages (ticket_id, sender_type, sender_tg_id, content_type, message_text, \
               source_chat_id, source_message_id) \
             SELECT {ticket}, 'USER', {id}, 'text', 'старое', {id}, g FROM generate_series(1000001, 1050000) g",
        id = customer.id
    ))
    .await;
    t.telegram.add_file("doc1", "u_doc1", b"receipt".to_vec());
    t.send(updates::document(&customer, "doc1", "check.pdf", "application/pdf", None)).await;
    let (_, key) = t.stored_attachment().await;
    t.db.execute(
        "UPDATE ticket_messages SET created_at = now() - interval '400 days';
         UPDATE tickets SET status = 'CLOSED', closed_at = now() - interval '400 days', close_reason = 'operator'",
    )
    .await;

    let first = run_all(&t.app, Utc::now()).await;
    assert!(affected(&first, "retention").is_some(), "{first:?}");
    assert_eq!(t.db.count("ticket_messages").await, 1, "the cap: one run deletes 50 000 messages");
    assert_eq!(t.db.count("tickets").await, 1, "a closed ticket with messages left is kept for the next run");
    assert_eq!(t.db.count("message_attachments").await, 1);
    assert_eq!(std::fs::read(root.join(&key)).unwrap(), b"receipt", "and so is its file");

    let second = run_all(&t.app, Utc::now()).await;
    assert!(affected(&second, "retention").is_some(), "{second:?}");
    assert_eq!(t.db.count("ticket_messages").await + t.db.count("tickets").await, 0);
    assert!(!root.join(&key).exists(), "the file went with its message");
}

#[tokio::test]
async fn retention_forgets_people_with_nothing_left_but_not_those_with_a_ticket_or_a_dialog_in_progress() {
    let t = spawn_app().await;
    // A customer whose only ticket was closed long ago.
    let gone = TgUser::customer(1);
    let (old, _) = t.queue_ticket(&gone, Topic::Warranty).await;
    closed_days_ago(&t, old, 400).await;
    // A customer with an open ticket, claimed by an operator who is not a customer.
    let Dialog { customer: waiting, operator, .. } =
        t.open_dialog_between(TgUser::customer(2), TgUser::operator(1), Topic::Warranty).await;
    // A customer who is typing their phone number right now.
    let typing = TgUser::customer(3);
    t.ask_for_operator(&typing, Topic::Return).await;
    // An operator who never handled a ticket, and a customer whose update is being handled as retention runs.
    let (idle_operator, busy) = (TgUser::operator(2), TgUser::customer(4));
    t.send(updates::command(&idle_operator, "/start")).await;
    t.send(updates::command(&busy, "/start")).await;
    // Nobody's row changed inside the window, except the one typing.
    t.db.execute(&format!(
        "UPDATE users SET created_at = now() - interval '400 days', updated_at = now() - interval '400 days' \
             WHERE tg_id <> {}",
        typing.id
    ))
    .await;
    let mut holder = t.db.client().await;
    let lock = hold_lock(&mut holder, "conv", busy.id).await;

    let reports = run_all(&t.app, Utc::now()).await;
    assert!(affected(&reports, "retention").is_some(), "{reports:?}");
    let left = |users: &[&TgUser]| users_left(&t, users.iter().map(|u| u.id).collect());
    assert_eq!(left(&[&gone, &idle_operator]).await, 0, "nothing left of them: forgotten");
    assert_eq!(left(&[&waiting, &operator]).await, 2, "an open ticket keeps its customer and its operator");
    assert_eq!(left(&[&typing]).await, 1, "a dialog in progress is never touched");
    assert_eq!(left(&[&busy]).await, 1, "nor is someone whose update is being handled");
    assert_eq!(
        t.db.count(&format!("users u WHERE tg_id = {} AND dialog_state = 'awaiting_phone'", typing.id)).await,
        1
    );

    lock.commit().await.unwrap();
    run_all(&t.app, Utc::now()).await;
    assert_eq!(left(&[&busy]).await, 0, "forgotten by the next run");
    // Someone forgotten who comes back is simply new.
    t.send(updates::command(&gone, "/start")).await;
    assert_eq!(left(&[&gone]).await, 1);
    assert_eq!(t.last(gone.id).text.as_deref(), Some(zabota_testkit::shipped::greeting()));
}
