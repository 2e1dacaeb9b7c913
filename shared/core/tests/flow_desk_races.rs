//! The operator desk under races: every pair below runs at once, many times over, and each ends in one consistent
//! state with nothing lost or duplicated.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use serde_json::Value;
use zabota_core::bot::Outcome;
use zabota_core::db::tickets::Status;
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{
    CallbackAnswer, Fault, OPERATORS_CHAT_ID, Received, TestApp, TgUser, claim_press, spawn_app, updates,
};

/// How many times each race runs (each on a fresh ticket).
const ROUNDS: i64 = 6;

fn live_cards(t: &TestApp, ticket: i64) -> Vec<Received> {
    let claim = format!("claim:{ticket}");
    t.telegram.received(OPERATORS_CHAT_ID).into_iter().filter(|m| m.callback_data().contains(&claim)).collect()
}

/// Sends two presses at once; when both are processed, what waits in the outbox (a chat another update was
/// flushing is left to the redelivery) is sent; returns the one answer each press got.
async fn press_at_once(t: &TestApp, a: Value, b: Value) -> (CallbackAnswer, CallbackAnswer) {
    let id = |p: &Value| p["callback_query"]["id"].as_str().unwrap().to_owned();
    let (id_a, id_b) = (id(&a), id(&b));
    tokio::join!(t.send(a), t.send(b));
    t.make_outbox_due().await;
    t.redeliver().await;
    let answers = t.telegram.callback_answers();
    let one = |id: &str| {
        let mine: Vec<&CallbackAnswer> = answers.iter().filter(|a| a.callback_query_id == id).collect();
        assert_eq!(mine.len(), 1, "exactly one answer per press: {mine:#?}");
        mine[0].clone()
    };
    (one(&id_a), one(&id_b))
}

async fn count(t: &TestApp, sql: &str, ticket: i64) -> i64 {
    t.db.row(sql, &[&ticket]).await.get(0)
}

#[tokio::test]
async fn a_transfer_and_a_claim_of_the_same_ticket_at_once() {
    let t = spawn_app().await;
    for n in 1..=ROUNDS {
        let d = t.open_dialog(n, Topic::Return).await;
        let colleague = TgUser::operator(100 + n);
        t.make_operator(colleague.id);
        // The colleague presses the card they still see (the claimed one) while the operator transfers.
        let press = claim_press(&colleague, d.ticket, &d.card);
        let id = press["callback_query"]["id"].as_str().unwrap().to_owned();
        tokio::join!(t.send(updates::private_text(&d.operator, "/transfer")), t.send(press));
        t.make_outbox_due().await;
        t.redeliver().await;
        let answer = t.telegram.callback_answers().into_iter().find(|a| a.callback_query_id == id).unwrap();
        assert!(answer.show_alert, "the old card never claims: {answer:?}");
        assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None), "round {n}");
        assert_eq!(live_cards(&t, d.ticket).len(), 1, "one fresh card, round {n}");
        // Two colleagues race for the fresh card: one wins.
        let other = TgUser::operator(200 + n);
        t.make_operator(other.id);
        let card = live_cards(&t, d.ticket).remove(0);
        let (a, b) =
            press_at_once(&t, claim_press(&colleague, d.ticket, &card), claim_press(&other, d.ticket, &card)).await;
        let winners = [&a, &b].iter().filter(|x| !x.show_alert).count();
        assert_eq!(winners, 1, "{a:?} {b:?}");
        assert_eq!(t.ticket_status(d.ticket).await.0, Status::Assigned);
        assert!(live_cards(&t, d.ticket).is_empty());
        let summaries = |id: i64| {
            t.telegram
                .texts(id)
                .iter()
                .filter(|x| x.contains(&format!("#{}", d.ticket)) && x.starts_with("Вы взяли"))
                .count()
        };
        assert_eq!(summaries(colleague.id) + summaries(other.id), 1);
        t.send(updates::private_text(&d.customer, "/start")).await;
    }
}

#[tokio::test]
async fn two_supervisors_requeue_one_ticket() {
    let t = spawn_app().await;
    let (first, second) = (TgUser::operator(91), TgUser::operator(92));
    t.make_supervisor(first.id);
    t.make_supervisor(second.id);
    for n in 1..=ROUNDS {
        let d = t.open_dialog(n, Topic::Warranty).await;
        let command = format!("/requeue {}", d.ticket);
        tokio::join!(t.send(updates::private_text(&first, &command)), t.send(updates::private_text(&second, &command)));
        let replies = [t.telegram.texts(first.id).pop().unwrap(), t.telegram.texts(second.id).pop().unwrap()];
        let done = replies.iter().filter(|r| **r == texts::requeued_done(d.ticket)).count();
        let again = replies.iter().filter(|r| **r == texts::not_in_work(d.ticket, true)).count();
        assert_eq!((done, again), (1, 1), "{replies:#?}");
        assert_eq!(count(&t, "SELECT count(*) FROM ticket_handovers WHERE ticket_id = $1", d.ticket).await, 1);
        assert_eq!(live_cards(&t, d.ticket).len(), 1);
        let told =
            t.telegram.texts(d.customer.id).iter().filter(|x| **x == texts::passing_on_customer(d.ticket)).count();
        assert_eq!(told, 1, "the customer is told once");
        assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    }
}

