//! AWS Lambda behind a Function URL: Telegram POSTs each update here; zabota-core does the rest.

use lambda_http::{Error, Request, service_fn};
use zabota_core::{App, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Built once per cold start and reused by warm invocations. Init does no I/O and no TLS set-up itself:
    // prewarm() starts those in the background while the runtime asks for the first event.
    let config = zabota_core::secrets::config_from_env().await?;
    telemetry::init(config.log_format);
    let app = App::new(config, 1).await?;
    app.prewarm();
    let app = &app;
    lambda_http::run(service_fn(
        move |request: Request| async move { Ok::<_, Error>(webhook::handle(app, request).await) },
    ))
    .await
}
