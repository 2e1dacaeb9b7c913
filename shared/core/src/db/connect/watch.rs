//! The watch on a session's start without TLS: the server's bytes are followed until TLS is agreed or
//! authentication is done, and a request for the password in clear text or as MD5 is refused.

use std::io;

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Follows the start of a session with a host not on this machine and refuses, before tokio-postgres can answer
/// it, a request for the password in clear text ('R' code 3) or as MD5 ('R' code 5) on a connection without
/// TLS. Once TLS is agreed, or authentication is done, there is nothing more to check.
#[derive(Clone, Debug)]
pub(super) struct Watch {
    hosts: String,
    phase: Phase,
}

#[derive(Clone, Debug)]
enum Phase {
    /// Nothing sent yet.
    Start,
    /// An SSLRequest went out; the next byte is the server's answer.
    SslAnswer,
    /// No TLS: reading message headers (type, length, and an authentication request's code).
    Plain { header: [u8; 9], filled: usize, skip: usize },
    /// TLS, or authenticated, or nothing to watch.
    Done,
}

const PLAIN: Phase = Phase::Plain { header: [0; 9], filled: 0, skip: 0 };

impl Watch {
    pub(super) fn on(hosts: String) -> Self {
        Watch { hosts, phase: Phase::Start }
    }

    pub(super) fn off() -> Self {
        Watch { hosts: String::new(), phase: Phase::Done }
    }

    /// The client's first write says whether TLS is asked for (an SSLRequest) or not (the startup message).
    pub(super) fn wrote(&mut self, buf: &[u8]) {
        if matches!(self.phase, Phase::Start) && !buf.is_empty() {
            self.phase = if buf.starts_with(&SSL_REQUEST) { Phase::SslAnswer } else { PLAIN };
        }
    }

    /// Bytes the server sent; an error (and nothing passed on) when they ask for a password we must not send.
    pub(super) fn read(&mut self, bytes: &[u8]) -> io::Result<()> {
        for &byte in bytes {
            if matches!(self.phase, Phase::Done) {
                break;
            }
            self.step(byte)?;
        }
        Ok(())
    }

    fn step(&mut self, byte: u8) -> io::Result<()> {
        match &mut self.phase {
            Phase::Start | Phase::Done => {}
            Phase::SslAnswer => {
                self.phase = match byte {
                    b'S' => Phase::Done,
                    b'N' => PLAIN,
                    _ => {
                        self.phase = PLAIN;
                        return self.step(byte);
                    }
                }
            }
            Phase::Plain { skip, .. } if *skip > 0 => *skip -= 1,
            Phase::Plain { header, filled, skip } => {
                header[*filled] = byte;
                *filled += 1;
                let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
                if *filled == 5 && len < 4 {
                    self.phase = Phase::Done; // malformed: tokio-postgres refuses it itself
                } else if *filled == 5 && (header[0] != b'R' || len < 8) {
                    (*skip, *filled) = (len - 4, 0);
                } else if *filled == 9 {
                    match u32::from_be_bytes([header[5], header[6], header[7], header[8]]) {
                        3 => return Err(self.refuse("in clear text")),
                        5 => return Err(self.refuse("as an MD5 hash")),
                        0 => self.phase = Phase::Done,
                        _ => (*skip, *filled) = (len - 8, 0),
                    }
                }
            }
        }
        Ok(())
    }

    fn refuse(&self, how: &str) -> io::Error {
        tracing::warn!(hosts = %self.hosts, "PostgreSQL asked for the password {how} without TLS; not sent");
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            PasswordRefused(format!(
                "{} asked for the password {how} over a connection without TLS, and it was not sent: \
             DATABASE_ALLOW_PLAINTEXT=true allows a session without TLS, never a password in the clear. Turn TLS on \
             at the server and use sslmode=require (DATABASE_URL's sslmode or POSTGRES_SSLMODE), or have the server \
             use scram-sha-256",
                self.hosts
            )),
        )
    }
}

/// The refusal of a password request on a connection without TLS.
#[derive(Debug)]
pub(super) struct PasswordRefused(String);

impl std::fmt::Display for PasswordRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PasswordRefused {}

#[cfg(test)]
mod tests {
    use super::*;

    /// An 'R' (authentication request) message with `code` and `extra` body bytes.
    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut message = vec![b'R'];
        message.extend(u32::try_from(8 + extra.len()).unwrap_or(0).to_be_bytes());
        message.extend(code.to_be_bytes());
        message.extend(extra);
        message
    }

    /// What a watch on a remote host says of `server` bytes after the client `wrote`, fed in every split.
    fn watched(wrote: &[u8], server: &[u8]) -> Vec<bool> {
        (1..=server.len().max(1))
            .map(|chunk| {
                let mut watch = Watch::on("db.example".into());
                watch.wrote(wrote);
                server.chunks(chunk).all(|part| watch.read(part).is_ok())
            })
            .collect()
    }

    #[test]
    fn a_password_request_without_tls_is_refused_however_the_bytes_arrive() {
        let startup = [0, 0, 0, 9, 0, 3, 0, 0, 0];
        let notice = [b'N', 0, 0, 0, 6, b'x', 0];
        let cases: Vec<(&[u8], Vec<u8>, bool, &str)> = vec![
            (&SSL_REQUEST, [&b"N"[..], &auth(3, &[])].concat(), false, "'N', then cleartext"),
            (&SSL_REQUEST, [&b"N"[..], &auth(5, b"salt")].concat(), false, "'N', then MD5"),
            (&startup, auth(3, &[]), false, "sslmode=disable, then cleartext"),
            (&startup, [&notice[..], &auth(3, &[])].concat(), false, "a notice first, then cleartext"),
            (&SSL_REQUEST, [&b"S"[..], &auth(3, &[])].concat(), true, "after 'S' the bytes are TLS"),
            (&startup, [auth(10, b"SCRAM-SHA-256\0\0"), auth(11, b"r=1"), auth(0, &[])].concat(), true, "SCRAM"),
            (&startup, [auth(0, &[]), auth(3, &[])].concat(), true, "nothing is checked once authenticated"),
        ];
        for (wrote, server, passes, message) in cases {
            assert!(watched(wrote, &server).iter().all(|&ok| ok == passes), "{message}");
        }
        let mut off = Watch::off();
        assert!(off.read(&auth(3, &[])).is_ok(), "a local host is not watched");
    }
}
