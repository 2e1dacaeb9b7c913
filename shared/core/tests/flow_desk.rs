//! The operator desk: an operator hands a dialog to a colleague (`/transfer`, «Передать коллеге») or ends it
//! (`/close`); supervisors take tickets back (`/requeue N`) or close them (`/close N`); someone removed from the
//! operators' chat loses their dialog; whoever takes a ticket over gets the dialog so far; customers see their
//! place in the queue and can cancel; stale cards never claim.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use chrono::{Duration, Utc};
use zabota_core::db::tickets::Status;
use zabota_core::domain::{CloseReason, HandoverKind, Topic};
use zabota_core::maintenance::{JobReport, run_all};
use zabota_core::texts;
use zabota_testkit::{Dialog, Fault, OPERATORS_CHAT_ID, Received, TestApp, TgUser, spawn_app, spawn_app_with, updates};

fn affected(reports: &[JobReport], job: &str) -> Option<u64> {
    reports.iter().find(|r| r.job == job).unwrap_or_else(|| panic!("no job {job}")).affected
}

/// `chat`'s message `message_id` as it looks now.
fn message(t: &TestApp, chat: i64, message_id: i64) -> Received {
    let found = t.telegram.received(chat).into_iter().find(|m| m.message_id == message_id);
    found.unwrap_or_else(|| panic!("chat {chat} has message {message_id}"))
}

/// What `chat` received after its first `skip` messages, as texts (captions for media).
fn texts_after(t: &TestApp, chat: i64, skip: usize) -> Vec<String> {
    t.telegram.texts(chat).into_iter().skip(skip).collect()
}

/// The operators' chat's newest card: the one with a «Взять в работу» button for `ticket`.
fn live_cards(t: &TestApp, ticket: i64) -> Vec<Received> {
    let claim = format!("claim:{ticket}");
    t.telegram.received(OPERATORS_CHAT_ID).into_iter().filter(|m| m.callback_data().contains(&claim)).collect()
}

/// The single card inviting a claim of `ticket`.
fn the_live_card(t: &TestApp, ticket: i64) -> Received {
    let live = live_cards(t, ticket);
    assert_eq!(live.len(), 1, "exactly one live card of #{ticket}: {live:#?}");
    live.into_iter().next().unwrap()
}

/// The operator's summary of `ticket` (the message with «Завершить диалог» when it was sent).
fn summary_of(t: &TestApp, operator: i64, ticket: i64) -> Received {
    let summaries: Vec<Received> = t
        .telegram
        .received(operator)
        .into_iter()
        .filter(|m| m.text.as_deref().is_some_and(|x| x.starts_with("Вы взяли заявку в работу.")))
        .collect();
    let found = summaries.into_iter().rfind(|m| m.text.as_deref().unwrap().contains(&format!("#{ticket}")));
    found.unwrap_or_else(|| panic!("operator {operator} got a summary of #{ticket}"))
}

async fn handovers(t: &TestApp, ticket: i64) -> Vec<(HandoverKind, i64, Option<i64>, Option<String>)> {
    let rows =
        t.db.rows(
            "SELECT kind, operator_tg_id, by_tg_id, comment FROM ticket_handovers WHERE ticket_id = $1 ORDER BY id",
            &[&ticket],
        )
        .await;
    rows.iter().map(|r| (HandoverKind::parse(r.get(0)).unwrap(), r.get(1), r.get(2), r.get(3))).collect()
}

async fn close_reason(t: &TestApp, ticket: i64) -> Option<CloseReason> {
    let row = t.db.row("SELECT close_reason FROM tickets WHERE id = $1", &[&ticket]).await;
    row.get::<_, Option<&str>>(0).map(|r| CloseReason::parse(r).unwrap())
}

/// What a customer is told when their ticket goes back to the queue (the only one waiting): it is being passed on,
/// and their place in the queue with «Отменить обращение».
fn passed_on(ticket: i64) -> [String; 2] {
    [texts::passing_on_customer(ticket), texts::queue_position(1, None)]
}

/// A dialog between customer 1 and operator 1 in which each said something; operator 2 is an operator too.
async fn a_dialog_with_history(t: &TestApp) -> (Dialog, TgUser) {
    let d = t.open_dialog(1, Topic::Return).await;
    t.send(updates::private_text(&d.customer, "Здравствуйте, чайник не греет")).await;
    t.send(updates::private_text(&d.operator, "Пришлите, пожалуйста, фото чека")).await;
    t.send(updates::photo(&d.customer, "chek", None)).await;
    let colleague = TgUser::operator(2);
    t.make_operator(colleague.id);
    (d, colleague)
}

