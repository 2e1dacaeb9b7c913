//! The `zabota` binary itself: refusals that name the variable, set-webhook, poll/serve end to end, and
//! check-desk.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use zabota_testkit::{
    OPERATORS_CHAT_ID, TEST_BOT_TOKEN, TestDb, TgUser, WEBHOOK_SECRET, aws_endpoint, create_bucket, s3_client,
    spawn_app, updates,
};

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
    let kinds = ["message", "edited_message", "callback_query", "message_reaction"].map(String::from).to_vec();
    assert_eq!(webhook.allowed_updates, Some(kinds));
    assert!(webhook.drop_pending_updates);
    assert_eq!(webhook.max_connections, Some(20), "the template's WebhookConcurrency default");
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

/// Plays the whole flow through a running `zabota`: `deliver` hands each update to it (polling picks it up from
/// the emulator's queue; for the webhook server the emulator POSTs it).
async fn play_whole_flow(t: &zabota_testkit::TestApp, deliver: impl AsyncFn(serde_json::Value)) {
    use zabota_core::texts;
    let (customer, operator) = (TgUser::customer(1), TgUser::operator(1));
    t.make_operator(operator.id);
    let received = async |chat: i64, n: usize| wait_for(async || t.telegram.received(chat).len() >= n).await;

    deliver(updates::command(&customer, "/start")).await;
    received(customer.id, 1).await;
    let menu = t.last(customer.id);
    assert_eq!(menu.text.as_deref(), Some(zabota_testkit::shipped::greeting()));
    deliver(updates::callback(&customer, customer.id, menu.message_id, "topic:warranty")).await;
    received(customer.id, 2).await;
    deliver(updates::callback(&customer, customer.id, t.last(customer.id).message_id, "operator:warranty")).await;
    received(customer.id, 3).await;
    assert_eq!(
        t.last(customer.id).text.as_deref(),
        Some(zabota_testkit::shipped::text(zabota_core::desk::Text::AskPhone))
    );
    deliver(updates::contact(&customer, "79161234567", Some(customer.id))).await;
    received(OPERATORS_CHAT_ID, 1).await;
    let card = t.last(OPERATORS_CHAT_ID);
    let ticket: i64 = card.callback_data()[0].trim_start_matches("claim:").parse().unwrap();
    deliver(updates::callback(&operator, OPERATORS_CHAT_ID, card.message_id, &format!("claim:{ticket}"))).await;
    // The menu, the template, the phone request, «вы в очереди», the place in the queue, «Оператор подключился».
    received(customer.id, 6).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::OPERATOR_CONNECTED));
    deliver(updates::private_text(&customer, "Сломался чайник")).await;
    received(operator.id, 2).await;
    assert_eq!(t.last(operator.id).text.as_deref(), Some("Сломался чайник"));
    deliver(updates::private_text(&operator, "Принесите его в сервис")).await;
    received(customer.id, 7).await;
    assert_eq!(t.last(customer.id).text.as_deref(), Some("Принесите его в сервис"));
    let summary = t.telegram.received(operator.id)[0].message_id;
    deliver(updates::callback(&operator, operator.id, summary, &format!("close:{ticket}"))).await;
    received(customer.id, 9).await;
    assert_eq!(t.telegram.texts(customer.id)[7], texts::OPERATOR_DISCONNECTED);
    assert_eq!(t.last(customer.id).text.as_deref(), Some(texts::RATE_PLEASE));
    assert_eq!(t.db.count("tickets WHERE status = 'CLOSED'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zabota_poll_plays_the_whole_flow_against_the_bot_api() {
    let t = spawn_app().await;
    let api = t.telegram.base_url();
    let _bot = Running(zabota(&base_env(&api, &t.db.url)).arg("poll").stderr(Stdio::null()).spawn().unwrap());
    play_whole_flow(&t, async |update| t.telegram.push_update(update)).await;
    wait_for(async || t.telegram.pending_updates() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zabota_serve_plays_the_whole_flow_behind_a_webhook() {
    let t = spawn_app().await;
    let api = t.telegram.base_url();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let env = base_env(&api, &t.db.url);
    let _bot = Running(zabota(&env).args(["serve", "--listen", &listen]).stderr(Stdio::null()).spawn().unwrap());
    let client = reqwest::Client::new();
    wait_for(async || client.get(format!("http://{listen}/healthz")).send().await.is_ok()).await;
    let url = format!("http://{listen}/webhook");
    let forged = client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", "nope").body("{}").send().await.unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    let output = zabota(&env).args(["set-webhook", &url]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    play_whole_flow(&t, async |update| {
        t.telegram.push_update(update);
        assert!(t.telegram.deliver_webhook().await.iter().all(|s| *s == 200));
    })
    .await;
}

// `zabota check-desk`: the shipped desk.toml is valid (this is how `make test` checks it), a broken file gets every
// problem with its line and a non-zero exit, a desk file is read from S3 (moto) as on Lambda, and the bot refuses
// to start on an invalid one with the same report.

/// Exit code, stdout and stderr.
fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// The repository's desk.toml.
fn shipped_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../desk.toml")
}

