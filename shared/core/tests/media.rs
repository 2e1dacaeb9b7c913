//! The media archive against a real S3-compatible server (moto) and a local folder: bytes and content type,
//! keys only in the database, dedup, the 20 MB skip, retries, and deletion by retention.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use chrono::Utc;
use zabota_core::domain::Topic;
use zabota_core::maintenance::{JobReport, run_all};
use zabota_core::media::{MediaError, MediaStore};
use zabota_testkit::{
    Dialog, TestApp, TgUser, s3_client, s3_media_store, spawn_app, spawn_app_with, spawn_app_with_media_folder, updates,
};

const PDF: &[u8] = b"%PDF-1.4 receipt #42";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0 largest photo";

/// A dialog in which the customer sent a receipt (`doc1`, a PDF) named `file_name`.
async fn a_dialog_with_a_receipt(t: &TestApp, file_name: &str) -> Dialog {
    let dialog = t.open_dialog(1, Topic::Return).await;
    t.telegram.add_file("doc1", "u_doc1", PDF.to_vec());
    t.send(updates::document(&dialog.customer, "doc1", file_name, "application/pdf", None)).await;
    dialog
}

async fn attachments(t: &TestApp) -> Vec<(String, String, Option<String>, Option<String>)> {
    let all = "SELECT file_id, archive_status, storage_key, archive_error FROM message_attachments ORDER BY id";
    let rows = t.db.rows(all, &[]).await;
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
}

async fn s3_app() -> (TestApp, String) {
    let mut t = spawn_app_with(|env| {
        env.insert("MEDIA_BACKEND".into(), "s3".into());
        env.insert("MEDIA_BUCKET".into(), "replaced-below".into());
    })
    .await;
    let (store, bucket) = s3_media_store().await;
    t.app.media = MediaStore::S3(store);
    (t, bucket)
}

#[tokio::test]
async fn a_dialogs_document_and_largest_photo_end_up_in_the_bucket_with_keys_only_in_the_database() {
    let (t, bucket) = s3_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.add_file("doc1", "u_doc1", PDF.to_vec());
    t.telegram.add_file("ph1", "u_ph1", JPEG.to_vec());
    t.send(updates::document(&customer, "doc1", "Чек.pdf", "application/pdf", Some("чек"))).await;
    t.send(updates::photo(&customer, "ph1", None)).await;
    assert_eq!(t.telegram.received(operator.id).len(), 3, "summary + two relayed files");

    let rows = attachments(&t).await;
    let ticket: i64 = t.db.row("SELECT id FROM tickets", &[]).await.get(0);
    let month = Utc::now().format("%Y/%m");
    assert_eq!(rows[0], ("doc1".into(), "stored".into(), Some(format!("media/{month}/{ticket}/u_doc1.pdf")), None));
    assert_eq!(rows[1], ("ph1".into(), "stored".into(), Some(format!("media/{month}/{ticket}/u_ph1.jpg")), None));
    let s3 = s3_client();
    for ((_, _, key, _), (bytes, content_type)) in rows.iter().zip([(PDF, "application/pdf"), (JPEG, "image/jpeg")]) {
        let object = s3.get_object().bucket(&bucket).key(key.as_deref().unwrap()).send().await.unwrap();
        assert_eq!(object.content_type(), Some(content_type));
        assert_eq!(&object.body.collect().await.unwrap().into_bytes()[..], bytes);
    }
    // No bytes in the database: only text columns and sizes.
    let bytea_columns =
        t.db.count("information_schema.columns WHERE table_schema = 'public' AND data_type = 'bytea'").await;
    assert_eq!(bytea_columns, 0);
}

#[tokio::test]
async fn the_local_folder_store_keeps_the_same_keys() {
    let (t, media) = spawn_app_with_media_folder().await;
    let root = &media.root;
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.add_file("voice1", "u_voice1", b"OggS voice".to_vec());
    t.send(updates::voice(&customer, "voice1", 3)).await;
    let rows = attachments(&t).await;
    let key = rows[0].2.clone().unwrap();
    assert!(key.ends_with("/u_voice1.oga"), "the extension Telegram gives voice files: {key}");
    assert_eq!(std::fs::read(root.join(&key)).unwrap(), b"OggS voice");
}

#[tokio::test]
async fn the_same_file_sent_twice_is_downloaded_and_stored_once() {
    let (t, bucket) = s3_app().await;
    let Dialog { operator, .. } = a_dialog_with_a_receipt(&t, "check.pdf").await;
    t.send(updates::document(&operator, "doc1", "check.pdf", "application/pdf", Some("это ваш чек?"))).await;
    let rows = attachments(&t).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].2, rows[1].2, "one key for both");
    assert_eq!(t.telegram.calls_to("downloadFile").len(), 1);
    let listed = s3_client().list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
}

