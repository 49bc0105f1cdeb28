//! The security invariant at scale: valid signed requests of the shapes real clients send
//! (boto3, the AWS CLI, the AWS SDKs for JavaScript and Rust, rclone, s3cmd, minio-py; SigV4
//! header and presigned, SigV2 header and presigned; path-style and virtual-hosted), signed by
//! an independent implementation (`aws-sigv4`, a SigV2 string to sign written out here), are
//! each accepted; and every single-field mutation of each — method; path (a byte, a segment
//! added or removed, the encoding); each query parameter added, removed, changed, duplicated;
//! each signed header changed, removed, duplicated; an unsigned `x-amz-*`/`x-minio-*`/`x-rgw-*`
//! header added; the clock past either bound; each credential part; each signature character;
//! the payload-hash mode; the host and bucket style — is refused.
//!
//! A few mutations must verify, because a canonicalisation folds them or the scheme does not
//! sign them, and they change nothing the origin does: they are listed in `Expect::Same` with
//! the reason, asserted to verify, and documented in SECURITY.md (*Mutation test*).
//!
//! `S3_RESIGN_MUTATION_REQUESTS` sets how many requests (default 500; `make mutation` runs
//! 10,000 in release mode); `S3_RESIGN_MUTATION_SEED` the seed.

mod random_requests;

use random_requests::*;
use s3_resign::config::Config;
use s3_resign::gateway::{Decision, Gateway};
use s3_resign::request::Request;
use std::collections::BTreeMap;

const PUBLIC: &str = "s3.mydomain.com";
const SKEW: u64 = 900;
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-3", "ap-southeast-2", "garage"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    HeaderV4,
    PresignedV4,
    HeaderV2,
    PresignedV2,
}

impl Scheme {
    fn v4(self) -> bool {
        matches!(self, Scheme::HeaderV4 | Scheme::PresignedV4)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Boto3,
    AwsCli,
    JsV3,
    RustSdk,
    Rclone,
    S3cmd,
    MinioPy,
}

const CLIENTS: [Client; 7] = [
    Client::Boto3,
    Client::AwsCli,
    Client::JsV3,
    Client::RustSdk,
    Client::Rclone,
    Client::S3cmd,
    Client::MinioPy,
];

impl Client {
    /// The schemes each client signs with (SigV2 where it can be configured for it).
    fn schemes(self) -> &'static [Scheme] {
        use Scheme::*;
        match self {
            Client::Boto3 => &[HeaderV4, PresignedV4, HeaderV2, PresignedV2],
            Client::AwsCli => &[HeaderV4, PresignedV2],
            Client::JsV3 | Client::RustSdk | Client::MinioPy => &[HeaderV4, PresignedV4],
            Client::Rclone => &[HeaderV4],
            Client::S3cmd => &[HeaderV4, HeaderV2, PresignedV2],
        }
    }

    /// Headers the client sends but leaves out of a SigV4 signature.
    fn unsigned(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Client::Boto3 | Client::AwsCli => &[("user-agent", "Boto3/1.35.0 md/Botocore#1.35.0")],
            Client::JsV3 => &[
                ("user-agent", "aws-sdk-js/3.600.0"),
                ("x-amzn-trace-id", "Root=1-abc"),
            ],
            Client::RustSdk => &[("user-agent", "aws-sdk-rust/1.60.0 os/linux")],
            Client::Rclone => &[
                ("user-agent", "rclone/v1.60.1"),
                ("accept-encoding", "gzip"),
            ],
            Client::S3cmd => &[("content-length", "0")],
            Client::MinioPy => &[("user-agent", "MinIO (Linux; x86_64) minio-py/7.2.0")],
        }
    }
}

/// One request as the test holds it: enough structure to mutate any field.
#[derive(Clone, Debug)]
struct Req {
    client: Client,
    scheme: Scheme,
    method: String,
    host: String,
    /// Raw path (encoded), and where the bucket is.
    path: String,
    bucket: String,
    virtual_hosted: bool,
    /// Raw query segments, in order.
    query: Vec<String>,
    headers: Vec<(String, String)>,
    now: u64,
    /// When it was signed (SigV4, SigV2 header), or its `Expires` (SigV2 presigned).
    signed_at: u64,
    expires: u64,
    /// The names SigV4 signed (header or presigned); empty for SigV2.
    signed: Vec<String>,
}

impl Req {
    fn pairs(&self) -> Vec<(String, Vec<u8>)> {
        let mut target = self.path.clone();
        if !self.query.is_empty() {
            target.push('?');
            target.push_str(&self.query.join("&"));
        }
        let mut pairs = vec![
            (":method".to_owned(), self.method.clone().into_bytes()),
            (":path".to_owned(), target.into_bytes()),
            (":authority".to_owned(), self.host.clone().into_bytes()),
        ];
        for (n, v) in &self.headers {
            pairs.push((n.clone(), v.clone().into_bytes()));
        }
        pairs
    }

    fn target(&self) -> String {
        let mut target = self.path.clone();
        if !self.query.is_empty() {
            target.push('?');
            target.push_str(&self.query.join("&"));
        }
        target
    }

    fn param_at(&self, name: &str) -> Option<usize> {
        self.query
            .iter()
            .position(|s| s.split('=').next() == Some(name))
    }

    fn param(&self, name: &str) -> Option<String> {
        let at = self.param_at(name)?;
        Some(
            self.query[at]
                .split_once('=')
                .map_or("", |(_, v)| v)
                .to_owned(),
        )
    }

