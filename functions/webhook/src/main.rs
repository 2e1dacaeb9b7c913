//! AWS Lambda behind a Function URL: Telegram POSTs each update here; zabota-core does the rest.

use lambda_http::{Body, Error, Request, Response, service_fn};
use zabota_core::webhook::{self, SECRET_HEADER};
use zabota_core::{App, Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Built once per cold start and reused by warm invocations; no network I/O here.
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    let app = App::new(config, 1)?;
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move { handle(app, request).await })).await
}

async fn handle(app: &App, request: Request) -> Result<Response<Body>, Error> {
    let secret = request.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    let reply = webhook::handle(app, secret, request.body().as_ref()).await;
    Ok(Response::builder().status(reply.status).header("content-type", "text/plain").body(reply.body.into())?)
}
