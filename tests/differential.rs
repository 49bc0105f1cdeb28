//! Differential tests against independent implementations, on random valid requests:
//!
//! - the filter's re-signed SigV4 request (header and presigned) is exactly what the AWS SDK
//!   for Rust's `aws-sigv4` signs for the origin — random methods, path bytes (`//`, `..`,
//!   UTF-8, reserved characters), query parameters (names that begin with another's, bare
//!   names, any bytes), headers (repeats, inner white space), dates, regions, key pairs;
//! - a signed aws-chunked body re-signed by the filter, fed in random pieces, is accepted by a
//!   chunk verifier written here from the AWS documentation (HMAC-SHA256 chains, the trailer
//!   signature), with the origin's key and the re-signed request's signature as seed; and the
//!   data between the signatures is unchanged.
//!
//! `S3_RESIGN_DIFFERENTIAL_REQUESTS` sets how many (default 300 for each of the first two, a
//! third of that for the chunked bodies).

mod random_requests;

use hmac::{Hmac, KeyInit, Mac};
use random_requests::*;
use s3_resign::auth_kind::AuthKind;
use s3_resign::config::Config;
use s3_resign::gateway::{Decision, Forward, Gateway};
use s3_resign::request::Request;
use s3_resign::s3_error::S3ErrorCode::{self, InvalidArgument, InvalidURI, MethodNotAllowed};
use s3_resign::s3_error::S3_METHODS;
use sha2::{Digest, Sha256};

const PUBLIC: &str = "s3.mydomain.com";
const ORIGIN: &str = "origin.example:9000";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Setup {
    client: (String, String),
    origin: (String, String),
    region: String,
    origin_region: Option<String>,
    gateway: Gateway,
}

fn setup(rng: &mut Rng) -> Setup {
    let id_len = 16 + rng.below(20);
    let client = (rng.word(id_len).to_ascii_uppercase(), rng.text(40));
    let origin = (
        format!("O{}", rng.word(19).to_ascii_uppercase()),
        rng.text(40),
    );
    let region = format!("{}-{}-{}", rng.word(2), rng.word(6), rng.below(9));
    let origin_region = rng.chance(50).then(|| rng.word(8));
    let mut json = serde_json::json!({
        "public_domains": [PUBLIC],
        "origin_authority": ORIGIN,
        "credentials": [{"access_key_id": client.0, "secret_access_key": client.1,
                         "origin_access_key_id": origin.0, "origin_secret_access_key": origin.1}],
        "max_clock_skew_seconds": 900,
    });
    if let Some(r) = &origin_region {
        json["origin_region"] = r.clone().into();
    }
    let gateway = Gateway::new(Config::parse(json.to_string().as_bytes(), &|_| None).unwrap());
    Setup {
        client,
        origin,
        region,
        origin_region,
        gateway,
    }
}

