//! The sandbox's own database beside the real one, and the two things done to it as a whole: a reset and a jump
//! in time.

use anyhow::Context;
use zabota_core::App;

/// The migration runner's history: kept by a reset, never moved in time.
const MIGRATION_HISTORY: &str = "refinery_schema_history";

/// `SANDBOX_DATABASE_URL`, or `DATABASE_URL` with `_sandbox` appended to its database name (`zabota_sandbox` when
/// it names none): the sandbox never writes into the desk's real history.
pub fn url(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    if let Some(url) = get("SANDBOX_DATABASE_URL") {
        return Ok(url);
    }
    let url = get("DATABASE_URL").context(
        "the sandbox needs a PostgreSQL server: set DATABASE_URL (it uses a database of its own beside it) or \
         SANDBOX_DATABASE_URL, or run `make sandbox`, which starts one under .data/",
    )?;
    beside(&url).context(
        "DATABASE_URL is not a postgres:// URL, so the sandbox cannot name a database beside it: set \
         SANDBOX_DATABASE_URL",
    )
}

/// The URL of database `<name>_sandbox` on the server of `url` (a `postgres://` or `postgresql://` URL).
fn beside(url: &str) -> Option<String> {
    let rest = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))?;
    let scheme = &url[..url.len() - rest.len()];
    let (base, query) = rest.split_once('?').map_or((rest, None), |(b, q)| (b, Some(q)));
    let host_start = base.rfind('@').map_or(0, |at| at + 1);
    let (authority, name) = match base[host_start..].find('/') {
        Some(slash) => base.split_at(host_start + slash),
        None => (base, ""),
    };
    let name = name.trim_start_matches('/');
    let sandbox = if name.is_empty() { "zabota_sandbox".to_owned() } else { format!("{name}_sandbox") };
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{scheme}{authority}/{sandbox}{query}"))
}

/// The database name in a URL made by [`beside`] or given as `SANDBOX_DATABASE_URL`.
fn name_of(url: &str) -> Option<String> {
    let config: tokio_postgres::Config = url.parse().ok()?;
    config.get_dbname().map(str::to_owned)
}

/// Creates the sandbox database on the server of `server` (a connection to any of its databases) if missing.
pub async fn ensure(server: &zabota_core::config::DatabaseConfig, url: &str) -> anyhow::Result<()> {
    let name = name_of(url).context("SANDBOX_DATABASE_URL names no database")?;
    let client = zabota_core::db::connect(server).await.context("connecting to the database server")?;
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
            .with_context(|| format!("creating the sandbox's database {quoted} (or set SANDBOX_DATABASE_URL)"))?;
        tracing::info!(database = name, "sandbox database created");
    }
    Ok(())
}

/// Every table of the schema but the migration history, quoted.
async fn tables(client: &tokio_postgres::Client) -> anyhow::Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT quote_ident(table_name) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> $1
             ORDER BY table_name",
            &[&MIGRATION_HISTORY],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Empties every table (the schema stays): a desk that has never seen anyone.
pub async fn reset(app: &App) -> anyhow::Result<()> {
    let client = app.db.get().await?;
    let tables = tables(&client).await?;
    if !tables.is_empty() {
        client.batch_execute(&format!("TRUNCATE {} RESTART IDENTITY CASCADE", tables.join(", "))).await?;
    }
    Ok(())
}

/// Moves every stored moment `hours` into the past, in one transaction: to the desk, that much time has passed
/// since anything happened (the next maintenance run sees idle dialogs, old tickets, due reminders).
pub async fn fast_forward(app: &App, hours: u32) -> anyhow::Result<u64> {
    let mut client = app.db.get().await?;
    let columns = client
        .query(
            "SELECT quote_ident(c.table_name), quote_ident(c.column_name)
             FROM information_schema.columns c
             JOIN information_schema.tables t USING (table_schema, table_name)
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> $1
               AND c.data_type IN ('timestamp with time zone', 'timestamp without time zone', 'date')
             ORDER BY 1, 2",
            &[&MIGRATION_HISTORY],
        )
        .await?;
    let mut by_table: Vec<(String, Vec<String>)> = Vec::new();
    for row in &columns {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        match by_table.last_mut() {
            Some((last, list)) if *last == table => list.push(column),
            _ => by_table.push((table, vec![column])),
        }
    }
    let transaction = client.transaction().await?;
    let mut moved = 0;
    for (table, columns) in by_table {
        let sets: Vec<String> = columns.iter().map(|c| format!("{c} = {c} - make_interval(hours => $1)")).collect();
        let sql = format!("UPDATE {table} SET {}", sets.join(", "));
        moved += transaction.execute(&sql, &[&i32::try_from(hours).unwrap_or(i32::MAX)]).await?;
    }
    transaction.commit().await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::beside;

    #[test]
    fn the_sandbox_database_is_beside_the_real_one() {
        let cases = [
            ("postgres://postgres@127.0.0.1:54329/zabota", "postgres://postgres@127.0.0.1:54329/zabota_sandbox"),
            (
                "postgresql://u:p%2Fw@db:5432/care?sslmode=require",
                "postgresql://u:p%2Fw@db:5432/care_sandbox?sslmode=require",
            ),
            ("postgres://u@db", "postgres://u@db/zabota_sandbox"),
            ("postgres://u@db/?sslmode=disable", "postgres://u@db/zabota_sandbox?sslmode=disable"),
        ];
        for (url, expected) in cases {
            assert_eq!(beside(url).as_deref(), Some(expected), "{url}");
        }
        assert_eq!(beside("host=db dbname=care"), None);
    }
}
