//! The HTTP side: routes, request parsing, call recording, fault injection and dropped connections.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::serve::{IncomingStream, Listener};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::TEST_BOT_TOKEN;
use super::state::Shared;
use super::types::{ApiError, Fault, Reply};
use super::{files, methods};

/// The router serving the Bot API and file downloads.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/file/{bot}/{*path}", any(download))
        .route("/{bot}/{method}", any(call_method))
        .fallback(|| async { error_response(&ApiError::new(404, "Not Found")) })
        // Telegram takes uploads up to 50 MB; the methods' own checks answer what is over their limits.
        .layer(axum::extract::DefaultBodyLimit::max(51 * 1024 * 1024))
        .with_state(shared)
}

/// Serves `router` on `listener` until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, router: Router) {
    let service = router.into_make_service_with_connect_info::<ConnectionKill>();
    if let Err(error) = axum::serve(KillableListener(listener), service).await {
        tracing::warn!(%error, "the Bot API emulator stopped serving");
    }
}

async fn call_method(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(kill): ConnectInfo<ConnectionKill>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = parse_params(query.as_deref(), &headers, &body);
    let index = shared.lock().record(&method, params.clone().unwrap_or_else(|_| json!({})));
    let reply = if bot != format!("bot{TEST_BOT_TOKEN}") {
        Err(ApiError::new(401, "Unauthorized"))
    } else {
        match params {
            Err(error) => Err(error),
            Ok(params) => match apply_fault(&shared, &method, true).await {
                Some(FaultOutcome::Answer(error)) => Err(error),
                Some(FaultOutcome::DropConnection) => return drop_connection(&shared, index, &kill),
                None => {
                    let method = method.to_ascii_lowercase();
                    match over_limit(&shared, index, &method, &params) {
                        Some(error) => Err(error),
                        None => methods::dispatch(&shared, &method, &params).await,
                    }
                }
            },
        }
    };
    finish(&shared, index, reply)
}

async fn download(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(kill): ConnectInfo<ConnectionKill>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    let index = shared.lock().record("downloadFile", json!({ "file_path": path }));
    if bot != format!("bot{TEST_BOT_TOKEN}") {
        return finish(&shared, index, Err(ApiError::new(401, "Unauthorized")));
    }
    match apply_fault(&shared, "downloadFile", false).await {
        Some(FaultOutcome::Answer(error)) => finish(&shared, index, Err(error)),
        Some(FaultOutcome::DropConnection) => drop_connection(&shared, index, &kill),
        None => match files::content(&shared, &path) {
            Some(bytes) => {
                set_status(&shared, index, 200);
                ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
            }
            None => finish(&shared, index, Err(ApiError::new(404, "Not Found"))),
        },
    }
}

/// The 429 Telegram answers a send or edit over a flood limit with; `None` when it fits (it is counted then).
fn over_limit(shared: &Shared, index: usize, method: &str, params: &Value) -> Option<ApiError> {
    let mut state = shared.lock();
    let limits = state.limits?;
    let (chat, weight) = super::limits::counted(method, params)?;
    let now = std::time::Instant::now();
    if state.meter.len() > 4096 {
        state.meter.prune(&limits, now);
    }
    let retry_after = state.meter.admit(&limits, chat, weight, now).err()?;
    if let Some(call) = state.call_mut(index) {
        call.over_limit = true;
    }
    Some(ApiError {
        code: 429,
        description: format!("Too Many Requests: retry after {retry_after}"),
        retry_after: Some(retry_after),
    })
}

/// What an injected fault turns a call into.
enum FaultOutcome {
    Answer(ApiError),
    DropConnection,
}

/// Applies the next fault for `method`, if any; a delay is served here and then the call goes on.
async fn apply_fault(shared: &Shared, method: &str, wildcard: bool) -> Option<FaultOutcome> {
    let fault = shared.lock().take_fault(method, wildcard)?;
    let prefixed = |prefix: &str, text: String| if text.starts_with(prefix) { text } else { format!("{prefix}{text}") };
    Some(match fault {
        Fault::ServerError => FaultOutcome::Answer(ApiError::new(500, "Internal Server Error")),
        Fault::TooManyRequests { retry_after } => FaultOutcome::Answer(ApiError {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            retry_after: Some(retry_after),
        }),
        Fault::Forbidden(text) => FaultOutcome::Answer(ApiError::new(403, prefixed("Forbidden: ", text))),
        Fault::BadRequest(text) => FaultOutcome::Answer(ApiError::new(400, prefixed("Bad Request: ", text))),
        Fault::Delay(duration) => {
            tokio::time::sleep(duration).await;
            return None;
        }
        Fault::Drop => FaultOutcome::DropConnection,
    })
}

