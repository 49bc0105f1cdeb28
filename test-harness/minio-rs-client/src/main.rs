//! `minio-rs-client <endpoint> <bucket> <operation> [arguments…]`
//!
//! One operation of minio-rs (crates.io `minio` 0.4.0, MinIO's Rust SDK: a SigV4 signer of its
//! own) against `endpoint` (a `BaseUrl`: path-style for any host but AWS's), signed with the key
//! pair in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN` when set).
//! The region is `AWS_REGION`; with `MINIO_REGION_LOOKUP=1` the client asks the bucket's
//! location (GetBucketLocation) as it does when none is set. Prints one JSON object: what came
//! back, or `{"error": …, "code": …}`. Operations:
//!
//! - `put KEY BODY [CONTENT-TYPE [NAME=VALUE…]]` (metadata): `put_object_content`
//! - `put-trailer KEY SIZE [signed]`: `put_object_content` of SIZE bytes (`i % 251`) with a
//!   CRC32 trailing checksum, aws-chunked (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, or
//!   `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` with `signed`)
//! - `put-big KEY SIZE`: `put_object_content` of SIZE bytes in 5 MiB parts (multipart)
//! - `get KEY`, `range KEY OFFSET LENGTH`, `stat KEY`, `delete KEY`
//! - `list PREFIX [v1] [recursive]`: every entry of `list_objects` (V2 unless `v1`)
//! - `presign-get KEY`: the URL of a presigned GET

use futures_util::StreamExt;
use http::Method;
use minio::s3::builders::ObjectContent;
use minio::s3::creds::StaticProvider;
use minio::s3::error::{Error, S3ServerError};
use minio::s3::http::BaseUrl;
use minio::s3::multimap_ext::Multimap;
use minio::s3::types::{Region, S3Api, ToStream};
use minio::s3::utils::ChecksumAlgorithm;
use minio::s3::{MinioClient, MinioClientBuilder};
use serde_json::{json, Value};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn error(e: Error) -> Value {
    match e {
        Error::S3Server(S3ServerError::S3Error(r)) => {
            json!({"error": r.message().clone().unwrap_or_default(), "code": format!("{:?}", r.code())})
        }
        other => json!({"error": format!("{other}: {other:?}")}),
    }
}

fn data(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

async fn run(
    client: &MinioClient,
    bucket: &str,
    operation: &str,
    args: &[String],
) -> Result<Value, Error> {
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .unwrap_or_else(|| panic!("{operation}: argument {i}"))
    };
    Ok(match operation {
        "put" => {
            let mut metadata = Multimap::new();
            for pair in args.iter().skip(3) {
                let (n, v) = pair.split_once('=').expect("metadata as NAME=VALUE");
                metadata.insert(n.to_owned(), v.to_owned());
            }
            let r = client
                .put_object_content(bucket, arg(0), ObjectContent::from(arg(1).into_bytes()))?
                .content_type(args.get(2).filter(|t| !t.is_empty()).cloned())
                .user_metadata((!metadata.is_empty()).then_some(metadata))
                .build()
                .send()
                .await?;
            json!({"status": 200, "size": r.object_size()})
        }
        "put-trailer" => {
            let size: usize = arg(1).parse().expect("SIZE");
            let signed = args.get(2).is_some_and(|s| s == "signed");
            client
                .put_object_content(bucket, arg(0), ObjectContent::from(data(size)))?
                .checksum_algorithm(Some(ChecksumAlgorithm::CRC32))
                .use_trailing_checksum(true)
                .use_signed_streaming(signed)
                .build()
                .send()
                .await?;
            json!({"status": 200})
        }
        "put-big" => {
            let size: usize = arg(1).parse().expect("SIZE");
            client
                .put_object_content(bucket, arg(0), ObjectContent::from(data(size)))?
                .part_size(Some(5 * 1024 * 1024))
                .build()
                .send()
                .await?;
            json!({"status": 200})
        }
        "get" | "range" => {
            let get = client.get_object(bucket, arg(0))?;
            let r = if operation == "range" {
                let offset = arg(1).parse().expect("OFFSET");
                let length = arg(2).parse().expect("LENGTH");
                get.offset(Some(offset))
                    .length(Some(length))
                    .build()
                    .send()
                    .await?
            } else {
                get.build().send().await?
            };
            let body = r.into_bytes().await?;
            json!({"status": 200, "body": String::from_utf8_lossy(&body)})
        }
        "stat" => {
            let r = client.stat_object(bucket, arg(0))?.build().send().await?;
            json!({"status": 200, "size": r.size()?, "metadata": r.user_metadata()?})
        }
        "delete" => {
            client.delete_object(bucket, arg(0))?.build().send().await?;
            json!({"status": 204})
        }
        "list" => {
            let v1 = args.iter().any(|a| a == "v1");
            let recursive = args.iter().any(|a| a == "recursive");
            let mut stream = client
                .list_objects(bucket)?
                .prefix(Some(arg(0)))
                .use_api_v1(v1)
                .recursive(recursive)
                .max_keys(Some(2))
                .build()
                .to_stream()
                .await;
            let (mut keys, mut prefixes, mut pages) = (Vec::new(), Vec::new(), 0);
            while let Some(page) = stream.next().await {
                pages += 1;
                for entry in page?.contents {
                    if entry.is_prefix {
                        prefixes.push(entry.name)
                    } else {
                        keys.push(entry.name)
                    }
                }
            }
            json!({"status": 200, "keys": keys, "prefixes": prefixes, "pages": pages})
        }
        "presign-get" => {
            let r = client
                .get_presigned_object_url(bucket, arg(0), Method::GET)?
                .build()
                .send()
                .await?;
            json!({"url": r.url})
        }
        other => panic!("unknown operation {other:?}"),
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, bucket, operation, rest @ ..] = args.as_slice() else {
        panic!("usage: minio-rs-client <endpoint> <bucket> <operation> [arguments…]");
    };
    let mut base_url: BaseUrl = endpoint.parse().expect("endpoint");
    if std::env::var("MINIO_REGION_LOOKUP").as_deref() != Ok("1") {
        base_url.region = Region::new(var("AWS_REGION")).expect("region");
    }
    let provider = StaticProvider::new(
        &var("AWS_ACCESS_KEY_ID"),
        &var("AWS_SECRET_ACCESS_KEY"),
        std::env::var("AWS_SESSION_TOKEN").ok().as_deref(),
    );
    let client = MinioClientBuilder::new(base_url)
        .provider(Some(provider))
        .build()
        .expect("client");
    let out = run(&client, bucket, operation, rest)
        .await
        .unwrap_or_else(error);
    println!("{out}");
}
