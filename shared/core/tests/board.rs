//! The queue board: when the operators' chat's flood budget cannot carry a card per new ticket, the desk lists new
//! tickets on one pinned message with «Взять #N» each, edited within the budget; claims from it work like claims
//! from a card; a drained board says so and cards come back; a press on a stale board or card claims nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use chrono::{Duration, Utc};
use zabota_core::db::tickets::Status;
use zabota_core::domain::Topic;
use zabota_core::maintenance::run_all;
use zabota_core::texts;
use zabota_testkit::emulator::Received;
use zabota_testkit::emulator::{Limits, Window};
use zabota_testkit::{OPERATORS_CHAT_ID, PHONE, TIME_SCALE, TestApp, TgUser, spawn_app_with, updates};

/// A desk with the operators' chat at Telegram's real budget (20 a minute), on both sides: a storm fills it
/// however fast or slow the machine plays it.
async fn spawn_app() -> TestApp {
    let t = spawn_app_with(|env| {
        env.insert("TELEGRAM_GROUP_LIMIT".into(), "20/60s".into());
        // Spent in bursts, as the window allows: a minute's spacing would make these tests wait seconds a message.
        env.insert("TELEGRAM_GROUP_BURST".into(), "20".into());
    })
    .await;
    let group = Window { messages: 20, per: std::time::Duration::from_secs(60) };
    t.telegram.set_limits(Some(Limits { group, ..Limits::TELEGRAM.scaled(TIME_SCALE) }));
    t
}

/// `n` customers (ids from `first`) ask for an operator at once; every call the desk queued goes out.
async fn storm(t: &TestApp, first: i64, n: i64) -> Vec<TgUser> {
    let customers: Vec<TgUser> = (first..first + n).map(TgUser::customer).collect();
    for customer in &customers {
        t.ask_for_operator(customer, Topic::Other).await;
    }
    let phones = customers.iter().map(|c| t.send(updates::private_text(c, PHONE)));
    futures_util::future::join_all(phones).await;
    settle(t).await;
    customers
}

/// Lets every held-back call go (the group's window as if it had passed), twice over.
async fn settle(t: &TestApp) {
    for _ in 0..3 {
        t.make_outbox_due().await;
        t.redeliver().await;
    }
}

/// The board messages of the operators' chat, oldest first.
fn boards(t: &TestApp) -> Vec<Received> {
    t.telegram
        .received(OPERATORS_CHAT_ID)
        .into_iter()
        .filter(|m| m.text.as_deref().is_some_and(|s| s.starts_with("📋")))
        .collect()
}

/// The one board message.
fn the_board(t: &TestApp) -> Received {
    let boards = boards(t);
    assert_eq!(boards.len(), 1, "one board message: {boards:#?}");
    boards.into_iter().next().unwrap()
}

/// The tickets a board offers to claim.
fn listed(board: &Received) -> Vec<i64> {
    board.callback_data().iter().filter_map(|d| d.strip_prefix("board:")?.parse().ok()).collect()
}

/// `operator` presses «Взять #`ticket`» on `board`.
async fn take(
    t: &TestApp,
    operator: &TgUser,
    board: &Received,
    ticket: i64,
) -> zabota_testkit::emulator::CallbackAnswer {
    t.answer_to(updates::callback(operator, OPERATORS_CHAT_ID, board.message_id, &format!("board:{ticket}"))).await
}

fn has_card(t: &TestApp, ticket: i64) -> bool {
    t.telegram.texts(OPERATORS_CHAT_ID).iter().any(|c| c.starts_with(&format!("Новый клиент #{ticket}\n")))
}

