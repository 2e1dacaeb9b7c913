//! Bans: a supervisor's `/ban N [reason]` closes the customer's open ticket, and from then on nothing they send,
//! edit, press or react reaches an operator or opens a ticket; all of it is stored, and they get one polite reply
//! a day. `/unban USER_ID` lifts it, `/bans` lists them; only supervisors may use them, and never against staff.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use chrono::{Duration, Utc};
use zabota_core::db::tickets::Status;
use zabota_core::domain::{CloseReason, Topic};
use zabota_core::maintenance::run_all;
use zabota_core::texts;
use zabota_testkit::{Dialog, OPERATORS_CHAT_ID, TestApp, TgUser, spawn_app, updates};

async fn close_reason(t: &TestApp, ticket: i64) -> Option<CloseReason> {
    let row = t.db.row("SELECT close_reason FROM tickets WHERE id = $1", &[&ticket]).await;
    row.get::<_, Option<&str>>(0).map(|r| CloseReason::parse(r).unwrap())
}

/// The supervisor, made an administrator of the operators' chat.
fn supervisor(t: &TestApp) -> TgUser {
    let supervisor = TgUser::operator(90);
    t.make_supervisor(supervisor.id);
    supervisor
}

/// What banned `tg_id` sent, as stored: (event, content type, body, file id), oldest first.
async fn stored(t: &TestApp, tg_id: i64) -> Vec<(String, Option<String>, Option<String>, Option<String>)> {
    let rows = t
        .db
        .rows("SELECT event, content_type, body, file_id FROM banned_messages WHERE tg_id = $1 ORDER BY id", &[&tg_id])
        .await;
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
}

/// How many messages each of `chats` has received: what a banned customer must not change.
fn others_received(t: &TestApp, chats: &[i64]) -> Vec<(i64, usize)> {
    chats.iter().map(|&chat| (chat, t.telegram.received(chat).len())).collect()
}

#[tokio::test]
async fn a_ban_ends_the_dialog_and_nothing_the_customer_does_afterwards_reaches_anyone_but_is_all_stored() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, card } = t.open_dialog(1, Topic::Return).await;
    t.send(updates::private_text(&customer, "Верните деньги немедленно!!!")).await;
    let boss = supervisor(&t);
    let (customer_saw, operator_saw) = (t.telegram.received(customer.id).len(), t.telegram.received(operator.id).len());

    t.in_operators_chat(&boss, &format!("/ban {ticket} оскорбления")).await;

    assert_eq!(t.ticket_status(ticket).await.0, Status::Closed);
    assert_eq!(close_reason(&t, ticket).await, Some(CloseReason::Banned));
    let told: Vec<String> = t.telegram.texts(customer.id).into_iter().skip(customer_saw).collect();
    assert_eq!(told, [texts::BANNED_REPLY], "the customer is told once, politely");
    assert_eq!(t.last(customer.id).reply_markup, None, "no «В начало»: the menu leads nowhere now");
    let operator_got: Vec<String> = t.telegram.texts(operator.id).into_iter().skip(operator_saw).collect();
    assert_eq!(operator_got, [texts::dialog_closed_for_operator(ticket, CloseReason::Banned)]);
    let group = t.telegram.received(OPERATORS_CHAT_ID);
    let old_card = group.iter().find(|m| m.message_id == card.message_id).unwrap();
    assert_eq!(old_card.text, Some(texts::card_closed(ticket, CloseReason::Banned)));
    assert_eq!(
        t.last(OPERATORS_CHAT_ID).text,
        Some(texts::ban_done(ticket, "@customer1", customer.id, Some(ticket))),
        "the supervisor is told, with the /unban to lift it"
    );
    let ban = t.db.row("SELECT ticket_id, reason, banned_by, replied_at IS NOT NULL FROM bans", &[]).await;
    assert_eq!(
        (ban.get::<_, Option<i64>>(0), ban.get::<_, Option<String>>(1), ban.get::<_, i64>(2), ban.get::<_, bool>(3)),
        (Some(ticket), Some("оскорбления".to_owned()), boss.id, true)
    );

    // Everything they do now: a text, a photo, the whole intake, an edit, a reaction.
    let watched = [customer.id, operator.id, OPERATORS_CHAT_ID, boss.id];
    let before = others_received(&t, &watched);
    let first = updates::private_text(&customer, "Я буду жаловаться");
    t.send(first.clone()).await;
    t.send(updates::photo(&customer, "proof", Some("вот"))).await;
    t.send(updates::command(&customer, "/start")).await;
    let answer = t.press(&customer, "topic:return").await;
    assert_eq!((answer.text, answer.show_alert), (None, false), "the press is answered, silently");
    t.press(&customer, "operator:return").await;
    t.send(updates::private_text(&customer, "+79161234567")).await;
    t.send(updates::edited(&first, serde_json::json!({ "text": "Я буду очень жаловаться" }), 10)).await;
    t.send(updates::reaction(&customer, first["message"]["message_id"].as_i64().unwrap(), Some("👎"))).await;

    assert_eq!(others_received(&t, &watched), before, "nobody got anything: the day's reply went with the ban");
    assert_eq!(t.db.count("tickets").await, 1, "no ticket opened");
    let kept = stored(&t, customer.id).await;
    let events: Vec<&str> = kept.iter().map(|(e, ..)| e.as_str()).collect();
    assert_eq!(events, ["message", "message", "message", "press", "press", "message", "edit", "reaction"]);
    assert_eq!(kept[0].2.as_deref(), Some("Я буду жаловаться"));
    assert_eq!(
        (kept[1].1.as_deref(), kept[1].2.as_deref(), kept[1].3.as_deref()),
        (Some("photo"), Some("вот"), Some("proof"))
    );
    assert_eq!(kept[3].2.as_deref(), Some("topic:return"));
    assert_eq!(kept[6].2.as_deref(), Some("Я буду очень жаловаться"));
    assert!(kept[7].2.as_deref().unwrap().contains("👎"), "{kept:?}");
    assert_eq!(t.db.count("ticket_messages WHERE message_text LIKE 'Я буду%'").await, 0, "not in any dialog");
    let dialog_state = t.db.row("SELECT dialog_state FROM users WHERE tg_id = $1", &[&customer.id]).await;
    assert_eq!(dialog_state.get::<_, String>(0), "menu", "no phone step waits for them");
}

