//! The decision table, and connection strings read and decided end to end.

use super::*;

fn database(url: &str, allow_plaintext: bool) -> DatabaseConfig {
    DatabaseConfig { url: url.into(), ca_file: None, allow_plaintext }
}

#[test]
fn the_decision_table_of_requested_mode_host_and_opt_in() {
    use Requested::*;
    let cases = [
        (Unset, true, false, Some(SslMode::Prefer), "unset on this machine stays as it was"),
        (Unset, false, false, Some(SslMode::Require), "unset elsewhere means require"),
        (Unset, false, true, Some(SslMode::Require), "the opt-in does not weaken the default"),
        (Require, false, false, Some(SslMode::Require), "require is require"),
        (Require, true, true, Some(SslMode::Require), "require is require on loopback too"),
        (Disable, true, false, Some(SslMode::Disable), "disable is fine on this machine"),
        (Disable, false, false, None, "disable elsewhere is refused"),
        (Disable, false, true, Some(SslMode::Disable), "disable elsewhere with the opt-in"),
        (Prefer, false, false, None, "prefer elsewhere is refused: it can be downgraded"),
        (Prefer, false, true, Some(SslMode::Prefer), "prefer elsewhere with the opt-in"),
        (Allow, false, false, None, "allow elsewhere is refused"),
        (Allow, true, false, Some(SslMode::Prefer), "allow is taken as prefer"),
    ];
    for (requested, local, allow_plaintext, expected, message) in cases {
        assert_eq!(decide(requested, local, allow_plaintext), expected, "{message}");
    }
}

#[test]
fn connection_strings_get_the_mode_their_hosts_allow() {
    use SslMode::*;
    use tokio_postgres::config::ChannelBinding;
    let cases: &[(&str, bool, Option<SslMode>, &str)] = &[
        ("postgres://u@db.example/care", false, Some(Require), "no sslmode, a remote name"),
        ("postgres://u@10.0.0.5/care", false, Some(Require), "no sslmode, a private address"),
        ("postgres://postgres@127.0.0.1:5432/postgres", false, Some(Prefer), "the test suite's URL"),
        ("postgres://u@localhost/care?sslmode=disable", false, Some(Disable), "localhost"),
        ("postgres://u@LOCALHOST/care?sslmode=disable", false, Some(Disable), "names are case-blind"),
        ("postgres://u@[::1]:5432/care?sslmode=disable", false, Some(Disable), "IPv6 loopback"),
        ("postgres://u@127.9.9.9/care?sslmode=prefer", false, Some(Prefer), "all of 127.0.0.0/8"),
        ("host=/run/postgresql dbname=care sslmode=disable", false, Some(Disable), "a Unix socket"),
        ("postgres://u@%2Frun%2Fpostgresql/care?sslmode=disable", false, Some(Disable), "a socket in a URL"),
        ("postgres://u@db.example/care?sslmode=disable", false, None, "disable to a remote name"),
        ("postgres://u@db.example/care?sslmode=prefer", false, None, "prefer to a remote name"),
        ("postgres://u@db.example/care?sslmode=allow", false, None, "allow to a remote name"),
        ("postgres://u@192.168.1.2/care?sslmode=disable", false, None, "disable to a private address"),
        ("postgres://u@localhost,db.example/care?sslmode=disable", false, None, "every host must qualify"),
        ("postgres://u@localhost.evil.example/care?sslmode=disable", false, None, "only localhost itself"),
        ("postgres://u@127.0.0.1.nip.io/care?sslmode=disable", false, None, "a name is not an address"),
        ("host=localhost hostaddr=10.0.0.5 sslmode=disable", false, None, "the hostaddr is what is reached"),
        ("host=db.example hostaddr=127.0.0.1 sslmode=disable", false, None, "and the name must be local too"),
        ("postgres://u@db.example/care?sslmode=disable", true, Some(Disable), "the opt-in allows disable"),
        ("postgres://u@db.example/care?sslmode=prefer", true, Some(Prefer), "the opt-in allows prefer"),
        ("postgres://u@db.example/care", true, Some(Require), "the opt-in keeps require as the default"),
        ("postgres://u@10.0.0.5/care?sslmode=verify-full", false, Some(Require), "verify-full"),
        ("host=db.example sslmode='verify-ca'", false, Some(Require), "a quoted verify-ca"),
        ("host=db.example sslmode = disable", false, None, "spaces around ="),
        ("host=db.example password='x sslmode=disable y'", false, Some(Require), "a password is not sslmode"),
        ("host=db.example password=x\\ sslmode=disable", false, Some(Require), "nor an escaped one"),
        ("postgres://u:sslmode=disable@db.example/care", false, Some(Require), "nor in a URL"),
        ("postgres://u:p?ss@db.example/care?sslmode=disable", false, None, "a '?' in the password"),
        ("postgres://u@127.0.0.1/care?sslmode=disable&sslmode=require", false, Some(Require), "the last wins"),
    ];
    for &(url, allow_plaintext, expected, message) in cases {
        match (pg_config(&database(url, allow_plaintext)), expected) {
            (Ok(pg), Some(mode)) => {
                assert_eq!(pg.get_ssl_mode(), mode, "{message}: {url}");
                let binding = pg.get_channel_binding();
                assert_eq!(binding, ChannelBinding::Prefer, "{message}: SCRAM binds to TLS when offered");
            }
            (Err(e), None) => {
                let text = e.to_string();
                for name in ["DATABASE_URL", "POSTGRES_SSLMODE", "DATABASE_ALLOW_PLAINTEXT"] {
                    assert!(text.contains(name), "{message}: {url}: the refusal names {name}: {text}");
                }
            }
            (Ok(pg), None) => panic!("{message}: {url} should be refused, got {:?}", pg.get_ssl_mode()),
            (Err(e), Some(_)) => panic!("{message}: {url} should be accepted: {e}"),
        }
    }
}

#[test]
fn an_unknown_sslmode_is_refused_and_a_password_is_never_echoed() {
    let text = pg_config(&database("postgres://u:hunter2@db.example/care?sslmode=bogus", false))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(text.contains("\"bogus\" (DATABASE_URL's sslmode or POSTGRES_SSLMODE) is not a mode"), "{text}");
    let refused = pg_config(&database("postgres://u:hunter2@db.example/care?sslmode=disable", false));
    let text = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("db.example") && !text.contains("hunter2"), "{text}");
}