#[tokio::test]
async fn files_over_the_bot_api_download_limit_are_skipped_with_the_reason() {
    let mut t = spawn_app().await; // MEDIA_BACKEND=off in tests by default: use the folder store here
    t.app.media = MediaStore::Fs(zabota_core::media::FsMediaStore::new(std::env::temp_dir().join("zabota-unused")));
    // The cloud Bot API's limit is what counts, whatever the emulator's URL.
    t.app.config.telegram_api_url = zabota_core::config::DEFAULT_TELEGRAM_API_URL.into();
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Return).await;
    let mut big = updates::document(&customer, "big1", "video.mov", "video/quicktime", None);
    big["message"]["document"]["file_size"] = serde_json::json!(25 * 1024 * 1024);
    t.send(big).await;
    let rows = attachments(&t).await;
    assert_eq!(rows[0].1, "skipped");
    assert_eq!(rows[0].3.as_deref(), Some("larger than the Bot API's 20 MB download limit"));
    assert!(t.telegram.calls_to("getFile").is_empty(), "known to be too big: not even asked for");
}

#[tokio::test]
async fn a_file_telegram_reports_too_big_is_skipped() {
    let (t, _) = s3_app().await;
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.add_file_with_size("big2", "u_big2", 30 * 1024 * 1024);
    let mut update = updates::document(&customer, "big2", "backup.zip", "application/zip", None);
    update["message"]["document"].as_object_mut().unwrap().remove("file_size");
    t.send(update).await;
    let rows = attachments(&t).await;
    assert_eq!(rows[0].1, "skipped");
    assert!(rows[0].3.as_deref().unwrap().starts_with("larger than the Bot API's"), "{rows:?}");
}

#[tokio::test]
async fn a_failed_upload_is_retried_later() {
    let (mut t, _) = s3_app().await;
    // A bucket that does not exist yet: the upload fails.
    let missing = format!("zabota-later-{}", uuid::Uuid::new_v4().simple());
    t.app.media = MediaStore::S3(zabota_core::media::S3MediaStore::new(s3_client(), &missing));
    let Dialog { operator, .. } = a_dialog_with_a_receipt(&t, "check.pdf").await;
    assert_eq!(t.telegram.received(operator.id).len(), 2, "the relay did not wait for the archive");
    let rows = attachments(&t).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2.as_deref()), ("pending", None));
    assert!(rows[0].3.as_deref().unwrap().contains("S3"), "{rows:?}");

    zabota_testkit::create_bucket(&missing).await;
    t.db.execute("UPDATE message_attachments SET archive_not_before = now()").await;
    let reports = run_all(&t.app, Utc::now()).await;
    let archive = reports.iter().find(|r| r.job == "media_archive").unwrap();
    assert_eq!(archive.affected, Some(1));
    let rows = attachments(&t).await;
    assert_eq!(rows[0].1, "stored");
    assert_eq!(&t.app.media.get(rows[0].2.as_deref().unwrap()).await.unwrap()[..], PDF);
}

#[tokio::test]
async fn retention_deletes_the_objects_with_their_rows_but_not_a_younger_copy() {
    let (t, _) = s3_app().await;
    let Dialog { customer, operator, .. } = t.open_dialog(1, Topic::Return).await;
    t.telegram.add_file("old", "u_old", b"old receipt".to_vec());
    t.telegram.add_file("shared", "u_shared", b"shared photo".to_vec());
    t.send(updates::document(&customer, "old", "old.pdf", "application/pdf", None)).await;
    t.send(updates::document(&customer, "shared", "s.pdf", "application/pdf", None)).await;
    t.send(updates::document(&operator, "shared", "s.pdf", "application/pdf", None)).await;
    let rows = attachments(&t).await;
    let (old_key, shared_key) = (rows[0].2.clone().unwrap(), rows[1].2.clone().unwrap());
    // The customer's two files are past retention; the operator's copy of the shared one is not.
    t.db.execute(
        "UPDATE ticket_messages SET created_at = now() - interval '366 days' WHERE sender_type = 'USER' AND content_type = 'document'",
    )
    .await;
    run_all(&t.app, Utc::now()).await;
    assert!(matches!(t.app.media.get(&old_key).await, Err(MediaError::NotFound(_))), "old object deleted");
    assert_eq!(&t.app.media.get(&shared_key).await.unwrap()[..], b"shared photo", "still referenced");
    assert_eq!(t.db.count("message_attachments").await, 1);
}