#[tokio::test]
async fn a_ticket_storm_goes_on_one_pinned_board_and_every_ticket_has_exactly_one_place() {
    let t = spawn_app().await;
    storm(&t, 1, 45).await;
    let board = the_board(&t);
    let on_board = listed(&board);
    let carded: Vec<i64> = (1..=45).filter(|n| has_card(&t, *n)).collect();
    assert!(!carded.is_empty() && carded.len() < 20, "cards while the budget carried them: {carded:?}");
    assert_eq!(on_board.len(), 30, "the board lists its 30 oldest");
    let text = board.text.clone().unwrap();
    let hidden = 45 - carded.len() - 30;
    assert!(text.contains(&format!("ждут оператора — {}", 45 - carded.len())), "{text}");
    assert!(text.contains(&format!("…и ещё {hidden}")), "{text}");
    // The board lists by time in the queue, and the phones came in concurrently: a ticket's number is not its
    // place in the queue. Every ticket is on a card or on the board, never both; the unlisted are the "…и ещё".
    let boarded: Vec<i64> =
        t.db.rows("SELECT id FROM tickets WHERE board_id IS NOT NULL AND status = 'WAITING'", &[])
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    let mut unlisted = 0;
    for n in 1..=45 {
        let places = usize::from(carded.contains(&n)) + usize::from(on_board.contains(&n));
        let beyond = places == 0 && boarded.contains(&n);
        assert!(places == 1 || beyond, "ticket #{n}: {places} places");
        unlisted += usize::from(beyond);
    }
    assert_eq!(unlisted, hidden, "the board's «…и ещё» are the waiting tickets it does not list");
    assert_eq!(t.telegram.pinned(OPERATORS_CHAT_ID), [board.message_id], "the board is pinned");
    let waiting_on_board = t.db.count("tickets WHERE board_id IS NOT NULL AND status = 'WAITING'").await;
    assert_eq!(waiting_on_board as usize, 45 - carded.len(), "every ticket without a card is on the board");
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}

#[tokio::test]
async fn a_claim_from_the_board_works_like_one_from_a_card_and_two_racing_operators_get_it_once() {
    let t = spawn_app().await;
    storm(&t, 1, 20).await;
    let board = the_board(&t);
    let ticket = listed(&board)[0];
    let (anna, oleg) = (TgUser::operator(501), TgUser::operator(502));
    t.make_operator(anna.id);
    t.make_operator(oleg.id);
    let (a, b) = tokio::join!(take(&t, &anna, &board, ticket), take(&t, &oleg, &board, ticket));
    let claimed = texts::claimed(ticket);
    let winners = [&a, &b].iter().filter(|x| x.text.as_deref() == Some(claimed.as_str())).count();
    assert_eq!(winners, 1, "{a:?} {b:?}");
    let loser = if a.text.as_deref() == Some(claimed.as_str()) { &b } else { &a };
    assert_eq!(loser.text.as_deref(), Some(texts::alert_taken(ticket).as_str()));
    let (status, operator) = t.ticket_status(ticket).await;
    assert_eq!(status, Status::Assigned);
    let winner = if operator == Some(anna.id) { &anna } else { &oleg };
    assert!(t.telegram.texts(winner.id)[0].contains(&format!("#{ticket}")), "the summary went to the winner");
    let customer =
        t.db.row("SELECT u.tg_id FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1", &[&ticket]).await;
    assert_eq!(t.last(customer.get(0)).text.as_deref(), Some(texts::OPERATOR_CONNECTED));

    settle(&t).await;
    let board = the_board(&t);
    assert!(!listed(&board).contains(&ticket), "the board no longer offers #{ticket}");
    let who = format!("#{ticket} — @{}", winner.username.clone().unwrap());
    let text = board.text.unwrap();
    assert!(text.contains(&who), "the board says who took it: {text}");
    // The board is never rewritten into a card.
    assert!(!t.telegram.texts(OPERATORS_CHAT_ID).iter().any(|c| c.contains("✅ Взял в работу")));
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}

#[tokio::test]
async fn a_drained_board_says_so_is_unpinned_and_new_tickets_get_cards_again_while_its_buttons_claim_nothing() {
    let t = spawn_app().await;
    storm(&t, 1, 15).await;
    let board = the_board(&t);
    let on_board = listed(&board);
    assert!(!on_board.is_empty());
    for (i, ticket) in on_board.iter().enumerate() {
        let operator = TgUser::operator(600 + i as i64);
        t.make_operator(operator.id);
        assert_eq!(take(&t, &operator, &board, *ticket).await.text, Some(texts::claimed(*ticket)));
    }
    settle(&t).await;
    let drained = the_board(&t);
    assert_eq!(drained.text.as_deref(), Some(texts::BOARD_DRAINED));
    assert!(drained.callback_data().is_empty(), "no buttons left on it");
    assert!(t.telegram.pinned(OPERATORS_CHAT_ID).is_empty(), "unpinned");
    assert_eq!(t.db.count("queue_boards WHERE active").await, 0);

    // Cards are back: a new ticket gets one, and a press on the old board for it claims nothing.
    let (ticket, _card) = t.queue_ticket(&TgUser::customer(99), Topic::Warranty).await;
    let late = TgUser::operator(700);
    t.make_operator(late.id);
    let answer = take(&t, &late, &drained, ticket).await;
    assert_eq!((answer.text.as_deref(), answer.show_alert), (Some(texts::ALERT_STALE_BOARD), true));
    assert_eq!(t.ticket_status(ticket).await, (Status::Waiting, None), "nothing claimed");
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}

