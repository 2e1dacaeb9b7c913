//! The ceiling: pgbench on the same machine and database, running the statements one proxied message needs
//! (its one transaction: the update, the relay and the outbox send), prepared, at the same concurrency, without
//! the Bot API call, the JSON, or the pipelining we do.

use std::time::Duration;

use anyhow::Context;
use zabota_testkit::TestDb;

const SCRIPT: &str = r"
SELECT tg, ticket, operator FROM bench_map WHERE client_id = :client_id % (SELECT count(*) FROM bench_map) \gset
BEGIN;
INSERT INTO processed_updates (update_id, kind) VALUES (nextval('bench_seq'), 'message') ON CONFLICT (update_id) DO NOTHING;
SELECT pg_advisory_xact_lock(hashtextextended('conv:' || :tg::bigint::text, 0));
WITH up AS (INSERT INTO users (tg_id, username, first_name, last_name, language_code) VALUES (:tg, 'customer', 'Иван', 'Петров', 'ru') ON CONFLICT (tg_id) DO UPDATE SET username = EXCLUDED.username, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, language_code = EXCLUDED.language_code, updated_at = now() WHERE (users.username, users.first_name, users.last_name, users.language_code) IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.language_code) RETURNING id, tg_id, phone, dialog_state, dialog_topic) SELECT * FROM up UNION ALL SELECT id, tg_id, phone, dialog_state, dialog_topic FROM users WHERE tg_id = :tg AND NOT EXISTS (SELECT FROM up);
SELECT t.id, t.user_id, u.tg_id, t.topic, t.phone, t.status, t.operator_tg_id, t.operator_message_id, t.card_chat_id, t.card_message_id, (t.operator_tg_id = :tg AND t.status = 'ASSIGNED') AS as_operator, (u.tg_id = :tg AND t.status <> 'CLOSED') AS as_customer FROM tickets t JOIN users u ON u.id = t.user_id WHERE (t.operator_tg_id = :tg AND t.status = 'ASSIGNED') OR (u.tg_id = :tg AND t.status <> 'CLOSED') ORDER BY t.id FOR UPDATE OF t;
WITH m AS (INSERT INTO ticket_messages (ticket_id, sender_type, sender_tg_id, content_type, message_text, caption, source_chat_id, source_message_id) VALUES (:ticket, 'USER', :tg, 'text', 'Сообщение клиента', NULL, :tg, nextval('bench_seq')) ON CONFLICT (source_chat_id, source_message_id) DO NOTHING RETURNING id), a AS (INSERT INTO message_attachments (message_id, kind, file_id, file_unique_id, mime_type, size, width, height, duration, file_name) SELECT m.id, NULL::text, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::int, NULL::int, NULL::int, NULL::text FROM m WHERE NULL::text IS NOT NULL) SELECT id AS m_id FROM m \gset
UPDATE tickets SET last_activity_at = now(), idle_warned_at = NULL WHERE id = :ticket;
INSERT INTO outbox (chat_id, method, params, on_result) SELECT c, m, p, r FROM unnest(ARRAY[:operator]::bigint[], ARRAY['copyMessage']::text[], ARRAY['{}']::jsonb[], ARRAY['{}']::jsonb[]) WITH ORDINALITY AS v(c, m, p, r, n) ORDER BY n;
SELECT pg_try_advisory_xact_lock(hashtextextended('outbox:' || :operator::bigint::text, 0));
SELECT id AS o_id, method, params, on_result, not_before <= now() AS due, attempts, created_at < now() - make_interval(secs => 86400) AS too_old FROM outbox WHERE chat_id = :operator AND status = 'pending' ORDER BY id LIMIT 20 \aset
UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = ANY(ARRAY[:o_id]::bigint[]);
UPDATE ticket_messages m SET delivered_chat_id = :operator, delivered_message_id = v.mid FROM unnest(ARRAY[:m_id]::bigint[], ARRAY[1]::bigint[]) AS v(id, mid) WHERE m.id = v.id;
COMMIT;
";

fn pgbench_binary() -> Option<std::path::PathBuf> {
    let mut candidates: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).map(|d| d.path().join("bin/pgbench")).collect())
        .unwrap_or_default();
    candidates.sort();
    candidates.into_iter().rev().find(|p| p.exists()).or_else(|| {
        let on_path = std::process::Command::new("pgbench").arg("--version").output().ok()?;
        on_path.status.success().then(|| "pgbench".into())
    })
}

/// Transactions per second pgbench reaches with the proxied-message script; one script run = one message.
pub async fn run(db: &TestDb, clients: usize, duration: Duration) -> anyhow::Result<f64> {
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE SEQUENCE IF NOT EXISTS bench_seq START 1000000000; \
             CREATE TABLE bench_map AS SELECT (row_number() OVER (ORDER BY t.id) - 1)::int AS client_id, \
               u.tg_id AS tg, t.id AS ticket, t.operator_tg_id AS operator \
             FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.status = 'ASSIGNED'",
        )
        .await?;
    let script = std::env::temp_dir().join(format!("zabota-pgbench-{}.sql", std::process::id()));
    std::fs::write(&script, SCRIPT)?;
    let binary = pgbench_binary().context("pgbench not found (it ships with the PostgreSQL server packages)")?;
    eprintln!("bench: pgbench for {} s ...", duration.as_secs());
    let output = tokio::process::Command::new(binary)
        .args(["-n", "-M", "prepared", "-j", "2", "-c", &clients.to_string(), "-T", &duration.as_secs().to_string()])
        .arg("-f")
        .arg(&script)
        .arg(&db.url)
        .output()
        .await?;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(output.status.success(), "pgbench failed: {}{}", stdout, String::from_utf8_lossy(&output.stderr));
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse::<f64>().ok())
        .context("no tps line in pgbench's output")
}
