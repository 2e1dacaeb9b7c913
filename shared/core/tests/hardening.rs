//! Ways the desk used to lose, repeat or leak data: a flush killed mid-backlog, 429s slept through under a lock,
//! closed tickets' copies, honest give-ups, poison updates, database errors in logs, removed operators.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::Duration;

use zabota_core::bot::{self, MAX_UPDATE_ATTEMPTS, Outcome};
use zabota_core::db::tickets::Status;
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{Dialog, Fault, OPERATORS_CHAT_ID, TestApp, TgUser, claim_press, hold_lock, spawn_app, updates};

/// The texts `chat` received that start with `prefix`.
fn texts_with(t: &TestApp, chat: i64, prefix: &str) -> Vec<String> {
    t.telegram.texts(chat).into_iter().filter(|s| s.starts_with(prefix)).collect()
}

/// `n` customer messages wait in the operator's outbox queue (its chat answered 429 to the first).
async fn backlog_for_operator(t: &TestApp, customer: &TgUser, n: usize) {
    t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 60 }, 1);
    for i in 0..n {
        t.send(updates::private_text(customer, &format!("m{i}"))).await;
    }
    assert_eq!(t.db.count("outbox WHERE status = 'pending' AND method = 'copyMessage'").await, n as i64);
}

/// An app whose operator has `n` customer messages waiting, all due now (flood limits lifted: these tests are
/// about a flush's own work, not its pace).
async fn due_backlog(n: usize) -> (TestApp, TgUser) {
    let t = zabota_testkit::spawn_app_without_limits().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    backlog_for_operator(&t, &customer, n).await;
    t.make_outbox_due().await;
    (t, operator)
}

/// Customer 1's ticket waits; operator 1 presses «Взять в работу»: the ticket and that press as Telegram posts it.
async fn a_claim_to_post(t: &TestApp) -> (i64, Vec<u8>) {
    let (ticket, card) = t.queue_ticket(&TgUser::customer(1), Topic::Return).await;
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    (ticket, t.body_of(&claim_press(&operator, ticket, &card)))
}

/// The membership remembered at the claim is more than a minute old: the next check asks Telegram again.
async fn expire_membership_checks(t: &TestApp) {
    t.db.execute("UPDATE operator_checks SET checked_at = now() - interval '2 minutes'").await;
}

#[tokio::test]
async fn a_flush_killed_mid_backlog_repeats_at_most_the_call_in_flight() {
    let (t, operator) = due_backlog(60).await;
    // The 21st call hangs; the flusher is killed while it waits (a Lambda timeout).
    let first_try = t.telegram.calls_to("copyMessage").len();
    t.telegram.fail_next("copyMessage", Fault::Delay(Duration::ZERO), 20);
    t.telegram.fail_next("copyMessage", Fault::Delay(Duration::from_secs(3)), 1);
    let killed = tokio::time::timeout(Duration::from_secs(1), bot::deliver(&t.app, vec![operator.id])).await;
    assert!(killed.is_err(), "the flush was cut off");
    assert_eq!(t.telegram.calls_to("copyMessage").len() - first_try, 21);
    assert_eq!(t.db.count("outbox WHERE status = 'sent' AND method = 'copyMessage'").await, 20, "each send recorded");

    tokio::time::sleep(Duration::from_secs(3)).await; // the hung call completes at Telegram's end
    t.redeliver().await;
    let relayed = texts_with(&t, operator.id, "m");
    let mut unique = relayed.clone();
    unique.dedup();
    assert_eq!(unique, (0..60).map(|i| format!("m{i}")).collect::<Vec<_>>(), "all, in order");
    assert!(relayed.len() <= 61, "at most the call in flight was repeated: {} copies", relayed.len());
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 0);
}

#[tokio::test]
async fn a_429_is_deferred_with_its_retry_after_instead_of_being_slept_through_under_a_lock() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let calls_before = t.telegram.calls_to("copyMessage").len();
    t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 3 }, 1);
    assert_eq!(t.send(updates::private_text(&customer, "вопрос")).await, Outcome::Processed);
    assert_eq!(t.telegram.calls_to("copyMessage").len() - calls_before, 1, "no retry inside the update");
    let deferred = "SELECT attempts, not_before > now() + interval '1 second' FROM outbox WHERE status = 'pending'";
    let row = t.db.row(deferred, &[]).await;
    assert_eq!((row.get::<_, i32>(0), row.get::<_, bool>(1)), (1, true), "deferred by retry_after");
    assert!(!t.telegram.texts(operator.id).contains(&"вопрос".to_owned()));
}

