//! Connecting: parse the URL, decide TLS (verified, and required for any host not on this machine unless
//! DATABASE_ALLOW_PLAINTEXT says otherwise), pool connections, and never send a password unencrypted to such a host.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use postgres_native_tls::MakeTlsConnector;
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_postgres::config::{Host, LoadBalanceHosts, SslMode, TargetSessionAttrs};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{NoTls, SimpleQueryMessage};

use super::DbError;
use crate::config::DatabaseConfig;

/// A pool of connections; cheap to clone.
pub type Pool = deadpool_postgres::Pool;

type Config = tokio_postgres::Config;

// ---- The TLS decision ------------------------------------------------------------------------------------

/// The `sslmode` a connection string asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Requested {
    /// Not written: `require`, except when every host is on this machine (then `prefer`, as it always was).
    Unset,
    /// `disable`: never TLS.
    Disable,
    /// libpq's `allow`: taken as `prefer` (TLS first), the nearest mode tokio-postgres has.
    Allow,
    /// `prefer`: TLS when the server offers it, else without.
    Prefer,
    /// `require`, `verify-ca` or `verify-full`: certificate and host name are always verified.
    Require,
}

impl Requested {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "disable" => Some(Self::Disable),
            "allow" => Some(Self::Allow),
            "prefer" => Some(Self::Prefer),
            "require" | "verify-ca" | "verify-full" => Some(Self::Require),
            _ => None,
        }
    }
}

/// The TLS mode to connect with, or `None` when the request is refused. A mode that allows a session without
/// TLS (disable, allow, prefer) is for hosts that are all on this machine, unless `allow_plaintext`
/// (DATABASE_ALLOW_PLAINTEXT) says the network is trusted; an unset sslmode means require for any other host.
fn decide(requested: Requested, local: bool, allow_plaintext: bool) -> Option<SslMode> {
    match requested {
        Requested::Require => Some(SslMode::Require),
        Requested::Unset if local => Some(SslMode::Prefer),
        Requested::Unset => Some(SslMode::Require),
        Requested::Disable if local || allow_plaintext => Some(SslMode::Disable),
        Requested::Allow | Requested::Prefer if local || allow_plaintext => Some(SslMode::Prefer),
        Requested::Disable | Requested::Allow | Requested::Prefer => None,
    }
}

/// How many hosts the configuration names (a host, a hostaddr, or both for each).
fn host_count(pg: &Config) -> usize {
    pg.get_hosts().len().max(pg.get_hostaddrs().len())
}

/// True when every host is on this machine; no host at all is not local.
fn all_hosts_local(pg: &Config) -> bool {
    host_count(pg) > 0 && (0..host_count(pg)).all(|i| host_is_local(pg, i))
}

/// Host `i` is on this machine: a Unix socket, `localhost` or a loopback address, and its `hostaddr`, if any, is
/// loopback too. Decided on what is written, never on what a name resolves to.
fn host_is_local(pg: &Config, i: usize) -> bool {
    let name_is_local = match pg.get_hosts().get(i) {
        None => true,
        Some(Host::Tcp(name)) => name_is_loopback(name),
        #[cfg(unix)]
        Some(Host::Unix(_)) => true,
    };
    name_is_local && pg.get_hostaddrs().get(i).is_none_or(|ip| is_loopback(*ip))
}

