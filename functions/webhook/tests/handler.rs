//! The webhook handler in-process, fed Lambda Function URL events parsed exactly as the runtime parses them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use serde_json::Value;
use zabota_core::webhook::MAX_BODY_BYTES;
use zabota_testkit::lambda::events::{function_url_event, function_url_event_base64};
use zabota_testkit::{TestApp, TgUser, WEBHOOK_SECRET, spawn_app, updates};

/// The secret header as a Function URL delivers it: lower-cased.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Turns the event into a `Request` the way `lambda_http::run` does, and calls the handler.
async fn invoke(t: &TestApp, event: &Value) -> (u16, String) {
    let request = lambda_http::request::from_str(&event.to_string()).expect("a Function URL event");
    let response = webhook::handle(&t.app, request).await;
    (response.status().as_u16(), String::from_utf8_lossy(response.body().as_ref()).into_owned())
}

fn signed(body: &str) -> Value {
    function_url_event(body, &[(SECRET_HEADER, WEBHOOK_SECRET)])
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

/// The EMF line's metric names, in the order declared, after checking the envelope's shape.
fn emf_metrics(line: &Value) -> Vec<String> {
    let declared = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "Zabota", "{line}");
    assert!(line["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000, "{line}");
    let metrics = declared["Metrics"].as_array().unwrap();
    for m in metrics {
        // Every declared metric has its value at the top level, and every dimension too.
        assert!(line[m["Name"].as_str().unwrap()].is_number(), "{m} in {line}");
    }
    for dimension in declared["Dimensions"].as_array().unwrap().iter().flat_map(|d| d.as_array().unwrap()) {
        assert!(line[dimension.as_str().unwrap()].is_string(), "{dimension} in {line}");
    }
    metrics.iter().map(|m| m["Name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_invocation_writes_an_emf_line_with_its_update_and_outcome() {
    let t = spawn_app().await;
    let customer = TgUser::customer(1);
    let event = signed(&start_from(&customer));
    let measured = |event: Value| {
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let app = &t.app;
        async move { webhook::handle_measured(app, request).await }
    };
    let (response, line) = measured(event.clone()).await;
    assert_eq!(response.status().as_u16(), 200);
    let line: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        emf_metrics(&line),
        ["Updates", "DuplicateUpdates", "FailedUpdates", "BotApi429", "BotApi5xx", "HandlerDuration"]
    );
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Function"], ["Function", "Kind"]])
    );
    assert_eq!(
        (line["Kind"].as_str(), line["Updates"].as_u64(), line["DuplicateUpdates"].as_u64()),
        (Some("message"), Some(1), Some(0))
    );
    assert!(line["HandlerDuration"].as_f64().unwrap() > 0.0);

    let (_, again) = measured(event).await;
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!((again["Updates"].as_u64(), again["DuplicateUpdates"].as_u64()), (Some(1), Some(1)));

    // A 429 from Telegram while sending the greeting is counted.
    t.telegram.fail_next("sendMessage", zabota_testkit::Fault::TooManyRequests { retry_after: 1 }, 1);
    let (_, limited) = measured(signed(&start_from(&TgUser::customer(2)))).await;
    let limited: Value = serde_json::from_str(&limited).unwrap();
    assert!(limited["BotApi429"].as_u64().unwrap() >= 1, "{limited}");

    // A refused call handled no update.
    let (response, refused) = measured(function_url_event("{}", &[(SECRET_HEADER, "wrong")])).await;
    assert_eq!(response.status().as_u16(), 401);
    let refused: Value = serde_json::from_str(&refused).unwrap();
    assert_eq!((refused["Kind"].as_str(), refused["Updates"].as_u64()), (Some("none"), Some(0)));
}
