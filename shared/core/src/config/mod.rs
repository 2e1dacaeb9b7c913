//! Configuration: the only reader of the environment. Typed, validated, secrets wrapped. The settings live here,
//! one parser per variable in `parse.rs`, working hours in `hours.rs`, Telegram's flood limits in `limits.rs`, and
//! the AWS SDK's configuration, loaded once per process, in `aws.rs`.

pub(crate) mod aws;
pub mod hours;
mod limits;
mod parse;

pub use limits::{Rate, SendLimits};

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// Telegram's own Bot API server; any compatible server (a self-hosted telegram-bot-api) works too.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";
/// History is promised for at least six months; a shorter retention is refused.
pub const MIN_HISTORY_RETENTION_DAYS: u32 = 183;
/// Default retention of messages, attachments and closed tickets.
pub const DEFAULT_HISTORY_RETENTION_DAYS: u32 = 365;
/// The zone `WORKING_HOURS` are read in when `WORKING_HOURS_TZ` is not set.
pub const DEFAULT_WORKING_HOURS_TZ: &str = "Europe/Moscow";

/// A configuration problem: names the variable and shows what a valid value looks like.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{name} is not set. {hint}")]
    Missing {
        /// The environment variable.
        name: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// A variable is set to something we cannot use.
    #[error("{name} is invalid: {reason}. {hint}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
        /// What a valid value looks like.
        hint: &'static str,
    },
}

/// Where media bytes go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaBackend {
    /// An S3 bucket (or an S3-compatible server at `endpoint`).
    S3 {
        /// `MEDIA_BUCKET`: the bucket's name.
        bucket: String,
        /// `S3_ENDPOINT`, for S3-compatible servers (path-style addressing).
        endpoint: Option<String>,
    },
    /// A local folder, `MEDIA_ROOT`.
    Fs {
        /// `MEDIA_ROOT`, default `./media`; keys are paths below it.
        root: PathBuf,
    },
    /// Metadata only; no bytes are kept.
    Off,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (Lambda, CloudWatch).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// How to reach PostgreSQL.
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// A libpq-style URL or key=value string; may carry a password, so it is secret.
    pub url: SecretString,
    /// PEM bundle of extra trusted CAs (e.g. the AWS RDS global bundle), `DATABASE_CA_FILE`.
    pub ca_file: Option<PathBuf>,
    /// `DATABASE_ALLOW_PLAINTEXT`: the network to a host not on this machine is trusted, so `sslmode` disable,
    /// allow or prefer may be used for it (a password is still never sent unencrypted). Default false.
    pub allow_plaintext: bool,
}

/// Everything the bot needs to run, read once at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    /// `BOT_TOKEN` from @BotFather.
    pub bot_token: SecretString,
    /// `OPERATORS_CHAT_ID`: the operators' group chat.
    pub operators_chat_id: i64,
    /// How to reach PostgreSQL (`DATABASE_URL` or the `POSTGRES_*` variables).
    pub database: DatabaseConfig,
    /// `DEFAULT_REGION`: ISO country code for parsing typed phone numbers.
    pub default_region: String,
    /// `TELEGRAM_API_URL` without a trailing slash.
    pub telegram_api_url: String,
    /// `WEBHOOK_SECRET`: the `X-Telegram-Bot-Api-Secret-Token` Telegram sends with each webhook call.
    pub webhook_secret: Option<SecretString>,
    /// `MEDIA_BACKEND` (`s3`, `fs` or `off`) and the settings of the backend it names.
    pub media: MediaBackend,
    /// `DESK_CONFIG`: where the desk file comes from (the built-in one when unset).
    pub desk: crate::desk::DeskSource,
    /// `HISTORY_RETENTION_DAYS`: messages, attachments and closed tickets older than this are deleted (at least
    /// [`MIN_HISTORY_RETENTION_DAYS`], default [`DEFAULT_HISTORY_RETENTION_DAYS`]).
    pub history_retention_days: u32,
    /// `TICKET_IDLE_CLOSE_AFTER`: an assigned ticket with no messages for this long is closed.
    pub ticket_idle_close_after: Duration,
    /// `TICKET_IDLE_WARN_BEFORE`: both sides are warned this long before an idle ticket is closed.
    pub ticket_idle_warn_before: Duration,
    /// `WAITING_REMINDER_AFTER`: a ticket still in the queue this long is announced again.
    pub waiting_reminder_after: Duration,
    /// `WAITING_REMINDER_INTERVAL`: at most one reminder per ticket per this interval.
    pub waiting_reminder_interval: Duration,
    /// `WAITING_REMINDER_MAX`: at most this many reminders per ticket (0: none); the last one says it is the last.
    pub waiting_reminder_max: u32,
    /// `WAITING_EXPIRE_AFTER`: a ticket still in the queue this long is closed as expired, and its customer told.
    pub waiting_expire_after: Duration,
    /// `FLOOD_MESSAGES_PER_MINUTE`: a customer who sends more than this many messages within a minute in a ticket
    /// is told once to slow down (every message is still stored and delivered, paced); 0: never told.
    pub flood_messages_per_minute: u32,
    /// `MAX_TICKETS_PER_DAY`: a customer opens at most this many tickets within 24 hours (cancel-and-reopen
    /// loops); 0: no limit.
    pub max_tickets_per_day: u32,
    /// `SUPERVISOR_IDS`: Telegram user ids that are supervisors whatever the operators' chat says (default none).
    pub supervisor_ids: Vec<i64>,
    /// `ROLE_CACHE_TTL`: how long a role the operators' chat gave is trusted before it is asked again (1s to 1h,
    /// default 60s); an operator removed from the chat loses the desk within it.
    pub role_cache_ttl: Duration,
    /// `WORKING_HOURS`, read in `WORKING_HOURS_TZ` (default [`DEFAULT_WORKING_HOURS_TZ`]): when operators are at
    /// the desk. `None` (unset): there are no off hours.
    pub working_hours: Option<hours::WorkingHours>,
    /// `WORKING_HOURS_TZ`: the desk's time zone (default [`DEFAULT_WORKING_HOURS_TZ`]); working hours are read in
    /// it and the dialog so far shows its times in it.
    pub desk_tz: chrono_tz::Tz,
    /// `LOG_FORMAT`: `json` (the default on Lambda) or `pretty`.
    pub log_format: LogFormat,
    /// `TELEGRAM_GROUP_LIMIT`, `TELEGRAM_CHAT_LIMIT`, `TELEGRAM_BOT_LIMIT`: what the outbox sends within.
    pub send_limits: SendLimits,
}