/// A random request: method, path and query as sent, headers (all signed).
fn random_request(rng: &mut Rng) -> (String, String, Vec<(String, String)>) {
    let method = rng
        .pick(&[
            "GET", "PUT", "HEAD", "DELETE", "POST", "OPTIONS", "GET", "PUT", "PATCH",
        ])
        .to_string();
    let mut path = format!("/b-{}", rng.word(6));
    for _ in 0..rng.below(5) {
        path.push('/');
        path.push_str(&match rng.below(7) {
            0 => String::new(),
            1 => "..".into(),
            2 => ".".into(),
            // A `/` in a key is sent as it is (`%2F` is folded to `/` by the filter, as S3
            // reads the key, and kept by aws-sigv4: SECURITY.md, the equivalences).
            3 => uri_encode("ü δ/€".as_bytes(), true),
            _ => {
                let len = rng.below(12);
                uri_encode(&rng.bytes(len), true)
            }
        });
    }
    // Query text is UTF-8 here: aws-sigv4 reads the query as UTF-8, replacing anything else
    // (the filter, like S3, signs the bytes).
    let mut query = Vec::new();
    let mut names = Vec::new();
    for _ in 0..rng.below(5) {
        let name_len = 1 + rng.below(8);
        let mut name = uri_encode(utf8(rng, name_len).as_bytes(), false);
        // A name that begins with another's sorts after it by name, before it as
        // `name=value` text would.
        if let Some(first) = names.first().filter(|_| rng.chance(20)) {
            name = format!("{first}-");
        }
        // The filter refuses a name given twice: origins read it differently.
        if names.contains(&name) {
            continue;
        }
        names.push(name.clone());
        query.push(match rng.below(3) {
            0 => name,
            1 => format!("{name}="),
            _ => {
                let len = rng.below(12);
                format!("{name}={}", uri_encode(utf8(rng, len).as_bytes(), false))
            }
        });
    }
    // An S3 POST names its operation in the query: the filter refuses one that does not.
    if method == "POST" && query.is_empty() {
        query.push("uploads".into());
    }
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    let mut headers = Vec::new();
    for _ in 0..rng.below(6) {
        let name = if rng.chance(30) {
            format!("x-amz-meta-{}", rng.word(4))
        } else {
            format!("x-{}", rng.word(6))
        };
        let len = 1 + rng.below(30);
        let mut value = rng.text(len);
        if rng.chance(20) {
            value = format!("a  b   {value}");
        }
        headers.push((name.clone(), value));
        if rng.chance(15) {
            let len = 1 + rng.below(10);
            headers.push((name, rng.text(len)));
        }
    }
    (method, target, headers)
}

/// Random text: ASCII (reserved characters too) and multi-byte characters.
fn utf8(rng: &mut Rng, len: usize) -> String {
    const CHARS: [char; 24] = [
        'a', 'Z', '0', '-', '_', '.', '~', ' ', '!', '"', '#', '$', '%', '&', '+', '/', '=', '?',
        '[', '\\', 'ü', 'δ', '€', '😀',
    ];
    (0..len).map(|_| *rng.pick(&CHARS)).collect()
}

fn pairs(method: &str, target: &str, headers: &[(String, String)]) -> Vec<(String, Vec<u8>)> {
    let mut pairs = vec![
        (":method".to_owned(), method.as_bytes().to_vec()),
        (":path".to_owned(), target.as_bytes().to_vec()),
        (":authority".to_owned(), PUBLIC.as_bytes().to_vec()),
    ];
    for (n, v) in headers {
        pairs.push((n.to_ascii_lowercase(), v.as_bytes().to_vec()));
    }
    pairs
}

/// Whether a header is sent more than once: the SDK signs its values joined, and the filter
/// refuses such a request (an origin reading only the first value would act on part of what
/// was signed).
fn repeats_a_header(headers: &[(String, String)]) -> bool {
    headers.iter().enumerate().any(|(i, (name, _))| {
        headers[..i]
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    })
}

/// Whether S3 has the method: the filter refuses any other (`MethodNotAllowed`).
fn is_s3_method(method: &str) -> bool {
    S3_METHODS.contains(&method)
}

/// Whether the key starts with `/` (the path's first segment after the bucket is empty): one
/// signature for keys that origins read differently, refused by the filter.
fn key_starts_with_a_slash(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or_default();
    path.splitn(3, '/')
        .nth(2)
        .is_some_and(|key| key.starts_with('/'))
}

fn assert_refused(
    gateway: &Gateway,
    pairs: &[(String, Vec<u8>)],
    now: u64,
    code: S3ErrorCode,
    why: &str,
) {
    let req = Request::from_pairs(pairs).unwrap();
    match gateway.decide(&req, now) {
        Decision::Reject(r) => {
            assert_eq!(r.error.code, code, "{}", r.error.message);
            assert!(r.error.message.contains(why), "{}", r.error.message);
        }
        Decision::Forward(_) => panic!("went on, though {why}: {pairs:?}"),
    }
}

