//! The fault suite: redelivered and shuffled updates from concurrent senders, claim storms, Bot API failures,
//! a PostgreSQL restart mid-run and hostile input, all through the webhook entry point the Lambda uses.
//! All run in `make test` (the full-size ones take about half a minute); `make test-faults` runs this file alone.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use tokio::sync::{Mutex, RwLock};
use zabota_core::App;
use zabota_core::db::tickets::Status;
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_core::webhook::{self, MAX_BODY_BYTES};
use zabota_testkit::{
    Cluster, Dialog, Fault, TestApp, TestDb, TgUser, WEBHOOK_SECRET, claim_press, hold_lock, spawn_app, spawn_app_on,
    updates,
};

/// Posts an update as Telegram does: again (after a pause) until it is answered 200. Only 500 may ask for a
/// redelivery. Returns the final body ("ok", "duplicate", "ignored") and how many 500s came first.
async fn post_until_accepted(app: &App, body: &[u8], gate: Option<&RwLock<()>>) -> (&'static str, usize) {
    for failures in 0..1500 {
        let reply = {
            let _attempt = match gate {
                Some(gate) => Some(gate.read().await),
                None => None,
            };
            webhook::handle(app, Some(WEBHOOK_SECRET.as_bytes()), body).await
        };
        if reply.status == 200 {
            return (reply.body, failures);
        }
        assert_eq!(reply.status, 500, "only a 500 asks Telegram to redeliver: {reply:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("an update was never accepted");
}

fn customer_text(d: usize, k: usize) -> String {
    format!("c{d}-{k}")
}

fn operator_text(d: usize, k: usize) -> String {
    format!("o{d}-{k}")
}

#[derive(Default)]
struct Replay {
    /// Updates posted for the first time.
    originals: usize,
    /// Second deliveries of accepted updates, and how many of them were answered "duplicate".
    redelivered: usize,
    duplicates: usize,
    /// 500s seen before an update was accepted.
    failures: usize,
}

/// One chat's updates in order, each with whether it is delivered a second time.
type Chat = Vec<(Vec<u8>, bool)>;

struct Plan {
    per_side: usize,
    senders: usize,
    /// One update in `redeliver_one_in` (rounded up) is delivered a second time.
    redeliver_one_in: usize,
    seed: u64,
    /// Held for reading during each attempt; a writer holds back every sender (to stop the database between
    /// updates, not in the middle of one).
    gate: Option<Arc<RwLock<()>>>,
}

/// Every customer and operator writes `per_side` messages, in order. Each chat's messages are sent by one of
/// `senders` concurrent tasks (the two sides of a dialog by different ones). One accepted update in
/// `redeliver_one_in` is delivered again later, at a random moment, by a random sender, as Telegram does when it
/// missed an answer. Which updates come twice, and how many, is drawn from the seed before anything is sent, so
/// the count does not depend on the senders' timing: exactly `originals.div_ceil(redeliver_one_in)`.
async fn replay(t: &TestApp, dialogs: &[Dialog], plan: Plan) -> Replay {
    let app = &t.app;
    let total = dialogs.len() * 2 * plan.per_side;
    let mut twice = vec![false; total];
    twice[..total.div_ceil(plan.redeliver_one_in)].fill(true);
    fastrand::Rng::with_seed(plan.seed).shuffle(&mut twice);
    let mut twice = twice.into_iter();
    let mut chats: Vec<Chat> = Vec::new();
    for (d, dialog) in dialogs.iter().enumerate() {
        let customer = (0..plan.per_side).map(|k| updates::private_text(&dialog.customer, &customer_text(d, k)));
        chats.push(customer.map(|u| (t.body_of(&u), twice.next().unwrap())).collect());
        let operator = (0..plan.per_side).map(|k| updates::private_text(&dialog.operator, &operator_text(d, k)));
        chats.push(operator.map(|u| (t.body_of(&u), twice.next().unwrap())).collect());
    }
    let mut streams: Vec<Vec<Chat>> = vec![Vec::new(); plan.senders];
    for (i, chat) in chats.into_iter().enumerate() {
        // Customer d goes to sender d, operator d to sender d + 7: the sides of a dialog run concurrently.
        let sender = if i % 2 == 0 { i / 2 } else { i / 2 + 7 } % plan.senders;
        streams[sender].push(chat);
    }
    let pool: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let gate = plan.gate.clone();
    let tasks = streams.into_iter().enumerate().map(|(s, mut chats)| {
        let (pool, gate) = (pool.clone(), gate.clone());
        async move {
            // The order is the seed's alone; the moments of redeliveries depend on what the pool holds by then.
            let mut order = fastrand::Rng::with_seed(plan.seed + s as u64);
            let mut moments = order.fork();
            let mut stats = Replay::default();
            // Interleave this sender's chats at random, each chat in its own order.
            chats.iter_mut().for_each(|c| c.reverse());
            while chats.iter().any(|c| !c.is_empty()) {
                let live: Vec<usize> = (0..chats.len()).filter(|&i| !chats[i].is_empty()).collect();
                let (body, twice) = chats[live[order.usize(..live.len())]].pop().unwrap();
                let again = {
                    let mut pool = pool.lock().await;
                    let now = moments.usize(..plan.redeliver_one_in) == 0;
                    (now && !pool.is_empty()).then(|| {
                        let i = moments.usize(..pool.len());
                        pool.swap_remove(i)
                    })
                };
                if let Some(again) = again {
                    let (answer, failures) = post_until_accepted(app, &again, gate.as_deref()).await;
                    stats.redelivered += 1;
                    stats.duplicates += usize::from(answer == "duplicate");
                    stats.failures += failures;
                }
                let (answer, failures) = post_until_accepted(app, &body, gate.as_deref()).await;
                assert_eq!(answer, "ok");
                stats.originals += 1;
                stats.failures += failures;
                if twice {
                    pool.lock().await.push(body);
                }
            }
            stats
        }
    });
    let mut total = Replay::default();
    for stats in join_all(tasks).await {
        total.originals += stats.originals;
        total.redelivered += stats.redelivered;
        total.duplicates += stats.duplicates;
        total.failures += stats.failures;
    }
    // What is left to redeliver arrives at once, from everywhere.
    let left: Vec<Vec<u8>> = std::mem::take(&mut *pool.lock().await);
    for (answer, failures) in join_all(left.iter().map(|b| post_until_accepted(app, b, None))).await {
        total.redelivered += 1;
        total.duplicates += usize::from(answer == "duplicate");
        total.failures += failures;
    }
    total
}

/// Sends whatever the outbox still holds (as the maintenance job would, its waits cut short).
async fn drain_outbox(t: &TestApp) {
    for _ in 0..50 {
        t.make_outbox_due().await;
        t.redeliver().await;
        if t.db.count("outbox WHERE status = 'pending'").await == 0 {
            return;
        }
    }
    panic!("the outbox never drained");
}

/// Each chat got the other side's messages exactly once and in order, nothing from other dialogs, and the
/// history holds every message once.
async fn assert_delivered_once_in_order(t: &TestApp, dialogs: &[Dialog], per_side: usize) {
    let relayed = |chat: i64, prefix: char| -> Vec<String> {
        t.telegram.texts(chat).into_iter().filter(|s| s.starts_with(prefix) && s.contains('-')).collect()
    };
    for (d, dialog) in dialogs.iter().enumerate() {
        let to_operator: Vec<String> = (0..per_side).map(|k| customer_text(d, k)).collect();
        let to_customer: Vec<String> = (0..per_side).map(|k| operator_text(d, k)).collect();
        assert_eq!(relayed(dialog.operator.id, 'c'), to_operator, "operator of dialog {d}");
        assert_eq!(relayed(dialog.customer.id, 'o'), to_customer, "customer of dialog {d}");
    }
    let messages = (dialogs.len() * 2 * per_side) as i64;
    assert_eq!(t.db.count("ticket_messages").await, messages);
    assert_eq!(t.db.count("ticket_messages WHERE delivered_message_id IS NULL").await, 0);
    assert_eq!(t.db.count("outbox WHERE status <> 'sent'").await, 0);
}

async fn redelivered_and_shuffled(dialog_count: i64, per_side: usize, bot_api_faults: bool) {
    let t = spawn_app().await;
    let all = t.open_dialogs(dialog_count, Topic::Return).await;
    let updates_before = t.db.count("processed_updates").await;
    if bot_api_faults {
        t.telegram.set_fault_rate("*", 0.1, Fault::ServerError);
        // A long retry_after: the call is deferred in the outbox and the chat's later calls wait behind it.
        t.telegram.set_fault_rate("copyMessage", 0.1, Fault::TooManyRequests { retry_after: 30 });
    }
    let plan = Plan { per_side, senders: 16, redeliver_one_in: 5, seed: 7, gate: None };
    let replay = replay(&t, &all, plan).await;
    if bot_api_faults {
        t.telegram.set_fault_rate("*", 0.0, Fault::ServerError);
        t.telegram.set_fault_rate("copyMessage", 0.0, Fault::ServerError);
        let deferred = t.db.count("outbox WHERE status = 'pending'").await;
        assert!(deferred > 0, "some calls were deferred by the failures");
        drain_outbox(&t).await;
    }
    assert_eq!(replay.originals, all.len() * 2 * per_side);
    // A fifth, rounded up: the replay draws exactly that many redeliveries (see `replay`), so no tolerance.
    assert!(replay.redelivered * 5 >= replay.originals, "a fifth redelivered: {}", replay.redelivered);
    assert_eq!(replay.redelivered, replay.originals.div_ceil(5), "a fifth redelivered, no more");
    assert_eq!(replay.duplicates, replay.redelivered, "every redelivery was recognised");
    assert_eq!(t.db.count("processed_updates").await - updates_before, replay.originals as i64);
    assert_delivered_once_in_order(&t, &all, per_side).await;
}

#[tokio::test]
async fn a_fifth_of_updates_redelivered_and_shuffled_across_16_senders_arrive_once_in_order() {
    redelivered_and_shuffled(16, 6, false).await;
}

#[tokio::test]
async fn full_size_redelivery_and_shuffle_with_bot_api_failures_on_a_tenth_of_calls() {
    redelivered_and_shuffled(16, 30, true).await;
}

/// Every operator presses every card at once (in a shuffled order, pressed again on a 500).
async fn claim_storm(operators: i64, tickets: i64) {
    // Races on cards: the operators' chat's budget lifted, so twenty tickets in a moment all get cards (the queue
    // board's races are in board.rs).
    let t = zabota_testkit::spawn_app_without_limits().await;
    let mut cards = Vec::new();
    for c in 1..=tickets {
        cards.push(t.queue_ticket(&TgUser::customer(c), Topic::Warranty).await);
    }
    let operators: Vec<TgUser> = (1..=operators).map(TgUser::operator).collect();
    for op in &operators {
        t.make_operator(op.id);
    }
    let mut presses: Vec<Vec<u8>> = Vec::new();
    for (ticket, card) in &cards {
        for op in &operators {
            presses.push(serde_json::to_vec(&claim_press(op, *ticket, card)).unwrap());
        }
    }
    fastrand::Rng::with_seed(11).shuffle(&mut presses);
    let answers_before = t.telegram.callback_answers().len();
    let results = join_all(presses.iter().map(|p| post_until_accepted(&t.app, p, None))).await;

    assert!(results.iter().all(|(answer, _)| *answer == "ok"));
    // On a loaded machine a winner's follow-ups (the customer's «Оператор подключился») may outlast its update's
    // delivery budget and wait in the outbox: the redelivery sends them, once.
    t.make_outbox_due().await;
    t.redeliver().await;

    let mut winners = HashSet::new();
    for (c, (ticket, _)) in cards.iter().enumerate() {
        let (status, operator) = t.ticket_status(*ticket).await;
        assert_eq!(status, Status::Assigned, "ticket {ticket}");
        let operator = operator.unwrap();
        assert!(winners.insert(operator), "operator {operator} won two tickets");
        let customer = TgUser::customer(c as i64 + 1);
        let connected = t.telegram.texts(customer.id).iter().filter(|s| *s == texts::OPERATOR_CONNECTED).count();
        assert_eq!(connected, 1, "customer of ticket {ticket} was told once");
    }
    assert_eq!(winners.len(), cards.len());
    // Every press was answered exactly once; each winner got one summary, the others none.
    assert_eq!(t.telegram.callback_answers().len() - answers_before, presses.len());
    for op in &operators {
        let summaries = t.telegram.received(op.id).iter().filter(|m| m.inline_keyboard().is_some()).count();
        assert_eq!(summaries, usize::from(winners.contains(&op.id)), "operator {}", op.id);
    }
}

#[tokio::test]
async fn ten_operators_pressing_three_cards_at_once_make_one_winner_per_card() {
    claim_storm(10, 3).await;
}

#[tokio::test]
async fn fifty_operators_pressing_twenty_cards_at_once_make_one_winner_per_card() {
    claim_storm(50, 20).await;
}

#[tokio::test]
async fn a_postgresql_restart_mid_run_gets_500s_and_then_nothing_is_lost_or_duplicated() {
    let cluster = Cluster::start().await;
    let t = spawn_app_on(TestDb::on(&cluster.url("postgres")).await).await;
    let all = t.open_dialogs(4, Topic::Return).await;
    let per_side = 20;
    let gate: Arc<RwLock<()>> = Arc::default();
    let done = AtomicBool::new(false);
    let restarter = async {
        // A third of the way in, between two attempts, the server goes down for a while.
        while t.telegram.calls_to("copyMessage").len() < per_side * 8 / 3 && !done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        {
            let _no_attempt_in_flight = gate.write().await;
            cluster.stop().await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cluster.start_again().await;
    };
    let plan = Plan { per_side, senders: 8, redeliver_one_in: 5, seed: 3, gate: Some(gate.clone()) };
    let replaying = async {
        let replay = replay(&t, &all, plan).await;
        done.store(true, Ordering::SeqCst);
        replay
    };
    let (replay, ()) = tokio::join!(replaying, restarter);
    assert!(replay.failures > 0, "the webhook answered 500 while the database was down");
    assert_eq!(replay.duplicates, replay.redelivered);
    assert_delivered_once_in_order(&t, &all, per_side).await;
}

// ---- Hostile and unusual input ------------------------------------------------------------------------------

async fn post(t: &TestApp, secret: Option<&str>, body: &[u8]) -> (u16, &'static str) {
    let reply = webhook::handle(&t.app, secret.map(str::as_bytes), body).await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn hostile_bodies_get_defined_statuses_and_store_nothing() {
    let t = spawn_app().await;
    let good = serde_json::to_vec(&updates::command(&TgUser::customer(1), "/start")).unwrap();
    let forged = format!("{WEBHOOK_SECRET}x");
    assert_eq!(post(&t, Some(&forged), &good).await.0, 401);
    assert_eq!(post(&t, Some(""), &good).await.0, 401);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(Vec<u8>, (u16, &str))> = vec![
        (deep.into_bytes(), (200, "ignored")),
        (b"\xff\xfe{\"update_id\": 1}".to_vec(), (200, "ignored")),
        (br#"{"update_id": 5, "message": {"text": "\ud800"}}"#.to_vec(), (200, "ignored")),
        (br#"{"update_id": 6, "message": "not an object"}"#.to_vec(), (200, "ignored")),
        (br#"{"update_id": 7, "business_message": {"message_id": 1}}"#.to_vec(), (200, "ignored")),
        (br#"{"update_id": 99999999999999999999999}"#.to_vec(), (200, "ignored")),
        (vec![b'{'; MAX_BODY_BYTES + 1], (413, "payload too large")),
    ];
    for (body, expected) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        let (status, answer) = post(&t, Some(WEBHOOK_SECRET), &body).await;
        assert_eq!(status, expected.0, "{shown}");
        if status == 200 {
            assert_eq!(answer, expected.1, "{shown}");
        }
    }
    assert_eq!(t.db.count("processed_updates").await, 0);
    assert_eq!(t.db.count("users").await, 0);
    assert!(t.telegram.calls().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn long_texts_long_captions_and_unusual_unicode_are_relayed_and_stored_intact() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = &t.open_dialog(1, Topic::Return).await;
    let longest = "Я".repeat(4096);
    let unusual = [
        longest.clone(),
        "👩‍👩‍👧‍👦 семья 🇷🇺 флаг 🏳️‍🌈".to_owned(),
        "\u{202E}txt.exe\u{202C} \u{200B}\u{200D}\u{FEFF} zero-width".to_owned(),
        "Z̷̢̛a̴l̵g̸o̶ и 𝕳𝖊𝖑𝖑𝖔 и 𠜎𠜱".to_owned(),
        "שלום مرحبا Ελληνικά ქართული".to_owned(),
        "tab\tnew\nline\r\n и \\ \" ' ; DROP TABLE tickets; --".to_owned(),
    ];
    for text in &unusual {
        assert_eq!(
            post(&t, Some(WEBHOOK_SECRET), &t.body_of(&updates::private_text(customer, text))).await,
            (200, "ok")
        );
    }
    let caption = "Ж".repeat(1024);
    let photo = updates::private_message(
        operator,
        json!({ "photo": [{ "file_id": "ph1", "file_unique_id": "u-ph1", "width": 90, "height": 90 }], "caption": caption }),
    );
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &t.body_of(&photo)).await, (200, "ok"));

    let received: Vec<String> = t.telegram.texts(operator.id).into_iter().rev().take(unusual.len()).rev().collect();
    assert!(received == unusual, "the operator got every text exactly as written");
    assert_eq!(t.last(customer.id).caption.as_deref(), Some(caption.as_str()));
    let rows = t.db.rows("SELECT message_text FROM ticket_messages WHERE sender_type = 'USER' ORDER BY id", &[]).await;
    let stored: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(stored == unusual, "history keeps every character");
    let caption = "SELECT char_length(caption) FROM ticket_messages WHERE sender_type = 'OPERATOR'";
    let caption_chars: i32 = t.db.row(caption, &[]).await.get(0);
    assert_eq!(caption_chars, 1024);
}

#[tokio::test]
async fn a_nul_character_is_stored_as_a_replacement_character_instead_of_failing_forever() {
    // PostgreSQL text cannot hold U+0000; the update must not turn into an endless 500 loop.
    let t = spawn_app().await;
    let Dialog { mut customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    customer.first_name = "Ив\u{0}ан".into();
    let update = updates::private_text(&customer, "до\u{0}после");
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &t.body_of(&update)).await, (200, "ok"));
    assert_eq!(t.telegram.texts(operator.id).last().map(String::as_str), Some("до\u{0}после"));
    let newest = "SELECT m.message_text, u.first_name FROM ticket_messages m JOIN users u ON u.tg_id = m.sender_tg_id \
                  ORDER BY m.id DESC LIMIT 1";
    let row = t.db.row(newest, &[]).await;
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), ("до\u{FFFD}после".into(), "Ив\u{FFFD}ан".into()));
}

#[tokio::test]
async fn a_nul_character_in_a_card_or_a_callback_id_does_not_fail_the_update() {
    // Found by `make fuzz`: outbox parameters are jsonb, which cannot hold U+0000 either.
    let t = spawn_app().await;
    let mut customer = TgUser::customer(1);
    customer.first_name = "Ив\u{0}ан".into();
    let (_, card) = t.queue_ticket(&customer, Topic::Return).await;
    assert!(card.text.as_deref().is_some_and(|text| text.contains("Ив\u{FFFD}ан")), "{card:?}");
    let mut press = updates::callback(&TgUser::customer(2), TgUser::customer(2).id, 1, "home");
    press["callback_query"]["id"] = json!("\u{0}");
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &t.body_of(&press)).await, (200, "ok"));
}

#[tokio::test]
async fn two_people_who_are_each_others_operator_and_customer_write_at_once_without_deadlock() {
    let t = spawn_app().await;
    let (x, y) = (TgUser::customer(1), TgUser::customer(2));
    let (ticket_x, card_x) = t.queue_ticket(&x, Topic::Return).await;
    let (ticket_y, card_y) = t.queue_ticket(&y, Topic::Warranty).await;
    t.make_operator(x.id);
    t.make_operator(y.id);
    t.claim(&x, ticket_y, &card_y).await;
    t.claim(&y, ticket_x, &card_x).await;
    for round in 0..20 {
        let (a, b) = tokio::join!(
            t.try_send(updates::private_text(&x, &format!("x{round}"))),
            t.try_send(updates::private_text(&y, &format!("y{round}")))
        );
        assert!(a.is_ok() && b.is_ok(), "round {round}: {a:?} {b:?}");
    }
    let from = |chat: i64, prefix: char| t.telegram.texts(chat).into_iter().filter(|s| s.starts_with(prefix)).count();
    assert_eq!((from(y.id, 'x'), from(x.id, 'y')), (20, 20));
}

#[tokio::test]
async fn an_update_does_not_wait_for_a_busy_chat_queue_and_its_message_follows_it() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = &t.open_dialog(1, Topic::Return).await;
    // Another flusher holds the operator's chat (say, draining a backlog).
    let mut holder = t.db.client().await;
    let holding = hold_lock(&mut holder, "outbox", operator.id).await;
    let body = t.body_of(&updates::private_text(customer, "не жду"));
    let app = t.app.clone();
    let sending = tokio::spawn(async move { webhook::handle(&app, Some(WEBHOOK_SECRET.as_bytes()), &body).await });
    // The update commits without the chat's lock: its message is stored while the other flusher still works.
    let mut stored = false;
    for _ in 0..200 {
        if t.db.count("ticket_messages WHERE message_text = 'не жду'").await == 1 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stored, "the update committed while the chat's queue was busy");
    assert!(!t.telegram.texts(operator.id).contains(&"не жду".to_owned()));
    holding.commit().await.unwrap();
    assert_eq!(sending.await.unwrap().status, 200);
    assert_eq!(t.telegram.texts(operator.id).iter().filter(|s| *s == "не жду").count(), 1);
}