#[tokio::test]
async fn closing_a_ticket_cancels_its_copies_still_waiting_for_the_operator() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    backlog_for_operator(&t, &customer, 5).await;
    let summary = t.telegram.received(operator.id)[0].message_id;
    t.answer_to(updates::callback(&operator, operator.id, summary, &format!("close:{ticket}"))).await;
    assert_eq!(t.db.count("outbox WHERE method = 'copyMessage' AND status = 'cancelled'").await, 5);
    assert_eq!(t.db.count("ticket_messages WHERE delivered_message_id IS NULL").await, 5, "recorded as not delivered");
    // The operator's close notice is not stuck behind the closed ticket's backlog, and neither is the next dialog.
    assert_eq!(t.telegram.texts(operator.id).last(), Some(&texts::closed_for_operator(ticket)));
    let next = TgUser::customer(2);
    let (second, card) = t.queue_ticket(&next, Topic::Warranty).await;
    t.claim(&operator, second, &card).await;
    t.send(updates::private_text(&next, "новый вопрос")).await;
    assert_eq!(t.telegram.texts(operator.id).last().map(String::as_str), Some("новый вопрос"));
    t.make_outbox_due().await;
    t.redeliver().await;
    assert!(texts_with(&t, operator.id, "m").is_empty(), "nothing of the closed ticket reached the operator");
}

#[tokio::test]
async fn a_failing_copy_is_retried_until_a_day_old_then_its_sender_is_told_it_was_not_delivered() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    backlog_for_operator(&t, &customer, 1).await;
    let client = t.db.client().await;
    // Thirty-five failed attempts in: the old limit of 30 would have given up already.
    client.execute("UPDATE outbox SET attempts = 35, not_before = now() WHERE status = 'pending'", &[]).await.unwrap();
    t.telegram.fail_next("copyMessage", Fault::ServerError, 10);
    t.redeliver().await;
    assert_eq!(t.db.count("outbox WHERE status = 'pending' AND method = 'copyMessage'").await, 1, "still retried");
    assert!(!t.telegram.texts(customer.id).iter().any(|s| s == texts::NOT_DELIVERED));
    // A day later it is given up, and the customer hears that it did not arrive (not "type not supported").
    client
        .execute(
            "UPDATE outbox SET created_at = now() - interval '25 hours', not_before = now() WHERE status = 'pending'",
            &[],
        )
        .await
        .unwrap();
    t.redeliver().await;
    assert_eq!(t.db.count("outbox WHERE status = 'failed' AND method = 'copyMessage'").await, 1);
    assert_eq!(t.telegram.texts(customer.id).last().map(String::as_str), Some(texts::NOT_DELIVERED));
    assert!(!t.telegram.texts(operator.id).contains(&"m0".to_owned()));
}

#[tokio::test]
async fn a_claim_replays_the_newest_fifty_messages_and_lists_the_earlier_ones_in_one_message() {
    let t = spawn_app().await;
    let (customer, operator) = (TgUser::customer(1), TgUser::operator(1));
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    for i in 0..70 {
        t.send(updates::private_text(&customer, &format!("m{i}"))).await;
    }
    t.make_operator(operator.id);
    t.claim(&operator, ticket, &card).await;
    let got = t.telegram.texts(operator.id);
    assert!(got[0].contains("написал 70 сообщений"), "the summary says what comes: {}", got[0]);
    let list = &got[1];
    assert!(list.starts_with(&texts::earlier_messages(20)), "{list}");
    assert!(list.contains("• m0\n") && list.ends_with("• m19"), "{list}");
    let copies: Vec<String> = (20..70).map(|i| format!("m{i}")).collect();
    assert_eq!(got[2..].to_vec(), copies);
    assert_eq!(t.db.count("outbox WHERE method = 'copyMessage'").await, 50);
}

#[tokio::test]
async fn an_update_that_fails_for_good_is_parked_answered_and_never_redelivered() {
    let t = spawn_app().await;
    let (ticket, body) = a_claim_to_post(&t).await;
    // Telegram refuses the operator's summary with a 400: processing the press again would meet it again.
    t.telegram.fail_next("sendMessage", Fault::BadRequest("chat not found".into()), 1);
    let reply = t.post(&body).await;
    assert_eq!((reply.status, reply.body), (200, "parked"));
    let again = t.post(&body).await;
    assert_eq!((again.status, again.body), (200, "duplicate"));
    assert_eq!(t.db.count("dead_letters WHERE kind = 'callback_query' AND attempts = 1").await, 1);
    assert_eq!(t.db.count("dead_letters WHERE error LIKE '%chat not found%'").await, 1, "the error is kept");
    let answer = t.telegram.callback_answers().pop().unwrap();
    assert_eq!((answer.text.as_deref(), answer.show_alert), (Some(texts::UPDATE_FAILED), true));
    assert_eq!(t.ticket_status(ticket).await, (Status::Waiting, None), "nothing half-done");
    let report = zabota_core::maintenance::run_now(&t.app).await;
    let dead = report.iter().find(|r| r.job == "dead_letters").unwrap();
    assert_eq!(dead.affected, Some(1));
    assert!(dead.details.as_ref().unwrap().to_string().contains("chat not found"), "{dead:?}");
}