    fn set_param(mut self, name: &str, value: &str) -> Req {
        if let Some(at) = self.param_at(name) {
            self.query[at] = format!("{name}={value}");
        }
        self
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn set_header(mut self, name: &str, value: &str) -> Req {
        for (n, v) in &mut self.headers {
            if n == name {
                *v = value.to_owned();
            }
        }
        self
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "{:?} {:?} now={} {} {} (host {})",
            self.client,
            self.scheme,
            self.now,
            self.method,
            self.target(),
            self.host
        );
        for (n, v) in &self.headers {
            s.push_str(&format!("\n    {n}: {v}"));
        }
        s
    }
}

struct Keys(Vec<(String, String)>);

fn gateway(keys: &Keys) -> Gateway {
    let credentials: Vec<_> = keys
        .0
        .iter()
        .map(|(id, secret)| {
            serde_json::json!({"access_key_id": id, "secret_access_key": secret,
                               "origin_access_key_id": "ORIGINKEY", "origin_secret_access_key": "origin-secret"})
        })
        .collect();
    let json = serde_json::json!({
        "public_domains": [PUBLIC, "localhost"],
        "origin_authority": "origin.example:9000",
        "credentials": credentials,
        "max_clock_skew_seconds": SKEW,
    });
    Gateway::new(Config::parse(json.to_string().as_bytes(), &|_| None).unwrap())
}

/// A key as SDKs see them: words, separators, spaces, UTF-8, the odd reserved character.
fn object_key(rng: &mut Rng) -> Vec<u8> {
    let mut key = Vec::new();
    for i in 0..1 + rng.below(4) {
        if i > 0 {
            key.push(b'/');
        }
        match rng.below(6) {
            0 => key.extend_from_slice("ü-δ €".as_bytes()),
            1 => key.extend_from_slice(b"a b+c=d&e"),
            2 => key.extend_from_slice(b"x~y_z.(1)!'*"),
            _ => {
                let len = 3 + rng.below(8);
                key.extend_from_slice(rng.word(len).as_bytes())
            }
        }
    }
    key
}

fn random_hex(rng: &mut Rng) -> String {
    rng.bytes(32).iter().map(|b| format!("{b:02x}")).collect()
}

/// One valid request of `client`'s shape.
fn generate(rng: &mut Rng, keys: &Keys, index: usize) -> Req {
    let client = CLIENTS[index % CLIENTS.len()];
    let scheme = client.schemes()[(index / CLIENTS.len()) % client.schemes().len()];
    let (key_id, secret) = keys.0[rng.below(keys.0.len())].clone();
    let len = 3 + rng.below(10);
    let bucket = format!("b-{}", rng.word(len));
    let key = uri_encode(&object_key(rng), true);
    // s3cmd and minio-py default to virtual-hosted; the SDKs here are configured path-style.
    let virtual_hosted = match client {
        Client::S3cmd => rng.chance(70),
        _ => rng.chance(25),
    };
    let host = if virtual_hosted {
        format!("{bucket}.{PUBLIC}")
    } else if rng.chance(30) {
        format!("localhost:{}", 1024 + rng.below(60_000))
    } else {
        PUBLIC.to_owned()
    };
    let prefix = if virtual_hosted {
        String::new()
    } else {
        format!("/{bucket}")
    };
    let sdk_id = |op: &str| -> Option<String> {
        matches!(client, Client::JsV3 | Client::RustSdk).then(|| format!("x-id={op}"))
    };
    let mut query: Vec<String> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    let (method, path, body_op) = match rng.below(9) {
        0 => {
            if rng.chance(40) {
                headers.push(("range".into(), format!("bytes=0-{}", rng.below(1000))));
            }
            query.extend(sdk_id("GetObject"));
            ("GET", format!("{prefix}/{key}"), false)
        }
        1 | 2 => {
            query.extend(sdk_id("PutObject"));
            ("PUT", format!("{prefix}/{key}"), true)
        }
        3 => ("HEAD", format!("{prefix}/{key}"), false),
        4 => {
            query.extend(sdk_id("DeleteObject"));
            ("DELETE", format!("{prefix}/{key}"), false)
        }
        5 => {
            query.push("list-type=2".into());
            query.push(format!(
                "prefix={}",
                uri_encode(rng.word(3).as_bytes(), false)
            ));
            if rng.chance(50) {
                query.push("delimiter=%2F".into());
            }
            if matches!(client, Client::Boto3 | Client::AwsCli) {
                query.push("encoding-type=url".into());
            }
            query.push(format!("max-keys={}", 1 + rng.below(1000)));
            (
                "GET",
                if virtual_hosted {
                    "/".into()
                } else {
                    prefix.clone()
                },
                false,
            )
        }
        6 => {
            query.push("uploads".into());
            query.extend(sdk_id("CreateMultipartUpload"));
            ("POST", format!("{prefix}/{key}"), false)
        }
        7 => {
            query.push(format!("partNumber={}", 1 + rng.below(10_000)));
            query.push(format!("uploadId={}", rng.word(20)));
            query.extend(sdk_id("UploadPart"));
            ("PUT", format!("{prefix}/{key}"), true)
        }
        _ => {
            if rng.chance(50) {
                query.push("acl".into());
            } else {
                query.push("response-content-type=text%2Fplain".into());
                query.push(format!(
                    "response-content-disposition=attachment%3B%20filename%3D%22{}.txt%22",
                    rng.word(5)
                ));
            }
            ("GET", format!("{prefix}/{key}"), false)
        }
    };
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    if body_op {
        headers.push((
            "content-type".into(),
            (*rng.pick(&["text/plain", "application/octet-stream", "image/png"])).into(),
        ));
        if rng.chance(50) {
            headers.push(("content-md5".into(), "XrY7u+Ae7tCTyyK7j1rNww==".into()));
        }
        for i in 0..rng.below(3) {
            let len = 1 + rng.below(20);
            headers.push((format!("x-amz-meta-m{i}"), rng.text(len)));
        }
        if rng.chance(20) {
            headers.push(("x-amz-tagging".into(), "team=a&x=1".into()));
        }
        if matches!(client, Client::JsV3 | Client::RustSdk | Client::Rclone) {
            headers.push(("content-length".into(), rng.below(100_000).to_string()));
        }
    }
    if matches!(client, Client::JsV3 | Client::RustSdk) && scheme == Scheme::HeaderV4 {
        headers.push(("x-amz-user-agent".into(), "aws-sdk/1.0".into()));
        headers.push((
            "amz-sdk-invocation-id".into(),
            format!("{}-{}", rng.word(8), rng.word(12)),
        ));
        headers.push(("amz-sdk-request".into(), "attempt=1; max=3".into()));
    }
    if client == Client::Rclone && body_op {
        headers.push((
            "x-amz-meta-mtime".into(),
            format!("{}.{}", NOW, rng.below(1_000_000)),
        ));
    }
    let mut req = Req {
        client,
        scheme,
        method: method.into(),
        host,
        path,
        bucket,
        virtual_hosted,
        query,
        headers,
        now: NOW,
        signed_at: NOW,
        expires: 0,
        signed: Vec::new(),
    };
    sign(rng, &mut req, (&key_id, &secret), body_op);
    for (n, v) in client.unsigned() {
        if req.header(n).is_none() {
            req.headers.push((n.to_string(), v.to_string()));
        }
    }
    req
}

