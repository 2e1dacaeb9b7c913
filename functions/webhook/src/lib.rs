//! The webhook Lambda's handler: a Function URL (payload 2.0) request in, the status Telegram should see out.
//! Kept apart from `main` so tests can call it in-process with real event JSON.

use std::time::Duration;

use lambda_http::{Body, Request, RequestExt, Response};
use zabota_core::App;
use zabota_core::bot::DELIVERY_BUDGET;
use zabota_core::webhook::{self, SECRET_HEADER};

/// Time kept back from the invocation's deadline: the reply, a commit, the last call's answer.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Handles one invocation. Never fails: every outcome is an HTTP status (see `zabota_core::webhook::handle_until`).
/// Sending after the update's commit stops well before the invocation's deadline.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
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
