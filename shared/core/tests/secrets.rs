//! Configuration from AWS Secrets Manager, against a real Secrets Manager API (moto on loopback).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use zabota_core::secrets::{SecretsError, secret_fields};
use zabota_testkit::aws_endpoint;

fn client() -> Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(aws_endpoint())
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    Client::from_conf(config)
}

async fn create(client: &Client, value: &str) -> String {
    let name = format!("zabota-{}", uuid::Uuid::new_v4());
    let created = client.create_secret().name(&name).secret_string(value).send().await.unwrap();
    created.arn().unwrap().to_owned()
}

#[tokio::test]
async fn a_json_secret_fills_in_the_configuration() {
    let client = client();
    let arn = create(
        &client,
        r#"{"BOT_TOKEN":"123456789:AAE-x","WEBHOOK_SECRET":"s3cr3t","DATABASE_URL":"postgres://u:p@h/db","PORT":5432}"#,
    )
    .await;
    let fields = secret_fields(&client, &arn).await.unwrap();
    assert_eq!(fields.get("BOT_TOKEN").map(String::as_str), Some("123456789:AAE-x"));
    assert_eq!(fields.get("DATABASE_URL").map(String::as_str), Some("postgres://u:p@h/db"));
    assert!(!fields.contains_key("PORT"), "only string fields are configuration");
    let config = zabota_core::Config::from_lookup(|k| match k {
        "OPERATORS_CHAT_ID" => Some("-100123".into()),
        other => fields.get(other).cloned(),
    })
    .unwrap();
    assert_eq!(config.operators_chat_id, -100123);
}

#[tokio::test]
async fn a_secret_that_is_not_a_json_object_is_refused_without_echoing_it() {
    let client = client();
    let arn = create(&client, "plain-text-password").await;
    let err = secret_fields(&client, &arn).await.unwrap_err();
    assert!(matches!(err, SecretsError::Format { .. }), "{err:?}");
    assert!(!err.to_string().contains("plain-text-password"));
}

#[tokio::test]
async fn a_missing_secret_is_an_error_naming_it() {
    let err =
        secret_fields(&client(), "arn:aws:secretsmanager:eu-central-1:123456789012:secret:nope").await.unwrap_err();
    assert!(matches!(err, SecretsError::Fetch { .. }), "{err:?}");
    assert!(err.to_string().contains("secret:nope"), "{err}");
}
