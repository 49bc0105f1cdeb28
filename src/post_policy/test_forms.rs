//! Forms for the unit tests of `verify` and `authorise`: a head read from its fields, signed
//! with SigV4 or SigV2 by the one key of a configuration. The integration tests
//! (`tests/post_policy.rs`) drive whole bodies; these keep each check's own test in seconds,
//! where a mutation run's first pass looks.

use super::boundary::Boundary;
use super::form_head::{FormHead, HeadParser, Progress};
use crate::config::Config;
use crate::memory_budget::MemoryBudget;
use crate::sigv4::credential::Scope;
use crate::sigv4::signing::{SecretKey, SigningKey};
use base64::Engine;

pub const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// 2026-11-29T12:00:00Z, when the forms are posted.
pub const NOW: u64 = 1_795_953_600;
pub const DATE: &str = "20261129T120000Z";
pub const BUCKET: &str = "photos";

/// The client's key pair, used at the origin too (so a form as browsers write it passes
/// untouched); `anonymous` is the setting's value.
pub fn config(anonymous: &str) -> Config {
    let json = serde_json::json!({
        "public_domains": ["s3.mydomain.com"],
        "origin_authority": "s3.example.com",
        "credentials": [{"access_key_id": KEY, "secret_access_key": SECRET}],
        "anonymous": anonymous,
    });
    Config::parse(json.to_string().as_bytes(), &|_| None).unwrap()
}

/// The head of a form of `parts` (each its header lines and its value), then the file part
/// as browsers write it.
pub fn head_with_parts(parts: &[(&str, &str)]) -> FormHead {
    head_with_file(parts, "a.txt")
}

/// The head of a form of `parts`, then a file part with `filename`.
pub fn head_with_file(parts: &[(&str, &str)], filename: &str) -> FormHead {
    let mut body = String::new();
    for (headers, value) in parts {
        body.push_str(&format!("--B\r\n{headers}\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!(
        "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\r\n"
    ));
    let mut parser = HeadParser::new(
        Boundary::new(b"B").unwrap(),
        1 << 16,
        MemoryBudget::new(1 << 20),
    );
    assert!(matches!(
        parser.push(body.as_bytes()),
        Ok(Progress::Complete { .. })
    ));
    parser.into_head().unwrap()
}

/// Each field as browsers write it.
pub fn head(fields: &[(&str, &str)]) -> FormHead {
    let parts: Vec<(String, &str)> = fields
        .iter()
        .map(|(name, value)| {
            (
                format!("Content-Disposition: form-data; name=\"{name}\""),
                *value,
            )
        })
        .collect();
    let parts: Vec<(&str, &str)> = parts.iter().map(|(h, v)| (h.as_str(), *v)).collect();
    head_with_parts(&parts)
}

/// The `policy` field of a document expiring at `expiration` with `conditions` (JSON).
pub fn policy(expiration: &str, conditions: &str) -> String {
    let json = format!(r#"{{"expiration": "{expiration}", "conditions": {conditions}}}"#);
    base64::engine::general_purpose::STANDARD.encode(json)
}

/// A policy of the conditions a SigV4 form needs, expiring a second after `NOW`.
pub fn v4_policy(key: &str) -> String {
    policy(
        "2026-11-29T12:00:01Z",
        &format!(
            r#"[{{"bucket": "{BUCKET}"}}, {{"key": "{key}"}}, {{"x-amz-algorithm": "AWS4-HMAC-SHA256"}},
                {{"x-amz-credential": "{KEY}/20261129/us-east-1/s3/aws4_request"}}, {{"x-amz-date": "{DATE}"}}]"#
        ),
    )
}

/// The SigV4 fields of `policy` signed for the scope `date`/us-east-1/`service`.
pub fn v4_fields(policy: &str, date: &str, service: &str) -> Vec<(String, String)> {
    let scope = Scope {
        date: &date[..8],
        region: "us-east-1",
        service,
    };
    let signature = SigningKey::derive(&SecretKey::new(SECRET), &scope)
        .sign(policy.as_bytes())
        .to_hex();
    vec![
        ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
        (
            "X-Amz-Credential".into(),
            format!("{KEY}/{}/us-east-1/{service}/aws4_request", &date[..8]),
        ),
        ("X-Amz-Date".into(), date.into()),
        ("Policy".into(), policy.into()),
        ("X-Amz-Signature".into(), signature),
    ]
}

/// The SigV2 fields of `policy`.
pub fn v2_fields(policy: &str) -> Vec<(String, String)> {
    let signature = crate::sigv2::signature::sign(&SecretKey::new(SECRET), policy.as_bytes());
    vec![
        ("AWSAccessKeyId".into(), KEY.into()),
        ("Policy".into(), policy.into()),
        ("Signature".into(), signature.to_base64()),
    ]
}

/// `fields` with `extra` before them, as `head` takes them.
pub fn with<'a>(
    extra: &[(&'a str, &'a str)],
    fields: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    extra
        .iter()
        .copied()
        .chain(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .collect()
}
