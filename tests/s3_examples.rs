//! The worked examples of the Amazon S3 documentation (`s3-sigv4-examples.json`), one test per
//! example: canonical request, string to sign and signature checked in turn, then the whole
//! filter decision at the example's date.

mod common;

use common::{example_pairs, s3_example, s3_examples};
use s3_resign::auth_kind::AuthKind;
use s3_resign::config::Config;
use s3_resign::gateway::{Decision, Gateway};
use s3_resign::request::Request;
use s3_resign::s3_error::S3ErrorCode;
use s3_resign::sigv4::amz_date::AmzDate;
use s3_resign::sigv4::authorization::AuthorizationV4;
use s3_resign::sigv4::canonical::CanonicalRequest;
use s3_resign::sigv4::presigned::{PresignedParams, X_AMZ_SIGNATURE};
use s3_resign::sigv4::query::{canonical_query, Edit};
use s3_resign::sigv4::signing::{string_to_sign, SecretKey, SigningKey};
use s3_resign::sigv4::uri::canonical_path;
use serde_json::Value;

/// `kind`: how the filter should forward the example once its signature checks out.
fn check(name: &str, kind: AuthKind) {
    let all = s3_examples();
    let example = s3_example(name);
    let expected = &example["expected"];
    let secret = SecretKey::new(all["credentials"]["secret_access_key"].as_str().unwrap());
    let pairs = example_pairs(&example);
    let req = Request::from_pairs(&pairs).unwrap();

    // Canonical request, from what the filter parses out of the request.
    let presigned = PresignedParams::extract(req.raw_query());
    let authorization;
    let (scope, signed_headers, claimed, date, query) = if example["kind"] == "presigned" {
        let url = presigned.parse().unwrap();
        let query = canonical_query(req.raw_query(), |n| match n {
            X_AMZ_SIGNATURE => Edit::Drop,
            _ => Edit::Keep,
        });
        (
            url.credential.scope,
            url.signed_headers,
            url.signature,
            url.date,
            query,
        )
    } else {
        authorization = expected["authorization"].as_str().unwrap().to_owned();
        let auth = AuthorizationV4::parse(&authorization).unwrap();
        let date = AmzDate::parse(req.single("x-amz-date").unwrap().unwrap()).unwrap();
        let query = canonical_query(req.raw_query(), |_| Edit::Keep);
        (
            auth.credential.scope,
            auth.signed_headers,
            auth.signature,
            date,
            query,
        )
    };
    assert_eq!(
        signed_headers.to_string(),
        example["signed_headers"],
        "{name}: signed headers"
    );
    let canonical = CanonicalRequest::new(
        req.method,
        canonical_path(req.raw_path()),
        query,
        &signed_headers,
        &req.headers,
        example["payload_hash"].as_str().unwrap(),
    )
    .unwrap()
    .render(req.authority);
    assert_eq!(
        String::from_utf8(canonical.clone()).unwrap(),
        expected["canonical_request"].as_str().unwrap(),
        "{name}: canonical request"
    );

    let sts = string_to_sign(&date, &scope, &canonical);
    assert_eq!(
        sts,
        expected["string_to_sign"].as_str().unwrap(),
        "{name}: string to sign"
    );

    let signature = SigningKey::derive(&secret, &scope).sign(sts.as_bytes());
    assert_eq!(
        signature.to_hex(),
        expected["signature"].as_str().unwrap(),
        "{name}: signature"
    );
    assert!(
        signature.verifies(&claimed),
        "{name}: the request's own signature"
    );

    // The whole decision, at the example's date.
    let gateway = example_gateway(&all);
    let now = date.unix_seconds() as u64 + 1;
    match gateway.decide(&req, now) {
        Decision::Forward(f) => {
            assert_eq!(f.kind, kind, "{name}: kind");
            // Virtual-hosted examples stay virtual-hosted at the origin (origin_addressing
            // preserve), path-style ones path-style.
            let host = String::from_utf8(req.authority.to_vec()).unwrap();
            let at_origin = host.replace("s3.amazonaws.com", "origin.example:9000");
            assert_eq!(
                f.authority.as_deref(),
                Some(at_origin.as_str()),
                "{name}: authority"
            );
            assert_eq!(
                f.body.is_some(),
                kind == AuthKind::ChunkedV4,
                "{name}: body re-signer"
            );
        }
        d => panic!("{name}: unexpected decision {d:?}"),
    }
}

fn example_gateway(all: &Value) -> Gateway {
    let c = &all["credentials"];
    let json = serde_json::json!({
        "public_domains": ["s3.amazonaws.com"],
        "origin_authority": "origin.example:9000",
        "origin_addressing": "preserve",
        "credentials": [{
            "access_key_id": c["access_key_id"],
            "secret_access_key": c["secret_access_key"],
            "origin_access_key_id": "ORIGINKEY",
            "origin_secret_access_key": "origin-secret",
        }],
    });
    Gateway::new(Config::parse(json.to_string().as_bytes(), &|_| None).unwrap())
}

