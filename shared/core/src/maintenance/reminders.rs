//! The queue's clean-up: a ticket still in the queue after `WAITING_REMINDER_AFTER` is announced again in the
//! operators' chat (a fresh card), at most once per `WAITING_REMINDER_INTERVAL` and `WAITING_REMINDER_MAX` times
//! in all; one still waiting after `WAITING_EXPIRE_AFTER` is closed as expired and its customer told.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{ago, each_ticket};
use crate::app::App;
use crate::bot;
use crate::db::due::{self, ReminderDue};

/// Re-announces waiting tickets; returns how many.
pub(crate) async fn remind(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let config = &app.config;
    let due = ReminderDue {
        created_before: ago(now, config.waiting_reminder_after),
        reminded_before: ago(now, config.waiting_reminder_interval),
        max: config.waiting_reminder_max,
    };
    let ids = due::due_reminders(&app.db.get().await?, due).await?;
    each_ticket(ids, until, |id| bot::remind_waiting(app, id, now, due, until)).await
}

/// Closes tickets that waited longer than `WAITING_EXPIRE_AFTER`; returns how many.
pub(crate) async fn expire(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let created_before = ago(now, app.config.waiting_expire_after);
    let ids = due::expired_waiting(&app.db.get().await?, created_before).await?;
    each_ticket(ids, until, |id| bot::expire_waiting(app, id, now, created_before, until)).await
}