fn name_is_loopback(name: &str) -> bool {
    let bare = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
    bare.eq_ignore_ascii_case("localhost") || bare.parse().is_ok_and(is_loopback)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Host `i` as messages and logs name it: its name, or its hostaddr when only that (or a local name) is written.
fn host_label(pg: &Config, i: usize) -> String {
    match (pg.get_hosts().get(i), pg.get_hostaddrs().get(i)) {
        (Some(Host::Tcp(name)), Some(ip)) if name_is_loopback(name) => ip.to_string(),
        (Some(Host::Tcp(name)), _) => name.clone(),
        #[cfg(unix)]
        (Some(Host::Unix(path)), None) => path.display().to_string(),
        (_, Some(ip)) => ip.to_string(),
        (None, None) => String::new(),
    }
}

/// The hosts that are not on this machine (or all of them), for messages and logs.
fn host_labels(pg: &Config, remote_only: bool) -> String {
    let labels: Vec<String> =
        (0..host_count(pg)).filter(|&i| !(remote_only && host_is_local(pg, i))).map(|i| host_label(pg, i)).collect();
    if labels.is_empty() { "no host".to_owned() } else { labels.join(", ") }
}

/// Every `sslmode` setting in a connection string, as (where its value is written, the value), in the order
/// tokio-postgres applies them. Follows its two parsers, so a password holding `sslmode=` is not taken for one.
fn sslmode_settings(raw: &str) -> Vec<(Range<usize>, String)> {
    match ["postgres://", "postgresql://"].into_iter().find(|prefix| raw.starts_with(prefix)) {
        Some(prefix) => url_sslmodes(raw, prefix.len()),
        None => keyword_sslmodes(raw),
    }
}

/// URL form: credentials end at the first '@'; the query starts at the first '?' after them.
fn url_sslmodes(raw: &str, start: usize) -> Vec<(Range<usize>, String)> {
    let after_credentials = raw[start..].find('@').map_or(start, |at| start + at + 1);
    let Some(question) = raw[after_credentials..].find('?') else { return Vec::new() };
    let mut at = after_credentials + question + 1;
    let mut found = Vec::new();
    for pair in raw[at..].split('&') {
        if let Some(("sslmode", value)) = pair.split_once('=') {
            found.push((at + "sslmode=".len()..at + pair.len(), value.to_owned()));
        }
        at += pair.len() + 1;
    }
    found
}

/// Key=value form: `key = value` pairs split by whitespace; values may be 'quoted' and use \ escapes.
fn keyword_sslmodes(raw: &str) -> Vec<(Range<usize>, String)> {
    let mut chars = raw.char_indices().peekable();
    let mut found = Vec::new();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let key_start = chars.peek().map_or(raw.len(), |&(i, _)| i);
        while chars.next_if(|&(_, c)| !c.is_whitespace() && c != '=').is_some() {}
        let key = &raw[key_start..chars.peek().map_or(raw.len(), |&(i, _)| i)];
        skip_ws(&mut chars);
        if key.is_empty() || chars.next().map(|(_, c)| c) != Some('=') {
            return found;
        }
        skip_ws(&mut chars);
        let value_start = chars.peek().map_or(raw.len(), |&(i, _)| i);
        let quoted = chars.next_if(|&(_, c)| c == '\'').is_some();
        let mut value = String::new();
        loop {
            match chars.peek().map(|&(_, c)| c) {
                None if quoted => return found,
                None => break,
                Some('\'') if quoted => {
                    chars.next();
                    break;
                }
                Some(c) if c.is_whitespace() && !quoted => break,
                Some('\\') => {
                    chars.next();
                    value.extend(chars.next().map(|(_, c)| c));
                }
                Some(c) => {
                    chars.next();
                    value.push(c);
                }
            }
        }
        if key == "sslmode" {
            found.push((value_start..chars.peek().map_or(raw.len(), |&(i, _)| i), value));
        }
    }
}

/// Parses the connection string (URL or key=value) and decides TLS: `require` (or libpq's `verify-ca` /
/// `verify-full`, the same here, since certificates are always verified) is the default for any host not on
/// this machine; `disable`, `allow` and `prefer` are refused for such a host unless `allow_plaintext`.
pub fn pg_config(config: &DatabaseConfig) -> Result<Config, DbError> {
    let raw = config.url.expose_secret();
    let settings = sslmode_settings(raw);
    let written = settings.last().map(|(_, value)| value.as_str());
    let requested = match written {
        None => Requested::Unset,
        Some(value) => Requested::parse(value).ok_or_else(|| {
            DbError::Config(format!(
                "sslmode={value:?} (DATABASE_URL's sslmode or POSTGRES_SSLMODE) is not a mode: use require \
                 (the default), verify-ca or verify-full"
            ))
        })?,
    };
    // The mode is set below; every value tokio-postgres would read becomes one it knows.
    let mut normalized = raw.to_owned();
    for (range, _) in settings.iter().rev() {
        normalized.replace_range(range.clone(), "prefer");
    }
    let mut pg: Config = normalized
        .parse()
        .map_err(|e: tokio_postgres::Error| DbError::Config(format!("DATABASE_URL cannot be parsed: {e}")))?;
    let (hosts, addrs) = (pg.get_hosts().len(), pg.get_hostaddrs().len());
    if hosts > 0 && addrs > 0 && hosts != addrs {
        return Err(DbError::Config(format!("DATABASE_URL names {hosts} hosts but {addrs} hostaddrs")));
    }
    let local = all_hosts_local(&pg);
    let Some(mode) = decide(requested, local, config.allow_plaintext) else {
        return Err(DbError::Config(format!(
            "sslmode={} (DATABASE_URL's sslmode or POSTGRES_SSLMODE) would let the session and the password travel \
             unencrypted to {}, which is not on this machine. Use sslmode=require (the default for such a host; \
             the certificate is verified), or set DATABASE_ALLOW_PLAINTEXT=true if the network to it is trusted",
            written.unwrap_or_default(),
            host_labels(&pg, true)
        )));
    };
    pg.ssl_mode(mode);
    if !local && mode != SslMode::Require {
        tracing::warn!(
            hosts = %host_labels(&pg, true),
            sslmode = written.unwrap_or_default(),
            "DATABASE_ALLOW_PLAINTEXT=true: PostgreSQL may be reached without TLS (a password is still never sent \
             unencrypted)"
        );
    }
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(Duration::from_secs(5));
    }
    if pg.get_application_name().is_none() {
        pg.application_name("zabota");
    }
    pg.keepalives_idle(Duration::from_secs(30));
    Ok(pg)
}

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