#[tokio::test]
async fn a_banned_customer_gets_one_polite_reply_a_day_and_is_welcome_again_after_unban() {
    let t = spawn_app().await;
    let boss = supervisor(&t);
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Warranty).await;
    // Banned from the supervisor's private chat this time, while the ticket waits.
    t.send(updates::private_text(&boss, &format!("/ban #{ticket}"))).await;
    assert_eq!(t.last(boss.id).text, Some(texts::ban_done(ticket, "@customer1", customer.id, Some(ticket))));
    let card_now = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == card.message_id);
    assert_eq!(card_now.unwrap().text, Some(texts::card_closed(ticket, CloseReason::Banned)));
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    let answer = t.claim(&operator, ticket, &card).await;
    assert!(answer.show_alert, "the old card claims nothing: {answer:?}");
    assert_eq!(t.ticket_status(ticket).await, (Status::Closed, None));

    let saw = t.telegram.received(customer.id).len();
    for text in ["алло", "ответьте", "ну пожалуйста"] {
        t.send(updates::private_text(&customer, text)).await;
    }
    assert_eq!(t.telegram.received(customer.id).len(), saw, "the ban's own reply was today's");

    // A day later: one more reply for the first message, none for the next.
    t.db.execute("UPDATE bans SET replied_at = now() - interval '24 hours 1 minute'").await;
    t.send(updates::private_text(&customer, "прошли сутки")).await;
    t.press(&customer, "home").await;
    let got: Vec<String> = t.telegram.texts(customer.id).into_iter().skip(saw).collect();
    assert_eq!(got, [texts::BANNED_REPLY]);
    assert_eq!(stored(&t, customer.id).await.len(), 5, "all of it kept");

    t.in_operators_chat(&boss, "/bans").await;
    let listed = t.last(OPERATORS_CHAT_ID).text.unwrap();
    assert!(listed.starts_with(&texts::bans_header(1)), "{listed}");
    assert!(listed.contains(&format!("• {} — @customer1, с ", customer.id)), "{listed}");
    assert!(listed.contains(&format!("заявка #{ticket}. Писал с тех пор: 5")), "{listed}");

    t.in_operators_chat(&boss, &format!("/unban {}", customer.id)).await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text, Some(texts::unbanned(customer.id)));
    t.in_operators_chat(&boss, &format!("/unban {}", customer.id)).await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text, Some(texts::not_banned(customer.id)));
    t.in_operators_chat(&boss, "/bans").await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text.as_deref(), Some(texts::NO_BANS));
    let lifted = t.db.row("SELECT lifted_by FROM bans", &[]).await;
    assert_eq!(lifted.get::<_, Option<i64>>(0), Some(boss.id), "the lifted ban stays as history");

    // Welcome back: the whole intake works again.
    let (again, _) = t.queue_ticket(&customer, Topic::Warranty).await;
    assert_eq!(t.ticket_status(again).await, (Status::Waiting, None));
    assert_eq!(stored(&t, customer.id).await.len(), 5, "nothing stored once the ban is lifted");
}

