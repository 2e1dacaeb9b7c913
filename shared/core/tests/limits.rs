//! Telegram's flood limits as budgets: the outbox sends within them (the emulator answers 429 to anything over,
//! as Telegram does), a full operators' group never holds up a private chat, the bot's overall budget is shared by
//! every chat, an answer to a press goes before paced messages, and a 429 met anyway shrinks the chat's budget.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::Duration;

use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::emulator::{Limits, Window};
use zabota_testkit::{Dialog, Fault, OPERATORS_CHAT_ID, TIME_SCALE, TgUser, spawn_app, spawn_app_with, updates};

/// Telegram's limits in the tests' time, as the emulator enforces them by default.
fn telegram() -> Limits {
    Limits::TELEGRAM.scaled(TIME_SCALE)
}

#[tokio::test]
async fn a_burst_to_one_chat_is_paced_without_a_429_and_arrives_once_in_order() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let before = t.telegram.texts(customer.id).len();
    let said: Vec<String> = (1..=25).map(|n| format!("ответ {n}")).collect();
    for text in &said {
        t.send(updates::private_text(&operator, text)).await;
    }
    assert!(said.len() as u32 > telegram().private.messages * 2, "more than the chat's window allows at once");
    assert_eq!(t.telegram.texts(customer.id)[before..], said[..], "every answer once, in order, nothing left behind");
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
    let paced = t.db.count("outbox WHERE chat_id = 1001 AND not_before > created_at + interval '10 ms'").await;
    assert!(paced > 0, "some waited for room in the chat's budget");
}

#[tokio::test]
async fn a_ticket_storm_fills_the_groups_budget_without_a_429_and_every_ticket_is_announced_once() {
    let t = spawn_app().await;
    let customers: Vec<TgUser> = (1..=30).map(TgUser::customer).collect();
    for customer in &customers {
        t.ask_for_operator(customer, Topic::Other).await;
    }
    let phones = customers.iter().map(|c| t.send(updates::private_text(c, zabota_testkit::PHONE)));
    futures_util::future::join_all(phones).await;
    t.redeliver().await;
    let posted = t.telegram.received(OPERATORS_CHAT_ID);
    // The last drawing of the board (if the budget ran short and one was opened) lists the rest.
    let board = posted.iter().rev().find(|m| m.text.as_deref().is_some_and(|s| s.starts_with("📋")));
    for n in 1..=30 {
        let cards =
            posted.iter().filter(|m| m.text.as_deref().is_some_and(|c| c.starts_with(&format!("Новый клиент #{n}\n"))));
        let on_board = board.is_some_and(|b| b.callback_data().contains(&format!("board:{n}")));
        assert_eq!(cards.count() + usize::from(on_board), 1, "ticket #{n}: one card, or a line on the board");
    }
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}

#[tokio::test]
async fn a_full_operators_group_never_holds_up_a_customers_chat() {
    // The group's real budget (20 a minute), spent in bursts: once it is spent, the operators' chat waits most of
    // a minute.
    let t = spawn_app_with(|env| {
        env.insert("TELEGRAM_GROUP_LIMIT".into(), "20/60s".into());
        env.insert("TELEGRAM_GROUP_BURST".into(), "20".into());
    })
    .await;
    t.telegram.set_limits(Some(Limits { group: Window { messages: 20, per: Duration::from_secs(60) }, ..telegram() }));
    for n in 1..=30 {
        let customer = TgUser::customer(n);
        t.ask_for_operator(&customer, Topic::Warranty).await;
        t.send(updates::private_text(&customer, zabota_testkit::PHONE)).await;
    }
    let late = TgUser::customer(31);
    t.ask_for_operator(&late, Topic::Warranty).await;
    t.send(updates::private_text(&late, zabota_testkit::PHONE)).await;

    // The customer heard at once; the operators' chat, its window full, holds its calls back.
    let told = t.telegram.texts(late.id);
    assert!(told.iter().any(|s| s.starts_with(&texts::queued(31))), "{told:#?}");
    let shown = |t: &zabota_testkit::TestApp| {
        t.telegram.texts(OPERATORS_CHAT_ID).iter().any(|c| c.starts_with("Новый клиент #31\n") || c.contains("\n#31 ·"))
    };
    assert!(!shown(&t), "not shown yet");
    let waiting = format!(
        "outbox WHERE chat_id = {OPERATORS_CHAT_ID} AND status = 'pending' AND not_before > now() + interval '30 s'"
    );
    assert!(t.db.count(&waiting).await >= 1, "held back to when the group has room");
    assert!(t.telegram.over_limit_calls().is_empty());

    // A minute later it goes.
    t.make_outbox_due().await;
    t.telegram.set_limits(Some(telegram()));
    t.redeliver().await;
    assert!(shown(&t), "#31 announced");
}

