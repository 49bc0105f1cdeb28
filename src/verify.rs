//! Verification of the client's signature against the request exactly as received, for the
//! public host. What it proves (the credential pair, the canonical request, the scope) is
//! what `resign` signs again for the origin.

use crate::config::{Config, CredentialPair, Role};
use crate::grant::Proof;
use crate::redact;
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::S3ErrorCode::*;
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::authorization::AuthorizationV4;
use crate::sigv4::canonical::{CanonicalRequest, MissingSignedHeader};
use crate::sigv4::credential::Credential;
use crate::sigv4::payload::{PayloadHash, UNSIGNED_PAYLOAD};
use crate::sigv4::presigned::{PresignedV4, X_AMZ_CREDENTIAL, X_AMZ_SIGNATURE};
use crate::sigv4::query::{canonical_params, Edit};
use crate::sigv4::signature::Signature;
use crate::sigv4::signing::string_to_sign;
use crate::sigv4::uri::canonical_path;

pub const SERVICE: &str = "s3";

/// A request whose signature checked out.
#[derive(Debug)]
pub struct Verified<'r, 'c> {
    pub pair: &'c CredentialPair,
    pub date: AmzDate,
    /// The region the client signed for.
    pub region: &'r str,
    pub canonical: CanonicalRequest<'r>,
    pub payload: PayloadHash<'r>,
}

pub fn header_auth<'r, 'q: 'r, 'c>(
    config: &'c Config,
    req: &Request<'q>,
    auth: &AuthorizationV4<'r>,
    now: u64,
    proof: Proof<'_>,
) -> Result<Verified<'r, 'c>, Rejection> {
    let malformed = |why: String| Rejection::new(AuthorizationHeaderMalformed, why);
    let pair = credential_pair(config, auth.credential.access_key_id)?;
    check_service(&auth.credential).map_err(malformed)?;
    let date = request_date(req)?;
    check_scope_date(&auth.credential, &date).map_err(malformed)?;
    check_skew(config, &date, now, proof)?;
    let payload = payload_hash(req)?;
    let mut canonical = CanonicalRequest::new(
        req.method,
        canonical_path(req.raw_path()),
        canonical_params(req.raw_query(), req.params(), |_| Edit::Keep),
        &auth.signed_headers,
        &req.headers,
        payload.as_str(),
    )
    .map_err(|missing| Rejection::new(SignatureDoesNotMatch, missing.to_string()))?;
    framed_body_follows(req, &canonical)?;
    if let Some(name) = canonical.repeated_header() {
        return Err(repeated_signed_header(name.as_bytes()));
    }
    check_signature(
        req,
        pair,
        &auth.credential,
        &date,
        &mut canonical,
        &auth.signature,
        proof,
    )?;
    Ok(Verified {
        pair,
        date,
        region: auth.credential.scope.region,
        canonical,
        payload,
    })
}

