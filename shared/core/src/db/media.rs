//! `message_attachments` and `media_deletions`: what the archiver leases and records, what operators list, and
//! the key lock that keeps objects and the rows naming them in agreement (see [`LOCK_KEY`]).

use chrono::{DateTime, Utc};

use super::{Params, Sql, Tx};
use crate::domain::{ArchiveStatus, ContentKind, Sender};

/// Serializes, per storage key, whatever could make an object and a row that names it disagree: adopting or
/// uploading a key (the archiver) and deleting its object (retention). Held until the transaction ends.
///
/// The rule both sides keep: an object lives as long as the youngest `message_attachments` row naming it
/// (`storage_key`, any status: a pending row with a key is an upload in flight). The archiver names a key on its
/// row under this lock *before* it uploads, and adopts a stored key only after re-checking under it that a stored
/// row still names it. Retention, when it deletes the last row naming a key, queues the key in
/// `media_deletions` ([`QUEUE_IF_UNREFERENCED`]); the object is deleted later under this lock, after a re-check.
pub(crate) const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended('media:' || $1::text, 0))";

/// Queues for deletion those of the keys `$1` (a text array) that no attachment row names. Run it in a statement
/// *after* the one that removed the rows, so that it sees rows committed meanwhile (READ COMMITTED). A key already
/// queued is left queued; if a deleter holds it right now this waits, and queues it again when it was removed.
pub(crate) const QUEUE_IF_UNREFERENCED: &str = "INSERT INTO media_deletions (storage_key) \
     SELECT DISTINCT k FROM unnest($1::text[]) AS k \
     WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.storage_key = k) \
     ON CONFLICT (storage_key) DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at)";

/// Queues the keys that no row names any more (see [`QUEUE_IF_UNREFERENCED`]).
pub(crate) async fn queue_if_unreferenced(db: &impl Sql, keys: &[String]) -> Result<(), tokio_postgres::Error> {
    db.execute(QUEUE_IF_UNREFERENCED, &[&keys]).await?;
    Ok(())
}

/// An attachment leased for archiving.
pub(crate) struct Leased {
    /// `message_attachments.id`.
    pub id: i64,
    /// What the message carried.
    pub kind: ContentKind,
    /// For getFile.
    pub file_id: String,
    /// Deduplicates copies of one file; part of its key.
    pub file_unique_id: String,
    /// The sender's MIME type, if any.
    pub mime: Option<String>,
    /// Bytes, as Telegram reported them.
    pub size: Option<i64>,
    /// The original file name, if any.
    pub file_name: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
    /// Its ticket (part of the key).
    pub ticket_id: i64,
    /// When its message was stored (part of the key).
    pub created_at: DateTime<Utc>,
}

const LEASE: &str = "UPDATE message_attachments a SET archive_not_before = now() + interval '5 minutes' \
     FROM ticket_messages m \
     WHERE a.id IN (SELECT id FROM message_attachments WHERE archive_status = 'pending' \
                      AND archive_not_before <= now() AND ($1::bigint[] IS NULL OR message_id = ANY($1)) \
                    ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
       AND m.id = a.message_id \
     RETURNING a.id, a.kind, a.file_id, a.file_unique_id, a.mime_type, a.size, a.file_name, a.archive_attempts, \
               m.ticket_id, m.created_at";

/// Takes a five-minute lease on up to `limit` due pending attachments (of `message_ids` only, if given), so two
/// archivers never work on the same one; in id order. A row this version cannot read (a kind it does not know)
/// comes back apart, with the reason, to be marked failed rather than hold up the others.
pub(crate) async fn lease(
    db: &impl Sql,
    message_ids: Option<&[i64]>,
    limit: i64,
) -> Result<(Vec<Leased>, Vec<(i64, String)>), tokio_postgres::Error> {
    let rows = db.query(LEASE, &[&message_ids, &limit]).await?;
    let (mut leased, mut unreadable) = (Vec::new(), Vec::new());
    for row in &rows {
        let id = row.try_get(0)?;
        match leased_from(id, row) {
            Ok(one) => leased.push(one),
            Err(e) => unreadable.push((id, e.to_string())),
        }
    }
    leased.sort_by_key(|p| p.id);
    Ok((leased, unreadable))
}