#[tokio::test]
async fn only_supervisors_ban_never_staff_and_every_bad_command_gets_a_clear_reply_with_nothing_changed() {
    let t = spawn_app().await;
    let boss = supervisor(&t);
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;

    // An operator (not a supervisor) in the operators' chat.
    t.in_operators_chat(&operator, &format!("/ban {ticket}")).await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text.as_deref(), Some(texts::ONLY_SUPERVISORS));
    // A customer with no open ticket, in their private chat.
    let outsider = TgUser::customer(7);
    t.send(updates::command(&outsider, "/start")).await;
    t.send(updates::private_text(&outsider, &format!("/ban {ticket}"))).await;
    assert_eq!(t.last(outsider.id).text.as_deref(), Some(texts::ONLY_SUPERVISORS));
    t.send(updates::private_text(&outsider, "/bans")).await;
    assert_eq!(t.last(outsider.id).text.as_deref(), Some(texts::ONLY_SUPERVISORS), "customers never see the list");
    assert_eq!(t.db.count("bans").await, 0);

    let replies = [
        ("/ban".to_owned(), texts::BAN_USAGE.to_owned()),
        ("/ban спамер".to_owned(), texts::BAN_USAGE.to_owned()),
        ("/ban 999".to_owned(), texts::no_such_ticket(999)),
        ("/unban".to_owned(), texts::UNBAN_USAGE.to_owned()),
        ("/unban @customer1".to_owned(), texts::UNBAN_USAGE.to_owned()),
        (format!("/unban {}", customer.id), texts::not_banned(customer.id)),
        ("/bans".to_owned(), texts::NO_BANS.to_owned()),
    ];
    for (command, reply) in replies {
        t.in_operators_chat(&boss, &command).await;
        assert_eq!(t.last(OPERATORS_CHAT_ID).text, Some(reply), "{command}");
    }
    assert_eq!(t.ticket_status(ticket).await, (Status::Assigned, Some(operator.id)), "nothing changed");

    // A colleague who opened a ticket as a customer (testing the bot) is not banned.
    let colleague = TgUser::operator(5);
    t.make_operator(colleague.id);
    let (theirs, _) = t.queue_ticket(&colleague, Topic::Other).await;
    t.in_operators_chat(&boss, &format!("/ban {theirs}")).await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text, Some(texts::cannot_ban_staff(theirs)));
    assert_eq!(t.ticket_status(theirs).await, (Status::Waiting, None));

    // Twice: the second says so.
    t.in_operators_chat(&boss, &format!("/ban {ticket}")).await;
    t.in_operators_chat(&boss, &format!("/ban {ticket} ещё раз")).await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text, Some(texts::already_banned(ticket, customer.id)));
    assert_eq!(t.db.count("bans").await, 1);
    assert_eq!(close_reason(&t, ticket).await, Some(CloseReason::Banned));
}

#[tokio::test]
async fn a_supervisor_in_a_dialog_bans_from_it_and_a_bare_ban_is_for_their_customer() {
    let t = spawn_app().await;
    let other = t.open_dialog(2, Topic::Warranty).await;
    let boss = TgUser::operator(1);
    let d = t.open_dialog_between(TgUser::customer(1), boss.clone(), Topic::Return).await;
    t.make_supervisor(boss.id);

    t.send(updates::private_text(&boss, "/ban")).await;
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some("/ban"), "relayed: not a complete command");
    t.send(updates::private_text(&boss, &format!("/ban {} флуд", other.ticket))).await;
    assert_eq!(
        t.last(boss.id).text,
        Some(texts::ban_done(other.ticket, "@customer2", other.customer.id, Some(other.ticket)))
    );
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some("/ban"), "nothing else reached their own customer");
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(boss.id)), "their own dialog goes on");
    assert_eq!(close_reason(&t, other.ticket).await, Some(CloseReason::Banned));
}

