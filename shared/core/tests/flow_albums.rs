//! Albums travel as albums: the parts of a media group, arriving as separate (possibly concurrent, shuffled or
//! redelivered) updates, are gathered in PostgreSQL and reach the other side as one copyMessages call, whole and
//! in the sender's order.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use zabota_core::App;
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_core::webhook;
use zabota_testkit::{Dialog, Fault, Received, TestApp, WEBHOOK_SECRET, spawn_app, updates};

/// The photos `chat` received, as (file id, album, method), in order.
fn photos(t: &TestApp, chat: i64) -> Vec<(String, Option<String>, String)> {
    t.telegram
        .received(chat)
        .into_iter()
        .filter_map(|m: Received| {
            let id = t.telegram.photo_file_id(chat, m.message_id)?;
            Some((id, m.media_group_id.clone(), m.method.clone()))
        })
        .collect()
}

/// The same album as one album: every part, in order, one call, one media group.
fn assert_one_album(got: &[(String, Option<String>, String)], group: &str, parts: usize) {
    let ids: Vec<String> = got.iter().map(|(id, ..)| id.clone()).collect();
    let want: Vec<String> = (1..=parts).map(|k| format!("{group}_{k}")).collect();
    assert_eq!(ids, want, "every part once, in the sender's order");
    assert!(got.iter().all(|(_, album, method)| album.is_some() && method == "copyMessages"), "{got:#?}");
    assert!(got.windows(2).all(|w| w[0].1 == w[1].1), "one album: {got:#?}");
}

/// Sends `parts` at once, in the order given (as a webhook under load receives them).
async fn at_once(t: &TestApp, parts: &[Value]) {
    join_all(parts.iter().map(|p| t.send(p.clone()))).await;
}

#[tokio::test]
async fn an_album_sent_at_once_and_shuffled_arrives_as_one_album_in_order_both_ways() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Warranty).await;
    let mut parts = updates::album(&customer, "chek", 4, Some("Чеки"));
    parts.swap(0, 3);
    parts.swap(1, 2);
    at_once(&t, &parts).await;
    let got = photos(&t, operator.id);
    assert_one_album(&got, "chek", 4);
    let first = t.telegram.received(operator.id).into_iter().find(|m| m.method == "copyMessages").unwrap();
    assert_eq!(first.caption.as_deref(), Some("Чеки"), "the caption stays with its part");
    assert_eq!(t.telegram.calls_to("copyMessages").len(), 1, "one call for the album");
    assert_eq!(
        t.db.count("ticket_messages WHERE media_group_id = 'chek' AND delivered_message_id IS NOT NULL").await,
        4
    );

    let back = updates::album(&operator, "schema", 2, None);
    at_once(&t, &back).await;
    assert_one_album(&photos(&t, customer.id), "schema", 2);
}

#[tokio::test]
async fn a_redelivered_part_is_stored_and_sent_once_and_a_single_part_album_goes_after_the_wait() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let parts = updates::album(&customer, "foto", 3, None);
    let with_repeats = [parts.clone(), vec![parts[1].clone(), parts[0].clone()]].concat();
    at_once(&t, &with_repeats).await;
    assert_one_album(&photos(&t, operator.id), "foto", 3);
    assert_eq!(t.db.count("ticket_messages WHERE media_group_id = 'foto'").await, 3);

    // One part alone: its handler returns once the album went out (the wait is bounded by ALBUM_MAX_WAIT).
    let alone = updates::album(&customer, "odin", 1, Some("Одно фото"));
    t.send(alone[0].clone()).await;
    assert_one_album(&photos(&t, operator.id)[3..], "odin", 1);
    let bound = t
        .db
        .row(
            "SELECT bool_and(not_before - created_at <= interval '3 seconds') FROM outbox WHERE method = 'copyMessages'",
            &[],
        )
        .await;
    assert!(bound.get::<_, bool>(0), "no album waits past ALBUM_MAX_WAIT after its first part");
}

#[tokio::test]
async fn a_part_telegram_cannot_copy_leaves_the_others_and_its_sender_is_told() {
    let mut t = spawn_app().await;
    // Long polling: updates one after another, the album sent by the outbox loop once its wait is over.
    t.app.concurrent_updates = false;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let parts = updates::album(&customer, "tri", 3, None);
    for part in &parts {
        t.send(part.clone()).await;
    }
    assert!(photos(&t, operator.id).is_empty(), "gathered, not sent part by part");
    // The customer deleted the second photo before the album went out: Telegram skips it.
    t.telegram.delete(customer.id, parts[1]["message"]["message_id"].as_i64().unwrap());
    t.make_outbox_due().await;
    t.redeliver().await;
    t.make_outbox_due().await;
    t.redeliver().await;
    let got: Vec<String> = photos(&t, operator.id).into_iter().map(|(id, ..)| id).collect();
    assert_eq!(got, ["tri_1", "tri_3"]);
    assert_eq!(t.last(customer.id).text, Some(texts::album_parts_lost(1, 3)));
    let undelivered = t.db.count("ticket_messages WHERE delivered_message_id IS NULL").await;
    assert_eq!(undelivered, 0, "no part is replayed to a later operator twice");
}

