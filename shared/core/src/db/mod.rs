//! PostgreSQL: connections (TLS when asked), the migration runner, and one file of free functions per table.

mod connect;
pub mod messages;
mod migrate;
mod sql;
pub mod tickets;
pub mod updates;
pub mod users;

pub use connect::{Pool, build_pool, connect, pg_config};
pub use migrate::{MIGRATION_LOCK_KEY, migrate};
pub use sql::{Params, Sql, Tx};

/// A database failure. Messages never include the password.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection string or TLS settings are unusable.
    #[error("database configuration: {0}")]
    Config(String),
    /// PostgreSQL or the connection failed.
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No pooled connection could be had.
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(String),
}

/// True when `e` says the connection is gone (closed, or the server ended the session: 57P01 admin shutdown,
/// 57P02 crash shutdown): the work can be retried on a new connection if nothing was committed.
pub fn connection_lost(e: &tokio_postgres::Error) -> bool {
    e.is_closed() || e.code().is_some_and(|code| code.code().starts_with("57P"))
}

/// `s` as PostgreSQL `text` can hold it: U+0000 (which Telegram may pass through, and `text` rejects) becomes
/// U+FFFD. Without this, one such message would fail its update forever (a 500 on every redelivery).
pub fn pg_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') { std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}")) } else { std::borrow::Cow::Borrowed(s) }
}

/// [`pg_text`] of an optional string.
pub fn pg_text_opt(s: Option<&str>) -> Option<std::borrow::Cow<'_, str>> {
    s.map(pg_text)
}
