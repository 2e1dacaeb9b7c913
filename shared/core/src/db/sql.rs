//! Running statements with as few round trips as the work allows.
//!
//! - Every statement goes through the connection's prepared-statement cache: after its first use on a
//!   connection it costs one round trip, not two (tokio-postgres prepares a `&str` query on every call).
//! - [`Tx`] is a transaction whose BEGIN is sent together with its first statements, and whose COMMIT can be sent
//!   together with its last ones (see [`Tx::commit_after`]). Statements whose futures are awaited together
//!   (`tokio::join!`) are pipelined: sent at once, answered in order, one round trip in all.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use deadpool_postgres::{ClientWrapper, Object};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row, Statement};

use super::{DbError, Pool};

/// What opens every [`Tx`]: a statement may wait 5 s for a lock (a row, a conversation's or a chat's advisory
/// lock) before it fails with SQLSTATE 55P03, so a stuck lock becomes an error (a webhook 500, and Telegram
/// redelivers) instead of an invocation that hangs until its timeout; a statement may run 15 s (57014 after that).
/// One simple-query message, so the timeouts cost no round trip; `SET LOCAL` ends with
/// the transaction, which keeps it right behind a transaction-mode pooler.
const BEGIN: &str = concat!(
    "BEGIN; SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '15s'; ",
    "SET LOCAL idle_in_transaction_session_timeout = '60s'"
);

/// COMMIT, then the next transaction's BEGIN (see [`Tx::commit_and_begin_after`]).
const COMMIT_BEGIN: &str = concat!(
    "COMMIT; BEGIN; SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '15s'; ",
    "SET LOCAL idle_in_transaction_session_timeout = '60s'"
);

/// Parameters of a statement.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Something statements run on: a pooled connection or a [`Tx`]. Statements are prepared once per connection.
pub trait Sql: Sync {
    /// The prepared statement for `sql`, from the connection's cache (no round trip once cached).
    fn prepare(&self, sql: &str) -> impl Future<Output = Result<Statement, Error>> + Send;
    /// Runs a statement; returns the number of rows it affected.
    fn execute(&self, sql: &str, params: Params<'_>) -> impl Future<Output = Result<u64, Error>> + Send;
    /// Runs a statement; returns its rows.
    fn query(&self, sql: &str, params: Params<'_>) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;

    /// Runs a statement that returns at most one row.
    fn query_opt(&self, sql: &str, params: Params<'_>) -> impl Future<Output = Result<Option<Row>, Error>> + Send {
        async move { Ok(self.query(sql, params).await?.into_iter().next()) }
    }

    /// Runs a statement that returns exactly one row (an error otherwise, as in tokio-postgres).
    fn query_one(&self, sql: &str, params: Params<'_>) -> impl Future<Output = Result<Row, Error>> + Send {
        async move {
            let statement = self.prepare(sql).await?;
            tokio_postgres::Client::query_one(self.client(), &statement, params).await
        }
    }

    /// The connection underneath.
    fn client(&self) -> &ClientWrapper;
}

impl Sql for ClientWrapper {
    async fn prepare(&self, sql: &str) -> Result<Statement, Error> {
        self.prepare_cached(sql).await
    }

    async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let statement = self.prepare_cached(sql).await?;
        tokio_postgres::Client::execute(self, &statement, params).await
    }

    async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let statement = self.prepare_cached(sql).await?;
        tokio_postgres::Client::query(self, &statement, params).await
    }

    fn client(&self) -> &ClientWrapper {
        self
    }
}

impl Sql for Object {
    fn prepare(&self, sql: &str) -> impl Future<Output = Result<Statement, Error>> + Send {
        Sql::prepare(&**self, sql)
    }

    fn execute(&self, sql: &str, params: Params<'_>) -> impl Future<Output = Result<u64, Error>> + Send {
        Sql::execute(&**self, sql, params)
    }

    fn query(&self, sql: &str, params: Params<'_>) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        Sql::query(&**self, sql, params)
    }

    fn client(&self) -> &ClientWrapper {
        self
    }
}

/// A transaction on a pooled connection. BEGIN goes out with the first statement; a `Tx` dropped before it was
/// committed or rolled back closes its connection (the server then rolls back), so a half-done transaction is
/// never handed to the next user of the pool.
pub struct Tx {
    conn: Option<Object>,
    begun: AtomicBool,
    ended: AtomicBool,
}

impl Tx {
    /// Takes a connection from the pool. No round trip: BEGIN is sent with the first statement.
    pub async fn begin(pool: &Pool) -> Result<Tx, DbError> {
        Ok(Tx { conn: Some(pool.get().await?), begun: AtomicBool::new(false), ended: AtomicBool::new(false) })
    }