#[tokio::test]
async fn transfer_hands_the_dialog_to_a_colleague_who_gets_the_whole_story_then_what_waited() {
    let t = spawn_app().await;
    let (d, colleague) = a_dialog_with_history(&t).await;
    let (customer_saw, operator_saw) =
        (t.telegram.received(d.customer.id).len(), t.telegram.received(d.operator.id).len());

    t.send(updates::private_text(&d.operator, "/transfer нужен специалист по гарантии")).await;

    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    assert_eq!(texts_after(&t, d.customer.id, customer_saw), passed_on(d.ticket));
    assert_eq!(texts_after(&t, d.operator.id, operator_saw), [texts::transferred_operator(d.ticket)]);
    assert_eq!(summary_of(&t, d.operator.id, d.ticket).reply_markup, None, "the old summary lost its buttons");
    let old_card = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == d.card.message_id);
    let old_card = old_card.unwrap();
    assert_eq!(
        old_card.text.as_deref(),
        Some(texts::card_handed_over(d.ticket, HandoverKind::Transferred, "@operator1").as_str())
    );
    assert_eq!(old_card.reply_markup, None);
    let card = the_live_card(&t, d.ticket);
    let header = texts::card_handover_header(
        HandoverKind::Transferred,
        "@operator1",
        "@operator1",
        Some("нужен специалист по гарантии"),
    );
    assert!(card.text.as_deref().unwrap().starts_with(&format!("{header}\nНовый клиент #{}", d.ticket)), "{card:#?}");
    assert_eq!(
        handovers(&t, d.ticket).await,
        [(HandoverKind::Transferred, d.operator.id, Some(d.operator.id), Some("нужен специалист по гарантии".into()))]
    );

    // The customer writes while the ticket waits again; the colleague claims the fresh card.
    t.send(updates::private_text(&d.customer, "Я ещё здесь")).await;
    assert_eq!(
        texts_after(&t, d.operator.id, operator_saw + 1),
        Vec::<String>::new(),
        "nothing reaches the first operator"
    );
    t.claim(&colleague, d.ticket, &card).await;
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(colleague.id)));
    let got = t.telegram.texts(colleague.id);
    assert_eq!(got.len(), 4, "summary, story, the photo again, what waited: {got:#?}");
    assert!(got[0].starts_with("Вы взяли заявку в работу."), "{got:#?}");
    let story: Vec<&str> = got[1].lines().collect();
    assert_eq!(story[0], texts::story_header(d.ticket, 3));
    assert!(story[1].ends_with("Клиент @customer1: Здравствуйте, чайник не греет"), "{story:#?}");
    assert!(story[2].ends_with("Оператор @operator1: Пришлите, пожалуйста, фото чека"), "{story:#?}");
    assert!(story[3].ends_with("Клиент @customer1: [фото, копия ниже]"), "{story:#?}");
    let received = t.telegram.received(colleague.id);
    assert_eq!(received[2].method, "copyMessage", "the photo itself follows the transcript");
    assert_eq!(received[2].params["from_chat_id"], d.customer.id);
    assert_eq!((received[3].method.as_str(), got[3].as_str()), ("copyMessage", "Я ещё здесь"));
    assert_eq!(t.telegram.texts(d.customer.id).last().map(String::as_str), Some(texts::OPERATOR_CONNECTED));
    // Every card of the ticket now says who has it.
    assert!(live_cards(&t, d.ticket).is_empty());
}

#[tokio::test]
async fn the_transfer_button_under_the_summary_does_the_same_and_only_for_the_operator_of_the_dialog() {
    let t = spawn_app().await;
    let (d, colleague) = a_dialog_with_history(&t).await;
    let summary = summary_of(&t, d.operator.id, d.ticket);
    assert_eq!(summary.callback_data(), [format!("close:{}", d.ticket), format!("transfer:{}", d.ticket)]);

    let press = |who: &TgUser| updates::callback(who, who.id, summary.message_id, &format!("transfer:{}", d.ticket));
    let refused = t.answer_to(press(&colleague)).await;
    assert_eq!((refused.text.as_deref(), refused.show_alert), (Some(texts::ALERT_NOT_YOURS), true));
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(d.operator.id)));

    let answer = t.answer_to(press(&d.operator)).await;
    assert_eq!((answer.text, answer.show_alert), (None, false));
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), &texts::transferred_operator(d.ticket));
    assert_eq!(handovers(&t, d.ticket).await.len(), 1);
    let header = texts::card_handover_header(HandoverKind::Transferred, "@operator1", "@operator1", None);
    assert!(the_live_card(&t, d.ticket).text.unwrap().starts_with(&header));

    let again = t.answer_to(press(&d.operator)).await;
    assert_eq!(again.text.as_deref(), Some(texts::ALERT_NOT_YOURS), "the ticket is no longer theirs");
    assert_eq!(handovers(&t, d.ticket).await.len(), 1);
}

