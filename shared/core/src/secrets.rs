//! Secrets from AWS Secrets Manager: `SECRETS_ARN` names a JSON secret whose string fields (BOT_TOKEN,
//! WEBHOOK_SECRET, DATABASE_URL, …) fill in configuration variables the environment does not set.
//! Read once per cold start, so the values never sit in the template or the function's environment.

use std::collections::HashMap;

use aws_sdk_secretsmanager::Client;

/// The variable that names the secret.
pub(crate) const SECRETS_ARN: &str = "SECRETS_ARN";

/// Why the secret could not be read. Never contains the secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Secrets Manager refused or could not be reached.
    #[error("reading secret {secret_id}: {message}")]
    Fetch {
        /// The secret asked for.
        secret_id: String,
        /// What went wrong.
        message: String,
    },
    /// The secret is not a JSON object of strings.
    #[error("secret {secret_id} must be a JSON object of strings, like {{\"BOT_TOKEN\": \"…\"}}")]
    Format {
        /// The secret asked for.
        secret_id: String,
    },
}

/// Reads the secret's fields with `client`.
pub async fn secret_fields(client: &Client, secret_id: &str) -> Result<HashMap<String, String>, SecretsError> {
    let output = client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| SecretsError::Fetch {
        secret_id: secret_id.to_owned(),
        message: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
    })?;
    let format = || SecretsError::Format { secret_id: secret_id.to_owned() };
    let text = output.secret_string().ok_or_else(format)?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| format())?;
    let object = value.as_object().ok_or_else(format)?;
    Ok(object.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect())
}

/// When `SECRETS_ARN` is set, reads that secret with the standard AWS configuration chain (region and
/// credentials from the Lambda environment; loaded once per process and shared with S3); otherwise returns nothing.
async fn from_env() -> Result<HashMap<String, String>, SecretsError> {
    let Some(secret_id) = std::env::var(SECRETS_ARN).ok().filter(|v| !v.trim().is_empty()) else {
        return Ok(HashMap::new());
    };
    secret_fields(&Client::new(crate::config::aws::sdk_config().await), &secret_id).await
}

/// Configuration from the environment, with the secret's fields for anything the environment leaves unset.
pub async fn config_from_env() -> anyhow::Result<crate::Config> {
    let secret = from_env().await?;
    let lookup =
        |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty()).or_else(|| secret.get(name).cloned());
    Ok(crate::Config::from_lookup(lookup)?)
}
