//! Re-signing a verified SigV2 request for the origin: as SigV2 with the origin key pair (the
//! same string to sign, the resource as the origin addresses it), or upgraded to SigV4 for
//! origins that refuse SigV2, signing exactly what the SigV2 signature covered.

use crate::addressing::{OriginTarget, Target};
use crate::config::Config;
use crate::request::Request;
use crate::sigv2::authorization;
use crate::sigv2::presigned::{AWS_ACCESS_KEY_ID, EXPIRES, SIGNATURE};
use crate::sigv2::signature::sign;
use crate::sigv2::string_to_sign::string_to_sign;
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::authorization as authorization_v4;
use crate::sigv4::canonical::CanonicalRequest;
use crate::sigv4::credential::{Credential, Scope};
use crate::sigv4::payload::UNSIGNED_PAYLOAD;
use crate::sigv4::presigned::{
    MAX_EXPIRES_SECONDS, X_AMZ_ALGORITHM, X_AMZ_CREDENTIAL, X_AMZ_DATE, X_AMZ_EXPIRES,
    X_AMZ_SIGNATURE, X_AMZ_SIGNED_HEADERS,
};
use crate::sigv4::query::{canonical_query, params, replace_values, Edit};
use crate::sigv4::signature::Signature;
use crate::sigv4::signed_headers::SignedHeaders;
use crate::sigv4::signing::{string_to_sign as string_to_sign_v4, ALGORITHM};
use crate::sigv4::uri::{canonical_path, encode_query_component};
use crate::verify::SERVICE;
use crate::verify_v2::{V2Auth, VerifiedV2};

/// A SigV2 request has no region; an upgraded one is signed for this unless `origin_region`
/// says otherwise.
const DEFAULT_REGION: &str = "us-east-1";
const X_AMZ_DATE_HEADER: &str = "x-amz-date";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// A header name SigV4 cannot sign (not a lower-case token): the request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsignable;

/// What the origin's request needs changed.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// The new `:path`, when the query carries the signature.
    pub path: Option<Vec<u8>>,
    /// Headers to set, replacing any of the same name.
    pub headers: Vec<(&'static str, Vec<u8>)>,
}

/// SigV2 again, with the origin key pair: only the resource can differ (when the origin
/// addresses the bucket in another style), and a presigned URL's expiry, which is kept but
/// never more than a week after now. SigV2 sets no bound, so a client key could mint a URL
/// for the year 5138, and the origin-signed copy in the origin's logs would outlive the
/// client key (an attack run, 2026-12-01); SigV4 bounds its URLs at a week.
pub fn same(
    req: &Request<'_>,
    verified: &VerifiedV2<'_, '_>,
    target: &Target<'_>,
    origin: &OriginTarget<'_, '_>,
    now: u64,
) -> Rewrite {
    let origin_pair = verified.pair.origin();
    let capped_expiry = match verified.auth {
        V2Auth::Presigned { expires } => {
            let latest = now.saturating_add(MAX_EXPIRES_SECONDS.into());
            (expires > latest).then(|| latest.to_string())
        }
        V2Auth::Header { .. } => None,
    };
    let date_line = capped_expiry
        .as_ref()
        .map_or(verified.date_line.as_slice(), |e| e.as_bytes());
    let sts = string_to_sign(
        req.method,
        &req.headers,
        date_line,
        &target.origin_resource_v2(origin),
        &verified.sub_resources,
    );
    let signature = sign(origin_pair.secret.key(), &sts);
    match verified.auth {
        V2Auth::Header { .. } => Rewrite {
            path: origin
                .restyled
                .then(|| with_query(&origin.raw_path, req.raw_query())),
            headers: vec![(
                "authorization",
                authorization::format(&origin_pair.access_key_id, &signature).into_bytes(),
            )],
        },
        V2Auth::Presigned { .. } => {
            let mut id = String::new();
            encode_query_component(&mut id, origin_pair.access_key_id.as_bytes());
            let mut encoded_signature = String::new();
            encode_query_component(&mut encoded_signature, signature.to_base64().as_bytes());
            let query = replace_values(req.raw_query(), |name| match name {
                AWS_ACCESS_KEY_ID => Some(id.as_bytes()),
                SIGNATURE => Some(encoded_signature.as_bytes()),
                EXPIRES => capped_expiry.as_ref().map(|e| e.as_bytes()),
                _ => None,
            });
            Rewrite {
                path: Some(with_query(&origin.raw_path, &query)),
                headers: Vec::new(),
            }
        }
    }
}

