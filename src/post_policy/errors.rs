//! The answers S3 gives a POST Object form it refuses, code, status and wording as S3 sends
//! them (AWS documents few of them; the others are S3's observed answers, see the module
//! documentation).

use crate::rejection::Rejection;
use crate::s3_error::{S3Error, S3ErrorCode::*};

/// 400 `MalformedPOSTRequest`, with what is wrong.
pub fn malformed(why: &str) -> Rejection {
    Rejection::new(
        MalformedPOSTRequest,
        format!("The body of your POST request is not well-formed multipart/form-data: {why}."),
    )
}

/// 400 `MalformedPOSTRequest` for a form with no body at all.
pub fn no_body() -> Rejection {
    Rejection::from(S3Error::new(
        MalformedPOSTRequest,
        "The body of your POST request is not well-formed multipart/form-data.",
    ))
}

/// 400 `MaxPostPreDataLengthExceeded`: the fields before the file are over `limit` bytes.
pub fn head_too_large(limit: usize) -> Rejection {
    Rejection::from(
        S3Error::new(
            MaxPostPreDataLengthExceeded,
            "Your POST request fields preceding the upload file were too large.",
        )
        .with_detail("MaxPostPreDataLengthBytes", limit.to_string()),
    )
}

/// 400 `InvalidArgument` naming a field the form must carry (S3's wording, two spaces
/// included).
pub fn missing_field(name: &str) -> Rejection {
    invalid_argument(
        format!(
            "Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
        ),
        name,
        "",
    )
}

/// 400 `InvalidArgument`: no part named `file`.
pub fn no_file() -> Rejection {
    invalid_argument(
        "POST requires exactly one file upload per request.",
        "file",
        "0",
    )
}

pub fn invalid_argument(message: impl Into<String>, name: &str, value: &str) -> Rejection {
    Rejection::from(
        S3Error::new(InvalidArgument, message)
            .with_detail("ArgumentName", name)
            .with_detail("ArgumentValue", value),
    )
}

/// 400 `InvalidPolicyDocument`: the policy cannot be read.
pub fn invalid_policy(why: &str) -> Rejection {
    Rejection::new(InvalidPolicyDocument, format!("Invalid Policy: {why}"))
}

/// 403 `AccessDenied`: the policy's expiration has passed.
pub fn expired() -> Rejection {
    Rejection::new(AccessDenied, "Invalid according to Policy: Policy expired.")
}

/// 403 `AccessDenied`: `condition` (as S3 prints it, `["eq", "$key", "a"]`) does not hold.
pub fn condition_failed(condition: &str) -> Rejection {
    Rejection::new(
        AccessDenied,
        format!("Invalid according to Policy: Policy Condition failed: {condition}"),
    )
}

/// 403 `AccessDenied`: fields no condition covers, named as sent.
pub fn extra_fields(names: &[&str]) -> Rejection {
    Rejection::new(
        AccessDenied,
        format!(
            "Invalid according to Policy: Extra input fields: {}",
            names.join(", ")
        ),
    )
}

/// 400 `EntityTooLarge`, as soon as the file passes the maximum. S3 also gives the file's
/// size (`ProposedSize`), which the filter does not know then: what it had counted was taken
/// for the file's size (a walk-through, 2026-12-01).
pub fn too_large(max: u64) -> Rejection {
    Rejection::from(
        S3Error::new(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed size",
        )
        .with_detail("MaxSizeAllowed", max.to_string()),
    )
}

/// 400 `EntityTooSmall`.
pub fn too_small(size: u64, min: u64) -> Rejection {
    Rejection::from(
        S3Error::new(
            EntityTooSmall,
            "Your proposed upload is smaller than the minimum allowed size",
        )
        .with_detail("ProposedSize", size.to_string())
        .with_detail("MinSizeAllowed", min.to_string()),
    )
}

/// 403 `SignatureDoesNotMatch`.
pub fn signature_mismatch(access_key_id: &str) -> Rejection {
    Rejection::new(
        SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
    .for_key(access_key_id)
}

/// 403 `InvalidAccessKeyId`.
pub fn unknown_key(access_key_id: &str) -> Rejection {
    Rejection::new(
        InvalidAccessKeyId,
        "The AWS Access Key Id you provided does not exist in our records.",
    )
    .for_key(access_key_id)
}

/// 503 `SlowDown`: holding the form's fields would exceed the VM's memory budget.
pub fn over_budget() -> Rejection {
    Rejection::new(
        SlowDown,
        "Too many uploads are in progress; please reduce your request rate.",
    )
}

/// 403 `AccessDenied` for a form that carries no signature, when anonymous requests are
/// refused.
pub fn anonymous() -> Rejection {
    Rejection::new(
        AccessDenied,
        "Anonymous requests are not allowed; sign the form's policy.",
    )
}