// ---- Without TLS to a host not on this machine -------------------------------------------------------------

/// Connects host by host as tokio-postgres does (hostaddr before host, each address of a name, load balancing,
/// the connect timeout, keepalives, target_session_attrs), but each over a [`Guarded`] stream. Used only when a
/// host not on this machine may be reached without TLS, which takes DATABASE_ALLOW_PLAINTEXT=true.
async fn connect_guarded(pg: &Config, tls: &LazyTls) -> Result<Connected, tokio_postgres::Error> {
    let random = pg.get_load_balance_hosts() == LoadBalanceHosts::Random;
    let mut order: Vec<usize> = (0..host_count(pg)).collect();
    if random {
        fastrand::shuffle(&mut order);
    }
    let mut last = None;
    for i in order {
        let port = pg.get_ports().get(i).or_else(|| pg.get_ports().first()).copied().unwrap_or(5432);
        let watch = if host_is_local(pg, i) { Watch::off() } else { Watch::on(host_label(pg, i)) };
        let host = pg.get_hosts().get(i);
        let hostname = match host {
            Some(Host::Tcp(name)) => Some(name.as_str()),
            _ => None,
        };
        let result = match (pg.get_hostaddrs().get(i), host) {
            (Some(ip), _) => connect_addrs(pg, tls, vec![SocketAddr::new(*ip, port)], hostname, &watch).await,
            (None, Some(Host::Tcp(name))) => match tokio::net::lookup_host((name.as_str(), port)).await {
                Ok(addrs) => {
                    let mut addrs: Vec<SocketAddr> = addrs.collect();
                    if random {
                        fastrand::shuffle(&mut addrs);
                    }
                    connect_addrs(pg, tls, addrs, hostname, &watch).await
                }
                Err(e) => failed(pg, e).await,
            },
            #[cfg(unix)]
            (None, Some(Host::Unix(dir))) => {
                let socket = with_timeout(pg, tokio::net::UnixStream::connect(dir.join(format!(".s.PGSQL.{port}"))));
                start(pg, tls, socket.await.map(Inner::Unix), Watch::off(), None).await
            }
            (None, None) => continue,
        };
        match result {
            Ok(connected) => return Ok(connected),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(e),
        None => failed(pg, io::Error::new(io::ErrorKind::InvalidInput, "no host to connect to")).await,
    }
}

/// Tries each address of one host in turn.
async fn connect_addrs(
    pg: &Config,
    tls: &LazyTls,
    addrs: Vec<SocketAddr>,
    hostname: Option<&str>,
    watch: &Watch,
) -> Result<Connected, tokio_postgres::Error> {
    let mut last = None;
    for addr in addrs {
        match start(pg, tls, tcp(pg, addr).await.map(Inner::Tcp), watch.clone(), hostname).await {
            Ok(connected) => return Ok(connected),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(e),
        None => failed(pg, io::Error::new(io::ErrorKind::InvalidInput, "could not resolve any addresses")).await,
    }
}

/// A TCP connection set up as tokio-postgres sets up its own.
async fn tcp(pg: &Config, addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = with_timeout(pg, TcpStream::connect(addr)).await?;
    stream.set_nodelay(true)?;
    let socket = socket2::SockRef::from(&stream);
    #[cfg(target_os = "linux")]
    if let Some(timeout) = pg.get_tcp_user_timeout() {
        socket.set_tcp_user_timeout(Some(*timeout))?;
    }
    if pg.get_keepalives() {
        let mut keepalive = socket2::TcpKeepalive::new().with_time(pg.get_keepalives_idle());
        #[cfg(target_os = "linux")]
        {
            if let Some(interval) = pg.get_keepalives_interval() {
                keepalive = keepalive.with_interval(interval);
            }
            if let Some(retries) = pg.get_keepalives_retries() {
                keepalive = keepalive.with_retries(retries);
            }
        }
        socket.set_tcp_keepalive(&keepalive)?;
    }
    Ok(stream)
}

async fn with_timeout<T>(pg: &Config, connect: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    match pg.get_connect_timeout() {
        Some(limit) => tokio::time::timeout(*limit, connect)
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connection timed out"))),
        None => connect.await,
    }
}

/// Starts a session over a connected stream, then checks target_session_attrs as tokio-postgres does.
async fn start(
    pg: &Config,
    tls: &LazyTls,
    stream: io::Result<Inner>,
    watch: Watch,
    hostname: Option<&str>,
) -> Result<Connected, tokio_postgres::Error> {
    let inner = match stream {
        Ok(inner) => inner,
        Err(e) => return failed(pg, e).await,
    };
    let no_tls = pg.get_ssl_mode() == SslMode::Disable || !matches!(inner, Inner::Tcp(_));
    let stream = Guarded { inner, watch };
    let (client, driver) = if no_tls {
        let (client, connection) = pg.connect_raw(stream, NoTls).await?;
        (client, tokio::spawn(drive(connection)))
    } else {
        let connector = match MakeTlsConnect::<Guarded>::make_tls_connect(&mut tls.clone(), hostname.unwrap_or("")) {
            Ok(connector) => connector,
            Err(e) => return failed(pg, io::Error::other(e.to_string())).await,
        };
        let (client, connection) = pg.connect_raw(stream, connector).await?;
        (client, tokio::spawn(drive(connection)))
    };
    let wanted = pg.get_target_session_attrs();
    if wanted != TargetSessionAttrs::Any {
        let read_only = client.simple_query("SHOW transaction_read_only").await?.into_iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(|v| v == "on"),
            _ => None,
        });
        let refusal = match (wanted, read_only) {
            (TargetSessionAttrs::ReadOnly, Some(true)) | (TargetSessionAttrs::ReadWrite, Some(false)) => None,
            (TargetSessionAttrs::ReadOnly, _) => Some("database is not read only"),
            _ => Some("database does not allow writes"),
        };
        if let Some(reason) = refusal {
            return failed(pg, io::Error::new(io::ErrorKind::PermissionDenied, reason)).await;
        }
    }
    Ok((client, driver))
}

