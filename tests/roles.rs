//! The edge / origin split for several origins: the edge filter verifies and hands on a grant,
//! each origin filter re-signs the grant for its own origin and produces exactly what a
//! standalone filter with that origin's keys would, and neither can do the other's job.
// Tests sort with the standard library: clippy.toml's rule is about the module's size.
#![allow(clippy::disallowed_methods)]

use s3_resign::addressing::Style;
use s3_resign::auth_kind::AuthKind;
use s3_resign::aws_chunked::{Chains, ChunkedResigner, Trailer};
use s3_resign::body_checks::MustBeEmpty;
use s3_resign::body_digest::Expected;
use s3_resign::config::{Config, Plugin, Role};
use s3_resign::gateway::{Decision, Forward, Gateway};
use s3_resign::grant::Grant;
use s3_resign::memory_budget::MemoryBudget;
use s3_resign::request::Request;
use s3_resign::s3_error::S3ErrorCode;
use s3_resign::sigv4::amz_date::AmzDate;
use s3_resign::sigv4::canonical::CanonicalRequest;
use s3_resign::sigv4::chunk_signing::ChunkChain;
use s3_resign::sigv4::credential::Scope;
use s3_resign::sigv4::query::{canonical_query, Edit};
use s3_resign::sigv4::signature::Signature;
use s3_resign::sigv4::signed_headers::SignedHeaders;
use s3_resign::sigv4::signing::{hex_sha256, string_to_sign, SecretKey, SigningKey};
use s3_resign::sigv4::uri::canonical_path;
use serde_json::{json, Value};

const NOW: u64 = 1_795_953_600;
const DATE: &str = "20261129T120000Z";

fn parse(config: Value) -> Result<Plugin, String> {
    Plugin::parse(config.to_string().as_bytes(), &|_| None).map_err(|e| e.field)
}

fn edge() -> Gateway {
    edge_with(json!({}))
}

/// An edge filter with `settings` added to the default's.
fn edge_with(settings: Value) -> Gateway {
    let mut config = json!({
        "role": "edge",
        "public_domains": ["s3.mydomain.com"],
        "credentials": [{"access_key_id": "CK", "secret_access_key": "cs"}],
    });
    for (name, value) in settings.as_object().unwrap() {
        config[name] = value.clone();
    }
    match parse(config).unwrap() {
        Plugin::Single(config) => Gateway::new(config),
        Plugin::Origins(_) => unreachable!(),
    }
}

fn origin_entry(name: &str, authority: &str, key: &str, secret: &str, region: &str) -> Value {
    json!({
        "name": name,
        "public_domains": ["s3.mydomain.com"],
        "origin_authority": authority,
        "origin_region": region,
        "credentials": [{"access_key_id": "CK", "origin_access_key_id": key,
                         "origin_secret_access_key": secret}],
    })
}

fn origins() -> Vec<(String, Gateway)> {
    origin_gateways(vec![
        origin_entry("primary", "primary.example:9000", "PK", "ps", "us-east-1"),
        origin_entry("backup", "backup.example", "BK", "bs", "garage"),
    ])
}

fn origin_gateways(entries: Vec<Value>) -> Vec<(String, Gateway)> {
    match parse(json!({"role": "origin", "origins": entries})).unwrap() {
        Plugin::Origins(origins) => origins
            .into_iter()
            .map(|(n, c)| (n, Gateway::new(c)))
            .collect(),
        Plugin::Single(_) => unreachable!(),
    }
}

/// What a standalone filter for the same origin would forward.
fn standalone(authority: &str, key: &str, secret: &str, region: &str) -> Gateway {
    let config = json!({
        "public_domains": ["s3.mydomain.com"],
        "origin_authority": authority,
        "origin_region": region,
        "credentials": [{"access_key_id": "CK", "secret_access_key": "cs",
                         "origin_access_key_id": key, "origin_secret_access_key": secret}],
    });
    Gateway::new(Config::parse(config.to_string().as_bytes(), &|_| None).unwrap())
}

type Pairs = Vec<(String, Vec<u8>)>;

fn header_signed(method: &str, path: &str, extra: &[(&str, &str)], payload: &str) -> Pairs {
    header_signed_for("s3.mydomain.com", method, path, extra, payload)
}

