//! Verification of a SigV2 request (header or presigned) as received, for the public host.
//!
//! SigV2 signs only some query parameters (the sub-resources); S3 reads the others unsigned.
//! Here an unsigned parameter is accepted only when it cannot change which operation the
//! origin performs: listing and paging parameters, and the header copies that SDKs put in a
//! presigned URL when the request carries the same header, signed. Anything else is refused,
//! so a parameter an origin knows and the SigV2 list does not (`?retention`, `?legal-hold`)
//! cannot ride on a signature made without it.

use crate::addressing::Target;
use crate::bytes::is_amz_name;
use crate::config::{Config, CredentialPair};
use crate::grant::Proof;
use crate::redact;
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::S3ErrorCode::*;
use crate::sigv2::authorization::AuthorizationV2;
use crate::sigv2::presigned::{PresignedV2, AWS_ACCESS_KEY_ID, EXPIRES, SIGNATURE};
use crate::sigv2::signature::{sign, SignatureV2};
use crate::sigv2::string_to_sign::{
    string_to_sign, sub_resources, AmbiguousSubResources, SubResources, SUB_RESOURCES,
};
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::query::params;
use crate::verify::{check_skew, credential_pair};

/// Query parameters S3 reads unsigned under SigV2 that only shape a listing or a page of one.
const UNSIGNED_READ_ONLY: [&[u8]; 18] = [
    // ListBuckets' paging and filter (2024): boto3 sends them unsigned under SigV2 (CS61).
    b"bucket-region",
    b"continuation-token",
    b"delimiter",
    b"encoding-type",
    b"fetch-owner",
    b"key-marker",
    b"list-type",
    b"marker",
    b"max-buckets",
    b"max-keys",
    b"max-parts",
    b"max-uploads",
    b"part-number-marker",
    b"prefix",
    b"start-after",
    b"upload-id-marker",
    b"version-id-marker",
    b"x-id",
];

/// How the SigV2 request authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V2Auth {
    /// `Authorization` header, dated by `x-amz-date` or `Date`.
    Header { date: AmzDate },
    /// Query string, valid until `expires` (Unix seconds).
    Presigned { expires: u64 },
}

/// A SigV2 request whose signature checked out, with what re-signing it needs.
#[derive(Debug)]
pub struct VerifiedV2<'r, 'c> {
    pub pair: &'c CredentialPair,
    pub auth: V2Auth,
    /// The fourth line of the string to sign: `Date` (or empty), or `Expires`.
    pub date_line: Vec<u8>,
    pub sub_resources: SubResources<'r>,
    /// The `Content-MD5` header as sent (the string to sign's second line), if there is one:
    /// the only thing that binds the body to a SigV2 signature.
    pub content_md5: Option<&'r [u8]>,
}

pub fn header_auth<'r, 'c>(
    config: &'c Config,
    req: &Request<'r>,
    target: &Target<'_>,
    auth: &AuthorizationV2<'_>,
    now: u64,
    proof: Proof<'_>,
) -> Result<VerifiedV2<'r, 'c>, Rejection> {
    let pair = credential_pair(config, auth.access_key_id)?;
    let (date, date_line) = request_date(req)?;
    check_skew(config, &date, now, proof)?;
    check_unsigned_params(req, false)?;
    let content_md5 = check_repeated_headers(req)?;
    let verified = VerifiedV2 {
        pair,
        auth: V2Auth::Header { date },
        date_line,
        sub_resources: subs(req)?,
        content_md5,
    };
    check_signature(
        req,
        target,
        &verified,
        &auth.signature,
        auth.access_key_id,
        proof,
    )?;
    Ok(verified)
}

pub fn presigned<'r, 'c>(
    config: &'c Config,
    req: &Request<'r>,
    target: &Target<'_>,
    url: &PresignedV2,
    now: u64,
    proof: Proof<'_>,
) -> Result<VerifiedV2<'r, 'c>, Rejection> {
    let pair = credential_pair(config, &url.access_key_id)?;
    // Expired at `Expires` itself, as the origins count it.
    if now >= url.expires {
        return Err(Rejection::new(AccessDenied, "Request has expired"));
    }
    let content_md5 = check_repeated_headers(req)?;
    let verified = VerifiedV2 {
        pair,
        auth: V2Auth::Presigned {
            expires: url.expires,
        },
        date_line: url.expires_text.clone().into_bytes(),
        sub_resources: subs(req)?,
        content_md5,
    };
    check_signature(
        req,
        target,
        &verified,
        &url.signature,
        &url.access_key_id,
        proof,
    )?;
    // After the signature: a parameter may mirror a header, and matching thousands of them
    // against the headers cost an unsigned request milliseconds (an attack run, 2026-12-01).
    check_unsigned_params(req, true)?;
    Ok(verified)
}

