//! The built `webhook` binary under the Lambda Runtime API emulator: cold start, warm invocation, init failures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::Duration;

use zabota_testkit::app::test_env;
use zabota_testkit::lambda::events::{SECRET_HEADER, function_url_event, signed_update_event};
use zabota_testkit::{LambdaRuntimeEmulator, TgUser, spawn_app, updates};

const FUNCTION: &str = "zabota-webhook";
/// Generous: a debug binary on a loaded machine; a healthy invocation takes milliseconds.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_a_cold_then_a_warm_function_url_invocation() {
    let t = spawn_app().await;
    let lambda = LambdaRuntimeEmulator::start().await;
    let function =
        lambda.spawn_function(env!("CARGO_BIN_EXE_webhook"), FUNCTION, test_env(&t.telegram.base_url(), &t.db.url));
    let customer = TgUser::customer(1);
    let start = updates::command(&customer, "/start").to_string();

    let cold = lambda.invoke(signed_update_event(&start), PATIENCE).await;
    let cold = cold.unwrap_or_else(|e| panic!("{e}\n--- function logs ---\n{}", function.logs()));
    // The API Gateway v2 response lambda_http builds for a Function URL.
    assert_eq!(cold["statusCode"], 200, "{cold}");
    assert_eq!(cold["body"], "ok", "{cold}");
    assert_eq!(cold["isBase64Encoded"], false, "{cold}");
    assert_eq!(cold["headers"]["content-type"], "text/plain", "{cold}");
    let texts = t.telegram.texts(customer.id);
    assert!(texts.len() == 1 && texts[0].starts_with("Здравствуйте"), "{texts:?}");
    let ready = lambda.first_poll_at().expect("the runtime polled for the event");
    eprintln!("cold init (process start → first /next): {:?}", ready.duration_since(function.started_at()));

    let warm = lambda.invoke(function_url_event(&start, &[(SECRET_HEADER, "forged")]), PATIENCE).await;
    let warm = warm.unwrap_or_else(|e| panic!("{e}\n--- function logs ---\n{}", function.logs()));
    assert_eq!(warm["statusCode"], 401, "{warm}");
    assert_eq!(t.telegram.texts(customer.id).len(), 1);
}

/// `main` reads the configuration before it starts the runtime, and returns the error: the process exits with 1
/// and "Error: BOT_TOKEN is not set..." on stderr, without ever polling. lambda_runtime 1.x posts
/// `/runtime/init/error` only for SnapStart hook failures, so Lambda records this as `Runtime.ExitError` and the
/// message is in the function's CloudWatch log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bot_token_the_binary_exits_during_init_naming_the_variable() {
    let lambda = LambdaRuntimeEmulator::start().await;
    let mut env = test_env("http://127.0.0.1:1", "postgres://zabota@127.0.0.1:1/zabota");
    env.remove("BOT_TOKEN");
    let mut function = lambda.spawn_function(env!("CARGO_BIN_EXE_webhook"), FUNCTION, env);
    let status = function.exit_status(PATIENCE).await.expect("the process ends during init");
    let logs = function.logs();
    assert_eq!(status.code(), Some(1), "{logs}");
    assert!(logs.contains("BOT_TOKEN is not set"), "{logs}");
    assert_eq!(lambda.init_error(), None);
    assert_eq!(lambda.first_poll_at(), None, "it never asked for an event");
}

/// Without WEBHOOK_SECRET every call would be answered 401 and Telegram would retry each update in vain: the function
/// refuses to start instead, naming the variable and where it belongs, before it ever polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_webhook_secret_the_binary_exits_during_init_saying_where_to_put_it() {
    let lambda = LambdaRuntimeEmulator::start().await;
    let mut env = test_env("http://127.0.0.1:1", "postgres://zabota@127.0.0.1:1/zabota");
    env.remove("WEBHOOK_SECRET");
    let mut function = lambda.spawn_function(env!("CARGO_BIN_EXE_webhook"), FUNCTION, env);
    let status = function.exit_status(PATIENCE).await;
    let logs = function.logs();
    let status = status.unwrap_or_else(|| panic!("the process still runs: it started without the secret\n{logs}"));
    assert_eq!(status.code(), Some(1), "{logs}");
    assert!(logs.contains("WEBHOOK_SECRET is not set"), "{logs}");
    assert!(logs.contains("Secrets Manager secret"), "it says where the secret goes: {logs}");
    assert_eq!(lambda.init_error(), None);
    assert_eq!(lambda.first_poll_at(), None, "it never asked for an event");
}
