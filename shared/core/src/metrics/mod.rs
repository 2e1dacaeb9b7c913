//! The desk's figures. Gauges are the desk's state, read from PostgreSQL when asked (every execution shares it):
//! what waits in the outbox and for how long, and the tickets waiting and in dialogs. Counters
//! ([`counters`]) are what this process did. `zabota serve` serves both at `GET /metrics` in Prometheus' text
//! format; the Lambdas write them as EMF lines ([`emf`]).

use std::fmt::Write as _;

pub mod counters;
pub mod emf;

use crate::db::{DbError, Sql};

/// The desk's gauges at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gauges {
    /// Bot API calls waiting in the outbox.
    pub outbox_pending: i64,
    /// How long the oldest of them has waited, in seconds (0 when none).
    pub outbox_oldest_pending_s: f64,
    /// Tickets waiting for an operator.
    pub tickets_waiting: i64,
    /// How long the longest-waiting ticket has waited, in seconds (0 when none).
    pub tickets_oldest_wait_s: f64,
    /// Tickets in a dialog with an operator.
    pub tickets_assigned: i64,
}

const GAUGES: &str = "SELECT \
      (SELECT count(*) FROM outbox WHERE status = 'pending'), \
      coalesce((SELECT extract(epoch FROM now() - min(created_at)) FROM outbox WHERE status = 'pending'), 0)::float8, \
      (SELECT count(*) FROM tickets WHERE status = 'WAITING'), \
      coalesce((SELECT extract(epoch FROM now() - min(queued_at)) FROM tickets WHERE status = 'WAITING'), 0)::float8, \
      (SELECT count(*) FROM tickets WHERE status = 'ASSIGNED')";

impl Gauges {
    /// Reads them, in one statement.
    pub async fn read(db: &impl Sql) -> Result<Gauges, DbError> {
        let row = db.query_one(GAUGES, &[]).await?;
        Ok(Gauges {
            outbox_pending: row.try_get(0)?,
            outbox_oldest_pending_s: row.try_get(1)?,
            tickets_waiting: row.try_get(2)?,
            tickets_oldest_wait_s: row.try_get(3)?,
            tickets_assigned: row.try_get(4)?,
        })
    }

    /// The Prometheus text exposition (version 0.0.4) of the gauges.
    pub fn prometheus(&self) -> String {
        let gauges: [(&str, &str, f64); 5] = [
            ("zabota_outbox_pending", "Bot API calls waiting in the outbox.", self.outbox_pending as f64),
            (
                "zabota_outbox_oldest_pending_seconds",
                "Age of the oldest Bot API call waiting in the outbox.",
                self.outbox_oldest_pending_s,
            ),
            ("zabota_tickets_waiting", "Tickets waiting for an operator.", self.tickets_waiting as f64),
            (
                "zabota_tickets_oldest_wait_seconds",
                "How long the longest-waiting ticket has waited.",
                self.tickets_oldest_wait_s,
            ),
            ("zabota_tickets_assigned", "Tickets in a dialog with an operator.", self.tickets_assigned as f64),
        ];
        let mut text = String::new();
        for (name, help, value) in gauges {
            // Writing to a String cannot fail.
            let _ = write!(text, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
        }
        text
    }
}
