//! The webhook logic shared by the Lambda and the local server: statuses Telegram sees, and what is stored.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::webhook::{self, MAX_BODY_BYTES};
use zabota_testkit::{TestApp, TgUser, WEBHOOK_SECRET, spawn_app, updates};

async fn post(t: &TestApp, secret: Option<&str>, body: &[u8]) -> (u16, &'static str) {
    let reply = webhook::handle(&t.app, secret.map(str::as_bytes), body).await;
    (reply.status, reply.body)
}

fn body(update: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(update).unwrap()
}

#[tokio::test]
async fn a_wrong_or_missing_secret_gets_401_and_nothing_is_stored() {
    let t = spawn_app().await;
    let update = body(&updates::command(&TgUser::customer(1), "/start"));
    assert_eq!(post(&t, None, &update).await.0, 401);
    assert_eq!(post(&t, Some("wrong-secret"), &update).await.0, 401);
    assert_eq!(post(&t, Some(&WEBHOOK_SECRET[..WEBHOOK_SECRET.len() - 1]), &update).await.0, 401);
    assert_eq!(t.db.count("processed_updates").await, 0);
}

#[tokio::test]
async fn an_update_is_processed_once_even_when_redelivered() {
    let t = spawn_app().await;
    let update = body(&updates::command(&TgUser::customer(1), "/start"));
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &update).await, (200, "ok"));
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &update).await, (200, "duplicate"));
    assert_eq!(t.db.count("processed_updates").await, 1);
}

#[tokio::test]
async fn malformed_and_unknown_bodies_get_200_and_store_nothing() {
    let t = spawn_app().await;
    for junk in [&b"{not json"[..], b"[]", b"{\"update_id\":\"x\"}", "\u{1F600}".as_bytes(), b""] {
        assert_eq!(post(&t, Some(WEBHOOK_SECRET), junk).await, (200, "ignored"), "{junk:?}");
    }
    let poll = br#"{"update_id": 77, "poll": {"id": "1", "question": "?", "options": []}}"#;
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), poll).await, (200, "ignored"));
    assert_eq!(t.db.count("processed_updates").await, 0);
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let t = spawn_app().await;
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &big).await.0, 413);
}

#[tokio::test]
async fn a_database_outage_gets_500_so_telegram_redelivers() {
    let mut t = spawn_app().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("postgres://postgres@{}/nowhere", closed.local_addr().unwrap());
    drop(closed);
    let good_pool = t.app.db.clone();
    t.app.db = zabota_core::db::build_pool(
        &zabota_core::config::DatabaseConfig { url: dead_url.into(), ca_file: None, allow_plaintext: false },
        1,
    )
    .unwrap();
    let update = body(&updates::command(&TgUser::customer(1), "/start"));
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &update).await.0, 500);
    // The database is back: Telegram's redelivery now takes effect, once.
    t.app.db = good_pool;
    assert_eq!(post(&t, Some(WEBHOOK_SECRET), &update).await, (200, "ok"));
    assert_eq!(t.db.count("processed_updates").await, 1);
}

#[tokio::test]
async fn a_connection_that_died_between_invocations_is_replaced() {
    let t = spawn_app().await;
    // As on Lambda: one pooled connection, reused by warm invocations.
    let lambda = zabota_core::App::new(t.app.config.clone(), 1).await.unwrap();
    let first = body(&updates::command(&TgUser::customer(1), "/start"));
    assert_eq!(webhook::handle(&lambda, Some(WEBHOOK_SECRET.as_bytes()), &first).await.status, 200);
    // The environment was frozen and the server dropped the connection meanwhile.
    let admin = t.db.client().await;
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed >= 1, "the pooled connection was there to kill");
    let second = body(&updates::command(&TgUser::customer(2), "/start"));
    assert_eq!(
        webhook::handle(&lambda, Some(WEBHOOK_SECRET.as_bytes()), &second).await,
        webhook::WebhookReply { status: 200, body: "ok" }
    );
    assert_eq!(t.db.count("processed_updates").await, 2);
}
