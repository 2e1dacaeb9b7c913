//! The sandbox's web page: three embedded files, a JSON API for what people do in the chats, and server-sent
//! events that carry every chat as it is now whenever something changed.
//!
//! The page has no login, so other sites must not drive it through the browser of whoever has it open: every
//! POST carries the [`ACTION_HEADER`] (a cross-site request with a custom header needs a CORS preflight, which this
//! server never grants), and on loopback only a loopback `Host` is served (a rebinding DNS name is refused).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MAX_FILE_BYTES, Refusal, Sandbox};

/// The header every POST of the page carries (any value).
pub const ACTION_HEADER: &str = "x-zabota-sandbox";

const INDEX: &str = include_str!("../../assets/sandbox/index.html");
const SCRIPT: &str = include_str!("../../assets/sandbox/sandbox.js");
const STYLE: &str = include_str!("../../assets/sandbox/sandbox.css");
/// At most this many snapshots a second go to each page: a burst of calls is one redraw.
const FRAME: Duration = Duration::from_millis(100);

type Shared = State<Arc<Sandbox>>;

/// Serves the page until the task is aborted.
pub(super) async fn serve(listener: tokio::net::TcpListener, sandbox: Arc<Sandbox>) {
    let loopback = listener.local_addr().is_ok_and(|addr| addr.ip().is_loopback());
    let router = Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/sandbox.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/sandbox.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/api/state", get(state))
        .route("/api/events", get(events))
        .route("/api/write", post(write))
        .route("/api/press", post(press))
        .route("/api/contact", post(contact))
        .route("/api/file", post(file).layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 1)))
        .route("/api/edit", post(edit))
        .route("/api/react", post(react))
        .route("/api/customers", post(add_customer))
        .route("/api/reset", post(reset))
        .route("/api/fast-forward", post(fast_forward))
        .route("/api/files/{file_id}", get(download))
        .layer(axum::middleware::from_fn(move |request, next| guard(loopback, request, next)))
        .with_state(sandbox);
    if let Err(error) = axum::serve(listener, router).await {
        tracing::error!(%error, "the sandbox page stopped serving");
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// `{ "error": why }` with `status`.
fn error(status: StatusCode, why: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": why.into() }))).into_response()
}

/// Refuses what another site (or a DNS name rebound to this machine) asks of the page: see the module's notes.
async fn guard(loopback: bool, request: Request, next: Next) -> Response {
    if loopback {
        let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let name =
            host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(n, _)| n);
        if !matches!(name, "127.0.0.1" | "localhost" | "[::1]") {
            return error(StatusCode::FORBIDDEN, "the sandbox answers only to 127.0.0.1 or localhost");
        }
    }
    if request.method() == Method::POST && !request.headers().contains_key(ACTION_HEADER) {
        return error(StatusCode::FORBIDDEN, format!("a sandbox action carries the {ACTION_HEADER} header"));
    }
    next.run(request).await
}

/// A handler's answer: JSON; a refusal with its status (400, 404, 413) and the reason; 500 when the desk failed.
fn answer(result: anyhow::Result<Value>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(failure) => match failure.downcast_ref::<Refusal>() {
            Some(refusal @ Refusal::Bad(_)) => error(StatusCode::BAD_REQUEST, refusal.to_string()),
            Some(refusal @ Refusal::NotFound(_)) => error(StatusCode::NOT_FOUND, refusal.to_string()),
            Some(refusal @ Refusal::TooLarge(_)) => error(StatusCode::PAYLOAD_TOO_LARGE, refusal.to_string()),
            None => {
                tracing::error!(error = format!("{failure:#}"), "sandbox: an action failed");
                error(StatusCode::INTERNAL_SERVER_ERROR, format!("the sandbox failed: {failure:#}"))
            }
        },
    }
}

/// A JSON body, or 400 with what is wrong with it (axum's own rejections are plain text with 415 or 422).
struct Body<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send JSON with Content-Type: application/json"))
            }
            Err(rejection) => Err(error(StatusCode::BAD_REQUEST, rejection.body_text())),
        }
    }
}

async fn state(State(sandbox): Shared) -> Response {
    axum::Json(sandbox.snapshot()).into_response()
}

