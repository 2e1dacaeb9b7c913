//! The webhook Lambda's handler: a Function URL (payload 2.0) request in, the status Telegram should see out.
//! Kept apart from `main` so tests can call it in-process with real event JSON.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    let deadline = send_deadline(request.lambda_context_ref().map(|c| c.deadline));
    let reply = webhook::handle_until(app, secret, request.body().as_ref(), deadline).await;
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(reply.status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(lambda_http::http::header::CONTENT_TYPE, lambda_http::http::HeaderValue::from_static("text/plain"));
    response
}

/// When sending must stop: [`DELIVERY_BUDGET`] from now, or earlier when the invocation's deadline (milliseconds
/// since the epoch, from the Runtime API) leaves less than that plus a margin.
fn send_deadline(invocation_deadline_ms: Option<u64>) -> Instant {
    let budget = match invocation_deadline_ms {
        None => DELIVERY_BUDGET,
        Some(deadline) => {
            let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            let left = Duration::from_millis(deadline).saturating_sub(since_epoch);
            left.saturating_sub(DEADLINE_MARGIN).min(DELIVERY_BUDGET)
        }
    };
    Instant::now() + budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_stops_before_the_invocation_deadline() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let soon = send_deadline(Some(now_ms + 8_000)).saturating_duration_since(Instant::now());
        assert!(soon <= Duration::from_secs(3), "8 s left, 5 s margin: {soon:?}");
        let later = send_deadline(Some(now_ms + 60_000)).saturating_duration_since(Instant::now());
        assert!(later <= DELIVERY_BUDGET && later > DELIVERY_BUDGET - Duration::from_secs(1), "{later:?}");
        assert_eq!(send_deadline(Some(0)).saturating_duration_since(Instant::now()), Duration::ZERO);
    }
}