pub fn presigned<'r, 'q: 'r, 'c>(
    config: &'c Config,
    req: &Request<'q>,
    url: &PresignedV4<'r>,
    now: u64,
    proof: Proof<'_>,
) -> Result<Verified<'r, 'c>, Rejection> {
    let malformed = |why: String| Rejection::new(AuthorizationQueryParametersError, why);
    let pair = credential_pair(config, url.credential.access_key_id)?;
    check_service(&url.credential).map_err(malformed)?;
    check_scope_date(&url.credential, &url.date).map_err(malformed)?;
    let signed_at = url.date.unix_seconds();
    // The edge checked the time window when it verified, by its own limit.
    if proof == Proof::Signature && signed_at > now as i64 + config.max_clock_skew_seconds as i64 {
        return Err(Rejection::new(
            RequestTimeTooSkewed,
            "The request is dated too far in the future (X-Amz-Date).",
        ));
    }
    // Expired once X-Amz-Expires seconds have passed, as S3 and the origins count it (the
    // last second too: an attack run on time found them refusing it, 2026-12-06); and
    // X-Amz-Expires=0, which S3 does not take (1 to 604800), never valid, not even dated ahead.
    if url.expires == 0 || (now as i64) >= signed_at + i64::from(url.expires) {
        return Err(Rejection::new(AccessDenied, "Request has expired"));
    }
    let mut canonical = CanonicalRequest::new(
        req.method,
        canonical_path(req.raw_path()),
        canonical_params(req.raw_query(), req.params(), |name| match name {
            X_AMZ_SIGNATURE => Edit::Drop,
            _ => Edit::Keep,
        }),
        &url.signed_headers,
        &req.headers,
        // A presigned URL is made before the body exists.
        UNSIGNED_PAYLOAD,
    )
    .map_err(|missing| Rejection::new(SignatureDoesNotMatch, missing.to_string()))?;
    framed_body_follows(req, &canonical)?;
    if let Some(name) = canonical.repeated_header() {
        return Err(repeated_signed_header(name.as_bytes()));
    }
    // Re-signing replaces the credential's value; the hash up to it is the same.
    canonical.keep_state_before(X_AMZ_CREDENTIAL);
    check_signature(
        req,
        pair,
        &url.credential,
        &url.date,
        &mut canonical,
        &url.signature,
        proof,
    )?;
    Ok(Verified {
        pair,
        date: url.date,
        region: url.credential.scope.region,
        canonical,
        payload: PayloadHash::Unsigned,
    })
}

/// The configured key pair a request claims, SigV4 or SigV2.
pub(crate) fn credential_pair<'c>(
    config: &'c Config,
    access_key_id: &str,
) -> Result<&'c CredentialPair, Rejection> {
    config.credential(access_key_id).ok_or_else(|| {
        if config.role == Role::Origin {
            // The edge verified the key: this origin's credentials are what is wrong, which
            // the operator must see (a failover onto an origin that lacks one, an attack run
            // found answered as the client's fault, 2026-12-01).
            return Rejection::internal(
                "the edge verified a key this origin's credentials do not list: give every origin in origins[] each client key the edge has",
            )
            .for_key(access_key_id);
        }
        Rejection::new(
            InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        .for_key(access_key_id)
    })
}

/// A header-signed request (SigV4 or SigV2) dated within the allowed skew of `now`, either
/// way. Not checked again by an origin filter: the edge checked it when it verified, by its
/// own limit.
pub(crate) fn check_skew(
    config: &Config,
    date: &AmzDate,
    now: u64,
    proof: Proof<'_>,
) -> Result<(), Rejection> {
    if proof == Proof::Signature
        && date.unix_seconds().abs_diff(now as i64) > config.max_clock_skew_seconds
    {
        return Err(Rejection::new(
            RequestTimeTooSkewed,
            "The difference between the request time and the server's time is too large.",
        ));
    }
    Ok(())
}

fn check_service(credential: &Credential<'_>) -> Result<(), String> {
    if credential.scope.service == SERVICE {
        Ok(())
    } else {
        Err(format!(
            "the credential is scoped to the service '{}'; expected 's3'",
            credential.scope.service
        ))
    }
}

fn check_scope_date(credential: &Credential<'_>, date: &AmzDate) -> Result<(), String> {
    if credential.scope.date == date.date_stamp() {
        Ok(())
    } else {
        Err(format!(
            "the credential date {} is not the request date {}",
            credential.scope.date, date
        ))
    }
}

