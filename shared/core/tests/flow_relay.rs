//! The relay keeps context: a reply arrives as a reply to the counterpart of what it answers (with its quote when
//! Telegram takes it), an edit edits the copy (and every version stays in history), a reaction is mirrored — both
//! ways, and for the new operator's chat after a hand-over.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use serde_json::{Value, json};
use zabota_core::bot::{Outcome, ProcessError};
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{Dialog, Fault, Received, TestApp, TgUser, spawn_app, updates};

/// The id Telegram gave the message of `update`.
fn id_of(update: &Value) -> i64 {
    update["message"]["message_id"].as_i64().unwrap()
}

/// `from` writes `update`; returns the copy the other side got.
async fn relay(t: &TestApp, to: &TgUser, update: Value) -> Received {
    let before = t.telegram.received(to.id).len();
    t.send(update).await;
    let got = t.telegram.received(to.id);
    assert_eq!(got.len(), before + 1, "one copy: {got:#?}");
    got.into_iter().last().unwrap()
}

/// `chat`'s message `message_id` as it looks now.
fn message(t: &TestApp, chat: i64, message_id: i64) -> Received {
    let found = t.telegram.received(chat).into_iter().find(|m| m.message_id == message_id);
    found.unwrap_or_else(|| panic!("chat {chat} has message {message_id}"))
}

async fn versions(t: &TestApp, source_message_id: i64) -> Vec<(i64, Option<String>, Option<String>)> {
    let rows =
        t.db.rows(
            "SELECT v.edit_date, v.message_text, v.caption FROM ticket_message_versions v \
             JOIN ticket_messages m ON m.id = v.ticket_message_id WHERE m.source_message_id = $1 \
             ORDER BY v.id",
            &[&source_message_id],
        )
        .await;
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}

#[tokio::test]
async fn a_reply_arrives_as_a_reply_to_the_counterpart_both_ways() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Чайник не греет");
    let question_copy = relay(&t, &operator, question.clone()).await;
    assert_eq!(question_copy.reply_to_message_id, None, "a plain message stays plain");

    // The operator answers the customer's message: the customer sees it as a reply to what they wrote.
    let answer = updates::reply_text(&operator, question_copy.message_id, "Какая модель?", None);
    let answer_copy = relay(&t, &customer, answer.clone()).await;
    assert_eq!(answer_copy.reply_to_message_id, Some(id_of(&question)));

    // The customer answers the operator's copy: the operator sees a reply to their own message.
    let model = updates::reply_text(&customer, answer_copy.message_id, "VT-1", None);
    let model_copy = relay(&t, &operator, model).await;
    assert_eq!(model_copy.reply_to_message_id, Some(id_of(&answer)));

    // A reply to one's own message goes to its copy.
    let again = updates::reply_text(&customer, id_of(&question), "И свисток сломан", None);
    assert_eq!(relay(&t, &operator, again).await.reply_to_message_id, Some(question_copy.message_id));

    // A reply to the bot's own message (not part of the dialog) is delivered as a plain message.
    let connected =
        t.telegram.received(customer.id).into_iter().find(|m| m.text.as_deref() == Some(texts::OPERATOR_CONNECTED));
    let to_bot = updates::reply_text(&customer, connected.unwrap().message_id, "Спасибо", None);
    assert_eq!(relay(&t, &operator, to_bot).await.reply_to_message_id, None);
    let stored = t.db.count("ticket_messages WHERE reply_to_id IS NOT NULL").await;
    assert_eq!(stored, 3, "the history knows what each reply answered");
}

#[tokio::test]
async fn a_quote_is_kept_and_a_quote_telegram_refuses_leaves_a_plain_reply() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Чайник не греет и свистит");
    let copy = relay(&t, &operator, question.clone()).await;

    let quoting = updates::reply_text(&operator, copy.message_id, "Свистит когда?", Some("свистит"));
    let got = relay(&t, &customer, quoting).await;
    assert_eq!((got.reply_to_message_id, got.quote.as_deref()), (Some(id_of(&question)), Some("свистит")));
    let stored = t.db.row("SELECT quote_text FROM ticket_messages WHERE quote_text IS NOT NULL", &[]).await;
    assert_eq!(stored.get::<_, String>(0), "свистит");

    // A quote Telegram cannot find in the message (the original was edited since): a plain reply, never lost.
    let stale = updates::reply_text(&operator, copy.message_id, "А греет?", Some("шипит"));
    let got = relay(&t, &customer, stale).await;
    assert_eq!((got.reply_to_message_id, got.quote), (Some(id_of(&question)), None));
    assert_eq!(t.db.count("outbox WHERE status = 'failed'").await, 0);
}

