//! Which request bodies the filter checks against a digest their signature covers, and how
//! much of each waits for the check. An origin that checks `Content-MD5` or a signed SHA-256
//! itself may check it too late (after acting on a document, or never); the filter checks as
//! the body streams (`body_digest`), so a replayed signature cannot carry another body.

use crate::addressing::Target;
use crate::body_digest::{BodyCheck, Expected, Hold};
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::S3ErrorCode::{InvalidArgument, InvalidDigest};
use crate::verify::Verified;

/// The `Content-MD5` a SigV4 request signed (`content-md5` among its signed headers), read
/// from the signed-header list already parsed: for a request whose payload hash is not signed.
pub(crate) fn signed_content_md5_v4(
    verified: &Verified<'_, '_>,
) -> Result<Option<Expected>, Rejection> {
    verified
        .canonical
        .headers()
        .iter()
        .find(|(name, _)| *name == "content-md5")
        .map(|(_, value)| parse_content_md5(value))
        .transpose()
}

pub(crate) fn parse_content_md5(value: &[u8]) -> Result<Expected, Rejection> {
    Expected::content_md5(value)
        .map_err(|_| Rejection::new(InvalidDigest, "The Content-MD5 you specified was invalid."))
}

/// The check the body of a `PUT` or a `POST` gets against `expected`, the digest its signature
/// covers, and how much of it waits (a document all of it). Other methods' bodies are not
/// checked, nor `expected` read: origins ignore them.
pub(crate) fn body_check_for(
    req: &Request<'_>,
    target: &Target<'_>,
    expected: impl FnOnce() -> Result<Option<Expected>, Rejection>,
) -> Result<Option<BodyCheck>, Rejection> {
    if !matches!(req.method, b"PUT" | b"POST") {
        return Ok(None);
    }
    let hold = || match is_document(req, target) {
        true => Hold::Whole,
        false => Hold::LastByte,
    };
    Ok(expected()?.map(|expected| BodyCheck {
        expected,
        hold: hold(),
    }))
}

/// Whether a request's body is a document (XML, JSON) rather than object data: a `POST`, or a
/// `PUT` of a bucket or with a query parameter other than an upload part's and the
/// signatures'. An origin may parse a document as it arrives and act at its end, before the
/// padding after it, while it stores object data only once it has all of `Content-Length`.
fn is_document(req: &Request<'_>, target: &Target<'_>) -> bool {
    match req.method {
        b"POST" => true,
        b"PUT" => {
            target.bucket.is_none()
                || matches!(target.key_path, b"" | b"/")
                // MinIO untars such a PUT into objects as it reads it, keys and all, before
                // its digests are checked at the end (`PutObjectExtractHandler`).
                || req.values(SNOWBALL).next().is_some()
                || !req.params().iter().all(|param| {
                    let name = param.decoded_name();
                    OBJECT_DATA_PARAMS.contains(&name.as_ref())
                        || (name.len() > 6 && name[..6].eq_ignore_ascii_case(b"x-amz-"))
                })
        }
        _ => false,
    }
}

const SNOWBALL: &str = "x-amz-meta-snowball-auto-extract";

/// The query parameters a `PUT` of object data carries: an upload part's, the SDKs' operation
/// hint, and presigned URLs' (`X-Amz-*`, with hoisted `x-amz-*` headers; SigV2's).
const OBJECT_DATA_PARAMS: [&[u8]; 6] = [
    b"partNumber",
    b"uploadId",
    b"x-id",
    b"AWSAccessKeyId",
    b"Expires",
    b"Signature",
];

/// On a presigned URL whose body is checked against its `Content-MD5`, an unsigned
/// `x-amz-content-sha256: STREAMING-*` (with `Content-Encoding: aws-chunked`) would have the
/// origin decode the body the filter hashed as sent and store something else.
pub(crate) fn refuse_unsigned_streaming(req: &Request<'_>) -> Result<(), Rejection> {
    // Every value: an origin may read either of two (a review found the second let by).
    let streaming = req.values("x-amz-content-sha256").any(|value| {
        let value = value.trim_ascii();
        value.len() >= 10 && value[..10].eq_ignore_ascii_case(b"STREAMING-")
    });
    match streaming {
        true => Err(Rejection::new(
            InvalidArgument,
            "A presigned request whose Content-MD5 is signed cannot declare an aws-chunked body.",
        )),
        false => Ok(()),
    }
}
