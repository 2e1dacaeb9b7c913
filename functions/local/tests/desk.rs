//! `zabota check-desk`: the shipped desk.toml is valid (this is how `make test` checks it), a broken file gets
//! every problem with its line and a non-zero exit, a desk file is read from S3 (moto) as on Lambda, and the bot
//! refuses to start on an invalid one with the same report.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::process::Command;

use zabota_testkit::{TEST_BOT_TOKEN, aws_endpoint, create_bucket, s3_client};

/// The binary with a clean environment plus `env`.
fn zabota(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zabota"));
    command.env_clear().current_dir(std::env::temp_dir()).env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

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
