//! AWS Lambda behind a Function URL: Telegram POSTs each update here; zabota-core does the rest.

use lambda_http::{Error, Request, service_fn};
use zabota_core::{App, telemetry};

/// Why the function refuses to start without `WEBHOOK_SECRET`; `main` returns it, so it ends the process during
/// init and is the last line of the function's log.
const MISSING_WEBHOOK_SECRET: &str = "WEBHOOK_SECRET is not set, so every webhook call would be refused with 401. \
    Add a WEBHOOK_SECRET key (e.g. `openssl rand -hex 32`) to the JSON of the Secrets Manager secret that \
    SECRETS_ARN names (the stack's SecretArn parameter), then register the same value with Telegram: \
    `WEBHOOK_SECRET=... make set-webhook`.";

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Built once per cold start and reused by warm invocations. Init does no I/O and no TLS set-up itself:
    // prewarm() starts those in the background while the runtime asks for the first event.
    let config = zabota_core::secrets::config_from_env().await?;
    if config.webhook_secret.is_none() {
        return Err(MISSING_WEBHOOK_SECRET.into());
    }
    telemetry::init(config.log_format);
    let app = App::new(config, 1).await?;
    app.prewarm();
    let app = &app;
    lambda_http::run(service_fn(
        move |request: Request| async move { Ok::<_, Error>(webhook::handle(app, request).await) },
    ))
    .await
}