/// tokio-postgres keeps its error constructors to itself, and the pool's connector must return its error: an
/// I/O failure of ours becomes one by starting a session over a stream that fails with it at once.
async fn failed(pg: &Config, e: io::Error) -> Result<Connected, tokio_postgres::Error> {
    let mut pg = pg.clone();
    pg.ssl_mode(SslMode::Disable);
    let stream = Guarded { inner: Inner::Failed(Some(e)), watch: Watch::off() };
    let (client, connection) = pg.connect_raw(stream, NoTls).await?;
    Ok((client, tokio::spawn(drive(connection)))) // not reached: the first write fails
}

/// A connection's bytes, with a [`Watch`] on what the server sends before authentication is done.
struct Guarded {
    inner: Inner,
    watch: Watch,
}

enum Inner {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    /// A connect that failed: the first write returns its error.
    Failed(Option<io::Error>),
}

fn gone(e: &mut Option<io::Error>) -> io::Error {
    e.take().unwrap_or_else(|| io::ErrorKind::NotConnected.into())
}

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = match &mut this.inner {
            Inner::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Failed(e) => Poll::Ready(Err(gone(e))),
        };
        if let Poll::Ready(Ok(())) = polled
            && let Err(refused) = this.watch.read(&buf.filled()[before..])
        {
            buf.set_filled(before);
            return Poll::Ready(Err(refused));
        }
        polled
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.watch.wrote(buf);
        match &mut this.inner {
            Inner::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Failed(e) => Poll::Ready(Err(gone(e))),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_flush(cx),
            Inner::Failed(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Failed(_) => Poll::Ready(Ok(())),
        }
    }
}

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Follows the start of a session with a host not on this machine and refuses, before tokio-postgres can answer
/// it, a request for the password in clear text ('R' code 3) or as MD5 ('R' code 5) on a connection without
/// TLS. Once TLS is agreed, or authentication is done, there is nothing more to check.
#[derive(Clone, Debug)]
struct Watch {
    hosts: String,
    phase: Phase,
}

