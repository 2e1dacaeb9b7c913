//! An S3 bucket as the media store; `S3_ENDPOINT` points it at an S3-compatible server (path-style addressing).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::MediaError;

/// Objects in one bucket.
#[derive(Clone, Debug)]
pub struct S3MediaStore {
    client: Client,
    bucket: String,
}

fn s3_error(e: impl std::error::Error) -> MediaError {
    MediaError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

impl S3MediaStore {
    /// A store over `client` and `bucket`.
    pub fn new(client: Client, bucket: &str) -> Self {
        S3MediaStore { client, bucket: bucket.to_owned() }
    }

    /// Region and credentials from the standard AWS chain (loaded once per process and shared with Secrets
    /// Manager); an endpoint override switches to path-style addressing.
    pub async fn from_env(bucket: &str, endpoint: Option<&str>) -> Self {
        let mut config = aws_sdk_s3::config::Builder::from(crate::config::aws::sdk_config().await);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Self::new(Client::from_conf(config.build()), bucket)
    }

    /// PutObject with the content type; server-side encryption is the bucket's default.
    pub async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), MediaError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    /// GetObject: the whole object in memory; a missing key is [`MediaError::NotFound`].
    pub async fn get(&self, key: &str) -> Result<Bytes, MediaError> {
        let output = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                MediaError::NotFound(key.to_owned())
            } else {
                s3_error(e)
            }
        })?;
        let body = output.body.collect().await.map_err(s3_error)?;
        Ok(body.into_bytes())
    }

    /// DeleteObject (idempotent in S3).
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(s3_error)?;
        Ok(())
    }
}
