//! The webhook handler in-process, fed Lambda Function URL events parsed exactly as the runtime parses them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use serde_json::Value;
use zabota_core::webhook::MAX_BODY_BYTES;
use zabota_testkit::lambda::events::{
    SECRET_HEADER, function_url_event, function_url_event_base64, signed_update_event as signed,
};
use zabota_testkit::{TestApp, TgUser, WEBHOOK_SECRET, spawn_app, updates};

/// Turns the event into a `Request` the way `lambda_http::run` does, and calls the handler.
async fn invoke(t: &TestApp, event: &Value) -> (u16, String) {
    let request = lambda_http::request::from_str(&event.to_string()).expect("a Function URL event");
    let response = webhook::handle(&t.app, request).await;
    (response.status().as_u16(), String::from_utf8_lossy(response.body().as_ref()).into_owned())
}

fn start_from(customer: &TgUser) -> String {
    updates::command(customer, "/start").to_string()
}

fn assert_greeted_once(t: &TestApp, customer: &TgUser) {
    let texts = t.telegram.texts(customer.id);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].starts_with("Здравствуйте"), "{texts:?}");
}

#[tokio::test]
async fn a_start_update_with_the_right_secret_is_answered_with_the_greeting() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    assert_eq!(invoke(&t, &signed(&start_from(&customer))).await, (200, "ok".into()));
    assert_greeted_once(&t, &customer);
}

#[tokio::test]
async fn the_same_update_delivered_again_is_acknowledged_and_not_answered_twice() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let event = signed(&start_from(&customer));
    assert_eq!(invoke(&t, &event).await, (200, "ok".into()));
    assert_eq!(invoke(&t, &event).await, (200, "duplicate".into()));
    assert_greeted_once(&t, &customer);
    assert_eq!(t.db.count("processed_updates").await, 1);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_401_and_nothing_is_stored() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let event = function_url_event(&start_from(&customer), &[(SECRET_HEADER, "not-the-secret")]);
    assert_eq!(invoke(&t, &event).await.0, 401);
    assert_eq!(t.db.count("processed_updates").await, 0);
    assert!(t.telegram.texts(customer.id).is_empty());
}

#[tokio::test]
async fn a_missing_secret_header_is_refused_with_401() {
    let t = spawn_app().await;
    let event = function_url_event(&start_from(&TgUser::customer(1)), &[]);
    assert_eq!(invoke(&t, &event).await.0, 401);
    assert_eq!(t.db.count("processed_updates").await, 0);
}

#[tokio::test]
async fn a_body_over_256_kib_is_refused_with_413() {
    let t = spawn_app().await;
    let body = format!(r#"{{"update_id":1,"padding":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    assert_eq!(invoke(&t, &signed(&body)).await.0, 413);
    assert_eq!(t.db.count("processed_updates").await, 0);
}

#[tokio::test]
async fn a_base64_encoded_body_works_like_a_plain_one() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let event = function_url_event_base64(start_from(&customer).as_bytes(), &[(SECRET_HEADER, WEBHOOK_SECRET)]);
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(invoke(&t, &event).await, (200, "ok".into()));
    assert_greeted_once(&t, &customer);
}

#[tokio::test]
async fn a_malformed_body_is_acknowledged_with_200_so_telegram_stops_retrying() {
    let t = spawn_app().await;
    assert_eq!(invoke(&t, &signed(r#"{"update_id": 1, "message": {"#)).await, (200, "ignored".into()));
    assert_eq!(t.db.count("processed_updates").await, 0);
}
