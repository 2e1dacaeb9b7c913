//! The webhook Lambda's handler: a Function URL (payload 2.0) request in, the status Telegram should see out.
//! Kept apart from `main` so tests can call it in-process with real event JSON.

use lambda_http::{Body, Request, Response};
use zabota_core::App;
use zabota_core::webhook::{self, SECRET_HEADER};

/// Handles one invocation. Never fails: every outcome is an HTTP status (see `zabota_core::webhook::handle`).
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let secret = request.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    let reply = webhook::handle(app, secret, request.body().as_ref()).await;
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(reply.status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(lambda_http::http::header::CONTENT_TYPE, lambda_http::http::HeaderValue::from_static("text/plain"));
    response
}