/// The chat ids of successful copies, in the order Telegram got them.
fn copies_in_order(t: &TestApp) -> Vec<i64> {
    let calls = t.telegram.calls_to("copyMessage");
    calls.iter().filter(|c| c.status == 200).filter_map(|c| c.params["chat_id"].as_i64()).collect()
}

#[tokio::test]
async fn a_300_message_backlog_with_429s_drains_once_each_through_killed_maintenance_runs_without_starving_others() {
    let t = spawn_app().await;
    let all = t.open_dialogs(3, Topic::Return).await;
    let (a, b, c) = (&all[0], &all[1], &all[2]);
    // A's operator is rate limited while A's customer writes 300 messages; B's while B's customer writes 20.
    for (dialog, n, tag) in [(a, 300, 'a'), (b, 20, 'b')] {
        t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 60 }, 1);
        for k in 0..n {
            t.send(updates::private_text(&dialog.customer, &format!("{tag}-{k}"))).await;
        }
    }
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 320);
    // C's dialog has been quiet for two days: the idle job must warn it in the same runs.
    let client = t.db.client().await;
    client
        .execute(
            "UPDATE tickets SET last_activity_at = now() - interval '2 days' \
             WHERE operator_tg_id = $1 AND status = 'ASSIGNED'",
            &[&c.operator.id],
        )
        .await
        .unwrap();
    t.make_outbox_due().await;
    t.telegram.set_fault_rate("copyMessage", 0.05, Fault::TooManyRequests { retry_after: 1 });
    let before = copies_in_order(&t).len();

    // Maintenance runs, each killed (a Lambda timing out) right after Telegram got 1-30 more copies, until the
    // outbox is drained: the kill lands while a call is in flight or being recorded, the worst moment.
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut runs, mut kills) = (0, 0);
    while t.db.count("outbox WHERE status = 'pending'").await > 0 {
        runs += 1;
        assert!(runs < 400, "the backlog never drained ({kills} kills)");
        let target = t.telegram.calls_to("copyMessage").len() + rng.usize(1..30);
        let killer = async {
            while t.telegram.calls_to("copyMessage").len() < target {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::select! {
            _ = zabota_core::maintenance::run_now(&t.app) => {}
            () = killer => kills += 1,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.telegram.set_fault_rate("copyMessage", 0.0, Fault::ServerError);
    assert!(kills >= 5, "runs were killed mid-work: {kills} of {runs}");
    let mut repeats = 0;

    for (dialog, n, tag) in [(a, 300, 'a'), (b, 20, 'b')] {
        let got: Vec<String> =
            t.telegram.texts(dialog.operator.id).into_iter().filter(|s| s.starts_with(&format!("{tag}-"))).collect();
        let mut once = got.clone();
        once.dedup();
        assert_eq!(once, (0..n).map(|k| format!("{tag}-{k}")).collect::<Vec<_>>(), "dialog {tag}: all, in order");
        assert!(got.len() - once.len() <= kills, "dialog {tag}: only calls in flight at a kill repeat");
        repeats += got.len() - once.len();
    }
    eprintln!("300-message backlog: {runs} maintenance runs, {kills} killed, {repeats} calls repeated");
    // B did not wait for A's whole backlog: its last copy went out before A's hundredth.
    let order = copies_in_order(&t)[before..].to_vec();
    let b_done = order.iter().rposition(|chat| *chat == b.operator.id).unwrap();
    let a_hundredth = order.iter().enumerate().filter(|(_, chat)| **chat == a.operator.id).nth(99).unwrap().0;
    assert!(b_done < a_hundredth, "B's 20 interleaved with A's 300 (B done at {b_done}, A's 100th at {a_hundredth})");
    // The idle job ran despite the backlog: C's customer was warned.
    let minutes = (t.app.config.ticket_idle_warn_before.as_secs() / 60) as i64;
    assert!(t.telegram.texts(c.customer.id).contains(&texts::idle_warning_customer(minutes)));
    assert_eq!(t.db.count("outbox WHERE status NOT IN ('sent')").await, 0);
}

#[tokio::test]
async fn a_run_killed_after_taking_a_calls_room_and_before_its_answer_leaves_the_call_pending_and_the_room_free() {
    let t = spawn_app().await;
    let Dialog { operator, .. } = t.open_dialog(1, Topic::Return).await;
    let op = operator.id;
    t.make_outbox_due().await;
    t.redeliver().await;
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 0);
    t.db.execute(&format!(
        "INSERT INTO outbox (chat_id, method, params) VALUES ({op}, 'sendMessage', \
         jsonb_build_object('chat_id', {op}, 'text', 'на лету'))"
    ))
    .await;
    // The redelivery locks the chat and takes the call's room in its budget in one round trip, then makes the
    // call, which hangs on its way; the run is killed (a Lambda timing out) while it hangs.
    t.telegram.fail_next("sendMessage", Fault::Delay(Duration::from_secs(3)), 1);
    let asked = || t.telegram.calls_to("sendMessage").iter().filter(|c| c.params["text"] == "на лету").count();
    let killer = async {
        while asked() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::select! {
        _ = zabota_core::maintenance::run_now(&t.app) => panic!("the run ended before it was killed"),
        () = killer => {}
    }
    // Its connection closed, the server rolls its transaction back: once the chat's lock is free, nothing of the
    // send is left but the call, pending as before, no attempt counted, and the room it took is free again.
    let client = t.db.client().await;
    let free = async {
        loop {
            let row = client
                .query_one("SELECT pg_try_advisory_lock(hashtextextended('outbox:' || $1::bigint::text, 0))", &[&op])
                .await
                .unwrap();
            if row.get::<_, bool>(0) {
                client.execute("SELECT pg_advisory_unlock_all()", &[]).await.unwrap();
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), free).await.expect("the killed run's transaction ended");
    let row = t.db.row("SELECT status, attempts FROM outbox WHERE params ->> 'text' = 'на лету'", &[]).await;
    assert_eq!((row.get::<_, String>(0).as_str(), row.get::<_, i32>(1)), ("pending", 0));
    let room = format!("send_windows WHERE chat_id = {op} AND cardinality(sent_at) > 0");
    assert_eq!(t.db.count(&room).await, 0, "the room taken went with the killed transaction");
    // The next run sends it: delivered, at most once more than that (the call in flight at the kill, if
    // Telegram went on with it), and its room counted once, for the call made.
    t.redeliver().await;
    let got = t.telegram.texts(op).iter().filter(|s| *s == "на лету").count();
    assert!((1..=2).contains(&got), "delivered, only the call in flight repeats: {got}");
    let sent =
        t.db.row(&format!("SELECT cardinality(sent_at)::bigint FROM send_windows WHERE chat_id = {op}"), &[]).await;
    assert_eq!(sent.get::<_, i64>(0), 1);
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 0);
    // Past the hung call's delay too (the emulator, like a server whose client went away, dropped it).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(t.telegram.texts(op).iter().filter(|s| *s == "на лету").count(), got);
}
