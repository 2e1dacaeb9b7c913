//! Who may act as an operator: members of the operators' chat, as getChatMember says, remembered for a minute in
//! `operator_checks` so that a busy dialog does not ask Telegram on every message, and a removed operator loses
//! the desk within a minute.

use super::ProcessError;
use super::ctx::Ctx;
use crate::db::tickets::{self, Membership};

/// True when `user_id` is in the operators' chat: the cached answer when it is fresh, else Telegram is asked and
/// the answer remembered. When Telegram cannot be asked right now, the last answer stands (an outage must not stop
/// operators); with none, the failure is an error and the update is delivered again.
pub(crate) async fn is_operator_cached(ctx: &Ctx<'_>, user_id: i64, cached: Membership) -> Result<bool, ProcessError> {
    if let Some(member) = cached.fresh {
        return Ok(member);
    }
    let member = match ctx.app.telegram.get_chat_member(ctx.app.config.operators_chat_id, user_id).await {
        Ok(member) => member.is_present(),
        Err(e) if e.is_transient() => match cached.last {
            Some(member) => {
                tracing::info!(user_id, error = %e, "getChatMember failed; the last known membership stands");
                return Ok(member);
            }
            None => return Err(e.into()),
        },
        Err(e) => {
            tracing::info!(user_id, error = %e, "getChatMember refused; treated as not an operator");
            false
        }
    };
    tickets::remember_membership(ctx.db(), user_id, member).await?;
    Ok(member)
}

/// True when Telegram says right now that `user_id` is in the operators' chat (a claim must not rest on a cached
/// answer); a yes is remembered. A transient failure is an error (the update is delivered again); a refusal is a no.
pub(crate) async fn confirm_operator(ctx: &Ctx<'_>, user_id: i64) -> Result<bool, ProcessError> {
    match ctx.app.telegram.get_chat_member(ctx.app.config.operators_chat_id, user_id).await {
        Ok(member) if member.is_present() => {
            tickets::remember_membership(ctx.db(), user_id, true).await?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) if e.is_transient() => Err(e.into()),
        Err(_) => Ok(false),
    }
}

/// True when `user_id` is in the operators' chat: the remembered answer, or Telegram's (see
/// [`is_operator_cached`]).
pub(crate) async fn is_operator(ctx: &Ctx<'_>, user_id: i64) -> Result<bool, ProcessError> {
    let cached = tickets::cached_membership(ctx.db(), user_id).await?;
    is_operator_cached(ctx, user_id, cached).await
}