fn header_signed_for(
    authority: &str,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    payload: &str,
) -> Pairs {
    let mut pairs: Pairs = vec![
        (":method".into(), method.into()),
        (":path".into(), path.into()),
        (":authority".into(), authority.into()),
        ("x-amz-date".into(), DATE.into()),
        ("x-amz-content-sha256".into(), payload.into()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())),
    );
    let names: Vec<String> = {
        let mut n: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| !n.starts_with(':'))
            .map(|(n, _)| n.clone())
            .chain(["host".to_owned()])
            .collect();
        n.sort();
        n
    };
    let signed = names.join(";");
    let req = Request::from_pairs(&pairs).unwrap();
    let canonical = CanonicalRequest::new(
        req.method,
        canonical_path(req.raw_path()),
        canonical_query(req.raw_query(), |_| Edit::Keep),
        &SignedHeaders::parse(&signed).unwrap(),
        &req.headers,
        payload,
    )
    .unwrap()
    .render(req.authority);
    let sig = SigningKey::derive(&SecretKey::new("cs"), &scope())
        .sign(string_to_sign(&date(), &scope(), &canonical).as_bytes())
        .to_hex();
    pairs.push((
        "authorization".into(),
        format!("AWS4-HMAC-SHA256 Credential=CK/20261129/us-east-1/s3/aws4_request, SignedHeaders={signed}, Signature={sig}").into_bytes(),
    ));
    pairs
}

fn scope() -> Scope<'static> {
    Scope {
        date: "20261129",
        region: "us-east-1",
        service: "s3",
    }
}

fn date() -> AmzDate {
    AmzDate::parse(DATE.as_bytes()).unwrap()
}

fn decided<'g>(d: Decision<'g>) -> Forward<'g> {
    match d {
        Decision::Forward(f) => f,
        Decision::Reject(r) => panic!("refused: {:?}", r.error),
    }
}

