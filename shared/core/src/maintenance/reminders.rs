//! Waiting reminders: a ticket still in the queue after `WAITING_REMINDER_AFTER` is announced again in the
//! operators' chat (a fresh card), at most once per `WAITING_REMINDER_INTERVAL`.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::ago;
use crate::app::App;
use crate::bot::ctx::Ctx;
use crate::bot::{deliver_until, intake};
use crate::db::tickets;
use crate::db::{Sql, Tx};

/// Re-announces waiting tickets; returns how many.
pub async fn remind(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let created_before = ago(now, app.config.waiting_reminder_after);
    let reminded_before = ago(now, app.config.waiting_reminder_interval);
    let condition = "status = 'WAITING' AND created_at <= $1 AND (reminded_at IS NULL OR reminded_at <= $2)";
    let ids: Vec<i64> = {
        let client = app.db.get().await?;
        let sql = format!("SELECT id FROM tickets WHERE {condition} ORDER BY id LIMIT 100");
        client.query(&sql, &[&created_before, &reminded_before]).await?.iter().map(|r| r.get(0)).collect()
    };
    let mut reminded = 0;
    for id in ids {
        if Instant::now() >= until {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let sql = format!("UPDATE tickets SET reminded_at = $3 WHERE id = $4 AND {condition}");
        let updated = tx.execute(&sql, &[&created_before, &reminded_before, &now, &id]).await?;
        let mut ctx = Ctx::new(app, &tx);
        if updated == 1
            && let Some(ticket) = tickets::lock_ticket(&tx, id).await?
        {
            let waited = tx.query_one("SELECT created_at FROM tickets WHERE id = $1", &[&id]).await?;
            let minutes = (now - waited.get::<_, DateTime<Utc>>(0)).num_minutes();
            intake::post_card_with(&mut ctx, &ticket, Some(crate::texts::waiting_reminder(minutes))).await?;
            reminded += 1;
        }
        let chats = ctx.finish().await?;
        tx.commit().await?;
        deliver_until(app, chats, until).await;
    }
    Ok(reminded)
}