#[tokio::test]
async fn a_card_whose_ticket_moved_to_the_board_says_so_and_its_button_claims_nothing() {
    let t = spawn_app().await;
    let (first, card) = t.queue_ticket(&TgUser::customer(1), Topic::Return).await;
    storm(&t, 2, 20).await;
    assert!(!listed(&the_board(&t)).contains(&first), "the card's ticket stays on its card");
    // A card of it held back for room (as a repost would be): it must not go out once the ticket is on the board.
    t.db.execute(&format!(
        "INSERT INTO outbox (chat_id, method, params, on_result, priority, not_before) VALUES ({OPERATORS_CHAT_ID}, \
         'sendMessage', jsonb_build_object('chat_id', {OPERATORS_CHAT_ID}, 'text', 'Новый клиент #{first}\nещё раз'), \
         jsonb_build_object('kind', 'card', 'ticket_id', {first}), 2, now() + interval '1 hour')"
    ))
    .await;
    // Its reminder is due while the board is in use: it joins the board instead of getting another card.
    run_all(&t.app, Utc::now() + Duration::minutes(16)).await;
    settle(&t).await;
    let board = the_board(&t);
    assert!(listed(&board).contains(&first), "now on the board");
    let posted = t.telegram.texts(OPERATORS_CHAT_ID);
    let its_cards = posted.iter().filter(|s| s.starts_with(&format!("Новый клиент #{first}\n"))).count();
    assert_eq!(its_cards, 0, "no card of it after (the first now says it moved): {posted:#?}");
    let cards = t.telegram.received(OPERATORS_CHAT_ID);
    let old = cards.iter().find(|m| m.message_id == card.message_id).unwrap();
    assert_eq!(old.text, Some(texts::card_moved_to_board(first)));
    assert!(old.callback_data().is_empty());

    let operator = TgUser::operator(501);
    t.make_operator(operator.id);
    let answer = t.claim(&operator, first, &card).await;
    assert_eq!(answer.text, Some(texts::card_moved_to_board(first)), "the stale card claims nothing");
    assert_eq!(t.ticket_status(first).await, (Status::Waiting, None));
    assert_eq!(take(&t, &operator, &board, first).await.text, Some(texts::claimed(first)), "the board does");
}

#[tokio::test]
async fn a_customer_who_withdraws_leaves_the_board_and_the_last_one_drains_it() {
    let t = spawn_app().await;
    let customers = storm(&t, 1, 14).await;
    let board = the_board(&t);
    let on_board = listed(&board);
    for ticket in &on_board {
        let owner =
            t.db.row("SELECT u.tg_id FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1", &[ticket]).await;
        let customer = customers.iter().find(|c| c.id == owner.get::<_, i64>(0)).unwrap();
        let data = format!("cancel:{ticket}");
        let place = t.telegram.received(customer.id).into_iter().rfind(|m| m.callback_data().contains(&data)).unwrap();
        let answer = t.answer_to(updates::callback(customer, customer.id, place.message_id, &data)).await;
        assert!(!answer.show_alert, "{answer:?}");
        assert_eq!(t.ticket_status(*ticket).await.0, Status::Closed);
    }
    settle(&t).await;
    assert_eq!(the_board(&t).text.as_deref(), Some(texts::BOARD_DRAINED));
    assert!(t.telegram.pinned(OPERATORS_CHAT_ID).is_empty());
}

#[tokio::test]
async fn a_board_posted_twice_after_a_lost_sent_mark_claims_only_from_the_one_recorded() {
    let t = spawn_app().await;
    storm(&t, 1, 14).await;
    let first = the_board(&t);
    // As if the process died after Telegram posted the board, before its `sent` mark: the post goes again.
    t.db.execute("UPDATE outbox SET status = 'pending' WHERE on_result ->> 'kind' = 'board_post'").await;
    t.db.execute("DELETE FROM queue_board_shown").await;
    settle(&t).await;
    let boards = boards(&t);
    assert_eq!(boards.len(), 2, "posted again");
    let second = boards.last().unwrap().clone();
    let ticket = listed(&second)[0];
    let operator = TgUser::operator(501);
    t.make_operator(operator.id);
    let answer = take(&t, &operator, &first, ticket).await;
    assert_eq!(answer.text.as_deref(), Some(texts::ALERT_STALE_BOARD), "the orphan claims nothing");
    assert_eq!(t.ticket_status(ticket).await, (Status::Waiting, None));
    assert_eq!(take(&t, &operator, &second, ticket).await.text, Some(texts::claimed(ticket)));
}

