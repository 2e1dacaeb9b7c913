//! Bot API errors: what Telegram said, flood control, network, or a reply we could not read. Never the token.

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A failed Bot API call. Messages never contain the bot token.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TelegramError {
    /// Telegram answered `ok: false`.
    #[error("Bot API {method} failed: {code} {description}")]
    Api {
        /// The method called.
        method: String,
        /// `error_code` (the HTTP status).
        code: u16,
        /// Telegram's description.
        description: String,
    },
    /// Flood control: 429 with `retry_after` longer than the retry budget left.
    #[error("Bot API {method}: too many requests, retry after {retry_after} s")]
    RetryAfter {
        /// The method called.
        method: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The request did not get an answer: connect, timeout, reset.
    #[error("Bot API {method}: network error: {message}")]
    Network {
        /// The method called.
        method: String,
        /// What happened, token removed.
        message: String,
    },
    /// The answer was not the JSON we expected.
    #[error("Bot API {method}: invalid JSON reply: {message}")]
    InvalidJson {
        /// The method called.
        method: String,
        /// The decode error.
        message: String,
    },
}

impl TelegramError {
    /// Worth trying again later: flood control, 5xx, network trouble, and what is wrong with the whole bot rather
    /// than this call (401: the token was revoked or rotated; 404: a wrong API URL), so that a set-up mistake
    /// never gives up the outbox or parks updates: they wait until it is fixed.
    pub fn is_transient(&self) -> bool {
        match self {
            TelegramError::Api { code, .. } => *code >= 500 || matches!(*code, 429 | 401 | 404),
            TelegramError::RetryAfter { .. } | TelegramError::Network { .. } => true,
            TelegramError::InvalidJson { .. } => false,
        }
    }

    /// 403: the user blocked the bot, deleted their account, or never started a chat with it.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, TelegramError::Api { code: 403, .. })
    }

    /// 400 "user not found" / "member not found" / PARTICIPANT_ID_INVALID: getChatMember about someone the chat
    /// does not know (as opposed to a refusal about the chat itself).
    pub fn is_unknown_user(&self) -> bool {
        matches!(self, TelegramError::Api { code: 400, description, .. }
            if ["user not found", "member not found", "PARTICIPANT_ID_INVALID"].iter().any(|d| description.contains(d)))
    }

    /// 400 "message is not modified": an edit asked for what the message already shows (an edit made again after a
    /// process died before it was recorded, a button removed twice). What the edit wanted holds.
    pub fn is_not_modified(&self) -> bool {
        matches!(self, TelegramError::Api { code: 400, description, .. } if description.contains("message is not modified"))
    }

    /// 403 "bot can't initiate conversation with a user": the user never pressed Start in a DM with the bot.
    pub fn is_cannot_initiate(&self) -> bool {
        matches!(self, TelegramError::Api { code: 403, description, .. } if description.contains("can't initiate"))
    }

    /// What Telegram said (its `description`), or what went wrong on the way, without the method's name: for a
    /// reply that quotes Telegram to an operator.
    pub fn said(&self) -> &str {
        match self {
            TelegramError::Api { description, .. } => description,
            TelegramError::RetryAfter { .. } => "Too Many Requests",
            TelegramError::Network { message, .. } | TelegramError::InvalidJson { message, .. } => message,
        }
    }

    /// How long Telegram asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            TelegramError::RetryAfter { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// Replaces every occurrence of the token (and of its secret half) with `<redacted>`.
pub(crate) fn redact(text: &str, token: &str) -> String {
    let mut out = text.replace(token, "<redacted>");
    if let Some((_, secret)) = token.split_once(':')
        && secret.len() >= 8
    {
        out = out.replace(secret, "<redacted>");
    }
    out
}

#[derive(Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// The Bot API's reply envelope.
#[derive(Deserialize)]
pub(crate) struct ApiReply<R> {
    ok: bool,
    #[serde(default = "none")]
    result: Option<R>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

fn none<R>() -> Option<R> {
    None
}

impl<R: DeserializeOwned> ApiReply<R> {
    /// Turns an HTTP status and body into the result or a typed error.
    pub(crate) fn decode(method: &str, status: u16, body: &[u8]) -> Result<R, TelegramError> {
        crate::metrics::counters::bot_api_answered(status);
        let reply: ApiReply<R> = match serde_json::from_slice(body) {
            Ok(reply) => reply,
            // A proxy or load balancer answering 5xx with HTML is a server error, not a protocol error.
            Err(_) if status >= 500 || status == 429 => {
                return Err(TelegramError::Api {
                    method: method.into(),
                    code: status,
                    description: format!("HTTP {status}"),
                });
            }
            Err(e) => return Err(TelegramError::InvalidJson { method: method.into(), message: e.to_string() }),
        };
        if reply.ok {
            return reply.result.ok_or_else(|| TelegramError::InvalidJson {
                method: method.into(),
                message: "ok reply without result".into(),
            });
        }
        let code = reply.error_code.unwrap_or(status);
        if let Some(retry_after) = reply.parameters.and_then(|p| p.retry_after) {
            return Err(TelegramError::RetryAfter { method: method.into(), retry_after });
        }
        Err(TelegramError::Api {
            method: method.into(),
            code,
            description: reply.description.unwrap_or_else(|| format!("HTTP {status}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::TelegramError;

    fn api(code: u16) -> TelegramError {
        TelegramError::Api { method: "sendMessage".into(), code, description: String::new() }
    }

    #[test]
    fn what_is_wrong_with_the_whole_bot_is_retried_and_what_is_wrong_with_the_call_is_not() {
        let cases = [
            (500, true, "server error"),
            (502, true, "bad gateway"),
            (429, true, "flood control without parameters"),
            (401, true, "a revoked or rotated token: the outbox waits for the fix"),
            (404, true, "a wrong API URL: the outbox waits for the fix"),
            (400, false, "a call Telegram refuses"),
            (403, false, "a blocked chat"),
        ];
        for (code, transient, why) in cases {
            assert_eq!(api(code).is_transient(), transient, "{code}: {why}");
        }
    }
}
