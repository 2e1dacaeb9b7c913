//! `operator_checks`: what getChatMember last said about someone in the operators' chat (a member, an
//! administrator or creator, or neither), remembered for `ROLE_CACHE_TTL`.

use std::time::Duration;

use super::Sql;
use crate::domain::Role;

/// The role a stored check gives, as one text column (`SUPERVISOR_IDS` is applied by the caller).
macro_rules! stored_role {
    ($alias:literal) => {
        concat!(
            "CASE WHEN ",
            $alias,
            ".is_member AND ",
            $alias,
            ".is_admin THEN 'supervisor' WHEN ",
            $alias,
            ".is_member THEN 'operator' ELSE 'outsider' END"
        )
    };
}
pub(crate) use stored_role;

/// The role in the operators' chat as `operator_checks` remembers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    /// What a check younger than `ROLE_CACHE_TTL` said (`None`: ask Telegram again).
    pub fresh: Option<Role>,
    /// What the last check said, however old (used when Telegram cannot be asked right now).
    pub last: Option<Role>,
}

/// The cache's time to live as the statements take it (`$2`, seconds).
pub(crate) fn ttl_seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

pub(super) const CACHED: &str = concat!(
    "SELECT CASE WHEN c.checked_at > now() - make_interval(secs => $2) THEN ",
    stored_role!("c"),
    " END, ",
    stored_role!("c"),
    " FROM operator_checks c WHERE c.tg_id = $1"
);
/// The role in the operators' chat as last checked; `ttl` decides what is fresh.
pub(crate) async fn cached_membership(
    db: &impl Sql,
    tg_id: i64,
    ttl: Duration,
) -> Result<Membership, tokio_postgres::Error> {
    let row = db.query_opt(CACHED, &[&tg_id, &ttl_seconds(ttl)]).await?;
    let Some(r) = row else { return Ok(Membership::default()) };
    Ok(Membership { fresh: r.try_get(0)?, last: r.try_get(1)? })
}

pub(super) const REMEMBER: &str = "INSERT INTO operator_checks (tg_id, is_member, is_admin) VALUES ($1, $2, $3) \
         ON CONFLICT (tg_id) DO UPDATE SET is_member = excluded.is_member, is_admin = excluded.is_admin, \
         checked_at = now()";
/// Remembers what getChatMember said of `tg_id`.
pub(crate) async fn remember_role(db: &impl Sql, tg_id: i64, role: Role) -> Result<(), tokio_postgres::Error> {
    db.execute(REMEMBER, &[&tg_id, &role.is_operator(), &role.is_supervisor()]).await?;
    Ok(())
}

/// Forgets membership checks older than a day, but for operators with a dialog (their last known role is what
/// stands while Telegram cannot be asked).
pub(crate) async fn prune_checks(db: &impl Sql) -> Result<u64, tokio_postgres::Error> {
    let sql = "DELETE FROM operator_checks c WHERE c.checked_at < now() - interval '1 day' \
               AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.operator_tg_id = c.tg_id AND t.status = 'ASSIGNED')";
    db.execute(sql, &[]).await
}
