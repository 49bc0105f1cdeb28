//! What the fuzz targets share: the configurations they run the filter with, a text form of a
//! request head (so that seeds are real requests, written by `seeds.py`), and the walk through
//! a decision that the adapter would do — body streamed through its re-signer in arbitrary
//! pieces — with the invariants every input must keep:
//!
//! - nothing panics, and every answer renders;
//! - a request forwarded with a signature re-signed for the origin verifies at the origin (a
//!   second gateway holding only the origin's key pair, as the origin does), body included;
//! - when a decision and its body are gone, the VM's memory budget holds nothing.

pub mod oracle;

use s3_resign::config::{Config, Plugin};
use s3_resign::gateway::{Decision, Forward, Gateway};
use s3_resign::request::Request;

/// 2026-11-29T12:00:00Z: the clock the seeds are signed at.
pub const NOW: u64 = 1_795_953_600;
pub const PUBLIC: &str = "s3.mydomain.com";
pub const ORIGIN: &str = "origin.example:9000";
pub const CLIENT_KEY: &str = "CLIENTKEY";
pub const CLIENT_SECRET: &str = "client-secret";
pub const ORIGIN_KEY: &str = "ORIGINKEY";
pub const ORIGIN_SECRET: &str = "origin-secret";
/// A second client key, used at the origin as it is (no translation).
pub const OTHER_KEY: &str = "OTHERKEY";
pub const OTHER_SECRET: &str = "other-secret";

/// The standalone filter the seeds are made for: the client pair translated to the origin's,
/// path-style as sent, smallest chunks and a small budget (so that budget refusals happen).
fn standalone_json() -> String {
    serde_json::json!({
        "public_domains": [PUBLIC, "localhost"],
        "origin_authority": ORIGIN,
        "credentials": [
            {"access_key_id": CLIENT_KEY, "secret_access_key": CLIENT_SECRET,
             "origin_access_key_id": ORIGIN_KEY, "origin_secret_access_key": ORIGIN_SECRET},
            {"access_key_id": OTHER_KEY, "secret_access_key": OTHER_SECRET},
        ],
        "max_chunk_size_bytes": 8192,
        "chunk_memory_budget_bytes": 65536,
    })
    .to_string()
}

/// Every other option turned the other way: anonymous requests forwarded, virtual-hosted
/// origin, SigV2 upgraded to SigV4, another region.
fn upgraded_json() -> String {
    serde_json::json!({
        "public_domains": [PUBLIC, "localhost:10000"],
        "origin_authority": "origin.example",
        "origin_region": "garage",
        "origin_addressing": "virtual",
        "origin_signature_version": "v4",
        "anonymous": "forward",
        "credentials": [
            {"access_key_id": CLIENT_KEY, "secret_access_key": CLIENT_SECRET,
             "origin_access_key_id": ORIGIN_KEY, "origin_secret_access_key": ORIGIN_SECRET},
        ],
        "max_clock_skew_seconds": 60,
    })
    .to_string()
}

fn edge_json() -> String {
    serde_json::json!({
        "role": "edge",
        "public_domains": [PUBLIC, "localhost"],
        "credentials": [{"access_key_id": CLIENT_KEY, "secret_access_key": CLIENT_SECRET}],
    })
    .to_string()
}

fn origin_filter_json() -> String {
    serde_json::json!({
        "role": "origin",
        "origins": [{
            "name": "primary",
            "public_domains": [PUBLIC, "localhost"],
            "origin_authority": ORIGIN,
            "origin_region": "eu-west-1",
            "credentials": [{"access_key_id": CLIENT_KEY, "origin_access_key_id": ORIGIN_KEY,
                             "origin_secret_access_key": ORIGIN_SECRET}],
        }],
    })
    .to_string()
}

/// The origin, as far as signatures go: it knows the origin pair (and the untranslated key)
/// under its own name, path-style or virtual-hosted.
fn origin_check_json() -> String {
    serde_json::json!({
        "public_domains": [ORIGIN, "origin.example"],
        "origin_authority": "unused.example",
        "credentials": [
            {"access_key_id": ORIGIN_KEY, "secret_access_key": ORIGIN_SECRET},
            {"access_key_id": OTHER_KEY, "secret_access_key": OTHER_SECRET},
        ],
        "max_chunk_size_bytes": 8192,
    })
    .to_string()
}