/// The rewrite, comparable: authority, path, headers set.
type Rewrite = (
    Option<String>,
    Option<Vec<u8>>,
    Vec<(&'static str, Vec<u8>)>,
);

fn rewrite(f: &Forward<'_>) -> Rewrite {
    (
        f.authority.as_deref().map(str::to_owned),
        f.path.clone(),
        f.headers.clone(),
    )
}

#[test]
fn the_edge_verifies_and_grants_without_rewriting() {
    let edge = edge();
    let pairs = header_signed(
        "PUT",
        "/bucket/k",
        &[("x-amz-meta-a", "1")],
        "UNSIGNED-PAYLOAD",
    );
    let req = Request::from_pairs(&pairs).unwrap();
    let f = decided(edge.decide(&req, NOW));
    assert_eq!(f.kind, AuthKind::HeaderV4);
    assert_eq!(rewrite(&f), (None, None, vec![]));
    let grant = Grant::decode(f.grant.as_ref().unwrap()).unwrap();
    assert_eq!(grant.now, NOW);
    assert_eq!(grant.request().headers, req.headers);
    // A bad signature gets no grant: a rejection.
    let mut forged = pairs.clone();
    forged.last_mut().unwrap().1.pop();
    forged.last_mut().unwrap().1.push(b'0');
    match edge.decide(&Request::from_pairs(&forged).unwrap(), NOW) {
        Decision::Reject(r) => assert_eq!(r.error.code, S3ErrorCode::SignatureDoesNotMatch),
        d => panic!("{d:?}"),
    }
    // An unsigned x-amz-* header is refused at the edge, as everywhere.
    let mut extra = pairs.clone();
    extra.push(("x-amz-acl".into(), b"public-read".to_vec()));
    assert!(matches!(
        edge.decide(&Request::from_pairs(&extra).unwrap(), NOW),
        Decision::Reject(_)
    ));
}

#[test]
fn each_origin_re_signs_the_grant_as_a_standalone_filter_would() {
    let edge = edge();
    let origins = origins();
    let requests = [
        header_signed(
            "PUT",
            "/bucket/a%20b?tagging",
            &[
                ("content-type", "text/plain"),
                ("content-md5", "XUFAKrxLKna5cZ2REBfFkg=="),
            ],
            "UNSIGNED-PAYLOAD",
        ),
        header_signed(
            "GET",
            "/bucket?list-type=2",
            &[],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    for pairs in requests {
        let req = Request::from_pairs(&pairs).unwrap();
        let grant = Grant::decode(&decided(edge.decide(&req, NOW)).grant.unwrap()).unwrap();
        for ((name, gateway), (authority, key, secret, region)) in origins.iter().zip([
            ("primary.example:9000", "PK", "ps", "us-east-1"),
            ("backup.example", "BK", "bs", "garage"),
        ]) {
            let granted = decided(gateway.decide_granted(&grant, &grant.request()));
            let reference = standalone(authority, key, secret, region);
            let expected = decided(reference.decide(&req, NOW));
            assert_eq!(rewrite(&granted), rewrite(&expected), "{name}");
            assert!(granted.grant.is_none());
        }
    }
}

/// A canned ACL whose head says nothing of its body (CS123 F2): the edge holds it for an empty
/// body, and each origin filter takes the granted request so too, never refusing it at the head.
#[test]
fn a_lengthless_canned_acl_passes_both_filters() {
    let pairs = header_signed(
        "PUT",
        "/bucket/k?acl",
        &[("x-amz-acl", "private")],
        "UNSIGNED-PAYLOAD",
    );
    let edge = edge_with(json!({"allow_on_headers_stop_iteration": true}));
    let at_edge = decided(edge.decide(&Request::from_pairs(&pairs).unwrap(), NOW));
    assert_eq!(
        (at_edge.must_be_empty, at_edge.head_waits),
        (Some(MustBeEmpty::DocumentWithoutDigest), true)
    );
    let grant = Grant::decode(&at_edge.grant.unwrap()).unwrap();
    for (name, gateway) in &origins() {
        let granted = decided(gateway.decide_granted(&grant, &grant.request()));
        assert_eq!(
            granted.must_be_empty,
            Some(MustBeEmpty::DocumentWithoutDigest),
            "{name}"
        );
    }
}

/// The origin filter reads a bodiless request as the edge did: the grant does not say the
/// request ended with its head, the stream does (RT120: an HTTP/2 CreateMultipartUpload of an
/// object typed as a form, its head ending the stream, was refused there as a form). A head
/// that says nothing of its body (the JS SDK v3 over HTTP/2) goes on at both only with an empty
/// body, judged as it comes.
#[test]
fn a_bodiless_post_typed_as_a_form_passes_both_filters() {
    let mut pairs = header_signed(
        "POST",
        "/bucket/k?uploads",
        &[("content-type", "multipart/form-data; boundary=x")],
        "UNSIGNED-PAYLOAD",
    );
    let edge = edge_with(json!({"allow_on_headers_stop_iteration": true}));
    let unsaid = decided(edge.decide(&Request::from_pairs(&pairs).unwrap(), NOW));
    assert!(unsaid.must_be_empty.is_some() && unsaid.head_waits);
    let bodiless = Request::from_pairs(&pairs).unwrap().ending_with_head(true);
    let at_edge = decided(edge.decide(&bodiless, NOW));
    assert!(at_edge.must_be_empty.is_none());
    let grant = Grant::decode(&at_edge.grant.unwrap()).unwrap();
    for (name, gateway) in &origins() {
        let bodiless =
            decided(gateway.decide_granted(&grant, &grant.request().ending_with_head(true)));
        assert!(bodiless.must_be_empty.is_none(), "{name}");
        // The edge held the head until the body was judged, whatever this filter may do
        // (RV125: an origin filter that may not hold refused what the edge passed).
        let unsaid = decided(gateway.decide_granted(&grant, &grant.request()));
        assert!(
            unsaid.must_be_empty.is_some() && !unsaid.head_waits,
            "{name}"
        );
    }
    pairs.push(("content-length".into(), "7".into()));
    let with_body = Request::from_pairs(&pairs).unwrap();
    assert!(matches!(edge.decide(&with_body, NOW), Decision::Reject(_)));
}

#[test]
fn a_signed_content_md5_is_checked_at_the_edge_and_again_at_the_origin() {
    let expected = Some(Expected::content_md5(b"XUFAKrxLKna5cZ2REBfFkg==").unwrap());
    let pairs = header_signed(
        "POST",
        "/bucket?delete",
        &[("content-md5", "XUFAKrxLKna5cZ2REBfFkg==")],
        "UNSIGNED-PAYLOAD",
    );
    let req = Request::from_pairs(&pairs).unwrap();
    let edge = edge();
    let at_edge = decided(edge.decide(&req, NOW));
    assert_eq!(at_edge.body_check.and_then(|c| c.expected), expected);
    let grant = Grant::decode(&at_edge.grant.unwrap()).unwrap();
    for (name, gateway) in &origins() {
        let granted = decided(gateway.decide_granted(&grant, &grant.request()));
        assert_eq!(
            granted.body_check.and_then(|c| c.expected),
            expected,
            "{name}"
        );
    }
}

#[test]
fn an_origin_filter_cannot_verify_anything_itself() {
    let (_, primary) = &origins()[0];
    let pairs = header_signed("GET", "/bucket/k", &[], "UNSIGNED-PAYLOAD");
    match primary.decide(&Request::from_pairs(&pairs).unwrap(), NOW) {
        Decision::Reject(r) => assert_eq!(r.error.code, S3ErrorCode::InternalError),
        d => panic!("an origin filter decided without a grant: {d:?}"),
    }
}

#[test]
fn roles_refuse_the_other_roles_fields() {
    let edge_with = |extra: Value| {
        let mut c = json!({"role": "edge", "public_domains": ["p"],
                           "credentials": [{"access_key_id": "CK", "secret_access_key": "cs"}]});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        parse(c).err()
    };
    assert_eq!(edge_with(json!({})), None);
    assert_eq!(
        edge_with(json!({"origin_authority": "o"})).as_deref(),
        Some("origin_authority")
    );
    assert_eq!(
        edge_with(json!({"origin_region": "r"})).as_deref(),
        Some("origin_region")
    );
    // The origin filters could not let them by: refused here rather than silently.
    assert_eq!(
        edge_with(json!({"anonymous": "forward"})).as_deref(),
        Some("anonymous")
    );
    assert_eq!(edge_with(json!({"anonymous": "reject"})), None);
    assert_eq!(
        edge_with(json!({"error_cors_origins": ["https://app.example"]})),
        None
    );
    assert_eq!(
        edge_with(json!({"credentials": [{"access_key_id": "CK", "secret_access_key": "cs",
                                          "origin_access_key_id": "O", "origin_secret_access_key": "os"}]}))
        .as_deref(),
        Some("credentials[0].origin_access_key_id")
    );
    let origin_with = |entry: Value| parse(json!({"role": "origin", "origins": [entry]})).err();
    let good = origin_entry("a", "o.example", "OK", "os", "r");
    assert_eq!(origin_with(good.clone()), None);
    let mut with_secret = good.clone();
    with_secret["credentials"][0]["secret_access_key"] = json!("cs");
    assert_eq!(
        origin_with(with_secret).as_deref(),
        Some("origins[0].credentials[0].secret_access_key")
    );
    let mut no_origin_key = good.clone();
    no_origin_key["credentials"] = json!([{"access_key_id": "CK"}]);
    assert_eq!(
        origin_with(no_origin_key).as_deref(),
        Some("origins[0].credentials[0].origin_access_key_id")
    );
    let mut anonymous = good.clone();
    anonymous["anonymous"] = json!("forward");
    assert_eq!(
        origin_with(anonymous).as_deref(),
        Some("origins[0].anonymous")
    );
    let mut cached = good.clone();
    cached["presigned_cache_entries"] = json!(16);
    assert_eq!(
        origin_with(cached).as_deref(),
        Some("origins[0].presigned_cache_entries")
    );
    // The edge answers the client's browser; an origin filter answers none.
    let mut cors = good.clone();
    cors["error_cors_origins"] = json!(["https://app.example"]);
    assert_eq!(
        origin_with(cors).as_deref(),
        Some("origins[0].error_cors_origins")
    );
    // The edge refuses the buckets it reserves before it grants anything; an origin filter
    // re-signs the rest (a list of its own would refuse what the edge granted, as a host
    // read otherwise).
    let mut reserved = good.clone();
    reserved["reserved_buckets"] = json!(["admin"]);
    assert_eq!(
        origin_with(reserved).as_deref(),
        Some("origins[0].reserved_buckets")
    );
    assert_eq!(edge_with(json!({"reserved_buckets": []})), None);
    // So are the operations the origins lack.
    let mut unsupported = good.clone();
    unsupported["unsupported_operations"] = json!(["RenameObject"]);
    assert_eq!(
        origin_with(unsupported).as_deref(),
        Some("origins[0].unsupported_operations")
    );
    assert_eq!(edge_with(json!({"unsupported_operations": []})), None);
    // It holds chunks to re-sign them: its budget is its own.
    let mut budget = good.clone();
    budget["chunk_memory_budget_bytes"] = json!(256 * 1024 * 1024);
    assert_eq!(origin_with(budget), None);
    let mut unnamed = good.clone();
    unnamed.as_object_mut().unwrap().remove("name");
    assert_eq!(origin_with(unnamed).as_deref(), Some("origins[0].name"));
    // Both key pairs named where the operator wrote them: in this origin's list.
    let mut repeated = good.clone();
    let pair = repeated["credentials"][0].clone();
    repeated["credentials"] = json!([pair.clone(), pair]);
    let error = Plugin::parse(
        json!({"role": "origin", "origins": [repeated]})
            .to_string()
            .as_bytes(),
        &|_| None,
    )
    .err()
    .map(|e| format!("{e}"));
    assert!(
        error.as_deref().is_some_and(|e| e.contains(
            "origins[0].credentials[1].access_key_id: repeats origins[0].credentials[0].access_key_id"
        )),
        "{error:?}"
    );
    assert_eq!(
        parse(json!({"role": "origin", "origins": [good.clone(), good.clone()]}))
            .err()
            .as_deref(),
        Some("origins[1].name")
    );
    assert_eq!(
        parse(json!({"role": "origin", "origins": []}))
            .err()
            .as_deref(),
        Some("origins")
    );
    assert_eq!(
        parse(json!({"role": "sidecar"})).err().as_deref(),
        Some("role")
    );
    match parse(json!({"role": "origin", "origins": [good]})).unwrap() {
        Plugin::Origins(o) => assert_eq!(o[0].1.role, Role::Origin),
        Plugin::Single(_) => unreachable!(),
    }
}

#[test]
fn an_origin_filter_reading_the_host_otherwise_refuses_the_grant() {
    // Found by an attack run (2026-12-01): with the edge serving `mydomain.test` and the
    // origin filters `files.mydomain.test`, a DeleteObject of key `tmp-x` in bucket `files`
    // (virtual-hosted) was re-signed as DeleteBucket `tmp-x`.
    let edge = edge_with(json!({"public_domains": ["mydomain.test"]}));
    let mut entry = origin_entry("primary", "primary.example:9000", "PK", "ps", "us-east-1");
    entry["public_domains"] = json!(["files.mydomain.test"]);
    let origins = origin_gateways(vec![entry]);
    let pairs = header_signed_for(
        "files.mydomain.test",
        "DELETE",
        "/tmp-x",
        &[],
        "UNSIGNED-PAYLOAD",
    );
    let req = Request::from_pairs(&pairs).unwrap();
    let grant = Grant::decode(&decided(edge.decide(&req, NOW)).grant.unwrap()).unwrap();
    match origins[0].1.decide_granted(&grant, &grant.request()) {
        Decision::Reject(r) => {
            assert_eq!(r.error.code, S3ErrorCode::InternalError);
            assert!(
                r.detail
                    .as_deref()
                    .unwrap_or_default()
                    .contains("public_domains"),
                "{r:?}"
            );
        }
        d => panic!("re-signed as the origin filter read it: {d:?}"),
    }
    // Nor a host it does not serve at all: the same misconfiguration.
    let mut entry = origin_entry("primary", "primary.example:9000", "PK", "ps", "us-east-1");
    entry["public_domains"] = json!(["elsewhere.test"]);
    match origin_gateways(vec![entry])[0]
        .1
        .decide_granted(&grant, &grant.request())
    {
        Decision::Reject(r) => assert_eq!(r.error.code, S3ErrorCode::InternalError),
        d => panic!("{d:?}"),
    }
    // The same domains on both sides: the object, as the client meant (path-style at the
    // origin, by default).
    let mut entry = origin_entry("primary", "primary.example:9000", "PK", "ps", "us-east-1");
    entry["public_domains"] = json!(["mydomain.test"]);
    let origins = origin_gateways(vec![entry]);
    let f = decided(origins[0].1.decide_granted(&grant, &grant.request()));
    assert_eq!(f.authority.as_deref(), Some("primary.example:9000"));
    assert_eq!(f.path.as_deref(), Some(&b"/files/tmp-x"[..]));
}

#[test]
fn a_key_the_edge_verified_and_an_origin_lacks_is_the_configurations_fault() {
    // Found by an attack run (2026-12-01): after a failover onto an origin whose entry lists
    // fewer keys, the client was told its key does not exist, and the log said so at `info`.
    let pairs = header_signed("GET", "/bucket/k", &[], "UNSIGNED-PAYLOAD");
    let req = Request::from_pairs(&pairs).unwrap();
    let grant = Grant::decode(&decided(edge().decide(&req, NOW)).grant.unwrap()).unwrap();
    let mut entry = origin_entry("backup", "backup.example", "BK", "bs", "garage");
    entry["credentials"][0]["access_key_id"] = json!("OTHER");
    match origin_gateways(vec![entry])[0]
        .1
        .decide_granted(&grant, &grant.request())
    {
        Decision::Reject(r) => {
            assert_eq!(r.error.code, S3ErrorCode::InternalError);
            assert!(r.detail.clone().unwrap_or_default().contains("origins[]"));
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn the_time_window_is_the_edges() {
    // Found by an attack run (2026-12-01): an origin filter, which cannot set
    // `max_clock_skew_seconds`, checked the default 15 minutes again and refused what an edge
    // with a wider window had granted.
    let edge = edge_with(json!({"max_clock_skew_seconds": 3600}));
    let pairs = header_signed("GET", "/bucket/k", &[], "UNSIGNED-PAYLOAD");
    let req = Request::from_pairs(&pairs).unwrap();
    let half_an_hour_early = NOW - 1800;
    let grant = decided(edge.decide(&req, half_an_hour_early))
        .grant
        .unwrap();
    let grant = Grant::decode(&grant).unwrap();
    for (name, gateway) in &origins() {
        let f = decided(gateway.decide_granted(&grant, &grant.request()));
        assert!(f.authority.is_some(), "{name}");
    }
    // The edge's own window still holds.
    assert!(matches!(
        edge.decide(&req, NOW - 3601),
        Decision::Reject(r) if r.error.code == S3ErrorCode::RequestTimeTooSkewed
    ));
}

/// A signed aws-chunked body of one 70 000-byte chunk, as the client writes it.
fn chunked_body(seed: &str) -> Vec<u8> {
    chunked_body_of(seed, 70_000)
}

/// A signed aws-chunked body of one chunk of `size` bytes.
fn chunked_body_of(seed: &str, size: usize) -> Vec<u8> {
    let key = SigningKey::derive(&SecretKey::new("cs"), &scope());
    let mut chain = ChunkChain::new(
        key,
        &date(),
        &scope(),
        &Signature::from_hex(seed.as_bytes()).unwrap(),
    );
    let data = vec![b'z'; size];
    let mut body = Vec::new();
    for chunk in [&data[..], b""] {
        let sig = chain.next_chunk(&hex_sha256(chunk)).to_hex();
        body.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
        if !chunk.is_empty() {
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
    }
    body.extend_from_slice(b"\r\n");
    body
}

fn run(mut resigner: Box<ChunkedResigner>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(4096) {
        resigner.feed_into(piece, &mut out).unwrap();
    }
    out.extend(resigner.finish().unwrap());
    out
}

#[test]
fn chunked_bodies_are_verified_at_the_edge_and_re_signed_at_the_origin() {
    let pairs = header_signed(
        "PUT",
        "/bucket/big",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "70000"),
        ],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let req = Request::from_pairs(&pairs).unwrap();
    let authorization = String::from_utf8(pairs.last().unwrap().1.clone()).unwrap();
    let seed = authorization.rsplit('=').next().unwrap();
    let body = chunked_body(seed);

    let edge = edge();
    let at_edge = decided(edge.decide(&req, NOW));
    // The edge passes the client's chunks on, verified, unchanged.
    assert_eq!(run(at_edge.body.unwrap(), &body), body);

    let grant = Grant::decode(&at_edge.grant.unwrap()).unwrap();
    let (_, primary) = &origins()[0];
    let granted = decided(primary.decide_granted(&grant, &grant.request()))
        .body
        .unwrap();
    let reference = standalone("primary.example:9000", "PK", "ps", "us-east-1");
    let expected = decided(reference.decide(&req, NOW)).body.unwrap();
    assert_eq!(run(granted, &body), run(expected, &body));

    // The edge refuses a tampered chunk before any of it goes on.
    let mut tampered = body.clone();
    tampered[200] ^= 1;
    let mut verifier = decided(edge.decide(&req, NOW)).body.unwrap();
    let mut out = Vec::new();
    let fed = tampered
        .chunks(4096)
        .try_for_each(|p| verifier.feed_into(p, &mut out));
    assert!(fed.is_err() || verifier.finish().is_err());
    assert!(out.len() < 70_000, "the tampered chunk was released");
}

#[test]
fn the_largest_chunk_is_the_edges() {
    // An origin filter, which cannot set `max_chunk_size_bytes`, re-signs the chunks the edge
    // let through, by the edge's limit (it used its own default, 1 MiB, and failed mid-upload).
    let size = 1_500_000;
    let length = size.to_string();
    let pairs = header_signed(
        "PUT",
        "/bucket/big",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", &length),
        ],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let req = Request::from_pairs(&pairs).unwrap();
    let authorization = String::from_utf8(pairs.last().unwrap().1.clone()).unwrap();
    let body = chunked_body_of(authorization.rsplit('=').next().unwrap(), size);
    let edge = edge_with(json!({"max_chunk_size_bytes": 2 * 1024 * 1024}));
    let at_edge = decided(edge.decide(&req, NOW));
    assert_eq!(run(at_edge.body.unwrap(), &body), body);
    let grant = Grant::decode(&at_edge.grant.unwrap()).unwrap();
    assert_eq!(grant.max_chunk_size_bytes, 2 * 1024 * 1024);
    let (_, primary) = &origins()[0];
    let mut resigner = decided(primary.decide_granted(&grant, &grant.request()))
        .body
        .unwrap();
    let mut out = Vec::new();
    for piece in body.chunks(4096) {
        resigner.feed_into(piece, &mut out).unwrap();
    }
    out.extend(resigner.finish().unwrap());
    assert!(out.len() > size);
}

#[test]
fn a_resigner_always_verifies_or_was_granted() {
    // The type has no variant with neither chain: the match below has no wildcard, so a
    // variant added without a chain to check or write fails to compile here.
    let key = SigningKey::derive(&SecretKey::new("cs"), &scope());
    let seed = Signature::from_hex(&[b'0'; 64]).unwrap();
    let chain = || ChunkChain::new(key.clone(), &date(), &scope(), &seed);
    for chains in [
        Chains::Verify { client: chain() },
        Chains::Sign { origin: chain() },
        Chains::VerifyAndSign {
            client: chain(),
            origin: chain(),
        },
    ] {
        let (verifies, signs) = match &chains {
            Chains::Verify { .. } => (true, false),
            Chains::Sign { .. } => (false, true),
            Chains::VerifyAndSign { .. } => (true, true),
        };
        assert!(verifies || signs);
        let _ = ChunkedResigner::new(
            chains,
            Trailer::None,
            1 << 20,
            0,
            MemoryBudget::new(1 << 20),
        );
    }
}

fn presigned(path: &str) -> Pairs {
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=CK%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={DATE}&X-Amz-Expires=600&X-Amz-SignedHeaders=host"
    );
    let mut pairs: Pairs = vec![
        (":method".into(), b"GET".to_vec()),
        (":path".into(), format!("{path}?{query}").into_bytes()),
        (":authority".into(), b"s3.mydomain.com".to_vec()),
    ];
    let req = Request::from_pairs(&pairs).unwrap();
    let canonical = CanonicalRequest::new(
        req.method,
        canonical_path(req.raw_path()),
        canonical_query(req.raw_query(), |_| Edit::Keep),
        &SignedHeaders::parse("host").unwrap(),
        &req.headers,
        "UNSIGNED-PAYLOAD",
    )
    .unwrap()
    .render(req.authority);
    let sig = SigningKey::derive(&SecretKey::new("cs"), &scope())
        .sign(string_to_sign(&date(), &scope(), &canonical).as_bytes())
        .to_hex();
    pairs[1].1 = format!("{path}?{query}&X-Amz-Signature={sig}").into_bytes();
    pairs
}

#[test]
fn a_repeated_presigned_url_at_the_edge_is_granted_as_the_first() {
    let edge = edge();
    let origins = origins();
    let pairs = presigned("/bucket/movie.mp4");
    let req = Request::from_pairs(&pairs).unwrap();
    let first = Grant::decode(&decided(edge.decide(&req, NOW)).grant.unwrap()).unwrap();
    // Remembered from its second time.
    decided(edge.decide(&req, NOW));
    let repeat = decided(edge.decide(&req, NOW + 1));
    assert_eq!(edge.presigned_cache_stats(), (1, 2));
    assert_eq!(rewrite(&repeat), (None, None, vec![]));
    let repeat = Grant::decode(&repeat.grant.unwrap()).unwrap();
    assert_eq!(repeat.now, NOW + 1);
    for (_, gateway) in &origins {
        assert_eq!(
            rewrite(&decided(gateway.decide_granted(&repeat, &repeat.request()))),
            rewrite(&decided(gateway.decide_granted(&first, &first.request())))
        );
    }
    // The origin filters keep no cache: they verify nothing.
    assert_eq!(origins[0].1.presigned_cache_stats(), (0, 0));
}

#[test]
fn an_origin_filter_refuses_a_method_s3_has_not_whoever_granted_it() {
    // An edge of an older version may have granted one: Ceph's Swift API read a `COPY` as a
    // copy from no object and died before any authentication (a red team, 2026-12-04).
    let pairs = header_signed("COPY", "/bucket/k", &[], "UNSIGNED-PAYLOAD");
    let req = Request::from_pairs(&pairs).unwrap();
    let encoded = Grant::of(&req, NOW, Style::Path, 1 << 20).encode();
    let grant = Grant::decode(&encoded).unwrap();
    match origins()[0].1.decide_granted(&grant, &grant.request()) {
        Decision::Reject(r) => assert_eq!(r.error.code, S3ErrorCode::MethodNotAllowed),
        d => panic!("re-signed a method S3 has not: {d:?}"),
    }
}

#[test]
fn the_edge_decides_the_reserved_buckets() {
    let pairs = header_signed("GET", "/admin/k", &[], "UNSIGNED-PAYLOAD");
    let req = Request::from_pairs(&pairs).unwrap();
    match edge().decide(&req, NOW) {
        Decision::Reject(r) => assert_eq!(r.error.code, S3ErrorCode::InvalidBucketName),
        d => panic!("{d:?}"),
    }
    // An edge in front of origins without Ceph's entries serves the name, and they re-sign it.
    let open = edge_with(json!({"reserved_buckets": ["minio"]}));
    let grant = Grant::decode(&decided(open.decide(&req, NOW)).grant.unwrap()).unwrap();
    let origins = origins();
    let f = decided(origins[0].1.decide_granted(&grant, &grant.request()));
    assert_eq!(f.kind, AuthKind::HeaderV4);
}

#[test]
fn the_edge_answers_the_operations_its_origins_lack() {
    let pairs = header_signed("DELETE", "/bucket?metrics", &[], "UNSIGNED-PAYLOAD");
    let req = Request::from_pairs(&pairs).unwrap();
    match edge().decide(&req, NOW) {
        Decision::Reject(r) => assert_eq!(r.error.code, S3ErrorCode::NotImplemented),
        d => panic!("{d:?}"),
    }
    // An edge in front of origins that serve it grants it, and they re-sign it.
    let open = edge_with(json!({"unsupported_operations": []}));
    let grant = Grant::decode(&decided(open.decide(&req, NOW)).grant.unwrap()).unwrap();
    let origins = origins();
    let f = decided(origins[0].1.decide_granted(&grant, &grant.request()));
    assert_eq!(f.kind, AuthKind::HeaderV4);
}

#[test]
fn an_edge_refuses_every_host_it_does_not_serve_alike() {
    // A name ending in `.` was once answered as the origin's (a red team, 2026-12-04); no
    // answer quotes a host now (RT60), the log's detail does.
    for host in ["swift.s3.mydomain.test.", "elsewhere.example"] {
        let pairs = header_signed_for(host, "GET", "/k", &[], "UNSIGNED-PAYLOAD");
        let req = Request::from_pairs(&pairs).unwrap();
        match edge().decide(&req, NOW) {
            Decision::Reject(r) => {
                assert_eq!(r.error.code, S3ErrorCode::InvalidRequest, "{r:?}");
                assert!(!r.error.message.contains(host), "{r:?}");
                assert!(
                    r.detail.as_deref().is_some_and(|d| d.contains(host)),
                    "{r:?}"
                );
            }
            d => panic!("{d:?}"),
        }
    }
}

/// A signed-trailer upload's trailer must carry what its signed `x-amz-trailer` announced: a
/// section emptied on the way (no checksum, no trailer signature) is refused, and the origin
/// never gets a body without the checksum its head promises (cargo-mutants: the announcement
/// read for the other streaming mode instead passed every test).
#[test]
fn a_signed_trailer_must_carry_what_was_announced() {
    let pairs = header_signed(
        "PUT",
        "/bucket/k",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "10"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    );
    let req = Request::from_pairs(&pairs).unwrap();
    let authorization = String::from_utf8(pairs.last().unwrap().1.clone()).unwrap();
    // Its chunks signed, its trailer section empty.
    let body = chunked_body_of(authorization.rsplit('=').next().unwrap(), 10);
    let g = standalone("origin:9000", "OK", "os", "us-east-1");
    let mut resigner = decided(g.decide(&req, NOW)).body.unwrap();
    let mut out = Vec::new();
    let fed = body
        .chunks(4096)
        .try_for_each(|p| resigner.feed_into(p, &mut out));
    assert!(fed.is_err() || resigner.finish().is_err());
}
