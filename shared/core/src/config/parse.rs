//! One parser per environment variable: each turns the raw value (trimmed; `None` when unset or empty) into its
//! typed setting, or a [`ConfigError`] that names the variable and shows a valid value. Secrets are never echoed.

use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use secrecy::SecretString;

use super::hours::{self, WorkingHours};
use super::{
    ConfigError, DEFAULT_HISTORY_RETENTION_DAYS, DEFAULT_TELEGRAM_API_URL, LogFormat, MIN_HISTORY_RETENTION_DAYS,
    MediaBackend,
};

pub(super) fn invalid(name: &'static str, reason: impl Into<String>, hint: &'static str) -> ConfigError {
    ConfigError::Invalid { name, reason: reason.into(), hint }
}

pub(super) fn bot_token(value: Option<String>) -> Result<SecretString, ConfigError> {
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

pub(super) fn operators_chat_id(value: Option<String>) -> Result<i64, ConfigError> {
    const HINT: &str = "Use the operators' group chat id, e.g. OPERATORS_CHAT_ID=-1001234567890 \
        (add the bot to the group, write there, and read message.chat.id from getUpdates).";
    let raw = value.ok_or(ConfigError::Missing { name: "OPERATORS_CHAT_ID", hint: HINT })?;
    let id: i64 = raw.parse().map_err(|_| invalid("OPERATORS_CHAT_ID", format!("{raw:?} is not an integer"), HINT))?;
    if id >= 0 {
        return Err(invalid("OPERATORS_CHAT_ID", format!("{id} is not a group chat id (those are negative)"), HINT));
    }
    Ok(id)
}

/// `DATABASE_URL`, or a key=value connection string built from the `POSTGRES_*` variables.
pub(super) fn database_url(get: &impl Fn(&str) -> Option<String>) -> Result<SecretString, ConfigError> {
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

pub(super) fn allow_plaintext(value: Option<String>) -> Result<bool, ConfigError> {
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

pub(super) fn region(value: Option<String>) -> Result<String, ConfigError> {
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

pub(super) fn api_url(value: Option<String>) -> Result<String, ConfigError> {
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

pub(super) fn webhook_secret(secret: String) -> Result<SecretString, ConfigError> {
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

/// `MEDIA_BACKEND` with the variables of the backend it names (`MEDIA_BUCKET`, `S3_ENDPOINT`, `MEDIA_ROOT`).
pub(super) fn media(
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

pub(super) fn retention(value: Option<String>) -> Result<u32, ConfigError> {
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

/// A humantime duration of at least a minute; `default` when unset.
pub(super) fn duration(name: &'static str, value: Option<String>, default: &str) -> Result<Duration, ConfigError> {
    const HINT: &str = "Use a duration such as 24h, 90m, 2d or 1h 30m (at least a minute)";
    let (raw, duration) = humantime_duration(name, value, default, HINT)?;
    if duration < Duration::from_secs(60) {
        return Err(invalid(name, format!("{raw:?} is shorter than a minute"), HINT));
    }
    Ok(duration)
}

/// `ROLE_CACHE_TTL`: from a second to an hour, default a minute.
pub(super) fn role_cache_ttl(value: Option<String>) -> Result<Duration, ConfigError> {
    const HINT: &str = "Use a duration from 1s to 1h such as ROLE_CACHE_TTL=60s or 5m: an operator removed from the \
        operators' chat keeps the desk at most this long";
    let (raw, ttl) = humantime_duration("ROLE_CACHE_TTL", value, "60s", HINT)?;
    if ttl < Duration::from_secs(1) {
        return Err(invalid("ROLE_CACHE_TTL", format!("{raw:?} is shorter than a second"), HINT));
    }
    if ttl > Duration::from_secs(3600) {
        return Err(invalid("ROLE_CACHE_TTL", format!("{raw:?} is longer than an hour"), HINT));
    }
    Ok(ttl)
}

/// The raw text (`default` when unset) and the humantime duration it spells.
fn humantime_duration(
    name: &'static str,
    value: Option<String>,
    default: &str,
    hint: &'static str,
) -> Result<(String, Duration), ConfigError> {
    let raw = value.unwrap_or_else(|| default.to_owned());
    let duration = humantime::parse_duration(&raw).map_err(|e| invalid(name, format!("{raw:?}: {e}"), hint))?;
    Ok((raw, duration))
}

/// A small count (0 to 100); `default` when unset.
pub(super) fn count(name: &'static str, value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    const HINT: &str = "Use a whole number from 0 to 100";
    let Some(raw) = value else { return Ok(default) };
    match raw.parse::<u32>() {
        Ok(n) if n <= 100 => Ok(n),
        _ => Err(invalid(name, format!("{raw:?} is not a count from 0 to 100"), HINT)),
    }
}

/// `LOG_FORMAT`; unset, it is JSON on Lambda and pretty elsewhere.
pub(super) fn log_format(value: Option<String>, on_lambda: bool) -> Result<LogFormat, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None if on_lambda => Ok(LogFormat::Json),
        None | Some("pretty") => Ok(LogFormat::Pretty),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => {
            Err(invalid("LOG_FORMAT", format!("{other:?} is not a format"), "LOG_FORMAT=json or LOG_FORMAT=pretty"))
        }
    }
}

/// `SUPERVISOR_IDS`: Telegram user ids separated by commas; none when unset.
pub(super) fn supervisor_ids(value: Option<String>) -> Result<Vec<i64>, ConfigError> {
    const HINT: &str = "List Telegram user ids separated by commas, e.g. SUPERVISOR_IDS=123456789, 987654321 (a \
        user's id is message.from.id in getUpdates), or leave it unset for none";
    let Some(raw) = value else { return Ok(Vec::new()) };
    let id = |item: &str| match item.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        Ok(id) => Err(invalid("SUPERVISOR_IDS", format!("{id} is not a user id (those are positive)"), HINT)),
        Err(_) => Err(invalid("SUPERVISOR_IDS", format!("{item:?} is not an integer"), HINT)),
    };
    raw.split(',').map(str::trim).filter(|item| !item.is_empty()).map(id).collect()
}

/// `WORKING_HOURS`, read in `WORKING_HOURS_TZ` (default [`DEFAULT_WORKING_HOURS_TZ`]); unset, there are none and the
/// zone is not read.
pub(super) fn working_hours(value: Option<String>, tz: Tz) -> Result<Option<WorkingHours>, ConfigError> {
    const HINT: &str = "Write shifts as DAYS HH:MM-HH:MM separated by ; e.g. WORKING_HOURS=Mon-Fri 09:00-18:00; Sat \
        10:00-15:00 (a day Mon..Sun or a range such as Mon-Fri; an end before the start runs past midnight, as in \
        Fri 22:00-02:00; 24:00 ends at midnight), or leave it unset for always open";
    let Some(rules) = value else { return Ok(None) };
    hours::parse(&rules, tz).map(Some).map_err(|reason| invalid("WORKING_HOURS", reason, HINT))
}

/// An IANA zone name from the bundled database; letter case does not matter.
pub(super) fn time_zone(name: String) -> Result<Tz, ConfigError> {
    let known = name.parse::<Tz>().ok();
    let known =
        known.or_else(|| chrono_tz::TZ_VARIANTS.iter().find(|tz| tz.name().eq_ignore_ascii_case(&name)).copied());
    known.ok_or_else(|| {
        invalid(
            "WORKING_HOURS_TZ",
            format!("{name:?} is not an IANA time zone"),
            "Use a zone name such as WORKING_HOURS_TZ=Europe/Moscow or Asia/Yekaterinburg (default Europe/Moscow)",
        )
    })
}
