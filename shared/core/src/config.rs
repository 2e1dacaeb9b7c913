//! Configuration: the only reader of the environment. Typed, validated, secrets wrapped.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// Telegram's own Bot API server; any compatible server (a self-hosted telegram-bot-api) works too.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";
/// History is promised for at least six months; a shorter retention is refused.
pub const MIN_HISTORY_RETENTION_DAYS: u32 = 183;
/// Default retention of messages, attachments and closed tickets.
pub const DEFAULT_HISTORY_RETENTION_DAYS: u32 = 365;

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
        /// `MEDIA_BUCKET`.
        bucket: String,
        /// `S3_ENDPOINT`, for S3-compatible servers (path-style addressing).
        endpoint: Option<String>,
    },
    /// A local folder, `MEDIA_ROOT`.
    Fs {
        /// The folder.
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
    /// The database.
    pub database: DatabaseConfig,
    /// `DEFAULT_REGION`: ISO country code for parsing typed phone numbers.
    pub default_region: String,
    /// `TELEGRAM_API_URL` without a trailing slash.
    pub telegram_api_url: String,
    /// `WEBHOOK_SECRET`: the `X-Telegram-Bot-Api-Secret-Token` Telegram sends with each webhook call.
    pub webhook_secret: Option<SecretString>,
    /// `MEDIA_BACKEND` and its settings.
    pub media: MediaBackend,
    /// `HISTORY_RETENTION_DAYS`.
    pub history_retention_days: u32,
    /// `TICKET_IDLE_CLOSE_AFTER`: an assigned ticket with no messages for this long is closed.
    pub ticket_idle_close_after: Duration,
    /// `TICKET_IDLE_WARN_BEFORE`: both sides are warned this long before an idle ticket is closed.
    pub ticket_idle_warn_before: Duration,
    /// `WAITING_REMINDER_AFTER`: a ticket still in the queue this long is announced again.
    pub waiting_reminder_after: Duration,
    /// `WAITING_REMINDER_INTERVAL`: at most one reminder per ticket per this interval.
    pub waiting_reminder_interval: Duration,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
}

impl DatabaseConfig {
    /// Reads only the database settings from the environment (for `zabota migrate` and deploy steps,
    /// which need no bot token).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(DatabaseConfig {
            url: database_url(get)?,
            ca_file: get("DATABASE_CA_FILE").map(PathBuf::from),
            allow_plaintext: parse_allow_plaintext(get("DATABASE_ALLOW_PLAINTEXT"))?,
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
        let bot_token = parse_bot_token(get("BOT_TOKEN"))?;
        let operators_chat_id = parse_operators_chat_id(get("OPERATORS_CHAT_ID"))?;
        let database = DatabaseConfig::from_lookup(&get)?;
        let default_region = parse_region(get("DEFAULT_REGION"))?;
        let telegram_api_url = parse_api_url(get("TELEGRAM_API_URL"))?;
        let webhook_secret = get("WEBHOOK_SECRET").map(parse_webhook_secret).transpose()?;
        let media = parse_media(get("MEDIA_BACKEND"), get("MEDIA_BUCKET"), get("S3_ENDPOINT"), get("MEDIA_ROOT"))?;
        let history_retention_days = parse_retention(get("HISTORY_RETENTION_DAYS"))?;
        let ticket_idle_close_after = parse_duration("TICKET_IDLE_CLOSE_AFTER", get("TICKET_IDLE_CLOSE_AFTER"), "24h")?;
        let ticket_idle_warn_before = parse_duration("TICKET_IDLE_WARN_BEFORE", get("TICKET_IDLE_WARN_BEFORE"), "1h")?;
        if ticket_idle_warn_before >= ticket_idle_close_after {
            return Err(invalid(
                "TICKET_IDLE_WARN_BEFORE",
                "the warning must come before the close: make it shorter than TICKET_IDLE_CLOSE_AFTER",
                "e.g. TICKET_IDLE_CLOSE_AFTER=24h with TICKET_IDLE_WARN_BEFORE=1h",
            ));
        }
        let waiting_reminder_after = parse_duration("WAITING_REMINDER_AFTER", get("WAITING_REMINDER_AFTER"), "15m")?;
        let waiting_reminder_interval =
            parse_duration("WAITING_REMINDER_INTERVAL", get("WAITING_REMINDER_INTERVAL"), "30m")?;
        let log_format = parse_log_format(get("LOG_FORMAT"), get("AWS_LAMBDA_FUNCTION_NAME").is_some())?;
        Ok(Config {
            bot_token,
            operators_chat_id,
            database,
            default_region,
            telegram_api_url,
            webhook_secret,
            media,
            history_retention_days,
            ticket_idle_close_after,
            ticket_idle_warn_before,
            waiting_reminder_after,
            waiting_reminder_interval,
            log_format,
        })
    }
}

