//! The desk's own upkeep: an operator removed from the operators' chat loses their dialog to the queue even if they
//! never write again, and a card that went out (or was recorded) after its ticket left the queue stops inviting a
//! claim, and the queue board's waiting times move on.

use std::time::Instant;

use super::each_ticket;
use crate::app::App;
use crate::bot;
use crate::db::due;

/// Asks again about operators whose membership check is older than `ROLE_CACHE_TTL`; returns how many dialogs went
/// back to the queue.
pub(crate) async fn recheck_operators(app: &App, until: Instant) -> anyhow::Result<u64> {
    let config = &app.config;
    let ids = due::unchecked_operators(&app.db.get().await?, config.role_cache_ttl, &config.supervisor_ids).await?;
    each_ticket(ids, until, |id| bot::recheck_operator(app, id, until)).await
}

/// Settles stale cards; returns how many tickets had some.
pub(crate) async fn settle_stale_cards(app: &App, until: Instant) -> anyhow::Result<u64> {
    let ids = due::stale_cards(&app.db.get().await?).await?;
    each_ticket(ids, until, |id| bot::settle_stale_cards(app, id, until)).await
}

/// Queues a refresh of the queue board when its message is over a minute old (it shows waiting times); the
/// outbox redelivery after this job sends it. Returns how many boards.
pub(crate) async fn refresh_boards(app: &App) -> anyhow::Result<u64> {
    Ok(bot::board::catch_up(&app.db.get().await?).await?.len() as u64)
}
