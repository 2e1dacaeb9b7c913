//! `zabota serve`'s HTTP endpoint over real TCP: 401 before anything else, 413, 200 for junk, dedup.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::webhook::{MAX_BODY_BYTES, SECRET_HEADER};
use zabota_local::serve;
use zabota_testkit::{Cluster, TestApp, TestDb, TgUser, WEBHOOK_SECRET, spawn_app, spawn_app_on, updates};

async fn start(t: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = serve::router(t.app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

async fn post(url: &str, secret: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let mut request = reqwest::Client::new().post(url).body(body);
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_server_answers_401_413_and_200_as_telegram_expects() {
    let t = spawn_app().await;
    let base = start(&t).await;
    let webhook = format!("{base}/webhook");
    let update = serde_json::to_vec(&updates::command(&TgUser::customer(1), "/start")).unwrap();

    assert_eq!(post(&webhook, None, update.clone()).await.0, 401);
    assert_eq!(post(&webhook, Some("forged"), update.clone()).await.0, 401);
    // A stranger with a huge body learns nothing but 401.
    assert_eq!(post(&webhook, Some("forged"), vec![b'x'; MAX_BODY_BYTES * 2]).await.0, 401);
    assert_eq!(post(&webhook, Some(WEBHOOK_SECRET), vec![b' '; MAX_BODY_BYTES * 2]).await.0, 413);
    assert_eq!(post(&webhook, Some(WEBHOOK_SECRET), b"{oops".to_vec()).await, (200, "ignored".into()));
    assert_eq!(post(&webhook, Some(WEBHOOK_SECRET), update.clone()).await, (200, "ok".into()));
    assert_eq!(post(&format!("{base}/"), Some(WEBHOOK_SECRET), update).await, (200, "duplicate".into()));
    assert_eq!(t.db.count("processed_updates").await, 1);

    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn telegram_webhook_delivery_reaches_the_server_with_its_secret() {
    let t = spawn_app().await;
    let base = start(&t).await;
    let set = zabota_core::telegram::SetWebhook {
        url: format!("{base}/webhook"),
        secret_token: Some(WEBHOOK_SECRET.into()),
        allowed_updates: zabota_core::telegram::allowed_updates(),
        max_connections: Some(40),
        drop_pending_updates: false,
    };
    t.app.telegram.set_webhook(&set).await.unwrap();
    let customer = TgUser::customer(7);
    t.telegram.push_update(updates::command(&customer, "/start"));
    t.telegram.push_update(updates::private_text(&customer, "Здравствуйте"));
    assert_eq!(t.telegram.deliver_webhook().await, vec![200, 200]);
    assert_eq!(t.telegram.pending_updates(), 0);
    assert_eq!(t.db.count("processed_updates").await, 2);
}

#[tokio::test]
async fn healthz_answers_503_while_the_database_is_down_and_200_once_it_is_back() {
    let cluster = Cluster::start().await;
    let t = spawn_app_on(TestDb::on(&cluster.url("postgres")).await).await;
    let base = start(&t).await;
    let health = || async { reqwest::get(format!("{base}/healthz")).await.unwrap() };
    let up = health().await;
    assert_eq!((up.status().as_u16(), up.text().await.unwrap()), (200, "ok".into()));
    cluster.stop().await;
    let down = health().await;
    assert_eq!((down.status().as_u16(), down.text().await.unwrap()), (503, "database unavailable".into()));
    cluster.start_again().await;
    // The pool's broken connection is dropped on its first failure; a new one answers.
    let mut status = 0;
    for _ in 0..50 {
        status = health().await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "healthy again once the database is back");
}

#[tokio::test]
async fn metrics_show_the_outbox_and_the_queue_as_prometheus_gauges() {
    let t = spawn_app().await;
    let base = start(&t).await;
    let gauges = || async {
        let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = response.text().await.unwrap();
        let value = |name: &str| -> f64 {
            assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{text}");
            text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap().parse().unwrap()
        };
        (
            value("zabota_tickets_waiting"),
            value("zabota_tickets_oldest_wait_seconds"),
            value("zabota_outbox_pending"),
            value("zabota_outbox_oldest_pending_seconds"),
            value("zabota_tickets_assigned"),
        )
    };
    assert_eq!(gauges().await, (0.0, 0.0, 0.0, 0.0, 0.0));
    // Two customers wait (one for five minutes), one call waits in the outbox for a minute.
    for n in [1, 2] {
        let customer = TgUser::customer(n);
        t.ask_for_operator(&customer, zabota_core::domain::Topic::Other).await;
        t.send(updates::private_text(&customer, zabota_testkit::PHONE)).await;
    }
    t.db.execute("UPDATE tickets SET queued_at = now() - interval '5 minutes' WHERE id = 1").await;
    t.db.execute(
        "INSERT INTO outbox (chat_id, method, params, created_at, not_before) VALUES \
         (1001, 'sendMessage', '{\"chat_id\": 1001, \"text\": \"позже\"}', now() - interval '1 minute', now() + interval '1 hour')",
    )
    .await;
    let (waiting, oldest_wait, pending, oldest_pending, assigned) = gauges().await;
    assert_eq!((waiting, assigned), (2.0, 0.0));
    assert!((300.0..310.0).contains(&oldest_wait), "{oldest_wait}");
    assert!(pending >= 1.0);
    assert!((60.0..70.0).contains(&oldest_pending), "{oldest_pending}");

    // The process's counters beside them: a webhook call through the server counts one message update.
    let counter = |text: &str, line: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("{line} in {text}"))
            .trim()
            .parse()
            .unwrap()
    };
    let metrics = || async { reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap() };
    let before = counter(&metrics().await, "zabota_updates_total{kind=\"message\"} ");
    let body = updates::command(&TgUser::customer(3), "/start").to_string();
    let posted = reqwest::Client::new()
        .post(format!("{base}/webhook"))
        .header(zabota_core::webhook::SECRET_HEADER, zabota_testkit::WEBHOOK_SECRET)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 200);
    let text = metrics().await;
    assert!(text.contains("# TYPE zabota_bot_api_429_total counter\n"), "{text}");
    // At least: the process's other tests may post too.
    assert!(counter(&text, "zabota_updates_total{kind=\"message\"} ") >= before + 1.0, "{text}");
}
