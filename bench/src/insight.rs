//! `/stats 30d` on a large history: 100 000 tickets and 1 000 000 messages over the last 30 days (20 000
//! customers, 20 operators, a third of the tickets rated), built in SQL; the figures' statement timed warm, and the
//! export of the whole period streamed to nowhere (tickets per second, the process's peak memory after it).

use std::time::Instant;

use serde_json::{Value, json};
use zabota_core::history::export::{ExportRange, export};
use zabota_core::stats::{self, Period};
use zabota_testkit::TestDb;

/// How many tickets and messages per ticket the history holds.
pub const TICKETS: i64 = 100_000;
const MESSAGES_PER_TICKET: i64 = 10;

/// (The lateral subquery refers to `g` so that it is drawn again for every ticket: without that, PostgreSQL draws
/// it once, and every ticket would open at the same moment.)
const FILL: &str = "
INSERT INTO users (tg_id, first_name) SELECT 100000 + g, 'Клиент' FROM generate_series(1, 20000) g;
INSERT INTO users (tg_id, username, first_name) SELECT 900000 + g, 'op' || g, 'Оператор' FROM generate_series(1, 20) g;
INSERT INTO tickets (user_id, topic, phone, status, operator_tg_id, created_at, queued_at, assigned_at,
                     first_assigned_at, first_reply_at, operator_reply_at, closed_at, close_reason)
SELECT u.id, (ARRAY['warranty', 'return', 'other'])[g % 3 + 1], '+7916' || lpad((g % 10000000)::text, 7, '0'),
       'CLOSED', 900001 + g % 20, s.c, s.c, s.c + s.a, s.c + s.a, s.c + s.a + s.r, s.c + s.a + s.r,
       s.c + s.a + s.r + s.d,
       (ARRAY['operator', 'operator', 'operator', 'idle', 'supervisor', 'cancelled'])[g % 6 + 1]
  FROM generate_series(1, $TICKETS) g
  CROSS JOIN LATERAL (SELECT now() - random() * interval '30 days' + g * interval '0' AS c, random() * interval '20 minutes' AS a,
                             random() * interval '5 minutes' AS r, random() * interval '2 hours' AS d) s
  JOIN users u ON u.tg_id = 100000 + 1 + g % 20000;
INSERT INTO ticket_messages (ticket_id, sender_type, sender_tg_id, content_type, message_text, source_chat_id,
                             source_message_id, delivered_chat_id, delivered_message_id, created_at)
SELECT t.id, CASE WHEN k % 2 = 0 THEN 'OPERATOR' ELSE 'USER' END, t.operator_tg_id, 'text',
       'Сообщение номер ' || k, t.id, k, t.operator_tg_id, k, t.created_at + k * interval '30 seconds'
  FROM tickets t CROSS JOIN generate_series(1, $MESSAGES) k;
INSERT INTO ticket_ratings (ticket_id, score, operator_tg_id, rated_at)
SELECT id, 1 + id % 5, operator_tg_id, closed_at FROM tickets WHERE id % 3 = 0;
ANALYZE;
";

/// V18's indexes built again: what its migration blocks writes for.
const V18_INDEXES: &str = "DROP INDEX ix_tickets_created, ix_tickets_phone, ix_users_username; \
     CREATE INDEX ix_tickets_created ON tickets (created_at); CREATE INDEX ix_tickets_phone ON tickets (phone); \
     CREATE INDEX ix_users_username ON users (lower(username))";

/// Builds the history in a database of its own and measures.
pub async fn run() -> anyhow::Result<Value> {
    let db = TestDb::new().await;
    let started = Instant::now();
    let fill = FILL.replace("$TICKETS", &TICKETS.to_string()).replace("$MESSAGES", &MESSAGES_PER_TICKET.to_string());
    db.client().await.batch_execute(&fill).await?;
    let built_s = started.elapsed().as_secs_f64();
    // How long V18's plain CREATE INDEX statements hold writes to tickets and users on this history.
    let t = Instant::now();
    db.client().await.batch_execute(V18_INDEXES).await?;
    let v18_indexes_ms = t.elapsed().as_secs_f64() * 1000.0;
    let pool = db.pool(1);
    let client = pool.get().await?;
    let tz: chrono_tz::Tz = "Europe/Moscow".parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut runs_ms = Vec::new();
    let mut opened = 0;
    for _ in 0..6 {
        let t = Instant::now();
        let figures = stats::figures(&*client, Period { days: 30 }, chrono::Utc::now(), tz).await?;
        runs_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        opened = figures.opened;
    }
    // The first run reads the pages into the cache; the figure is the warm ones' median.
    let mut warm = runs_ms[1..].to_vec();
    warm.sort_by(f64::total_cmp);
    let median = warm[warm.len() / 2];
    // The pool has one connection: the export takes it.
    drop(client);
    let now = chrono::Utc::now();
    let range = ExportRange { since: now - chrono::Duration::days(31), until: now, ticket: None };
    let t = Instant::now();
    let exported = export(&pool, range, &mut tokio::io::sink()).await?;
    let export_s = t.elapsed().as_secs_f64();
    Ok(json!({
        "tickets": TICKETS,
        "messages": TICKETS * MESSAGES_PER_TICKET,
        "built_s": built_s,
        "opened_in_period": opened,
        "stats_30d_ms": median,
        "stats_30d_cold_ms": runs_ms[0],
        "v18_indexes_ms": v18_indexes_ms,
        "export_tickets": exported,
        "export_tickets_per_s": exported as f64 / export_s,
        "bench_process_peak_rss_kib_after_export": crate::probes::peak_rss_kib(),
    }))
}