#[tokio::test]
async fn a_reply_to_a_message_whose_copy_is_gone_is_delivered_without_it() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Вопрос");
    let copy = relay(&t, &operator, question.clone()).await;
    // The customer deleted their message: Telegram sends the reply anyway (allow_sending_without_reply).
    t.telegram.delete(customer.id, id_of(&question));
    let got = relay(&t, &customer, updates::reply_text(&operator, copy.message_id, "Ответ", None)).await;
    assert_eq!((got.text.as_deref(), got.reply_to_message_id), (Some("Ответ"), None));
}

#[tokio::test]
async fn an_edited_text_edits_its_copy_both_ways_and_every_version_is_kept() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Чайник не грет");
    let copy = relay(&t, &operator, question.clone()).await;
    t.send(updates::edited(&question, json!({ "text": "Чайник не греет" }), 10)).await;
    assert_eq!(message(&t, operator.id, copy.message_id).text.as_deref(), Some("Чайник не греет"));

    let answer = updates::private_text(&operator, "Пришлите фото");
    let answer_copy = relay(&t, &customer, answer.clone()).await;
    t.send(updates::edited(&answer, json!({ "text": "Пришлите, пожалуйста, фото" }), 5)).await;
    assert_eq!(message(&t, customer.id, answer_copy.message_id).text.as_deref(), Some("Пришлите, пожалуйста, фото"));

    // Two edits delivered out of order: the copy ends with the newer one; all three versions are kept.
    let newer = updates::edited(&question, json!({ "text": "Чайник VT-1 не греет" }), 30);
    let older = updates::edited(&question, json!({ "text": "Чайник VT не греет" }), 20);
    t.send(newer).await;
    t.send(older).await;
    assert_eq!(message(&t, operator.id, copy.message_id).text.as_deref(), Some("Чайник VT-1 не греет"));
    let date = question["message"]["date"].as_i64().unwrap();
    let texts_of = |v: Vec<(i64, Option<String>, Option<String>)>| -> Vec<(i64, String)> {
        v.into_iter().map(|(d, text, _)| (d, text.unwrap())).collect()
    };
    assert_eq!(
        texts_of(versions(&t, id_of(&question)).await),
        [
            (date + 10, "Чайник не греет".to_owned()),
            (date + 30, "Чайник VT-1 не греет".to_owned()),
            (date + 20, "Чайник VT не греет".to_owned()),
        ]
    );
    let current =
        t.db.row("SELECT message_text FROM ticket_messages WHERE source_message_id = $1", &[&id_of(&question)]).await;
    assert_eq!(current.get::<_, String>(0), "Чайник не грет", "the message keeps its original beside the edits");
    let relayed = t
        .telegram
        .calls_to("editMessageText")
        .into_iter()
        .filter(|c| c.params["chat_id"] != json!(zabota_testkit::OPERATORS_CHAT_ID));
    assert_eq!(relayed.count(), 3, "the late older edit changed nothing");
    assert_eq!(t.db.count("outbox WHERE status = 'failed'").await, 0);
}

#[tokio::test]
async fn an_edited_caption_or_replaced_photo_edits_the_copy() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Warranty).await;
    let photo = updates::photo(&customer, "chek", Some("Чек"));
    let copy = relay(&t, &operator, photo.clone()).await;
    t.send(updates::edited(&photo, json!({ "photo": photo["message"]["photo"], "caption": "Чек от 1 марта" }), 5))
        .await;
    assert_eq!(message(&t, operator.id, copy.message_id).caption.as_deref(), Some("Чек от 1 марта"));
    assert_eq!(t.telegram.calls_to("editMessageCaption").len(), 1);

    let other = updates::photo(&customer, "chek2", None)["message"]["photo"].clone();
    t.send(updates::edited(&photo, json!({ "photo": other, "caption": "Вот правильный чек" }), 9)).await;
    let media = t.telegram.calls_to("editMessageMedia");
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].params["media"]["media"], "chek2");
    let now = message(&t, operator.id, copy.message_id);
    assert_eq!(now.caption.as_deref(), Some("Вот правильный чек"));
    let files = t.db.rows("SELECT file_unique_id FROM message_attachments ORDER BY id", &[]).await;
    let files: Vec<String> = files.iter().map(|r| r.get(0)).collect();
    assert_eq!(files, ["u_chek", "u_chek2"], "the new file is stored (and archived) like any other");
    assert_eq!(versions(&t, id_of(&photo)).await.len(), 2);
}

