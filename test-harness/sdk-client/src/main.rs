//! `s3-sdk-client <endpoint> <access key> <secret> <bucket> <key> <file> <put|multipart>`
//!
//! Uploads `file` with the AWS SDK for Rust, from a path (a streaming body), and prints one
//! line per HTTP request it sends: the operation's method and the `x-amz-content-sha256` and
//! `x-amz-trailer` values, so the tests can assert which payload mode the SDK really used.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::process::ExitCode;

#[derive(Debug)]
struct ShowPayloadMode;

impl Intercept for ShowPayloadMode {
    fn name(&self) -> &'static str {
        "ShowPayloadMode"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request();
        let header = |name: &str| request.headers().get(name).unwrap_or("-").to_owned();
        println!(
            "sent {} x-amz-content-sha256={} x-amz-trailer={}",
            request.method(),
            header("x-amz-content-sha256"),
            header("x-amz-trailer")
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, access_key, secret, bucket, key, file, op] = &args[..] else {
        eprintln!("usage: s3-sdk-client <endpoint> <access key> <secret> <bucket> <key> <file> <put|multipart>");
        return ExitCode::from(2);
    };
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, secret, None, None, "tests"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .interceptor(ShowPayloadMode)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let body = match ByteStream::from_path(file).await {
        Ok(body) => body,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match op.as_str() {
        "put" => client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string()),
        "multipart" => multipart(&client, bucket, key, body).await,
        _ => Err(format!("unknown operation {op}")),
    };
    match result {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error {e}");
            ExitCode::FAILURE
        }
    }
}

/// One UploadPart carrying the whole file, between Create and Complete.
async fn multipart(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: ByteStream,
) -> Result<(), String> {
    let show = |e| aws_sdk_s3::error::DisplayErrorContext(e).to_string();
    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(show)?;
    let upload_id = upload.upload_id().unwrap_or_default();
    let part = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(1)
        .body(body)
        .send()
        .await
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
    let completed = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .set_e_tag(part.e_tag().map(str::to_owned))
                .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
                .build(),
        )
        .build();
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(completed)
        .send()
        .await
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
    Ok(())
}