#[tokio::test]
async fn a_customer_cancels_while_an_operator_claims() {
    let t = spawn_app().await;
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    let (mut cancelled, mut claimed) = (0, 0);
    for n in 1..=ROUNDS * 2 {
        let customer = TgUser::customer(n);
        let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
        let position = t.last(customer.id);
        let cancel = updates::callback(&customer, customer.id, position.message_id, &format!("cancel:{ticket}"));
        let (cancel, claim) = press_at_once(&t, cancel, claim_press(&operator, ticket, &card)).await;
        match t.ticket_status(ticket).await {
            (Status::Closed, _) => {
                cancelled += 1;
                assert_eq!(claim.text, Some(texts::alert_closed(ticket)));
                let reason =
                    count(&t, "SELECT count(*) FROM tickets WHERE id = $1 AND close_reason = 'cancelled'", ticket);
                assert_eq!(reason.await, 1);
                assert!(!t.telegram.texts(customer.id).contains(&texts::OPERATOR_CONNECTED.to_owned()));
            }
            (Status::Assigned, Some(id)) if id == operator.id => {
                claimed += 1;
                assert_eq!(cancel.text.as_deref(), Some(texts::ALERT_ALREADY_IN_DIALOG));
                assert_eq!(t.telegram.texts(customer.id).last().map(String::as_str), Some(texts::OPERATOR_CONNECTED));
                t.send(updates::private_text(&operator, "/close")).await;
            }
            other => panic!("inconsistent: {other:?}"),
        }
        assert!(live_cards(&t, ticket).is_empty());
    }
    assert_eq!(cancelled + claimed, ROUNDS * 2);
}

#[tokio::test]
async fn a_requeue_during_a_burst_of_customer_messages_loses_and_repeats_nothing() {
    let t = spawn_app().await;
    let supervisor = TgUser::operator(90);
    t.make_supervisor(supervisor.id);
    for n in 1..=ROUNDS {
        let d = t.open_dialog(n, Topic::Other).await;
        let burst: Vec<String> = (1..=8).map(|i| format!("сообщение {n}.{i}")).collect();
        let sends = burst.iter().map(|text| t.send(updates::private_text(&d.customer, text)));
        let requeue = t.send(updates::private_text(&supervisor, &format!("/requeue {}", d.ticket)));
        let (_, _) = tokio::join!(futures::future::join_all(sends), requeue);
        assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
        t.make_outbox_due().await;
        t.redeliver().await;
        let colleague = TgUser::operator(300 + n);
        t.make_operator(colleague.id);
        let card = live_cards(&t, d.ticket).remove(0);
        t.claim(&colleague, d.ticket, &card).await;
        let first = t.telegram.texts(d.operator.id);
        let got = t.telegram.texts(colleague.id);
        for text in &burst {
            let copies = got.iter().filter(|m| *m == text).count();
            let in_story = got.iter().filter(|m| m.lines().any(|l| l.ends_with(&format!(": {text}")))).count();
            assert_eq!(copies + in_story, 1, "{text}: once for the new operator: {got:#?}");
            let delivered_first = first.iter().filter(|m| *m == text).count();
            assert_eq!(delivered_first, in_story, "{text}: in the story exactly when the first operator got it");
        }
        t.send(updates::private_text(&colleague, "/close")).await;
    }
}

/// What `chat` received after its first `skip` messages, as texts.
fn texts_after(t: &TestApp, chat: i64, skip: usize) -> Vec<String> {
    t.telegram.texts(chat).into_iter().skip(skip).collect()
}

/// How many of `texts` repeat the one before them (a call made again).
fn repeats(texts: &[String]) -> usize {
    texts.windows(2).filter(|w| w[0] == w[1]).count()
}

