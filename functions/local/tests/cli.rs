//! The `zabota` binary itself: refusals that name the variable, set-webhook, and poll/serve end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use zabota_testkit::{OPERATORS_CHAT_ID, TEST_BOT_TOKEN, TestDb, TgUser, WEBHOOK_SECRET, spawn_app, updates};

/// The binary with a clean environment (no .env above the working directory, no inherited settings).
fn zabota(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zabota"));
    command.env_clear().current_dir(std::env::temp_dir()).env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn base_env<'a>(api: &'a str, db: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("BOT_TOKEN", TEST_BOT_TOKEN),
        ("OPERATORS_CHAT_ID", "-1001234567890"),
        ("TELEGRAM_API_URL", api),
        ("DATABASE_URL", db),
        ("WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("MEDIA_BACKEND", "off"),
    ]
}

fn stderr_of(command: &mut Command) -> (i32, String) {
    let output = command.output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn without_a_bot_token_it_stops_and_says_how_to_get_one() {
    let (code, stderr) = stderr_of(zabota(&[("DATABASE_URL", "postgres://x@127.0.0.1/x")]).arg("poll"));
    assert_eq!(code, 2);
    assert!(stderr.contains("BOT_TOKEN is not set") && stderr.contains("@BotFather"), "{stderr}");
}

#[test]
fn a_30_day_retention_is_refused_naming_the_variable() {
    let mut env = base_env("http://127.0.0.1:1", "postgres://x@127.0.0.1/x");
    env.push(("HISTORY_RETENTION_DAYS", "30"));
    let (code, stderr) = stderr_of(zabota(&env).arg("poll"));
    assert_eq!(code, 2);
    assert!(stderr.contains("HISTORY_RETENTION_DAYS is invalid"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_needs_only_the_database_and_is_idempotent() {
    let db = TestDb::new().await;
    let output = zabota(&[("DATABASE_URL", &db.url)]).arg("migrate").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "database is up to date");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_webhook_registers_the_url_secret_and_update_kinds() {
    let t = spawn_app().await;
    let api = t.telegram.base_url();
    let output = zabota(&base_env(&api, &t.db.url))
        .args(["set-webhook", "https://example.test/webhook", "--drop-pending"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let webhook = t.telegram.webhook().expect("a webhook is set");
    assert_eq!(webhook.url, "https://example.test/webhook");
    assert_eq!(webhook.secret_token.as_deref(), Some(WEBHOOK_SECRET));
    assert_eq!(webhook.allowed_updates, Some(vec!["message".into(), "edited_message".into(), "callback_query".into()]));
    assert!(webhook.drop_pending_updates);
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for(mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zabota_poll_receives_updates_from_the_bot_api() {
    let t = spawn_app().await;
    let api = t.telegram.base_url();
    let _bot = Running(zabota(&base_env(&api, &t.db.url)).arg("poll").stderr(Stdio::null()).spawn().unwrap());
    t.telegram.push_update(updates::command(&TgUser::customer(1), "/start"));
    t.telegram.push_update(updates::private_text(&TgUser::customer(1), "Здравствуйте"));
    wait_for(async || t.db.count("processed_updates").await == 2).await;
    wait_for(async || t.telegram.pending_updates() == 0).await;
    assert_eq!(OPERATORS_CHAT_ID, -1001234567890);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zabota_serve_answers_on_its_listen_address() {
    let t = spawn_app().await;
    let api = t.telegram.base_url();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let _bot = Running(
        zabota(&base_env(&api, &t.db.url)).args(["serve", "--listen", &listen]).stderr(Stdio::null()).spawn().unwrap(),
    );
    let url = format!("http://{listen}/webhook");
    let client = reqwest::Client::new();
    wait_for(async || client.get(format!("http://{listen}/healthz")).send().await.is_ok()).await;
    let body = serde_json::to_vec(&updates::command(&TgUser::customer(1), "/start")).unwrap();
    let forged =
        client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", "nope").body(body.clone()).send().await.unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    let real =
        client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET).body(body).send().await.unwrap();
    assert_eq!(real.status().as_u16(), 200);
    assert_eq!(t.db.count("processed_updates").await, 1);
}
