//! `ticket_ratings`: the customer's satisfaction rating of a dialog (1–5), one per ticket, with an optional
//! comment written right after.

use super::Sql;

const INSERT: &str = "INSERT INTO ticket_ratings (ticket_id, score, operator_tg_id) VALUES ($1, $2, $3) \
     ON CONFLICT (ticket_id) DO NOTHING";
/// Records the rating of ticket `ticket_id`; false when it was rated already (the first press counts).
pub(crate) async fn rate(
    db: &impl Sql,
    ticket_id: i64,
    score: i16,
    operator_tg_id: Option<i64>,
) -> Result<bool, tokio_postgres::Error> {
    Ok(db.execute(INSERT, &[&ticket_id, &score, &operator_tg_id]).await? == 1)
}

const COMMENT: &str = "UPDATE ticket_ratings SET comment = $2, commented_at = now() WHERE ticket_id = \
       (SELECT r.ticket_id FROM ticket_ratings r JOIN tickets t ON t.id = r.ticket_id \
         WHERE t.user_id = $1 AND r.rated_at > now() - make_interval(secs => $3) ORDER BY r.rated_at DESC LIMIT 1) \
       AND comment IS NULL \
       AND NOT EXISTS (SELECT 1 FROM tickets later WHERE later.user_id = $1 AND later.created_at > ticket_ratings.rated_at) \
     RETURNING ticket_id, score, operator_tg_id";

/// A rating a comment was added to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Commented {
    /// The ticket rated.
    pub ticket_id: i64,
    /// Its score.
    pub score: i16,
    /// The operator to tell.
    pub operator_tg_id: Option<i64>,
}

/// Stores `comment` with customer `user_id`'s rating made within the last `window`, if it has none yet and they
/// opened no ticket since (a text then belongs to the new ticket, not to the old rating).
pub(crate) async fn comment(
    db: &impl Sql,
    user_id: i64,
    comment: &str,
    window: std::time::Duration,
) -> Result<Option<Commented>, tokio_postgres::Error> {
    let secs = window.as_secs_f64();
    let row = db.query_opt(COMMENT, &[&user_id, &comment, &secs]).await?;
    row.map(|r| Ok(Commented { ticket_id: r.try_get(0)?, score: r.try_get(1)?, operator_tg_id: r.try_get(2)? }))
        .transpose()
}

const RATEABLE: &str = "SELECT u.tg_id, t.status, t.close_reason, t.operator_tg_id, \
       t.closed_at < now() - make_interval(days => $2) \
     FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1 FOR UPDATE OF t";

/// What a rating press needs to know of its ticket (row-locked).
#[derive(Clone, Debug)]
pub(crate) struct Rateable {
    /// The customer, who alone may rate.
    pub customer_tg_id: i64,
    /// Closed by an operator or a supervisor after a dialog.
    pub closed_after_dialog: bool,
    /// Who handled the dialog.
    pub operator_tg_id: Option<i64>,
    /// Closed before the history's retention floor (`retention_days` ago).
    pub past_retention: bool,
}

/// Ticket `ticket_id` as a rating sees it; `None` when it is gone (deleted by retention).
pub(crate) async fn rateable(
    db: &impl Sql,
    ticket_id: i64,
    retention_days: i32,
) -> Result<Option<Rateable>, tokio_postgres::Error> {
    let Some(row) = db.query_opt(RATEABLE, &[&ticket_id, &retention_days]).await? else { return Ok(None) };
    let status: super::tickets::Status = row.try_get(1)?;
    let reason: Option<String> = row.try_get(2)?;
    let reason = reason.as_deref().and_then(crate::domain::CloseReason::parse);
    // Kept after a close, cleared when a ticket goes back to the queue: a ticket closed while it waited has none.
    let operator: Option<i64> = row.try_get(3)?;
    Ok(Some(Rateable {
        customer_tg_id: row.try_get(0)?,
        closed_after_dialog: status == super::tickets::Status::Closed
            && reason.is_some_and(crate::domain::CloseReason::invites_rating)
            && operator.is_some(),
        operator_tg_id: operator,
        past_retention: row.try_get::<_, Option<bool>>(4)?.unwrap_or(false),
    }))
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[INSERT, COMMENT, RATEABLE];