/// A `state` event with the snapshot now, then one after every change (at most one per [`FRAME`]).
async fn events(State(sandbox): Shared) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let changes = sandbox.telegram.changes();
    let stream = futures_util::stream::unfold((sandbox, changes, true), |(sandbox, mut changes, first)| async move {
        if !first {
            tokio::time::sleep(FRAME).await;
            changes.changed().await.ok()?;
        }
        changes.mark_unchanged();
        let event = Event::default().event("state").data(sandbox.snapshot().to_string());
        Some((Ok(event), (sandbox, changes, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Deserialize)]
struct Write {
    chat: i64,
    from: i64,
    text: String,
    reply_to: Option<i64>,
}

async fn write(State(sandbox): Shared, Body(w): Body<Write>) -> Response {
    answer(sandbox.write(w.chat, w.from, &w.text, w.reply_to).map(|id| json!({ "message_id": id })))
}

#[derive(Deserialize)]
struct Press {
    chat: i64,
    from: i64,
    message_id: i64,
    data: String,
}

async fn press(State(sandbox): Shared, Body(p): Body<Press>) -> Response {
    answer(sandbox.press(p.chat, p.from, p.message_id, &p.data).map(|id| json!({ "callback_query_id": id })))
}

#[derive(Deserialize)]
struct From {
    from: i64,
}

async fn contact(State(sandbox): Shared, Body(f): Body<From>) -> Response {
    answer(sandbox.share_contact(f.from).map(|id| json!({ "message_id": id })))
}

#[derive(Deserialize)]
struct FileQuery {
    from: i64,
    name: String,
    caption: Option<String>,
}

async fn file(
    State(sandbox): Shared,
    q: Result<Query<FileQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let mime = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    let sent = sandbox.send_file(q.from, &q.name, mime, q.caption.as_deref(), body.to_vec());
    answer(sent.map(|id| json!({ "message_id": id })))
}

#[derive(Deserialize)]
struct Edit {
    from: i64,
    message_id: i64,
    text: String,
}

async fn edit(State(sandbox): Shared, Body(e): Body<Edit>) -> Response {
    answer(sandbox.edit(e.from, e.message_id, &e.text).map(|()| json!({ "edited": true })))
}

#[derive(Deserialize)]
struct React {
    from: i64,
    message_id: i64,
    emoji: Option<String>,
}

async fn react(State(sandbox): Shared, Body(r): Body<React>) -> Response {
    answer(sandbox.react(r.from, r.message_id, r.emoji.as_deref()).map(|()| json!({})))
}

async fn add_customer(State(sandbox): Shared) -> Response {
    let added = sandbox.add_customer();
    sandbox.telegram.poke();
    answer(added.map(|id| json!({ "id": id })))
}

async fn reset(State(sandbox): Shared) -> Response {
    answer(sandbox.reset().await.map(|()| json!({})))
}

#[derive(Deserialize)]
struct FastForward {
    hours: u32,
}

async fn fast_forward(State(sandbox): Shared, Body(f): Body<FastForward>) -> Response {
    if !(1..=24 * 400).contains(&f.hours) {
        return error(StatusCode::BAD_REQUEST, "from 1 hour to 400 days, please");
    }
    answer(sandbox.fast_forward(f.hours).await)
}

async fn download(State(sandbox): Shared, Path(file_id): Path<String>) -> Response {
    match sandbox.telegram.file_bytes(&file_id) {
        Some(bytes) => {
            // Only pictures are shown inline; anything else is a download, never rendered by the browser.
            let (kind, disposition) = match sniff(&bytes) {
                Some(image) => (image, "inline"),
                None => ("application/octet-stream", "attachment"),
            };
            let headers = [
                (header::CONTENT_TYPE, kind),
                (header::CONTENT_DISPOSITION, disposition),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ];
            (headers, bytes).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "no such file"),
    }
}

/// The picture type of an attached file, from its first bytes.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 3] =
        [(b"\x89PNG", "image/png"), (b"\xFF\xD8\xFF", "image/jpeg"), (b"GIF8", "image/gif")];
    let webp = bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP");
    KINDS.iter().find(|(magic, _)| bytes.starts_with(magic)).map(|(_, kind)| *kind).or(webp.then_some("image/webp"))
}
