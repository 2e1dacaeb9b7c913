//! Idle auto-close: an assigned ticket with no messages for `TICKET_IDLE_CLOSE_AFTER` is first warned
//! (both sides, `TICKET_IDLE_WARN_BEFORE` ahead), then closed like an operator's «Завершить диалог».

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::ago;
use crate::app::App;
use crate::bot::ctx::Ctx;
use crate::bot::{deliver_until, keyboards};
use crate::db::{Sql, Tx};
use crate::telegram::SendMessage;
use crate::texts;

const BATCH: i64 = 100;

/// Warns both sides of tickets about to be closed for inactivity; returns how many were warned.
pub async fn warn(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let config = &app.config;
    let warn_from = ago(now, config.ticket_idle_close_after - config.ticket_idle_warn_before);
    let minutes = (config.ticket_idle_warn_before.as_secs() / 60) as i64;
    let mut warned = 0;
    for id in candidates(app, "idle_warned_at IS NULL AND last_activity_at <= $1", warn_from).await? {
        if Instant::now() >= until {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let row = tx
            .query_opt(
                "UPDATE tickets t SET idle_warned_at = $2 FROM users u WHERE t.id = $1 AND u.id = t.user_id \
                 AND t.status = 'ASSIGNED' AND t.idle_warned_at IS NULL AND t.last_activity_at <= $3 \
                 RETURNING u.tg_id, t.operator_tg_id",
                &[&id, &now, &warn_from],
            )
            .await?;
        let mut ctx = Ctx::new(app, &tx);
        if let Some(row) = row {
            let (customer, operator): (i64, Option<i64>) = (row.get(0), row.get(1));
            ctx.send(SendMessage::new(customer, texts::idle_warning_customer(minutes)))?;
            if let Some(operator) = operator {
                ctx.send(SendMessage::new(operator, texts::idle_warning_operator(id, minutes)))?;
            }
            warned += 1;
        }
        let chats = ctx.finish().await?;
        tx.commit().await?;
        deliver_until(app, chats, until).await;
    }
    Ok(warned)
}

/// Closes warned tickets still idle; returns how many were closed.
pub async fn close(app: &App, now: DateTime<Utc>, until: Instant) -> anyhow::Result<u64> {
    let config = &app.config;
    let idle_since = ago(now, config.ticket_idle_close_after);
    let warned_before = ago(now, config.ticket_idle_warn_before);
    let filter = "idle_warned_at <= $2 AND last_activity_at <= $1";
    let mut closed = 0;
    for id in candidates_warned(app, filter, idle_since, warned_before).await? {
        if Instant::now() >= until {
            break;
        }
        let tx = Tx::begin(&app.db).await?;
        let row = tx
            .query_opt(
                "UPDATE tickets t SET status = 'CLOSED', closed_at = $2, close_reason = 'idle' FROM users u \
                 WHERE t.id = $1 AND u.id = t.user_id AND t.status = 'ASSIGNED' AND t.idle_warned_at <= $4 \
                 AND t.last_activity_at <= $3 RETURNING u.tg_id, t.operator_tg_id, t.operator_message_id",
                &[&id, &now, &idle_since, &warned_before],
            )
            .await?;
        let mut ctx = Ctx::new(app, &tx);
        if let Some(row) = row {
            let (customer, operator, summary): (i64, Option<i64>, Option<i64>) = (row.get(0), row.get(1), row.get(2));
            crate::outbox::cancel_copies_to_operator(&tx, id, "ticket closed").await?;
            ctx.send(SendMessage::new(customer, texts::OPERATOR_DISCONNECTED).with_markup(keyboards::home()))?;
            if let Some(operator) = operator {
                if let Some(summary) = summary {
                    ctx.remove_buttons(operator, summary)?;
                }
                ctx.send(SendMessage::new(operator, texts::idle_closed_operator(id)))?;
            }
            closed += 1;
        }
        let chats = ctx.finish().await?;
        tx.commit().await?;
        deliver_until(app, chats, until).await;
    }
    Ok(closed)
}

async fn candidates(app: &App, filter: &str, at: DateTime<Utc>) -> anyhow::Result<Vec<i64>> {
    let client = app.db.get().await?;
    let sql = format!("SELECT id FROM tickets WHERE status = 'ASSIGNED' AND {filter} ORDER BY id LIMIT {BATCH}");
    Ok(client.query(&sql, &[&at]).await?.iter().map(|r| r.get(0)).collect())
}

async fn candidates_warned(app: &App, filter: &str, a: DateTime<Utc>, b: DateTime<Utc>) -> anyhow::Result<Vec<i64>> {
    let client = app.db.get().await?;
    let sql = format!("SELECT id FROM tickets WHERE status = 'ASSIGNED' AND {filter} ORDER BY id LIMIT {BATCH}");
    Ok(client.query(&sql, &[&a, &b]).await?.iter().map(|r| r.get(0)).collect())
}