#[tokio::test]
async fn the_bots_budget_is_shared_by_every_chat() {
    // Five messages per half second for the whole bot; the desk keeps to five per 1.5 s, so that a loaded
    // machine's scheduling (a slot taken, the call reaching the emulator late) cannot fake a 429.
    let t = spawn_app_with(|env| {
        env.insert("TELEGRAM_BOT_LIMIT".into(), "5/1500ms".into());
    })
    .await;
    t.telegram.set_limits(Some(Limits { bot: Window { messages: 5, per: Duration::from_millis(500) }, ..telegram() }));
    let customers: Vec<TgUser> = (1..=12).map(TgUser::customer).collect();
    let starts = customers.iter().map(|c| t.send(updates::command(c, "/start")));
    futures_util::future::join_all(starts).await;
    // What could not wait for room inside an update (a slow machine) goes with the next redeliveries.
    for _ in 0..100 {
        if customers.iter().all(|c| !t.telegram.texts(c.id).is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        t.redeliver().await;
    }
    for customer in &customers {
        assert_eq!(t.telegram.texts(customer.id), [zabota_testkit::shipped::greeting()], "customer {}", customer.id);
    }
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}

#[tokio::test]
async fn an_answer_to_a_press_goes_before_messages_waiting_for_room() {
    let t = spawn_app().await;
    let Dialog { operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    // Three messages wait for the operator's chat, whose window is full right now.
    let op = operator.id;
    t.db.execute(&format!(
        "INSERT INTO outbox (chat_id, method, params) SELECT {op}, 'sendMessage', \
           jsonb_build_object('chat_id', {op}, 'text', 'ждёт ' || n) FROM generate_series(1, 3) n; \
         INSERT INTO send_windows (chat_id, sent_at) VALUES ({op}, array_fill(clock_timestamp(), ARRAY[5])) \
           ON CONFLICT (chat_id) DO UPDATE SET sent_at = EXCLUDED.sent_at"
    ))
    .await;
    let summary = t.telegram.received(op)[0].message_id;
    let press = updates::callback(&operator, op, summary, &format!("close:{ticket}"));
    let id = press["callback_query"]["id"].as_str().unwrap().to_owned();
    t.answer_to(press).await;
    let calls = t.telegram.calls();
    let answered = calls.iter().position(|c| c.method == "answerCallbackQuery" && c.params["callback_query_id"] == id);
    let waited = calls.iter().position(|c| c.params["text"] == "ждёт 1");
    assert!(answered.unwrap() < waited.unwrap(), "the answer first, then what waited for room");
    let texts = t.telegram.texts(op);
    let order: Vec<&String> = texts.iter().filter(|s| s.starts_with("ждёт")).collect();
    assert_eq!(order, ["ждёт 1", "ждёт 2", "ждёт 3"], "and those in their order");
}

#[tokio::test]
async fn a_429_met_anyway_halves_the_chats_budget_for_a_while() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 1 }, 1);
    t.send(updates::private_text(&customer, "вопрос")).await;
    let shrunk = t.db.count(&format!("send_windows WHERE chat_id = {} AND shrunk_until > now()", operator.id)).await;
    assert_eq!(shrunk, 1);
    t.make_outbox_due().await;
    t.redeliver().await;
    assert_eq!(t.telegram.texts(operator.id).last().map(String::as_str), Some("вопрос"), "sent after its wait");
}

#[tokio::test]
async fn a_budget_takes_exactly_its_count_in_a_window_then_names_the_wait() {
    let t = spawn_app().await;
    // take_send_slot(chat, weight, chat_max, chat_per_s, burst, bot_max, bot_per_s): 0 when taken, else seconds
    // to wait. Minute-long windows: nothing leaves them while the test runs, however slow the machine.
    let take = |chat: i64, weight: i32, bot_max: i32| {
        format!("SELECT take_send_slot({chat}, {weight}, 3, 60.0, 3, {bot_max}, 60.0)::float8")
    };
    for n in 1..=3 {
        assert_eq!(t.db.row(&take(42, 1, 30), &[]).await.get::<_, f64>(0), 0.0, "send {n} of 3");
    }
    let wait: f64 = t.db.row(&take(42, 1, 30), &[]).await.get(0);
    assert!(wait > 50.0 && wait <= 60.0, "the 4th waits for the 1st to leave the window: {wait}");
    // An album bigger than the window goes when the window is empty, and then fills it.
    assert_eq!(t.db.row(&take(43, 5, 30), &[]).await.get::<_, f64>(0), 0.0, "an empty window takes an album of 5");
    assert!(t.db.row(&take(43, 1, 30), &[]).await.get::<_, f64>(0) > 50.0, "and is full after it");
    // The bot's budget counts every chat: with two a second for the bot, a third chat waits.
    let bot: f64 = t.db.row(&take(44, 1, 2), &[]).await.get(0);
    assert!(bot > 50.0, "the bot's window is full of other chats' sends: {bot}");
    let counted: i64 =
        t.db.row("SELECT cardinality(sent_at)::bigint FROM send_windows WHERE chat_id = 42", &[]).await.get(0);
    assert_eq!(counted, 3, "what waited took nothing");
}