impl DatabaseConfig {
    /// Reads only the database settings from the environment (for `zabota migrate` and deploy steps,
    /// which need no bot token).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
    }

    /// Reads only the database settings through `get` (`DATABASE_URL` or `POSTGRES_*`, the CA file, the
    /// plaintext opt-in).
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(DatabaseConfig {
            url: parse::database_url(get)?,
            ca_file: get("DATABASE_CA_FILE").map(PathBuf::from),
            allow_plaintext: parse::allow_plaintext(get("DATABASE_ALLOW_PLAINTEXT"))?,
        })
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `get` (the environment, or a map in tests). Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let bot_token = parse::bot_token(get("BOT_TOKEN"))?;
        let operators_chat_id = parse::operators_chat_id(get("OPERATORS_CHAT_ID"))?;
        let database = DatabaseConfig::from_lookup(&get)?;
        let default_region = parse::region(get("DEFAULT_REGION"))?;
        let telegram_api_url = parse::api_url(get("TELEGRAM_API_URL"))?;
        let webhook_secret = get("WEBHOOK_SECRET").map(parse::webhook_secret).transpose()?;
        let media = parse::media(get("MEDIA_BACKEND"), get("MEDIA_BUCKET"), get("S3_ENDPOINT"), get("MEDIA_ROOT"))?;
        let desk = crate::desk::DeskSource::parse(get("DESK_CONFIG").as_deref(), get("S3_ENDPOINT").as_deref())
            .map_err(|reason| parse::invalid("DESK_CONFIG", reason, "a path to a desk file, or s3://bucket/key"))?;
        let history_retention_days = parse::retention(get("HISTORY_RETENTION_DAYS"))?;
        let duration = |name: &'static str, default: &str| parse::duration(name, get(name), default);
        let ticket_idle_close_after = duration("TICKET_IDLE_CLOSE_AFTER", "24h")?;
        let ticket_idle_warn_before = duration("TICKET_IDLE_WARN_BEFORE", "1h")?;
        if ticket_idle_warn_before >= ticket_idle_close_after {
            return Err(parse::invalid(
                "TICKET_IDLE_WARN_BEFORE",
                "the warning must come before the close: make it shorter than TICKET_IDLE_CLOSE_AFTER",
                "e.g. TICKET_IDLE_CLOSE_AFTER=24h with TICKET_IDLE_WARN_BEFORE=1h",
            ));
        }
        let waiting_reminder_after = duration("WAITING_REMINDER_AFTER", "15m")?;
        let waiting_reminder_interval = duration("WAITING_REMINDER_INTERVAL", "30m")?;
        let waiting_reminder_max = parse::count("WAITING_REMINDER_MAX", get("WAITING_REMINDER_MAX"), 3)?;
        let waiting_expire_after = duration("WAITING_EXPIRE_AFTER", "24h")?;
        let flood_messages_per_minute =
            parse::count("FLOOD_MESSAGES_PER_MINUTE", get("FLOOD_MESSAGES_PER_MINUTE"), 20)?;
        let max_tickets_per_day = parse::count("MAX_TICKETS_PER_DAY", get("MAX_TICKETS_PER_DAY"), 10)?;
        let supervisor_ids = parse::supervisor_ids(get("SUPERVISOR_IDS"))?;
        let role_cache_ttl = parse::role_cache_ttl(get("ROLE_CACHE_TTL"))?;
        let desk_tz = parse::time_zone(get("WORKING_HOURS_TZ").unwrap_or_else(|| DEFAULT_WORKING_HOURS_TZ.to_owned()))?;
        let working_hours = parse::working_hours(get("WORKING_HOURS"), desk_tz)?;
        let log_format = parse::log_format(get("LOG_FORMAT"), get("AWS_LAMBDA_FUNCTION_NAME").is_some())?;
        let send_limits = SendLimits::from_lookup(&get)?;
        Ok(Config {
            bot_token,
            operators_chat_id,
            database,
            default_region,
            telegram_api_url,
            webhook_secret,
            media,
            desk,
            history_retention_days,
            ticket_idle_close_after,
            ticket_idle_warn_before,
            waiting_reminder_after,
            waiting_reminder_interval,
            waiting_reminder_max,
            waiting_expire_after,
            flood_messages_per_minute,
            max_tickets_per_day,
            supervisor_ids,
            role_cache_ttl,
            working_hours,
            desk_tz,
            log_format,
            send_limits,
        })
    }
}
