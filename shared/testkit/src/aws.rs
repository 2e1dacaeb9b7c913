//! The AWS API server tests use (moto on loopback: S3 and Secrets Manager), started by `make test`.

/// The variable `infra/with-test-services.sh` sets to moto's URL.
pub const TEST_AWS_ENDPOINT: &str = "TEST_AWS_ENDPOINT";

/// moto's URL. Panics with instructions when it is not running: a missing service is a failure, never a skip.
pub fn aws_endpoint() -> String {
    match std::env::var(TEST_AWS_ENDPOINT) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{TEST_AWS_ENDPOINT} is not set. Run the tests with `make test`, which starts moto_server (installed from \
             PyPI into .tools/), or start one yourself (`$(infra/tools.sh moto) -H 127.0.0.1 -p 5000`) and set \
             {TEST_AWS_ENDPOINT}=http://127.0.0.1:5000"
        ),
    }
}

/// An S3 client for moto (static test credentials, path-style addressing).
pub fn s3_client() -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(aws_endpoint())
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A fresh, uniquely named bucket on moto, and the media store over it.
pub async fn s3_media_store() -> (zabota_core::media::S3MediaStore, String) {
    let bucket = format!("zabota-test-{}", uuid::Uuid::new_v4().simple());
    create_bucket(&bucket).await;
    (zabota_core::media::S3MediaStore::new(s3_client(), &bucket), bucket)
}

/// Creates a bucket on moto.
pub async fn create_bucket(bucket: &str) {
    s3_client()
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuCentral1)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating bucket {bucket} on {}: {e:?}", aws_endpoint()));
}
