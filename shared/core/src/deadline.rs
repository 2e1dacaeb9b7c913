//! Time budgets inside a Lambda invocation: work stops at its own budget, or earlier when the invocation's deadline
//! (from the Runtime API) would not leave a margin for answering.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When work must stop: `budget` from now, or `margin` before the invocation's deadline (milliseconds since the
/// epoch) when that comes sooner. No deadline (a local process) means the budget alone; a deadline already past
/// means now.
pub fn within(invocation_deadline_ms: Option<u64>, margin: Duration, budget: Duration) -> Instant {
    let budget = match invocation_deadline_ms {
        None => budget,
        Some(deadline) => {
            let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            let left = Duration::from_millis(deadline).saturating_sub(since_epoch);
            left.saturating_sub(margin).min(budget)
        }
    };
    Instant::now() + budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_stops_a_margin_before_the_invocation_deadline_or_at_its_budget() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let (margin, budget) = (Duration::from_secs(5), Duration::from_secs(10));
        let left = |deadline| within(deadline, margin, budget).saturating_duration_since(Instant::now());
        assert!(left(Some(now_ms + 8_000)) <= Duration::from_secs(3), "8 s left, 5 s margin");
        let later = left(Some(now_ms + 60_000));
        assert!(later <= budget && later > budget - Duration::from_secs(1), "{later:?}");
        assert_eq!(left(Some(0)), Duration::ZERO, "a deadline already past");
        assert!(left(None) > budget - Duration::from_secs(1), "no deadline: the budget");
    }
}
