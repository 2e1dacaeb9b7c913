//! `App`: configuration, database pool and Bot API client, built once per process (once per Lambda cold start).

use crate::config::Config;
use crate::db::{self, DbError, Pool};
use crate::telegram::{TelegramClient, TelegramError};

/// Everything a handler needs. Holds no conversation state: that lives in PostgreSQL.
#[derive(Clone, Debug)]
pub struct App {
    /// Settings.
    pub config: Config,
    /// Database connections (opened lazily).
    pub db: Pool,
    /// Bot API client.
    pub telegram: TelegramClient,
}

/// Why the app could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Database settings.
    #[error(transparent)]
    Db(#[from] DbError),
    /// HTTP client set-up.
    #[error(transparent)]
    Telegram(#[from] TelegramError),
}

impl App {
    /// Builds the app without any network I/O. `pool_size` is 1 on Lambda (one update at a time per
    /// environment) and larger for the local server.
    pub fn new(config: Config, pool_size: usize) -> Result<Self, AppError> {
        let db = db::build_pool(&config.database, pool_size)?;
        let telegram = TelegramClient::new(&config.telegram_api_url, config.bot_token.clone())?;
        Ok(App { config, db, telegram })
    }
}
