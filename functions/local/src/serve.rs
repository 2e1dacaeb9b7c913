//! A plain HTTP webhook server (axum) for running without Lambda: POST / or /webhook, GET /healthz (503 while
//! the database does not answer), GET /metrics (the desk's gauges, Prometheus text).

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use zabota_core::App;
use zabota_core::metrics::counters::Snapshot;
use zabota_core::webhook::{self, MAX_BODY_BYTES, SECRET_HEADER};

/// The webhook routes over `app`.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", post(receive))
        .route("/webhook", post(receive))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn receive(State(app): State<App>, headers: HeaderMap, body: Body) -> impl IntoResponse {
    let secret = headers.get(SECRET_HEADER).map(|v| v.as_bytes());
    // The secret is checked before the body is read: strangers learn nothing, not even the size limit.
    if !webhook::secret_matches(&app, secret) {
        tracing::warn!(secret_present = secret.is_some(), "webhook call with a wrong or missing secret");
        return (StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        tracing::warn!("webhook body too large or cut off");
        return (StatusCode::PAYLOAD_TOO_LARGE, "payload too large");
    };
    let reply = webhook::handle(&app, secret, &bytes).await;
    (StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), reply.body)
}

/// How long the health check waits for the database.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// 200 "ok" while the database answers, 503 when it does not (within [`HEALTH_TIMEOUT`]): a load balancer or
/// supervisor takes the server out of service instead of sending it updates it would answer 500.
async fn health(State(app): State<App>) -> impl IntoResponse {
    if app.database_answers(HEALTH_TIMEOUT).await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

/// The desk's gauges in Prometheus' text format (see `zabota_core::metrics`); 503 while the database does not
/// answer (within [`HEALTH_TIMEOUT`]).
async fn metrics(State(app): State<App>) -> axum::response::Response {
    let read = async {
        let client = app.db.get().await.map_err(zabota_core::db::DbError::from)?;
        zabota_core::metrics::Gauges::read(&client).await
    };
    match tokio::time::timeout(HEALTH_TIMEOUT, read).await {
        Ok(Ok(gauges)) => (
            [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            gauges.prometheus() + &Snapshot::now().prometheus(),
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn run(
    app: App,
    listen: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "webhook server listening");
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await
}