/// SigV4 in place of SigV2: a presigned URL that expires when the client's does (never
/// later, and at most a week after now), or an `Authorization` header with `UNSIGNED-PAYLOAD`
/// dated as the client dated its request. The signed headers are those the SigV2 signature
/// covered: `Content-MD5`, `Content-Type` and every `x-amz-*` header the request carries,
/// plus the host.
pub fn to_v4(
    config: &Config,
    req: &Request<'_>,
    verified: &VerifiedV2<'_, '_>,
    origin: &OriginTarget<'_, '_>,
    now: u64,
) -> Result<Rewrite, Unsignable> {
    let access_key_id = verified.pair.origin().access_key_id.as_str();
    let region = config.origin_region.as_deref().unwrap_or(DEFAULT_REGION);
    match verified.auth {
        V2Auth::Header { date } => {
            header_to_v4(req, verified, origin, (access_key_id, region), date)
        }
        V2Auth::Presigned { expires } => {
            presigned_to_v4(req, verified, origin, (access_key_id, region), expires, now)
        }
    }
}

/// An `Authorization` header dated as the client dated its request.
fn header_to_v4(
    req: &Request<'_>,
    verified: &VerifiedV2<'_, '_>,
    origin: &OriginTarget<'_, '_>,
    (access_key_id, region): (&str, &str),
    date: AmzDate,
) -> Result<Rewrite, Unsignable> {
    let date_text = date.to_string();
    // Any x-amz-date or payload hash the client sent gives way to the V4 ones: the date
    // is the same instant, the hash is kept when it is one.
    let payload = match req.single(X_AMZ_CONTENT_SHA256) {
        Ok(Some(hash)) if hash.len() == 64 && hash.iter().all(u8::is_ascii_hexdigit) => {
            hash.to_vec()
        }
        _ => UNSIGNED_PAYLOAD.as_bytes().to_vec(),
    };
    let mut headers: Vec<(&[u8], &[u8])> = req
        .headers
        .iter()
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case(X_AMZ_DATE_HEADER.as_bytes())
                && !n.eq_ignore_ascii_case(X_AMZ_CONTENT_SHA256.as_bytes())
        })
        .copied()
        .collect();
    headers.push((X_AMZ_DATE_HEADER.as_bytes(), date_text.as_bytes()));
    headers.push((X_AMZ_CONTENT_SHA256.as_bytes(), &payload));
    let names = signed_header_names(&headers);
    let scope = Scope {
        date: &date_text[..8],
        region,
        service: SERVICE,
    };
    let payload_text = String::from_utf8_lossy(&payload).into_owned();
    let signature = sign_v4(
        req,
        origin,
        &headers,
        &names,
        canonical_query(req.raw_query(), |_| Edit::Keep),
        &payload_text,
        &date,
        &scope,
        verified,
    )?;
    let credential = Credential {
        access_key_id,
        scope,
    };
    Ok(Rewrite {
        path: origin
            .restyled
            .then(|| with_query(&origin.raw_path, req.raw_query())),
        headers: vec![
            (
                "authorization",
                authorization_v4::format(&credential, &names, &signature).into_bytes(),
            ),
            (X_AMZ_DATE_HEADER, date_text.into_bytes()),
            (X_AMZ_CONTENT_SHA256, payload),
        ],
    })
}