fn forward<'g>(gateway: &'g Gateway, pairs: &[(String, Vec<u8>)], now: u64) -> Forward<'g> {
    let req = Request::from_pairs(pairs).unwrap();
    match gateway.decide(&req, now) {
        Decision::Forward(f) => f,
        Decision::Reject(r) => panic!(
            "refused: {:?} {}\n{:?}\n{pairs:?}",
            r.error.code, r.error.message, r.detail
        ),
    }
}

#[test]
fn re_signed_header_auth_equals_aws_sigv4_for_the_origin() {
    let mut rng = Rng::new(count("DIFFERENTIAL_SEED", 4) as u64);
    for _ in 0..count("DIFFERENTIAL_REQUESTS", 300) {
        let s = setup(&mut rng);
        let (method, target, headers) = random_request(&mut rng);
        let when = NOW + rng.below(400_000_000) as u64;
        let payload = match rng.below(3) {
            0 => "UNSIGNED-PAYLOAD".to_owned(),
            1 => EMPTY_SHA256.to_owned(),
            _ => hex::encode(rng.bytes(32)),
        };
        let client = sdk_sign(
            &method,
            PUBLIC,
            &target,
            &headers,
            Body::Literal(&payload),
            (&s.client.0, &s.client.1),
            &s.region,
            when,
            None,
        );
        let mut all = headers.clone();
        all.extend(client.headers);
        let now = when + rng.below(900) as u64;
        // The method is read first, the key before the signature.
        if !is_s3_method(&method) {
            let pairs = pairs(&method, &target, &all);
            assert_refused(&s.gateway, &pairs, now, MethodNotAllowed, "not allowed");
            continue;
        }
        if key_starts_with_a_slash(&target) {
            let pairs = pairs(&method, &target, &all);
            assert_refused(&s.gateway, &pairs, now, InvalidArgument, "begin with '/'");
            continue;
        }
        if repeats_a_header(&headers) {
            let pairs = pairs(&method, &target, &all);
            assert_refused(&s.gateway, &pairs, now, InvalidArgument, "more than once");
            continue;
        }
        if path_holds_an_escaped_nul(&target) {
            let pairs = pairs(&method, &target, &all);
            assert_refused(&s.gateway, &pairs, now, InvalidURI, "encoded NUL");
            continue;
        }
        if names_an_encoded_equals(&target) {
            let pairs = pairs(&method, &target, &all);
            assert_refused(&s.gateway, &pairs, now, InvalidArgument, "encoded '='");
            continue;
        }
        let f = forward(&s.gateway, &pairs(&method, &target, &all), now);
        assert_eq!(f.kind, AuthKind::HeaderV4);
        assert_eq!(f.path, None, "the path is kept");
        let origin = sdk_sign(
            &method,
            ORIGIN,
            &target,
            &headers,
            Body::Literal(&payload),
            (&s.origin.0, &s.origin.1),
            s.origin_region.as_deref().unwrap_or(&s.region),
            when,
            None,
        );
        let expected = origin
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.as_bytes())
            .unwrap();
        assert_eq!(
            f.header("authorization"),
            Some(expected),
            "{method} {target} {headers:?}"
        );
    }
}