/// Marks the connection so that writing the answer fails and hyper closes it with nothing sent.
fn drop_connection(shared: &Shared, index: usize, kill: &ConnectionKill) -> Response {
    kill.0.store(true, Ordering::SeqCst);
    set_status(shared, index, 0);
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// Records the status of call `index` and renders the Bot API envelope.
fn finish(shared: &Shared, index: usize, reply: Reply) -> Response {
    let response = match reply {
        Ok(result) => (StatusCode::OK, axum::Json(json!({ "ok": true, "result": result }))).into_response(),
        Err(error) => error_response(&error),
    };
    set_status(shared, index, response.status().as_u16());
    response
}

/// Records the status of call `index`; a call that may change a chat (any but the `get…` reads, which every
/// poll makes) moves the change counter.
fn set_status(shared: &Shared, index: usize, status: u16) {
    let read = shared.lock().call_mut(index).map(|call| {
        call.status = status;
        call.method.get(..3).is_some_and(|prefix| prefix.eq_ignore_ascii_case("get"))
    });
    if read != Some(true) {
        shared.changed.send_modify(|n| *n += 1);
    }
}

fn error_response(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(error.body())).into_response()
}

/// Merges the query string and the body (JSON or form-urlencoded) into one JSON object.
fn parse_params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let mut params = Map::new();
    if let Some(query) = query {
        params.extend(form_fields(query)?);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(params));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("invalid form data"))?;
        params.extend(form_fields(text)?);
    } else if content_type.starts_with("multipart/form-data") {
        params.extend(multipart_fields(content_type, body)?);
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            _ => return Err(ApiError::bad_request("can't parse JSON object")),
        }
    }
    Ok(Value::Object(params))
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|at| at + from)
}

/// Decodes multipart/form-data, byte for byte: text parts become string fields, file parts
/// `{"filename", "content", "bytes"}` objects (content as lossy UTF-8, for tests to compare what was uploaded;
/// `bytes` the exact bytes as a Latin-1 string, which the send takes out of the parameters and keeps beside the message).
fn multipart_fields(content_type: &str, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let bad = || ApiError::bad_request("invalid multipart body");
    let boundary = content_type.split("boundary=").nth(1).ok_or_else(bad)?.trim_matches('"');
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    // The first delimiter has no line break before it.
    let mut at = find(body, &delimiter[2..], 0).ok_or_else(bad)? + delimiter.len() - 2;
    let mut fields = Map::new();
    while !body[at..].starts_with(b"--") {
        let head_end = find(body, b"\r\n\r\n", at).ok_or_else(bad)?;
        // The content starts after the blank line: the next delimiter is searched from there, so a part whose
        // delimiter comes before its blank line is refused rather than sliced backwards.
        let end = find(body, &delimiter, head_end + 4).ok_or_else(bad)?;
        let head = String::from_utf8_lossy(&body[at..head_end]);
        let content = &body[head_end + 4..end];
        let attribute = |key: &str| {
            let start = head.find(&format!("{key}=\""))? + key.len() + 2;
            head[start..].split('"').next().map(str::to_owned)
        };
        let name = attribute("name").ok_or_else(bad)?;
        let value = match attribute("filename") {
            Some(filename) => json!({
                "filename": filename,
                "content": String::from_utf8_lossy(content),
                // Byte for byte as the code points U+0000–U+00FF: compact, and read back exactly.
                "bytes": content.iter().map(|&b| char::from(b)).collect::<String>(),
            }),
            None => Value::String(String::from_utf8_lossy(content).into_owned()),
        };
        fields.insert(name, value);
        at = end + delimiter.len();
    }
    Ok(fields)
}

/// Decodes `a=1&b=x` into string fields.
fn form_fields(encoded: &str) -> Result<Map<String, Value>, ApiError> {
    let uri: Uri = format!("/?{encoded}").parse().map_err(|_| ApiError::bad_request("invalid query string"))?;
    let Query(fields) = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map_err(|_| ApiError::bad_request("invalid query string"))?;
    Ok(fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// A TCP listener whose connections can be cut from inside a handler.
struct KillableListener(TcpListener);

/// A TCP stream that fails every read and write once its flag is set.
struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

/// The kill flag of the connection a request arrived on.
#[derive(Clone)]
struct ConnectionKill(Arc<AtomicBool>);

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (inner, addr) = Listener::accept(&mut self.0).await;
        (KillableStream { inner, killed: Arc::new(AtomicBool::new(false)) }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnectionKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        ConnectionKill(stream.io().killed.clone())
    }
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            Err(io::Error::new(io::ErrorKind::ConnectionAborted, "dropped by a Fault::Drop"))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::multipart_fields;

    const TYPE: &str = "multipart/form-data; boundary=b0undary";

    #[test]
    fn a_well_formed_body_reads_back_byte_for_byte() {
        let body = b"--b0undary\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n--b0undary\r\n\
            Content-Disposition: form-data; name=\"document\"; filename=\"a.bin\"\r\n\r\n\xff\x00\r\n--b0undary--\r\n";
        let fields = multipart_fields(TYPE, body).unwrap_or_default();
        assert_eq!(fields["chat_id"], "42");
        assert_eq!(fields["document"]["bytes"], "\u{ff}\u{0}");
    }

    #[test]
    fn malformed_bodies_are_refused_never_a_panic() {
        let bodies: [&[u8]; 6] = [
            b"",
            b"--b0undary",
            b"--b0undary\r\n",
            // The next delimiter before the blank line that would end this part's head.
            b"--b0undary\r\nname=\"a\"\r\n--b0undary\r\n\r\n",
            b"--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            b"--b0undary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b0undary--",
        ];
        for body in bodies {
            assert!(multipart_fields(TYPE, body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
        assert!(multipart_fields("multipart/form-data", b"--x\r\n").is_err(), "no boundary");
    }
}