#[tokio::test]
async fn a_transfer_killed_after_any_of_its_calls_ends_handed_over_once_and_the_next_operator_misses_nothing() {
    // Kills after the k-th call of a transfer: calls paced to later would move the kill points.
    let t = zabota_testkit::spawn_app_without_limits().await;
    let colleague = TgUser::operator(500);
    t.make_operator(colleague.id);
    // Round k: the process dies (a Lambda timing out) right after Telegram got the transfer's k-th call; the last
    // round is not killed at all. Telegram then redelivers the update and the maintenance run sends what is left.
    let (mut kills, mut redone, mut repeated_calls) = (0, 0, 0);
    for k in 1..=7 {
        let d = t.open_dialog(k, Topic::Return).await;
        t.send(updates::private_text(&d.customer, "before")).await;
        // Two more messages wait for the operator behind a 429: the transfer cancels them, the colleague gets them.
        t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 60 }, 1);
        t.send(updates::private_text(&d.customer, "waiting a")).await;
        t.send(updates::private_text(&d.customer, "waiting b")).await;
        let seen: Vec<(i64, usize)> = [d.customer.id, d.operator.id, OPERATORS_CHAT_ID, colleague.id]
            .into_iter()
            .map(|chat| (chat, t.telegram.texts(chat).len()))
            .collect();
        let transfer = updates::private_text(&d.operator, "/transfer");
        let target = t.telegram.calls().len() + k as usize;
        // Checked first each time the processing wakes up: the kill lands as the k-th call's answer arrives, before
        // it is recorded (the worst moment). It needs no waker of its own: the processing is always waiting on
        // something that wakes the task.
        let killer = std::future::poll_fn(|_| {
            if t.telegram.calls().len() >= target { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
        });
        tokio::select! {
            biased;
            () = killer => {
                kills += 1;
                let again = Box::pin(t.try_send(transfer)).await.unwrap();
                assert!(matches!(again, Outcome::Processed | Outcome::Duplicate), "round {k}: {again:?}");
                redone += usize::from(again == Outcome::Processed);
            }
            // Boxed: the whole update's future is too deep for a test thread's stack in a debug build.
            done = Box::pin(t.try_send(transfer.clone())) => {
                done.unwrap();
                eprintln!("round {k}: not killed, {} calls", t.telegram.calls().len() + k as usize - target);
            }
        }
        t.make_outbox_due().await;
        t.redeliver().await;

        assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None), "round {k}");
        let handed = count(&t, "SELECT count(*) FROM ticket_handovers WHERE ticket_id = $1", d.ticket).await;
        assert_eq!(handed, 1, "round {k}: one hand-over");
        let live = live_cards(&t, d.ticket);
        // Two only when the fresh card's post was the call in flight (made again, the first copy never recorded).
        assert!(live.len() == 1 || live.len() == 2 && live[0].text == live[1].text, "round {k}: {live:#?}");
        let old = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == d.card.message_id);
        assert_eq!(old.unwrap().reply_markup, None, "round {k}: the old card invites nothing");
        let after = |chat: i64| texts_after(&t, chat, seen.iter().find(|(c, _)| *c == chat).unwrap().1);
        let (customer, operator, cards) = (after(d.customer.id), after(d.operator.id), after(OPERATORS_CHAT_ID));
        let mut once = customer.clone();
        once.dedup();
        assert_eq!(once, [texts::passing_on_customer(d.ticket), texts::queue_position(1, None)], "round {k}");
        let mut told = operator.clone();
        told.dedup();
        assert_eq!(told, [texts::transferred_operator(d.ticket)], "round {k}: told, and the waiting copies cancelled");
        let repeated = repeats(&customer) + repeats(&operator) + repeats(&cards);
        assert!(repeated <= 1, "round {k}: only the call in flight may repeat: {customer:?} {operator:?} {cards:?}");
        repeated_calls += repeated;
        assert_eq!(t.db.count("outbox WHERE status NOT IN ('sent', 'cancelled')").await, 0, "round {k}");

        // The colleague takes it over: the story, then what waited, each once.
        let answer = t.claim(&colleague, d.ticket, live.last().unwrap()).await;
        assert_eq!(answer.text, Some(texts::claimed(d.ticket)), "round {k}");
        // A duplicate fresh card is settled the moment anyone presses it.
        for orphan in &live[..live.len() - 1] {
            let late = TgUser::operator(600 + k);
            t.make_operator(late.id);
            assert_eq!(t.claim(&late, d.ticket, orphan).await.text, Some(texts::alert_taken(d.ticket)), "round {k}");
        }
        t.make_outbox_due().await;
        t.redeliver().await;
        assert_eq!(live_cards(&t, d.ticket).len(), 0, "round {k}: no card invites a claim any more");
        t.make_outbox_due().await;
        t.redeliver().await;
        let got = after(colleague.id);
        assert_eq!(got.iter().filter(|s| s.starts_with(&texts::story_header(d.ticket, 1))).count(), 1, "{got:#?}");
        for text in ["waiting a", "waiting b"] {
            assert_eq!(got.iter().filter(|s| *s == text).count(), 1, "round {k}: {text:?} once: {got:#?}");
        }
        assert!(!got.contains(&"before".to_owned()), "round {k}: what the first operator got is in the story");
        t.send(updates::private_text(&colleague, "/close")).await;
    }
    assert_eq!(kills, 6, "a transfer makes 6 calls: each round but the last was killed after one of them");
    eprintln!("killed transfers: {kills} kills, {redone} redone from scratch, {repeated_calls} calls repeated");
}
