//! The AWS SDK's configuration (region, credentials, its HTTPS client) from the standard chain, loaded once per
//! process and shared by Secrets Manager and S3, so a cold start that needs both resolves it once.

use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

static SDK_CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

/// The shared SDK configuration, loaded on first use: nothing is loaded when neither `SECRETS_ARN` nor
/// `MEDIA_BACKEND=s3` asks for AWS. A caller that comes while another loads it waits for that load.
pub(crate) async fn sdk_config() -> &'static SdkConfig {
    SDK_CONFIG.get_or_init(|| aws_config::load_defaults(BehaviorVersion::latest())).await
}