/// Signs `req` as its client would, with an independent implementation.
fn sign(rng: &mut Rng, req: &mut Req, key: (&str, &str), body_op: bool) {
    let region = *rng.pick(&REGIONS);
    match req.scheme {
        Scheme::HeaderV4 => {
            let signed_at = NOW - rng.below(SKEW as usize) as u64;
            let payload = if !body_op {
                EMPTY_SHA256.to_owned()
            } else {
                match (req.client, rng.below(3)) {
                    (Client::RustSdk, 0) => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into(),
                    (Client::Boto3 | Client::AwsCli, 0) => {
                        "STREAMING-UNSIGNED-PAYLOAD-TRAILER".into()
                    }
                    (Client::MinioPy | Client::S3cmd, 0) => "UNSIGNED-PAYLOAD".into(),
                    _ => random_hex(rng),
                }
            };
            if payload.starts_with("STREAMING") {
                req.headers
                    .push(("content-encoding".into(), "aws-chunked".into()));
                req.headers.push((
                    "x-amz-decoded-content-length".into(),
                    rng.below(100_000).to_string(),
                ));
                if payload.contains("TRAILER") {
                    req.headers
                        .push(("x-amz-trailer".into(), "x-amz-checksum-crc32".into()));
                }
            }
            let sdk = sdk_sign(
                &req.method,
                &req.host,
                &req.target(),
                &req.headers,
                Body::Literal(&payload),
                key,
                region,
                signed_at,
                None,
            );
            let auth = sdk
                .headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .map(|(_, v)| v.clone())
                .unwrap();
            let list = auth
                .split("SignedHeaders=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap();
            req.signed = list.split(';').map(str::to_owned).collect();
            req.headers.extend(sdk.headers);
            req.signed_at = signed_at;
        }
        Scheme::PresignedV4 => {
            let expires = *rng.pick(&[60u64, 300, 900, 3600, 86_400, 604_800]);
            let signed_at = NOW - rng.below(expires as usize) as u64;
            // Signed headers: what the client sent when presigning (content-type on a PUT).
            let signed: Vec<(String, String)> = req
                .headers
                .iter()
                .filter(|(n, _)| n == "content-type" || n.starts_with("x-amz-meta-"))
                .cloned()
                .collect();
            req.headers = signed.clone();
            let sdk = sdk_sign(
                &req.method,
                &req.host,
                &req.target(),
                &signed,
                Body::Presigned,
                key,
                region,
                signed_at,
                Some(expires),
            );
            for (n, v) in &sdk.params {
                if n == "X-Amz-SignedHeaders" {
                    req.signed = v.split(';').map(str::to_owned).collect();
                }
                req.query
                    .push(format!("{n}={}", uri_encode(v.as_bytes(), false)));
            }
            req.signed_at = signed_at;
            req.expires = expires;
        }
        Scheme::HeaderV2 => {
            let signed_at = NOW - rng.below(SKEW as usize) as u64;
            // boto3 dates with Date, s3cmd with x-amz-date (then the date line is empty).
            let date_line = if req.client == Client::S3cmd {
                req.headers
                    .push(("x-amz-date".into(), http_date(signed_at)));
                String::new()
            } else {
                req.headers.push(("date".into(), http_date(signed_at)));
                http_date(signed_at)
            };
            let sts = v2_string_to_sign(
                &req.method,
                &req.headers,
                &date_line,
                &v2_resource(req),
                &v2_sub_resources(req),
            );
            req.headers.push((
                "authorization".into(),
                format!("AWS {}:{}", key.0, v2_sign(key.1, &sts)),
            ));
            req.signed_at = signed_at;
        }
        Scheme::PresignedV2 => {
            let expires = NOW + 1 + rng.below(86_400) as u64;
            req.headers
                .retain(|(n, _)| n == "content-type" || n == "content-md5");
            let sts = v2_string_to_sign(
                &req.method,
                &req.headers,
                &expires.to_string(),
                &v2_resource(req),
                &v2_sub_resources(req),
            );
            req.query.push(format!("AWSAccessKeyId={}", key.0));
            req.query.push(format!("Expires={expires}"));
            req.query.push(format!(
                "Signature={}",
                uri_encode(v2_sign(key.1, &sts).as_bytes(), false)
            ));
            req.signed_at = expires;
            req.expires = expires;
        }
    }
}

/// The SigV2 resource: `/bucket/key` in either style (`/bucket/` for a virtual-hosted bucket).
fn v2_resource(req: &Req) -> String {
    if req.virtual_hosted {
        format!("/{}{}", req.bucket, req.path)
    } else {
        req.path.clone()
    }
}

/// The sub-resources SigV2 signs (the list the SDKs sign), decoded.
const SUB_RESOURCES: [&str; 10] = [
    "acl",
    "partNumber",
    "response-content-disposition",
    "response-content-type",
    "tagging",
    "uploadId",
    "uploads",
    "versionId",
    "retention",
    "legal-hold",
];

fn v2_sub_resources(req: &Req) -> Vec<(String, Option<String>)> {
    req.query
        .iter()
        .filter_map(|s| {
            let (n, v) = s
                .split_once('=')
                .map_or((s.as_str(), None), |(n, v)| (n, Some(v)));
            SUB_RESOURCES.contains(&n).then(|| {
                let decoded = v.map(|v| String::from_utf8(percent_decode(v)).unwrap());
                (n.to_owned(), decoded)
            })
        })
        .collect()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// What a mutation must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Refused,
    /// Verifies: a documented equivalence (the reason says why it is harmless).
    Same(&'static str),
}

// The equivalences (SECURITY.md, "Mutation test of the security invariant").
const FOLDED_ENCODING: &str = "SigV4 percent-decodes the path and query before encoding them once: the same bytes, spelt otherwise, are the same request at the origin";
const QUERY_ORDER: &str = "both schemes sort the parameters they sign";
const PLUS_IS_SPACE: &str = "in a query, `+` is a space, as S3 reads it";
const VALUE_WHITESPACE: &str = "header values are trimmed before signing";
const UNSIGNED_STANDARD: &str = "an unsigned standard header (User-Agent, Range under SigV2, …) changes no operation; S3 lets it go unsigned too";
const V2_LISTING: &str = "SigV2 does not sign listing parameters (prefix, delimiter, max-keys, max-buckets, …); S3 reads them unsigned too, and they only shape a listing";
const V2_HOST: &str = "SigV2 signs the resource /bucket/key, not the host: another served name or style for the same bucket and key is the same object at the origin";
const PRESIGNED_PAYLOAD: &str = "x-amz-content-sha256 may go unsigned (S3 allows it): the origin checks the body against it, which only restricts";
const AT_THE_BOUND: &str =
    "at exactly the skew, or the second before the expiry, the request is still valid";

struct Mutation {
    what: String,
    req: Req,
    expect: Expect,
}

fn mutations(req: &Req, keys: &Keys, rng: &mut Rng) -> Vec<Mutation> {
    let mut out: Vec<Mutation> = Vec::new();
    let v4 = req.scheme.v4();
    let mut push =
        |what: String, req: Req, expect: Expect| out.push(Mutation { what, req, expect });
    let refused = Expect::Refused;

    // Method.
    for method in ["GET", "PUT", "HEAD", "DELETE", "POST"] {
        if method != req.method {
            let mut m = req.clone();
            m.method = method.into();
            push(format!("method {method}"), m, refused);
        }
    }

    // Path.
    let key_start = if req.virtual_hosted {
        1
    } else {
        req.bucket.len() + 2
    };
    let path = req.path.as_bytes();
    let plain: Vec<usize> = (1..path.len())
        .filter(|&i| path[i].is_ascii_alphanumeric() && !in_escape(path, i))
        .collect();
    if !plain.is_empty() {
        let at = plain[rng.below(plain.len())];
        let mut m = req.clone();
        let mut bytes = m.path.clone().into_bytes();
        bytes[at] = if bytes[at] == b'q' { b'r' } else { b'q' };
        m.path = String::from_utf8(bytes).unwrap();
        push(format!("path byte {at} changed"), m, refused);
        // The same byte percent-encoded.
        let mut m = req.clone();
        m.path = format!(
            "{}%{:02X}{}",
            &req.path[..at],
            path[at],
            &req.path[at + 1..]
        );
        // Not in a path-style bucket's name, which needs no escape: origins differ on whether
        // they decode it, so the filter refuses one.
        let in_bucket = !req.virtual_hosted && at < key_start;
        let expect = if v4 && !in_bucket {
            Expect::Same(FOLDED_ENCODING)
        } else {
            refused
        };
        push(format!("path byte {at} percent-encoded"), m, expect);
    }
    if let Some(at) = req.path.find("%2") {
        if req.path[at..].starts_with("%20") {
            let mut m = req.clone();
            m.path = format!("{}+{}", &req.path[..at], &req.path[at + 3..]);
            push("path %20 written +".into(), m, refused);
        }
        let mut m = req.clone();
        m.path = format!("{}%25{}", &req.path[..at], &req.path[at + 1..]);
        push("path escape encoded twice".into(), m, refused);
    }
    if let Some(at) = req.path.find('%') {
        let escape = &req.path[at + 1..at + 3];
        if escape.bytes().any(|b| b.is_ascii_uppercase()) {
            let mut m = req.clone();
            m.path = format!(
                "{}%{}{}",
                &req.path[..at],
                escape.to_ascii_lowercase(),
                &req.path[at + 3..]
            );
            let expect = if v4 {
                Expect::Same(FOLDED_ENCODING)
            } else {
                refused
            };
            push("path escape in lower case".into(), m, expect);
        }
    }
    if let Some(at) = req.path[key_start.min(req.path.len())..]
        .find('/')
        .map(|i| i + key_start)
    {
        let mut m = req.clone();
        m.path = format!("{}%2F{}", &req.path[..at], &req.path[at + 1..]);
        let expect = if v4 {
            Expect::Same(FOLDED_ENCODING)
        } else {
            refused
        };
        push("path / written %2F".into(), m, expect);
    }
    let mut m = req.clone();
    m.path = format!("{}/extra", req.path.trim_end_matches('/'));
    push("path segment added".into(), m, refused);
    let mut m = req.clone();
    m.path.push('/');
    push("path trailing slash".into(), m, refused);
    if req.path.len() > key_start {
        let mut m = req.clone();
        m.path = format!("{}x/{}", &req.path[..key_start], &req.path[key_start..]);
        push("path segment inserted".into(), m, refused);
        let mut m = req.clone();
        m.path = match req.path.rfind('/') {
            Some(last) if last >= key_start => req.path[..last].to_owned(),
            _ => req.path[..key_start - 1].to_owned(),
        };
        if m.path.is_empty() {
            m.path = "/".into();
        }
        push("path segment removed".into(), m, refused);
    }

    // Query parameters.
    let v2_auth = ["AWSAccessKeyId", "Expires", "Signature"];
    for (i, segment) in req.query.iter().enumerate() {
        let name = segment.split('=').next().unwrap();
        let signed = v4 || SUB_RESOURCES.contains(&name) || v2_auth.contains(&name);
        let expect = if signed {
            refused
        } else {
            Expect::Same(V2_LISTING)
        };
        let mut m = req.clone();
        m.query.remove(i);
        push(format!("query {name} removed"), m, expect);
        let mut m = req.clone();
        m.query[i] = match segment.split_once('=') {
            Some((n, v)) => format!("{n}={}", mutate_value(v)),
            None => format!("{name}=1"),
        };
        push(format!("query {name} changed"), m, expect);
        let mut m = req.clone();
        m.query.push(segment.clone());
        // Signed or not: origins read a name given twice differently.
        push(format!("query {name} duplicated"), m, refused);
        if segment.contains("%20") {
            let mut m = req.clone();
            m.query[i] = segment.replacen("%20", "+", 1);
            push(
                format!("query {name} %20 written +"),
                m,
                Expect::Same(PLUS_IS_SPACE),
            );
        }
    }
    let v2_listing = if v4 {
        refused
    } else {
        Expect::Same(V2_LISTING)
    };
    let added: [(&str, Expect); 8] = [
        ("x-mut=1", refused),
        ("acl", refused),
        ("retention", refused),
        ("versionId=3", refused),
        ("prefix=zz", v2_listing),
        // ListBuckets' paging and filter, let pass unsigned under SigV2 since CS61.
        ("max-buckets=1", v2_listing),
        ("bucket-region=zz-east-9", v2_listing),
        ("X-Amz-Security-Token=token", refused),
    ];
    for (segment, expect) in added {
        let name = segment.split('=').next().unwrap();
        if req.param_at(name).is_none() {
            for at in [0, req.query.len()] {
                let mut m = req.clone();
                m.query.insert(at, segment.into());
                push(format!("query {segment} added at {at}"), m, expect);
            }
        }
    }
    if req.scheme == Scheme::HeaderV4 {
        let mut m = req.clone();
        m.query.push("X-Amz-Algorithm=AWS4-HMAC-SHA256".into());
        push(
            "query presigned parameter on header auth".into(),
            m,
            refused,
        );
    }
    if req.scheme == Scheme::HeaderV2 {
        let mut m = req.clone();
        m.query.push("Signature=x".into());
        push("query SigV2 signature on header auth".into(), m, refused);
    }
    if req.query.len() >= 2 {
        let mut m = req.clone();
        m.query.reverse();
        push("query order reversed".into(), m, Expect::Same(QUERY_ORDER));
    }

    // Headers.
    let v2_signed = |n: &str| {
        n == "content-type" || n == "content-md5" || n == "date" || n.starts_with("x-amz-")
    };
    for (i, (name, value)) in req.headers.iter().enumerate() {
        if name == "authorization" {
            continue;
        }
        let is_signed = if v4 {
            req.signed.contains(name)
        } else {
            v2_signed(name)
        };
        if !is_signed {
            let mut m = req.clone();
            m.headers[i].1 = mutate_value(value);
            let expect = if name == "x-amz-content-sha256" && req.scheme == Scheme::PresignedV4 {
                Expect::Same(PRESIGNED_PAYLOAD)
            } else {
                Expect::Same(UNSIGNED_STANDARD)
            };
            push(format!("unsigned header {name} changed"), m, expect);
            continue;
        }
        let mut m = req.clone();
        m.headers[i].1 = mutate_value(value);
        push(format!("signed header {name} changed"), m, refused);
        let mut m = req.clone();
        m.headers.remove(i);
        push(format!("signed header {name} removed"), m, refused);
        let mut m = req.clone();
        m.headers.push((name.clone(), value.clone()));
        push(format!("signed header {name} duplicated"), m, refused);
        // (The date and payload hash are parsed strictly: Envoy strips white space around
        // values anyway.)
        if [
            "x-amz-date",
            "date",
            "x-amz-content-sha256",
            "x-amz-decoded-content-length",
        ]
        .contains(&name.as_str())
        {
            continue;
        }
        let mut m = req.clone();
        m.headers[i].1 = format!("{value}  ");
        push(
            format!("signed header {name} trailing white space"),
            m,
            Expect::Same(VALUE_WHITESPACE),
        );
    }
    for (name, value) in [
        ("x-amz-acl", "public-read"),
        ("x-amz-copy-source", "other/secret"),
        ("x-amz-meta-zz-added", "1"),
        ("x-minio-force-delete", "true"),
        ("x-rgw-anything", "1"),
        ("x_amz_acl", "public-read"),
        ("X-Amz-Server-Side-Encryption", "AES256"),
    ] {
        let mut m = req.clone();
        m.headers.push((name.into(), value.into()));
        push(format!("unsigned header {name} added"), m, refused);
    }
    for (name, value) in [("user-agent", "curl/8.0"), ("x-amzn-trace-id", "Root=2")] {
        if req.header(name).is_none() {
            let mut m = req.clone();
            m.headers.push((name.into(), value.into()));
            push(
                format!("unsigned header {name} added"),
                m,
                Expect::Same(UNSIGNED_STANDARD),
            );
        }
    }
    match req.scheme {
        Scheme::HeaderV4 => {
            let current = req.header("x-amz-content-sha256").unwrap().to_owned();
            for mode in [
                "UNSIGNED-PAYLOAD",
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                EMPTY_SHA256,
                "UNSIGNED-PAYLOAD-TRAILER",
            ] {
                if mode != current {
                    let m = req.clone().set_header("x-amz-content-sha256", mode);
                    push(format!("payload hash {mode}"), m, refused);
                }
            }
        }
        Scheme::PresignedV4 => {
            let mut m = req.clone();
            m.headers
                .push(("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
            push(
                "payload hash header added to a presigned URL".into(),
                m,
                Expect::Same(PRESIGNED_PAYLOAD),
            );
        }
        _ => {
            let mut m = req.clone();
            m.headers
                .push(("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
            push("payload hash header added to SigV2".into(), m, refused);
        }
    }

    // The clock, past either bound (and at the bound, still valid).
    let at = |now: u64| {
        let mut m = req.clone();
        m.now = now;
        m
    };
    match req.scheme {
        Scheme::HeaderV4 | Scheme::HeaderV2 => {
            push(
                "clock past the skew (late)".into(),
                at(req.signed_at + SKEW + 1),
                refused,
            );
            push(
                "clock past the skew (early)".into(),
                at(req.signed_at - SKEW - 1),
                refused,
            );
            push(
                "clock at the skew".into(),
                at(req.signed_at + SKEW),
                Expect::Same(AT_THE_BOUND),
            );
            let date_header = if req.header("x-amz-date").is_some() {
                "x-amz-date"
            } else {
                "date"
            };
            let value = req.header(date_header).unwrap();
            let later = if value.contains(',') {
                http_date(req.signed_at + 1)
            } else {
                s3_resign::sigv4::amz_date::AmzDate::from_unix_seconds(req.signed_at + 1)
                    .to_string()
            };
            let m = req.clone().set_header(date_header, &later);
            push(format!("{date_header} one second later"), m, refused);
        }
        Scheme::PresignedV4 => {
            push(
                "clock past the expiry".into(),
                at(req.signed_at + req.expires + 1),
                refused,
            );
            push(
                "clock before the date (beyond the skew)".into(),
                at(req.signed_at - SKEW - 1),
                refused,
            );
            // Expired once X-Amz-Expires seconds have passed, as at S3 and the origins.
            push(
                "clock at the expiry".into(),
                at(req.signed_at + req.expires),
                refused,
            );
            push(
                "clock a second before the expiry".into(),
                at(req.signed_at + req.expires - 1),
                Expect::Same(AT_THE_BOUND),
            );
            let later = s3_resign::sigv4::amz_date::AmzDate::from_unix_seconds(req.signed_at + 1)
                .to_string();
            push(
                "X-Amz-Date one second later".into(),
                req.clone().set_param("X-Amz-Date", &later),
                refused,
            );
        }
        Scheme::PresignedV2 => {
            push("clock at Expires".into(), at(req.expires), refused);
            push(
                "clock a second before Expires".into(),
                at(req.expires - 1),
                Expect::Same(AT_THE_BOUND),
            );
        }
    }

    // The credential.
    let (key_id, _) = credential_of(req);
    let other_key = keys
        .0
        .iter()
        .map(|(id, _)| id)
        .find(|id| **id != key_id)
        .unwrap()
        .clone();
    match req.scheme {
        Scheme::HeaderV4 | Scheme::PresignedV4 => {
            let credential = credential_of(req).1;
            let parts: Vec<&str> = credential.split('/').collect();
            let day: u32 = parts[1].parse().unwrap();
            let swaps: [(usize, String); 6] = [
                (0, other_key.clone()),
                (0, "AKIAUNKNOWNKEY0000".into()),
                (1, (day + 1).to_string()),
                (
                    2,
                    if parts[2] == "us-east-1" {
                        "us-west-2".into()
                    } else {
                        "us-east-1".into()
                    },
                ),
                (3, "s4".into()),
                (4, "aws4_requesu".into()),
            ];
            for (part, value) in swaps {
                let mut new_parts = parts.clone();
                new_parts[part] = &value;
                let m = with_credential(req, &new_parts.join("/"));
                push(format!("credential part {part} -> {value}"), m, refused);
            }
        }
        Scheme::HeaderV2 | Scheme::PresignedV2 => {
            for id in [other_key.as_str(), "AKIAUNKNOWNKEY0000"] {
                let m = with_v2_key(req, id);
                push(format!("access key -> {id}"), m, refused);
            }
        }
    }

    // Each signature character.
    let signature = signature_of(req);
    let alphabet: &[u8] = if v4 {
        b"0123456789abcdef"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    for (i, c) in signature.bytes().enumerate() {
        if c == b'=' {
            continue;
        }
        let mut changed = signature.clone().into_bytes();
        changed[i] = loop {
            let r = *rng.pick(alphabet);
            if r != c {
                break r;
            }
        };
        let m = with_signature(req, &String::from_utf8(changed).unwrap());
        push(format!("signature character {i}"), m, refused);
    }
    if v4 {
        if let Some(i) = signature.find(|c: char| c.is_ascii_lowercase()) {
            let upper = format!(
                "{}{}{}",
                &signature[..i],
                signature[i..=i].to_ascii_uppercase(),
                &signature[i + 1..]
            );
            push(
                "signature in upper case".into(),
                with_signature(req, &upper),
                refused,
            );
        }
    } else {
        let unpadded = signature.trim_end_matches('=').to_owned();
        push(
            "signature padding removed".into(),
            with_signature(req, &unpadded),
            refused,
        );
    }

    // Host and bucket style.
    let style_expect = if v4 { refused } else { Expect::Same(V2_HOST) };
    let has_key = req.path.len() > key_start;
    if req.virtual_hosted {
        let mut m = req.clone();
        m.host = PUBLIC.into();
        m.path = format!("/{}{}", req.bucket, req.path);
        m.virtual_hosted = false;
        push(
            "virtual-hosted -> path-style".into(),
            m,
            if has_key {
                style_expect
            } else if v4 {
                refused
            } else {
                Expect::Same(V2_HOST)
            },
        );
        let mut m = req.clone();
        m.host = format!("other-{}.{PUBLIC}", req.bucket);
        push("another bucket in the host".into(), m, refused);
    } else {
        if has_key {
            let mut m = req.clone();
            m.host = format!("{}.{PUBLIC}", req.bucket);
            m.path = req.path[key_start - 1..].to_owned();
            m.virtual_hosted = true;
            push("path-style -> virtual-hosted".into(), m, style_expect);
        }
        let mut m = req.clone();
        m.host = if req.host.starts_with("localhost") {
            PUBLIC.into()
        } else {
            "localhost".into()
        };
        push("another served host".into(), m, style_expect);
        let mut m = req.clone();
        m.host = format!("{}:8443", req.host.split(':').next().unwrap());
        push(
            "another port".into(),
            m,
            if req.host.contains(':') || v4 {
                style_expect
            } else {
                Expect::Same(V2_HOST)
            },
        );
    }
    let mut m = req.clone();
    m.host = "s3.example.net".into();
    push("a host not served".into(), m, refused);
    out
}

fn in_escape(path: &[u8], i: usize) -> bool {
    (i >= 1 && path[i - 1] == b'%') || (i >= 2 && path[i - 2] == b'%')
}

fn mutate_value(value: &str) -> String {
    if value.is_empty() {
        "x".into()
    } else if let Some(stem) = value.strip_suffix('1') {
        format!("{stem}2")
    } else {
        format!("{value}1")
    }
}

fn credential_of(req: &Req) -> (String, String) {
    let credential = match req.scheme {
        Scheme::HeaderV4 => {
            let auth = req.header("authorization").unwrap();
            auth.split("Credential=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .to_owned()
        }
        Scheme::PresignedV4 => {
            String::from_utf8(percent_decode(&req.param("X-Amz-Credential").unwrap())).unwrap()
        }
        Scheme::HeaderV2 => {
            let auth = req.header("authorization").unwrap();
            auth[4..].split(':').next().unwrap().to_owned()
        }
        Scheme::PresignedV2 => req.param("AWSAccessKeyId").unwrap(),
    };
    (credential.split('/').next().unwrap().to_owned(), credential)
}

fn with_credential(req: &Req, credential: &str) -> Req {
    match req.scheme {
        Scheme::HeaderV4 => {
            let auth = req.header("authorization").unwrap();
            let old = credential_of(req).1;
            req.clone()
                .set_header("authorization", &auth.replacen(&old, credential, 1))
        }
        _ => req.clone().set_param(
            "X-Amz-Credential",
            &uri_encode(credential.as_bytes(), false),
        ),
    }
}

fn with_v2_key(req: &Req, id: &str) -> Req {
    match req.scheme {
        Scheme::HeaderV2 => {
            let auth = req.header("authorization").unwrap();
            let signature = auth.rsplit(':').next().unwrap();
            req.clone()
                .set_header("authorization", &format!("AWS {id}:{signature}"))
        }
        _ => req.clone().set_param("AWSAccessKeyId", id),
    }
}

fn signature_of(req: &Req) -> String {
    match req.scheme {
        Scheme::HeaderV4 => req
            .header("authorization")
            .unwrap()
            .rsplit("Signature=")
            .next()
            .unwrap()
            .to_owned(),
        Scheme::PresignedV4 => req.param("X-Amz-Signature").unwrap(),
        Scheme::HeaderV2 => req
            .header("authorization")
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_owned(),
        Scheme::PresignedV2 => {
            String::from_utf8(percent_decode(&req.param("Signature").unwrap())).unwrap()
        }
    }
}

fn with_signature(req: &Req, signature: &str) -> Req {
    match req.scheme {
        Scheme::HeaderV4 | Scheme::HeaderV2 => {
            let auth = req.header("authorization").unwrap();
            let old = signature_of(req);
            let cut = auth.len() - old.len();
            req.clone()
                .set_header("authorization", &format!("{}{signature}", &auth[..cut]))
        }
        Scheme::PresignedV4 => req.clone().set_param("X-Amz-Signature", signature),
        Scheme::PresignedV2 => req
            .clone()
            .set_param("Signature", &uri_encode(signature.as_bytes(), false)),
    }
}

fn verifies(gateway: &Gateway, req: &Req) -> Result<(), String> {
    let pairs = req.pairs();
    let request = Request::from_pairs(&pairs).unwrap();
    match gateway.decide(&request, req.now) {
        Decision::Forward(_) => Ok(()),
        Decision::Reject(r) => Err(format!("{:?}: {}", r.error.code, r.error.message)),
    }
}

#[test]
fn every_single_field_mutation_of_a_valid_request_is_refused() {
    let requests = count("MUTATION_REQUESTS", 500);
    let seed = count("MUTATION_SEED", 12) as u64;
    let mut rng = Rng::new(seed);
    let keys = Keys(
        (0..3)
            .map(|_| {
                (
                    format!("AKIA{}", rng.word(16).to_ascii_uppercase()),
                    rng.text(40),
                )
            })
            .collect(),
    );
    // One gateway, with the default presigned cache: each presigned original is sent twice, so
    // remembered (from its second time) once it verifies, and its mutations that keep method,
    // host, path and query (a header added or changed, the clock past a bound) are decided on
    // the cache's hit path.
    let gateway = gateway(&keys);
    let mut originals_refused: Vec<String> = Vec::new();
    let mut verified_when_refusal_expected: Vec<String> = Vec::new();
    let mut equivalences_refused: Vec<String> = Vec::new();
    let (mut refused, mut must_refuse, mut equivalent) = (0usize, 0usize, 0usize);
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..requests {
        let req = generate(&mut rng, &keys, i);
        *shapes
            .entry(format!("{:?} {:?}", req.client, req.scheme))
            .or_default() += 1;
        if let Err(why) = verifies(&gateway, &req).and_then(|()| verifies(&gateway, &req)) {
            originals_refused.push(format!("{why}\n  {}", req.describe()));
            continue;
        }
        for m in mutations(&req, &keys, &mut rng) {
            let result = verifies(&gateway, &m.req);
            match (m.expect, result) {
                (Expect::Refused, Err(_)) => {
                    must_refuse += 1;
                    refused += 1;
                }
                (Expect::Refused, Ok(())) => {
                    must_refuse += 1;
                    verified_when_refusal_expected.push(format!(
                        "{} VERIFIED\n  original: {}\n  mutated:  {}",
                        m.what,
                        req.describe(),
                        m.req.describe()
                    ));
                }
                (Expect::Same(reason), Ok(())) => {
                    equivalent += 1;
                    *by_reason.entry(reason).or_default() += 1;
                }
                (Expect::Same(reason), Err(why)) => equivalences_refused.push(format!(
                    "{} refused ({why}), expected to verify: {reason}\n  mutated: {}",
                    m.what,
                    m.req.describe()
                )),
            }
        }
    }
    let accepted = requests - originals_refused.len();
    println!("mutation test (seed {seed}):");
    println!("  originals accepted: {accepted} / {requests}");
    println!("  mutations refused:  {refused} / {must_refuse}");
    println!("  documented equivalences verified: {equivalent}");
    for (reason, n) in &by_reason {
        println!("    {n:7}  {reason}");
    }
    println!("  shapes: {shapes:?}");
    let show = |what: &str, cases: &[String]| {
        if !cases.is_empty() {
            println!("{what}: {} (first ones below)", cases.len());
            for case in cases.iter().take(8) {
                println!("- {case}");
            }
        }
    };
    show("ORIGINALS REFUSED", &originals_refused);
    show("MUTATIONS THAT VERIFIED", &verified_when_refusal_expected);
    show("EQUIVALENCES REFUSED", &equivalences_refused);
    assert!(originals_refused.is_empty(), "valid requests were refused");
    assert!(
        verified_when_refusal_expected.is_empty(),
        "mutations verified: the invariant is broken"
    );
    assert!(
        equivalences_refused.is_empty(),
        "the documented equivalences are wrong"
    );
    let (hits, _) = gateway.presigned_cache_stats();
    println!("  presigned cache hits among them: {hits}");
    assert!(
        requests < 100 || hits > 0,
        "no mutation reached the presigned cache's hit path"
    );
}
