//! Bot API client: JSON over HTTPS with bounded retries, typed errors, and the token kept out of every message.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ApiReply, TelegramError, redact};
use super::requests::*;
use super::types::*;

/// The shortest timeout an attempt bounded by a deadline gets.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// The content type of bytes whose type is not known.
const OCTET_STREAM: &str = "application/octet-stream";

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
    /// A client for `api_url` (e.g. `https://api.telegram.org`) with the default retry policy.
    pub fn new(api_url: &str, token: SecretString) -> Result<Self, TelegramError> {
        Self::with_policy(api_url, token, RetryPolicy::default())
    }

    /// A client with an explicit retry policy.
    pub fn with_policy(api_url: &str, token: SecretString, policy: RetryPolicy) -> Result<Self, TelegramError> {
        Ok(TelegramClient { http: Arc::default(), api_url: api_url.trim_end_matches('/').to_owned(), token, policy })
    }

    /// The HTTP client, built on first use: loading the system's trust store costs tens of milliseconds, which a
    /// Lambda cold start should not pay before it asks for its first event (see [`TelegramClient::prewarm`]).
    /// A caller that comes while another thread builds it waits for that one instead of building a second.
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
    pub fn prewarm(&self) {
        let _ = self.http("prewarm");
    }

    /// The retry policy in force.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Calls `method` with `params`, retrying as the policy allows, and decodes `result`.
    pub async fn call<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, TelegramError> {
        self.call_with_timeout(method, params, self.policy.request_timeout).await
    }

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
    pub async fn call_until<P: Serialize + ?Sized, R: DeserializeOwned>(
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

    /// getMe: the bot itself; a cheap check that the token works.
    pub async fn get_me(&self) -> Result<User, TelegramError> {
        self.call("getMe", &serde_json::json!({})).await
    }

    /// getUpdates with long polling; the HTTP timeout is extended by the poll time.
    pub async fn get_updates(&self, params: &GetUpdates) -> Result<Vec<Update>, TelegramError> {
        let timeout = self.policy.request_timeout + Duration::from_secs(u64::from(params.timeout));
        self.call_with_timeout("getUpdates", params, timeout).await
    }

    /// getUpdates without decoding: malformed updates must not stop the loop, so each is decoded by the caller.
    pub async fn get_raw_updates(&self, params: &GetUpdates) -> Result<Vec<serde_json::Value>, TelegramError> {
        let timeout = self.policy.request_timeout + Duration::from_secs(u64::from(params.timeout));
        self.call_with_timeout("getUpdates", params, timeout).await
    }

    /// setWebhook.
    pub async fn set_webhook(&self, params: &SetWebhook) -> Result<bool, TelegramError> {
        self.call("setWebhook", params).await
    }

    /// deleteWebhook.
    pub async fn delete_webhook(&self, drop_pending_updates: bool) -> Result<bool, TelegramError> {
        self.call("deleteWebhook", &serde_json::json!({ "drop_pending_updates": drop_pending_updates })).await
    }

    /// getWebhookInfo.
    pub async fn get_webhook_info(&self) -> Result<WebhookInfo, TelegramError> {
        self.call("getWebhookInfo", &serde_json::json!({})).await
    }

    /// sendMessage.
    pub async fn send_message(&self, params: &SendMessage) -> Result<Message, TelegramError> {
        self.call("sendMessage", params).await
    }

    /// copyMessage: returns the new message's id in the target chat.
    pub async fn copy_message(&self, params: &CopyMessage) -> Result<MessageId, TelegramError> {
        self.call("copyMessage", params).await
    }

    /// forwardMessage.
    pub async fn forward_message(&self, params: &ForwardMessage) -> Result<Message, TelegramError> {
        self.call("forwardMessage", params).await
    }

    /// editMessageText.
    pub async fn edit_message_text(&self, params: &EditMessageText) -> Result<Message, TelegramError> {
        self.call("editMessageText", params).await
    }

    /// editMessageReplyMarkup.
    pub async fn edit_message_reply_markup(&self, params: &EditMessageReplyMarkup) -> Result<Message, TelegramError> {
        self.call("editMessageReplyMarkup", params).await
    }

    /// answerCallbackQuery.
    pub async fn answer_callback_query(&self, params: &AnswerCallbackQuery) -> Result<bool, TelegramError> {
        self.call("answerCallbackQuery", params).await
    }

    /// getChatMember.
    pub async fn get_chat_member(&self, chat_id: i64, user_id: i64) -> Result<ChatMember, TelegramError> {
        self.call("getChatMember", &serde_json::json!({ "chat_id": chat_id, "user_id": user_id })).await
    }

    /// getFile.
    pub async fn get_file(&self, file_id: &str) -> Result<File, TelegramError> {
        self.call("getFile", &serde_json::json!({ "file_id": file_id })).await
    }

    /// setMyCommands.
    pub async fn set_my_commands(&self, commands: &[BotCommand]) -> Result<bool, TelegramError> {
        self.call("setMyCommands", &serde_json::json!({ "commands": commands })).await
    }

    /// deleteMessage.
    pub async fn delete_message(&self, params: &DeleteMessage) -> Result<bool, TelegramError> {
        self.call("deleteMessage", params).await
    }

    /// sendDocument with the file's bytes uploaded (multipart). One attempt: the caller decides about retries.
    pub async fn send_document_upload(
        &self,
        chat_id: i64,
        file_name: &str,
        bytes: Bytes,
        content_type: &str,
        caption: Option<&str>,
    ) -> Result<Message, TelegramError> {
        let method = "sendDocument";
        let part = || reqwest::multipart::Part::stream(bytes.clone()).file_name(file_name.to_owned());
        // The MIME type comes from the customer's client ("pdf", "image/"): one that is not a MIME type at all
        // is sent as plain bytes rather than failing the upload.
        let part = match part().mime_str(content_type) {
            Ok(part) => part,
            Err(_) => {
                tracing::info!(method, "untrusted MIME type is not valid; sent as application/octet-stream");
                part().mime_str(OCTET_STREAM).map_err(|e| TelegramError::InvalidJson {
                    method: method.into(),
                    message: format!("multipart part: {e}"),
                })?
            }
        };
        let mut form = reqwest::multipart::Form::new().text("chat_id", chat_id.to_string()).part("document", part);
        if let Some(caption) = caption {
            form = form.text("caption", caption.to_owned());
        }
        let url = self.method_url(method);
        let network = |e: reqwest::Error| self.network_error(method, e);
        let response = self
            .http(method)?
            .post(url)
            .multipart(form)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(network)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(network)?;
        ApiReply::decode(method, status, &body)
    }

    /// Downloads a file found by getFile. Refuses bodies larger than `max_bytes`.
    pub async fn download_file(&self, file_path: &str, max_bytes: u64) -> Result<Bytes, TelegramError> {
        let method = "downloadFile";
        let url =
            format!("{}/file/bot{}/{}", self.api_url, self.token.expose_secret(), file_path.trim_start_matches('/'));
        let network = |e: reqwest::Error| self.network_error(method, e);
        let mut response =
            self.http(method)?.get(url).timeout(Duration::from_secs(120)).send().await.map_err(network)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(TelegramError::Api {
                method: method.into(),
                code: status,
                description: format!("HTTP {status}"),
            });
        }
        let too_big = || TelegramError::Api {
            method: method.into(),
            code: 413,
            description: format!("file is larger than {max_bytes} bytes"),
        };
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}