pub fn config(json: &str) -> Config {
    Config::parse(json.as_bytes(), &|_| None).expect("a fuzz configuration parses")
}

pub struct Gateways {
    /// By selector: standalone, upgraded, edge.
    pub filters: [Gateway; 3],
    /// An origin (upstream) filter, for grants.
    pub origin_filter: Gateway,
    /// What the origin checks.
    pub origin_check: Gateway,
}

impl Gateways {
    fn new() -> Self {
        let origin_filter = match Plugin::parse(origin_filter_json().as_bytes(), &|_| None) {
            Ok(Plugin::Origins(mut origins)) => Gateway::new(origins.remove(0).1),
            _ => panic!("the origin filter's configuration parses"),
        };
        Gateways {
            filters: [
                Gateway::new(config(&standalone_json())),
                Gateway::new(config(&upgraded_json())),
                Gateway::new(config(&edge_json())),
            ],
            origin_filter,
            origin_check: Gateway::new(config(&origin_check_json())),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Gateway> {
        self.filters
            .iter()
            .chain([&self.origin_filter, &self.origin_check])
    }
}

thread_local! {
    static GATEWAYS: &'static Gateways = Box::leak(Box::new(Gateways::new()));
}

pub fn gateways() -> &'static Gateways {
    GATEWAYS.with(|g| *g)
}

/// A request as the seeds write it: a selector byte, then lines `name: value` as Envoy hands
/// them to the filter (`:method`, `:path`, `:authority` and the headers, repeats kept, names
/// lower-cased), an optional `@now: <unix seconds>`, an empty line, and the body.
pub struct TextRequest {
    pub selector: u8,
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
    pub now: u64,
    pub body: Vec<u8>,
}

impl TextRequest {
    pub fn parse(data: &[u8]) -> Option<TextRequest> {
        let (&selector, rest) = data.split_first()?;
        let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (&rest[..at], &rest[at + 2..]),
            None => (rest, &b""[..]),
        };
        let mut pairs = Vec::new();
        let mut now = NOW;
        for line in head.split(|&b| b == b'\n') {
            if let Some(clock) = line.strip_prefix(b"@now: ") {
                now = std::str::from_utf8(clock).ok()?.parse().ok()?;
                continue;
            }
            // A pseudo-header's name starts with its colon.
            let Some(colon) = line.iter().skip(1).position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon + 1], &line[colon + 2..]);
            let value = value.strip_prefix(b" ").unwrap_or(value);
            pairs.push((name.to_ascii_lowercase(), value.to_vec()));
        }
        Some(TextRequest {
            selector,
            pairs,
            now,
            body: body.to_vec(),
        })
    }
}

/// Piece sizes for streaming a body, drawn from `seed`.
pub struct Splits(u32);

impl Splits {
    pub fn new(seed: u32) -> Self {
        Splits(seed | 1)
    }

    pub fn next_size(&mut self) -> usize {
        const SIZES: [usize; 12] = [1, 2, 3, 5, 8, 13, 64, 99, 100, 1000, 4096, 65536];
        // xorshift32
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        SIZES[self.0 as usize % SIZES.len()]
    }

    /// `body` cut into pieces.
    pub fn pieces<'b>(&mut self, body: &'b [u8]) -> Vec<&'b [u8]> {
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let end = body.len().min(at + self.next_size());
            pieces.push(&body[at..end]);
            at = end;
        }
        pieces
    }
}

/// What a forwarded request became: the head the origin gets, and its body when the filter
/// read it (or `None` when the filter refused the body).
pub struct Forwarded {
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Option<Vec<u8>>,
}

/// Takes `req` through `gateway` as the adapter would; returns what the origin gets.
/// `S3_RESIGN_FUZZ_TRACE=1` prints each decision (to see which seeds verify).
fn tracing() -> bool {
    thread_local! {
        static TRACE: bool = std::env::var_os("S3_RESIGN_FUZZ_TRACE").is_some();
    }
    TRACE.with(|t| *t)
}

