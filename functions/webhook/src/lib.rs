//! The webhook Lambda's handler: a Function URL (payload 2.0) request in, the status Telegram should see out.
//! Kept apart from `main` so tests can call it in-process with real event JSON.

use std::time::Duration;

use lambda_http::{Body, Request, RequestExt, Response};
use zabota_core::App;
use zabota_core::bot::DELIVERY_BUDGET;
use zabota_core::metrics::counters::Snapshot;
use zabota_core::metrics::emf;
use zabota_core::webhook::{self, SECRET_HEADER};

/// Time kept back from the invocation's deadline: the reply, a commit, the last call's answer.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Handles one invocation and writes its EMF metrics line to stdout (CloudWatch Logs makes metrics of it).
/// Never fails: every outcome is an HTTP status (see `zabota_core::webhook::handle_until`). Sending after the
/// update's commit stops well before the invocation's deadline.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let (response, metrics) = handle_measured(app, request).await;
    println!("{metrics}");
    response
}

/// [`handle`], returning the EMF line instead of writing it: what the update counted (its kind and outcome, Bot
/// API 429s and 5xx) and how long it took.
pub async fn handle_measured(app: &App, request: Request) -> (Response<Body>, String) {
    let started = std::time::Instant::now();
    let before = Snapshot::now();
    let function =
        request.lambda_context_ref().map_or_else(|| "local".to_owned(), |c| c.env_config.function_name.clone());
    let response = respond(app, request).await;
    let delta = Snapshot::now().since(&before);
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let line = emf::webhook_line(&function, chrono::Utc::now().timestamp_millis(), &delta, took_ms);
    (response, line)
}

async fn respond(app: &App, request: Request) -> Response<Body> {
    let secret = request.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    let invocation_deadline = request.lambda_context_ref().map(|c| c.deadline);
    let deadline = zabota_core::deadline::within(invocation_deadline, DEADLINE_MARGIN, DELIVERY_BUDGET);
    let reply = webhook::handle_until(app, secret, request.body().as_ref(), deadline).await;
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(reply.status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(lambda_http::http::header::CONTENT_TYPE, lambda_http::http::HeaderValue::from_static("text/plain"));
    response
}
