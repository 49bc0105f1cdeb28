//! The form fields S3 gives a meaning to, and the ones a policy need not cover.
//!
//! Field names are case-insensitive ("The post parameters are case insensitive. For example,
//! you can specify `x-amz-signature` or `X-Amz-Signature`", sigv4-post-example); these
//! constants are compared with `eq_ignore_ascii_case`, and the spelling here is the one S3
//! uses when it names a missing field.

use crate::bytes::starts_with_ignore_ascii_case;

pub const KEY: &str = "key";
pub const FILE: &str = "file";
pub const POLICY: &str = "Policy";
pub const BUCKET: &str = "bucket";
pub const CONTENT_TYPE: &str = "Content-Type";

pub const X_AMZ_ALGORITHM: &str = "X-Amz-Algorithm";
pub const X_AMZ_CREDENTIAL: &str = "X-Amz-Credential";
pub const X_AMZ_DATE: &str = "X-Amz-Date";
pub const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";

pub const SESSION_TOKEN: &str = "x-amz-security-token";

pub const AWS_ACCESS_KEY_ID: &str = "AWSAccessKeyId";
pub const SIGNATURE: &str = "Signature";

/// "field names that have an x-ignore- prefix" need no condition.
pub const IGNORE_PREFIX: &str = "x-ignore-";
/// Replaced in `key` by the name of the file sent.
pub const FILENAME_VARIABLE: &[u8] = b"${filename}";

/// What replaces `${filename}`: "If the browser or client provides a full or partial path to
/// the file, only the text following the last slash (/) or backslash (\\) is used" (S3's
/// POST documentation).
pub fn base_name(filename: &[u8]) -> &[u8] {
    filename
        .iter()
        .rposition(|&b| b == b'/' || b == b'\\')
        .and_then(|at| filename.get(at + 1..))
        .unwrap_or(filename)
}

/// SigV4: "Each form field that you specify in a form (except x-amz-signature, file, policy,
/// and field names that have an x-ignore- prefix) must appear in the list of conditions."
/// (sigv4-HTTPPOSTConstructPolicy).
pub const EXEMPT_V4: [&str; 3] = [X_AMZ_SIGNATURE, FILE, POLICY];
/// SigV2: "(except AWSAccessKeyId, signature, file, policy, and field names that have an
/// x-ignore- prefix)" (HTTPPOSTForms, Policy Construction).
pub const EXEMPT_V2: [&str; 4] = [AWS_ACCESS_KEY_ID, SIGNATURE, FILE, POLICY];

pub fn is(name: &str, field: &str) -> bool {
    name.eq_ignore_ascii_case(field)
}

/// Whether a field named `name` may be absent from the policy's conditions.
pub fn is_exempt(name: &str, exempt: &[&str]) -> bool {
    exempt.iter().any(|e| is(name, e))
        || starts_with_ignore_ascii_case(name.as_bytes(), IGNORE_PREFIX.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemptions_follow_each_signature_version() {
        assert!(is_exempt("X-Amz-Signature", &EXEMPT_V4));
        assert!(is_exempt("policy", &EXEMPT_V4));
        assert!(is_exempt("X-Ignore-Submit", &EXEMPT_V4));
        assert!(!is_exempt("x-ignore", &EXEMPT_V4));
        assert!(!is_exempt("AWSAccessKeyId", &EXEMPT_V4));
        assert!(!is_exempt("x-amz-credential", &EXEMPT_V4));
        assert!(is_exempt("awsaccesskeyid", &EXEMPT_V2));
        assert!(is_exempt("signature", &EXEMPT_V2));
        assert!(!is_exempt("x-amz-signature", &EXEMPT_V2));
        assert!(!is_exempt("x-amz-security-token", &EXEMPT_V2));
        assert!(!is_exempt("\u{e9}", &EXEMPT_V2));
    }
}
