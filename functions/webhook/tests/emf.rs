//! The EMF line the webhook writes per invocation. The counters it reports are per process, as they are on Lambda,
//! where a process serves one invocation at a time: so this file is its own test binary with a single test, and no
//! other test's updates run in the same process while it counts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use serde_json::Value;
use zabota_testkit::lambda::events::{SECRET_HEADER, function_url_event, signed_update_event as signed};
use zabota_testkit::{TgUser, spawn_app, updates};

fn start_from(customer: &TgUser) -> String {
    updates::command(customer, "/start").to_string()
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
