//! Connecting: parse the URL, decide TLS (verified, and required for any host not on this machine unless
//! DATABASE_ALLOW_PLAINTEXT says otherwise), pool connections, and never send a password unencrypted to such a host.
//! Here: the pool, one dedicated connection and the lazily built TLS connector; [`policy`] reads `sslmode` and
//! decides, [`guarded`] connects without TLS to a host not on this machine, and [`watch`] follows such a session.

mod guarded;
mod policy;
mod watch;

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Hook, HookError, Manager, ManagerConfig, RecyclingMethod, Runtime};
use postgres_native_tls::MakeTlsConnector;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;

use super::DbError;
use crate::config::DatabaseConfig;
use guarded::connect_guarded;
pub use policy::pg_config;
use policy::{all_hosts_local, host_labels};
use watch::PasswordRefused;

/// A pool of connections; cheap to clone.
pub type Pool = deadpool_postgres::Pool;

type Config = tokio_postgres::Config;

// ---- TLS -------------------------------------------------------------------------------------------------

/// TLS that verifies the server certificate against the system roots and, if given, a PEM bundle
/// (such as the AWS RDS global bundle). Nothing unverified is ever accepted.
fn tls(ca_file: Option<&std::path::Path>) -> Result<MakeTlsConnector, DbError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = ca_file {
        for block in read_bundle(path)? {
            let cert = native_tls::Certificate::from_pem(block.as_bytes())
                .map_err(|e| DbError::Config(format!("DATABASE_CA_FILE {}: {e}", path.display())))?;
            builder.add_root_certificate(cert);
        }
    }
    let connector = builder.build().map_err(|e| DbError::Config(format!("TLS set-up: {e}")))?;
    Ok(MakeTlsConnector::new(connector))
}

/// The certificates of a PEM bundle; an error when it cannot be read or holds none.
fn read_bundle(path: &std::path::Path) -> Result<Vec<String>, DbError> {
    let pem = std::fs::read(path).map_err(|e| DbError::Config(format!("DATABASE_CA_FILE {}: {e}", path.display())))?;
    let certs = pem_blocks(&pem);
    if certs.is_empty() {
        return Err(DbError::Config(format!("DATABASE_CA_FILE {} holds no PEM certificate", path.display())));
    }
    Ok(certs)
}

/// The TLS connector, built on the first connection that needs it. Loading the system's trust store costs
/// tens of milliseconds, so a Lambda cold start does not pay it before its first event, and a database reached
/// with `sslmode=disable` (a local server, a private network) never pays it.
#[derive(Clone, Default)]
struct LazyTls {
    connector: Arc<OnceLock<MakeTlsConnector>>,
    ca_file: Option<PathBuf>,
}

impl<S> MakeTlsConnect<S> for LazyTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = postgres_native_tls::TlsStream<S>;
    type TlsConnect = postgres_native_tls::TlsConnector;
    type Error = DbError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, DbError> {
        // Only a connector that was built is kept: a failure is tried again by the next connection.
        let connector = match self.connector.get() {
            Some(connector) => connector,
            None => {
                let built = tls(self.ca_file.as_deref())?;
                self.connector.get_or_init(|| built)
            }
        };
        MakeTlsConnect::<S>::make_tls_connect(&mut connector.clone(), domain)
            .map_err(|e| DbError::Config(format!("TLS set-up: {e}")))
    }
}

// ---- Opening connections ---------------------------------------------------------------------------------

/// Opens pooled connections as [`open`] does.
struct Connector {
    tls: LazyTls,
}

type Connected = (tokio_postgres::Client, tokio::task::JoinHandle<()>);

impl deadpool_postgres::Connect for Connector {
    fn connect(
        &self,
        pg: &Config,
    ) -> Pin<Box<dyn Future<Output = Result<Connected, tokio_postgres::Error>> + Send + '_>> {
        let pg = pg.clone();
        let tls = self.tls.clone();
        Box::pin(async move { open(&pg, tls).await })
    }
}

/// One connection: without TLS when `sslmode=disable`, through [`connect_guarded`] when a host not on this
/// machine may be reached without TLS, else by tokio-postgres with the lazily built connector.
async fn open(pg: &Config, tls: LazyTls) -> Result<Connected, tokio_postgres::Error> {
    if pg.get_ssl_mode() != SslMode::Require && !all_hosts_local(pg) {
        return connect_guarded(pg, &tls).await;
    }
    if pg.get_ssl_mode() == SslMode::Disable {
        let (client, connection) = pg.connect(NoTls).await?;
        return Ok((client, tokio::spawn(drive(connection))));
    }
    let (client, connection) = pg.connect(tls).await?;
    Ok((client, tokio::spawn(drive(connection))))
}