/// A ban and the customer's own phone step at the same moment, for many customers: whichever commits first, no
/// banned customer is left with an open ticket or a card inviting a claim.
#[tokio::test]
async fn a_ban_racing_the_customers_phone_step_leaves_no_open_ticket() {
    let t = spawn_app().await;
    let boss = supervisor(&t);
    let mut customers = Vec::new();
    for n in 1..=8 {
        let customer = TgUser::customer(n);
        // An earlier ticket, closed, is what /ban names; the customer is at the phone step of a new one.
        let (old, _) = t.queue_ticket(&customer, Topic::Warranty).await;
        t.send(updates::command(&customer, "/cancel")).await;
        t.ask_for_operator(&customer, Topic::Return).await;
        customers.push((customer, old));
    }
    let races = customers.iter().map(|(customer, old)| {
        let (t, boss, command) = (&t, &boss, format!("/ban {old}"));
        async move {
            tokio::join!(t.in_operators_chat(boss, &command), t.send(updates::private_text(customer, "+79161234567")))
        }
    });
    futures_util::future::join_all(races).await;

    for (customer, _) in &customers {
        let open =
            t.db.count(&format!(
                "tickets t JOIN users u ON u.id = t.user_id WHERE u.tg_id = {} AND t.status <> 'CLOSED'",
                customer.id
            ))
            .await;
        assert_eq!(open, 0, "customer {} has no open ticket", customer.id);
    }
    assert_eq!(t.db.count("bans WHERE lifted_at IS NULL").await, 8);
    let closed_by_ban = t.db.count("tickets WHERE close_reason = 'banned'").await;
    let new_tickets = t.db.count("tickets WHERE topic = 'return'").await;
    assert_eq!(closed_by_ban, new_tickets, "every ticket the phone step opened was closed by the ban");
    // What the group's budget deferred goes out (time passes), and a card that was on its way when the ban
    // closed its ticket is settled by the maintenance's stale-card pass.
    for _ in 0..20 {
        run_all(&t.app, Utc::now()).await;
        t.make_outbox_due().await;
        t.redeliver().await;
        if t.db.count("outbox WHERE status = 'pending'").await == 0 {
            break;
        }
    }
    assert_eq!(t.db.count("outbox WHERE status = 'pending'").await, 0, "the outbox drained");
    let live: Vec<_> = t
        .telegram
        .received(OPERATORS_CHAT_ID)
        .into_iter()
        .filter(|m| m.callback_data().iter().any(|d| d.starts_with("claim:") || d.starts_with("board:")))
        .collect();
    assert!(live.is_empty(), "no card invites a claim: {live:#?}");
}

#[tokio::test]
async fn retention_keeps_a_ban_in_force_however_old_and_forgets_what_is_past_the_floor() {
    let t = spawn_app().await; // HISTORY_RETENTION_DAYS 365
    let boss = supervisor(&t);
    let (banned, lifted) = (TgUser::customer(1), TgUser::customer(2));
    for customer in [&banned, &lifted] {
        let (ticket, _) = t.queue_ticket(customer, Topic::Warranty).await;
        t.in_operators_chat(&boss, &format!("/ban {ticket}")).await;
        t.send(updates::private_text(customer, "старое")).await;
        t.send(updates::private_text(customer, "новое")).await;
    }
    t.in_operators_chat(&boss, &format!("/unban {}", lifted.id)).await;
    t.db.execute(
        "UPDATE bans SET banned_at = now() - interval '700 days', lifted_at = lifted_at - interval '366 days' \
             WHERE lifted_at IS NOT NULL;
         UPDATE bans SET banned_at = now() - interval '700 days' WHERE lifted_at IS NULL;
         UPDATE banned_messages SET created_at = now() - interval '366 days' WHERE body = 'старое'",
    )
    .await;

    run_all(&t.app, Utc::now()).await;
    assert_eq!(t.db.count("bans").await, 1, "the lifted ban past the floor went, the one in force stays");
    assert_eq!(stored(&t, banned.id).await.iter().map(|m| m.2.clone().unwrap()).collect::<Vec<_>>(), ["новое"]);
    assert_eq!(stored(&t, lifted.id).await.len(), 0, "went with its ban");
    // A year on, the ban still holds.
    run_all(&t.app, Utc::now() + Duration::days(400)).await;
    let saw = t.telegram.received(banned.id).len();
    t.db.execute("UPDATE bans SET replied_at = NULL").await;
    t.send(updates::command(&banned, "/start")).await;
    let got: Vec<String> = t.telegram.texts(banned.id).into_iter().skip(saw).collect();
    assert_eq!(got, [texts::BANNED_REPLY]);
}
