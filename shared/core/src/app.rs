//! `App`: configuration, database pool and Bot API client, built once per process (once per Lambda cold start).

use crate::config::Config;
use crate::db::{self, DbError, Pool};
use crate::media::MediaStore;
use crate::telegram::TelegramClient;

/// Everything a handler needs. Holds no conversation state: that lives in PostgreSQL.
#[derive(Clone, Debug)]
pub struct App {
    /// The configuration read at start-up.
    pub config: Config,
    /// Database connections, opened lazily.
    pub db: Pool,
    /// The Bot API client for `config.telegram_api_url`.
    pub telegram: TelegramClient,
    /// Where media bytes go (`config.media`).
    pub media: MediaStore,
    /// The desk file (`config.desk`): the topics and the menu's texts.
    pub desk: crate::desk::Desk,
    /// Updates are handled concurrently (a webhook, where Telegram may deliver them out of order): the handler of
    /// an album's part waits the album out and sends it, and an edit that overtook its message is delivered again.
    /// Off for long polling, which handles updates one after another, in order (its outbox loop sends albums).
    pub concurrent_updates: bool,
}

/// Why the app could not be built. The Bot API client cannot fail here: its HTTP client is built on first use
/// (see [`App::prewarm`]), and a failure there is a network error of that call, retried like any other.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The database settings cannot make a pool: a connection string that does not parse, an unreadable CA
    /// bundle, a `sslmode` refused for a remote host.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The desk file cannot be read, or has problems (each listed with its line).
    #[error(transparent)]
    Desk(#[from] crate::desk::DeskError),
}

impl App {
    /// Builds the app without connecting to the database (the pool connects lazily), reading the desk file
    /// (`DESK_CONFIG`) and refusing an invalid one. `pool_size` is 1 on Lambda (one update at a time per
    /// environment) and larger for the local server.
    pub async fn new(config: Config, pool_size: usize) -> Result<Self, AppError> {
        let db = db::build_pool(&config.database, pool_size)?;
        let telegram = TelegramClient::new(&config.telegram_api_url, config.bot_token.clone());
        let media = MediaStore::from_config(&config.media).await;
        let desk = config.desk.load().await?;
        Ok(App { config, db, telegram, media, desk, concurrent_updates: true })
    }

    /// Whether the database answers a trivial query within `within` (a health check: a pooled connection, or a
    /// new one, and `SELECT 1` as a simple query, so nothing is prepared). A failure is logged without values.
    pub async fn database_answers(&self, within: std::time::Duration) -> bool {
        let check = async {
            let client = self.db.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok::<(), DbError>(())
        };
        match tokio::time::timeout(within, check).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: the database did not answer");
                false
            }
            Err(_) => {
                tracing::warn!(
                    within_ms = within.as_millis() as u64,
                    "health check: the database did not answer in time"
                );
                false
            }
        }
    }

    /// Starts, in the background, what the first update would otherwise wait for: the Bot API client's TLS
    /// set-up and a database connection. Returns at once, so a Lambda's init stays short and this work overlaps
    /// with the wait for the first event. Failures are only logged: the first update meets them again and
    /// answers for them.
    pub fn prewarm(&self) {
        let telegram = self.telegram.clone();
        drop(tokio::task::spawn_blocking(move || telegram.prewarm()));
        let db = self.db.clone();
        drop(tokio::spawn(async move {
            if let Err(e) = db.get().await {
                tracing::debug!(error = %e, "database connection not opened ahead of the first update");
            }
        }));
    }
}
