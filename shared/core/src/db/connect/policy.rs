//! The TLS decision: the `sslmode` a connection string asks for (read as tokio-postgres reads it), whether its
//! hosts are all on this machine, and the mode to connect with, or a refusal.

use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio_postgres::config::{Host, SslMode};

use super::Config;
use crate::config::DatabaseConfig;
use crate::db::DbError;

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
pub(super) fn host_count(pg: &Config) -> usize {
    pg.get_hosts().len().max(pg.get_hostaddrs().len())
}

/// True when every host is on this machine; no host at all is not local.
pub(super) fn all_hosts_local(pg: &Config) -> bool {
    host_count(pg) > 0 && (0..host_count(pg)).all(|i| host_is_local(pg, i))
}

/// Host `i` is on this machine: a Unix socket, `localhost` or a loopback address, and its `hostaddr`, if any, is
/// loopback too. Decided on what is written, never on what a name resolves to.
pub(super) fn host_is_local(pg: &Config, i: usize) -> bool {
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
pub(super) fn host_label(pg: &Config, i: usize) -> String {
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
pub(super) fn host_labels(pg: &Config, remote_only: bool) -> String {
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

#[cfg(test)]
mod tests;