/// Posts an update as Telegram does: again until it is answered 200 (only a 500 asks for that).
async fn post_until_accepted(app: &App, body: &[u8]) {
    for _ in 0..500 {
        let reply = webhook::handle(app, Some(WEBHOOK_SECRET.as_bytes()), body).await;
        if reply.status == 200 {
            return;
        }
        assert_eq!(reply.status, 500, "{reply:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("an update was never accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_ten_part_albums_shuffled_redelivered_and_failing_each_arrive_once_whole_and_in_order() {
    const DIALOGS: i64 = 50;
    const PARTS: usize = 10;
    const SENDERS: usize = 16;
    // 500 parts within seconds: the point is that albums stay whole, not the pace (see tests/limits.rs).
    let t = zabota_testkit::spawn_app_without_limits().await;
    let dialogs = t.open_dialogs(DIALOGS, Topic::Warranty).await;
    t.telegram.set_fault_rate("*", 0.1, Fault::ServerError);
    let mut rng = fastrand::Rng::with_seed(13);
    // Sender s sends the albums of dialogs s, s + 16, …: each album's parts at once, shuffled, a fifth of them
    // twice (the second delivery among the others or after them).
    let mut streams: Vec<Vec<Vec<Vec<u8>>>> = vec![Vec::new(); SENDERS];
    for (d, dialog) in dialogs.iter().enumerate() {
        let mut parts: Vec<Vec<u8>> = updates::album(&dialog.customer, &format!("a{d}"), PARTS, Some("альбом"))
            .iter()
            .map(|u| t.body_of(u))
            .collect();
        let twice: Vec<Vec<u8>> = parts.iter().filter(|_| rng.usize(..5) == 0).cloned().collect();
        parts.extend(twice);
        rng.shuffle(&mut parts);
        streams[d % SENDERS].push(parts);
    }
    let app = &t.app;
    let senders = streams.into_iter().map(|albums| async move {
        for parts in albums {
            join_all(parts.iter().map(|body| post_until_accepted(app, body))).await;
        }
    });
    join_all(senders).await;
    t.telegram.set_fault_rate("*", 0.0, Fault::ServerError);
    let attempts = t.telegram.calls_to("copyMessages").len();
    assert!(attempts > DIALOGS as usize, "some album copies met a 500 and were made again ({attempts} calls)");
    for _ in 0..50 {
        if t.db.count("outbox WHERE status = 'pending'").await == 0 {
            break;
        }
        t.make_outbox_due().await;
        t.redeliver().await;
    }
    for (d, dialog) in dialogs.iter().enumerate() {
        assert_one_album(&photos(&t, dialog.operator.id), &format!("a{d}"), PARTS);
    }
    assert_eq!(t.db.count("ticket_messages").await, DIALOGS * PARTS as i64);
    assert_eq!(t.db.count("ticket_messages WHERE delivered_message_id IS NULL").await, 0);
    assert_eq!(t.db.count("outbox WHERE status <> 'sent'").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_comes_while_its_album_is_being_sent_arrives_in_an_album_of_its_own() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let parts = updates::album(&customer, "late", 3, None);
    // The album's copy is held half a second at Telegram; the third part comes in the middle of it.
    t.telegram.fail_next("copyMessages", Fault::Delay(Duration::from_millis(600)), 1);
    let late = async {
        while t.telegram.calls_to("copyMessages").is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        t.send(parts[2].clone()).await;
    };
    tokio::join!(at_once(&t, &parts[..2]), late);
    let got: Vec<String> = photos(&t, operator.id).into_iter().map(|(id, ..)| id).collect();
    assert_eq!(got, ["late_1", "late_2", "late_3"], "nothing lost, nothing twice, in order");
    assert_eq!(t.telegram.calls_to("copyMessages").len(), 2, "the late part went in a second album");
    assert_eq!(t.db.count("ticket_messages WHERE delivered_message_id IS NULL").await, 0);
    assert_eq!(t.db.count("outbox WHERE status <> 'sent'").await, 0);
}

#[tokio::test]
async fn an_album_waiting_for_an_operator_who_hands_the_dialog_over_goes_to_the_next_one() {
    let mut t = spawn_app().await;
    t.app.concurrent_updates = false; // the album stays in the outbox until the redelivery
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    for part in updates::album(&customer, "pere", 3, None) {
        t.send(part).await;
    }
    t.send(updates::private_text(&operator, "/transfer")).await;
    assert_eq!(t.db.count("outbox WHERE method = 'copyMessages' AND status = 'cancelled'").await, 1);
    let colleague = zabota_testkit::TgUser::operator(2);
    t.make_operator(colleague.id);
    t.claim(&colleague, ticket, &t.newest_live_card(ticket)).await;
    t.make_outbox_due().await;
    t.redeliver().await;
    assert!(photos(&t, operator.id).is_empty(), "the first operator no longer has the dialog");
    assert_one_album(&photos(&t, colleague.id), "pere", 3);
}

#[tokio::test]
async fn an_album_telegram_refuses_is_reported_to_its_sender() {
    let mut t = spawn_app().await;
    t.app.concurrent_updates = false;
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Return).await;
    for part in updates::album(&customer, "net", 2, None) {
        t.send(part).await;
    }
    t.telegram.fail_next("copyMessages", Fault::BadRequest("Bad Request: MEDIA_INVALID".into()), 1);
    t.make_outbox_due().await;
    t.redeliver().await;
    t.redeliver().await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::UNSUPPORTED_CONTENT));
}

#[tokio::test]
async fn an_edited_caption_of_an_album_part_edits_that_parts_copy() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let parts = updates::album(&customer, "ed", 2, Some("Первое"));
    at_once(&t, &parts).await;
    let copies: Vec<Received> =
        t.telegram.received(operator.id).into_iter().filter(|m| m.method == "copyMessages").collect();
    let photo = parts[1]["message"]["photo"].clone();
    t.send(updates::edited(&parts[1], serde_json::json!({ "photo": photo, "caption": "Второе" }), 4)).await;
    let now: Vec<Option<String>> = t
        .telegram
        .received(operator.id)
        .into_iter()
        .filter(|m| m.method == "copyMessages")
        .map(|m| m.caption)
        .collect();
    assert_eq!(now, [Some("Первое".to_owned()), Some("Второе".to_owned())], "{copies:#?}");
}