#[tokio::test]
async fn an_operator_gets_an_archived_file_of_a_past_ticket_back() {
    let (t, _) = s3_app().await;
    let Dialog { customer, operator, .. } = a_dialog_with_a_receipt(&t, "Чек.pdf").await;
    let ticket: i64 = t.db.row("SELECT id FROM tickets", &[]).await.get(0);
    let attachment: i64 = t.db.row("SELECT id FROM message_attachments", &[]).await.get(0);
    // Telegram's copy is gone (the file id no longer works): the archive is what answers.
    t.telegram.fail_next("getFile", zabota_testkit::Fault::BadRequest("invalid file_id".into()), 5);

    t.send(updates::private_text(&operator, &format!("/files {ticket}"))).await;
    let list = t.last(operator.id).text.unwrap();
    assert!(list.starts_with(&format!("Файлы заявки #{ticket}")), "{list}");
    assert!(list.contains(&format!("{attachment} — document Чек.pdf")) && list.contains("в архиве"), "{list}");

    t.send(updates::private_text(&operator, &format!("/file {attachment}"))).await;
    let sent = t.last(operator.id);
    assert_eq!(sent.method, "sendDocument");
    assert_eq!(sent.params["document"]["filename"], "Чек.pdf");
    assert_eq!(sent.params["document"]["content"].as_str().unwrap().as_bytes(), PDF);
    assert_eq!(sent.caption, Some(format!("Файл {attachment} из архива")));
    // Commands are not relayed to the customer, and a customer cannot use them.
    assert!(!t.telegram.texts(customer.id).iter().any(|s| s.starts_with("/file")));
    t.send(updates::private_text(&customer, "/file 1")).await;
    assert_eq!(t.last(operator.id).text.as_deref(), Some("/file 1"), "from a customer it is just a message");
}

#[tokio::test]
async fn a_self_hosted_bot_api_server_lets_files_over_20_mb_be_archived() {
    let (t, media) = spawn_app_with_media_folder().await;
    let root = &media.root;
    // TELEGRAM_API_URL is not api.telegram.org here: a self-hosted server, which serves big files.
    t.telegram.act_as_self_hosted();
    let Dialog { customer, .. } = t.open_dialog(1, Topic::Return).await;
    let size = 25 * 1024 * 1024;
    t.telegram.add_file_with_size("big1", "u_big1", size);
    let mut update = updates::document(&customer, "big1", "video.mov", "video/quicktime", None);
    update["message"]["document"]["file_size"] = serde_json::json!(size);
    t.send(update).await;
    let rows = attachments(&t).await;
    assert_eq!(rows[0].1, "stored", "{rows:?}");
    assert_eq!(std::fs::metadata(root.join(rows[0].2.as_deref().unwrap())).unwrap().len(), size);
}

/// A gate in the database: a trigger that makes the statements it fires on wait until the test opens it, so a
/// test can stop one party (archiver or retention) at an exact point while the other runs.
struct Gate {
    client: tokio_postgres::Client,
}

impl Gate {
    const KEY: i64 = 4242;

    /// Installs the gate, closed, as `CREATE TRIGGER test_gate <trigger> EXECUTE FUNCTION test_gate()`.
    async fn close(t: &TestApp, trigger: &str) -> Gate {
        let client = t.db.client().await;
        let key = Self::KEY;
        client
            .batch_execute(&format!(
                "CREATE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                   PERFORM pg_advisory_lock_shared({key}); PERFORM pg_advisory_unlock_shared({key}); \
                   IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$; \
                 CREATE TRIGGER test_gate {trigger} EXECUTE FUNCTION test_gate(); \
                 SELECT pg_advisory_lock({key});"
            ))
            .await
            .unwrap();
        Gate { client }
    }