#[test]
fn get_object_range() {
    check("get-object-range", AuthKind::HeaderV4);
}

#[test]
fn put_object() {
    check("put-object", AuthKind::HeaderV4);
}

#[test]
fn get_bucket_lifecycle() {
    check("get-bucket-lifecycle", AuthKind::HeaderV4);
}

#[test]
fn list_objects() {
    check("list-objects", AuthKind::HeaderV4);
}

#[test]
fn presigned_get_object() {
    check("presigned-get-object", AuthKind::PresignedV4);
}

#[test]
fn chunked_upload_seed() {
    check("chunked-upload", AuthKind::ChunkedV4);
}

#[test]
fn chunked_upload_signed_trailer_seed() {
    check("chunked-upload-signed-trailer", AuthKind::ChunkedV4);
}

/// Every SigV4 example has its test above.
#[test]
fn every_example_is_listed() {
    let names: Vec<String> = s3_examples()["sigv4"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "get-object-range",
            "put-object",
            "get-bucket-lifecycle",
            "list-objects",
            "presigned-get-object",
            "chunked-upload",
            "chunked-upload-signed-trailer"
        ]
    );
}

/// The SigV2 examples (virtual-hosted, as the documentation writes them): the string to
/// sign, the signature, then the filter's decision at the example's date.
#[test]
fn sigv2_examples_verify() {
    let all = s3_examples();
    let gateway = example_gateway(&all);
    let secret = SecretKey::new(all["credentials"]["secret_access_key"].as_str().unwrap());
    let v2 = all["sigv2"].as_array().unwrap();
    assert_eq!(v2.len(), 3);
    let example = |name: &str| {
        let e = v2.iter().find(|e| e["name"] == name).unwrap();
        let sts = e["string_to_sign"].as_str().unwrap().to_owned();
        let signature = e["signature"].as_str().unwrap().to_owned();
        (sts, signature)
    };
    let cases = [
        (
            "v2-get-object",
            "awsexamplebucket1.s3.amazonaws.com",
            "/photos/puppy.jpg".to_owned(),
            Some("Tue, 27 Mar 2007 19:36:42 +0000"),
            AuthKind::HeaderV2,
        ),
        (
            "v2-get-acl",
            "awsexamplebucket1.s3.amazonaws.com",
            "/?acl".to_owned(),
            Some("Tue, 27 Mar 2007 19:44:46 +0000"),
            AuthKind::HeaderV2,
        ),
        (
            "v2-presigned-get",
            "johnsmith.s3.amazonaws.com",
            format!(
                "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature={}",
                example("v2-presigned-get").1.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
            ),
            None,
            AuthKind::PresignedV2,
        ),
    ];
    for (name, host, path, date, kind) in cases {
        let (sts, signature) = example(name);
        assert_eq!(
            s3_resign::sigv2::signature::sign(&secret, sts.as_bytes()).to_base64(),
            signature,
            "{name}: signature of the documented string to sign"
        );
        let mut pairs = vec![
            (":method", "GET".to_owned()),
            (":path", path),
            (":authority", host.to_owned()),
        ];
        if let Some(date) = date {
            pairs.push(("date", date.to_owned()));
            pairs.push((
                "authorization",
                format!("AWS AKIAIOSFODNN7EXAMPLE:{signature}"),
            ));
        }
        let req = Request::from_pairs(&pairs).unwrap();
        let now = match date {
            Some(date) => AmzDate::parse_http_date(date.as_bytes())
                .unwrap()
                .unix_seconds() as u64,
            None => 1_175_139_000,
        };
        match gateway.decide(&req, now) {
            Decision::Forward(f) => {
                assert_eq!(f.kind, kind, "{name}");
                let bucket = host.split('.').next().unwrap();
                let at_origin = format!("{bucket}.origin.example:9000");
                assert_eq!(f.authority.as_deref(), Some(at_origin.as_str()), "{name}");
            }
            Decision::Reject(r) => panic!("{name}: {:?}", r.error),
        }
        // An hour later the header-signed ones are skewed; after Expires the URL has expired.
        match gateway.decide(&req, now + 3600) {
            Decision::Reject(r) => assert!(
                matches!(
                    r.error.code,
                    S3ErrorCode::RequestTimeTooSkewed | S3ErrorCode::AccessDenied
                ),
                "{name}: {:?}",
                r.error
            ),
            d => panic!("{name}: {d:?}"),
        }
    }
}
