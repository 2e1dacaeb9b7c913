//! Bytes to and from Telegram: a document uploaded from the archive (multipart), and a file downloaded with a cap.

use std::time::{Duration, Instant};

use bytes::Bytes;
use secrecy::ExposeSecret;

use super::TelegramClient;
use crate::telegram::error::{ApiReply, TelegramError};
use crate::telegram::types::Message;

/// The content type of bytes whose type is not known.
const OCTET_STREAM: &str = "application/octet-stream";

/// The timeout of one upload or download of a file's bytes, instead of the policy's per-call timeout.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(120);
/// An upload that would have less time than this before its deadline is not started.
const MIN_UPLOAD_TIME: Duration = Duration::from_millis(500);

impl TelegramClient {
    /// sendDocument with the file's bytes uploaded (multipart). One attempt, given up at `until` (a transient
    /// network error, so the update is delivered again rather than the Lambda killed mid-upload by its timeout);
    /// the caller decides about retries.
    pub(crate) async fn send_document_upload(
        &self,
        until: Instant,
        chat_id: i64,
        file_name: &str,
        bytes: Bytes,
        content_type: &str,
        caption: Option<&str>,
    ) -> Result<Message, TelegramError> {
        self.send_upload(("sendDocument", "document"), until, chat_id, file_name, bytes, content_type, caption).await
    }

    /// sendPhoto with the image's bytes uploaded (multipart), like [`Self::send_document_upload`].
    pub(crate) async fn send_photo_upload(
        &self,
        until: Instant,
        chat_id: i64,
        file_name: &str,
        bytes: Bytes,
        caption: Option<&str>,
    ) -> Result<Message, TelegramError> {
        self.send_upload(("sendPhoto", "photo"), until, chat_id, file_name, bytes, "image/png", caption).await
    }

    /// `method` with the file's bytes uploaded as its `field`, until `until` at most.
    #[allow(clippy::too_many_arguments)] // the shared body of the two typed wrappers above
    async fn send_upload(
        &self,
        (method, field): (&'static str, &'static str),
        until: Instant,
        chat_id: i64,
        file_name: &str,
        bytes: Bytes,
        content_type: &str,
        caption: Option<&str>,
    ) -> Result<Message, TelegramError> {
        let left = until.saturating_duration_since(Instant::now()).min(TRANSFER_TIMEOUT);
        if left < MIN_UPLOAD_TIME {
            return Err(TelegramError::Network {
                method: method.into(),
                message: "no time left for the upload before the invocation's deadline".into(),
            });
        }
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
        let mut form = reqwest::multipart::Form::new().text("chat_id", chat_id.to_string()).part(field, part);
        if let Some(caption) = caption {
            form = form.text("caption", caption.to_owned());
        }
        let url = self.method_url(method);
        let network = |e: reqwest::Error| self.network_error(method, e);
        let response = self.http(method)?.post(url).multipart(form).timeout(left).send().await.map_err(network)?;
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
        let mut response = self.http(method)?.get(url).timeout(TRANSFER_TIMEOUT).send().await.map_err(network)?;
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
