//! `aws_s3`: objects in a bucket of AWS S3 or an S3-compatible server.

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use tokio::io::AsyncReadExt;

use super::{check_key, ObjectReader, ObjectStore, ObjectStoreError};
use crate::config::Secret;

/// Uploads larger than this go in parts of this size (S3's minimum part is
/// 5 MiB); at most one part is in memory at a time.
const PART: usize = 8 * 1024 * 1024;

const BUCKET: &str = "PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET";
const KEYS: &str =
    "PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID and PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY";

pub struct S3 {
    client: Client,
    bucket: String,
}

type Response = aws_sdk_s3::config::http::HttpResponse;

/// The SDK error in words (it never holds the credentials).
fn describe<E: std::error::Error + 'static>(e: &SdkError<E, Response>) -> String {
    DisplayErrorContext(e).to_string()
}

/// The HTTP status the store answered with, if it answered.
fn status<E>(e: &SdkError<E, Response>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

impl S3 {
    /// A client for `bucket`. With an `endpoint` (MinIO and the like)
    /// buckets are addressed path-style.
    pub async fn new(
        bucket: &str,
        region: &str,
        access_key_id: Option<&str>,
        secret_access_key: Option<&Secret>,
        endpoint: Option<&str>,
    ) -> S3 {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(region.to_owned()));
        if let (Some(id), Some(secret)) = (access_key_id, secret_access_key) {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id,
                &secret.0,
                None,
                None,
                "phobos-configuration",
            ));
        }
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(endpoint.is_some())
            .build();
        S3 {
            client: Client::from_conf(config),
            bucket: bucket.to_owned(),
        }
    }

    /// Checks at start that the bucket is there and the credentials are
    /// accepted; the error names the setting to fix and what the store said.
    pub async fn check(&self) -> Result<(), String> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match status(&e) {
                Some(404) => format!(
                    "{BUCKET}: bucket {:?} does not exist (the store answered 404 Not Found); create it or name another",
                    self.bucket
                ),
                Some(code @ (401 | 403)) => format!(
                    "{KEYS}: the store refused them for bucket {:?} ({code}: {}); check the key pair and its permissions",
                    self.bucket,
                    describe(&e)
                ),
                _ => format!(
                    "cannot reach bucket {:?} (check PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT and _REGION): {}",
                    self.bucket,
                    describe(&e)
                ),
            }),
        }
    }

    async fn put_multipart(
        &self,
        key: &str,
        mut chunk: Vec<u8>,
        body: &mut ObjectReader,
    ) -> Result<u64, String> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        let uploaded = async {
            let mut parts = Vec::new();
            let mut total = 0u64;
            let mut number = 1;
            while !chunk.is_empty() {
                total += chunk.len() as u64;
                let part = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(chunk))
                    .send()
                    .await
                    .map_err(|e| describe(&e))?;
                parts.push(
                    CompletedPart::builder()
                        .e_tag(part.e_tag().unwrap_or_default())
                        .part_number(number)
                        .build(),
                );
                number += 1;
                chunk = read_part(body).await.map_err(|e| e.to_string())?;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| describe(&e))?;
            Ok::<_, String>(total)
        }
        .await;
        if uploaded.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        uploaded
    }
}

/// Up to [`PART`] bytes of `body` (fewer only at its end).
async fn read_part(body: &mut ObjectReader) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(PART);
    let mut limited = body.take(PART as u64);
    limited.read_to_end(&mut buf).await?;
    Ok(buf)
}

#[async_trait]
impl ObjectStore for S3 {
    async fn put_stream(&self, key: &str, mut body: ObjectReader) -> Result<u64, ObjectStoreError> {
        check_key(key)?;
        let io = |e: String| {
            ObjectStoreError::Io(format!("storing {key} in bucket {:?}: {e}", self.bucket))
        };
        let first = read_part(&mut body).await.map_err(|e| io(e.to_string()))?;
        if first.len() < PART {
            let length = first.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(ByteStream::from(first))
                .send()
                .await
                .map_err(|e| io(describe(&e)))?;
            return Ok(length);
        }
        self.put_multipart(key, first, &mut body).await.map_err(io)
    }

    async fn get_stream(&self, key: &str) -> Result<ObjectReader, ObjectStoreError> {
        check_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Box::new(object.body.into_async_read())),
            Err(e) if status(&e) == Some(404) => Err(ObjectStoreError::NotFound(key.to_string())),
            Err(e) => Err(ObjectStoreError::Io(format!(
                "reading {key} from bucket {:?}: {}",
                self.bucket,
                describe(&e)
            ))),
        }
    }
}