    fn conn(&self) -> &ClientWrapper {
        // Present until drop.
        self.conn.as_deref().unwrap_or_else(|| unreachable!("a Tx holds its connection until it is dropped"))
    }

    /// Runs `work`, preceded on the wire by BEGIN when this is the transaction's first statement.
    async fn run<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        if self.begun.swap(true, Ordering::SeqCst) {
            return work.await;
        }
        // `join!` polls BEGIN first, so it is sent first; both answers come back in one round trip.
        let (begin, result) = tokio::join!(self.conn().batch_execute(BEGIN), work);
        begin?;
        result
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), Error> {
        self.commit_after(async { Ok(()) }).await
    }

    /// Runs `work` (statements on [`Sql::client`], prepared when the connection opened: see `db::prepared`) and
    /// COMMIT in the same round trip. `work` is polled first, so its statements go out before COMMIT; if it fails
    /// before sending (a parameter that cannot be encoded), COMMIT is not sent and the transaction is rolled back.
    /// If it fails at the server, the server answers the COMMIT that follows with a rollback.
    pub(crate) async fn commit_after<T>(&self, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        self.end_after(work, "COMMIT").await
    }

    /// Like [`Tx::commit_after`], and a new transaction begins on the same connection right after the COMMIT, in
    /// the same message: statements awaited together with this (after it, e.g. in one `tokio::join!`) run in the
    /// new transaction, all in one round trip. The `Tx` stays open.
    pub(crate) async fn commit_and_begin_after<T>(
        &self,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let value = self.end_after(work, COMMIT_BEGIN).await?;
        self.ended.store(false, Ordering::SeqCst);
        Ok(value)
    }

    async fn end_after<T>(&self, work: impl Future<Output = Result<T, Error>>, command: &str) -> Result<T, Error> {
        let mut work = std::pin::pin!(work);
        let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
        if let Poll::Ready(Err(e)) = first {
            self.rollback_in_place().await;
            return Err(e);
        }
        if !self.begun.load(Ordering::SeqCst) {
            // Nothing ran inside the transaction: there is nothing to commit.
            let value = match first {
                Poll::Ready(result) => result?,
                Poll::Pending => work.await?,
            };
            self.ended.store(true, Ordering::SeqCst);
            return Ok(value);
        }
        let finish = async {
            match first {
                Poll::Ready(result) => result,
                Poll::Pending => work.await,
            }
        };
        let (result, commit) = tokio::join!(finish, self.conn().batch_execute(command));
        let value = result?;
        commit?;
        self.ended.store(true, Ordering::SeqCst);
        Ok(value)
    }

    async fn rollback_in_place(&self) {
        if !self.begun.load(Ordering::SeqCst) {
            self.ended.store(true, Ordering::SeqCst);
            return;
        }
        match self.conn().batch_execute("ROLLBACK").await {
            Ok(()) => self.ended.store(true, Ordering::SeqCst),
            Err(e) => tracing::warn!(error = %e, "rollback failed; the connection is closed instead"),
        }
    }

    /// Rolls back. A connection that cannot roll back is closed instead of returned to the pool.
    pub async fn rollback(self) {
        self.rollback_in_place().await;
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.begun.load(Ordering::SeqCst)
            && !self.ended.load(Ordering::SeqCst)
        {
            // Ended without commit or rollback (an error path or a cancelled future): detach the connection from
            // the pool and drop it, which closes it; the server rolls the transaction back.
            drop(Object::take(conn));
        }
    }
}

impl Sql for Tx {
    fn prepare(&self, sql: &str) -> impl Future<Output = Result<Statement, Error>> + Send {
        self.conn().prepare_cached(sql)
    }

    async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        self.run(async {
            let statement = self.conn().prepare_cached(sql).await?;
            tokio_postgres::Client::execute(self.conn(), &statement, params).await
        })
        .await
    }

    async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        self.run(async {
            let statement = self.conn().prepare_cached(sql).await?;
            tokio_postgres::Client::query(self.conn(), &statement, params).await
        })
        .await
    }

    async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        self.run(async {
            let statement = self.conn().prepare_cached(sql).await?;
            tokio_postgres::Client::query_one(self.conn(), &statement, params).await
        })
        .await
    }

    fn client(&self) -> &ClientWrapper {
        self.conn()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_begin_statement_sets_the_documented_timeouts() {
        assert!(super::BEGIN.contains("lock_timeout = '5s'"));
        assert!(super::BEGIN.contains("statement_timeout = '15s'"));
        assert_eq!(super::COMMIT_BEGIN, format!("COMMIT; {}", super::BEGIN));
    }
}
