//! `s3-sdk-client <endpoint> <access key> <secret> <bucket> <key> <file> <put|multipart> [ca.pem]`
//!
//! Uploads `file` with the AWS SDK for Rust, from a path (a streaming body), and prints one
//! line per HTTP request it sends: the operation's method and the `x-amz-content-sha256` and
//! `x-amz-trailer` values, so the tests can assert which payload mode the SDK really used.
//!
//! The SDK picks the payload mode from the scheme: over `http://` it signs every chunk and the
//! trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER), over `https://` it leaves the chunks
//! to TLS (STREAMING-UNSIGNED-PAYLOAD-TRAILER). An `https://` endpoint needs `ca.pem`, the
//! only certificate trusted.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents, SharedHttpClient,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
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
    let (required, ca_file) = match args.split_at_checked(8) {
        Some((required, [])) => (required, None),
        Some((required, [ca_file])) => (required, Some(ca_file)),
        _ => (&args[..0], None),
    };
    let [_, endpoint, access_key, secret, bucket, key, file, op] = required else {
        eprintln!("usage: s3-sdk-client <endpoint> <access key> <secret> <bucket> <key> <file> <put|multipart> [ca.pem]");
        return ExitCode::from(2);
    };
    let http_client = match http_client(ca_file) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot set up TLS: {e}");
            return ExitCode::from(2);
        }
    };
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, secret, None, None, "tests"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(http_client)
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

/// Plain HTTP, or HTTPS (rustls) trusting only the certificate in `ca_file`.
fn http_client(ca_file: Option<&String>) -> Result<SharedHttpClient, Box<dyn std::error::Error>> {
    let builder = aws_smithy_http_client::Builder::new();
    let Some(ca_file) = ca_file else {
        return Ok(builder.build_http());
    };
    let trust = TrustStore::empty().with_pem_certificate(std::fs::read(ca_file)?);
    let context = TlsContext::builder().with_trust_store(trust).build()?;
    Ok(builder
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
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
