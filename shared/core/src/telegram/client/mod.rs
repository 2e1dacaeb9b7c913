//! Bot API client: JSON over HTTPS with bounded retries, typed errors, and the token kept out of every message.
//! The calling machinery is here; the typed methods we use are in `methods.rs`, file uploads and downloads in
//! `files.rs`.

mod files;
mod methods;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ApiReply, TelegramError, redact};

/// The shortest timeout an attempt bounded by a deadline gets.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// How hard a call tries before it gives up.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts for 5xx and network errors, the first included.
    pub max_attempts: u32,
    /// First backoff; doubled each retry, with jitter.
    pub base_backoff: Duration,
    /// The most a call may sleep in total for 429 retry_after; a longer wait is returned as `RetryAfter`. Zero by
    /// default: every call is made inside a transaction or under a chat's lock, which must not be held through a
    /// sleep; the outbox defers the call with its `not_before` instead.
    pub retry_after_budget: Duration,
    /// Timeout of one HTTP request (getUpdates adds its long-poll time).
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(200),
            retry_after_budget: Duration::ZERO,
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// A Bot API client. Cheap to clone; build once per process.
#[derive(Clone)]
pub struct TelegramClient {
    http: Arc<OnceLock<Result<reqwest::Client, String>>>,
    api_url: String,
    token: SecretString,
    policy: RetryPolicy,
}

impl std::fmt::Debug for TelegramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramClient").field("api_url", &self.api_url).finish_non_exhaustive()
    }
}

impl TelegramClient {
    /// A client for `api_url` (e.g. `https://api.telegram.org`) with the default retry policy. It cannot fail:
    /// the HTTP client is built on first use (see [`TelegramClient::prewarm`]).
    pub(crate) fn new(api_url: &str, token: SecretString) -> Self {
        Self::build(api_url, token, RetryPolicy::default())
    }

    /// A client with an explicit retry policy.
    pub fn with_policy(api_url: &str, token: SecretString, policy: RetryPolicy) -> Self {
        Self::build(api_url, token, policy)
    }

    fn build(api_url: &str, token: SecretString, policy: RetryPolicy) -> Self {
        TelegramClient { http: Arc::default(), api_url: api_url.trim_end_matches('/').to_owned(), token, policy }
    }

    /// The HTTP client, built on first use: loading the system's trust store costs tens of milliseconds, which a
    /// Lambda cold start should not pay before it asks for its first event (see [`TelegramClient::prewarm`]).
    /// A caller that comes while another thread builds it waits for that one instead of building a second. A
    /// build that failed (the TLS library could not start) fails every call as a network error.
    fn http(&self, method: &str) -> Result<&reqwest::Client, TelegramError> {
        let built = self.http.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .pool_idle_timeout(Duration::from_secs(50))
                .tcp_keepalive(Duration::from_secs(30))
                .user_agent(concat!("zabota/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.without_url().to_string())
        });
        built.as_ref().map_err(|message| TelegramError::Network { method: method.into(), message: message.clone() })
    }

    /// The URL of a Bot API method; it holds the token, so it never leaves this client.
    fn method_url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.api_url, self.token.expose_secret())
    }

    /// A transport failure, with the token redacted from its text.
    fn network_error(&self, method: &str, e: reqwest::Error) -> TelegramError {
        TelegramError::Network {
            method: method.into(),
            message: redact(&e.without_url().to_string(), self.token.expose_secret()),
        }
    }

    /// Builds the HTTP client now (blocking: call it off the async runtime, e.g. from `spawn_blocking`).
    pub(crate) fn prewarm(&self) {
        let _ = self.http("prewarm");
    }

    /// Calls `method` with `params`, retrying as the policy allows, and decodes `result`.
    async fn call<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, TelegramError> {
        self.call_with_timeout(method, params, self.policy.request_timeout).await
    }

    /// Like [`call`](Self::call) with another timeout per attempt (getUpdates adds its long-poll time).
    async fn call_with_timeout<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
        timeout: Duration,
    ) -> Result<R, TelegramError> {
        self.call_within(method, params, timeout, None).await
    }

    /// Like [`call`](Self::call), but nothing of it outlasts `deadline`: each attempt's timeout is cut to the time
    /// left, and no retry starts that would end after it. The outbox sends this way, under a chat's lock and within
    /// an invocation's budget.
    pub(crate) async fn call_until<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
        deadline: Instant,
    ) -> Result<R, TelegramError> {
        self.call_within(method, params, self.policy.request_timeout, Some(deadline)).await
    }

    async fn call_within<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
        timeout: Duration,
        deadline: Option<Instant>,
    ) -> Result<R, TelegramError> {
        let body: Bytes = serde_json::to_vec(params)
            .map_err(|e| TelegramError::InvalidJson { method: method.into(), message: e.to_string() })?
            .into();
        let left = || deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
        let mut slept_for_429 = Duration::ZERO;
        let mut attempt = 1;
        loop {
            // At least a second for the attempt: a call cut shorter would only fail and be deferred.
            let attempt_timeout = timeout.min(left().max(MIN_ATTEMPT));
            let err = match self.attempt(method, body.clone(), attempt_timeout).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let wait = match &err {
                TelegramError::RetryAfter { retry_after, .. } => {
                    let wait = Duration::from_secs(*retry_after);
                    if slept_for_429 + wait > self.policy.retry_after_budget {
                        return Err(err);
                    }
                    slept_for_429 += wait;
                    wait
                }
                e if e.is_transient() && attempt < self.policy.max_attempts => {
                    let backoff = self.policy.base_backoff * 2u32.saturating_pow(attempt - 1);
                    attempt += 1;
                    backoff + backoff.mul_f64(fastrand::f64() * 0.5)
                }
                _ => return Err(err),
            };
            if wait + MIN_ATTEMPT > left() {
                return Err(err);
            }
            tracing::debug!(method, error = %err, wait_ms = wait.as_millis() as u64, "Bot API call will be retried");
            tokio::time::sleep(wait).await;
        }
    }

    /// One POST of a JSON body, decoded as the Bot API's reply envelope.
    async fn attempt<R: DeserializeOwned>(
        &self,
        method: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<R, TelegramError> {
        let url = self.method_url(method);
        let network = |e: reqwest::Error| self.network_error(method, e);
        let response = self
            .http(method)?
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(network)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(network)?;
        ApiReply::decode(method, status, &bytes)
    }
}
