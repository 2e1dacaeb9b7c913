//! `zabota export`: tickets of a period as JSON Lines on stdout, each parsing back to what the database holds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::process::Command;

use zabota_core::domain::Topic;
use zabota_core::history::TicketRecord;
use zabota_testkit::{TestApp, spawn_app};

fn export(t: &TestApp, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_zabota"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .env("DATABASE_URL", &t.db.url)
        .arg("export")
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_a_line_per_ticket_that_parses_back_to_what_was_stored() {
    let t = spawn_app().await;
    let d = t.closed_dialog_with_history(1).await;
    let (waiting, _) = t.queue_ticket(&zabota_testkit::TgUser::customer(2), Topic::Return).await;

    let since = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let (ok, stdout, stderr) = export(&t, &["--since", &since]);
    assert!(ok, "{stderr}");
    assert_eq!(stderr.trim(), "exported 2 tickets");
    let records: Vec<TicketRecord> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.iter().map(|r| r.ticket).collect::<Vec<_>>(), [d.ticket, waiting]);

    let r = &records[0];
    assert_eq!((r.customer.tg_id, r.customer.username.as_deref()), (d.customer.id, Some("customer1")));
    assert_eq!((r.topic.as_str(), r.phone.as_str(), r.status.as_str()), ("warranty", "+79161234567", "CLOSED"));
    assert_eq!((r.close_reason.as_deref(), r.operator_tg_id), (Some("operator"), Some(d.operator.id)));
    assert!(r.first_assigned_at.is_some() && r.first_reply_at.is_some() && r.closed_at.is_some());
    let rating = r.rating.as_ref().unwrap();
    assert_eq!((rating.score, rating.comment.as_deref()), (4, Some("Быстро ответили")));
    let said: Vec<(&str, &str, Option<&str>, Option<&str>)> = r
        .messages
        .iter()
        .map(|m| (m.sender.as_str(), m.content.as_str(), m.text.as_deref(), m.caption.as_deref()))
        .collect();
    assert_eq!(
        said,
        [
            ("USER", "text", Some("Чайник не греет"), None),
            ("USER", "photo", None, Some("Вот чек")),
            ("OPERATOR", "text", Some("Принесите его в сервис"), None),
        ]
    );
    assert_eq!(
        r.messages[0].edits.iter().map(|e| e.text.as_deref()).collect::<Vec<_>>(),
        [Some("Чайник совсем не греет")]
    );
    let file = &r.messages[1].attachments[0];
    let stored = t.db.row("SELECT id, file_id, storage_key, archive_status FROM message_attachments", &[]).await;
    assert_eq!(
        (file.id, file.file_id.as_str(), file.storage_key.clone(), file.archive_status.as_str()),
        (stored.get(0), stored.get::<_, &str>(1), stored.get(2), stored.get::<_, &str>(3))
    );
    // Every stored message is in the export, with its id.
    let ids: Vec<i64> =
        t.db.rows("SELECT id FROM ticket_messages ORDER BY id", &[]).await.iter().map(|r| r.get(0)).collect();
    assert_eq!(r.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids);

    // One ticket; a period with none; a bad date.
    let (ok, stdout, _) = export(&t, &["--since", &since, "--ticket", &waiting.to_string()]);
    let only: Vec<TicketRecord> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(ok && only.len() == 1 && only[0].ticket == waiting, "{stdout}");
    let (ok, stdout, stderr) = export(&t, &["--since", "2020-01-01", "--until", "2020-02-01"]);
    assert!(ok && stdout.is_empty() && stderr.trim() == "exported 0 tickets", "{stderr}");
    let (ok, _, stderr) = export(&t, &["--since", "01.06.2026"]);
    assert!(!ok && stderr.contains("neither a date"), "{stderr}");
}