#[tokio::test]
async fn a_group_gets_its_burst_back_to_back_then_one_message_per_spacing() {
    let t = spawn_app().await;
    // 20 per 600 s with a burst of 3: after the burst, one every 600 / 18 = 33.3 s (ten-minute windows: the test
    // is over long before anything leaves them).
    let take =
        |chat: i64, weight: i32| format!("SELECT take_send_slot({chat}, {weight}, 20, 600.0, 3, 30, 60.0)::float8");
    let spacing = 600.0 / 18.0;
    for n in 1..=3 {
        assert_eq!(t.db.row(&take(-42, 1), &[]).await.get::<_, f64>(0), 0.0, "burst message {n} of 3");
    }
    let wait: f64 = t.db.row(&take(-42, 1), &[]).await.get(0);
    assert!(wait > spacing - 5.0 && wait <= spacing, "the 4th waits one spacing from the burst's first: {wait}");
    // What waited took nothing: the window holds the burst only, and the pace has not moved.
    let row = t.db.row("SELECT cardinality(sent_at)::bigint, extract(epoch FROM paced_until - sent_at[1])::float8         FROM send_windows WHERE chat_id = -42", &[]).await;
    assert_eq!(row.get::<_, i64>(0), 3);
    assert!((row.get::<_, f64>(1) - 3.0 * spacing).abs() < 5.0, "three spacings ahead of the first");
    // An album bigger than the burst goes when nothing is ahead at the pace, and moves the pace by all it sent:
    // what follows waits the album's spacings beyond the burst (5 - 2 here), not one spacing.
    assert_eq!(t.db.row(&take(-43, 5), &[]).await.get::<_, f64>(0), 0.0, "an idle group takes an album of 5");
    let wait: f64 = t.db.row(&take(-43, 1), &[]).await.get(0);
    assert!(wait > 3.0 * spacing - 5.0 && wait <= 3.0 * spacing, "then three spacings: {wait}");
    let ahead: f64 = t
        .db
        .row("SELECT extract(epoch FROM paced_until - sent_at[1])::float8 FROM send_windows WHERE chat_id = -43", &[])
        .await
        .get(0);
    assert!((ahead - 5.0 * spacing).abs() < 5.0, "the pace is five spacings ahead of the album: {ahead}");
    // A burst of the whole budget is the window alone, as before (private chats always).
    let window = |chat: i64| format!("SELECT take_send_slot({chat}, 1, 3, 600.0, 3, 30, 60.0)::float8");
    for n in 1..=3 {
        assert_eq!(t.db.row(&window(-44), &[]).await.get::<_, f64>(0), 0.0, "window message {n} of 3");
    }
    assert!(t.db.row(&window(-44), &[]).await.get::<_, f64>(0) > 590.0, "then the window is full");
}

#[tokio::test]
async fn a_redelivery_waiting_for_what_comes_due_looks_again_for_retries_and_chats_due_meanwhile() {
    use std::time::Instant;
    use zabota_core::bot::{Due, deliver_due_until};
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let (c, op) = (customer.id, operator.id);
    let call = |chat: i64, text: &str, after_secs: u32| {
        format!(
            "INSERT INTO outbox (chat_id, method, params, not_before) VALUES ({chat}, 'sendMessage', \
             jsonb_build_object('chat_id', {chat}, 'text', '{text}'), now() + interval '{after_secs} s')"
        )
    };

    t.make_outbox_due().await;
    t.redeliver().await;
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 0, "nothing else for the redelivery to do");

    // The only due chat's call fails (each of the client's three attempts), to be retried a second later: the
    // redelivery sends nothing in its first round, and looks again rather than ending with a retry due before
    // its deadline.
    t.telegram.fail_next("sendMessage", Fault::ServerError, 3);
    t.db.execute(&call(op, "повтор", 0)).await;
    let redelivery = deliver_due_until(&t.app, Instant::now() + Duration::from_secs(45), Due::ByDeadline);
    tokio::select! {
        _ = redelivery => assert!(received(&t, op, "повтор"), "the redelivery ended with a retry due before its end"),
        () = arrives(&t, op, "повтор") => {}
    }

    // A retry 40 s away does not hold up a chat that comes due meanwhile: the redelivery's rounds look again.
    t.db.execute(&call(c, "позже", 40)).await;
    let redelivery = deliver_due_until(&t.app, Instant::now() + Duration::from_secs(45), Due::ByDeadline);
    let watch = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        t.db.execute(&call(op, "сейчас", 0)).await;
        arrives(&t, op, "сейчас").await;
        assert!(!received(&t, c, "позже"), "the retry still waits its time");
    };
    tokio::select! {
        _ = redelivery => panic!("the redelivery ended with calls due before its deadline"),
        () = watch => {}
    }
    assert!(t.telegram.over_limit_calls().is_empty());
}

fn received(t: &zabota_testkit::TestApp, chat: i64, text: &str) -> bool {
    t.telegram.texts(chat).iter().any(|s| s == text)
}

/// Waits (15 s at most) for `text` to reach `chat`.
async fn arrives(t: &zabota_testkit::TestApp, chat: i64, text: &str) {
    for _ in 0..300 {
        if received(t, chat, text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{text} never reached chat {chat}");
}