#[derive(Clone, Debug)]
enum Phase {
    /// Nothing sent yet.
    Start,
    /// An SSLRequest went out; the next byte is the server's answer.
    SslAnswer,
    /// No TLS: reading message headers (type, length, and an authentication request's code).
    Plain { header: [u8; 9], filled: usize, skip: usize },
    /// TLS, or authenticated, or nothing to watch.
    Done,
}

const PLAIN: Phase = Phase::Plain { header: [0; 9], filled: 0, skip: 0 };

impl Watch {
    fn on(hosts: String) -> Self {
        Watch { hosts, phase: Phase::Start }
    }

    fn off() -> Self {
        Watch { hosts: String::new(), phase: Phase::Done }
    }

    /// The client's first write says whether TLS is asked for (an SSLRequest) or not (the startup message).
    fn wrote(&mut self, buf: &[u8]) {
        if matches!(self.phase, Phase::Start) && !buf.is_empty() {
            self.phase = if buf.starts_with(&SSL_REQUEST) { Phase::SslAnswer } else { PLAIN };
        }
    }

    /// Bytes the server sent; an error (and nothing passed on) when they ask for a password we must not send.
    fn read(&mut self, bytes: &[u8]) -> io::Result<()> {
        for &byte in bytes {
            if matches!(self.phase, Phase::Done) {
                break;
            }
            self.step(byte)?;
        }
        Ok(())
    }

    fn step(&mut self, byte: u8) -> io::Result<()> {
        match &mut self.phase {
            Phase::Start | Phase::Done => {}
            Phase::SslAnswer => {
                self.phase = match byte {
                    b'S' => Phase::Done,
                    b'N' => PLAIN,
                    _ => {
                        self.phase = PLAIN;
                        return self.step(byte);
                    }
                }
            }
            Phase::Plain { skip, .. } if *skip > 0 => *skip -= 1,
            Phase::Plain { header, filled, skip } => {
                header[*filled] = byte;
                *filled += 1;
                let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
                if *filled == 5 && len < 4 {
                    self.phase = Phase::Done; // malformed: tokio-postgres refuses it itself
                } else if *filled == 5 && (header[0] != b'R' || len < 8) {
                    (*skip, *filled) = (len - 4, 0);
                } else if *filled == 9 {
                    match u32::from_be_bytes([header[5], header[6], header[7], header[8]]) {
                        3 => return Err(self.refuse("in clear text")),
                        5 => return Err(self.refuse("as an MD5 hash")),
                        0 => self.phase = Phase::Done,
                        _ => (*skip, *filled) = (len - 8, 0),
                    }
                }
            }
        }
        Ok(())
    }

    fn refuse(&self, how: &str) -> io::Error {
        tracing::warn!(hosts = %self.hosts, "PostgreSQL asked for the password {how} without TLS; not sent");
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            PasswordRefused(format!(
                "{} asked for the password {how} over a connection without TLS, and it was not sent: \
             DATABASE_ALLOW_PLAINTEXT=true allows a session without TLS, never a password in the clear. Turn TLS on \
             at the server and use sslmode=require (DATABASE_URL's sslmode or POSTGRES_SSLMODE), or have the server \
             use scram-sha-256",
                self.hosts
            )),
        )
    }
}

/// The refusal of a password request on a connection without TLS.
#[derive(Debug)]
struct PasswordRefused(String);

