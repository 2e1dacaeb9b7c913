//! The sandbox's own database beside the real one, and the two things done to it as a whole: a reset and a jump
//! in time.

use std::path::PathBuf;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use zabota_core::App;
use zabota_core::config::DatabaseConfig;

/// The migration runner's history: kept by a reset, never moved in time.
const MIGRATION_HISTORY: &str = "refinery_schema_history";

/// What a sandbox database's name ends in: every start empties it, so a real desk's database cannot be named by
/// mistake.
pub const NAME_SUFFIX: &str = "_sandbox";

/// Where the sandbox's database is.
pub struct Target {
    /// A database on the server to create the sandbox's on (the configured one, or the sandbox's own).
    pub server: DatabaseConfig,
    /// The sandbox's database, with the configured TLS settings.
    pub sandbox: DatabaseConfig,
    /// Its name.
    pub name: String,
}

/// `SANDBOX_DATABASE_URL`, or the configured database (`DATABASE_URL` or the `POSTGRES_*` variables) with
/// `_sandbox` appended to its name: the sandbox never writes into the desk's real history.
pub fn target(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Target> {
    let configured = DatabaseConfig::from_lookup(get);
    let url = match (get("SANDBOX_DATABASE_URL"), &configured) {
        (Some(url), _) => url,
        (None, Ok(config)) => beside(config.url.expose_secret()).context("the configured database cannot be parsed")?,
        (None, Err(_)) => anyhow::bail!(
            "the sandbox needs a PostgreSQL server: set DATABASE_URL (or POSTGRES_HOST…; it uses a database of its own \
             beside the configured one) or SANDBOX_DATABASE_URL, or run `make sandbox`, which starts one under .data/"
        ),
    };
    let name = name_of(&url).context("SANDBOX_DATABASE_URL names no database")?;
    anyhow::ensure!(
        name.ends_with(NAME_SUFFIX),
        "the sandbox empties its database at every start, so it only takes one whose name ends in {NAME_SUFFIX} \
         ({name} does not): leave SANDBOX_DATABASE_URL unset, or name a database such as {name}{NAME_SUFFIX}"
    );
    let sandbox = DatabaseConfig {
        url: SecretString::from(url),
        ca_file: get("DATABASE_CA_FILE").map(PathBuf::from),
        allow_plaintext: configured.as_ref().is_ok_and(|c| c.allow_plaintext),
    };
    let server = configured.unwrap_or_else(|_| sandbox.clone());
    Ok(Target { server, sandbox, name })
}

/// The connection string of database `<name>_sandbox` on the server of `conn`: a `postgres://` URL keeps its
/// form; a key=value string gets a `dbname` of its own (the last one wins). A string naming no database gets
/// the user's name, as libpq does, and `zabota` without a user.
fn beside(conn: &str) -> Option<String> {
    let parsed: tokio_postgres::Config = conn.parse().ok()?;
    let name = parsed.get_dbname().or(parsed.get_user()).filter(|n| !n.is_empty()).unwrap_or("zabota");
    let sandbox = format!("{name}{NAME_SUFFIX}");
    let Some(rest) = conn.strip_prefix("postgres://").or_else(|| conn.strip_prefix("postgresql://")) else {
        let quoted = sandbox.replace('\\', "\\\\").replace('\'', "\\'");
        return Some(format!("{conn} dbname='{quoted}'"));
    };
    let scheme = &conn[..conn.len() - rest.len()];
    let (base, query) = rest.split_once('?').map_or((rest, None), |(b, q)| (b, Some(q)));
    let host_start = base.rfind('@').map_or(0, |at| at + 1);
    let authority = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{scheme}{authority}/{sandbox}{query}"))
}

/// The database name a connection string names.
fn name_of(url: &str) -> Option<String> {
    let config: tokio_postgres::Config = url.parse().ok()?;
    config.get_dbname().map(str::to_owned)
}

/// Creates the sandbox database on `target`'s server if missing.
pub async fn ensure(target: &Target) -> anyhow::Result<()> {
    let client = zabota_core::db::connect(&target.server).await.context("connecting to the database server")?;
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&target.name]).await?.is_some();
    if !exists {
        let quoted = format!("\"{}\"", target.name.replace('"', "\"\""));
        client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
            .with_context(|| format!("creating the sandbox's database {quoted} (or set SANDBOX_DATABASE_URL)"))?;
        tracing::info!(database = target.name, "sandbox database created");
    }
    Ok(())
}

/// The key of the session-level advisory lock one running sandbox holds on its database.
const RUNNING_LOCK: i64 = 0x5a9d_b07a;

/// A connection holding the sandbox's lock on its database: a second sandbox on the same database is refused
/// (it would empty the first one's desk and share its update ids). Dropped with the sandbox, which frees it.
pub async fn hold(target: &Target) -> anyhow::Result<tokio_postgres::Client> {
    let client = zabota_core::db::connect(&target.sandbox).await.context("connecting to the sandbox database")?;
    // A sandbox stopped a moment ago may still be closing its connection: give it a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut held = false;
    while !held {
        held = client.query_one("SELECT pg_try_advisory_lock($1)", &[&RUNNING_LOCK]).await?.get(0);
        if std::time::Instant::now() >= deadline {
            break;
        }
        if !held {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    anyhow::ensure!(
        held,
        "another `zabota sandbox` is running on database {}: stop it first, or give this one another \
         SANDBOX_DATABASE_URL",
        target.name
    );
    Ok(client)
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
    use secrecy::ExposeSecret;

    use super::{beside, target};

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn only_a_database_named_sandbox_is_taken() {
        let refused = target(&lookup(&[("SANDBOX_DATABASE_URL", "postgres://u@db/care")])).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("ends in _sandbox")), "a real desk's database is refused");
        let taken = target(&lookup(&[("SANDBOX_DATABASE_URL", "postgres://u@db/care_sandbox")])).unwrap();
        assert_eq!(taken.name, "care_sandbox");
        assert_eq!(taken.server.url.expose_secret(), "postgres://u@db/care_sandbox", "no other: its own server");
    }

    #[test]
    fn the_postgres_variables_are_a_configured_database_too() {
        let vars = &[("POSTGRES_HOST", "db"), ("POSTGRES_USER", "care"), ("POSTGRES_DB", "shop")];
        let found = target(&lookup(vars)).unwrap();
        assert_eq!(found.name, "shop_sandbox");
        assert!(found.server.url.expose_secret().contains("dbname='shop'"));
        let none = target(&lookup(&[])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(none.contains("make sandbox"), "{none}");
    }

    #[test]
    fn the_sandbox_database_is_beside_the_real_one() {
        let cases = [
            ("postgres://postgres@127.0.0.1:54329/zabota", "postgres://postgres@127.0.0.1:54329/zabota_sandbox"),
            (
                "postgresql://u:p%2Fw@db:5432/care?sslmode=require",
                "postgresql://u:p%2Fw@db:5432/care_sandbox?sslmode=require",
            ),
            ("postgres://u@db", "postgres://u@db/u_sandbox"),
            ("postgres://u@db/?sslmode=disable", "postgres://u@db/u_sandbox?sslmode=disable"),
        ];
        for (url, expected) in cases {
            assert_eq!(beside(url).as_deref(), Some(expected), "{url}");
        }
        assert_eq!(beside("host=db dbname=care").as_deref(), Some("host=db dbname=care dbname='care_sandbox'"));
        assert_eq!(beside("host=db user=olga").as_deref(), Some("host=db user=olga dbname='olga_sandbox'"));
        assert_eq!(beside("not a connection string"), None);
    }
}