#[tokio::test]
async fn a_deleted_board_is_posted_again_at_its_next_change() {
    let t = spawn_app().await;
    storm(&t, 1, 14).await;
    let first = the_board(&t);
    let waiting = listed(&first);
    t.telegram.delete(OPERATORS_CHAT_ID, first.message_id);
    // A change (a claim) redraws the board: the edit finds no message, so the board is posted afresh.
    let operator = TgUser::operator(501);
    t.make_operator(operator.id);
    assert_eq!(take(&t, &operator, &first, waiting[0]).await.text, Some(texts::claimed(waiting[0])));
    settle(&t).await;
    let again = the_board(&t);
    assert_ne!(again.message_id, first.message_id);
    assert_eq!(listed(&again), waiting[1..], "the rest, still claimable");
    assert_eq!(t.telegram.pinned(OPERATORS_CHAT_ID), [again.message_id], "and pinned in place of the one deleted");
}

#[tokio::test]
async fn a_board_whose_post_was_given_up_is_posted_by_the_next_maintenance_run() {
    let t = spawn_app().await;
    storm(&t, 1, 14).await;
    let first = the_board(&t);
    // As if its post had failed for good: no message is recorded, and no change is coming.
    t.db.execute("DELETE FROM queue_board_shown").await;
    t.db.execute("UPDATE outbox SET status = 'failed' WHERE on_result ->> 'kind' LIKE 'board%' AND status = 'pending'")
        .await;
    run_all(&t.app, Utc::now()).await;
    settle(&t).await;
    let boards = boards(&t);
    assert_eq!(boards.len(), 2, "posted again");
    let again = boards.last().unwrap().clone();
    assert_eq!(listed(&again), listed(&first), "the same tickets, claimable");
    let operator = TgUser::operator(501);
    t.make_operator(operator.id);
    let ticket = listed(&again)[0];
    assert_eq!(take(&t, &operator, &again, ticket).await.text, Some(texts::claimed(ticket)));
}

/// Customer `ticket`'s owner withdraws it (presses «Отменить» on their queue place).
async fn withdraw(t: &TestApp, customers: &[TgUser], ticket: i64) {
    let owner =
        t.db.row("SELECT u.tg_id FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1", &[&ticket]).await;
    let customer = customers.iter().find(|c| c.id == owner.get::<_, i64>(0)).unwrap();
    let data = format!("cancel:{ticket}");
    let place = t.telegram.received(customer.id).into_iter().rfind(|m| m.callback_data().contains(&data)).unwrap();
    assert!(!t.answer_to(updates::callback(customer, customer.id, place.message_id, &data)).await.show_alert);
}

#[tokio::test]
async fn changes_while_the_group_has_no_room_wait_as_one_refresh_that_shows_them_all() {
    let t = spawn_app().await;
    let customers = storm(&t, 1, 20).await;
    let on_board = listed(&the_board(&t));
    // The group's window is full: the changes below cannot be drawn now.
    t.db.execute(&format!(
        "UPDATE send_windows SET sent_at = array_fill(clock_timestamp(), ARRAY[20]) WHERE chat_id = {OPERATORS_CHAT_ID}"
    ))
    .await;
    for ticket in &on_board[..4] {
        withdraw(&t, &customers, *ticket).await;
    }
    let pending = "outbox WHERE status = 'pending' AND on_result ->> 'kind' = 'board_refresh'";
    assert_eq!(t.db.count(pending).await, 1, "four changes, one refresh waiting for room");
    settle(&t).await;
    let board = listed(&the_board(&t));
    assert!(on_board[..4].iter().all(|n| !board.contains(n)), "all four gone from the board: {board:?}");
    assert_eq!(board, on_board[4..], "and the rest still there");
    assert_eq!(t.db.count(pending).await, 0);
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}

