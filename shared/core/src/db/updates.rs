//! `processed_updates`: the record that makes each Telegram update take effect once.

use super::Sql;

/// The statement of [`record_update`].
pub(crate) const RECORD: &str =
    "INSERT INTO processed_updates (update_id, kind) VALUES ($1, $2) ON CONFLICT (update_id) DO NOTHING";

/// Records `update_id` inside the caller's transaction. Returns false when it was already processed:
/// the caller must then do nothing at all (Telegram redelivered it).
pub(crate) async fn record_update(db: &impl Sql, update_id: i64, kind: &str) -> Result<bool, tokio_postgres::Error> {
    let inserted = db.execute(RECORD, &[&update_id, &kind]).await?;
    Ok(inserted == 1)
}

/// Counts a failed attempt at an update (outside its rolled-back transaction); returns the attempts so far and
/// how long ago the first of them failed.
pub(crate) async fn count_failure(
    db: &impl Sql,
    update_id: i64,
    error: &str,
) -> Result<(i32, std::time::Duration), tokio_postgres::Error> {
    let row = db
        .query_one(
            "INSERT INTO update_failures (update_id, last_error) VALUES ($1, $2) \
             ON CONFLICT (update_id) DO UPDATE SET attempts = update_failures.attempts + 1, \
               last_error = excluded.last_error, last_failed_at = now() \
             RETURNING attempts, extract(epoch FROM now() - first_failed_at)::float8",
            &[&update_id, &error],
        )
        .await?;
    let failing_for = std::time::Duration::from_secs_f64(row.try_get::<_, f64>(1)?.max(0.0));
    Ok((row.try_get(0)?, failing_for))
}

const PARK: &str = "INSERT INTO dead_letters (update_id, kind, attempts, error, body) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (update_id) DO NOTHING";
/// Parks an update in the caller's transaction: recorded as processed (a redelivery is a duplicate), kept in
/// `dead_letters` with its error and body, its failure count cleared. False when it was processed already.
pub async fn park(
    db: &impl Sql,
    update_id: i64,
    kind: &str,
    attempts: i32,
    error: &str,
    body: &serde_json::Value,
) -> Result<bool, tokio_postgres::Error> {
    if !record_update(db, update_id, kind).await? {
        return Ok(false);
    }
    let park_params: super::Params<'_> = &[&update_id, &kind, &attempts, &error, body];
    let clear_params: super::Params<'_> = &[&update_id];
    let (parked, cleared) = tokio::join!(db.execute(PARK, park_params,), db.execute(CLEAR_FAILURES, clear_params),);
    parked?;
    cleared?;
    Ok(true)
}

const CLEAR_FAILURES: &str = "DELETE FROM update_failures WHERE update_id = $1";
/// Forgets failure counts older than a week (of updates processed since, or never redelivered) and dead letters
/// older than a month (they hold what their senders wrote: kept that long for the team to look into).
pub(crate) async fn prune(db: &impl Sql) -> Result<u64, tokio_postgres::Error> {
    let failures = db.execute("DELETE FROM update_failures WHERE last_failed_at < now() - interval '7 days'", &[]);
    let letters = db.execute("DELETE FROM dead_letters WHERE parked_at < now() - interval '30 days'", &[]);
    Ok(failures.await? + letters.await?)
}

/// A parked update, for `zabota maintain`'s report.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub(crate) struct DeadLetter {
    /// Telegram's update id.
    pub update_id: i64,
    /// Its kind (message, callback_query, …).
    pub kind: String,
    /// Attempts made before it was parked.
    pub attempts: i32,
    /// The last error (SQLSTATE and constraint for database errors; never row values).
    pub error: String,
    /// When it was parked, RFC 3339.
    pub parked_at: String,
}

/// The most recently parked updates of the last `days` days, newest first.
pub(crate) async fn recent_dead_letters(
    db: &impl Sql,
    days: i32,
    limit: i64,
) -> Result<Vec<DeadLetter>, tokio_postgres::Error> {
    let rows = db
        .query(
            "SELECT update_id, kind, attempts, error, to_char(parked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM dead_letters WHERE parked_at > now() - make_interval(days => $1) ORDER BY parked_at DESC LIMIT $2",
            &[&days, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DeadLetter {
                update_id: r.try_get(0)?,
                kind: r.try_get(1)?,
                attempts: r.try_get(2)?,
                error: r.try_get(3)?,
                parked_at: r.try_get(4)?,
            })
        })
        .collect()
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[RECORD, PARK, CLEAR_FAILURES];
