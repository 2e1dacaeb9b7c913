//! The Bot API client against the emulator: retries within bounds, typed errors, and a token that never leaks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::Duration;

use secrecy::SecretString;
use zabota_core::telegram::{RetryPolicy, SendMessage, TelegramClient, TelegramError};
use zabota_testkit::{BotApiEmulator, Fault, TEST_BOT_TOKEN};

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(10),
        retry_after_budget: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
    }
}

async fn client() -> (BotApiEmulator, TelegramClient) {
    let emulator = BotApiEmulator::start().await;
    let client = TelegramClient::with_policy(&emulator.base_url(), SecretString::from(TEST_BOT_TOKEN), fast_policy());
    (emulator, client)
}

fn assert_no_token(text: &str) {
    let secret = TEST_BOT_TOKEN.split_once(':').unwrap().1;
    assert!(!text.contains(TEST_BOT_TOKEN) && !text.contains(secret), "token leaked: {text}");
}

#[tokio::test]
async fn get_me_and_send_message_return_typed_results() {
    let (emulator, client) = client().await;
    let me = client.get_me().await.unwrap();
    assert!(me.is_bot);
    let sent = client.send_message(&SendMessage::new(1001, "Здравствуйте!")).await.unwrap();
    assert_eq!(sent.chat_id(), 1001);
    assert_eq!(sent.text.as_deref(), Some("Здравствуйте!"));
    assert_eq!(emulator.texts(1001), vec!["Здравствуйте!"]);
}

#[tokio::test]
async fn a_429_is_retried_after_the_time_telegram_asks_for() {
    let (emulator, client) = client().await;
    emulator.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 1 }, 1);
    let started = std::time::Instant::now();
    client.send_message(&SendMessage::new(1001, "hi")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "retry_after was not honoured");
    assert_eq!(emulator.calls_to("sendMessage").len(), 2);
    assert_eq!(emulator.texts(1001), vec!["hi"], "delivered exactly once");
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_returned_not_slept() {
    let (emulator, client) = client().await;
    emulator.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 60 }, 1);
    let err = client.send_message(&SendMessage::new(1001, "hi")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(60));
    assert!(err.is_transient());
    assert_eq!(emulator.calls_to("sendMessage").len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let (emulator, client) = client().await;
    emulator.fail_next("sendMessage", Fault::ServerError, 2);
    client.send_message(&SendMessage::new(1001, "third time lucky")).await.unwrap();
    assert_eq!(emulator.calls_to("sendMessage").len(), 3);

    emulator.fail_next("sendMessage", Fault::ServerError, 5);
    let err = client.send_message(&SendMessage::new(1001, "never")).await.unwrap_err();
    assert!(matches!(err, TelegramError::Api { code: 500, .. }), "{err:?}");
    assert_eq!(emulator.calls_to("sendMessage").len(), 3 + 3);
    assert_eq!(emulator.texts(1001), vec!["third time lucky"]);
}

#[tokio::test]
async fn other_client_errors_are_never_retried() {
    let (emulator, client) = client().await;
    let err = client.send_message(&SendMessage::new(1001, "")).await.unwrap_err();
    assert!(
        matches!(&err, TelegramError::Api { code: 400, description, .. } if description.contains("empty")),
        "{err:?}"
    );
    assert_eq!(emulator.calls_to("sendMessage").len(), 1);
}

#[tokio::test]
async fn a_blocked_user_and_a_never_started_user_are_told_apart() {
    let (emulator, client) = client().await;
    emulator.block_chat(1001);
    emulator.never_started(5001);
    let blocked = client.send_message(&SendMessage::new(1001, "x")).await.unwrap_err();
    let not_started = client.send_message(&SendMessage::new(5001, "x")).await.unwrap_err();
    assert!(blocked.is_forbidden() && !blocked.is_cannot_initiate(), "{blocked:?}");
    assert!(not_started.is_forbidden() && not_started.is_cannot_initiate(), "{not_started:?}");
    assert!(!blocked.is_transient());
    assert_eq!(emulator.calls_to("sendMessage").len(), 2);
}

#[tokio::test]
async fn the_token_never_appears_in_errors_or_debug_output() {
    let (emulator, client) = client().await;
    emulator.fail_next("getMe", Fault::BadRequest("Bad Request: something".into()), 1);
    let api = client.get_me().await.unwrap_err();
    assert_no_token(&api.to_string());
    assert_no_token(&format!("{api:?}"));
    assert_no_token(&format!("{client:?}"));

    // Nothing listens here: a network error, whose reqwest text would include the URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = TelegramClient::with_policy(&url, SecretString::from(TEST_BOT_TOKEN), fast_policy());
    let network = offline.get_me().await.unwrap_err();
    assert!(matches!(network, TelegramError::Network { .. }), "{network:?}");
    assert_no_token(&network.to_string());
    assert_no_token(&format!("{network:?}"));
}

#[tokio::test]
async fn a_slow_answer_times_out_as_a_network_error() {
    let (emulator, client) = client().await;
    emulator.fail_next("getMe", Fault::Delay(Duration::from_secs(5)), 3);
    let err = client.get_me().await.unwrap_err();
    assert!(matches!(err, TelegramError::Network { .. }), "{err:?}");
    assert_eq!(emulator.calls_to("getMe").len(), 3, "timeouts are retried like other network errors");
}

#[tokio::test]
async fn files_are_found_and_downloaded_with_a_size_cap() {
    let (emulator, client) = client().await;
    emulator.add_file("doc1", "u_doc1", b"%PDF-1.4 receipt".to_vec());
    let file = client.get_file("doc1").await.unwrap();
    assert_eq!(file.file_size, Some(16));
    let path = file.file_path.unwrap();
    assert_eq!(&client.download_file(&path, 1024).await.unwrap()[..], b"%PDF-1.4 receipt");
    let too_big = client.download_file(&path, 4).await.unwrap_err();
    assert!(matches!(too_big, TelegramError::Api { code: 413, .. }), "{too_big:?}");
    assert_no_token(&too_big.to_string());
}