#[tokio::test]
async fn close_ends_the_dialog_like_the_button_and_other_commands_are_relayed() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Warranty).await;
    t.send(updates::private_text(&d.operator, "/help — это я клиенту пишу")).await;
    assert_eq!(t.telegram.texts(d.customer.id).last().unwrap(), "/help — это я клиенту пишу");
    t.send(updates::private_text(&d.customer, "/close 5")).await;
    assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), "/close 5", "a customer's text is theirs");
    t.send(updates::private_text(&d.customer, "/transfer")).await;
    assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), "/transfer");

    t.send(updates::private_text(&d.operator, "/close")).await;
    assert_eq!(t.ticket_status(d.ticket).await.0, Status::Closed);
    assert_eq!(close_reason(&t, d.ticket).await, Some(CloseReason::Operator));
    let customer = t.telegram.received(d.customer.id).into_iter().rev().nth(1).unwrap();
    assert_eq!(customer.text.as_deref(), Some(texts::OPERATOR_DISCONNECTED));
    assert_eq!(customer.callback_data(), ["home"]);
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some(texts::RATE_PLEASE));
    assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), &texts::closed_for_operator(d.ticket));
    assert_eq!(summary_of(&t, d.operator.id, d.ticket).reply_markup, None);

    for command in ["/close", "/transfer кому-нибудь"] {
        t.send(updates::private_text(&d.operator, command)).await;
        assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), texts::NO_DIALOG_TO_HAND_OVER, "{command}");
    }
}

#[tokio::test]
async fn a_supervisor_requeues_an_assigned_ticket_from_the_operators_chat_and_the_next_operator_gets_the_story() {
    let t = spawn_app().await;
    let (d, colleague) = a_dialog_with_history(&t).await;
    let supervisor = TgUser::operator(9);
    t.make_supervisor(supervisor.id);
    let operator_saw = t.telegram.received(d.operator.id).len();

    t.in_operators_chat(&supervisor, &format!("/requeue {}", d.ticket)).await;

    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    assert_eq!(texts_after(&t, d.operator.id, operator_saw), [texts::requeued_operator(d.ticket, "@operator9")]);
    assert!(t.telegram.texts(d.customer.id).ends_with(&passed_on(d.ticket)));
    let group = t.telegram.texts(OPERATORS_CHAT_ID);
    assert!(group.contains(&texts::requeued_done(d.ticket)), "{group:#?}");
    let card = the_live_card(&t, d.ticket);
    let header = texts::card_handover_header(HandoverKind::Requeued, "@operator1", "@operator9", None);
    assert!(card.text.as_deref().unwrap().starts_with(&header), "{card:#?}");
    assert_eq!(handovers(&t, d.ticket).await, [(HandoverKind::Requeued, d.operator.id, Some(supervisor.id), None)]);

    // The former operator's messages are no longer theirs to send.
    t.send(updates::private_text(&d.operator, "А ещё...")).await;
    assert!(t.telegram.texts(d.customer.id).ends_with(&passed_on(d.ticket)));

    t.claim(&colleague, d.ticket, &card).await;
    let story = &t.telegram.texts(colleague.id)[1];
    assert!(story.starts_with(&texts::story_header(d.ticket, 3)), "{story}");
    assert!(!story.contains("А ещё"), "what was never part of the dialog is not in its story");
}

