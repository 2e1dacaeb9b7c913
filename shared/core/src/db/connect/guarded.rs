//! Without TLS to a host not on this machine: our own connect loop, over a stream that refuses to let a
//! password request without TLS through (see [`Watch`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_postgres::config::{Host, LoadBalanceHosts, SslMode, TargetSessionAttrs};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{NoTls, SimpleQueryMessage};

use super::policy::{host_count, host_is_local, host_label};
use super::watch::Watch;
use super::{Config, Connected, LazyTls, drive};

/// Connects host by host as tokio-postgres does (hostaddr before host, each address of a name, load balancing,
/// the connect timeout, keepalives, target_session_attrs), but each over a [`Guarded`] stream. Used only when a
/// host not on this machine may be reached without TLS, which takes DATABASE_ALLOW_PLAINTEXT=true.
pub(super) async fn connect_guarded(pg: &Config, tls: &LazyTls) -> Result<Connected, tokio_postgres::Error> {
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