    /// Waits until a statement is held at the gate.
    async fn wait_for_someone(&self) {
        let waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1 \
                       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
        for _ in 0..500 {
            let n: i64 = self.client.query_one(waiting, &[&(Self::KEY as u32)]).await.unwrap().get(0);
            if n > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("nothing reached the gate in 10 s");
    }

    /// Lets everything through and removes the gate.
    async fn open(&self) {
        self.client.batch_execute(&format!("SELECT pg_advisory_unlock({})", Self::KEY)).await.unwrap();
        self.client.batch_execute("DROP TRIGGER test_gate ON message_attachments").await.ok();
        self.client.batch_execute("DROP TRIGGER test_gate ON ticket_messages").await.ok();
    }
}

/// A dialog whose customer sent a receipt (`doc1`, archived) that is now past retention; returns the receipt's key.
async fn an_old_receipt(t: &TestApp) -> (Dialog, String) {
    let dialog = a_dialog_with_a_receipt(t, "check.pdf").await;
    let key = attachments(t).await[0].2.clone().unwrap();
    t.db.execute("UPDATE ticket_messages SET created_at = now() - interval '366 days' WHERE content_type = 'document'")
        .await;
    (dialog, key)
}

/// The operator sends the receipt back (while retention deletes the original).
fn the_receipt_sent_back(operator: &TgUser) -> serde_json::Value {
    updates::document(operator, "doc1", "check.pdf", "application/pdf", Some("этот?"))
}

fn retention_error(reports: &[JobReport]) -> Option<String> {
    reports.iter().find(|r| r.job == "retention").unwrap().error.clone()
}

/// Retention ran `during` the adoption and once more after it, without an error; only the copy's row is left,
/// stored under the original's `key`, and no deletion is queued. (The caller checks the object itself.)
async fn assert_only_the_adopted_copy_is_left(t: &TestApp, during: &[JobReport], key: &str) {
    assert_eq!(retention_error(during), None);
    let after = run_all(&t.app, Utc::now()).await;
    assert_eq!(retention_error(&after), None);

    let rows = attachments(t).await;
    assert_eq!(rows.len(), 1, "the old message's attachment is gone: {rows:?}");
    assert_eq!((rows[0].1.as_str(), rows[0].2.as_deref()), ("stored", Some(key)));
    assert_eq!(t.db.count("media_deletions").await, 0, "nothing left queued");
}

#[tokio::test]
async fn a_copy_adopted_while_retention_deletes_the_original_keeps_its_object() {
    let (t, _) = s3_app().await;
    let (Dialog { operator, .. }, key) = an_old_receipt(&t).await;
    // The operator sends the same file back. Its archiver finds the stored copy and is stopped right before it
    // marks its own row stored; retention deletes the old message meanwhile.
    let gate = Gate::close(
        &t,
        "BEFORE UPDATE ON message_attachments FOR EACH ROW \
         WHEN (NEW.archive_status = 'stored' AND OLD.archive_status <> 'stored')",
    )
    .await;
    let (_, during) = tokio::join!(t.send(the_receipt_sent_back(&operator)), async {
        gate.wait_for_someone().await;
        let reports = run_all(&t.app, Utc::now()).await;
        gate.open().await;
        reports
    });
    assert_only_the_adopted_copy_is_left(&t, &during, &key).await;
    assert_eq!(&t.app.media.get(&key).await.unwrap()[..], PDF, "the object the stored row names is there");
}

#[tokio::test]
async fn a_copy_adopted_while_retention_is_halfway_through_deleting_the_original_keeps_its_object() {
    let (t, media) = spawn_app_with_media_folder().await;
    let root = &media.root;
    let (Dialog { operator, .. }, key) = an_old_receipt(&t).await;
    // Retention is stopped while it deletes the old message; the operator sends the same file back meanwhile.
    let gate = Gate::close(&t, "BEFORE DELETE ON ticket_messages FOR EACH ROW").await;
    let (during, _) = tokio::join!(run_all(&t.app, Utc::now()), async {
        gate.wait_for_someone().await;
        t.send(the_receipt_sent_back(&operator)).await;
        gate.open().await;
    });
    assert_only_the_adopted_copy_is_left(&t, &during, &key).await;
    assert_eq!(std::fs::read(root.join(&key)).unwrap(), PDF, "the file the stored row names is there");
}

#[tokio::test]
async fn an_object_retention_could_not_delete_stays_queued_and_the_next_run_deletes_it() {
    let (mut t, _) = s3_app().await;
    let (_, key) = an_old_receipt(&t).await;
    // The store fails after the rows are gone (as a run killed between the two would leave it).
    let working = t.app.media.clone();
    let missing = format!("zabota-gone-{}", uuid::Uuid::new_v4().simple());
    t.app.media = MediaStore::S3(zabota_core::media::S3MediaStore::new(s3_client(), &missing));
    let first = run_all(&t.app, Utc::now()).await;
    assert_eq!(t.db.count("ticket_messages WHERE content_type = 'document'").await, 0, "the rows went regardless");
    assert!(retention_error(&first).is_some_and(|e| e.contains("queued")), "{first:?}");
    assert_eq!(&working.get(&key).await.unwrap()[..], PDF, "the object is still there");
    assert_eq!(t.db.count("media_deletions WHERE attempts = 1 AND last_error IS NOT NULL").await, 1);

    t.app.media = working;
    let deferred = run_all(&t.app, Utc::now()).await;
    assert_eq!(retention_error(&deferred), None);
    assert_eq!(t.db.count("media_deletions").await, 1, "a failed key waits for its backoff");
    t.db.execute("UPDATE media_deletions SET not_before = now()").await;
    let second = run_all(&t.app, Utc::now()).await;
    assert_eq!(retention_error(&second), None);
    assert!(matches!(t.app.media.get(&key).await, Err(MediaError::NotFound(_))), "deleted by the next run");
    assert_eq!(t.db.count("media_deletions").await, 0);
}