pub fn exercise(
    gateway: &Gateway,
    req: &Request<'_>,
    now: u64,
    body: &[u8],
    splits: &mut Splits,
) -> Option<(Forwarded, s3_resign::auth_kind::AuthKind, Option<Vec<u8>>)> {
    let _ = req.loggable_path();
    match gateway.decide(req, now) {
        Decision::Reject(rejection) => {
            if tracing() {
                eprintln!(
                    "rejected: {:?} {}",
                    rejection.error.code, rejection.error.message
                );
            }
            render_rejection(&rejection);
            None
        }
        Decision::Forward(mut forward) => {
            let described = format!("{forward:?}");
            if tracing() {
                eprintln!("forwarded: {described}");
            }
            let streamed = stream_body(gateway, &mut forward, body, now, splits);
            let pairs = forwarded_pairs(req, &forward);
            Some((
                Forwarded {
                    pairs,
                    body: streamed,
                },
                forward.kind,
                forward.grant.take(),
            ))
        }
    }
}

pub fn render_rejection(rejection: &s3_resign::rejection::Rejection) {
    let body = rejection.error.xml_body(Some("fuzz-request"));
    assert!(body.starts_with("<?xml"));
    let status = rejection.error.code.status();
    assert!((400..600).contains(&status), "status {status}");
    let _ = format!("{:?}", rejection.detail);
}

/// The body through the forward's re-signer, in pieces: what goes on, or `None` if refused.
fn stream_body(
    gateway: &Gateway,
    forward: &mut Forward<'_>,
    body: &[u8],
    now: u64,
    splits: &mut Splits,
) -> Option<Vec<u8>> {
    let pieces = splits.pieces(body);
    let mut out = Vec::with_capacity(body.len());
    if let Some(resigner) = forward.body.as_mut() {
        for piece in &pieces {
            if let Err(e) = resigner.feed_into(piece, &mut out) {
                let _ = e.s3_error().xml_body(None);
                assert_eq!(resigner.held(), 0, "a refused body holds nothing");
                return None;
            }
        }
        let last = match resigner.finish() {
            Ok(last) => last,
            Err(e) => {
                let _ = e.s3_error().xml_body(None);
                assert_eq!(resigner.held(), 0, "a refused body holds nothing");
                return None;
            }
        };
        out.extend_from_slice(&last);
        assert_eq!(resigner.held(), 0, "a finished body holds nothing");
        // Signatures are replaced in place: the length never changes.
        assert_eq!(out.len(), body.len(), "the re-signed body changed length");
        return Some(out);
    }
    if let Some(form) = forward.form.as_mut() {
        let config = gateway.config();
        for piece in &pieces {
            if let Err(r) = form.feed_into(piece, config, now, &mut out) {
                render_rejection(&r);
                return None;
            }
        }
        return match form.finish() {
            Ok(last) => {
                out.extend_from_slice(&last);
                Some(out)
            }
            Err(r) => {
                render_rejection(&r);
                None
            }
        };
    }
    if let Some(check) = forward.body_check {
        assert!(
            forward.body.is_none() && forward.form.is_none(),
            "a body is checked one way"
        );
        return digest_checked(check, &pieces, body);
    }
    Some(body.to_vec())
}

/// A body checked against a signed digest, in pieces as the adapter streams it: until the end
/// the origin has all but the last byte (object data) or nothing (a document), all of it only
/// if the digest matches, and the verdict does not depend on where the pieces split.
fn digest_checked(
    check: s3_resign::body_digest::BodyCheck,
    pieces: &[&[u8]],
    body: &[u8],
) -> Option<Vec<u8>> {
    use s3_resign::body_digest::{BodyDigest, Hold};
    use s3_resign::memory_budget::MemoryBudget;
    let budget = || MemoryBudget::new(64 << 20);
    let mut digest = BodyDigest::new(check, budget());
    let mut out = Vec::with_capacity(body.len());
    for piece in pieces {
        let release = digest.feed(piece).ok()?;
        out.extend(release.lead);
        out.extend_from_slice(
            piece
                .get(release.range)
                .expect("a release inside its piece"),
        );
    }
    let before_end: &[u8] = match check.hold {
        Hold::LastByte => &body[..body.len().saturating_sub(1)],
        Hold::Whole => &[],
    };
    assert_eq!(
        out, before_end,
        "the body went on before its digest was checked"
    );
    let whole = {
        let mut one_piece = BodyDigest::new(check, budget());
        one_piece.feed(body).is_ok() && one_piece.finish().is_ok()
    };
    let verdict = digest.finish();
    assert_eq!(verdict.is_ok(), whole, "the verdict depends on the pieces");
    if body.is_empty() {
        assert_eq!(check.accepts_empty(), whole, "the head's check disagrees");
    }
    let held = verdict.ok()?;
    out.extend(held);
    assert_eq!(out, body, "a matching body changed on its way");
    Some(out)
}

