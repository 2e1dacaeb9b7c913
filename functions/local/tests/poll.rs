//! Long polling against the emulator: offsets are confirmed only after processing; failures are fetched again.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::domain::Topic;
use zabota_local::poll::poll_once;
use zabota_testkit::{TgUser, spawn_app, updates};

#[tokio::test]
async fn updates_are_processed_in_order_and_confirmed_only_afterwards() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            let update = updates::private_text(&customer, &format!("message {i}"));
            let id = update["update_id"].as_i64().unwrap();
            t.telegram.push_update(update);
            id
        })
        .collect();

    let round = poll_once(&t.app, None, 0).await.unwrap();
    assert_eq!(round.handled, 3);
    assert_eq!(round.next_offset, Some(ids[2] + 1));
    assert_eq!(t.db.count("processed_updates").await, 3);
    assert_eq!(t.telegram.pending_updates(), 3, "not confirmed until the next getUpdates carries the offset");

    let next = poll_once(&t.app, round.next_offset, 0).await.unwrap();
    assert_eq!(next.handled, 0);
    assert_eq!(t.telegram.pending_updates(), 0);
}

#[tokio::test]
async fn a_malformed_update_is_skipped_and_the_rest_processed() {
    let t = spawn_app().await;
    t.telegram.push_update(serde_json::json!({ "update_id": 1, "message": "not an object" }));
    t.telegram.push_update(updates::with_update_id(updates::command(&TgUser::customer(1), "/start"), 2));
    let round = poll_once(&t.app, None, 0).await.unwrap();
    assert_eq!((round.handled, round.malformed, round.next_offset), (1, 1, Some(3)));
    assert_eq!(t.db.count("processed_updates").await, 1);
}

#[tokio::test]
async fn a_database_outage_stalls_polling_without_confirming_the_update() {
    let mut t = spawn_app().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("postgres://postgres@{}/nowhere", closed.local_addr().unwrap());
    drop(closed);
    let good = t.app.db.clone();
    t.app.db = zabota_core::db::build_pool(
        &zabota_core::config::DatabaseConfig { url: dead.into(), ca_file: None, allow_plaintext: false },
        1,
    )
    .unwrap();
    t.telegram.push_update(updates::with_update_id(updates::command(&TgUser::customer(1), "/start"), 40));

    let round = poll_once(&t.app, None, 0).await.unwrap();
    assert!(round.stalled);
    assert_eq!(round.next_offset, None);

    t.app.db = good;
    let round = poll_once(&t.app, round.next_offset, 0).await.unwrap();
    assert_eq!((round.handled, round.next_offset), (1, Some(41)));
    assert_eq!(t.db.count("processed_updates").await, 1);
}

#[tokio::test]
async fn a_long_poll_wakes_up_when_an_update_arrives() {
    let t = spawn_app().await;
    let emulator = t.telegram.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        emulator.push_update(updates::command(&TgUser::customer(2), "/start"));
    });
    let round = poll_once(&t.app, None, 10).await.unwrap();
    assert_eq!(round.handled, 1);
}

#[tokio::test]
async fn an_update_that_fails_for_good_is_parked_and_polling_moves_on() {
    let t = spawn_app().await;
    let (customer, operator) = (TgUser::customer(1), TgUser::operator(1));
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    t.make_operator(operator.id);
    // The claim's summary is refused with a 400 every time: handling that press again would fail again.
    t.telegram.fail_next("sendMessage", zabota_testkit::Fault::BadRequest("chat not found".into()), 1);
    let press =
        updates::callback(&operator, zabota_testkit::OPERATORS_CHAT_ID, card.message_id, &format!("claim:{ticket}"));
    let press_id = press["update_id"].as_i64().unwrap();
    t.telegram.push_update(press);
    let after = updates::private_text(&customer, "я ещё жду");
    let after_id = after["update_id"].as_i64().unwrap();
    t.telegram.push_update(after);

    let round = poll_once(&t.app, None, 0).await.unwrap();
    assert!(!round.stalled, "{round:?}");
    assert_eq!((round.handled, round.next_offset), (2, Some(after_id + 1)));
    assert_eq!(t.db.count(&format!("dead_letters WHERE update_id = {press_id}")).await, 1);
    assert_eq!(t.db.count("ticket_messages").await, 1, "the update after it was processed");
}

#[tokio::test]
async fn polling_relays_replies_edits_reactions_and_albums() {
    let mut t = spawn_app().await;
    t.app.concurrent_updates = false; // as `zabota poll` runs
    let d = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&d.customer, "Вопрос");
    t.telegram.push_update(question.clone());
    let mut offset = poll_once(&t.app, None, 0).await.unwrap().next_offset;
    let copy = t.last(d.operator.id);
    let reply = updates::reply_text(&d.operator, copy.message_id, "Ответ", None);
    let edit = updates::edited(&question, serde_json::json!({ "text": "Уточнённый вопрос" }), 5);
    let reaction = updates::reaction(&d.operator, copy.message_id, Some("👍"));
    let album = updates::album(&d.customer, "pa", 3, None);
    for update in [reply, edit, reaction].into_iter().chain(album) {
        t.telegram.push_update(update);
    }
    offset = poll_once(&t.app, offset, 0).await.unwrap().next_offset;
    poll_once(&t.app, offset, 0).await.unwrap();
    // The outbox loop sends the album once its wait is over.
    t.make_outbox_due().await;
    t.redeliver().await;

    let question_id = question["message"]["message_id"].as_i64().unwrap();
    let answer = t.telegram.received(d.customer.id).into_iter().find(|m| m.text.as_deref() == Some("Ответ")).unwrap();
    assert_eq!(answer.reply_to_message_id, Some(question_id));
    let copy_now = t.telegram.received(d.operator.id).into_iter().find(|m| m.message_id == copy.message_id).unwrap();
    assert_eq!(copy_now.text.as_deref(), Some("Уточнённый вопрос"));
    assert_eq!(t.telegram.reaction(d.customer.id, question_id), ["👍"], "message_reaction is asked for and relayed");
    let album: Vec<_> = t.telegram.received(d.operator.id).into_iter().filter(|m| m.method == "copyMessages").collect();
    assert_eq!(album.len(), 3);
    assert!(album.iter().all(|m| m.media_group_id.is_some() && m.media_group_id == album[0].media_group_id));
    assert_eq!(t.telegram.calls_to("copyMessages").len(), 1);
}
