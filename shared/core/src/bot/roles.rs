//! Who may do what at the desk: operators are members of the operators' chat, supervisors its administrators and
//! creator or the ids in `SUPERVISOR_IDS`, as getChatMember says. The answer is remembered in `operator_checks`
//! for `ROLE_CACHE_TTL` so that a busy dialog does not ask Telegram on every message, and someone removed from the
//! chat loses the desk within that time.

use super::ProcessError;
use super::ctx::Ctx;
use crate::db::tickets::{self, Membership};
use crate::domain::Role;
use crate::telegram::{ChatMember, TelegramError};

/// The role Telegram's answer gives.
fn role_of(member: &ChatMember) -> Role {
    match member.status.as_str() {
        "creator" | "administrator" => Role::Supervisor,
        _ if member.is_present() => Role::Operator,
        _ => Role::Outsider,
    }
}

/// A user id listed in `SUPERVISOR_IDS`: a supervisor whatever the chat says.
fn listed(ctx: &Ctx<'_>, user_id: i64) -> bool {
    ctx.app.config.supervisor_ids.contains(&user_id)
}

/// Asks Telegram. `None` when Telegram refuses to say anything about the operators' chat (the chat is gone or was
/// upgraded, the bot was removed from it): a set-up trouble that says nothing about this person, so it must not
/// take anyone's dialog away. A user Telegram does not know in the chat is an outsider.
async fn ask(ctx: &Ctx<'_>, user_id: i64) -> Result<Option<Role>, TelegramError> {
    match ctx.app.telegram.get_chat_member(ctx.app.config.operators_chat_id, user_id).await {
        Ok(member) => Ok(Some(role_of(&member))),
        Err(e) if e.is_transient() => Err(e),
        Err(e) if e.is_unknown_user() => {
            tracing::info!(user_id, error = %e, "getChatMember: not in the operators' chat");
            Ok(Some(Role::Outsider))
        }
        Err(e) => {
            tracing::error!(user_id, error = %e, "getChatMember refused for the operators' chat; check OPERATORS_CHAT_ID");
            Ok(None)
        }
    }
}

/// `user_id`'s role: the cached answer when it is fresh, else Telegram's, remembered. When Telegram cannot be
/// asked right now, the last answer stands (an outage must not stop operators); with none, the failure is an error
/// and the update is delivered again.
pub(crate) async fn role_cached(ctx: &Ctx<'_>, user_id: i64, cached: Membership) -> Result<Role, ProcessError> {
    if listed(ctx, user_id) {
        return Ok(Role::Supervisor);
    }
    if let Some(role) = cached.fresh {
        return Ok(role);
    }
    let role = match ask(ctx, user_id).await {
        Ok(Some(role)) => role,
        // Nothing known about the chat: the last answer stands, and someone never seen is no operator.
        Ok(None) => return Ok(cached.last.unwrap_or(Role::Outsider)),
        Err(e) => match cached.last {
            Some(role) => {
                tracing::info!(user_id, error = %e, "getChatMember failed; the last known role stands");
                return Ok(role);
            }
            None => return Err(e.into()),
        },
    };
    tickets::remember_role(ctx.db(), user_id, role).await?;
    Ok(role)
}

/// `user_id`'s role as Telegram says it right now, remembered (a listed supervisor is one without asking);
/// `None` when Telegram says nothing about the operators' chat (see [`ask`]). A transient failure is an error.
async fn ask_now(ctx: &Ctx<'_>, user_id: i64) -> Result<Option<Role>, ProcessError> {
    if listed(ctx, user_id) {
        return Ok(Some(Role::Supervisor));
    }
    let Some(role) = ask(ctx, user_id).await? else { return Ok(None) };
    tickets::remember_role(ctx.db(), user_id, role).await?;
    Ok(Some(role))
}

/// `user_id`'s role as Telegram says it right now (a claim or a supervisor's command must not rest on a cached
/// answer), remembered; the last answer when Telegram says nothing about the chat. A transient failure is an
/// error (the update is delivered again).
pub(crate) async fn confirm_role(ctx: &Ctx<'_>, user_id: i64) -> Result<Role, ProcessError> {
    if let Some(role) = ask_now(ctx, user_id).await? {
        return Ok(role);
    }
    let cached = tickets::cached_membership(ctx.db(), user_id, ctx.app.config.role_cache_ttl).await?;
    Ok(cached.last.unwrap_or(Role::Outsider))
}

/// `user_id`'s role for reading the history (transcripts, a customer's tickets, archived files: personal data), as
/// Telegram says it right now. Unlike [`confirm_role`], when Telegram says nothing about the operators' chat (see
/// [`ask`]) nobody is taken for an operator: a set-up trouble must not open the history to whoever once had a role.
pub(crate) async fn confirm_access(ctx: &Ctx<'_>, user_id: i64) -> Result<Role, ProcessError> {
    Ok(ask_now(ctx, user_id).await?.unwrap_or(Role::Outsider))
}

/// Whether `user_id` is still in the operators' chat, as Telegram says now (remembered); `None` when Telegram says
/// nothing about the chat (see [`ask`]). For the maintenance re-check, which must never take a dialog away on a
/// set-up trouble.
pub(crate) async fn still_operator(ctx: &Ctx<'_>, user_id: i64) -> Result<Option<bool>, ProcessError> {
    Ok(ask_now(ctx, user_id).await?.map(Role::is_operator))
}

/// `user_id`'s role: the remembered answer, or Telegram's (see [`role_cached`]).
pub(crate) async fn role(ctx: &Ctx<'_>, user_id: i64) -> Result<Role, ProcessError> {
    let cached = tickets::cached_membership(ctx.db(), user_id, ctx.app.config.role_cache_ttl).await?;
    role_cached(ctx, user_id, cached).await
}