#[tokio::test]
async fn an_edit_after_the_dialog_or_of_a_message_outside_it_is_answered() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    // An old menu-time message, never part of the dialog.
    let mut before = updates::private_text(&customer, "Гарантия");
    before["message"]["date"] = json!(chrono::Utc::now().timestamp() - 3600);
    t.send(updates::edited(&before, json!({ "text": "Возврат" }), 5)).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::EDIT_NOT_DELIVERED));

    let question = updates::private_text(&customer, "Вопрос");
    relay(&t, &operator, question.clone()).await;
    t.send(updates::private_text(&operator, "/close")).await;
    assert_eq!(t.ticket_status(ticket).await.0, zabota_core::db::tickets::Status::Closed);
    let edits = t.telegram.calls_to("editMessageText").len();
    t.send(updates::edited(&question, json!({ "text": "Другой вопрос" }), 5)).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::EDIT_AFTER_CLOSE));
    assert_eq!(t.telegram.calls_to("editMessageText").len(), edits, "the closed dialog's copy is left as it was");
    assert_eq!(versions(&t, id_of(&question)).await.len(), 1, "kept in history all the same");
}

#[tokio::test]
async fn an_edit_that_arrives_before_its_message_waits_for_it() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Первая версия");
    let edit = updates::edited(&question, json!({ "text": "Вторая версия" }), 3);
    // Concurrent deliveries: the edit is processed first. It fails for now, so Telegram delivers it again.
    let early = t.try_send(edit.clone()).await;
    assert!(matches!(early, Err(ProcessError::NotYet(_))), "{early:?}");
    let copy = relay(&t, &operator, question.clone()).await;
    assert_eq!(copy.text.as_deref(), Some("Вторая версия"), "a copy shows the message as it is now");
    assert_eq!(t.try_send(edit).await.unwrap(), Outcome::Processed);
    assert_eq!(message(&t, operator.id, copy.message_id).text.as_deref(), Some("Вторая версия"));
    assert_eq!(versions(&t, id_of(&question)).await.len(), 1, "the edit is in history beside the original");
    assert_eq!(t.db.count("outbox WHERE status = 'failed'").await, 0, "an edit to what the copy shows is no failure");
}

#[tokio::test]
async fn an_edit_while_the_copy_waits_in_the_outbox_is_shown_by_the_copy() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.fail_next("copyMessage", Fault::TooManyRequests { retry_after: 30 }, 1);
    let question = updates::private_text(&customer, "Черновик");
    t.send(question.clone()).await;
    let edits = t.telegram.calls_to("editMessageText").len();
    t.send(updates::edited(&question, json!({ "text": "Чистовик" }), 3)).await;
    assert_eq!(t.telegram.calls_to("editMessageText").len(), edits, "nothing to edit yet");
    t.make_outbox_due().await;
    t.redeliver().await;
    assert_eq!(t.last(operator.id).text.as_deref(), Some("Чистовик"));
    assert_eq!(versions(&t, id_of(&question)).await.len(), 1);
}

#[tokio::test]
async fn a_reaction_is_mirrored_both_ways_and_taking_it_back_removes_it() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Вопрос");
    let copy = relay(&t, &operator, question.clone()).await;
    let answer = updates::private_text(&operator, "Ответ");
    let answer_copy = relay(&t, &customer, answer.clone()).await;

    // The operator reacts to the customer's message (its copy in their chat): the customer's original gets it.
    t.send(updates::reaction(&operator, copy.message_id, Some("👍"))).await;
    assert_eq!(t.telegram.reaction(customer.id, id_of(&question)), ["👍"]);
    // The customer reacts to the operator's answer: the operator's original gets it.
    t.send(updates::reaction(&customer, answer_copy.message_id, Some("🔥"))).await;
    assert_eq!(t.telegram.reaction(operator.id, id_of(&answer)), ["🔥"]);
    // Taken back.
    t.send(updates::reaction(&operator, copy.message_id, None)).await;
    assert!(t.telegram.reaction(customer.id, id_of(&question)).is_empty());
    // A reaction to a bot's own message is not mirrored.
    let calls = t.telegram.calls_to("setMessageReaction").len();
    let summary = t.telegram.received(operator.id)[0].message_id;
    t.send(updates::reaction(&operator, summary, Some("👍"))).await;
    assert_eq!(t.telegram.calls_to("setMessageReaction").len(), calls);
    assert_eq!(t.db.count("outbox WHERE status = 'failed'").await, 0);
}