/// A presigned URL that expires when the client's does (never later, and at most a week
/// after now).
fn presigned_to_v4(
    req: &Request<'_>,
    verified: &VerifiedV2<'_, '_>,
    origin: &OriginTarget<'_, '_>,
    (access_key_id, region): (&str, &str),
    expires: u64,
    now: u64,
) -> Result<Rewrite, Unsignable> {
    // Verified only before `Expires`: signed now for the seconds left, the SigV4 URL expires
    // when the client's does (and never is dated after it, whatever `now` a caller passes).
    let signed_at = now.min(expires.saturating_sub(1));
    let date = AmzDate::from_unix_seconds(signed_at);
    let date_text = date.to_string();
    let lifetime = expires
        .saturating_sub(signed_at)
        .clamp(1, u64::from(MAX_EXPIRES_SECONDS));
    let scope = Scope {
        date: &date_text[..8],
        region,
        service: SERVICE,
    };
    let credential = Credential {
        access_key_id,
        scope,
    };
    let names = signed_header_names(&req.headers);
    // The query without SigV2's parameters, then SigV4's, the signature last.
    let mut query = Vec::with_capacity(req.raw_query().len() + 256);
    for param in params(req.raw_query()) {
        let name = param.decoded_name();
        if [AWS_ACCESS_KEY_ID, EXPIRES, SIGNATURE].contains(&name.as_ref()) {
            continue;
        }
        if !query.is_empty() {
            query.push(b'&');
        }
        query.extend_from_slice(param.name);
        if !param.value.is_empty() {
            query.push(b'=');
            query.extend_from_slice(param.value);
        }
    }
    for (name, value) in [
        (X_AMZ_ALGORITHM, ALGORITHM.to_owned()),
        (X_AMZ_CREDENTIAL, credential.to_string()),
        (X_AMZ_DATE, date_text.clone()),
        (X_AMZ_EXPIRES, lifetime.to_string()),
        (X_AMZ_SIGNED_HEADERS, names.clone()),
    ] {
        push_param(&mut query, name, value.as_bytes());
    }
    let signature = sign_v4(
        req,
        origin,
        &req.headers,
        &names,
        canonical_query(&query, |_| Edit::Keep),
        UNSIGNED_PAYLOAD,
        &date,
        &scope,
        verified,
    )?;
    push_param(&mut query, X_AMZ_SIGNATURE, signature.to_hex().as_bytes());
    Ok(Rewrite {
        path: Some(with_query(&origin.raw_path, &query)),
        headers: Vec::new(),
    })
}

/// `host` and every header SigV2 signed that the request carries, as a SigV4 list.
fn signed_header_names(headers: &[(&[u8], &[u8])]) -> String {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| {
            n.as_slice() == b"content-md5"
                || n.as_slice() == b"content-type"
                || (n.len() > 6 && n.starts_with(b"x-amz-"))
        })
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .collect();
    names.push("host".to_owned());
    crate::sort::sort(&mut names);
    names.dedup();
    names.join(";")
}

#[allow(clippy::too_many_arguments)]
fn sign_v4(
    req: &Request<'_>,
    origin: &OriginTarget<'_, '_>,
    headers: &[(&[u8], &[u8])],
    names: &str,
    query: String,
    payload: &str,
    date: &AmzDate,
    scope: &Scope<'_>,
    verified: &VerifiedV2<'_, '_>,
) -> Result<Signature, Unsignable> {
    // The names are header names the request carries (and host): neither step can fail on
    // them, but a request that made one fail is not signed at all.
    let signed = SignedHeaders::parse(names).map_err(|_| Unsignable)?;
    let canonical = CanonicalRequest::new(
        req.method,
        canonical_path(&origin.raw_path),
        query,
        &signed,
        headers,
        payload,
    )
    .map_err(|_| Unsignable)?
    .render(origin.authority.as_bytes());
    let sts = string_to_sign_v4(date, scope, &canonical);
    Ok(verified
        .pair
        .origin()
        .secret
        .signing_key(scope)
        .sign(sts.as_bytes()))
}

fn push_param(query: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    if !query.is_empty() {
        query.push(b'&');
    }
    query.extend_from_slice(name);
    query.push(b'=');
    let mut encoded = String::new();
    encode_query_component(&mut encoded, value);
    query.extend_from_slice(encoded.as_bytes());
}

fn with_query(raw_path: &[u8], query: &[u8]) -> Vec<u8> {
    let mut path = Vec::with_capacity(raw_path.len() + 1 + query.len());
    path.extend_from_slice(raw_path);
    if !query.is_empty() {
        path.push(b'?');
        path.extend_from_slice(query);
    }
    path
}
