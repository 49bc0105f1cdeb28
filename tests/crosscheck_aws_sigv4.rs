//! Cross-check against an independent SigV4 implementation, the AWS SDK for Rust's
//! `aws-sigv4`: requests it signs for the public host verify, and the filter's re-signed
//! request is exactly what `aws-sigv4` produces for the origin with the origin key pair.

mod random_requests;

use random_requests::oracle::{
    gateway, sign_with_aws_sigv4, with_params, Oracle, Payload, Signed, CLIENT, ORIGIN, ORIGIN_PAIR,
};
use random_requests::NOW;
use s3_resign::auth_kind::AuthKind;
use s3_resign::gateway::{Decision, Forward, Gateway};
use s3_resign::request::Request;
use sha2::{Digest, Sha256};

const PUBLIC: &str = "s3.mydomain.com";

struct Case {
    method: &'static str,
    /// Path and query, encoded as an SDK sends them.
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
}

const CASES: &[Case] = &[
    Case { method: "GET", target: "/bucket/key.txt", headers: &[("range", "bytes=0-9")], body: b"" },
    Case { method: "PUT", target: "/bucket/a%20b/%C3%BC%2B%25%3D%26~%27..//x", headers: &[("content-type", "text/plain"), ("x-amz-meta-owner", "  alice   and bob ")], body: b"hello" },
    Case { method: "HEAD", target: "/bucket/dir/../obj", headers: &[], body: b"" },
    Case { method: "DELETE", target: "/bucket/key", headers: &[], body: b"" },
    Case { method: "GET", target: "/bucket?list-type=2&prefix=logs%2F2026%2F&delimiter=%2F&max-keys=3", headers: &[], body: b"" },
    Case { method: "GET", target: "/bucket?list-type=2&continuation-token=1%2Babc%3D%3D&encoding-type=url", headers: &[], body: b"" },
    Case { method: "POST", target: "/bucket/big?uploads", headers: &[("content-type", "application/octet-stream")], body: b"" },
    Case { method: "PUT", target: "/bucket/big?partNumber=2&uploadId=abc-123_XYZ", headers: &[], body: b"part two" },
    Case { method: "POST", target: "/bucket?delete", headers: &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")], body: b"<Delete/>" },
    Case { method: "PUT", target: "/bucket/copy", headers: &[("x-amz-copy-source", "/bucket/src%20key%2B1"), ("x-amz-metadata-directive", "REPLACE")], body: b"" },
    Case { method: "GET", target: "/bucket/report.csv?response-content-disposition=attachment%3B%20filename%3D%22r.csv%22&response-content-type=text%2Fcsv", headers: &[], body: b"" },
    Case { method: "GET", target: "/", headers: &[], body: b"" },
];

/// `case` as `aws-sigv4` signs it for `host` with `key`: in headers over the body's hash, or
/// as a presigned URL.
fn sdk_sign(case: &Case, host: &str, key: (&str, &str), region: &str, presigned: bool) -> Signed {
    let headers: Vec<(String, String)> = case
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let hash = hex::encode(Sha256::digest(case.body));
    let payload = if presigned {
        Payload::Presigned(3600)
    } else {
        Payload::Header(&hash)
    };
    sign_with_aws_sigv4(&Oracle {
        method: case.method,
        host,
        target: case.target,
        headers: &headers,
        key,
        region,
        time: NOW,
        payload,
    })
    .expect("aws-sigv4 signs every case")
}

fn pairs(case: &Case, target: &str, headers: &[(String, String)]) -> Vec<(String, Vec<u8>)> {
    let mut pairs = vec![
        (":method".to_owned(), case.method.as_bytes().to_vec()),
        (":path".to_owned(), target.as_bytes().to_vec()),
        (":authority".to_owned(), PUBLIC.as_bytes().to_vec()),
    ];
    for (n, v) in case.headers {
        pairs.push((n.to_string(), v.as_bytes().to_vec()));
    }
    for (n, v) in headers {
        pairs.push((n.to_ascii_lowercase(), v.as_bytes().to_vec()));
    }
    pairs
}

fn forward<'g>(gateway: &'g Gateway, pairs: &[(String, Vec<u8>)]) -> Forward<'g> {
    let req = Request::from_pairs(pairs).unwrap();
    match gateway.decide(&req, NOW) {
        Decision::Forward(f) => f,
        Decision::Reject(r) => panic!("rejected: {} {:?}", r.error, r.detail),
    }
}

/// The client's request, signed by `aws-sigv4` for the public host with the client pair.
fn client_signed(case: &Case, presigned: bool) -> Signed {
    sdk_sign(case, PUBLIC, CLIENT, "us-west-2", presigned)
}

fn header_signed_round_trip(origin_region: Option<&str>) {
    let gateway = gateway(PUBLIC, origin_region);
    for case in CASES {
        let client = client_signed(case, false);
        let f = forward(&gateway, &pairs(case, case.target, &client.headers));
        assert_eq!(f.kind, AuthKind::HeaderV4);
        assert_eq!(f.authority.as_deref(), Some(ORIGIN));
        assert_eq!(f.path, None, "{}: the path is kept", case.target);

        let region = origin_region.unwrap_or("us-west-2");
        let origin = sdk_sign(case, ORIGIN, ORIGIN_PAIR, region, false);
        assert_eq!(
            f.header("authorization"),
            Some(
                origin
                    .header("authorization")
                    .expect("signed in headers")
                    .as_bytes()
            ),
            "{} {}",
            case.method,
            case.target
        );
    }
}

#[test]
fn header_signed_requests_re_sign_as_the_sdk_would_for_the_origin() {
    header_signed_round_trip(None);
}

#[test]
fn header_signed_requests_re_sign_for_another_origin_region() {
    header_signed_round_trip(Some("eu-central-1"));
}

#[test]
fn presigned_urls_re_sign_as_the_sdk_would_for_the_origin() {
    let gateway = gateway(PUBLIC, None);
    for case in CASES {
        let client = client_signed(case, true);
        let target = with_params(case.target, &client.params);
        let f = forward(&gateway, &pairs(case, &target, &[]));
        assert_eq!(f.kind, AuthKind::PresignedV4);
        assert_eq!(f.header("authorization"), None);

        let origin = sdk_sign(case, ORIGIN, ORIGIN_PAIR, "us-west-2", true);
        let expected = with_params(case.target, &origin.params);
        assert_eq!(
            String::from_utf8(f.path.unwrap()).unwrap(),
            expected,
            "{} {}",
            case.method,
            case.target
        );
    }
}
