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
        let (context, function) = (event.context.deadline, event.context.env_config.function_name.clone());
        let (summary, metrics) = maintenance::handle_measured(app, event.payload, Some(context), &function).await;
        // The EMF line: CloudWatch Logs makes the run's metrics of it.
        println!("{metrics}");
        Ok::<_, Error>(summary)
    }))
    .await
}
