//! The AWS SDK for Rust's signer, `aws-sigv4`, as an oracle for the `sigv4_oracle` target:
//! configured as S3 clients use it (single percent-encoding, no path normalisation,
//! `x-amz-content-sha256` in header auth), with the canonical request it signed caught from
//! its trace events (it exposes no other way), and the filter's own canonical request for the
//! same request, built by the same calls `verify.rs` makes, to compare byte for byte.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use s3_resign::config::Config;
use s3_resign::gateway::Gateway;
use s3_resign::request::Request;
use s3_resign::sigv4::canonical::CanonicalRequest;
use s3_resign::sigv4::presigned::X_AMZ_SIGNATURE;
use s3_resign::sigv4::query::{canonical_params, Edit};
use s3_resign::sigv4::signed_headers::SignedHeaders;
use s3_resign::sigv4::uri::canonical_path;
use std::cell::RefCell;
use std::fmt;
use std::sync::Once;
use std::time::{Duration, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The origin the filter under test re-signs for, and the key pairs on either side.
pub const ORIGIN: &str = "origin.example:9000";
pub const CLIENT: (&str, &str) = ("CLIENTKEY", "client/secret+key");
pub const ORIGIN_PAIR: (&str, &str) = ("ORIGINKEY", "origin-secret");

/// The filter under test: serving `public`, the client's key translated to the origin's,
/// path-style, signing for `origin_region` when given (the client's region otherwise).
pub fn gateway(public: &str, origin_region: Option<&str>) -> Gateway {
    let mut json = serde_json::json!({
        "public_domains": [public],
        "origin_authority": ORIGIN,
        "credentials": [{
            "access_key_id": CLIENT.0, "secret_access_key": CLIENT.1,
            "origin_access_key_id": ORIGIN_PAIR.0, "origin_secret_access_key": ORIGIN_PAIR.1,
        }],
    });
    if let Some(region) = origin_region {
        json["origin_region"] = region.into();
    }
    Gateway::new(
        Config::parse(json.to_string().as_bytes(), &|_| None)
            .expect("the oracle's filter configuration parses"),
    )
}

/// SigV4's encoding, as the SDKs write paths and queries: unreserved bytes as they are,
/// everything else `%XX` (upper case); `/` kept in paths.
pub fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `target` with `params` appended as the SDKs append them, values encoded.
pub fn with_params(target: &str, params: &[(String, String)]) -> String {
    let mut out = target.to_owned();
    for (n, v) in params {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(n);
        out.push('=');
        out.push_str(&uri_encode(v.as_bytes(), false));
    }
    out
}

/// How the payload is signed.
pub enum Payload<'a> {
    /// Header auth with this `x-amz-content-sha256` (a hex hash or `UNSIGNED-PAYLOAD`).
    Header(&'a str),
    /// Presigned URL, valid this many seconds: no payload header.
    Presigned(u64),
}

pub struct Oracle<'a> {
    pub method: &'a str,
    pub host: &'a str,
    /// Path and query as sent.
    pub target: &'a str,
    pub headers: &'a [(String, String)],
    pub key: (&'a str, &'a str),
    pub region: &'a str,
    pub time: u64,
    pub payload: Payload<'a>,
}

/// What `aws-sigv4` produced: headers to add (header auth) or parameters (presigned), and the
/// canonical request it signed.
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
    pub canonical: String,
}

impl Signed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Signs `o` with `aws-sigv4`; `None` when it refuses the request (a URL `http::Uri` does not
/// parse, a header value `http` does not take): no client could send it.
pub fn sign_with_aws_sigv4(o: &Oracle<'_>) -> Option<Signed> {
    capture_canonical_requests();
    let identity = Credentials::new(o.key.0, o.key.1, None, None, "oracle").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let body = match o.payload {
        Payload::Header(hash) => {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.signature_location = SignatureLocation::Headers;
            SignableBody::Precomputed(hash.to_owned())
        }
        Payload::Presigned(expires) => {
            settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(Duration::from_secs(expires));
            SignableBody::UnsignedPayload
        }
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(o.region)
        .name("s3")
        .time(UNIX_EPOCH + Duration::from_secs(o.time))
        .settings(settings)
        .build()
        .ok()?
        .into();
    let request = SignableRequest::new(
        o.method,
        format!("http://{}{}", o.host, o.target),
        o.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        body,
    )
    .ok()?;
    CAPTURED.with(|c| c.borrow_mut().take());
    let (instructions, _) = sign(request, &params).ok()?.into_parts();
    let canonical = CAPTURED
        .with(|c| c.borrow_mut().take())
        .expect("aws-sigv4 traces the canonical request it signs");
    let (headers, params) = instructions.into_parts();
    Some(Signed {
        headers: headers
            .iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect(),
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        canonical,
    })
}

/// The filter's canonical request for `req` over `signed_headers`, as `verify::header_auth`
/// (or, `presigned`, `verify::presigned`) builds it; `None` where it would refuse to.
pub fn filter_canonical(
    req: &Request<'_>,
    signed_headers: &str,
    payload: &str,
    presigned: bool,
) -> Option<String> {
    let signed = SignedHeaders::parse(signed_headers).ok()?;
    let canonical = CanonicalRequest::new(
        req.method,
        canonical_path(req.raw_path()),
        canonical_params(req.raw_query(), req.params(), |name| match name {
            X_AMZ_SIGNATURE if presigned => Edit::Drop,
            _ => Edit::Keep,
        }),
        &signed,
        &req.headers,
        payload,
    )
    .ok()?;
    Some(String::from_utf8_lossy(&canonical.render(req.authority)).into_owned())
}

thread_local! {
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// `aws-sigv4` writes the canonical request it signed in a trace event (`canonical_request`);
/// a subscriber of its own keeps the last one. Its sensitive headers (`authorization`,
/// `x-amz-security-token`) are redacted there; the target sends neither.
fn capture_canonical_requests() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Capture);
    });
}

struct Capture;

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("aws_sigv4")
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        event.record(&mut CanonicalField);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

struct CanonicalField;

impl Visit for CanonicalField {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "canonical_request" {
            let text = format!("{value:?}");
            CAPTURED.with(|c| *c.borrow_mut() = Some(text));
        }
    }
}
