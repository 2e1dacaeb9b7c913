//! Connecting: parse the URL, verify TLS against the system roots plus an optional CA bundle, pool connections.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use postgres_native_tls::MakeTlsConnector;
use secrecy::ExposeSecret;

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
fn tls(config: &DatabaseConfig) -> Result<MakeTlsConnector, DbError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = &config.ca_file {
        let pem =
            std::fs::read(path).map_err(|e| DbError::Config(format!("DATABASE_CA_FILE {}: {e}", path.display())))?;
        let certs = pem_blocks(&pem);
        if certs.is_empty() {
            return Err(DbError::Config(format!("DATABASE_CA_FILE {} holds no PEM certificate", path.display())));
        }
        for block in certs {
            let cert = native_tls::Certificate::from_pem(block.as_bytes())
                .map_err(|e| DbError::Config(format!("DATABASE_CA_FILE {}: {e}", path.display())))?;
            builder.add_root_certificate(cert);
        }
    }
    let connector = builder.build().map_err(|e| DbError::Config(format!("TLS set-up: {e}")))?;
    Ok(MakeTlsConnector::new(connector))
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

/// A pool that connects lazily: building it does no I/O, so a cold start stays fast.
/// Each checkout verifies the connection, so one that died while a Lambda was frozen is replaced.
pub fn build_pool(config: &DatabaseConfig, max_size: usize) -> Result<Pool, DbError> {
    let manager = Manager::from_config(
        pg_config(config)?,
        tls(config)?,
        ManagerConfig { recycling_method: RecyclingMethod::Verified },
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
    let (client, connection) = pg_config(config)?.connect(tls(config)?).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "database connection closed with an error");
        }
    });
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