#[tokio::test]
async fn a_change_made_while_the_board_is_drawn_is_on_the_next_drawing() {
    let t = spawn_app().await;
    storm(&t, 1, 20).await;
    let ticket = listed(&the_board(&t))[0];
    let board: i64 = t.db.row("SELECT board_id FROM tickets WHERE id = $1", &[&ticket]).await.get(0);
    // A refresh is pending (the catch-up queued it) as a change is being made: the change holds the board's row
    // (its version moved), sees the refresh pending and so queues none, and has not committed yet.
    t.db.execute(&format!(
        "INSERT INTO outbox (chat_id, method, params, on_result, priority) VALUES ({OPERATORS_CHAT_ID}, \
         'editMessageText', jsonb_build_object('chat_id', {OPERATORS_CHAT_ID}), \
         jsonb_build_object('kind', 'board_refresh', 'board_id', {board}), 2)"
    ))
    .await;
    let mut changer = t.db.client().await;
    let change = changer.transaction().await.unwrap();
    change.execute("UPDATE queue_boards SET version = version + 1 WHERE id = $1 AND active", &[&board]).await.unwrap();
    change
        .execute(
            "UPDATE users SET first_name = 'Переименована' WHERE id = (SELECT user_id FROM tickets WHERE id = $1)",
            &[&ticket],
        )
        .await
        .unwrap();
    let seen: bool = change
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending' AND on_result ->> 'kind' = 'board_refresh')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(seen, "the change sees the refresh pending");
    // The operators' chat's flusher sends the refresh meanwhile: drawn without the change, which it cannot see
    // yet, so it settles nothing and queues the refresh again.
    t.make_outbox_due().await;
    zabota_core::bot::deliver(&t.app, vec![OPERATORS_CHAT_ID]).await;
    assert!(!the_board(&t).text.unwrap().contains("Переименована"));
    let pending = "outbox WHERE status = 'pending' AND on_result ->> 'kind' = 'board_refresh'";
    assert_eq!(t.db.count(pending).await, 1, "queued again");
    // The change commits, and its update flushes the operators' chat: the board shows it.
    change.commit().await.unwrap();
    zabota_core::bot::deliver(&t.app, vec![OPERATORS_CHAT_ID]).await;
    assert_eq!(t.db.count(pending).await, 0, "settled");
    let text = the_board(&t).text.unwrap();
    assert!(text.contains(&format!("#{ticket} · Переименована")), "{text}");
}

#[tokio::test]
async fn cards_the_groups_pace_holds_back_go_on_the_board_when_it_opens_and_no_ticket_is_shown_twice() {
    // Telegram's 20 a minute spent at the desk's pace: 3 back to back, then one every 3.7 s.
    let t = spawn_app_with(|env| {
        env.insert("TELEGRAM_GROUP_LIMIT".into(), "20/60s".into());
    })
    .await;
    let group = Window { messages: 20, per: std::time::Duration::from_secs(60) };
    t.telegram.set_limits(Some(Limits { group, ..Limits::TELEGRAM.scaled(TIME_SCALE) }));
    let customers: Vec<TgUser> = (1..=12).map(TgUser::customer).collect();
    for customer in &customers {
        t.ask_for_operator(customer, Topic::Other).await;
    }
    let phones = customers.iter().map(|c| t.send(updates::private_text(c, PHONE)));
    futures_util::future::join_all(phones).await;
    // What could go right away went; the board holds the rest, the cards held back for the pace among them.
    let adopted = t.db.count("outbox WHERE on_result ->> 'kind' = 'card' AND status = 'cancelled'").await;
    let cards = (1..=12).filter(|n| has_card(&t, *n)).count();
    assert!(cards <= 3, "at most the burst went as cards: {cards}");
    assert!(adopted > 0, "cards held back joined the board");
    let on_board = t.db.count("tickets WHERE board_id IS NOT NULL AND status = 'WAITING'").await;
    assert_eq!(on_board as usize + cards, 12, "every ticket has one place: {cards} cards, {on_board} on the board");
    // The board's post is next in line: drawn as it is sent, it lists them all, and no card follows.
    settle(&t).await;
    let board = listed(&the_board(&t));
    for n in 1..=12 {
        assert_eq!(usize::from(has_card(&t, n)) + usize::from(board.contains(&n)), 1, "ticket #{n}: {board:?}");
    }
    assert!(t.telegram.over_limit_calls().is_empty(), "no 429: {:?}", t.telegram.over_limit_calls());
}
