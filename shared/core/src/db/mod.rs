//! PostgreSQL: connections (TLS when asked), the migration runner, and one file of free functions per table.

pub(crate) mod albums;
pub(crate) mod bans;
pub(crate) mod boards;
pub(crate) mod budgets;
pub mod cards;
mod connect;
pub mod due;
pub mod edits;
pub mod handovers;
pub mod history;
pub mod media;
pub mod messages;
mod migrate;
pub mod operators;
pub mod outbox;
pub mod ratings;
pub mod retention;
pub(crate) mod settings;
mod sql;
mod text;
pub mod tickets;
pub mod updates;
pub mod users;

pub use connect::{Pool, build_pool, connect, pg_config};
pub use migrate::migrate;
pub(crate) use sql::Params;
pub use sql::{Sql, Tx};

/// The statements every pooled connection prepares as it opens, in one round trip (the pool's `post_create`
/// hook): those of every update and of the outbox, and every statement that is pipelined with others. A
/// statement pipelined (awaited together with others, or with COMMIT) must be prepared before: one prepared on
/// first use would be overtaken by the statements after it. Others are prepared on first use and cached.
fn prepared() -> impl Iterator<Item = &'static str> {
    [
        updates::PREPARED,
        users::PREPARED,
        tickets::PREPARED,
        cards::PREPARED,
        handovers::PREPARED,
        messages::PREPARED,
        outbox::PREPARED,
        budgets::PREPARED,
        boards::PREPARED,
        bans::PREPARED,
        ratings::PREPARED,
        history::PREPARED,
        albums::PREPARED,
        media::PREPARED,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// Prepares [`prepared`] on `client`, into its statement cache.
pub(crate) async fn prepare_statements(client: &deadpool_postgres::ClientWrapper) -> Result<(), tokio_postgres::Error> {
    futures_util::future::try_join_all(prepared().map(|sql| client.prepare_cached(sql))).await?;
    Ok(())
}

/// How many statements a pooled connection prepares as it opens (its statement cache holds these and whatever
/// it prepared on first use since).
pub fn prepared_count() -> usize {
    prepared().collect::<std::collections::HashSet<_>>().len()
}

/// A database failure. Messages never include the password, and never row values: a server error shows as its
/// SQLSTATE, condition and the constraint, table and column it names (see [`describe`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection string or TLS settings are unusable.
    #[error("database configuration: {0}")]
    Config(String),
    /// PostgreSQL or the connection failed.
    #[error("database: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No pooled connection could be had.
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(String),
}

impl DbError {
    /// Worth trying again. Only what the same work would surely meet again is not: bad data (SQLSTATE class 22, or
    /// a stored value this version does not know), a broken constraint (23), unusable settings. Everything else
    /// (connection, pool, timeouts, deadlocks, shutdowns, and errors of the set-up such as a missing table) is
    /// retried, so a system-wide trouble never looks like a bad update.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Postgres(e) => is_transient(e),
            DbError::Pool(_) => true,
            DbError::Config(_) | DbError::Migration(_) => false,
        }
    }
}

/// See [`DbError::is_transient`].
pub fn is_transient(e: &tokio_postgres::Error) -> bool {
    if std::error::Error::source(e).is_some_and(|cause| cause.is::<text::UnknownValue>()) {
        // A row this version cannot read: it will not read it next time either.
        return false;
    }
    e.code().is_none_or(|code| !(code.code().starts_with("22") || code.code().starts_with("23")))
}

/// A server error as its SQLSTATE, severity-free condition and the names it points at: the server's message
/// and DETAIL can quote row values (a key that already exists, a failing row), so they are left out.
pub fn describe(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        // A client-side error (a value that did not convert, a closed connection): its cause says which.
        return match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
    };
    let mut text = format!("SQLSTATE {}", db.code().code());
    let names = [("constraint", db.constraint()), ("table", db.table()), ("column", db.column())];
    for (what, name) in names {
        if let Some(name) = name {
            text.push_str(&format!(" {what} {name}"));
        }
    }
    text
}

/// True when `e` says the connection is gone (closed, or the server ended the session: 57P01 admin shutdown,
/// 57P02 crash shutdown): the work can be retried on a new connection if nothing was committed.
pub(crate) fn connection_lost(e: &tokio_postgres::Error) -> bool {
    e.is_closed() || e.code().is_some_and(|code| code.code().starts_with("57P"))
}

/// `s` as PostgreSQL `text` can hold it: U+0000 (which Telegram may pass through, and `text` rejects) becomes
/// U+FFFD. Without this, one such message would fail its update forever (a 500 on every redelivery).
pub(crate) fn pg_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') { std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}")) } else { std::borrow::Cow::Borrowed(s) }
}

/// [`pg_text`] of an optional string.
pub(crate) fn pg_text_opt(s: Option<&str>) -> Option<std::borrow::Cow<'_, str>> {
    s.map(pg_text)
}