/// Runs a connection's I/O until it closes.
async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "database connection closed with an error");
    }
}

/// Splits a PEM bundle into its certificates.
fn pem_blocks(pem: &[u8]) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(pem);
    let mut blocks = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else { break };
        let end = start + len + END.len();
        blocks.push(rest[start..end].to_owned());
        rest = &rest[end..];
    }
    blocks
}

/// A pool that connects lazily: building it does no I/O and no TLS set-up, so a cold start stays fast.
/// A checkout costs no round trip: a connection that died while idle (a frozen Lambda) shows on its first
/// statement, and `bot::process` then starts the update again on a fresh one.
pub fn build_pool(config: &DatabaseConfig, max_size: usize) -> Result<Pool, DbError> {
    if let Some(path) = &config.ca_file {
        read_bundle(path)?;
    }
    let tls = LazyTls { connector: Arc::default(), ca_file: config.ca_file.clone() };
    let manager = Manager::from_connect(
        pg_config(config)?,
        Connector { tls },
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    // Every connection prepares the statements the code pipelines before its first use (see `db::prepared`).
    let prepare = Hook::async_fn(|client: &mut ClientWrapper, _| {
        Box::pin(async move {
            // Outside any transaction, so the BEGIN's timeouts do not apply: a table locked by a migration must not
            // hold the connection (and the invocation) for longer than a statement may take.
            let prepared = tokio::time::timeout(PREPARE_TIMEOUT, super::prepare_statements(client)).await;
            let prepared =
                prepared.map_err(|_| HookError::Message("preparing the desk's statements timed out".into()))?;
            prepared.map_err(|e| {
                // 42P01/42703: a table or column the code knows is missing.
                let unmigrated = e.code().is_some_and(|c| matches!(c.code(), "42P01" | "42703"));
                let hint = if unmigrated { " (the schema is behind the code: run `zabota migrate`)" } else { "" };
                HookError::Message(format!("preparing the desk's statements: {}{hint}", super::describe(&e)).into())
            })
        })
    });
    Pool::builder(manager)
        .post_create(prepare)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| DbError::Config(format!("pool: {e}")))
}

/// How long a new connection may take to prepare the desk's statements.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(10);

/// One dedicated connection (migrations, tools). Its driver task runs until the client is dropped.
pub async fn connect(config: &DatabaseConfig) -> Result<tokio_postgres::Client, DbError> {
    let pg = pg_config(config)?;
    let lazy = LazyTls { connector: Arc::default(), ca_file: config.ca_file.clone() };
    if pg.get_ssl_mode() != SslMode::Disable {
        // Built now, so a bad CA bundle is reported as such rather than as a failed handshake.
        let _ = lazy.connector.set(tls(config.ca_file.as_deref())?);
    }
    let (client, _driver) = open(&pg, lazy).await.map_err(|e| explain(e, &pg))?;
    Ok(client)
}

/// A connection error, with what to change when it is ours (a refused password request) or a server without
/// TLS where TLS is required; tokio-postgres shows only the kind of an error, not its cause.
fn explain(e: tokio_postgres::Error, pg: &Config) -> DbError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(cause) = source {
        let ours = cause.downcast_ref::<io::Error>().and_then(|io| io.get_ref()?.downcast_ref::<PasswordRefused>());
        if let Some(refused) = ours {
            return DbError::Config(refused.to_string());
        }
        if cause.to_string().contains("server does not support TLS") {
            return DbError::Config(format!(
                "{} offers no TLS, and sslmode=require is in force (DATABASE_URL's sslmode or POSTGRES_SSLMODE, \
                 or the default for a host not on this machine). Turn TLS on at the server; only on a trusted \
                 network, set sslmode=disable with DATABASE_ALLOW_PLAINTEXT=true",
                host_labels(pg, false)
            ));
        }
        source = cause.source();
    }
    DbError::Postgres(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_split_into_its_certificates() {
        let one = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let bundle = format!("# RDS\n{one}junk\n{one}");
        assert_eq!(pem_blocks(bundle.as_bytes()).len(), 2);
        assert!(pem_blocks(b"no certs").is_empty());
    }
}