/// The head the origin gets: the rewrite applied to the client's.
pub fn forwarded_pairs(req: &Request<'_>, forward: &Forward<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = vec![
        (b":method".to_vec(), req.method.to_vec()),
        (
            b":path".to_vec(),
            forward.path.clone().unwrap_or_else(|| req.path().to_vec()),
        ),
        (
            b":authority".to_vec(),
            forward
                .authority
                .as_deref()
                .map_or_else(|| req.authority.to_vec(), |a| a.as_bytes().to_vec()),
        ),
    ];
    for (name, value) in &req.headers {
        if !forward
            .headers
            .iter()
            .any(|(set, _)| set.as_bytes().eq_ignore_ascii_case(name))
        {
            pairs.push((name.to_vec(), value.to_vec()));
        }
    }
    for (name, value) in &forward.headers {
        pairs.push((name.as_bytes().to_vec(), value.clone()));
    }
    pairs
}

/// The whole walk for one request head: the filter `selector` picks, then (for a re-signed
/// request) the origin's own check, then (for an edge's grant) the origin filter.
pub fn decide_everything(selector: u8, pairs: &[(Vec<u8>, Vec<u8>)], now: u64, body: &[u8]) {
    let Ok(req) = Request::from_pairs(pairs) else {
        return;
    };
    let g = gateways();
    let which = usize::from(selector % 3);
    let mut splits = Splits::new(u32::from(selector >> 2).wrapping_mul(2_654_435_761));
    if let Some((forwarded, kind, grant)) =
        exercise(&g.filters[which], &req, now, body, &mut splits)
    {
        if which == 0 {
            origin_verifies(&forwarded, kind, now, &mut splits);
        }
        if let Some(grant) = grant {
            let decoded = s3_resign::grant::Grant::decode(&grant).expect("a grant decodes");
            let granted = decoded.request().ending_with_head(req.ends_with_head());
            match g.origin_filter.decide_granted(&decoded, &granted) {
                Decision::Forward(f) => {
                    let _ = format!("{f:?}");
                }
                Decision::Reject(r) => render_rejection(&r),
            }
        }
    }
    for gateway in g.all() {
        assert_eq!(gateway.body_memory_used(), 0, "held memory leaked");
    }
}

