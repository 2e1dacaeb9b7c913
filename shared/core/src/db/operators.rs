//! `operator_checks`: what getChatMember last said about someone's membership of the operators' chat.

use super::Sql;

/// A membership check of the operators' chat younger than this is used as it is (one minute).
macro_rules! membership_fresh_since {
    () => {
        "now() - interval '60 seconds'"
    };
}
pub(crate) use membership_fresh_since;

/// Membership of the operators' chat as `operator_checks` remembers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    /// What a check within the last minute said (`None`: ask Telegram again).
    pub fresh: Option<bool>,
    /// What the last check said, however old (used when Telegram cannot be asked right now).
    pub last: Option<bool>,
}

pub(super) const CACHED: &str = concat!(
    "SELECT CASE WHEN checked_at > ",
    membership_fresh_since!(),
    " THEN is_member END, is_member FROM operator_checks WHERE tg_id = $1"
);
/// Membership of the operators' chat as last checked.
pub(crate) async fn cached_membership(db: &impl Sql, tg_id: i64) -> Result<Membership, tokio_postgres::Error> {
    let row = db.query_opt(CACHED, &[&tg_id]).await?;
    let Some(r) = row else { return Ok(Membership::default()) };
    Ok(Membership { fresh: r.try_get(0)?, last: r.try_get(1)? })
}

pub(super) const REMEMBER: &str = "INSERT INTO operator_checks (tg_id, is_member) VALUES ($1, $2) \
         ON CONFLICT (tg_id) DO UPDATE SET is_member = excluded.is_member, checked_at = now()";
/// Remembers what getChatMember said of `tg_id`.
pub(crate) async fn remember_membership(
    db: &impl Sql,
    tg_id: i64,
    is_member: bool,
) -> Result<(), tokio_postgres::Error> {
    db.execute(REMEMBER, &[&tg_id, &is_member]).await?;
    Ok(())
}

/// Forgets membership checks older than a day.
pub(crate) async fn prune_checks(db: &impl Sql) -> Result<u64, tokio_postgres::Error> {
    db.execute("DELETE FROM operator_checks WHERE checked_at < now() - interval '1 day'", &[]).await
}