fn invalid(name: &'static str, reason: impl Into<String>, hint: &'static str) -> ConfigError {
    ConfigError::Invalid { name, reason: reason.into(), hint }
}

fn parse_bot_token(value: Option<String>) -> Result<SecretString, ConfigError> {
    const HINT: &str = "Create a bot with @BotFather in Telegram (/newbot), then put its token in .env as \
        BOT_TOKEN=123456789:AAE... ; also set OPERATORS_CHAT_ID (see README, \"OPERATORS_CHAT_ID\").";
    let token = value.ok_or(ConfigError::Missing { name: "BOT_TOKEN", hint: HINT })?;
    let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && !secret.is_empty()
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if !well_formed {
        // Never echo the value: it is a secret even when malformed.
        return Err(invalid("BOT_TOKEN", "expected <digits>:<letters, digits, _ or ->", HINT));
    }
    Ok(SecretString::from(token))
}

fn parse_operators_chat_id(value: Option<String>) -> Result<i64, ConfigError> {
    const HINT: &str = "Use the operators' group chat id, e.g. OPERATORS_CHAT_ID=-1001234567890 \
        (add the bot to the group, write there, and read message.chat.id from getUpdates).";
    let raw = value.ok_or(ConfigError::Missing { name: "OPERATORS_CHAT_ID", hint: HINT })?;
    let id: i64 = raw.parse().map_err(|_| invalid("OPERATORS_CHAT_ID", format!("{raw:?} is not an integer"), HINT))?;
    if id >= 0 {
        return Err(invalid("OPERATORS_CHAT_ID", format!("{id} is not a group chat id (those are negative)"), HINT));
    }
    Ok(id)
}

fn database_url(get: &impl Fn(&str) -> Option<String>) -> Result<SecretString, ConfigError> {
    const HINT: &str = "Set DATABASE_URL=postgres://user:password@host:5432/care?sslmode=require \
        (or POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD); \
        `make run` starts a local PostgreSQL when neither is set.";
    if let Some(url) = get("DATABASE_URL") {
        return Ok(SecretString::from(url));
    }
    let Some(host) = get("POSTGRES_HOST") else {
        return Err(ConfigError::Missing { name: "DATABASE_URL", hint: HINT });
    };
    let port = get("POSTGRES_PORT").unwrap_or_else(|| "5432".into());
    if port.parse::<u16>().is_err() {
        return Err(invalid("POSTGRES_PORT", format!("{port:?} is not a port number"), "e.g. POSTGRES_PORT=5432"));
    }
    let user = get("POSTGRES_USER").ok_or(ConfigError::Missing { name: "POSTGRES_USER", hint: HINT })?;
    let db = get("POSTGRES_DB").unwrap_or_else(|| "care".into());
    // Key=value form: values are quoted, so passwords with spaces or '@' need no URL encoding.
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut conn = format!("host={} port={port} dbname={} user={}", quote(&host), quote(&db), quote(&user));
    if let Some(password) = get("POSTGRES_PASSWORD") {
        conn.push_str(&format!(" password={}", quote(&password)));
    }
    if let Some(mode) = get("POSTGRES_SSLMODE") {
        conn.push_str(&format!(" sslmode={}", quote(&mode)));
    }
    Ok(SecretString::from(conn))
}