#[test]
fn the_shipped_desk_file_is_valid() {
    let path = shipped_path();
    let (code, stdout, stderr) = run(zabota(&[]).arg("check-desk").arg(&path));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.ends_with("valid (3 topics; languages: ru, en)\n"), "{stdout}");
    // Without a file: DESK_CONFIG, else the one built in (the same file).
    let (code, stdout, _) = run(zabota(&[]).arg("check-desk"));
    assert_eq!((code, stdout.as_str()), (0, "desk.toml (built in): valid (3 topics; languages: ru, en)\n"));
}

#[test]
fn a_broken_desk_file_gets_every_problem_with_its_line() {
    let dir = tempfile_dir();
    let path = dir.join("desk.toml");
    let shipped = std::fs::read_to_string(shipped_path()).unwrap();
    // Three mistakes in an otherwise good file: a key the format does not have, a topic id used twice, and an
    // unknown placeholder.
    let broken = shipped
        .replacen("action = \"confirm\"", "action = \"confirm\"\ncolour = \"red\"", 1)
        .replacen("id = \"return\"", "id = \"warranty\"", 1)
        .replacen("confirm_operator = \"Связаться с оператором?\"", "confirm_operator = \"Связаться, {customer}?\"", 1);
    std::fs::write(&path, &broken).unwrap();
    let line = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (code, _, stderr) = run(zabota(&[]).arg("check-desk").arg(&path));
    assert_eq!(code, 1, "{stderr}");
    let name = path.display();
    let twice =
        broken.lines().enumerate().filter(|(_, l)| *l == "id = \"warranty\"").map(|(n, _)| n + 1).collect::<Vec<_>>();
    for want in [
        format!("{name}:{}: topic id \"warranty\" is used twice (first on line {})", twice[1], twice[0]),
        format!("{name}:{}: unknown key `colour` in topic 3", line("colour")),
        format!(
            "{name}:{}: [texts.ru] confirm_operator: unknown placeholder {{customer}} (it takes {{topic}})",
            line("{customer}")
        ),
    ] {
        assert!(stderr.contains(&want), "{want:?} in\n{stderr}");
    }
    assert_eq!(stderr.lines().count(), 4, "a header and the three problems:\n{stderr}");

    // The bot refuses to start on it, with the same report.
    let env = [
        ("BOT_TOKEN", TEST_BOT_TOKEN),
        ("OPERATORS_CHAT_ID", "-1001234567890"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none"),
        ("MEDIA_BACKEND", "off"),
        ("DESK_CONFIG", path.to_str().unwrap()),
    ];
    let (code, _, stderr) = run(zabota(&env).arg("poll"));
    assert_ne!(code, 0);
    assert!(stderr.contains("is used twice") && stderr.contains("unknown placeholder {customer}"), "{stderr}");
}

#[tokio::test]
async fn a_desk_file_is_read_from_s3_as_on_lambda() {
    let bucket = format!("zabota-desk-{}", uuid_like());
    create_bucket(&bucket).await;
    let desk = std::fs::read_to_string(shipped_path()).unwrap().replace("Другой вопрос", "Иное");
    s3_client()
        .put_object()
        .bucket(&bucket)
        .key("desks/shop.toml")
        .body(desk.into_bytes().into())
        .send()
        .await
        .unwrap();
    let endpoint = aws_endpoint();
    let config = format!("s3://{bucket}/desks/shop.toml");
    let env = [
        ("DESK_CONFIG", config.as_str()),
        ("S3_ENDPOINT", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "eu-central-1"),
    ];
    let (code, stdout, stderr) = run(zabota(&env).arg("check-desk"));
    assert_eq!((code, stdout), (0, format!("{config}: valid (3 topics; languages: ru, en)\n")), "{stderr}");
    // Named on the command line: the uploaded file checked before the deploy that points at it.
    let (code, stdout, stderr) = run(zabota(&env[1..]).arg("check-desk").arg(&config));
    assert_eq!((code, stdout), (0, format!("{config}: valid (3 topics; languages: ru, en)\n")), "{stderr}");
    let missing = format!("s3://{bucket}/desks/none.toml");
    let (code, _, stderr) = run(zabota(&[&env[1..], &[("DESK_CONFIG", missing.as_str())]].concat()).arg("check-desk"));
    assert_eq!(code, 1);
    assert!(stderr.starts_with(&format!("desk file {missing}: ")), "{stderr}");
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zabota-desk-test-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