/// `x-amz-date`, or `Date` when that is absent, each in the one form SigV4 allows it (SigV2
/// clients write more: `verify_v2::request_date`).
fn request_date(req: &Request<'_>) -> Result<AmzDate, Rejection> {
    let invalid = || {
        Rejection::new(
            AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    let parsed = match req.single("x-amz-date").map_err(|_| invalid())? {
        Some(value) => AmzDate::parse(value),
        None => match req.single("date").map_err(|_| invalid())? {
            Some(value) => AmzDate::parse_http_date(value),
            None => return Err(invalid()),
        },
    };
    parsed.map_err(|_| invalid())
}

fn payload_hash<'r, 'q: 'r>(req: &Request<'q>) -> Result<PayloadHash<'r>, Rejection> {
    let value = req
        .single("x-amz-content-sha256")
        .map_err(|_| Rejection::new(InvalidArgument, "x-amz-content-sha256 is repeated"))?
        .ok_or_else(|| {
            Rejection::new(
                InvalidRequest,
                "Missing required header for this request: x-amz-content-sha256",
            )
        })?;
    let payload = PayloadHash::parse(value).map_err(|_| {
        Rejection::new(
            InvalidArgument,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, a STREAMING-AWS4-HMAC-SHA256-PAYLOAD mode, or a valid sha256 value.",
        )
    })?;
    match payload {
        PayloadHash::StreamingEcdsa => Err(Rejection::new(
            NotImplemented,
            "SigV4A (AWS4-ECDSA-P256-SHA256) streaming payloads are not supported.",
        )),
        other => Ok(other),
    }
}

fn check_signature(
    req: &Request<'_>,
    pair: &CredentialPair,
    credential: &Credential<'_>,
    date: &AmzDate,
    canonical: &mut CanonicalRequest<'_>,
    claimed: &Signature,
    proof: Proof<'_>,
) -> Result<(), Rejection> {
    let secret = match (proof, &pair.client.secret) {
        (Proof::Granted(_), _) => return Ok(()),
        (Proof::Signature, Some(secret)) => secret,
        (Proof::Signature, None) => return Err(no_client_secret()),
    };
    let key = secret.signing_key(&credential.scope);
    loop {
        let hash = canonical.hash(req.authority);
        if key
            .sign_request(date, &credential.scope, &hash)
            .verifies(claimed)
        {
            return Ok(());
        }
        // An `Expect` Envoy consumed may have been signed in another case (boto 2).
        if !canonical.respell_consumed_expect() {
            break;
        }
    }
    // Only a mismatch puts the texts together, for the debug line.
    let canonical_request = canonical.render(req.authority);
    let string_to_sign = string_to_sign(date, &credential.scope, &canonical_request);
    Err(Rejection::new(
        SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
    .for_key(credential.access_key_id)
    .with_log_detail(format!(
        "canonical request:\n{}\nstring to sign:\n{}",
        redact::canonical_request(&canonical_request),
        redact::string_to_sign_v4(string_to_sign.as_bytes())
    )))
}

/// A signed `Transfer-Encoding` the request lacks (`signed_header`) stands for Envoy's framing
/// of a body whose length the head does not give. With a `Content-Length` (never beside a
/// `Transfer-Encoding`: Envoy's 400), or on a head that ends its stream (a request signed over
/// a chunked body, replayed bare), it was not sent: missing, as any signed header (RV145: a
/// bare `UNSIGNED-PAYLOAD` one stored an empty object; a presigned one reached the origin to
/// be refused there).
fn framed_body_follows(
    req: &Request<'_>,
    canonical: &CanonicalRequest<'_>,
) -> Result<(), Rejection> {
    if canonical.framing_consumed() && !req.says_nothing_of_its_body() {
        let missing = MissingSignedHeader("transfer-encoding".to_owned());
        return Err(Rejection::new(SignatureDoesNotMatch, missing.to_string()));
    }
    Ok(())
}

/// A signed header sent more than once: the signature covers its values joined with `,`, and
/// an origin that reads only the first would act on part of what was signed
/// (`CanonicalRequest::repeated_header`). No SDK repeats one; a caller of a stand-alone signer
/// can (AWS::Signature4 signs a repeated header joined, LWP sends it twice), and is told how.
pub fn repeated_signed_header(name: &[u8]) -> Rejection {
    Rejection::new(
        InvalidArgument,
        format!(
            "The signed header '{}' is sent more than once; send it once, its values joined with ','.",
            String::from_utf8_lossy(name).to_ascii_lowercase()
        ),
    )
}

/// A filter without the client's secret (an origin filter) asked to check a signature: a
/// configuration error, never a pass.
pub fn no_client_secret() -> Rejection {
    Rejection::internal("this filter holds no client secret and cannot verify")
}