/// `x-amz-date` (signed among the `x-amz-*` headers, so the date line is empty) or `Date`,
/// each as an HTTP date (with a numeric zone too) or in SigV4's basic form: SigV2 clients
/// write either in either header.
fn request_date(req: &Request<'_>) -> Result<(AmzDate, Vec<u8>), Rejection> {
    let invalid = || {
        Rejection::new(
            AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    let parse = |value: &[u8]| {
        AmzDate::parse_http_date(value.trim_ascii())
            .or_else(|_| AmzDate::parse(value.trim_ascii()))
            .map_err(|_| invalid())
    };
    match req.single("x-amz-date").map_err(|_| invalid())? {
        Some(amz) => Ok((parse(amz)?, Vec::new())),
        None => {
            let date = req
                .single("date")
                .map_err(|_| invalid())?
                .ok_or_else(invalid)?;
            Ok((parse(date)?, date.trim_ascii().to_vec()))
        }
    }
}

fn subs<'r>(req: &Request<'r>) -> Result<SubResources<'r>, Rejection> {
    sub_resources(req.raw_query()).map_err(|ambiguous| {
        let message = match ambiguous {
            AmbiguousSubResources::Repeated(name) => {
                format!("The query parameter '{name}' is repeated.")
            }
            AmbiguousSubResources::Folded(name) => format!(
                "The value of the query parameter '{name}' holds '&' and the name of another, which a Signature Version 2 signature cannot tell from two parameters; sign the request with Signature Version 4."
            ),
        };
        Rejection::new(InvalidArgument, message)
    })
}

/// The headers SigV2 signs (`Content-MD5`, `Content-Type`, `x-amz-*`) sent once each: it joins
/// repeated ones with `,`, as SigV4 does (`CanonicalRequest::repeated_header`). Returns the
/// `Content-MD5` header, met on the way.
fn check_repeated_headers<'r>(req: &Request<'r>) -> Result<Option<&'r [u8]>, Rejection> {
    let mut content_md5 = None;
    for (i, &(name, value)) in req.headers.iter().enumerate() {
        let is_md5 = name.eq_ignore_ascii_case(b"content-md5");
        let signed = is_md5 || name.eq_ignore_ascii_case(b"content-type") || is_amz_name(name);
        let before = &req.headers[..i];
        if signed && before.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(crate::verify::repeated_signed_header(name));
        }
        if is_md5 {
            content_md5 = Some(value);
        }
    }
    Ok(content_md5)
}

/// Refuses a query parameter the SigV2 signature does not cover, unless it is read-only (or,
/// in a presigned URL, the copy of a header the request carries with the same value).
fn check_unsigned_params(req: &Request<'_>, presigned: bool) -> Result<(), Rejection> {
    // Each mirrors a header of its own, so there are no more than headers: thousands of
    // copies of one, each matched against every header, took milliseconds (a review).
    let mut mirrored = Vec::new();
    for param in params(req.raw_query()) {
        let name = param.decoded_name();
        let signed = SUB_RESOURCES.iter().any(|s| s.as_bytes() == name.as_ref());
        let mut covered = signed
            || UNSIGNED_READ_ONLY.contains(&name.as_ref())
            || (presigned && [AWS_ACCESS_KEY_ID, EXPIRES, SIGNATURE].contains(&name.as_ref()));
        if !covered && presigned && !mirrored.contains(&name) {
            covered = mirrors_a_header(req, &name, &param.decoded_value());
            mirrored.push(name.clone());
        }
        if !covered {
            return Err(Rejection::new(
                AccessDenied,
                format!(
                    "The query parameter '{}' is not covered by the Signature Version 2 signature; sign the request with Signature Version 4.",
                    String::from_utf8_lossy(&name)
                ),
            ));
        }
        // Some origins' query parsers also split at `;` (Go's before 1.17, old CGI code): an
        // unsigned value holding one would reach them as a parameter of its own. A signed one
        // cannot: split there, it no longer matches the string the re-signature covers.
        if !signed && (param.name.contains(&b';') || param.value.contains(&b';')) {
            return Err(Rejection::new(
                InvalidArgument,
                format!(
                    "The query parameter '{}' holds a literal ';', which some servers read as the start of another parameter; send it percent-encoded (%3B).",
                    String::from_utf8_lossy(&name)
                ),
            ));
        }
    }
    Ok(())
}

