//! The chats' side of the built-in Bot API server, which the sandbox page drives: users' messages numbered with
//! the bot's like Telegram's, transcripts of both sides, presses, edits, reactions, a reset and the change counter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use zabota_botapi::BotApiEmulator;
use zabota_botapi::updates::{self, TgUser};

/// The bot calls `method` with `params`; its answer's `result`.
async fn bot_calls(emulator: &BotApiEmulator, method: &str, params: Value) -> Value {
    let url = format!("{}/bot{}/{method}", emulator.base_url(), emulator.token());
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let answer: Value = client.post(url).json(&params).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["ok"], true, "{method}: {answer}");
    answer["result"].clone()
}

/// The updates the bot would get now from `offset`, asking for reactions too (Telegram sends them only when asked).
async fn poll(emulator: &BotApiEmulator, offset: i64) -> Vec<Value> {
    let kinds = ["message", "edited_message", "callback_query", "message_reaction"];
    let updates =
        bot_calls(emulator, "getUpdates", json!({ "offset": offset, "timeout": 0, "allowed_updates": kinds })).await;
    updates.as_array().unwrap().clone()
}

#[tokio::test]
async fn users_messages_share_the_chats_numbering_with_the_bots() {
    let emulator = BotApiEmulator::start().await;
    let anna = TgUser::customer(1);
    assert_eq!(emulator.write(updates::private_text(&anna, "/start")), 1);
    let menu = json!({ "inline_keyboard": [[{ "text": "Гарантия", "callback_data": "topic:warranty" }]] });
    let sent = bot_calls(
        &emulator,
        "sendMessage",
        json!({ "chat_id": anna.id, "text": "Выберите тему", "reply_markup": menu }),
    )
    .await;
    assert_eq!(sent["message_id"], 2);
    let phone = json!({ "keyboard": [[{ "text": "📱 Отправить мой номер", "request_contact": true }]] });
    bot_calls(&emulator, "sendMessage", json!({ "chat_id": anna.id, "text": "Ваш номер?", "reply_markup": phone }))
        .await;
    assert_eq!(emulator.write(updates::contact(&anna, "+79161234567", Some(anna.id))), 4);
    bot_calls(
        &emulator,
        "setMessageReaction",
        json!({ "chat_id": anna.id, "message_id": 4, "reaction": [{ "type": "emoji", "emoji": "👍" }] }),
    )
    .await;

    let transcript = emulator.transcript(anna.id);
    let ids: Vec<i64> = transcript.iter().map(|m| m["message_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4], "both sides, in order");
    assert_eq!(transcript[0]["from"]["id"], anna.id);
    assert_eq!(transcript[1]["from"]["is_bot"], true);
    assert_eq!(transcript[1]["reply_markup"], menu, "inline keyboards as sent");
    assert_eq!(transcript[2]["reply_markup"], phone, "reply keyboards too (the page draws them)");
    assert_eq!(transcript[3]["contact"]["phone_number"], "+79161234567");
    assert_eq!(transcript[3]["bot_reaction"], json!([{ "type": "emoji", "emoji": "👍" }]));
    assert!(emulator.transcript(TgUser::customer(2).id).is_empty(), "other chats are other chats");
}

#[tokio::test]
async fn a_press_carries_the_message_as_it_is_and_arrives_even_after_an_edit() {
    let emulator = BotApiEmulator::start().await;
    let (olga, dmitry) = (TgUser::operator(1), TgUser::operator(2));
    let group = -1_001_234_567_890;
    let card = json!({ "inline_keyboard": [[{ "text": "Взять в работу", "callback_data": "claim:1" }]] });
    bot_calls(&emulator, "sendMessage", json!({ "chat_id": group, "text": "Заявка #1", "reply_markup": card })).await;

    let first = emulator.press(&olga, group, 1, "claim:1").expect("the card exists");
    // The bot takes the card away; Дмитрий's screen still had the button, so his press still arrives.
    bot_calls(
        &emulator,
        "editMessageText",
        json!({ "chat_id": group, "message_id": 1, "text": "Заявку #1 взяла Ольга" }),
    )
    .await;
    let second = emulator.press(&dmitry, group, 1, "claim:1").expect("a press on a message that exists");
    assert_ne!(first, second);
    assert_eq!(emulator.press(&olga, group, 99, "claim:1"), None, "no such message of the bot's");

    let presses = poll(&emulator, 0).await;
    assert_eq!(presses.len(), 2);
    let query = &presses[0]["callback_query"];
    assert_eq!(
        (query["id"].as_str(), query["data"].as_str(), query["from"]["id"].as_i64()),
        (Some(first.as_str()), Some("claim:1"), Some(olga.id))
    );
    assert_eq!(query["message"]["text"], "Заявка #1", "the message as it was when pressed");
    assert_eq!(query["message"]["reply_markup"], card);
    assert_eq!(presses[1]["callback_query"]["message"]["text"], "Заявку #1 взяла Ольга");

    assert!(emulator.callback_answer(&first).is_none(), "not answered yet");
    bot_calls(&emulator, "answerCallbackQuery", json!({ "callback_query_id": first, "text": "Заявка ваша" })).await;
    assert_eq!(emulator.callback_answer(&first).and_then(|a| a.text).as_deref(), Some("Заявка ваша"));
}

#[tokio::test]
async fn a_user_edits_only_their_own_message_and_only_into_something_new() {
    let emulator = BotApiEmulator::start().await;
    let (anna, ivan) = (TgUser::customer(1), TgUser::customer(2));
    let said = emulator.write(updates::private_text(&anna, "Чайник не включается"));
    assert!(!emulator.edit_by_user(&ivan, anna.id, said, "чужое"), "not theirs");
    assert!(!emulator.edit_by_user(&anna, anna.id, said, "Чайник не включается"), "the same text: no update");
    assert!(!emulator.edit_by_user(&anna, anna.id, said, "  "), "an empty text");
    assert!(!emulator.edit_by_user(&anna, anna.id, 77, "нет такого"));
    assert!(emulator.edit_by_user(&anna, anna.id, said, "Чайник не греет"));

    let updates = poll(&emulator, 0).await;
    assert_eq!(updates.len(), 2, "the message and one edit");
    let edited = &updates[1]["edited_message"];
    assert_eq!((edited["message_id"].as_i64(), edited["text"].as_str()), (Some(said), Some("Чайник не греет")));
    assert!(edited["edit_date"].as_i64().is_some());
    assert_eq!(emulator.transcript(anna.id)[0]["text"], "Чайник не греет", "the chat shows the newest version");

    emulator.react(&anna, said, Some("🔥"));
    let reaction = &poll(&emulator, 0).await[2]["message_reaction"];
    assert_eq!(reaction["new_reaction"], json!([{ "type": "emoji", "emoji": "🔥" }]));
}

#[tokio::test]
async fn changes_move_with_every_call_and_update_and_a_reset_forgets_all_but_members() {
    let emulator = BotApiEmulator::start().await;
    let mut changes = emulator.changes();
    let anna = TgUser::customer(1);
    let group = -1_001_234_567_890;
    emulator.set_chat_member(group, 5001, "administrator");

    emulator.write(updates::private_text(&anna, "/start"));
    tokio::time::timeout(Duration::from_secs(5), changes.changed()).await.unwrap().unwrap();
    changes.mark_unchanged();
    bot_calls(&emulator, "sendMessage", json!({ "chat_id": anna.id, "text": "Здравствуйте" })).await;
    tokio::time::timeout(Duration::from_secs(5), changes.changed()).await.unwrap().unwrap();
    changes.mark_unchanged();
    bot_calls(&emulator, "getMe", json!({})).await;
    assert!(!changes.has_changed().unwrap(), "a read changes no chat: polls do not redraw the page");

    emulator.reset();
    assert!(changes.has_changed().unwrap(), "a reset is a change");
    assert!(emulator.transcript(anna.id).is_empty());
    assert!(emulator.calls().is_empty());
    assert_eq!(emulator.pending_updates(), 0);
    assert_eq!(emulator.write(updates::private_text(&anna, "/start")), 1, "numbering starts again");
    let member = bot_calls(&emulator, "getChatMember", json!({ "chat_id": group, "user_id": 5001 })).await;
    assert_eq!(member["status"], "administrator", "who is in the group is kept");
}

#[tokio::test]
async fn a_limited_log_keeps_the_newest_calls_and_still_records_their_status() {
    let emulator = BotApiEmulator::start().await;
    emulator.set_limits(None);
    emulator.limit_log(10);
    let anna = TgUser::customer(1);
    for n in 0..25 {
        bot_calls(&emulator, "sendMessage", json!({ "chat_id": anna.id, "text": format!("№{n}") })).await;
    }
    let calls = emulator.calls();
    assert!((5..=10).contains(&calls.len()), "at most the limit is kept: {}", calls.len());
    assert_eq!(calls.last().unwrap().params["text"], "№24", "the newest stay");
    assert!(calls.iter().all(|c| c.status == 200), "statuses land on the right calls after forgetting");
    assert_eq!(emulator.transcript(anna.id).len(), 25, "the chat itself forgets nothing");
}
