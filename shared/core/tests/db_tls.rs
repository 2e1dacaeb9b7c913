//! TLS to PostgreSQL cannot be downgraded: a host not on this machine gets verified TLS, or (only with
//! DATABASE_ALLOW_PLAINTEXT=true) a session without it that still never sends the password in the clear.
//! The attacker is a tiny plaintext-only server of the test's own on 127.0.0.1, reached by a remote *name*
//! (`host=db.example hostaddr=127.0.0.1`): the policy judges the name, while no byte leaves loopback.
//! The real test PostgreSQL shows that loopback and the opt-in still connect.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zabota_core::config::DatabaseConfig;
use zabota_core::db;

const PASSWORD: &str = "s3cret-pw";

/// What the fake server was sent.
#[derive(Debug, Default)]
struct Seen {
    connections: usize,
    ssl_requests: usize,
    passwords: Vec<String>,
}

/// Speaks no TLS: answers 'N' to an SSLRequest, then asks for the password in clear text (or as MD5).
struct PlaintextServer {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl PlaintextServer {
    async fn start(md5: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                record.lock().unwrap().connections += 1;
                let record = record.clone();
                tokio::spawn(async move { serve(socket, &record, md5).await.ok() });
            }
        });
        PlaintextServer { port, seen }
    }

    /// A connection string that names a remote host but reaches this server.
    fn remote(&self, sslmode: Option<&str>) -> String {
        let mode = sslmode.map(|m| format!(" sslmode={m}")).unwrap_or_default();
        format!("host=db.example hostaddr=127.0.0.1 port={} user=bot password={PASSWORD} dbname=care{mode}", self.port)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

/// A message without a type byte (SSLRequest, startup): its body.
async fn read_untyped(socket: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = socket.read_u32().await? as usize;
    let mut body = vec![0; len.saturating_sub(4)];
    socket.read_exact(&mut body).await?;
    Ok(body)
}

async fn serve(mut socket: TcpStream, seen: &Mutex<Seen>, md5: bool) -> std::io::Result<()> {
    if read_untyped(&mut socket).await? == [0x04, 0xd2, 0x16, 0x2f] {
        seen.lock().unwrap().ssl_requests += 1;
        socket.write_all(b"N").await?;
        read_untyped(&mut socket).await?; // the startup message
    }
    let request: &[u8] =
        if md5 { &[b'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4] } else { &[b'R', 0, 0, 0, 8, 0, 0, 0, 3] };
    socket.write_all(request).await?;
    let kind = socket.read_u8().await?;
    let body = read_untyped(&mut socket).await?;
    if kind == b'p' {
        seen.lock().unwrap().passwords.push(String::from_utf8_lossy(&body).trim_end_matches('\0').to_owned());
    }
    Ok(()) // closing: the client learns nothing more
}

fn database(url: &str, allow_plaintext: bool) -> DatabaseConfig {
    DatabaseConfig { url: url.into(), ca_file: None, allow_plaintext }
}

/// An error and its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// `db::connect`'s error (with a time limit, so a hang is a failure).
async fn connect_error(config: &DatabaseConfig) -> String {
    match tokio::time::timeout(Duration::from_secs(10), db::connect(config)).await {
        Ok(Ok(_)) => panic!("the connection should have been refused"),
        Ok(Err(e)) => chain(&e),
        Err(_) => panic!("db::connect hung"),
    }
}

/// The pool's error on checkout (or on building it).
async fn pool_error(config: &DatabaseConfig) -> String {
    let pool = match db::build_pool(config, 1) {
        Ok(pool) => pool,
        Err(e) => return chain(&e),
    };
    match tokio::time::timeout(Duration::from_secs(15), pool.get()).await {
        Ok(Ok(_)) => panic!("the pool should not have connected"),
        Ok(Err(e)) => chain(&e),
        Err(_) => panic!("the pool hung"),
    }
}

fn assert_names(text: &str, names: &[&str]) {
    for name in names {
        assert!(text.contains(name), "the message should name {name}: {text}");
    }
    assert!(!text.contains(PASSWORD), "the message shows the password: {text}");
}

#[tokio::test]
async fn a_remote_host_without_sslmode_gets_tls_or_nothing_and_never_the_password() {
    let server = PlaintextServer::start(false).await;
    let config = database(&server.remote(None), false);

    assert_names(&connect_error(&config).await, &["offers no TLS", "sslmode", "DATABASE_ALLOW_PLAINTEXT"]);
    assert_names(&pool_error(&config).await, &["server does not support TLS"]);

    let seen = server.seen();
    assert_eq!(seen.ssl_requests, 2, "both tried TLS first: {seen:?}");
    assert!(seen.passwords.is_empty(), "the password went out in the clear: {seen:?}");
}

#[tokio::test]
async fn sslmode_disable_prefer_or_allow_to_a_remote_host_is_refused_before_any_connection() {
    let server = PlaintextServer::start(false).await;
    for mode in ["disable", "prefer", "allow"] {
        let config = database(&server.remote(Some(mode)), false);
        let names = ["DATABASE_URL", "POSTGRES_SSLMODE", "DATABASE_ALLOW_PLAINTEXT", "db.example"];
        assert_names(&connect_error(&config).await, &names);
        assert_names(&pool_error(&config).await, &names);
    }
    let seen = server.seen();
    assert_eq!(seen.connections, 0, "refused before connecting: {seen:?}");
}

#[tokio::test]
async fn with_the_opt_in_a_password_is_still_never_sent_in_the_clear_or_as_md5() {
    for md5 in [false, true] {
        for mode in ["disable", "prefer"] {
            let server = PlaintextServer::start(md5).await;
            let config = database(&server.remote(Some(mode)), true);
            let names = ["db.example", "not sent", "DATABASE_ALLOW_PLAINTEXT", "sslmode=require"];
            assert_names(&connect_error(&config).await, &names);
            assert_names(&pool_error(&config).await, &names);
            let seen = server.seen();
            assert_eq!(seen.connections, 2, "md5={md5} sslmode={mode}: both were let through: {seen:?}");
            assert!(seen.passwords.is_empty(), "md5={md5} sslmode={mode}: the password went out: {seen:?}");
        }
    }
}

#[tokio::test]
async fn loopback_and_the_opt_in_still_reach_the_real_postgres() {
    let url = std::env::var(zabota_testkit::pg::TEST_DATABASE_URL).unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_URL is not set: run `infra/with-test-services.sh cargo test -p zabota-core --test db_tls`"
        )
    });
    let select_one = |client: tokio_postgres::Client| async move {
        client.query_one("SELECT 1::int4", &[]).await.map(|row| row.get::<_, i32>(0))
    };
    let loopback = db::connect(&database(&url, false)).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(select_one(loopback).await.unwrap(), 1, "loopback without sslmode, as the test suite connects");

    // The same server by a name that is not on this machine: TLS is now required, and it has none.
    let pg: tokio_postgres::Config = url.parse().unwrap();
    let by_name = format!(
        "host=db.example hostaddr=127.0.0.1 port={} user={} dbname=postgres",
        pg.get_ports()[0],
        pg.get_user().unwrap_or("postgres")
    );
    assert_names(&connect_error(&database(&by_name, false)).await, &["offers no TLS"]);
    let disable = format!("{by_name} sslmode=disable");
    assert_names(&connect_error(&database(&disable, false)).await, &["DATABASE_ALLOW_PLAINTEXT"]);

    // With the opt-in it connects, alone and through the pool (trust authentication asks for no password). The
    // pool's connections prepare the desk's statements as they open, so the pool is pointed at a migrated database.
    let client = db::connect(&database(&disable, true)).await.unwrap_or_else(|e| panic!("opt-in: {e}"));
    assert_eq!(select_one(client).await.unwrap(), 1);
    let migrated = zabota_testkit::TestDb::new().await;
    let pool =
        db::build_pool(&database(&disable.replace("dbname=postgres", &format!("dbname={}", migrated.name)), true), 1)
            .unwrap();
    let pooled = pool.get().await.unwrap_or_else(|e| panic!("opt-in pool: {}", chain(&e)));
    let row = pooled.query_one("SELECT 2::int4", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 2);
}
