//! Waiting reminders: a ticket still in the queue after `WAITING_REMINDER_AFTER` is announced again in the
//! operators' chat (a fresh card), at most once per `WAITING_REMINDER_INTERVAL`.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{ago, each_ticket};
use crate::app::App;
use crate::bot;
use crate::db::due;

/// Re-announces waiting tickets; returns how many.
pub(crate) async fn remind(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let created_before = ago(now, app.config.waiting_reminder_after);
    let reminded_before = ago(now, app.config.waiting_reminder_interval);
    let ids = due::due_reminders(&app.db.get().await?, created_before, reminded_before).await?;
    let step = |id| bot::remind_waiting(app, id, now, created_before, reminded_before, until);
    each_ticket(ids, until, step).await
}
