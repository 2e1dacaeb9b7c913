//! The sandbox's web page: three embedded files, a JSON API for what people do in the chats, and server-sent
//! events that carry every chat as it is now whenever something changed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MAX_FILE_BYTES, Sandbox};

const INDEX: &str = include_str!("../../assets/sandbox/index.html");
const SCRIPT: &str = include_str!("../../assets/sandbox/sandbox.js");
const STYLE: &str = include_str!("../../assets/sandbox/sandbox.css");
/// At most this many snapshots a second go to each page: a burst of calls is one redraw.
const FRAME: Duration = Duration::from_millis(100);

type Shared = State<Arc<Sandbox>>;

/// Serves the page until the task is aborted.
pub(super) async fn serve(listener: tokio::net::TcpListener, sandbox: Arc<Sandbox>) {
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
        .with_state(sandbox);
    if let Err(error) = axum::serve(listener, router).await {
        tracing::error!(%error, "the sandbox page stopped serving");
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// A handler's answer: JSON, or 400 with what was wrong.
fn answer(result: anyhow::Result<Value>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": format!("{error:#}") }))).into_response(),
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

async fn write(State(sandbox): Shared, axum::Json(w): axum::Json<Write>) -> Response {
    answer(sandbox.write(w.chat, w.from, &w.text, w.reply_to).map(|id| json!({ "message_id": id })))
}

#[derive(Deserialize)]
struct Press {
    chat: i64,
    from: i64,
    message_id: i64,
    data: String,
}

async fn press(State(sandbox): Shared, axum::Json(p): axum::Json<Press>) -> Response {
    answer(sandbox.press(p.chat, p.from, p.message_id, &p.data).map(|id| json!({ "callback_query_id": id })))
}

#[derive(Deserialize)]
struct From {
    from: i64,
}

async fn contact(State(sandbox): Shared, axum::Json(f): axum::Json<From>) -> Response {
    answer(sandbox.share_contact(f.from).map(|id| json!({ "message_id": id })))
}

#[derive(Deserialize)]
struct FileQuery {
    from: i64,
    name: String,
    caption: Option<String>,
}

async fn file(State(sandbox): Shared, Query(q): Query<FileQuery>, headers: HeaderMap, body: Bytes) -> Response {
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

async fn edit(State(sandbox): Shared, axum::Json(e): axum::Json<Edit>) -> Response {
    answer(sandbox.edit(e.from, e.message_id, &e.text).map(|edited| json!({ "edited": edited })))
}

#[derive(Deserialize)]
struct React {
    from: i64,
    message_id: i64,
    emoji: Option<String>,
}

async fn react(State(sandbox): Shared, axum::Json(r): axum::Json<React>) -> Response {
    answer(sandbox.react(r.from, r.message_id, r.emoji.as_deref()).map(|()| json!({})))
}

async fn add_customer(State(sandbox): Shared) -> Response {
    let id = sandbox.add_customer();
    sandbox.telegram.poke();
    answer(Ok(json!({ "id": id })))
}

async fn reset(State(sandbox): Shared) -> Response {
    answer(sandbox.reset().await.map(|()| json!({})))
}

#[derive(Deserialize)]
struct FastForward {
    hours: u32,
}

async fn fast_forward(State(sandbox): Shared, axum::Json(f): axum::Json<FastForward>) -> Response {
    if !(1..=24 * 400).contains(&f.hours) {
        return answer(Err(anyhow::anyhow!("from 1 hour to 400 days, please")));
    }
    answer(sandbox.fast_forward(f.hours).await)
}

async fn download(State(sandbox): Shared, Path(file_id): Path<String>) -> Response {
    match sandbox.telegram.file_bytes(&file_id) {
        Some(bytes) => {
            let kind = sniff(&bytes);
            ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "max-age=3600")], bytes).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The content type of an attached file, from its first bytes (only images are shown inline).
fn sniff(bytes: &[u8]) -> &'static str {
    const KINDS: [(&[u8], &str); 4] =
        [(b"\x89PNG", "image/png"), (b"\xFF\xD8\xFF", "image/jpeg"), (b"GIF8", "image/gif"), (b"RIFF", "image/webp")];
    KINDS.iter().find(|(magic, _)| bytes.starts_with(magic)).map_or("application/octet-stream", |(_, kind)| kind)
}
