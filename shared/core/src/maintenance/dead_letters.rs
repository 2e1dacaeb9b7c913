//! Dead letters: the report lists the updates parked in the last week (so `zabota maintain` and the maintenance
//! Lambda's result show them). It also clears the bookkeeping of failures: failure counts of updates that later
//! went through, old dead letters, handled blocked chats and day-old membership checks.

use super::JobReport;
use crate::app::App;
use crate::db::{operators, outbox, updates};

/// Dead letters listed per report.
const SHOWN: i64 = 20;
/// Days a dead letter is listed.
const SHOWN_DAYS: i32 = 7;

/// Lists the recent dead letters; `affected` is how many there are in the report.
pub async fn report(app: &App) -> JobReport {
    let job = "dead_letters";
    let result = async {
        let client = app.db.get().await?;
        updates::prune(&client).await?;
        outbox::prune_handled_blocked(&client).await?;
        operators::prune_checks(&client).await?;
        let letters = updates::recent_dead_letters(&client, SHOWN_DAYS, SHOWN).await?;
        anyhow::Ok(letters)
    }
    .await;
    match result {
        Ok(letters) => {
            for letter in &letters {
                tracing::warn!(update_id = letter.update_id, kind = %letter.kind, error = %letter.error, "dead letter");
            }
            let details = (!letters.is_empty()).then(|| serde_json::to_value(&letters).unwrap_or_default());
            JobReport { job, affected: Some(letters.len() as u64), error: None, out_of_time: false, details }
        }
        Err(e) => JobReport { job, affected: None, error: Some(format!("{e:#}")), out_of_time: false, details: None },
    }
}
