//! What this process did since it started: updates handled by kind and outcome, Bot API 429s and 5xx answers,
//! and the time spent handling updates. Plain atomics, no I/O: the Lambdas take the difference over an invocation
//! for their EMF line (`super::emf`), `zabota serve` exposes the totals at `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The update kinds counted (`Update::kind`).
pub const KINDS: [&str; 5] = ["message", "edited_message", "callback_query", "message_reaction", "other"];

/// How an update ended, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Processed (or ignored as not ours).
    Processed,
    /// A redelivery stopped at its record.
    Duplicate,
    /// Failed: to be delivered again, or parked in dead letters.
    Failed,
}

struct Counters {
    updates: [AtomicU64; KINDS.len()],
    duplicates: AtomicU64,
    failures: AtomicU64,
    bot_api_429: AtomicU64,
    bot_api_5xx: AtomicU64,
    handler_micros: AtomicU64,
}

static COUNTERS: Counters = Counters {
    updates: [const { AtomicU64::new(0) }; KINDS.len()],
    duplicates: AtomicU64::new(0),
    failures: AtomicU64::new(0),
    bot_api_429: AtomicU64::new(0),
    bot_api_5xx: AtomicU64::new(0),
    handler_micros: AtomicU64::new(0),
};

/// Counts an update of `kind` that ended so after `took`.
pub fn update_handled(kind: &str, ended: Ended, took: Duration) {
    let slot = KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len() - 1);
    COUNTERS.updates[slot].fetch_add(1, Ordering::Relaxed);
    match ended {
        Ended::Processed => {}
        Ended::Duplicate => {
            COUNTERS.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        Ended::Failed => {
            COUNTERS.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    COUNTERS.handler_micros.fetch_add(micros, Ordering::Relaxed);
}

/// Counts a Bot API answer with HTTP `status` (429s and 5xx are what is counted).
pub fn bot_api_answered(status: u16) {
    match status {
        429 => COUNTERS.bot_api_429.fetch_add(1, Ordering::Relaxed),
        500.. => COUNTERS.bot_api_5xx.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Updates handled, by [`KINDS`].
    pub updates: [u64; KINDS.len()],
    /// Of them, redeliveries stopped at their record.
    pub duplicates: u64,
    /// Of them, failures.
    pub failures: u64,
    /// Bot API 429 answers.
    pub bot_api_429: u64,
    /// Bot API 5xx answers.
    pub bot_api_5xx: u64,
    /// Time spent handling updates, microseconds.
    pub handler_micros: u64,
}

impl Snapshot {
    /// The counters now.
    pub fn now() -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            updates: std::array::from_fn(|i| get(&COUNTERS.updates[i])),
            duplicates: get(&COUNTERS.duplicates),
            failures: get(&COUNTERS.failures),
            bot_api_429: get(&COUNTERS.bot_api_429),
            bot_api_5xx: get(&COUNTERS.bot_api_5xx),
            handler_micros: get(&COUNTERS.handler_micros),
        }
    }

    /// What was counted between `earlier` and this.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            updates: std::array::from_fn(|i| self.updates[i].saturating_sub(earlier.updates[i])),
            duplicates: self.duplicates.saturating_sub(earlier.duplicates),
            failures: self.failures.saturating_sub(earlier.failures),
            bot_api_429: self.bot_api_429.saturating_sub(earlier.bot_api_429),
            bot_api_5xx: self.bot_api_5xx.saturating_sub(earlier.bot_api_5xx),
            handler_micros: self.handler_micros.saturating_sub(earlier.handler_micros),
        }
    }

    /// Updates of every kind.
    pub fn total_updates(&self) -> u64 {
        self.updates.iter().sum()
    }

    /// The Prometheus text exposition of the counters.
    pub fn prometheus(&self) -> String {
        use std::fmt::Write as _;
        let mut text = String::from(
            "# HELP zabota_updates_total Updates handled by this process, by kind.\n# TYPE zabota_updates_total counter\n",
        );
        for (kind, n) in KINDS.iter().zip(self.updates) {
            let _ = writeln!(text, "zabota_updates_total{{kind=\"{kind}\"}} {n}");
        }
        let counters = [
            ("zabota_duplicate_updates_total", "Redelivered updates stopped at their record.", self.duplicates),
            ("zabota_failed_updates_total", "Updates that failed (redelivered or parked).", self.failures),
            ("zabota_bot_api_429_total", "Bot API answers 429 Too Many Requests.", self.bot_api_429),
            ("zabota_bot_api_5xx_total", "Bot API answers 5xx.", self.bot_api_5xx),
        ];
        for (name, help, n) in counters {
            let _ = write!(text, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {n}\n");
        }
        let seconds = self.handler_micros as f64 / 1e6;
        let _ = write!(
            text,
            "# HELP zabota_handler_seconds_total Time spent handling updates.\n\
             # TYPE zabota_handler_seconds_total counter\nzabota_handler_seconds_total {seconds}\n"
        );
        text
    }
}