#[tokio::test]
async fn an_update_failing_transiently_is_parked_only_after_eight_attempts_over_ten_minutes() {
    let t = spawn_app().await;
    let (_, body) = a_claim_to_post(&t).await;
    // getChatMember keeps failing with 500 (the client tries three times per delivery).
    t.telegram.fail_next("getChatMember", Fault::ServerError, 3 * (MAX_UPDATE_ATTEMPTS as usize + 1));
    // A short outage: eight quick failures park nothing.
    for attempt in 1..=MAX_UPDATE_ATTEMPTS {
        let reply = t.post(&body).await;
        assert_eq!(reply.status, 500, "attempt {attempt} asks for a redelivery");
    }
    assert_eq!(t.db.count("dead_letters").await, 0);
    // Ten minutes of failing later, the next failure parks it.
    t.db.execute("UPDATE update_failures SET first_failed_at = now() - interval '11 minutes'").await;
    let reply = t.post(&body).await;
    assert_eq!((reply.status, reply.body), (200, "parked"));
    assert_eq!(t.db.count(&format!("dead_letters WHERE attempts = {}", MAX_UPDATE_ATTEMPTS + 1)).await, 1);
    assert_eq!(t.db.count("update_failures").await, 0);
}

#[tokio::test]
async fn an_operator_keeps_relaying_when_telegram_cannot_say_whether_they_still_are_one() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    expire_membership_checks(&t).await;
    t.telegram.fail_next("getChatMember", Fault::ServerError, 3);
    assert_eq!(t.send(updates::private_text(&operator, "ответ")).await, Outcome::Processed);
    assert_eq!(t.telegram.texts(customer.id).last().map(String::as_str), Some("ответ"), "the last answer stands");
}

#[tokio::test]
async fn database_errors_carry_sqlstate_and_constraint_but_never_row_values() {
    let t = spawn_app().await;
    let client = t.db.client().await;
    client.execute("INSERT INTO users (tg_id, first_name) VALUES (987654321, 'Секретов')", &[]).await.unwrap();
    let e =
        client.execute("INSERT INTO users (tg_id, first_name) VALUES (987654321, 'Секретов')", &[]).await.unwrap_err();
    let text = zabota_core::db::DbError::from(e).to_string();
    assert!(text.contains("SQLSTATE 23505") && text.contains("users_tg_id_key"), "{text}");
    assert!(!text.contains("987654321") && !text.contains("Секретов"), "no row values: {text}");
}

#[tokio::test]
async fn an_operator_removed_from_the_operators_chat_can_no_longer_relay_or_close_and_loses_the_dialog() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    t.send(updates::private_text(&operator, "первый ответ")).await;
    assert_eq!(t.telegram.texts(customer.id).last().map(String::as_str), Some("первый ответ"));
    t.telegram.set_chat_member(OPERATORS_CHAT_ID, operator.id, "kicked");
    // The membership remembered at the claim expires after a minute.
    expire_membership_checks(&t).await;
    t.send(updates::private_text(&operator, "второй ответ")).await;
    assert!(!t.telegram.texts(customer.id).contains(&"второй ответ".to_owned()), "not relayed");
    assert_eq!(t.telegram.texts(operator.id).last(), Some(&texts::operator_gone(ticket)));
    assert_eq!(t.db.count("ticket_messages WHERE sender_type = 'OPERATOR'").await, 1, "not stored as relayed");
    assert_eq!(t.ticket_status(ticket).await, (Status::Waiting, None), "the dialog went back to the queue");
    let summary = t.telegram.received(operator.id)[0].message_id;
    let answer = t.answer_to(updates::callback(&operator, operator.id, summary, &format!("close:{ticket}"))).await;
    assert_eq!(answer.text.as_deref(), Some(texts::ALERT_NOT_YOURS), "no longer theirs");
    assert_eq!(t.ticket_status(ticket).await.0, Status::Waiting);
}