#[tokio::test]
async fn a_supervisor_closes_tickets_in_any_state_from_their_private_chat() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let waiting_customer = TgUser::customer(2);
    let (waiting, waiting_card) = t.queue_ticket(&waiting_customer, Topic::Warranty).await;
    let supervisor = TgUser::operator(9);
    t.make_supervisor(supervisor.id);

    t.send(updates::private_text(&supervisor, &format!("/close {}", d.ticket))).await;
    assert_eq!(t.telegram.texts(supervisor.id).last().unwrap(), &texts::closed_done(d.ticket));
    assert_eq!(close_reason(&t, d.ticket).await, Some(CloseReason::Supervisor));
    let customer = t.telegram.received(d.customer.id).into_iter().rev().nth(1).unwrap();
    assert_eq!(
        (customer.text.as_deref(), customer.callback_data()),
        (Some(texts::OPERATOR_DISCONNECTED), vec!["home".to_owned()])
    );
    assert_eq!(t.last(d.customer.id).text.as_deref(), Some(texts::RATE_PLEASE), "a supervisor's close asks too");
    assert_eq!(
        t.telegram.texts(d.operator.id).last().unwrap(),
        &texts::dialog_closed_for_operator(d.ticket, CloseReason::Supervisor)
    );
    let taken = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == d.card.message_id).unwrap();
    assert_eq!(taken.text.as_deref(), Some(texts::card_closed(d.ticket, CloseReason::Supervisor).as_str()));

    t.send(updates::private_text(&supervisor, &format!("/close #{waiting}"))).await;
    assert_eq!(close_reason(&t, waiting).await, Some(CloseReason::Supervisor));
    let customer = t.last(waiting_customer.id);
    assert_eq!(customer.text, Some(texts::closed_by_supervisor_customer(waiting)));
    assert_eq!(customer.callback_data(), ["home"]);
    let card = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == waiting_card.message_id);
    assert_eq!(card.unwrap().text, Some(texts::card_closed(waiting, CloseReason::Supervisor)));
    assert!(live_cards(&t, waiting).is_empty());

    for (command, reply) in [
        (format!("/close {waiting}"), texts::alert_closed(waiting)),
        ("/close 999".to_owned(), texts::no_such_ticket(999)),
        ("/close первую".to_owned(), texts::SUPERVISOR_USAGE.to_owned()),
        ("/requeue".to_owned(), texts::SUPERVISOR_USAGE.to_owned()),
        (format!("/requeue {waiting}"), texts::alert_closed(waiting)),
    ] {
        t.send(updates::private_text(&supervisor, &command)).await;
        assert_eq!(t.telegram.texts(supervisor.id).last().unwrap(), &reply, "{command}");
    }
}

#[tokio::test]
async fn who_may_use_the_supervisors_commands() {
    let t = spawn_app_with(|env| {
        env.insert("SUPERVISOR_IDS".into(), "5008, 5007".into());
    })
    .await;
    let d = t.open_dialog(1, Topic::Return).await;
    let (creator, listed, member, outsider) =
        (TgUser::operator(5), TgUser::operator(7), TgUser::operator(6), TgUser::customer(5));
    t.telegram.set_chat_member(OPERATORS_CHAT_ID, creator.id, "creator");
    t.make_operator(member.id);
    assert_eq!(listed.id, 5007, "listed in SUPERVISOR_IDS, not even in the chat");

    for who in [&member, &outsider, &d.operator] {
        t.in_operators_chat(who, &format!("/requeue {}", d.ticket)).await;
        assert_eq!(t.telegram.texts(OPERATORS_CHAT_ID).last().unwrap(), texts::ONLY_SUPERVISORS);
        t.send(updates::private_text(who, &format!("/close {}", d.ticket))).await;
        assert_eq!(t.telegram.texts(who.id).last().unwrap(), texts::ONLY_SUPERVISORS);
        assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(d.operator.id)), "nothing changed");
    }
    // A customer with an open ticket: their text is a message for their operator, like any other.
    t.send(updates::private_text(&d.customer, &format!("/close {}", d.ticket))).await;
    assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), &format!("/close {}", d.ticket));
    // Group chatter that is not a supervisor's command stays ignored.
    let group_saw = t.telegram.received(OPERATORS_CHAT_ID).len();
    t.in_operators_chat(&member, "/transfer").await;
    t.in_operators_chat(&member, "/close").await;
    assert_eq!(t.telegram.received(OPERATORS_CHAT_ID).len(), group_saw);

    t.in_operators_chat(&creator, &format!("/requeue {}", d.ticket)).await;
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None), "the chat's creator is a supervisor");
    let card = the_live_card(&t, d.ticket);
    t.claim(&member, d.ticket, &card).await;
    t.in_operators_chat(&listed, &format!("/close@zabota_bot {}", d.ticket)).await;
    assert_eq!(close_reason(&t, d.ticket).await, Some(CloseReason::Supervisor), "SUPERVISOR_IDS are supervisors");
}

