//! The AWS SigV4 test suite (`tests/data/aws4_testsuite`), one test per case: the
//! canonical request, then the string to sign, then the signature, each checked on its own.
//!
//! The suite is written for a generic service. S3 differs in one way: it never normalises the
//! path. The `normalize-path` cases therefore check that everything but the path line matches
//! and that the path is the received one, encoded once.
// Tests sort with the standard library: clippy.toml's rule is about the module's size.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{testdata, RawRequest};
use s3_resign::request::Request;
use s3_resign::sigv4::amz_date::AmzDate;
use s3_resign::sigv4::authorization::AuthorizationV4;
use s3_resign::sigv4::canonical::CanonicalRequest;
use s3_resign::sigv4::query::{canonical_query, Edit};
use s3_resign::sigv4::signing::{hex_sha256, string_to_sign, SecretKey, SigningKey};
use s3_resign::sigv4::uri::canonical_path;
use std::fs;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Whether the suite's expected path is the generic service's normalised one.
#[derive(PartialEq)]
enum Path {
    AsSigned,
    NormalisedBySuite,
}

fn read(case: &str, ext: &str) -> Vec<u8> {
    let name = case.rsplit('/').next().unwrap();
    let file = testdata(&format!("aws4_testsuite/{case}/{name}.{ext}"));
    let mut bytes = fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    // Some files were written on Windows.
    bytes.retain(|&b| b != b'\r');
    bytes
}

fn check(case: &str, path: Path) {
    let raw = RawRequest::parse(&read(case, "sreq"));
    let pairs = raw.envoy_pairs();
    let req = Request::from_pairs(&pairs).unwrap();
    let authorization = std::str::from_utf8(raw.header("authorization").unwrap())
        .unwrap()
        .trim();
    let auth = AuthorizationV4::parse(authorization).unwrap();
    let payload = hex_sha256(&raw.body);

    let canonical = CanonicalRequest::new(
        req.method,
        canonical_path(req.raw_path()),
        canonical_query(req.raw_query(), |_| Edit::Keep),
        &auth.signed_headers,
        &req.headers,
        &payload,
    )
    .unwrap()
    .render(req.authority);
    let canonical = String::from_utf8(canonical).unwrap();
    let expected = String::from_utf8(read(case, "creq")).unwrap();

    if path == Path::NormalisedBySuite {
        let ours: Vec<&str> = canonical.split('\n').collect();
        let theirs: Vec<&str> = expected.split('\n').collect();
        assert_eq!(ours[0], theirs[0], "{case}: method");
        assert_eq!(
            ours[2..],
            theirs[2..],
            "{case}: canonical request past the path"
        );
        assert_ne!(ours[1], theirs[1], "{case}: S3 must not normalise the path");
        assert_eq!(
            ours[1],
            canonical_path(req.raw_path()),
            "{case}: the path is the received one"
        );
        return;
    }
    assert_eq!(canonical, expected, "{case}: canonical request");

    let date = AmzDate::parse(req.single("x-amz-date").unwrap().unwrap()).unwrap();
    let sts = string_to_sign(&date, &auth.credential.scope, canonical.as_bytes());
    assert_eq!(
        sts,
        String::from_utf8(read(case, "sts")).unwrap(),
        "{case}: string to sign"
    );

    // The .authz file is the reference: get-vanilla-with-session-token's .sreq carries a
    // signature that is not the signature of its own string to sign.
    let authz = String::from_utf8(read(case, "authz")).unwrap();
    let reference = AuthorizationV4::parse(authz.trim()).unwrap();
    let signature =
        SigningKey::derive(&SecretKey::new(SECRET), &auth.credential.scope).sign(sts.as_bytes());
    assert!(
        signature.verifies(&reference.signature),
        "{case}: signature"
    );
}

macro_rules! cases {
    ($($test:ident => $case:literal $(, $path:ident)?;)*) => {
        $(
            #[test]
            fn $test() {
                #[allow(unused_mut, unused_assignments)]
                let mut path = Path::AsSigned;
                $(path = Path::$path;)?
                check($case, path);
            }
        )*

        const CASES: &[&str] = &[$($case),*];
    };
}

cases! {
    get_header_key_duplicate => "get-header-key-duplicate";
    get_header_value_multiline => "get-header-value-multiline";
    get_header_value_order => "get-header-value-order";
    get_header_value_trim => "get-header-value-trim";
    get_unreserved => "get-unreserved";
    get_utf8 => "get-utf8";
    get_vanilla => "get-vanilla";
    get_vanilla_empty_query_key => "get-vanilla-empty-query-key";
    get_vanilla_query => "get-vanilla-query";
    get_vanilla_query_order_encoded => "get-vanilla-query-order-encoded";
    get_vanilla_query_order_key => "get-vanilla-query-order-key";
    get_vanilla_query_order_key_case => "get-vanilla-query-order-key-case";
    get_vanilla_query_order_value => "get-vanilla-query-order-value";
    get_vanilla_query_unreserved => "get-vanilla-query-unreserved";
    get_vanilla_utf8_query => "get-vanilla-utf8-query";
    get_vanilla_with_session_token => "get-vanilla-with-session-token";
    normalize_path_get_relative => "normalize-path/get-relative", NormalisedBySuite;
    normalize_path_get_relative_relative => "normalize-path/get-relative-relative", NormalisedBySuite;
    normalize_path_get_slash => "normalize-path/get-slash", NormalisedBySuite;
    normalize_path_get_slash_dot_slash => "normalize-path/get-slash-dot-slash", NormalisedBySuite;
    normalize_path_get_slash_pointless_dot => "normalize-path/get-slash-pointless-dot", NormalisedBySuite;
    normalize_path_get_slashes => "normalize-path/get-slashes", NormalisedBySuite;
    normalize_path_get_space => "normalize-path/get-space";
    normalize_path_get_special_character => "normalize-path/get-special-character";
    post_header_key_case => "post-header-key-case";
    post_header_key_sort => "post-header-key-sort";
    post_header_value_case => "post-header-value-case";
    post_sts_header_after => "post-sts-token/post-sts-header-after";
    post_sts_header_before => "post-sts-token/post-sts-header-before";
    post_vanilla => "post-vanilla";
    post_vanilla_empty_query_value => "post-vanilla-empty-query-value";
    post_vanilla_query => "post-vanilla-query";
    post_x_www_form_urlencoded => "post-x-www-form-urlencoded";
    post_x_www_form_urlencoded_parameters => "post-x-www-form-urlencoded-parameters";
}

/// No case in the suite goes untested.
#[test]
fn every_case_is_listed() {
    fn walk(dir: &std::path::Path, prefix: &str, found: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if !entry.file_type().unwrap().is_dir() {
                continue;
            }
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let sreq = entry
                .path()
                .join(format!("{}.sreq", entry.file_name().to_string_lossy()));
            if sreq.exists() {
                found.push(name.clone());
            }
            walk(&entry.path(), &format!("{name}/"), found);
        }
    }
    let mut found = Vec::new();
    walk(&testdata("aws4_testsuite"), "", &mut found);
    found.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}
