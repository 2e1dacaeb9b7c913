//! Configuration: clear refusals that name the variable, sane defaults, secrets that cannot be printed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::collections::HashMap;
use std::time::Duration;

use secrecy::ExposeSecret;
use zabota_core::Config;
use zabota_core::config::{ConfigError, LogFormat, MediaBackend};

const TOKEN: &str = "123456789:AAE-secret_TOKEN_value";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = [
        ("BOT_TOKEN", TOKEN),
        ("OPERATORS_CHAT_ID", "-1001234567890"),
        ("DATABASE_URL", "postgres://bot:pw@db.example:5432/care?sslmode=require"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in pairs {
        if v.is_empty() {
            map.remove(*k);
        } else {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    map
}

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map = env(pairs);
    Config::from_lookup(|k| map.get(k).cloned())
}

fn error_of(pairs: &[(&str, &str)]) -> String {
    match load(pairs) {
        Ok(_) => panic!("config {pairs:?} should have been refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_complete_environment_gives_the_documented_defaults() {
    let config = load(&[]).unwrap();
    assert_eq!(config.operators_chat_id, -1001234567890);
    assert_eq!(config.default_region, "RU");
    assert_eq!(config.telegram_api_url, "https://api.telegram.org");
    assert_eq!(config.history_retention_days, 365);
    assert_eq!(config.ticket_idle_close_after, Duration::from_secs(24 * 3600));
    assert_eq!(config.media, MediaBackend::Fs { root: "media".into() });
    assert_eq!(config.log_format, LogFormat::Pretty);
    assert!(config.webhook_secret.is_none());
}

#[test]
fn a_missing_bot_token_is_refused_with_how_to_get_one() {
    let message = error_of(&[("BOT_TOKEN", "")]);
    assert!(message.starts_with("BOT_TOKEN is not set"), "{message}");
    assert!(message.contains("@BotFather"), "{message}");
}

#[test]
fn a_malformed_bot_token_is_refused_without_echoing_it() {
    let message = error_of(&[("BOT_TOKEN", "not a token, secret123")]);
    assert!(message.contains("BOT_TOKEN is invalid"), "{message}");
    assert!(!message.contains("secret123"), "{message}");
}

#[test]
fn a_retention_of_30_days_is_refused_because_history_is_kept_six_months() {
    let message = error_of(&[("HISTORY_RETENTION_DAYS", "30")]);
    assert!(message.contains("HISTORY_RETENTION_DAYS"), "{message}");
    assert!(message.contains("183"), "{message}");
    assert_eq!(load(&[("HISTORY_RETENTION_DAYS", "183")]).unwrap().history_retention_days, 183);
}

#[test]
fn the_operators_chat_must_be_a_group() {
    assert!(error_of(&[("OPERATORS_CHAT_ID", "12345")]).contains("OPERATORS_CHAT_ID is invalid"));
    assert!(error_of(&[("OPERATORS_CHAT_ID", "abc")]).contains("OPERATORS_CHAT_ID is invalid"));
    assert!(error_of(&[("OPERATORS_CHAT_ID", "")]).starts_with("OPERATORS_CHAT_ID is not set"));
}

#[test]
fn the_seeds_postgres_variables_are_used_when_database_url_is_absent() {
    let config = load(&[
        ("DATABASE_URL", ""),
        ("POSTGRES_HOST", "db"),
        ("POSTGRES_PORT", "5433"),
        ("POSTGRES_DB", "care"),
        ("POSTGRES_USER", "admin"),
        ("POSTGRES_PASSWORD", "p@ss word"),
    ])
    .unwrap();
    let pg = zabota_core::db::pg_config(&config.database).unwrap();
    assert_eq!(pg.get_dbname(), Some("care"));
    assert_eq!(pg.get_user(), Some("admin"));
    assert_eq!(pg.get_ports(), &[5433]);
    assert_eq!(pg.get_password(), Some(&b"p@ss word"[..]));
}

#[test]
fn database_url_wins_over_the_postgres_variables() {
    let config = load(&[("POSTGRES_HOST", "ignored")]).unwrap();
    let pg = zabota_core::db::pg_config(&config.database).unwrap();
    assert_eq!(pg.get_dbname(), Some("care"));
    assert_eq!(pg.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
}

#[test]
fn no_database_at_all_is_refused_naming_database_url() {
    assert!(error_of(&[("DATABASE_URL", "")]).starts_with("DATABASE_URL is not set"));
}

#[test]
fn media_backends_are_parsed_and_s3_needs_a_bucket() {
    assert!(error_of(&[("MEDIA_BACKEND", "s3")]).starts_with("MEDIA_BUCKET is not set"));
    assert!(error_of(&[("MEDIA_BACKEND", "ftp")]).contains("MEDIA_BACKEND is invalid"));
    let s3 = load(&[("MEDIA_BACKEND", "s3"), ("MEDIA_BUCKET", "b"), ("S3_ENDPOINT", "http://127.0.0.1:9000")]).unwrap();
    assert_eq!(s3.media, MediaBackend::S3 { bucket: "b".into(), endpoint: Some("http://127.0.0.1:9000".into()) });
    assert_eq!(load(&[("MEDIA_BACKEND", "off")]).unwrap().media, MediaBackend::Off);
}

#[test]
fn durations_regions_urls_and_formats_are_validated() {
    assert_eq!(load(&[("TICKET_IDLE_CLOSE_AFTER", "90m")]).unwrap().ticket_idle_close_after, Duration::from_secs(5400));
    assert!(error_of(&[("TICKET_IDLE_CLOSE_AFTER", "soon")]).contains("TICKET_IDLE_CLOSE_AFTER is invalid"));
    assert!(error_of(&[("DEFAULT_REGION", "Russia")]).contains("DEFAULT_REGION is invalid"));
    assert_eq!(load(&[("DEFAULT_REGION", "kz")]).unwrap().default_region, "KZ");
    assert!(error_of(&[("TELEGRAM_API_URL", "ftp://x")]).contains("TELEGRAM_API_URL is invalid"));
    assert_eq!(
        load(&[("TELEGRAM_API_URL", "http://127.0.0.1:8081/")]).unwrap().telegram_api_url,
        "http://127.0.0.1:8081"
    );
    assert!(error_of(&[("LOG_FORMAT", "xml")]).contains("LOG_FORMAT is invalid"));
    assert_eq!(load(&[("AWS_LAMBDA_FUNCTION_NAME", "webhook")]).unwrap().log_format, LogFormat::Json);
    assert!(error_of(&[("WEBHOOK_SECRET", "has spaces")]).contains("WEBHOOK_SECRET is invalid"));
}

#[test]
fn secrets_never_appear_when_the_config_is_printed() {
    let config = load(&[("WEBHOOK_SECRET", "webhook_SECRET_42")]).unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("AAE-secret_TOKEN_value"), "{printed}");
    assert!(!printed.contains("webhook_SECRET_42"), "{printed}");
    assert!(!printed.contains(":pw@"), "{printed}");
    assert_eq!(config.bot_token.expose_secret(), TOKEN);
}

#[test]
fn database_allow_plaintext_is_off_unless_set_to_true() {
    assert!(!load(&[]).unwrap().database.allow_plaintext);
    assert!(!load(&[("DATABASE_ALLOW_PLAINTEXT", "false")]).unwrap().database.allow_plaintext);
    assert!(load(&[("DATABASE_ALLOW_PLAINTEXT", "TRUE")]).unwrap().database.allow_plaintext);
    let message = error_of(&[("DATABASE_ALLOW_PLAINTEXT", "yes please")]);
    assert!(message.starts_with("DATABASE_ALLOW_PLAINTEXT is invalid"), "{message}");
}

#[test]
fn tls_is_required_for_a_remote_database_whichever_variables_describe_it() {
    use tokio_postgres::config::SslMode::{Disable, Prefer, Require};
    let seed = [("DATABASE_URL", ""), ("POSTGRES_USER", "admin"), ("POSTGRES_PASSWORD", "pw")];
    // (variables, the mode they give or None for a refusal, what the case is)
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<tokio_postgres::config::SslMode>, &'a str);
    let cases: &[Case] = &[
        (&[("DATABASE_URL", "postgres://bot:pw@db.example/care")], Some(Require), "DATABASE_URL without sslmode"),
        (&[("DATABASE_URL", "postgres://bot@127.0.0.1:5432/care")], Some(Prefer), "loopback stays as it was"),
        (&[("DATABASE_URL", "postgres://bot:pw@db.example/care?sslmode=prefer")], None, "prefer can be downgraded"),
        (
            &[
                ("DATABASE_URL", "postgres://bot:pw@db.example/care?sslmode=disable"),
                ("DATABASE_ALLOW_PLAINTEXT", "true"),
            ],
            Some(Disable),
            "the opt-in",
        ),
        (&[("POSTGRES_HOST", "db")], Some(Require), "POSTGRES_HOST without POSTGRES_SSLMODE"),
        (&[("POSTGRES_HOST", "db"), ("POSTGRES_SSLMODE", "disable")], None, "POSTGRES_SSLMODE=disable"),
        (&[("POSTGRES_HOST", "db"), ("POSTGRES_SSLMODE", "verify-full")], Some(Require), "a quoted verify-full"),
        (&[("POSTGRES_HOST", "db,localhost"), ("POSTGRES_SSLMODE", "disable")], None, "every host must be local"),
        (&[("POSTGRES_HOST", "localhost"), ("POSTGRES_SSLMODE", "disable")], Some(Disable), "localhost"),
        (&[("POSTGRES_HOST", "/run/postgresql"), ("POSTGRES_SSLMODE", "disable")], Some(Disable), "a Unix socket"),
        (
            &[("POSTGRES_HOST", "db"), ("POSTGRES_SSLMODE", "prefer"), ("DATABASE_ALLOW_PLAINTEXT", "true")],
            Some(Prefer),
            "the opt-in with the seed's variables",
        ),
    ];
    for &(pairs, expected, message) in cases {
        let pairs: Vec<(&str, &str)> = seed.iter().chain(pairs).copied().collect();
        let database = load(&pairs).unwrap_or_else(|e| panic!("{message}: {e}")).database;
        match (zabota_core::db::pg_config(&database), expected) {
            (Ok(pg), Some(mode)) => assert_eq!(pg.get_ssl_mode(), mode, "{message}"),
            (Err(e), None) => {
                let text = e.to_string();
                for name in ["DATABASE_URL", "POSTGRES_SSLMODE", "DATABASE_ALLOW_PLAINTEXT"] {
                    assert!(text.contains(name), "{message}: the refusal names {name}: {text}");
                }
                assert!(!text.contains("pw"), "{message}: {text}");
            }
            (Ok(pg), None) => panic!("{message}: should be refused, got {:?}", pg.get_ssl_mode()),
            (Err(e), Some(_)) => panic!("{message}: should be accepted: {e}"),
        }
    }
}

#[test]
fn supervisor_ids_are_a_comma_separated_list_of_user_ids() {
    assert!(load(&[]).unwrap().supervisor_ids.is_empty(), "unset: none");
    assert_eq!(load(&[("SUPERVISOR_IDS", " 5008 , 5007,12 ")]).unwrap().supervisor_ids, vec![5008, 5007, 12]);
    assert_eq!(load(&[("SUPERVISOR_IDS", "5008,")]).unwrap().supervisor_ids, vec![5008], "a trailing comma");
    for (value, reason) in [
        ("abc", "\"abc\" is not an integer"),
        ("5008; 5007", "\"5008; 5007\" is not an integer"),
        ("5008 5007", "\"5008 5007\" is not an integer"),
        ("5008, 1.5", "\"1.5\" is not an integer"),
        ("0", "0 is not a user id (those are positive)"),
        ("5008, -1001234567890", "-1001234567890 is not a user id"),
    ] {
        let message = error_of(&[("SUPERVISOR_IDS", value)]);
        assert!(message.starts_with("SUPERVISOR_IDS is invalid"), "{value}: {message}");
        assert!(message.contains(reason), "{value}: {message}");
        assert!(message.contains("SUPERVISOR_IDS=123456789, 987654321"), "{value}: an example: {message}");
    }
}

#[test]
fn the_role_cache_lasts_a_minute_unless_set_between_a_second_and_an_hour() {
    assert_eq!(load(&[]).unwrap().role_cache_ttl, Duration::from_secs(60));
    for (value, secs) in [("1s", 1), ("90s", 90), ("5m", 300), ("1h", 3600)] {
        assert_eq!(load(&[("ROLE_CACHE_TTL", value)]).unwrap().role_cache_ttl, Duration::from_secs(secs), "{value}");
    }
    for (value, reason) in [
        ("500ms", "shorter than a second"),
        ("0s", "shorter than a second"),
        ("1h 1s", "longer than an hour"),
        ("1d", "longer than an hour"),
        ("soon", "\"soon\""),
        ("60", "\"60\""),
    ] {
        let message = error_of(&[("ROLE_CACHE_TTL", value)]);
        assert!(message.starts_with("ROLE_CACHE_TTL is invalid"), "{value}: {message}");
        assert!(message.contains(reason), "{value}: {message}");
        assert!(message.contains("ROLE_CACHE_TTL=60s"), "{value}: an example: {message}");
    }
}

#[test]
fn working_hours_are_read_in_moscow_time_unless_a_zone_is_given() {
    let config = load(&[]).unwrap();
    assert_eq!(config.working_hours, None, "unset: no off hours");
    let hours = load(&[("WORKING_HOURS", "mon-fri 9:00-18:00, Sat 10:00-15:00")]).unwrap().working_hours.unwrap();
    assert_eq!(hours.to_string(), "Mon-Fri 09:00-18:00; Sat 10:00-15:00");
    assert_eq!(hours.tz(), chrono_tz::Europe::Moscow);
    // Monday 2025-03-03 06:00 UTC is 09:00 in Moscow.
    assert!(hours.is_open("2025-03-03T06:00:00Z".parse().unwrap()));
    assert!(!hours.is_open("2025-03-03T05:59:00Z".parse().unwrap()));

    let berlin = [("WORKING_HOURS", "Fri 22:00-02:00"), ("WORKING_HOURS_TZ", "Europe/Berlin")];
    let hours = load(&berlin).unwrap().working_hours.unwrap();
    assert_eq!(hours.tz(), chrono_tz::Europe::Berlin);
    assert!(hours.is_open("2025-03-08T00:30:00Z".parse().unwrap()), "Saturday 01:30 in Berlin, after Friday's shift");
    let lower = load(&[("WORKING_HOURS", "Mon 09:00-18:00"), ("WORKING_HOURS_TZ", "asia/yekaterinburg")]).unwrap();
    assert_eq!(lower.working_hours.unwrap().tz(), chrono_tz::Asia::Yekaterinburg, "letter case does not matter");

    let zone_alone = load(&[("WORKING_HOURS_TZ", "Europe/Berlin")]).unwrap();
    assert_eq!(zone_alone.working_hours, None, "a zone without hours is ignored");
}

#[test]
fn malformed_working_hours_stop_start_up_naming_the_variable_and_showing_an_example() {
    for value in [
        "Mon-Fri",
        "9:00-18:00",
        "Mo 09:00-18:00",
        "Mon-Fri 9-18",
        "Mon-Fri 09:00-25:00",
        "Mon 10:00-10:00",
        "Mon 24:00-02:00",
        "Mon+Tue 09:00-18:00",
        ";",
    ] {
        let message = error_of(&[("WORKING_HOURS", value)]);
        assert!(message.starts_with("WORKING_HOURS is invalid"), "{value}: {message}");
        assert!(message.contains("WORKING_HOURS=Mon-Fri 09:00-18:00; Sat 10:00-15:00"), "{value}: {message}");
    }
    let message = error_of(&[("WORKING_HOURS", "Mon 10:00-10:00")]);
    assert!(message.contains("starts and ends at the same time"), "{message}");

    let message = error_of(&[("WORKING_HOURS", "Mon-Fri 09:00-18:00"), ("WORKING_HOURS_TZ", "Moscow")]);
    assert!(message.starts_with("WORKING_HOURS_TZ is invalid: \"Moscow\" is not an IANA time zone"), "{message}");
    assert!(message.contains("WORKING_HOURS_TZ=Europe/Moscow"), "an example: {message}");
    assert!(
        error_of(&[("WORKING_HOURS", "Mon 09:00-18:00"), ("WORKING_HOURS_TZ", "UTC+3")]).contains("WORKING_HOURS_TZ")
    );
}
