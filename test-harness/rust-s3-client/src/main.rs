//! `rust-s3-client <endpoint> <bucket> <path|virtual> <operation> [arguments…]`
//!
//! One operation of rust-s3 (the `s3` crate) against `endpoint`, signed with the key pair in
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` for the region in `AWS_REGION`; prints one
//! JSON object: the status and what came back. Virtual-hosted requests name the bucket in the
//! host, reached through `HTTP_PROXY`. Operations:
//!
//! - `put KEY BODY [CONTENT-TYPE [NAME=VALUE…]]` (metadata), `get KEY`, `range KEY FIRST LAST`,
//!   `head KEY`, `delete KEY`, `delete-many KEY…`
//! - `list-page PREFIX DELIMITER MAX-KEYS TOKEN` (`-` for none): ListObjectsV2, one page
//! - `stream KEY SIZE`: `put_object_stream` of SIZE bytes (`i % 251`), in parts from 8 MiB
//! - `presign-get KEY [RESPONSE-CONTENT-TYPE]`, `presign-put KEY`, `presign-delete KEY`: the URL

use s3::bucket::Bucket;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::region::Region;
use s3::serde_types::ObjectIdentifier;
use serde_json::{json, Value};
use std::collections::HashMap;

const PRESIGNED_SECONDS: u32 = 3600;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn optional(arg: &str) -> Option<String> {
    (arg != "-").then(|| arg.to_owned())
}

fn bucket(endpoint: &str, name: &str, style: &str) -> Result<Bucket, S3Error> {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let region = Region::Custom {
        region: var("AWS_REGION"),
        endpoint: endpoint.to_owned(),
    };
    let credentials = Credentials::new(
        Some(&var("AWS_ACCESS_KEY_ID")),
        Some(&var("AWS_SECRET_ACCESS_KEY")),
        None,
        None,
        None,
    )?;
    let mut bucket = *Bucket::new(name, region, credentials)?;
    match style {
        "path" => bucket.set_path_style(),
        "virtual" => bucket.set_subdomain_style(),
        other => panic!("addressing {other:?}: path or virtual"),
    }
    Ok(bucket)
}

async fn run(bucket: &Bucket, operation: &str, args: &[String]) -> Result<Value, S3Error> {
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{operation}: argument {i}"))
    };
    Ok(match operation {
        "put" => {
            let mut put = bucket.put_object_builder(arg(0), arg(1).as_bytes());
            if let Some(content_type) = args.get(2).filter(|t| !t.is_empty()) {
                put = put.with_content_type(content_type);
            }
            for pair in args.iter().skip(3) {
                let (name, value) = pair.split_once('=').expect("metadata as NAME=VALUE");
                put = put.with_metadata(name, value)?;
            }
            let r = put.execute().await?;
            json!({"status": r.status_code(), "body": text(r.as_slice())})
        }
        "get" => {
            let r = bucket.get_object(arg(0)).await?;
            json!({"status": r.status_code(), "body": text(r.as_slice())})
        }
        "range" => {
            let (first, last) = (
                arg(1).parse().expect("FIRST"),
                arg(2).parse().expect("LAST"),
            );
            let r = bucket.get_object_range(arg(0), first, Some(last)).await?;
            json!({"status": r.status_code(), "body": text(r.as_slice())})
        }
        "head" => {
            let (head, status) = bucket.head_object(arg(0)).await?;
            json!({"status": status, "content_type": head.content_type, "metadata": head.metadata})
        }
        "delete" => {
            let r = bucket.delete_object(arg(0)).await?;
            json!({"status": r.status_code(), "body": text(r.as_slice())})
        }
        "delete-many" => {
            let keys: Vec<_> = args
                .iter()
                .map(|k| ObjectIdentifier::new(k.clone()))
                .collect();
            let r = bucket.delete_objects(keys).await?;
            json!({"deleted": r.deleted.len(), "errors": r.errors.len()})
        }
        "list-page" => {
            let max_keys = optional(arg(2)).map(|n| n.parse().expect("MAX-KEYS"));
            let (page, status) = bucket
                .list_page(
                    arg(0).to_owned(),
                    optional(arg(1)),
                    optional(arg(3)),
                    None,
                    max_keys,
                )
                .await?;
            let prefixes: Vec<String> = page
                .common_prefixes
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.prefix)
                .collect();
            let keys: Vec<String> = page.contents.into_iter().map(|o| o.key).collect();
            json!({"status": status, "keys": keys, "prefixes": prefixes, "next": page.next_continuation_token})
        }
        "stream" => {
            let size: usize = arg(1).parse().expect("SIZE");
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut reader = std::io::Cursor::new(data);
            let r = bucket.put_object_stream(&mut reader, arg(0)).await?;
            json!({"status": r.status_code(), "uploaded": r.uploaded_bytes()})
        }
        "presign-get" => {
            let query = args
                .get(1)
                .map(|t| HashMap::from([("response-content-type".to_owned(), t.clone())]));
            json!({"url": bucket.presign_get(arg(0), PRESIGNED_SECONDS, query).await?})
        }
        "presign-put" => {
            json!({"url": bucket.presign_put(arg(0), PRESIGNED_SECONDS, None, None).await?})
        }
        "presign-delete" => json!({"url": bucket.presign_delete(arg(0), PRESIGNED_SECONDS).await?}),
        other => panic!("unknown operation {other:?}"),
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, name, style, operation, rest @ ..] = args.as_slice() else {
        panic!("usage: rust-s3-client <endpoint> <bucket> <path|virtual> <operation> [arguments…]");
    };
    let out = match bucket(endpoint, name, style) {
        Ok(bucket) => run(&bucket, operation, rest).await,
        Err(e) => Err(e),
    };
    let out = out.unwrap_or_else(|e| json!({"error": e.to_string()}));
    println!("{out}");
}
