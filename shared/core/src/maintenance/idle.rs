//! Idle auto-close: an assigned ticket with no messages for `TICKET_IDLE_CLOSE_AFTER` is first warned
//! (both sides, `TICKET_IDLE_WARN_BEFORE` ahead), then closed like an operator's «Завершить диалог».

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{ago, each_ticket};
use crate::app::App;
use crate::bot;
use crate::db::due;

/// Warns both sides of tickets about to be closed for inactivity; returns how many were warned.
pub async fn warn(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let config = &app.config;
    let since = ago(now, config.ticket_idle_close_after - config.ticket_idle_warn_before);
    let minutes = (config.ticket_idle_warn_before.as_secs() / 60) as i64;
    let ids = due::idle_unwarned(&app.db.get().await?, since).await?;
    each_ticket(ids, until, |id| bot::warn_idle(app, id, now, since, minutes, until)).await
}

/// Closes warned tickets still idle; returns how many were closed.
pub async fn close(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let config = &app.config;
    let since = ago(now, config.ticket_idle_close_after);
    let warned_before = ago(now, config.ticket_idle_warn_before);
    let ids = due::idle_warned(&app.db.get().await?, since, warned_before).await?;
    each_ticket(ids, until, |id| bot::close_idle(app, id, now, since, warned_before, until)).await
}
