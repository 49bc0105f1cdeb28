//! Cross-check against an independent SigV4 implementation, the AWS SDK for Rust's
//! `aws-sigv4`: requests it signs for the public host verify, and the filter's re-signed
//! request is exactly what `aws-sigv4` produces for the origin with the origin key pair.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use s3_resign::auth_kind::AuthKind;
use s3_resign::config::Config;
use s3_resign::gateway::{Decision, Forward, Gateway};
use s3_resign::request::Request;
use std::time::{Duration, UNIX_EPOCH};

const PUBLIC: &str = "s3.mydomain.com";
const ORIGIN: &str = "s3.example.com:9000";
/// 2026-11-29T12:00:00Z
const NOW: u64 = 1_795_953_600;

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

fn settings(location: SignatureLocation) -> SigningSettings {
    let mut s = SigningSettings::default();
    s.percent_encoding_mode = PercentEncodingMode::Single;
    s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    s.signature_location = location;
    if location == SignatureLocation::QueryParams {
        s.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        s.expires_in = Some(Duration::from_secs(3600));
    }
    s
}

/// What `aws-sigv4` adds to the request: headers, or query parameters.
struct Signed {
    headers: Vec<(String, String)>,
    params: Vec<(String, String)>,
}

fn sdk_sign(
    case: &Case,
    host: &str,
    key: (&str, &str),
    region: &str,
    location: SignatureLocation,
) -> Signed {
    let identity = Credentials::new(key.0, key.1, None, None, "crosscheck").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(UNIX_EPOCH + Duration::from_secs(NOW))
        .settings(settings(location))
        .build()
        .unwrap()
        .into();
    let url = format!("http://{host}{}", case.target);
    let headers = case.headers.iter().copied();
    let body = if location == SignatureLocation::QueryParams {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(case.body)
    };
    let request = SignableRequest::new(case.method, url, headers, body).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let (headers, params) = instructions.into_parts();
    Signed {
        headers: headers
            .iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect(),
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

fn gateway(origin_region: Option<&str>) -> Gateway {
    let mut json = serde_json::json!({
        "public_domains": [PUBLIC],
        "origin_authority": ORIGIN,
        "credentials": [{
            "access_key_id": "CLIENTKEY", "secret_access_key": "client/secret+key",
            "origin_access_key_id": "ORIGINKEY", "origin_secret_access_key": "origin-secret"
        }],
    });
    if let Some(region) = origin_region {
        json["origin_region"] = region.into();
    }
    Gateway::new(Config::parse(json.to_string().as_bytes(), &|_| None).unwrap())
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
fn client_signed(case: &Case, location: SignatureLocation) -> Signed {
    let client = ("CLIENTKEY", "client/secret+key");
    sdk_sign(case, PUBLIC, client, "us-west-2", location)
}

fn header_signed_round_trip(origin_region: Option<&str>) {
    let gateway = gateway(origin_region);
    for case in CASES {
        let client = client_signed(case, SignatureLocation::Headers);
        let f = forward(&gateway, &pairs(case, case.target, &client.headers));
        assert_eq!(f.kind, AuthKind::HeaderV4);
        assert_eq!(f.authority.as_deref(), Some(ORIGIN));
        assert_eq!(f.path, None, "{}: the path is kept", case.target);

        let origin = sdk_sign(
            case,
            ORIGIN,
            ("ORIGINKEY", "origin-secret"),
            origin_region.unwrap_or("us-west-2"),
            SignatureLocation::Headers,
        );
        let expected = origin
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(
            f.header("authorization"),
            Some(expected.as_bytes()),
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

fn with_params(target: &str, params: &[(String, String)]) -> String {
    let mut out = target.to_owned();
    for (i, (n, v)) in params.iter().enumerate() {
        out.push(if i == 0 && !target.contains('?') {
            '?'
        } else {
            '&'
        });
        let mut encoded = String::new();
        s3_resign::sigv4::uri::encode_query_component(&mut encoded, v.as_bytes());
        out.push_str(&format!("{n}={encoded}"));
    }
    out
}

#[test]
fn presigned_urls_re_sign_as_the_sdk_would_for_the_origin() {
    let gateway = gateway(None);
    for case in CASES {
        let client = client_signed(case, SignatureLocation::QueryParams);
        let target = with_params(case.target, &client.params);
        let f = forward(&gateway, &pairs(case, &target, &[]));
        assert_eq!(f.kind, AuthKind::PresignedV4);
        assert_eq!(f.header("authorization"), None);

        let origin = sdk_sign(
            case,
            ORIGIN,
            ("ORIGINKEY", "origin-secret"),
            "us-west-2",
            SignatureLocation::QueryParams,
        );
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