#[tokio::test]
async fn an_operator_removed_from_the_chat_loses_the_dialog_to_the_queue_at_their_next_message() {
    let t = spawn_app().await;
    let (d, colleague) = a_dialog_with_history(&t).await;
    let customer_saw = t.telegram.received(d.customer.id).len();
    t.remove_operator(d.operator.id, "kicked").await;

    t.send(updates::private_text(&d.operator, "Последнее слово")).await;

    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), &texts::operator_gone(d.ticket));
    assert_eq!(texts_after(&t, d.customer.id, customer_saw), passed_on(d.ticket), "not relayed");
    assert_eq!(handovers(&t, d.ticket).await, [(HandoverKind::OperatorGone, d.operator.id, None, None)]);
    let card = the_live_card(&t, d.ticket);
    let header = texts::card_handover_header(HandoverKind::OperatorGone, "@operator1", "@operator1", None);
    assert!(card.text.as_deref().unwrap().starts_with(&header), "{card:#?}");
    let stored = t.db.row("SELECT count(*) FROM ticket_messages WHERE message_text = 'Последнее слово'", &[]).await;
    assert_eq!(stored.get::<_, i64>(0), 0, "a refused message is not part of the dialog");

    // Their buttons are refused too, and they cannot claim.
    let summary = summary_of(&t, d.operator.id, d.ticket);
    let press = updates::callback(&d.operator, d.operator.id, summary.message_id, &format!("close:{}", d.ticket));
    assert_eq!(t.answer_to(press).await.text.as_deref(), Some(texts::ALERT_NOT_YOURS));
    let claim = t.claim(&d.operator, d.ticket, &card).await;
    assert_eq!(claim.text.as_deref(), Some(texts::ALERT_NOT_OPERATOR));

    t.claim(&colleague, d.ticket, &card).await;
    assert!(t.telegram.texts(colleague.id)[1].starts_with(&texts::story_header(d.ticket, 3)));
}

#[tokio::test]
async fn an_operator_removed_from_the_chat_who_never_writes_again_loses_the_dialog_at_the_next_maintenance_run() {
    let t = spawn_app().await;
    let (d, colleague) = a_dialog_with_history(&t).await;
    let stays = t.open_dialog_between(TgUser::customer(2), colleague.clone(), Topic::Warranty).await;
    let customer_saw = t.telegram.received(d.customer.id).len();
    // Both checks are a day old now; only operator 1 left.
    t.remove_operator(d.operator.id, "kicked").await;
    let asked = t.telegram.calls_to("getChatMember").len();

    let reports = run_all(&t.app, Utc::now()).await;

    assert_eq!(affected(&reports, "operator_checks"), Some(1), "{reports:#?}");
    assert_eq!(t.telegram.calls_to("getChatMember").len(), asked + 2, "each operator in a dialog asked about once");
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    assert_eq!(t.ticket_status(stays.ticket).await, (Status::Assigned, Some(colleague.id)));
    assert_eq!(t.telegram.texts(d.operator.id).last().unwrap(), &texts::operator_gone(d.ticket));
    assert_eq!(texts_after(&t, d.customer.id, customer_saw), passed_on(d.ticket));
    assert_eq!(handovers(&t, d.ticket).await, [(HandoverKind::OperatorGone, d.operator.id, None, None)]);
    let summary = summary_of(&t, d.operator.id, d.ticket);
    assert_eq!(summary.reply_markup, None, "the former operator's buttons went");
    let card = the_live_card(&t, d.ticket);
    t.claim(&colleague, d.ticket, &card).await;
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None), "the colleague still has a dialog");

    // The answers are fresh now: the next run asks nobody and changes nothing.
    let again = run_all(&t.app, Utc::now()).await;
    assert_eq!(affected(&again, "operator_checks"), Some(0));
    assert_eq!(t.telegram.calls_to("getChatMember").len(), asked + 2 + 1, "only the colleague's claim asked");
}

#[tokio::test]
async fn operators_listed_in_supervisor_ids_are_never_asked_about_by_the_maintenance_run() {
    let supervisor = TgUser::operator(9);
    let t = spawn_app_with(|env| {
        env.insert("SUPERVISOR_IDS".into(), supervisor.id.to_string());
    })
    .await;
    let d = t.open_dialog_between(TgUser::customer(1), supervisor.clone(), Topic::Other).await;
    t.db.execute("UPDATE operator_checks SET checked_at = checked_at - interval '1 day'").await;
    let asked = t.telegram.calls_to("getChatMember").len();
    let reports = run_all(&t.app, Utc::now()).await;
    assert_eq!(affected(&reports, "operator_checks"), Some(0));
    assert_eq!(t.telegram.calls_to("getChatMember").len(), asked);
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(supervisor.id)));
}