#[tokio::test]
async fn a_file_with_an_untrusted_mime_type_is_sent_back_and_a_refused_upload_is_answered() {
    let (t, _media) = zabota_testkit::spawn_app_with_media_folder().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.add_file("doc1", "u_doc1", b"%PDF-1.4 receipt".to_vec());
    // The customer's client says the MIME type is "pdf": not a MIME type at all.
    t.send(updates::document(&customer, "doc1", "receipt.pdf", "pdf", None)).await;
    let (attachment, _) = t.stored_attachment().await;
    let command = updates::private_text(&operator, &format!("/file {attachment}"));
    let reply = t.post(&t.body_of(&command)).await;
    assert_eq!((reply.status, reply.body), (200, "ok"));
    let sent = t.last(operator.id);
    assert_eq!(
        (sent.method.as_str(), sent.params["document"]["filename"].as_str()),
        ("sendDocument", Some("receipt.pdf"))
    );
    // Telegram refusing the upload is told to the operator, and the update is done with.
    t.telegram.fail_next("sendDocument", Fault::BadRequest("file is empty".into()), 1);
    t.send(updates::private_text(&operator, &format!("/file {attachment}"))).await;
    let refused = t.last(operator.id).text.unwrap();
    assert!(refused.starts_with(&format!("Не удалось отправить файл #{attachment}")), "{refused}");
    assert!(!t.telegram.texts(customer.id).iter().any(|s| s.starts_with("/file")));
}

#[tokio::test]
async fn a_stuck_conversation_lock_is_a_500_after_the_lock_timeout_not_a_hung_invocation() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    // Something holds the customer's conversation (a stuck transaction elsewhere).
    let mut holder = t.db.client().await;
    let stuck = hold_lock(&mut holder, "conv", customer.id).await;
    let body = t.body_of(&updates::command(&customer, "/start"));
    let reply = t.post(&body).await;
    assert_eq!(reply.status, 500, "lock_timeout turned the wait into a redelivery");
    let failure = t.db.row("SELECT last_error FROM update_failures", &[]).await;
    assert!(failure.get::<_, String>(0).contains("55P03"), "lock_not_available is recorded");
    stuck.rollback().await.unwrap();
    let again = t.post(&body).await;
    assert_eq!((again.status, again.body), (200, "ok"));
    assert_eq!(t.telegram.texts(customer.id), vec![zabota_testkit::shipped::greeting()]);
}

#[tokio::test]
async fn a_blocked_chat_whose_handling_failed_is_handled_by_the_next_maintenance_run() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.block_chat(customer.id);
    // The customer's conversation is held elsewhere when the 403 comes: its handling fails (lock timeout).
    let mut holder = t.db.client().await;
    let stuck = hold_lock(&mut holder, "conv", customer.id).await;
    t.send(updates::private_text(&operator, "вы тут?")).await;
    assert_eq!(t.ticket_status(ticket).await.0, Status::Assigned, "the handling did not happen");
    assert_eq!(t.db.count("blocked_chats WHERE handled_at IS NULL").await, 1, "but it is remembered");
    stuck.rollback().await.unwrap();
    zabota_core::maintenance::run_now(&t.app).await;
    assert_eq!(t.ticket_status(ticket).await.0, Status::Closed);
    assert_eq!(t.telegram.texts(operator.id).last(), Some(&texts::customer_blocked(ticket)));
    assert_eq!(t.db.count("blocked_chats WHERE handled_at IS NOT NULL").await, 1);
}

#[tokio::test]
async fn a_run_whose_redelivery_runs_out_of_time_still_gives_every_later_job_its_turn() {
    let (t, operator) = due_backlog(300).await;
    // Every copy takes 20 ms: 300 of them do not fit in the redelivery's half of a two-second run.
    t.telegram.set_fault_rate("copyMessage", 1.0, Fault::Delay(Duration::from_millis(20)));
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let reports = zabota_core::maintenance::run_all_until(
        &t.app,
        chrono::Utc::now(),
        deadline,
        zabota_core::maintenance::Due::Now,
    )
    .await;
    let report = |job: &str| reports.iter().find(|r| r.job == job).unwrap().clone();
    let redelivery = report("outbox_redelivery");
    assert!(redelivery.out_of_time, "{redelivery:?}");
    let sent = redelivery.affected.unwrap();
    assert!(sent > 0 && sent < 300, "part of the backlog went out: {sent}");
    for job in ["media_archive", "retention", "dead_letters"] {
        let later = report(job);
        assert!(later.error.is_none() && later.affected.is_some(), "{job} had its turn: {later:?}");
    }
    assert_eq!(texts_with(&t, operator.id, "m").len() as u64, sent);
}
