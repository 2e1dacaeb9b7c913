//! Who may act as an operator: members of the operators' chat, as getChatMember says, remembered for a minute in
//! `operator_checks` so that a busy dialog does not ask Telegram on every message, and a removed operator loses
//! the desk within a minute.

use super::ProcessError;
use super::ctx::Ctx;
use crate::db::tickets;

/// True when `user_id` is in the operators' chat: `cached` when the caller read a fresh check, else Telegram is
/// asked and the answer remembered. A transient failure to ask is an error (the update is delivered again).
pub(crate) async fn is_operator_cached(
    ctx: &Ctx<'_>,
    user_id: i64,
    cached: Option<bool>,
) -> Result<bool, ProcessError> {
    if let Some(member) = cached {
        return Ok(member);
    }
    let member = match ctx.app.telegram.get_chat_member(ctx.app.config.operators_chat_id, user_id).await {
        Ok(member) => member.is_present(),
        Err(e) if e.is_transient() => return Err(e.into()),
        Err(e) => {
            tracing::info!(user_id, error = %e, "getChatMember refused; treated as not an operator");
            false
        }
    };
    tickets::remember_membership(ctx.db, user_id, member).await?;
    Ok(member)
}
