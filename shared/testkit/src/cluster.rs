//! A PostgreSQL cluster of a test's own, for faults that would hurt other tests: stopping and restarting the
//! server. Run by `infra/pg.sh` from the machine's PostgreSQL binaries, like the shared test cluster.

use std::path::PathBuf;

use tokio::process::Command;

/// A private cluster on a free loopback port; stopped and removed on drop.
pub struct Cluster {
    dir: PathBuf,
    port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/pg.sh")
}

async fn pg_sh(args: &[&str]) {
    let output = Command::new("bash")
        .arg(script())
        .args(args)
        .env("PG_SH_QUIET", "1")
        .output()
        .await
        .unwrap_or_else(|e| panic!("infra/pg.sh {args:?}: {e}"));
    assert!(
        output.status.success(),
        "infra/pg.sh {args:?} failed (it needs the PostgreSQL server binaries; see infra/pg.sh): {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cluster {
    /// Creates and starts a cluster (a second or two: initdb).
    pub async fn start() -> Cluster {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        // Under /tmp: when tests run as root the server runs as `postgres`, which must reach the directory.
        let dir = std::env::temp_dir().join(format!("zabota-cluster-{}", uuid::Uuid::new_v4().simple()));
        let cluster = Cluster { dir, port };
        cluster.start_again().await;
        cluster
    }

    /// The URL of database `db` (the superuser `postgres`, trust auth, loopback only).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server (fast shutdown: sessions are terminated, as in a restart or a failover).
    pub async fn stop(&self) {
        pg_sh(&["stop", &self.dir.to_string_lossy()]).await;
    }

    /// Starts the stopped server again on the same port and data.
    pub async fn start_again(&self) {
        pg_sh(&["start", &self.dir.to_string_lossy(), &self.port.to_string(), "--fast"]).await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .args(["stop", &self.dir.to_string_lossy()])
            .env("PG_SH_QUIET", "1")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