/// What the standalone filter re-signed must verify at the origin, with the origin's key.
fn origin_verifies(
    forwarded: &Forwarded,
    kind: s3_resign::auth_kind::AuthKind,
    now: u64,
    splits: &mut Splits,
) {
    use s3_resign::auth_kind::AuthKind::*;
    if !matches!(
        kind,
        HeaderV4 | PresignedV4 | ChunkedV4 | HeaderV2 | PresignedV2
    ) {
        return;
    }
    let Some(body) = &forwarded.body else {
        return;
    };
    let req = Request::from_pairs(&forwarded.pairs).expect("the forwarded head is whole");
    let origin = &gateways().origin_check;
    match origin.decide(&req, now) {
        Decision::Forward(mut f) => {
            assert_eq!(f.kind, kind, "the origin reads another kind of request");
            if let Some(resigner) = f.body.as_mut() {
                let mut out = Vec::new();
                for piece in splits.pieces(body) {
                    resigner
                        .feed_into(piece, &mut out)
                        .expect("the origin takes the re-signed chunks");
                }
                resigner
                    .finish()
                    .expect("the origin takes the re-signed final chunk");
            }
        }
        Decision::Reject(r) => panic!(
            "the origin refuses what the filter re-signed: {} {:?}\n{:?}",
            r.error.message,
            r.detail,
            forwarded
                .pairs
                .iter()
                .map(|(n, v)| format!(
                    "{}: {}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                ))
                .collect::<Vec<_>>()
        ),
    }
}

/// Signing with the crate's own functions, so that a structured input verifies and reaches
/// what comes after verification (re-signing, the unsigned-header check, the chunk chains).
pub mod sign {
    use s3_resign::addressing::Target;
    use s3_resign::request::Request;
    use s3_resign::sigv2::string_to_sign::{string_to_sign as string_to_sign_v2, sub_resources};
    use s3_resign::sigv4::amz_date::AmzDate;
    use s3_resign::sigv4::canonical::CanonicalRequest;
    use s3_resign::sigv4::chunk_signing::ChunkChain;
    use s3_resign::sigv4::credential::Scope;
    use s3_resign::sigv4::query::{canonical_query, Edit};
    use s3_resign::sigv4::signature::Signature;
    use s3_resign::sigv4::signed_headers::SignedHeaders;
    use s3_resign::sigv4::signing::{string_to_sign, SecretKey, SigningKey};
    use s3_resign::sigv4::uri::{canonical_path, encode_query_component};

    pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    /// The SigV4 signature of `pairs` (no `authorization`) over `signed`, with `payload`.
    pub fn v4_signature(
        pairs: &Pairs,
        secret: &str,
        region: &str,
        date: &AmzDate,
        signed: &str,
        payload: &str,
    ) -> Option<Signature> {
        let req = Request::from_pairs(pairs).ok()?;
        let signed = SignedHeaders::parse(signed).ok()?;
        let canonical = CanonicalRequest::new(
            req.method,
            canonical_path(req.raw_path()),
            canonical_query(req.raw_query(), |n| match n {
                b"X-Amz-Signature" => Edit::Drop,
                _ => Edit::Keep,
            }),
            &signed,
            &req.headers,
            payload,
        )
        .ok()?
        .render(req.authority);
        let day = date.date_stamp();
        let scope = Scope {
            date: &day,
            region,
            service: "s3",
        };
        Some(
            SigningKey::derive(&SecretKey::new(secret), &scope)
                .sign(string_to_sign(date, &scope, &canonical).as_bytes()),
        )
    }

    pub fn chain(secret: &str, region: &str, date: &AmzDate, seed: &Signature) -> ChunkChain {
        let day = date.date_stamp();
        let scope = Scope {
            date: &day,
            region,
            service: "s3",
        };
        ChunkChain::new(
            SigningKey::derive(&SecretKey::new(secret), &scope),
            date,
            &scope,
            seed,
        )
    }

    pub fn encode(value: &[u8]) -> String {
        let mut out = String::new();
        encode_query_component(&mut out, value);
        out
    }

    /// The SigV2 signature (base64) of `pairs` with `date_line`, as the first configuration
    /// addresses it.
    pub fn v2_signature(
        gateway: &s3_resign::gateway::Gateway,
        pairs: &Pairs,
        secret: &str,
        date_line: &[u8],
    ) -> Option<String> {
        let req = Request::from_pairs(pairs).ok()?;
        let style = gateway.config().public_domains.style(req.authority)?;
        let target = Target::parse(style, req.raw_path()).ok()?;
        let subs = sub_resources(req.raw_query()).ok()?;
        let sts = string_to_sign_v2(
            req.method,
            &req.headers,
            date_line,
            &target.canonical_resource_v2(req.raw_path()),
            &subs,
        );
        Some(s3_resign::sigv2::signature::sign(&SecretKey::new(secret), &sts).to_base64())
    }
}

/// `secs` as an HTTP date (`Sun, 29 Nov 2026 12:00:00 GMT`).
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let amz = s3_resign::sigv4::amz_date::AmzDate::from_unix_seconds(secs).to_string();
    let month: usize = amz[4..6].parse().unwrap_or(1);
    format!(
        "{}, {} {} {} {}:{}:{} GMT",
        DAYS[((secs / 86_400) % 7) as usize],
        &amz[6..8],
        MONTHS[month - 1],
        &amz[0..4],
        &amz[9..11],
        &amz[11..13],
        &amz[13..15]
    )
}