impl std::fmt::Display for PasswordRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PasswordRefused {}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(url: &str, allow_plaintext: bool) -> DatabaseConfig {
        DatabaseConfig { url: url.into(), ca_file: None, allow_plaintext }
    }

    #[test]
    fn a_bundle_is_split_into_its_certificates() {
        let one = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let bundle = format!("# RDS\n{one}junk\n{one}");
        assert_eq!(pem_blocks(bundle.as_bytes()).len(), 2);
        assert!(pem_blocks(b"no certs").is_empty());
    }

    #[test]
    fn the_decision_table_of_requested_mode_host_and_opt_in() {
        use Requested::*;
        let cases = [
            (Unset, true, false, Some(SslMode::Prefer), "unset on this machine stays as it was"),
            (Unset, false, false, Some(SslMode::Require), "unset elsewhere means require"),
            (Unset, false, true, Some(SslMode::Require), "the opt-in does not weaken the default"),
            (Require, false, false, Some(SslMode::Require), "require is require"),
            (Require, true, true, Some(SslMode::Require), "require is require on loopback too"),
            (Disable, true, false, Some(SslMode::Disable), "disable is fine on this machine"),
            (Disable, false, false, None, "disable elsewhere is refused"),
            (Disable, false, true, Some(SslMode::Disable), "disable elsewhere with the opt-in"),
            (Prefer, false, false, None, "prefer elsewhere is refused: it can be downgraded"),
            (Prefer, false, true, Some(SslMode::Prefer), "prefer elsewhere with the opt-in"),
            (Allow, false, false, None, "allow elsewhere is refused"),
            (Allow, true, false, Some(SslMode::Prefer), "allow is taken as prefer"),
        ];
        for (requested, local, allow_plaintext, expected, message) in cases {
            assert_eq!(decide(requested, local, allow_plaintext), expected, "{message}");
        }
    }

    #[test]
    fn connection_strings_get_the_mode_their_hosts_allow() {
        use SslMode::*;
        use tokio_postgres::config::ChannelBinding;
        let cases: &[(&str, bool, Option<SslMode>, &str)] = &[
            ("postgres://u@db.example/care", false, Some(Require), "no sslmode, a remote name"),
            ("postgres://u@10.0.0.5/care", false, Some(Require), "no sslmode, a private address"),
            ("postgres://postgres@127.0.0.1:5432/postgres", false, Some(Prefer), "the test suite's URL"),
            ("postgres://u@localhost/care?sslmode=disable", false, Some(Disable), "localhost"),
            ("postgres://u@LOCALHOST/care?sslmode=disable", false, Some(Disable), "names are case-blind"),
            ("postgres://u@[::1]:5432/care?sslmode=disable", false, Some(Disable), "IPv6 loopback"),
            ("postgres://u@127.9.9.9/care?sslmode=prefer", false, Some(Prefer), "all of 127.0.0.0/8"),
            ("host=/run/postgresql dbname=care sslmode=disable", false, Some(Disable), "a Unix socket"),
            ("postgres://u@%2Frun%2Fpostgresql/care?sslmode=disable", false, Some(Disable), "a socket in a URL"),
            ("postgres://u@db.example/care?sslmode=disable", false, None, "disable to a remote name"),
            ("postgres://u@db.example/care?sslmode=prefer", false, None, "prefer to a remote name"),
            ("postgres://u@db.example/care?sslmode=allow", false, None, "allow to a remote name"),
            ("postgres://u@192.168.1.2/care?sslmode=disable", false, None, "disable to a private address"),
            ("postgres://u@localhost,db.example/care?sslmode=disable", false, None, "every host must qualify"),
            ("postgres://u@localhost.evil.example/care?sslmode=disable", false, None, "only localhost itself"),
            ("postgres://u@127.0.0.1.nip.io/care?sslmode=disable", false, None, "a name is not an address"),
            ("host=localhost hostaddr=10.0.0.5 sslmode=disable", false, None, "the hostaddr is what is reached"),
            ("host=db.example hostaddr=127.0.0.1 sslmode=disable", false, None, "and the name must be local too"),
            ("postgres://u@db.example/care?sslmode=disable", true, Some(Disable), "the opt-in allows disable"),
            ("postgres://u@db.example/care?sslmode=prefer", true, Some(Prefer), "the opt-in allows prefer"),
            ("postgres://u@db.example/care", true, Some(Require), "the opt-in keeps require as the default"),
            ("postgres://u@10.0.0.5/care?sslmode=verify-full", false, Some(Require), "verify-full"),
            ("host=db.example sslmode='verify-ca'", false, Some(Require), "a quoted verify-ca"),
            ("host=db.example sslmode = disable", false, None, "spaces around ="),
            ("host=db.example password='x sslmode=disable y'", false, Some(Require), "a password is not sslmode"),
            ("host=db.example password=x\\ sslmode=disable", false, Some(Require), "nor an escaped one"),
            ("postgres://u:sslmode=disable@db.example/care", false, Some(Require), "nor in a URL"),
            ("postgres://u:p?ss@db.example/care?sslmode=disable", false, None, "a '?' in the password"),
            ("postgres://u@127.0.0.1/care?sslmode=disable&sslmode=require", false, Some(Require), "the last wins"),
        ];
        for &(url, allow_plaintext, expected, message) in cases {
            match (pg_config(&database(url, allow_plaintext)), expected) {
                (Ok(pg), Some(mode)) => {
                    assert_eq!(pg.get_ssl_mode(), mode, "{message}: {url}");
                    let binding = pg.get_channel_binding();
                    assert_eq!(binding, ChannelBinding::Prefer, "{message}: SCRAM binds to TLS when offered");
                }
                (Err(e), None) => {
                    let text = e.to_string();
                    for name in ["DATABASE_URL", "POSTGRES_SSLMODE", "DATABASE_ALLOW_PLAINTEXT"] {
                        assert!(text.contains(name), "{message}: {url}: the refusal names {name}: {text}");
                    }
                }
                (Ok(pg), None) => panic!("{message}: {url} should be refused, got {:?}", pg.get_ssl_mode()),
                (Err(e), Some(_)) => panic!("{message}: {url} should be accepted: {e}"),
            }
        }
    }

    #[test]
    fn an_unknown_sslmode_is_refused_and_a_password_is_never_echoed() {
        let text = pg_config(&database("postgres://u:hunter2@db.example/care?sslmode=bogus", false))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(text.contains("\"bogus\" (DATABASE_URL's sslmode or POSTGRES_SSLMODE) is not a mode"), "{text}");
        let refused = pg_config(&database("postgres://u:hunter2@db.example/care?sslmode=disable", false));
        let text = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("db.example") && !text.contains("hunter2"), "{text}");
    }

    /// An 'R' (authentication request) message with `code` and `extra` body bytes.
    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut message = vec![b'R'];
        message.extend(u32::try_from(8 + extra.len()).unwrap_or(0).to_be_bytes());
        message.extend(code.to_be_bytes());
        message.extend(extra);
        message
    }

    /// What a watch on a remote host says of `server` bytes after the client `wrote`, fed in every split.
    fn watched(wrote: &[u8], server: &[u8]) -> Vec<bool> {
        (1..=server.len().max(1))
            .map(|chunk| {
                let mut watch = Watch::on("db.example".into());
                watch.wrote(wrote);
                server.chunks(chunk).all(|part| watch.read(part).is_ok())
            })
            .collect()
    }

    #[test]
    fn a_password_request_without_tls_is_refused_however_the_bytes_arrive() {
        let startup = [0, 0, 0, 9, 0, 3, 0, 0, 0];
        let notice = [b'N', 0, 0, 0, 6, b'x', 0];
        let cases: Vec<(&[u8], Vec<u8>, bool, &str)> = vec![
            (&SSL_REQUEST, [&b"N"[..], &auth(3, &[])].concat(), false, "'N', then cleartext"),
            (&SSL_REQUEST, [&b"N"[..], &auth(5, b"salt")].concat(), false, "'N', then MD5"),
            (&startup, auth(3, &[]), false, "sslmode=disable, then cleartext"),
            (&startup, [&notice[..], &auth(3, &[])].concat(), false, "a notice first, then cleartext"),
            (&SSL_REQUEST, [&b"S"[..], &auth(3, &[])].concat(), true, "after 'S' the bytes are TLS"),
            (&startup, [auth(10, b"SCRAM-SHA-256\0\0"), auth(11, b"r=1"), auth(0, &[])].concat(), true, "SCRAM"),
            (&startup, [auth(0, &[]), auth(3, &[])].concat(), true, "nothing is checked once authenticated"),
        ];
        for (wrote, server, passes, message) in cases {
            assert!(watched(wrote, &server).iter().all(|&ok| ok == passes), "{message}");
        }
        let mut off = Watch::off();
        assert!(off.read(&auth(3, &[])).is_ok(), "a local host is not watched");
    }
}
