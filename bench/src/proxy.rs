//! A TCP proxy in front of PostgreSQL that counts round trips: each time the client sends after the server has
//! answered, one more trip. Pipelined statements (sent together, answered together) count as one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy; runs until the bench ends.
pub struct CountingProxy {
    pub addr: std::net::SocketAddr,
    trips: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Listens on loopback and forwards every connection to `upstream` ("host:port").
    pub async fn start(upstream: String) -> anyhow::Result<CountingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let trips = Arc::new(AtomicU64::new(0));
        let counter = trips.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, trips) = (upstream.clone(), counter.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        forward(client, server, trips).await;
                    }
                });
            }
        });
        Ok(CountingProxy { addr, trips })
    }

    /// Round trips so far, over every connection.
    pub fn round_trips(&self) -> u64 {
        self.trips.load(Ordering::SeqCst)
    }
}

async fn forward(client: TcpStream, server: TcpStream, trips: Arc<AtomicU64>) {
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // True while the client is talking (its bytes came last).
    let client_turn = Arc::new(AtomicBool::new(false));
    let turn = client_turn.clone();
    let upstream = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            // Counted before forwarding, so the answer cannot hand the turn back first.
            if n > 0 && !turn.swap(true, Ordering::SeqCst) {
                trips.fetch_add(1, Ordering::SeqCst);
            }
            if n == 0 || server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buf).await {
            client_turn.store(false, Ordering::SeqCst);
            if n == 0 || client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