#[tokio::test]
async fn a_reminder_card_that_arrives_after_the_claim_is_settled_by_the_next_maintenance_run() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    // The reminder's card meets a 429: it waits in the outbox while an operator claims from the first card.
    t.telegram.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 30 }, 1);
    let reports = run_all(&t.app, Utc::now() + Duration::minutes(16)).await;
    assert_eq!(affected(&reports, "waiting_reminders"), Some(1));
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    t.claim(&operator, ticket, &card).await;
    assert_eq!(t.ticket_status(ticket).await, (Status::Assigned, Some(operator.id)));
    t.make_outbox_due().await;
    t.redeliver().await;
    let late = t.last(OPERATORS_CHAT_ID);
    assert!(late.text.as_deref().unwrap().starts_with(&texts::waiting_reminder(16)), "{late:#?}");
    assert_eq!(late.callback_data(), [format!("claim:{ticket}")], "arrived after the claim, still inviting one");

    let reports = run_all(&t.app, Utc::now()).await;
    assert_eq!(affected(&reports, "stale_cards"), Some(1), "{reports:#?}");
    let settled = message(&t, OPERATORS_CHAT_ID, late.message_id);
    assert_eq!(settled.reply_markup, None);
    let first = message(&t, OPERATORS_CHAT_ID, card.message_id);
    assert_eq!(settled.text, first.text, "it says who took the ticket, as the first card does");
    assert!(settled.text.as_deref().unwrap().contains("✅ Взял в работу: @operator1"), "{settled:#?}");
    assert_eq!(affected(&run_all(&t.app, Utc::now()).await, "stale_cards"), Some(0), "once");
    let colleague = TgUser::operator(2);
    t.make_operator(colleague.id);
    let edits = t.telegram.calls_to("editMessageText").len();
    let press = t.claim(&colleague, ticket, &late).await;
    assert_eq!(press.text, Some(texts::alert_taken(ticket)), "a press that slipped through is answered");
    assert_eq!(t.telegram.calls_to("editMessageText").len(), edits, "and changes nothing");
    assert_eq!(t.db.count("outbox WHERE status = 'failed'").await, 0, "no edit was refused (none made twice)");
}

#[tokio::test]
async fn a_removed_operators_press_of_close_hands_the_dialog_over_instead() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    t.remove_operator(d.operator.id, "left").await;
    let summary = summary_of(&t, d.operator.id, d.ticket);
    let press = updates::callback(&d.operator, d.operator.id, summary.message_id, &format!("close:{}", d.ticket));
    let answer = t.answer_to(press).await;
    assert_eq!((answer.text.as_deref(), answer.show_alert), (Some(texts::NOT_AN_OPERATOR_ANY_MORE), true));
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    assert_eq!(close_reason(&t, d.ticket).await, None);
    assert_eq!(handovers(&t, d.ticket).await.len(), 1);
}

#[tokio::test]
async fn a_press_on_a_card_that_was_settled_since_is_answered_and_claims_nothing() {
    let t = spawn_app().await;
    let (d, colleague) = a_dialog_with_history(&t).await;
    t.send(updates::private_text(&d.operator, "/transfer")).await;
    // The old card's edit did not reach this operator's app yet: they press «Взять в работу» on it.
    let old = t.claim(&colleague, d.ticket, &d.card).await;
    assert_eq!((old.text, old.show_alert), (Some(texts::alert_newer_card(d.ticket)), true));
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    let card = the_live_card(&t, d.ticket);
    t.claim(&colleague, d.ticket, &card).await;
    let late = t.claim(&TgUser::operator(1), d.ticket, &d.card).await;
    assert_eq!(late.text, Some(texts::alert_taken(d.ticket)));
}

#[tokio::test]
async fn the_customer_sees_their_place_in_the_queue_and_can_cancel_with_a_button() {
    let t = spawn_app().await;
    let (first, second) = (TgUser::customer(1), TgUser::customer(2));
    let (ticket1, _) = t.queue_ticket(&first, Topic::Return).await;
    let (ticket2, card2) = t.queue_ticket(&second, Topic::Warranty).await;
    let texts1 = t.telegram.texts(first.id);
    assert_eq!(texts1[texts1.len() - 2], texts::queued(ticket1));
    let position = t.last(first.id);
    assert_eq!(position.text, Some(texts::queue_position(1, None)));
    assert_eq!(position.callback_data(), [format!("cancel:{ticket1}")]);
    let position2 = t.last(second.id);
    assert_eq!(position2.text, Some(texts::queue_position(2, None)));

    let answer = t.press(&second, &format!("cancel:{ticket2}")).await;
    assert_eq!((answer.text, answer.show_alert), (None, false));
    assert_eq!(close_reason(&t, ticket2).await, Some(CloseReason::Cancelled));
    let told = t.last(second.id);
    assert_eq!(
        (told.text.clone(), told.callback_data()),
        (Some(texts::cancelled_customer(ticket2)), vec!["home".to_owned()])
    );
    let position2 = t.telegram.received(second.id).into_iter().find(|m| m.message_id == position2.message_id);
    assert_eq!(position2.unwrap().reply_markup, None, "the button went with the request");
    let card = t.telegram.received(OPERATORS_CHAT_ID).into_iter().find(|m| m.message_id == card2.message_id);
    assert_eq!(card.unwrap().text, Some(texts::card_closed(ticket2, CloseReason::Cancelled)));

    // Pressed again (an old copy of the button), by someone else, or once an operator has the ticket.
    let cancel2 = updates::callback(&second, second.id, position2_id(&t, &second), &format!("cancel:{ticket2}"));
    assert_eq!(t.answer_to(cancel2).await.text, Some(texts::alert_closed(ticket2)));
    let forged = updates::callback(&second, second.id, 1, &format!("cancel:{ticket1}"));
    assert_eq!(t.answer_to(forged).await.text.as_deref(), Some(texts::ALERT_STALE));
    assert_eq!(t.ticket_status(ticket1).await, (Status::Waiting, None));
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    t.claim(&operator, ticket1, &live_cards(&t, ticket1)[0]).await;
    assert_eq!(message(&t, first.id, position.message_id).reply_markup, None, "the claim took «Отменить обращение»");
    let in_dialog = updates::callback(&first, first.id, position.message_id, &format!("cancel:{ticket1}"));
    assert_eq!(t.answer_to(in_dialog).await.text.as_deref(), Some(texts::ALERT_ALREADY_IN_DIALOG));
    assert_eq!(t.ticket_status(ticket1).await, (Status::Assigned, Some(operator.id)));
    assert_eq!(t.db.count("outbox WHERE status = 'failed'").await, 0, "no button was removed twice");

    // A later «Обратиться к оператору» opens a fresh ticket.
    let (ticket3, _) = t.queue_ticket(&second, Topic::Other).await;
    assert!(ticket3 > ticket2);
    assert_eq!(t.last(second.id).text, Some(texts::queue_position(1, None)));
}

