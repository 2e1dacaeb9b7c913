//! The Bot API emulator behaves like api.telegram.org for the methods the bot uses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::{Value, json};
use zabota_botapi::updates::{self, TgUser};
use zabota_botapi::{BOT_USER_ID, BotApiEmulator, Fault, TEST_BOT_TOKEN};

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().unwrap()
}

/// Calls `method` with a JSON body and returns the status and the decoded answer.
async fn call(emulator: &BotApiEmulator, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/bot{}/{method}", emulator.base_url(), emulator.token());
    let response = client().post(url).json(&params).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn send(emulator: &BotApiEmulator, chat_id: i64, text: &str) -> (u16, Value) {
    call(emulator, "sendMessage", json!({ "chat_id": chat_id, "text": text })).await
}

fn keyboard(data: &str) -> Value {
    json!({ "inline_keyboard": [[{ "text": "Нажми", "callback_data": data }]] })
}

#[tokio::test]
async fn send_message_answers_a_full_message_with_ids_counted_per_chat() {
    let emulator = BotApiEmulator::start().await;
    let (status, first) = call(
        &emulator,
        "sendMessage",
        json!({ "chat_id": 1001, "text": "Здравствуйте!", "reply_markup": keyboard("take") }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first["ok"], true);
    let message = &first["result"];
    assert_eq!(message["message_id"], 1);
    assert_eq!(message["chat"]["id"], 1001);
    assert_eq!(message["chat"]["type"], "private");
    assert_eq!(message["from"]["id"], BOT_USER_ID);
    assert_eq!(message["from"]["is_bot"], true);
    assert_eq!(message["text"], "Здравствуйте!");
    assert_eq!(message["reply_markup"], keyboard("take"));
    assert!(message["date"].as_i64().unwrap() > 1_700_000_000);

    assert_eq!(send(&emulator, 1001, "второе").await.1["result"]["message_id"], 2);
    assert_eq!(send(&emulator, -1001234567890, "в группу").await.1["result"]["message_id"], 1);
    let (_, copied) =
        call(&emulator, "copyMessage", json!({ "chat_id": 1001, "from_chat_id": 2002, "message_id": 7 })).await;
    assert_eq!(copied["result"], json!({ "message_id": 3 }));
}

#[tokio::test]
async fn get_me_describes_the_test_bot() {
    let emulator = BotApiEmulator::start().await;
    let (status, me) = call(&emulator, "getMe", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(me["result"]["id"], BOT_USER_ID);
    assert_eq!(me["result"]["first_name"], "Служба Заботы");
    assert_eq!(me["result"]["username"], "zabota_test_bot");
}

#[tokio::test]
async fn received_lists_messages_in_order_as_they_are_after_edits() {
    let emulator = BotApiEmulator::start().await;
    let (_, first) = call(
        &emulator,
        "sendMessage",
        json!({ "chat_id": 1001, "text": "Заявка №1", "reply_markup": keyboard("take") }),
    )
    .await;
    send(&emulator, 1001, "Заявка №2").await;
    let id = first["result"]["message_id"].as_i64().unwrap();

    let (status, edited) =
        call(&emulator, "editMessageText", json!({ "chat_id": 1001, "message_id": id, "text": "Заявка №1 взята" }))
            .await;
    assert_eq!(status, 200);
    assert_eq!(edited["result"]["text"], "Заявка №1 взята");
    assert!(edited["result"].get("reply_markup").is_none(), "an edit without markup removes the keyboard");
    assert!(edited["result"]["edit_date"].is_i64());

    assert_eq!(emulator.texts(1001), ["Заявка №1 взята", "Заявка №2"]);
    let received = emulator.received(1001);
    assert_eq!(received[0].reply_markup, None);
    assert_eq!(received[0].method, "sendMessage");
    assert_eq!(received[1].message_id, 2);

    let (status, same) =
        call(&emulator, "editMessageText", json!({ "chat_id": 1001, "message_id": id, "text": "Заявка №1 взята" }))
            .await;
    assert_eq!(status, 400);
    assert!(same["description"].as_str().unwrap().starts_with("Bad Request: message is not modified"));

    let (status, missing) =
        call(&emulator, "editMessageText", json!({ "chat_id": 1001, "message_id": 99, "text": "x" })).await;
    assert_eq!(status, 400);
    assert_eq!(missing["description"], "Bad Request: message to edit not found");

    let (status, _) = call(&emulator, "deleteMessage", json!({ "chat_id": 1001, "message_id": id })).await;
    assert_eq!(status, 200);
    assert_eq!(emulator.texts(1001), ["Заявка №2"]);
}

#[tokio::test]
async fn pins_need_an_existing_message_and_in_a_group_the_right_to_pin() {
    let emulator = BotApiEmulator::start().await;
    let group = -1_001_234_567_890;
    let id = send(&emulator, group, "📋 Очередь").await.1["result"]["message_id"].as_i64().unwrap();
    let pin = |message_id: i64| json!({ "chat_id": group, "message_id": message_id, "disable_notification": true });
    let (status, missing) = call(&emulator, "pinChatMessage", pin(id + 50)).await;
    assert_eq!((status, missing["description"].as_str()), (400, Some("Bad Request: message to pin not found")));
    assert_eq!(call(&emulator, "pinChatMessage", pin(id)).await.0, 200);
    assert_eq!(emulator.pinned(group), [id]);
    assert_eq!(call(&emulator, "unpinChatMessage", json!({ "chat_id": group, "message_id": id })).await.0, 200);
    assert!(emulator.pinned(group).is_empty());

    // A bot that is a plain member may not pin.
    emulator.set_chat_member(group, BOT_USER_ID, "member");
    let (status, refused) = call(&emulator, "pinChatMessage", pin(id)).await;
    assert_eq!(status, 400);
    assert_eq!(refused["description"], "Bad Request: not enough rights to manage pinned messages in the chat");
    assert!(emulator.pinned(group).is_empty());
}

#[tokio::test]
async fn a_text_is_limited_to_4096_characters_not_bytes() {
    let emulator = BotApiEmulator::start().await;
    assert_eq!(send(&emulator, 1001, &"я".repeat(4096)).await.0, 200);
    let (status, answer) = send(&emulator, 1001, &"я".repeat(4097)).await;
    assert_eq!(status, 400);
    assert_eq!(answer, json!({ "ok": false, "error_code": 400, "description": "Bad Request: message is too long" }));
    assert_eq!(send(&emulator, 1001, "").await.1["description"], "Bad Request: message text is empty");
    let (_, no_chat) = call(&emulator, "sendMessage", json!({ "text": "кому?" })).await;
    assert_eq!(no_chat["description"], "Bad Request: chat_id is empty");
    assert_eq!(emulator.received(1001).len(), 1);
}

#[tokio::test]
async fn a_blocked_chat_refuses_every_send_until_unblocked() {
    let emulator = BotApiEmulator::start().await;
    emulator.block_chat(1001);
    emulator.never_started(1002);
    let (status, blocked) = send(&emulator, 1001, "привет").await;
    assert_eq!(status, 403);
    assert_eq!(blocked["error_code"], 403);
    assert_eq!(blocked["description"], "Forbidden: bot was blocked by the user");
    let (_, copied) =
        call(&emulator, "copyMessage", json!({ "chat_id": 1001, "from_chat_id": 5, "message_id": 1 })).await;
    assert_eq!(copied["error_code"], 403);
    assert_eq!(
        send(&emulator, 1002, "привет").await.1["description"],
        "Forbidden: bot can't initiate conversation with a user"
    );

    emulator.unblock_chat(1001);
    assert_eq!(send(&emulator, 1001, "снова").await.0, 200);
    assert_eq!(emulator.texts(1001), ["снова"]);
    assert!(emulator.received(1002).is_empty());
}

#[tokio::test]
async fn fail_next_answers_429_with_retry_after_then_lets_calls_through() {
    let emulator = BotApiEmulator::start().await;
    emulator.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 3 }, 1);
    let (status, limited) = send(&emulator, 1001, "раз").await;
    assert_eq!(status, 429);
    assert_eq!(limited["parameters"]["retry_after"], 3);
    assert_eq!(limited["description"], "Too Many Requests: retry after 3");
    assert_eq!(send(&emulator, 1001, "два").await.0, 200);
    assert_eq!(emulator.texts(1001), ["два"]);
}

#[tokio::test]
async fn fail_next_answers_500_twice_and_every_attempt_is_recorded() {
    let emulator = BotApiEmulator::start().await;
    emulator.fail_next("*", Fault::ServerError, 2);
    assert_eq!(
        send(&emulator, 1001, "a").await,
        (500, json!({ "ok": false, "error_code": 500, "description": "Internal Server Error" }))
    );
    assert_eq!(call(&emulator, "getMe", json!({})).await.0, 500);
    assert_eq!(send(&emulator, 1001, "a").await.0, 200);
    let statuses: Vec<u16> = emulator.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(emulator.calls_to("sendmessage").len(), 2);
    assert_eq!(emulator.calls_to("sendMessage")[0].params["text"], "a");
}

#[tokio::test]
async fn a_delay_fault_answers_normally_after_waiting() {
    let emulator = BotApiEmulator::start().await;
    emulator.fail_next("getMe", Fault::Delay(Duration::from_millis(300)), 1);
    let started = Instant::now();
    assert_eq!(call(&emulator, "getMe", json!({})).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_drop_fault_closes_the_connection_without_an_answer() {
    let emulator = BotApiEmulator::start().await;
    emulator.fail_next("sendMessage", Fault::Drop, 1);
    let pooled = client();
    let base = format!("{}/bot{}", emulator.base_url(), emulator.token());
    assert_eq!(pooled.post(format!("{base}/getMe")).send().await.unwrap().status(), 200);
    let started = Instant::now();
    let result = pooled.post(format!("{base}/sendMessage")).json(&json!({ "chat_id": 1001, "text": "x" })).send().await;
    assert!(result.is_err(), "expected a connection error, got {result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let statuses: Vec<u16> = emulator.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [200, 0], "the dropped call is recorded once, with status 0");
    assert!(emulator.received(1001).is_empty());
    assert_eq!(send(&emulator, 1001, "x").await.0, 200);
}

#[tokio::test]
async fn get_updates_confirms_everything_below_the_offset() {
    let emulator = BotApiEmulator::start().await;
    let customer = TgUser::customer(1);
    emulator.push_update(updates::with_update_id(updates::private_text(&customer, "/start"), 1));
    emulator.push_update(updates::with_update_id(updates::private_text(&customer, "помогите"), 2));

    let (_, all) = call(&emulator, "getUpdates", json!({})).await;
    let ids: Vec<i64> = all["result"].as_array().unwrap().iter().map(|u| u["update_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(all["result"][0]["message"]["entities"][0]["type"], "bot_command");

    let (_, rest) = call(&emulator, "getUpdates", json!({ "offset": 2 })).await;
    assert_eq!(rest["result"].as_array().unwrap().len(), 1);
    assert_eq!(emulator.pending_updates(), 1);
    let (_, none) = call(&emulator, "getUpdates", json!({ "offset": 3 })).await;
    assert_eq!(none["result"], json!([]));
    assert_eq!(emulator.pending_updates(), 0);
}

#[tokio::test]
async fn a_long_poll_wakes_up_as_soon_as_an_update_is_pushed() {
    let emulator = BotApiEmulator::start().await;
    let pusher = emulator.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pusher.push_update(updates::private_text(&TgUser::customer(2), "есть кто?"));
    });
    let started = Instant::now();
    let (_, polled) = call(&emulator, "getUpdates", json!({ "timeout": 10 })).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(polled["result"][0]["message"]["text"], "есть кто?");
}

#[tokio::test]
async fn a_long_poll_without_updates_answers_an_empty_list_after_the_timeout() {
    let emulator = BotApiEmulator::start().await;
    let started = Instant::now();
    let (status, polled) = call(&emulator, "getUpdates", json!({ "timeout": 1 })).await;
    assert_eq!((status, polled["result"].clone()), (200, json!([])));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn get_updates_conflicts_while_a_webhook_is_set() {
    let emulator = BotApiEmulator::start().await;
    let (status, _) =
        call(&emulator, "setWebhook", json!({ "url": "https://example.org/hook", "secret_token": "s3cret" })).await;
    assert_eq!(status, 200);
    let (status, conflict) = call(&emulator, "getUpdates", json!({})).await;
    assert_eq!(status, 409);
    assert!(
        conflict["description"]
            .as_str()
            .unwrap()
            .starts_with("Conflict: can't use getUpdates method while webhook is active")
    );
    assert_eq!(emulator.webhook().unwrap().secret_token.as_deref(), Some("s3cret"));

    call(&emulator, "deleteWebhook", json!({})).await;
    assert_eq!(call(&emulator, "getUpdates", json!({})).await.0, 200);
    assert_eq!(call(&emulator, "getWebhookInfo", json!({})).await.1["result"]["url"], "");
}

/// A webhook target answering with whatever status the test chose, remembering each secret header.
async fn webhook_target(status: Arc<AtomicU16>, secrets: Arc<Mutex<Vec<String>>>) -> String {
    let handler = move |headers: HeaderMap| {
        let status = status.clone();
        let secrets = secrets.clone();
        async move {
            let secret = headers.get(zabota_botapi::SECRET_HEADER).map(|v| v.to_str().unwrap().to_owned());
            secrets.lock().unwrap().push(secret.unwrap_or_default());
            axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/hook", axum::routing::post(handler));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn deliver_webhook_sends_the_secret_and_keeps_an_update_pending_on_500() {
    let emulator = BotApiEmulator::start().await;
    let status = Arc::new(AtomicU16::new(500));
    let secrets = Arc::new(Mutex::new(Vec::new()));
    let url = webhook_target(status.clone(), secrets.clone()).await;
    call(&emulator, "setWebhook", json!({ "url": url, "secret_token": "s3cret", "allowed_updates": ["message"] }))
        .await;
    emulator.push_update(updates::private_text(&TgUser::customer(3), "алло"));

    assert_eq!(emulator.deliver_webhook().await, [500]);
    assert_eq!(emulator.pending_updates(), 1);
    let (_, info) = call(&emulator, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["pending_update_count"], 1);
    assert_eq!(info["result"]["allowed_updates"], json!(["message"]));
    assert!(info["result"]["last_error_message"].as_str().unwrap().contains("500"));

    status.store(200, Ordering::SeqCst);
    assert_eq!(emulator.deliver_webhook().await, [200]);
    assert_eq!(emulator.pending_updates(), 0);
    assert_eq!(*secrets.lock().unwrap(), ["s3cret", "s3cret"]);
}

#[tokio::test]
async fn get_file_reports_a_path_that_downloads_the_bytes() {
    let emulator = BotApiEmulator::start().await;
    let path = emulator.add_file("doc-1", "u_doc-1", b"%PDF-1.7 hello".to_vec());
    assert!(path.starts_with("documents/file_") && path.ends_with(".pdf"), "{path}");
    let (status, file) = call(&emulator, "getFile", json!({ "file_id": "doc-1" })).await;
    assert_eq!(status, 200);
    assert_eq!(
        file["result"],
        json!({ "file_id": "doc-1", "file_unique_id": "u_doc-1", "file_size": 14, "file_path": path })
    );

    let url = format!("{}/file/bot{}/{path}", emulator.base_url(), TEST_BOT_TOKEN);
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"%PDF-1.7 hello");

    let missing = format!("{}/file/bot{}/documents/nope", emulator.base_url(), TEST_BOT_TOKEN);
    assert_eq!(client().get(missing).send().await.unwrap().status(), 404);
    assert_eq!(
        call(&emulator, "getFile", json!({ "file_id": "nope" })).await.1["description"],
        "Bad Request: invalid file_id"
    );
}

#[tokio::test]
async fn get_file_refuses_a_file_over_20_megabytes() {
    let emulator = BotApiEmulator::start().await;
    emulator.add_file_with_size("big", "u_big", 20 * 1024 * 1024 + 1);
    let (status, answer) = call(&emulator, "getFile", json!({ "file_id": "big" })).await;
    assert_eq!(status, 400);
    assert_eq!(answer["description"], "Bad Request: file is too big");
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_an_unknown_method_is_not_found() {
    let emulator = BotApiEmulator::start().await;
    let url = format!("{}/bot123:wrong/getMe", emulator.base_url());
    let response = client().post(url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })
    );
    let (status, answer) = call(&emulator, "sendTelepathy", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(answer["description"], "Not Found");
    assert_eq!(emulator.calls().len(), 2);
}

#[tokio::test]
async fn method_names_are_case_insensitive_and_form_bodies_are_accepted() {
    let emulator = BotApiEmulator::start().await;
    let url = format!("{}/bot{}/SENDMESSAGE", emulator.base_url(), emulator.token());
    let response = client().post(url).form(&[("chat_id", "1001"), ("text", "из формы")]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(emulator.texts(1001), ["из формы"]);
}

#[tokio::test]
async fn a_copy_of_a_customer_message_carries_its_text_and_the_source() {
    let emulator = BotApiEmulator::start().await;
    let update = updates::private_text(&TgUser::customer(4), "у меня сломалось");
    let message_id = update["message"]["message_id"].as_i64().unwrap();
    emulator.push_update(update);
    let params = json!({ "chat_id": -1001234567890_i64, "from_chat_id": 1004, "message_id": message_id });
    assert_eq!(call(&emulator, "copyMessage", params).await.0, 200);
    let copy = &emulator.received(-1001234567890)[0];
    assert_eq!(copy.text.as_deref(), Some("у меня сломалось"));
    assert_eq!(copy.params["from_chat_id"], 1004);

    let params = json!({ "chat_id": 5001, "from_chat_id": 1004, "message_id": message_id });
    let (_, forwarded) = call(&emulator, "forwardMessage", params).await;
    assert_eq!(forwarded["result"]["forward_origin"]["sender_user"]["id"], 1004);
    assert_eq!(forwarded["result"]["text"], "у меня сломалось");
}

#[tokio::test]
async fn chat_members_and_callback_answers_are_as_the_test_set_them() {
    let emulator = BotApiEmulator::start().await;
    emulator.set_chat_member(-100500, 5001, "administrator");
    let (_, admin) = call(&emulator, "getChatMember", json!({ "chat_id": -100500, "user_id": 5001 })).await;
    assert_eq!(admin["result"]["status"], "administrator");
    assert_eq!(admin["result"]["user"]["id"], 5001);
    let (_, stranger) = call(&emulator, "getChatMember", json!({ "chat_id": -100500, "user_id": 5002 })).await;
    assert_eq!(stranger["result"]["status"], "left");

    let answer = json!({ "callback_query_id": "42", "text": "Готово", "show_alert": true });
    assert_eq!(call(&emulator, "answerCallbackQuery", answer).await.0, 200);
    let too_long = json!({ "callback_query_id": "43", "text": "я".repeat(201) });
    assert_eq!(
        call(&emulator, "answerCallbackQuery", too_long).await.1["description"],
        "Bad Request: MESSAGE_TOO_LONG"
    );
    let answers = emulator.callback_answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(
        (answers[0].callback_query_id.as_str(), answers[0].text.as_deref(), answers[0].show_alert),
        ("42", Some("Готово"), true)
    );
}

#[tokio::test]
async fn concurrent_sends_to_one_chat_get_distinct_ids() {
    let emulator = BotApiEmulator::start().await;
    emulator.set_limits(None);
    let sends = (0..20).map(|n| {
        let emulator = emulator.clone();
        tokio::spawn(async move {
            send(&emulator, 1001, &format!("#{n}")).await.1["result"]["message_id"].as_i64().unwrap()
        })
    });
    let mut ids = Vec::new();
    for send in sends {
        ids.push(send.await.unwrap());
    }
    ids.sort();
    assert_eq!(ids, (1..=20).collect::<Vec<i64>>());
}

#[test]
fn update_builders_produce_realistic_bot_api_json() {
    let customer = TgUser::customer(7);
    let photo = updates::photo(&customer, "ph", Some("чек"));
    let sizes = photo["message"]["photo"].as_array().unwrap();
    assert_eq!(sizes.len(), 3);
    assert_eq!(sizes[2]["file_id"], "ph");
    assert_eq!(sizes[0]["file_id"], "ph_s");
    assert_eq!(photo["message"]["caption"], "чек");
    assert_eq!(photo["message"]["chat"]["type"], "private");
    assert_eq!(photo["message"]["from"]["username"], "customer7");

    let group = updates::group_text(-1001234567890, &TgUser::operator(1), "/take 5");
    assert_eq!(group["message"]["chat"]["type"], "supergroup");
    assert_eq!(group["message"]["entities"][0]["length"], 5);

    let first = updates::private_text(&customer, "a")["update_id"].as_i64().unwrap();
    let second = updates::private_text(&customer, "b")["update_id"].as_i64().unwrap();
    assert!(first >= 10_000 && second > first);

    let pressed = updates::callback(&customer, 1007, 3, "rate:5");
    assert_eq!(pressed["callback_query"]["message"]["message_id"], 3);
    assert_eq!(pressed["callback_query"]["data"], "rate:5");
    assert!(pressed["callback_query"]["id"].is_string());
}

#[tokio::test]
async fn flood_limits_answer_429_with_retry_after_like_telegram() {
    let emulator = BotApiEmulator::start().await;
    let group = -1_001_234_567_890;
    for n in 0..20 {
        assert_eq!(send(&emulator, group, &format!("#{n}")).await.0, 200, "20 a minute in a group");
    }
    let (status, body) = send(&emulator, group, "#21").await;
    assert_eq!(status, 429);
    let retry_after = body["parameters"]["retry_after"].as_u64().unwrap();
    assert!((55..=60).contains(&retry_after), "a minute's window: {body}");
    assert_eq!(body["description"], format!("Too Many Requests: retry after {retry_after}"));
    let edit = json!({ "chat_id": group, "message_id": 1, "text": "правка" });
    assert_eq!(call(&emulator, "editMessageText", edit).await.0, 429, "an edit counts like a send");
    assert_eq!(send(&emulator, 1001, "private").await.0, 200, "a private chat has its own budget");
    let answer = json!({ "callback_query_id": "1" });
    assert_eq!(call(&emulator, "answerCallbackQuery", answer).await.0, 200, "an answer is no message");
    assert_eq!(emulator.over_limit_calls().len(), 2);
    assert_eq!(emulator.texts(group).len(), 20, "what was refused did not arrive");

    // A private chat: bursts of 8 in any 5 seconds; an album counts each part.
    let anna = 2002;
    assert_eq!(send(&emulator, anna, "1").await.0, 200);
    let album = json!({ "chat_id": anna, "from_chat_id": anna, "message_ids": [1, 1, 1, 1, 1, 1, 1, 1] });
    let (status, body) = call(&emulator, "copyMessages", album).await;
    assert_eq!((status, body["parameters"]["retry_after"].as_u64()), (429, Some(5)), "1 + 8 parts is over 8");
}

/// Uploads `bytes` as the `field` of `method` to chat 42; the status and the answer.
async fn upload(emulator: &BotApiEmulator, method: &str, field: &str, bytes: Vec<u8>) -> (u16, Value) {
    let url = format!("{}/bot{}/{method}", emulator.base_url(), emulator.token());
    let part = reqwest::multipart::Part::bytes(bytes).file_name("upload.bin");
    let form = reqwest::multipart::Form::new().text("chat_id", "42").part(field.to_owned(), part);
    let response = client().post(url).multipart(form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A PNG header of `width` × `height` (what Telegram reads the size from).
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(width.to_be_bytes());
    png.extend(height.to_be_bytes());
    png.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    png
}

#[tokio::test]
async fn uploads_keep_their_bytes_and_photos_are_checked_like_telegram_does() {
    let emulator = BotApiEmulator::start().await;
    // Every byte survives, including those that are not UTF-8 and a CRLF inside the file.
    let bytes: Vec<u8> = (0..=255u8).chain(*b"\r\n--x\r\n").collect();
    let (status, body) = upload(&emulator, "sendDocument", "document", bytes.clone()).await;
    assert_eq!(status, 200, "{body}");
    let id = body["result"]["message_id"].as_i64().unwrap();
    assert_eq!(emulator.uploaded(42, id), Some(bytes));
    assert!(emulator.calls_to("sendDocument")[0].params["document"].get("bytes").is_none(), "not logged");

    let (status, body) = upload(&emulator, "sendPhoto", "photo", png_header(1000, 640)).await;
    assert_eq!(status, 200, "{body}");
    let sizes = &body["result"]["photo"][0];
    assert_eq!((sizes["width"].as_i64(), sizes["height"].as_i64()), (Some(1000), Some(640)));
    for (bytes, error) in [
        (b"not an image".to_vec(), "Bad Request: IMAGE_PROCESS_FAILED"),
        (png_header(9000, 2000), "Bad Request: PHOTO_INVALID_DIMENSIONS"),
        (png_header(2100, 100), "Bad Request: PHOTO_INVALID_DIMENSIONS"),
        (Vec::new(), "Bad Request: file must be non-empty"),
    ] {
        let (status, body) = upload(&emulator, "sendPhoto", "photo", bytes).await;
        assert_eq!((status, body["description"].as_str()), (400, Some(error)));
    }
    let (status, _) = upload(&emulator, "sendPhoto", "photo", vec![0; 10 * 1024 * 1024 + 1]).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn command_menus_are_kept_per_scope_and_language_and_checked_as_telegram_checks_them() {
    let emulator = BotApiEmulator::start().await;
    let start = json!([{ "command": "start", "description": "Начать" }]);
    let private = json!({ "type": "all_private_chats" });
    let group = json!({ "type": "chat", "chat_id": -100 });
    for (scope, language, commands) in [
        (&private, "", &start),
        (&private, "en", &json!([{ "command": "start", "description": "Start" }])),
        (&group, "", &json!([{ "command": "history", "description": "История" }])),
    ] {
        let (status, answer) = call(
            &emulator,
            "setMyCommands",
            json!({ "commands": commands, "scope": scope, "language_code": language }),
        )
        .await;
        assert_eq!((status, &answer["result"]), (200, &json!(true)), "{answer}");
    }
    assert_eq!(emulator.command_menu(&private, ""), [("start".to_owned(), "Начать".to_owned())]);
    assert_eq!(emulator.command_menu(&private, "en"), [("start".to_owned(), "Start".to_owned())]);
    assert_eq!(emulator.command_menu(&group, "")[0].0, "history");
    let (_, got) = call(&emulator, "getMyCommands", json!({ "scope": group })).await;
    assert_eq!(got["result"], json!([{ "command": "history", "description": "История" }]));
    let (_, none) = call(&emulator, "getMyCommands", json!({ "scope": group, "language_code": "de" })).await;
    assert_eq!(none["result"], json!([]));

    let refused = |commands: Value, scope: Value, language: &str| json!({ "commands": commands, "scope": scope, "language_code": language });
    let many: Vec<Value> = (0..101).map(|i| json!({ "command": format!("c{i}"), "description": "x" })).collect();
    for (params, description) in [
        (
            refused(json!([{ "command": "Start", "description": "x" }]), private.clone(), ""),
            "Bad Request: BOT_COMMAND_INVALID",
        ),
        (
            refused(json!([{ "command": "/start", "description": "x" }]), private.clone(), ""),
            "Bad Request: BOT_COMMAND_INVALID",
        ),
        (
            refused(json!([{ "command": "a".repeat(33), "description": "x" }]), private.clone(), ""),
            "Bad Request: BOT_COMMAND_INVALID",
        ),
        (
            refused(json!([{ "command": "start", "description": " " }]), private.clone(), ""),
            "Bad Request: command description must be non-empty",
        ),
        (
            refused(json!([{ "command": "start", "description": "д".repeat(257) }]), private.clone(), ""),
            "Bad Request: command description is too long",
        ),
        (refused(json!(many), private.clone(), ""), "Bad Request: too many commands specified"),
        (
            refused(start.clone(), json!({ "type": "everyone" }), ""),
            "Bad Request: can't parse BotCommandScope: unknown type",
        ),
        (refused(start.clone(), json!({ "type": "chat" }), ""), "Bad Request: chat not found"),
        (refused(start.clone(), private.clone(), "russian"), "Bad Request: invalid language code specified"),
    ] {
        let (status, answer) = call(&emulator, "setMyCommands", params).await;
        assert_eq!((status, answer["description"].as_str()), (400, Some(description)), "{answer}");
    }
    assert_eq!(emulator.command_menu_count(), 3, "nothing refused was kept");
    let (_, _) = call(&emulator, "deleteMyCommands", json!({ "scope": group })).await;
    assert_eq!(emulator.command_menu_count(), 2);
}

#[tokio::test]
async fn a_button_whose_callback_data_is_over_64_bytes_or_empty_is_refused() {
    let emulator = BotApiEmulator::start().await;
    for data in ["x".repeat(65), String::new()] {
        let params = json!({ "chat_id": 1001, "text": "Меню", "reply_markup": keyboard(&data) });
        let (status, answer) = call(&emulator, "sendMessage", params).await;
        assert_eq!((status, answer["description"].as_str()), (400, Some("Bad Request: BUTTON_DATA_INVALID")));
    }
    let (status, _) = call(
        &emulator,
        "sendMessage",
        json!({ "chat_id": 1001, "text": "Меню", "reply_markup": keyboard(&"x".repeat(64)) }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(emulator.texts(1001), ["Меню"]);
}
