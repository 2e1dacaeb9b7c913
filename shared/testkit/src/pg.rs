//! A fresh PostgreSQL database per test, migrated by the production runner and dropped afterwards.

use secrecy::SecretString;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use zabota_core::config::DatabaseConfig;
use zabota_core::db::{self, Pool};

/// The server tests create their databases on. `make test` starts one and sets it.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

const HINT: &str = "Tests need a PostgreSQL server. Run them with `make test` (it starts a throwaway cluster from \
    the installed PostgreSQL binaries), or start one with `infra/with-test-services.sh cargo test`, or set \
    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to a server where that user may CREATE DATABASE.";

/// A database that exists for one test.
pub struct TestDb {
    /// Its name, `test_<uuid>`.
    pub name: String,
    /// Connection settings for it, as the app takes them.
    pub config: DatabaseConfig,
    /// Its URL.
    pub url: String,
    admin_url: String,
}

/// Replaces the database name in a `postgres://` URL.
pub fn with_dbname(url: &str, dbname: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{dbname}?{q}"),
        None => format!("{host_part}/{dbname}"),
    }
}

impl TestDb {
    /// Creates and migrates a new database. Panics with instructions when no server is reachable:
    /// a missing database is a failure, never a skip.
    pub async fn new() -> TestDb {
        TestDb::ending_in("").await
    }

    /// As [`new`](Self::new), with a name ending in `suffix` (the sandbox only takes a database named
    /// `…_sandbox`).
    pub async fn ending_in(suffix: &str) -> TestDb {
        let admin_url = match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => panic!("{TEST_DATABASE_URL} is not set. {HINT}"),
        };
        TestDb::on_named(&admin_url, suffix).await
    }

    /// A fresh, migrated database on the server of `admin_url` (e.g. a test's own [`crate::Cluster`]).
    pub async fn on(admin_url: &str) -> TestDb {
        TestDb::on_named(admin_url, "").await
    }

    async fn on_named(admin_url: &str, suffix: &str) -> TestDb {
        let admin_url = admin_url.to_owned();
        let admin =
            DatabaseConfig { url: SecretString::from(admin_url.clone()), ca_file: None, allow_plaintext: false };
        let client =
            db::connect(&admin).await.unwrap_or_else(|e| panic!("cannot connect to {TEST_DATABASE_URL} ({e}). {HINT}"));
        let name = format!("test_{}{suffix}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}. {HINT}"));
        let url = with_dbname(&admin_url, &name);
        let config = DatabaseConfig { url: SecretString::from(url.clone()), ca_file: None, allow_plaintext: false };
        let mut client = db::connect(&config).await.unwrap_or_else(|e| panic!("cannot connect to {name}: {e}"));
        db::migrate(&mut client).await.unwrap_or_else(|e| panic!("migrations failed on {name}: {e}"));
        TestDb { name, config, url, admin_url }
    }

    /// A pool over this database.
    pub fn pool(&self, size: usize) -> Pool {
        db::build_pool(&self.config, size).unwrap_or_else(|e| panic!("pool for {}: {e}", self.name))
    }

    /// A dedicated connection, for assertions.
    pub async fn client(&self) -> tokio_postgres::Client {
        db::connect(&self.config).await.unwrap_or_else(|e| panic!("connect to {}: {e}", self.name))
    }

    /// Runs `sql` (one or more statements without parameters), for a test's set-up.
    pub async fn execute(&self, sql: &str) {
        self.client().await.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The one row `sql` returns (fails the test otherwise).
    pub async fn row(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Row {
        self.client().await.query_one(sql, params).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every row `sql` returns.
    pub async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Vec<Row> {
        self.client().await.query(sql, params).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `SELECT count(*) FROM <table> [WHERE ...]`.
    pub async fn count(&self, table_and_filter: &str) -> i64 {
        let client = self.client().await;
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table_and_filter}"), &[])
            .await
            .unwrap_or_else(|e| panic!("count {table_and_filter}: {e}"));
        row.get(0)
    }
}

/// Takes one of the app's advisory locks in a transaction of the test's own and holds it until that transaction
/// ends: something stuck elsewhere. `scope` is the lock's prefix: `conv` (a person's conversation) or `outbox`
/// (a chat's queue of Bot API calls); `id` the Telegram id.
pub async fn hold_lock<'c>(
    client: &'c mut tokio_postgres::Client,
    scope: &str,
    id: i64,
) -> tokio_postgres::Transaction<'c> {
    let holding = client.transaction().await.unwrap_or_else(|e| panic!("begin: {e}"));
    holding
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::bigint::text, 0))",
            &[&scope, &id],
        )
        .await
        .unwrap_or_else(|e| panic!("lock {scope}:{id}: {e}"));
    holding
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; do the async work on a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin =
                    DatabaseConfig { url: SecretString::from(admin_url), ca_file: None, allow_plaintext: false };
                let client = db::connect(&admin).await.ok()?;
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: test database {} was not dropped", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(with_dbname("postgres://u@h:5/postgres", "t1"), "postgres://u@h:5/t1");
        assert_eq!(
            with_dbname("postgres://u@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5/t1?sslmode=disable"
        );
        assert_eq!(with_dbname("postgres://u@h:5", "t1"), "postgres://u@h:5/t1");
    }
}