/// The message id of the customer's first queue-position message.
fn position2_id(t: &TestApp, customer: &TgUser) -> i64 {
    let found = t
        .telegram
        .received(customer.id)
        .into_iter()
        .find(|m| m.text.as_deref().is_some_and(|x| x.starts_with("Ваше место")));
    found.unwrap().message_id
}

#[tokio::test]
async fn outside_working_hours_the_ticket_is_queued_and_the_customer_told_when_operators_are_back() {
    // A one-hour shift that starts two hours from now (Moscow time), every day: closed now.
    let moscow = chrono::FixedOffset::east_opt(3 * 3600).unwrap();
    let now = chrono::Utc::now().with_timezone(&moscow);
    let start = (now + chrono::Duration::hours(2)).format("%H:00").to_string();
    let end = (now + chrono::Duration::hours(3)).format("%H:00").to_string();
    let hours = format!("Mon-Sun {start}-{end}");
    let t = spawn_app_with(|env| {
        env.insert("WORKING_HOURS".into(), hours.clone());
    })
    .await;
    let customer = TgUser::customer(1);
    let (ticket, card) = t.queue_ticket(&customer, Topic::Return).await;
    assert!(card.callback_data().contains(&format!("claim:{ticket}")), "the card is posted all the same");
    let told = t.last(customer.id).text.unwrap();
    assert!(told.starts_with(&texts::queue_position(1, None)), "{told}");
    assert!(told.contains("нерабочее время") && told.contains(&format!("в {start}")), "{told} ({hours})");

    let always = spawn_app_with(|env| {
        env.insert("WORKING_HOURS".into(), "Mon-Sun 00:00-24:00".into());
    })
    .await;
    always.queue_ticket(&customer, Topic::Return).await;
    assert_eq!(always.last(customer.id).text, Some(texts::queue_position(1, None)));
}

#[tokio::test]
async fn a_ticket_handed_back_to_the_queue_waits_afresh_for_reminders_and_expiry() {
    let t = spawn_app().await; // WAITING_REMINDER_AFTER 15m, WAITING_EXPIRE_AFTER 24h
    let (d, _) = a_dialog_with_history(&t).await;
    // Opened two days ago, reminded three times before its claim.
    t.db.execute(&format!(
        "UPDATE tickets SET created_at = now() - interval '2 days', queued_at = now() - interval '2 days', \
         reminders_sent = 3, reminded_at = now() - interval '47 hours' WHERE id = {}",
        d.ticket
    ))
    .await;
    t.send(updates::private_text(&d.operator, "/transfer")).await;
    let reports = run_all(&t.app, Utc::now()).await;
    assert_eq!(affected(&reports, "waiting_expiry"), Some(0), "not expired by when it was opened");
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Waiting, None));
    let reports = run_all(&t.app, Utc::now() + Duration::minutes(16)).await;
    assert_eq!(affected(&reports, "waiting_reminders"), Some(1), "reminders start over");
    let reminder = live_cards(&t, d.ticket).pop().unwrap();
    assert!(reminder.text.unwrap().starts_with(&texts::waiting_reminder(16)), "counted from the hand-over");
    let reports = run_all(&t.app, Utc::now() + Duration::hours(25)).await;
    assert_eq!(affected(&reports, "waiting_expiry"), Some(1));
    assert_eq!(close_reason(&t, d.ticket).await, Some(CloseReason::Expired));
}

