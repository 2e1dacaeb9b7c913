//! Connecting: parse the URL, verify TLS against the system roots plus an optional CA bundle, pool connections.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use postgres_native_tls::MakeTlsConnector;
use secrecy::ExposeSecret;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{NoTls, Socket};

use super::DbError;
use crate::config::DatabaseConfig;

/// A pool of connections; cheap to clone.
pub type Pool = deadpool_postgres::Pool;

/// Parses the connection string (URL or key=value). `sslmode` is honoured: disable, prefer (default) or require;
/// libpq's verify-ca / verify-full are accepted as require, since certificates are always verified.
pub fn pg_config(config: &DatabaseConfig) -> Result<tokio_postgres::Config, DbError> {
    let raw = config.url.expose_secret();
    let normalized =
        raw.replace("sslmode=verify-full", "sslmode=require").replace("sslmode=verify-ca", "sslmode=require");
    let mut pg: tokio_postgres::Config = normalized
        .parse()
        .map_err(|e: tokio_postgres::Error| DbError::Config(format!("DATABASE_URL cannot be parsed: {e}")))?;
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(Duration::from_secs(5));
    }
    if pg.get_application_name().is_none() {
        pg.application_name("zabota");
    }
    pg.keepalives_idle(Duration::from_secs(30));
    Ok(pg)
}

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

impl MakeTlsConnect<Socket> for LazyTls {
    type Stream = postgres_native_tls::TlsStream<Socket>;
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
        MakeTlsConnect::<Socket>::make_tls_connect(&mut connector.clone(), domain)
            .map_err(|e| DbError::Config(format!("TLS set-up: {e}")))
    }
}

/// Opens pooled connections: without TLS when `sslmode=disable`, else with the lazily built connector.
struct Connector {
    tls: LazyTls,
}

type Connected = (tokio_postgres::Client, tokio::task::JoinHandle<()>);

impl deadpool_postgres::Connect for Connector {
    fn connect(
        &self,
        pg: &tokio_postgres::Config,
    ) -> Pin<Box<dyn Future<Output = Result<Connected, tokio_postgres::Error>> + Send + '_>> {
        let pg = pg.clone();
        let tls = self.tls.clone();
        Box::pin(async move {
            if pg.get_ssl_mode() == SslMode::Disable {
                let (client, connection) = pg.connect(NoTls).await?;
                return Ok((client, tokio::spawn(drive(connection))));
            }
            let (client, connection) = pg.connect(tls).await?;
            Ok((client, tokio::spawn(drive(connection))))
        })
    }
}

/// Runs a connection's I/O until it closes.
async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
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
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| DbError::Config(format!("pool: {e}")))
}

/// One dedicated connection (migrations, tools). Its driver task runs until the client is dropped.
pub async fn connect(config: &DatabaseConfig) -> Result<tokio_postgres::Client, DbError> {
    let pg = pg_config(config)?;
    let client = if pg.get_ssl_mode() == SslMode::Disable {
        let (client, connection) = pg.connect(NoTls).await?;
        tokio::spawn(drive(connection));
        client
    } else {
        let (client, connection) = pg.connect(tls(config.ca_file.as_deref())?).await?;
        tokio::spawn(drive(connection));
        client
    };
    Ok(client)
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

    #[test]
    fn verify_full_is_accepted_as_require() {
        let config = DatabaseConfig { url: "postgres://u@h/db?sslmode=verify-full".into(), ca_file: None };
        assert_eq!(pg_config(&config).map(|c| c.get_ssl_mode()).ok(), Some(tokio_postgres::config::SslMode::Require));
    }
}