/// `content-type=…`, `content-md5=…`, `x-amz-…=…` in a presigned URL, as the SDKs write the
/// headers they signed into it: harmless when the request sends that header, with that value.
fn mirrors_a_header(req: &Request<'_>, name: &[u8], value: &[u8]) -> bool {
    let mirrored = name == b"content-type"
        || name == b"content-md5"
        || (name.len() > 6 && name.starts_with(b"x-amz-"));
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    mirrored
        && matches!(req.single(name), Ok(Some(sent)) if sent.trim_ascii() == value.trim_ascii())
}

fn check_signature(
    req: &Request<'_>,
    target: &Target<'_>,
    verified: &VerifiedV2<'_, '_>,
    claimed: &SignatureV2,
    access_key_id: &str,
    proof: Proof<'_>,
) -> Result<(), Rejection> {
    let secret = match (proof, &verified.pair.client.secret) {
        (Proof::Granted(_), _) => return Ok(()),
        (Proof::Signature, Some(secret)) => secret.key(),
        (Proof::Signature, None) => return Err(crate::verify::no_client_secret()),
    };
    let string_to_sign = |resource: &[u8]| {
        string_to_sign(
            req.method,
            &req.headers,
            &verified.date_line,
            resource,
            &verified.sub_resources,
        )
    };
    let sts = string_to_sign(&target.canonical_resource_v2(req.raw_path()));
    if sign(secret, &sts).verifies(claimed) {
        return Ok(());
    }
    // A path-style request on the bucket itself (`/bucket`): S3, and the AWS SDKs after it,
    // sign the bucket as `/bucket/`. Both name the same bucket.
    if let Some(slashed) = target.bucket_root_with_slash(req.raw_path()) {
        if sign(secret, &string_to_sign(&slashed)).verifies(claimed) {
            return Ok(());
        }
    }
    Err(Rejection::new(
        SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
    .for_key(access_key_id)
    .with_log_detail(format!(
        "string to sign:\n{}",
        redact::string_to_sign_v2(&sts)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presigned_params(query: &str, headers: &[(&str, &str)]) -> Result<(), Rejection> {
        let mut pairs = vec![
            (":method".to_owned(), "PUT".to_owned()),
            (
                ":path".to_owned(),
                format!("/b/k?AWSAccessKeyId=AK&Expires=1&Signature=s&{query}"),
            ),
            (":authority".to_owned(), "h".to_owned()),
        ];
        pairs.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let req = Request::from_pairs(&pairs).unwrap();
        check_unsigned_params(&req, true)
    }

    /// A presigned SigV2 URL may carry the copies of signed headers the SDKs write into it, when
    /// the request sends that header with that value, and nothing else unsigned: a parameter an
    /// origin acts on (`?retention`) is no copy because a header of its name came along.
    /// cargo-mutants found the list of what may be copied unchecked: it could have grown to
    /// any name, or lost `Content-MD5` and `x-amz-*`, with no test failing.
    #[test]
    fn a_presigned_url_carries_only_copies_of_headers_it_may_mirror() {
        for (name, value) in [
            ("content-type", "text/plain"),
            ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
            ("x-amz-acl", "private"),
        ] {
            let query = format!("{name}={value}");
            assert!(presigned_params(&query, &[(name, value)]).is_ok(), "{name}");
            assert!(
                presigned_params(&query, &[(name, "other")]).is_err(),
                "{name}"
            );
            assert!(presigned_params(&query, &[]).is_err(), "{name}");
        }
        for name in ["retention", "legal-hold", "x-amz-", "content-typo"] {
            let query = format!("{name}=x");
            assert!(presigned_params(&query, &[(name, "x")]).is_err(), "{name}");
        }
    }
}