#[tokio::test]
async fn an_edit_of_a_message_whose_copy_was_given_up_is_answered() {
    let t = spawn_app().await;
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.fail_next("copyMessage", Fault::BadRequest("Bad Request: message can't be copied".into()), 1);
    let question = updates::private_text(&customer, "Вопрос");
    t.send(question.clone()).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::UNSUPPORTED_CONTENT));
    t.send(updates::edited(&question, json!({ "text": "Вопрос поточнее" }), 5)).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::EDIT_NOT_DELIVERED));
}

#[tokio::test]
async fn through_the_webhook_entry_point_a_reply_an_edit_and_a_reaction_keep_their_context() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Вопрос");
    assert_eq!(t.post(&t.body_of(&question)).await.status, 200);
    let copy = t.last(operator.id);
    let reply = updates::reply_text(&operator, copy.message_id, "Ответ", None);
    let edit = updates::edited(&question, json!({ "text": "Вопрос точнее" }), 5);
    let reaction = updates::reaction(&operator, copy.message_id, Some("🙏"));
    for update in [reply, edit, reaction] {
        assert_eq!(t.post(&t.body_of(&update)).await.status, 200);
    }
    let answer = t.last(customer.id);
    assert_eq!((answer.text.as_deref(), answer.reply_to_message_id), (Some("Ответ"), Some(id_of(&question))));
    assert_eq!(message(&t, operator.id, copy.message_id).text.as_deref(), Some("Вопрос точнее"));
    assert_eq!(t.telegram.reaction(customer.id, id_of(&question)), ["🙏"]);
}

#[tokio::test]
async fn retention_deletes_the_versions_with_their_message() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Старый вопрос");
    relay(&t, &operator, question.clone()).await;
    t.send(updates::edited(&question, json!({ "text": "Старый вопрос, исправленный" }), 5)).await;
    assert_eq!(versions(&t, id_of(&question)).await.len(), 1);
    t.db.execute("UPDATE ticket_messages SET created_at = now() - interval '400 days'").await;
    zabota_core::maintenance::run_all(&t.app, chrono::Utc::now()).await;
    assert_eq!(t.db.count("ticket_messages").await, 0);
    assert_eq!(t.db.count("ticket_message_versions").await, 0, "versions go with their message");
}

#[tokio::test]
async fn after_a_transfer_replies_and_edits_use_the_new_operators_copies() {
    let t = spawn_app().await;
    let Dialog { customer, operator, ticket, .. } = t.open_dialog(1, Topic::Return).await;
    t.send(updates::private_text(&operator, "/transfer")).await;
    let waiting = updates::private_text(&customer, "Пока жду: модель VT-1");
    t.send(waiting.clone()).await;
    let colleague = TgUser::operator(2);
    t.make_operator(colleague.id);
    t.claim(&colleague, ticket, &t.newest_live_card(ticket)).await;
    let replayed =
        t.telegram.received(colleague.id).into_iter().find(|m| m.text.as_deref() == Some("Пока жду: модель VT-1"));
    let replayed = replayed.expect("what waited reached the new operator");
    let reply = updates::reply_text(&colleague, replayed.message_id, "Понял, VT-1", None);
    assert_eq!(relay(&t, &customer, reply).await.reply_to_message_id, Some(id_of(&waiting)));
    t.send(updates::edited(&waiting, json!({ "text": "Пока жду: модель VT-2" }), 5)).await;
    assert_eq!(message(&t, colleague.id, replayed.message_id).text.as_deref(), Some("Пока жду: модель VT-2"));
    let old = t
        .telegram
        .received(operator.id)
        .into_iter()
        .filter(|m| m.text.as_deref().is_some_and(|x| x.contains("VT-")))
        .count();
    assert_eq!(old, 0, "the first operator never saw it, and is not sent its edit");
}

#[tokio::test]
async fn a_custom_emoji_reaction_is_not_mirrored() {
    let t = spawn_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    let question = updates::private_text(&customer, "Вопрос");
    let copy = relay(&t, &operator, question.clone()).await;
    let mut custom = updates::reaction(&operator, copy.message_id, Some("👍"));
    custom["message_reaction"]["new_reaction"] =
        json!([{ "type": "custom_emoji", "custom_emoji_id": "5368324170671202286" }]);
    t.send(custom).await;
    assert!(t.telegram.calls_to("setMessageReaction").is_empty());
    assert!(t.telegram.reaction(customer.id, id_of(&question)).is_empty());
}
