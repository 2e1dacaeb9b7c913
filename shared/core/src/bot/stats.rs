//! `/stats [7d|30d]` for supervisors: the desk's figures (`crate::stats`) as one message, and a chart of the
//! period as a photo sent before it.

use bytes::Bytes;
use chrono::{NaiveDateTime, Utc};

use super::ProcessError;
use super::ctx::Ctx;
use crate::domain::CloseReason;
use crate::stats::{self, Figures, Period, StatsError, chart};
use crate::texts;

/// How long the chart may wait for room in the chat's and the bot's budgets.
const UPLOAD_PACE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// `/stats ARG` from a supervisor (their role confirmed), answered in `chat`: the chart goes now, the figures'
/// text is returned for the caller to send after it.
pub(crate) async fn command(ctx: &mut Ctx<'_>, chat: i64, arg: &str) -> Result<Option<String>, ProcessError> {
    let Some(period) = Period::parse(arg) else { return Ok(Some(texts::STATS_USAGE.to_owned())) };
    let tz = ctx.app.config.desk_tz;
    let now = Utc::now();
    let figures = match stats::figures(ctx.db(), period, now, tz).await {
        Ok(figures) => figures,
        Err(StatsError::Db(e)) => return Err(crate::db::DbError::from(e).into()),
        Err(StatsError::Decode(e)) => {
            tracing::error!(error = %e, "the desk's figures do not read back");
            return Ok(Some(texts::STATS_FAILED.to_owned()));
        }
    };
    let from = period.since(now, tz).with_timezone(&tz).format("%d.%m").to_string();
    let to = now.with_timezone(&tz).format("%d.%m.%Y").to_string();
    let period_text = texts::stats_period(period.days, &from, &to);
    tracing::info!(days = period.days, opened = figures.opened, "supervisor asked for the desk's figures");
    send_chart(ctx, chat, &figures, period, &period_text).await?;
    Ok(Some(text(&figures, &period_text, tz.name())))
}

/// The chart as a photo; a refusal is logged and the figures still go.
async fn send_chart(
    ctx: &Ctx<'_>,
    chat: i64,
    figures: &Figures,
    period: Period,
    period_text: &str,
) -> Result<(), ProcessError> {
    let title = texts::chart_title(period_text);
    let labels = chart::Labels {
        title: &title,
        opened: texts::CHART_OPENED,
        closed: texts::CHART_CLOSED,
        wait: texts::CHART_WAIT,
    };
    let label = |at: NaiveDateTime| if period.days == 1 { at.format("%H:00") } else { at.format("%d.%m") }.to_string();
    let png = match chart::render(figures, labels, label) {
        Ok(png) => png,
        Err(e) => {
            tracing::error!(error = %e, "the stats chart could not be drawn");
            return Ok(());
        }
    };
    crate::db::budgets::take_slot_waiting(ctx.db(), chat, &ctx.app.config.send_limits, UPLOAD_PACE_WAIT).await?;
    let caption = texts::chart_caption(period_text);
    match ctx.app.telegram.send_photo_upload(ctx.deadline(), chat, "stats.png", Bytes::from(png), Some(&caption)).await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "the stats chart was refused; the figures go without it");
            Ok(())
        }
    }
}

/// The figures as one message.
fn text(f: &Figures, period: &str, zone: &str) -> String {
    let d = texts::duration;
    let closed: i64 = f.closed.values().sum();
    let mut reasons: Vec<(&String, &i64)> = f.closed.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let reasons: Vec<String> = reasons
        .iter()
        .map(|(reason, n)| format!("{} {n}", texts::reason_counted(CloseReason::parse(reason))))
        .collect();
    let mut lines = vec![
        texts::stats_header(period, zone),
        texts::stats_now(f.waiting, &d(f.oldest_wait_s), f.assigned),
        texts::stats_period_counts(f.opened, closed, &reasons.join(", ")),
        texts::stats_claim(&d(f.claim_median_s), &d(f.claim_p90_s), f.unclaimed),
        texts::stats_reply(&d(f.reply_median_s), &d(f.reply_p90_s), f.unanswered),
        texts::stats_close(&d(f.close_median_s)),
        texts::stats_ratings(f.rating_avg, f.rating_count),
    ];
    if f.operators.is_empty() {
        lines.push(texts::STATS_NO_OPERATORS.to_owned());
    } else {
        lines.push(texts::STATS_OPERATORS.to_owned());
        for o in &f.operators {
            lines.push(texts::stats_operator(&o.handle, o.closed, &d(o.reply_median_s), o.rating_avg, o.ratings));
        }
    }
    super::bans::cut(&lines.join("\n"), 4000)
}
