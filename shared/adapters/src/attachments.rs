//! Records' files in S3 (the template's AttachmentsBucket), each under `<tenant>/<record>/<name>`:
//! the tenant is the verified caller's, so no key names another tenant's file. Only pre-signed
//! GET links leave the API; nothing reads a file's bytes back.

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{Attachment, StoreError};
use crm_model::record::attachments::{AttachmentStore, LINK_SECONDS, object_key};

#[derive(Debug, Clone)]
pub struct S3Attachments {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Attachments {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket the template names in the environment (`ATTACHMENTS_BUCKET`).
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, crate::ConfigError> {
        Ok(Self::new(
            Self::client(sdk),
            crate::config::var("ATTACHMENTS_BUCKET")?,
        ))
    }

    /// A client for the configured endpoint: path-style addressing, which the local emulator
    /// (an endpoint with no bucket subdomains) needs and AWS accepts.
    pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

#[async_trait]
impl AttachmentStore for S3Attachments {
    async fn put(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        file: &Attachment,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(object_key(tenant, record, &file.file_name))
            .content_type(&file.content_type)
            .body(ByteStream::from(file.data.clone()))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(crate::sdk_errors::described(&e).into()))?;
        Ok(())
    }

    async fn link(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        name: &str,
    ) -> Result<String, StoreError> {
        let expires = std::time::Duration::from_secs(u64::from(LINK_SECONDS));
        let config = PresigningConfig::expires_in(expires).map_err(unavailable)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key(tenant, record, name))
            .response_content_disposition(content_disposition(name))
            .presigned(config)
            .await
            .map_err(|e| StoreError::Unavailable(crate::sdk_errors::described(&e).into()))?;
        Ok(request.uri().to_owned())
    }
}

/// `attachment; filename*=UTF-8''…`: a Vietnamese file name arrives as it was printed.
fn content_disposition(name: &str) -> String {
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename*=UTF-8''{encoded}")
}