#[test]
fn re_signed_presigned_urls_equal_aws_sigv4_for_the_origin() {
    let mut rng = Rng::new(count("DIFFERENTIAL_SEED", 5) as u64);
    for _ in 0..count("DIFFERENTIAL_REQUESTS", 300) {
        let s = setup(&mut rng);
        let (method, target, headers) = random_request(&mut rng);
        let when = NOW + rng.below(400_000_000) as u64;
        let expires = 1 + rng.below(604_800) as u64;
        let client = sdk_sign(
            &method,
            PUBLIC,
            &target,
            &headers,
            Body::Presigned,
            (&s.client.0, &s.client.1),
            &s.region,
            when,
            Some(expires),
        );
        let url = with_params(&target, &client.params);
        let now = when + rng.below(expires as usize) as u64;
        // The method is read first, the key before the signature.
        if !is_s3_method(&method) {
            let pairs = pairs(&method, &url, &headers);
            assert_refused(&s.gateway, &pairs, now, MethodNotAllowed, "not allowed");
            continue;
        }
        if key_starts_with_a_slash(&target) {
            let pairs = pairs(&method, &url, &headers);
            assert_refused(&s.gateway, &pairs, now, InvalidArgument, "begin with '/'");
            continue;
        }
        if repeats_a_header(&headers) {
            let pairs = pairs(&method, &url, &headers);
            assert_refused(&s.gateway, &pairs, now, InvalidArgument, "more than once");
            continue;
        }
        if path_holds_an_escaped_nul(&target) {
            let pairs = pairs(&method, &url, &headers);
            assert_refused(&s.gateway, &pairs, now, InvalidURI, "encoded NUL");
            continue;
        }
        if names_an_encoded_equals(&target) {
            let pairs = pairs(&method, &url, &headers);
            assert_refused(&s.gateway, &pairs, now, InvalidArgument, "encoded '='");
            continue;
        }
        let f = forward(&s.gateway, &pairs(&method, &url, &headers), now);
        assert_eq!(f.kind, AuthKind::PresignedV4);
        let origin = sdk_sign(
            &method,
            ORIGIN,
            &target,
            &headers,
            Body::Presigned,
            (&s.origin.0, &s.origin.1),
            s.origin_region.as_deref().unwrap_or(&s.region),
            when,
            Some(expires),
        );
        assert_eq!(
            String::from_utf8(f.path.unwrap()).unwrap(),
            with_params(&target, &origin.params),
            "{method} {target} {headers:?}"
        );
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The chunk chain of the AWS documentation ("Signature calculations for the Authorization
/// header: Transferring payload in multiple chunks"), written out independently of the filter.
struct Chain {
    key: Vec<u8>,
    date: String,
    scope: String,
    previous: String,
}

impl Chain {
    fn new(secret: &str, date: &str, region: &str, seed: &str) -> Chain {
        let mut key = format!("AWS4{secret}").into_bytes();
        for part in [&date[..8], region, "s3", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        Chain {
            key,
            date: date.to_owned(),
            scope: format!("{}/{region}/s3/aws4_request", &date[..8]),
            previous: seed.to_owned(),
        }
    }

    fn chunk(&mut self, data: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.date,
            self.scope,
            self.previous,
            sha256_hex(data)
        );
        self.previous = hex::encode(hmac(&self.key, sts.as_bytes()));
        self.previous.clone()
    }

    fn trailer(&self, canonical: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.date,
            self.scope,
            self.previous,
            sha256_hex(canonical)
        );
        hex::encode(hmac(&self.key, sts.as_bytes()))
    }
}

const CHECKSUM: &str = "x-amz-checksum-crc32:AAAAAA==";

fn chunked_body(data: &[u8], chunk: usize, chain: &mut Chain, trailer: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for piece in data.chunks(chunk).chain([&b""[..]]) {
        let sig = chain.chunk(piece);
        body.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", piece.len()).as_bytes());
        if !piece.is_empty() {
            body.extend_from_slice(piece);
            body.extend_from_slice(b"\r\n");
        }
    }
    if trailer {
        let sig = chain.trailer(format!("{CHECKSUM}\n").as_bytes());
        body.extend_from_slice(
            format!("{CHECKSUM}\r\nx-amz-trailer-signature:{sig}\r\n\r\n").as_bytes(),
        );
    } else {
        body.extend_from_slice(b"\r\n");
    }
    body
}

/// Verifies a whole aws-chunked body along `chain`; returns the data it carries.
fn verify_chunked(body: &[u8], chain: &mut Chain, trailer: bool) -> Vec<u8> {
    let mut data = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + body[at..].windows(2).position(|w| w == b"\r\n").unwrap();
        let line = std::str::from_utf8(&body[at..line_end]).unwrap();
        let (size, sig) = line.split_once(";chunk-signature=").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        let piece = &body[line_end + 2..line_end + 2 + size];
        assert_eq!(chain.chunk(piece), sig, "a chunk signature does not verify");
        data.extend_from_slice(piece);
        at = line_end + 2 + size;
        if size == 0 {
            break;
        }
        assert_eq!(&body[at..at + 2], b"\r\n");
        at += 2;
    }
    let rest = &body[at..];
    if trailer {
        let text = std::str::from_utf8(rest).unwrap();
        let (checksum, rest) = text.split_once("\r\n").unwrap();
        assert_eq!(checksum, CHECKSUM);
        let sig = rest
            .strip_prefix("x-amz-trailer-signature:")
            .and_then(|r| r.strip_suffix("\r\n\r\n"))
            .unwrap();
        assert_eq!(
            chain.trailer(format!("{CHECKSUM}\n").as_bytes()),
            sig,
            "the trailer signature does not verify"
        );
    } else {
        assert_eq!(rest, b"\r\n");
    }
    data
}

#[test]
fn re_signed_chunked_bodies_verify_with_an_independent_chunk_verifier() {
    let mut rng = Rng::new(count("DIFFERENTIAL_SEED", 6) as u64);
    for _ in 0..count("DIFFERENTIAL_REQUESTS", 300) / 3 {
        let s = setup(&mut rng);
        let size = match rng.below(4) {
            0 => rng.below(10),
            1 => rng.below(70_000),
            _ => rng.below(300_000),
        };
        let data = rng.bytes(size);
        let chunk = *rng.pick(&[8192usize, 16_384, 65_536, 131_072]);
        let trailer = rng.chance(50);
        let mode = if trailer {
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
        } else {
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        };
        let key = format!("/bucket/{}", rng.word(8));
        let mut headers = vec![
            ("content-encoding".to_owned(), "aws-chunked".to_owned()),
            ("x-amz-decoded-content-length".to_owned(), size.to_string()),
        ];
        if trailer {
            headers.push(("x-amz-trailer".into(), "x-amz-checksum-crc32".into()));
        }
        let when = NOW + rng.below(1_000_000) as u64;
        let client = sdk_sign(
            "PUT",
            PUBLIC,
            &key,
            &headers,
            Body::Literal(mode),
            (&s.client.0, &s.client.1),
            &s.region,
            when,
            None,
        );
        let value = |name: &str| {
            client
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let date = value("x-amz-date");
        let seed = value("authorization")
            .rsplit("Signature=")
            .next()
            .unwrap()
            .to_owned();
        let body = chunked_body(
            &data,
            chunk,
            &mut Chain::new(&s.client.1, &date, &s.region, &seed),
            trailer,
        );
        let mut all = headers.clone();
        all.extend(client.headers.clone());
        let mut f = forward(&s.gateway, &pairs("PUT", &key, &all), when);
        assert_eq!(f.kind, AuthKind::ChunkedV4);
        let origin_seed = std::str::from_utf8(f.header("authorization").unwrap())
            .unwrap()
            .rsplit("Signature=")
            .next()
            .unwrap()
            .to_owned();
        let resigner = f.body.as_mut().unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let most = *rng.pick(&[3usize, 100, 5000, 70_000]);
            let end = body.len().min(at + 1 + rng.below(most));
            resigner.feed_into(&body[at..end], &mut out).unwrap();
            at = end;
        }
        out.extend(resigner.finish().unwrap());
        assert_eq!(out.len(), body.len());
        let origin_region = s.origin_region.as_deref().unwrap_or(&s.region);
        let mut origin_chain = Chain::new(&s.origin.1, &date, origin_region, &origin_seed);
        assert_eq!(verify_chunked(&out, &mut origin_chain, trailer), data);
    }
}