#[tokio::test]
async fn a_refusal_about_the_operators_chat_itself_takes_no_dialog_away() {
    let t = spawn_app().await;
    let (d, _) = a_dialog_with_history(&t).await;
    t.db.execute("UPDATE operator_checks SET checked_at = checked_at - interval '25 hours'").await;
    // The group was upgraded or the bot removed from it: Telegram refuses to say anything about its members.
    t.telegram.fail_next("getChatMember", Fault::BadRequest("Bad Request: chat not found".into()), 3);
    let reports = run_all(&t.app, Utc::now()).await;
    assert_eq!(affected(&reports, "operator_checks"), Some(0), "{reports:#?}");
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(d.operator.id)));
    // The operator's messages still go through on what was known of them.
    let saw = t.telegram.received(d.customer.id).len();
    t.send(updates::private_text(&d.operator, "Мы на связи")).await;
    assert_eq!(texts_after(&t, d.customer.id, saw), ["Мы на связи"]);
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(d.operator.id)));
}

#[tokio::test]
async fn a_role_is_asked_once_per_role_cache_ttl_not_on_every_message() {
    let t = spawn_app().await; // ROLE_CACHE_TTL 60s
    let d = t.open_dialog(1, Topic::Return).await;
    let asked = t.telegram.calls_to("getChatMember").len();
    for k in 0..3 {
        t.send(updates::private_text(&d.operator, &format!("ответ {k}"))).await;
    }
    assert_eq!(t.telegram.calls_to("getChatMember").len(), asked, "fresh for a minute: no call per message");
    t.db.execute("UPDATE operator_checks SET checked_at = checked_at - interval '61 seconds'").await;
    t.send(updates::private_text(&d.operator, "ещё ответ")).await;
    t.send(updates::private_text(&d.operator, "и ещё")).await;
    assert_eq!(t.telegram.calls_to("getChatMember").len(), asked + 1, "asked again once it is older");
}

#[tokio::test]
async fn an_operators_close_or_requeue_without_a_ticket_number_is_for_the_customer() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let saw = t.telegram.received(d.customer.id).len();
    for text in ["/close 3 дня", "/requeue"] {
        t.send(updates::private_text(&d.operator, text)).await;
    }
    assert_eq!(texts_after(&t, d.customer.id, saw), ["/close 3 дня", "/requeue"]);
    assert_eq!(t.ticket_status(d.ticket).await, (Status::Assigned, Some(d.operator.id)));
}

#[tokio::test]
async fn a_long_message_reaches_the_next_operator_whole_in_the_story() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    let long: String = "Очень подробное описание поломки. ".repeat(120); // ~4000 characters
    t.send(updates::private_text(&d.customer, &long)).await;
    t.send(updates::private_text(&d.operator, "/transfer")).await;
    let colleague = TgUser::operator(2);
    t.make_operator(colleague.id);
    t.claim(&colleague, d.ticket, &the_live_card(&t, d.ticket)).await;
    let story: String = t.telegram.texts(colleague.id)[1..].concat();
    assert!(story.contains(long.trim()), "the whole text, over as many messages as it takes");
}

#[tokio::test]
async fn the_card_of_a_dialog_says_how_it_ended() {
    let t = spawn_app().await;
    let d = t.open_dialog(1, Topic::Return).await;
    t.send(updates::private_text(&d.operator, "/close")).await;
    let card = message(&t, OPERATORS_CHAT_ID, d.card.message_id);
    assert_eq!((card.text, card.reply_markup), (Some(texts::card_closed(d.ticket, CloseReason::Operator)), None));
}

#[tokio::test]
async fn a_story_copy_telegram_refuses_tells_nobody_an_old_message_was_not_delivered() {
    let t = spawn_app().await;
    let (d, colleague) = a_dialog_with_history(&t).await; // the customer's photo was delivered
    t.send(updates::private_text(&d.operator, "/transfer")).await;
    let customer_saw = t.telegram.received(d.customer.id).len();
    // The customer deleted the photo since: its copy for the story cannot be made.
    t.telegram.fail_next("copyMessage", Fault::BadRequest("Bad Request: message to copy not found".into()), 1);
    t.claim(&colleague, d.ticket, &the_live_card(&t, d.ticket)).await;
    assert_eq!(texts_after(&t, d.customer.id, customer_saw), [texts::OPERATOR_CONNECTED], "no «not delivered»");
    assert_eq!(t.db.count("outbox WHERE status = 'failed' AND method = 'copyMessage'").await, 1);
}