fn leased_from(id: i64, r: &tokio_postgres::Row) -> Result<Leased, tokio_postgres::Error> {
    Ok(Leased {
        id,
        kind: r.try_get(1)?,
        file_id: r.try_get(2)?,
        file_unique_id: r.try_get(3)?,
        mime: r.try_get(4)?,
        size: r.try_get(5)?,
        file_name: r.try_get(6)?,
        attempts: r.try_get(7)?,
        ticket_id: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

/// A stored copy of the same file: its key.
const FIND_STORED: &str = "SELECT storage_key FROM message_attachments \
     WHERE file_unique_id = $1 AND archive_status = 'stored' AND storage_key IS NOT NULL LIMIT 1";

/// The key of a stored copy of the file `file_unique_id`, if one exists.
pub(crate) async fn find_stored(db: &impl Sql, file_unique_id: &str) -> Result<Option<String>, tokio_postgres::Error> {
    db.query_opt(FIND_STORED, &[&file_unique_id]).await?.map(|r| r.try_get(0)).transpose()
}

/// Run after [`LOCK_KEY`] (a statement of its own, so it sees whatever a deleter committed before letting the lock
/// go): marks the leased, pending row `$1` stored under key `$2` if a stored row still names that key (so its object
/// exists). A key the row named before (an earlier attempt) is queued for deletion. Returns the rows marked.
const MARK_ADOPTED: &str = "WITH old AS (SELECT id, storage_key FROM message_attachments WHERE id = $1 FOR UPDATE), \
       src AS (SELECT coalesce(size, 0) AS size FROM message_attachments \
               WHERE storage_key = $2 AND archive_status = 'stored' LIMIT 1), \
       up AS (UPDATE message_attachments a SET archive_status = 'stored', storage_key = $2, archived_at = now(), \
                size = coalesce(a.size, src.size), archive_error = NULL, archive_attempts = a.archive_attempts + 1 \
              FROM old, src WHERE a.id = old.id AND a.archive_status = 'pending' \
              RETURNING old.storage_key AS previous), \
       queued AS (INSERT INTO media_deletions (storage_key) SELECT previous FROM up \
                  WHERE previous IS NOT NULL AND previous <> $2 \
                  ON CONFLICT (storage_key) \
                  DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at) RETURNING 1) \
     SELECT count(*) FROM up";

/// Run after [`LOCK_KEY`]: names key `$2` on the leased, pending row `$1` before the upload. A key the row named
/// before is queued for deletion. Returns the rows named (0: the row is gone).
const NAME_KEY: &str = "WITH old AS (SELECT id, storage_key FROM message_attachments WHERE id = $1 FOR UPDATE), \
       up AS (UPDATE message_attachments a SET storage_key = $2 \
              FROM old WHERE a.id = old.id AND a.archive_status = 'pending' RETURNING old.storage_key AS previous), \
       queued AS (INSERT INTO media_deletions (storage_key) SELECT previous FROM up \
                  WHERE previous IS NOT NULL AND previous <> $2 \
                  ON CONFLICT (storage_key) \
                  DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at) RETURNING 1) \
     SELECT count(*) FROM up";

/// Adopts stored `key` for leased row `id` under the key's lock, and commits `tx`; false when no stored row names
/// the key any more (it is being deleted) or the row is gone.
pub(crate) async fn adopt_and_commit(tx: &Tx, id: i64, key: &str) -> Result<bool, tokio_postgres::Error> {
    Ok(locked_and_committed(tx, key, MARK_ADOPTED, id).await? == 1)
}

/// Names `key` on leased row `id` before its upload, under the key's lock, and commits `tx`: from then on
/// retention keeps the object, and a deletion of that key already under way has finished. False when the row is
/// gone.
pub(crate) async fn name_key_and_commit(tx: &Tx, id: i64, key: &str) -> Result<bool, tokio_postgres::Error> {
    Ok(locked_and_committed(tx, key, NAME_KEY, id).await? == 1)
}

/// Takes the key's lock, runs `statement` (`$1` the attachment, `$2` the key; it returns a count) and commits, in
/// one round trip (with BEGIN, if the transaction has not begun): the statements are sent in order, and each
/// starts after the one before it has finished.
async fn locked_and_committed(tx: &Tx, key: &str, statement: &str, id: i64) -> Result<i64, tokio_postgres::Error> {
    let key = key.to_owned();
    let (lock_params, params): (Params<'_>, Params<'_>) = (&[&key], &[&id, &key]);
    tx.commit_after(async {
        let (locked, counted) =
            tokio::join!(tx.execute(LOCK_KEY, lock_params), tx.client().query_one(statement, params));
        locked?;
        counted?.try_get(0)
    })
    .await
}

const MARK_STORED: &str = "UPDATE message_attachments SET archive_status = 'stored', archived_at = now(), \
       size = coalesce(size, $3), archive_error = NULL, archive_attempts = archive_attempts + 1 \
     WHERE id = $1 AND storage_key = $2";

/// Marks row `id` stored under `key` (which it named before the upload); false when the row went meanwhile.
pub(crate) async fn mark_stored(db: &impl Sql, id: i64, key: &str, size: i64) -> Result<bool, tokio_postgres::Error> {
    Ok(db.execute(MARK_STORED, &[&id, &key, &size]).await? == 1)
}

/// Records an attempt that stored nothing: the status, the reason and (for a retry) when to try again. A key the
/// row named for an upload that failed is let go and queued in the same statement: a partial object may exist, and
/// retention deletes it unless a row names the key again by then.
const RECORD_NOT_STORED: &str = "\
     WITH old AS (SELECT id, storage_key FROM message_attachments WHERE id = $1 FOR UPDATE), \
       up AS (UPDATE message_attachments a SET archive_status = $2, archive_error = $3, storage_key = NULL, \
                archive_attempts = a.archive_attempts + 1, \
                archive_not_before = coalesce(now() + make_interval(secs => $4::float8), a.archive_not_before) \
              FROM old WHERE a.id = old.id RETURNING old.storage_key AS key) \
     INSERT INTO media_deletions (storage_key) SELECT key FROM up WHERE key IS NOT NULL \
     ON CONFLICT (storage_key) DO UPDATE SET queued_at = least(media_deletions.queued_at, EXCLUDED.queued_at)";

/// Records an attempt on row `id` that stored nothing (see [`RECORD_NOT_STORED`]); `retry_in_s` for a retry.
pub(crate) async fn record_not_stored(
    db: &impl Sql,
    id: i64,
    status: ArchiveStatus,
    reason: &str,
    retry_in_s: Option<f64>,
) -> Result<(), tokio_postgres::Error> {
    db.execute(RECORD_NOT_STORED, &[&id, &status, &reason, &retry_in_s]).await?;
    Ok(())
}

/// An attachment in a ticket's file list.
pub(crate) struct Listed {
    /// `message_attachments.id` (what `/file` takes).
    pub id: i64,
    /// What the message carried.
    pub kind: ContentKind,
    /// The original file name, if any.
    pub file_name: Option<String>,
    /// Bytes, if known.
    pub size: Option<i64>,
    /// Whether it is in the archive.
    pub status: ArchiveStatus,
    /// Who sent it.
    pub sender: Sender,
    /// When.
    pub created_at: DateTime<Utc>,
}

const LIST: &str = "SELECT a.id, a.kind, a.file_name, a.size, a.archive_status, m.sender_type, m.created_at \
     FROM message_attachments a JOIN ticket_messages m ON m.id = a.message_id \
     WHERE m.ticket_id = $1 ORDER BY a.id";

/// The attachments of ticket `ticket_id`, oldest first.
pub(crate) async fn attachments_of_ticket(db: &impl Sql, ticket_id: i64) -> Result<Vec<Listed>, tokio_postgres::Error> {
    let rows = db.query(LIST, &[&ticket_id]).await?;
    rows.iter()
        .map(|r| {
            Ok(Listed {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                file_name: r.try_get(2)?,
                size: r.try_get(3)?,
                status: r.try_get(4)?,
                sender: r.try_get(5)?,
                created_at: r.try_get(6)?,
            })
        })
        .collect()
}

/// An attachment as `/file` needs it.
pub(crate) struct Archived {
    /// What the message carried.
    pub kind: ContentKind,
    /// The original file name, if any.
    pub file_name: Option<String>,
    /// The sender's MIME type, if any.
    pub mime: Option<String>,
    /// Where its bytes are, once named.
    pub storage_key: Option<String>,
    /// Whether it is in the archive.
    pub status: ArchiveStatus,
    /// Why not, when it is not.
    pub error: Option<String>,
}

const ONE: &str = "SELECT kind, file_name, mime_type, storage_key, archive_status, archive_error \
     FROM message_attachments WHERE id = $1";

/// Attachment `id`, if it exists.
pub(crate) async fn attachment(db: &impl Sql, id: i64) -> Result<Option<Archived>, tokio_postgres::Error> {
    let Some(r) = db.query_opt(ONE, &[&id]).await? else { return Ok(None) };
    Ok(Some(Archived {
        kind: r.try_get(0)?,
        file_name: r.try_get(1)?,
        mime: r.try_get(2)?,
        storage_key: r.try_get(3)?,
        status: r.try_get(4)?,
        error: r.try_get(5)?,
    }))
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[LOCK_KEY, QUEUE_IF_UNREFERENCED, MARK_ADOPTED, NAME_KEY];
