//! AWS Lambda on an EventBridge schedule: runs every maintenance job and returns what each did.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use zabota_core::{App, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = zabota_core::secrets::config_from_env().await?;
    telemetry::init(config.log_format);
    let app = App::new(config, 2).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(maintenance::handle_by(app, event.payload, Some(event.context.deadline)).await)
    }))
    .await
}