fn parse_allow_plaintext(value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(invalid(
            "DATABASE_ALLOW_PLAINTEXT",
            format!("{other:?} is not true or false"),
            "Leave it unset (TLS is required for any database host not on this machine), or set \
             DATABASE_ALLOW_PLAINTEXT=true only when the network to the database is trusted",
        )),
    }
}

fn parse_region(value: Option<String>) -> Result<String, ConfigError> {
    let region = value.unwrap_or_else(|| "RU".into()).to_ascii_uppercase();
    if region.len() != 2 || !region.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid(
            "DEFAULT_REGION",
            format!("{region:?} is not a two-letter country code"),
            "e.g. DEFAULT_REGION=RU",
        ));
    }
    Ok(region)
}

fn parse_api_url(value: Option<String>) -> Result<String, ConfigError> {
    let url = value.unwrap_or_else(|| DEFAULT_TELEGRAM_API_URL.into());
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(invalid(
            "TELEGRAM_API_URL",
            format!("{url:?} is not an http(s) URL"),
            "e.g. TELEGRAM_API_URL=https://api.telegram.org",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn parse_webhook_secret(secret: String) -> Result<SecretString, ConfigError> {
    let ok = (1..=256).contains(&secret.len())
        && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(invalid(
            "WEBHOOK_SECRET",
            "Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and -",
            "generate one with `openssl rand -hex 32`",
        ));
    }
    Ok(SecretString::from(secret))
}

fn parse_media(
    backend: Option<String>,
    bucket: Option<String>,
    endpoint: Option<String>,
    root: Option<String>,
) -> Result<MediaBackend, ConfigError> {
    const HINT: &str = "MEDIA_BACKEND is one of s3 (with MEDIA_BUCKET), fs (with MEDIA_ROOT, default ./media) or off";
    match backend.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("fs") => Ok(MediaBackend::Fs { root: PathBuf::from(root.unwrap_or_else(|| "media".into())) }),
        Some("off") => Ok(MediaBackend::Off),
        Some("s3") => {
            let bucket = bucket.ok_or(ConfigError::Missing {
                name: "MEDIA_BUCKET",
                hint: "MEDIA_BACKEND=s3 needs a bucket, e.g. MEDIA_BUCKET=zabota-media",
            })?;
            Ok(MediaBackend::S3 { bucket, endpoint })
        }
        Some(other) => Err(invalid("MEDIA_BACKEND", format!("{other:?} is not a known backend"), HINT)),
    }
}

fn parse_retention(value: Option<String>) -> Result<u32, ConfigError> {
    const HINT: &str = "History is kept at least 6 months: use HISTORY_RETENTION_DAYS=183 or more (default 365)";
    let Some(raw) = value else { return Ok(DEFAULT_HISTORY_RETENTION_DAYS) };
    let days: u32 = raw
        .parse()
        .map_err(|_| invalid("HISTORY_RETENTION_DAYS", format!("{raw:?} is not a whole number of days"), HINT))?;
    if days < MIN_HISTORY_RETENTION_DAYS {
        return Err(invalid(
            "HISTORY_RETENTION_DAYS",
            format!("{days} days is shorter than the promised {MIN_HISTORY_RETENTION_DAYS}"),
            HINT,
        ));
    }
    Ok(days)
}

fn parse_duration(name: &'static str, value: Option<String>, default: &str) -> Result<Duration, ConfigError> {
    const HINT: &str = "Use a duration such as 24h, 90m, 2d or 1h 30m (at least a minute)";
    let raw = value.unwrap_or_else(|| default.to_owned());
    let duration = humantime::parse_duration(&raw).map_err(|e| invalid(name, format!("{raw:?}: {e}"), HINT))?;
    if duration < Duration::from_secs(60) {
        return Err(invalid(name, format!("{raw:?} is shorter than a minute"), HINT));
    }
    Ok(duration)
}

fn parse_log_format(value: Option<String>, on_lambda: bool) -> Result<LogFormat, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None if on_lambda => Ok(LogFormat::Json),
        None | Some("pretty") => Ok(LogFormat::Pretty),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => {
            Err(invalid("LOG_FORMAT", format!("{other:?} is not a format"), "LOG_FORMAT=json or LOG_FORMAT=pretty"))
        }
    }
}
