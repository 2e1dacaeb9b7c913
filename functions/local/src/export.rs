//! `zabota export`: tickets of a period as JSON Lines on stdout (see `zabota_core::history::export`). Needs only
//! the database settings; the count goes to stderr, so stdout is the export alone.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use zabota_core::config::DatabaseConfig;
use zabota_core::db;
use zabota_core::history::export::{ExportRange, export};

/// A day (`2026-06-01`, midnight UTC) or an RFC 3339 instant.
pub fn parse_time(value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{value:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))
}

/// Writes the export of `[since, until)` (until now by default), or of one ticket in it, to stdout.
pub async fn run(since: DateTime<Utc>, until: Option<DateTime<Utc>>, ticket: Option<i64>) -> anyhow::Result<()> {
    let until = until.unwrap_or_else(Utc::now);
    anyhow::ensure!(since < until, "--since must be before --until");
    let config = DatabaseConfig::from_env()?;
    let pool = db::build_pool(&config, 1).context("connecting to the database")?;
    let mut out = tokio::io::BufWriter::new(tokio::io::stdout());
    let written = export(&pool, ExportRange { since, until, ticket }, &mut out).await?;
    eprintln!("exported {written} tickets");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_days_or_instants() {
        assert_eq!(parse_time("2026-06-01").unwrap().to_rfc3339(), "2026-06-01T00:00:00+00:00");
        assert_eq!(parse_time("2026-06-01T12:00:00+03:00").unwrap().to_rfc3339(), "2026-06-01T09:00:00+00:00");
        assert!(parse_time("01.06.2026").is_err());
    }
}
