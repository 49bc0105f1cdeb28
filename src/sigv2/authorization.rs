//! The SigV2 `Authorization` header: `AWS <access key id>:<base64 signature>`.

use super::signature::SignatureV2;
use crate::bytes::split_once_bytes;
use std::fmt;

pub const SCHEME: &[u8] = b"AWS";

#[derive(Debug)]
pub struct AuthorizationV2<'a> {
    pub access_key_id: &'a str,
    pub signature: SignatureV2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationV2Error {
    Malformed,
    Signature,
}

impl fmt::Display for AuthorizationV2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthorizationV2Error::Malformed => "expected AWS <access key id>:<signature>",
            AuthorizationV2Error::Signature => "the signature must be 28 characters of base64",
        })
    }
}

impl<'a> AuthorizationV2<'a> {
    pub fn parse(value: &'a [u8]) -> Result<Self, AuthorizationV2Error> {
        let rest = value
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(b" "))
            .ok_or(AuthorizationV2Error::Malformed)?;
        let (id, signature) =
            split_once_bytes(rest, b':').ok_or(AuthorizationV2Error::Malformed)?;
        let id = std::str::from_utf8(id).map_err(|_| AuthorizationV2Error::Malformed)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AuthorizationV2Error::Malformed);
        }
        Ok(AuthorizationV2 {
            access_key_id: id,
            signature: SignatureV2::from_base64(signature)
                .map_err(|_| AuthorizationV2Error::Signature)?,
        })
    }
}

/// `AWS <id>:<signature>`.
pub fn format(access_key_id: &str, signature: &SignatureV2) -> String {
    format!("AWS {access_key_id}:{}", signature.to_base64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let a = AuthorizationV2::parse(b"AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=")
            .unwrap();
        assert_eq!(a.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            format(a.access_key_id, &a.signature),
            "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
        );
    }

    #[test]
    fn refuses_malformed_headers() {
        use AuthorizationV2Error::*;
        for (value, want) in [
            (&b"AWS"[..], Malformed),
            (b"AWS AK", Malformed),
            (b"AWS :qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", Malformed),
            (b"AWSX AK:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", Malformed),
            (b"AWS A K:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", Malformed),
            (b"AWS AK:qgk2", Signature),
            (b"AWS AK:qgk2+6Sv9/oM7G3qLEjTH1a1l1g= ", Signature),
        ] {
            assert_eq!(
                AuthorizationV2::parse(value).unwrap_err(),
                want,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }
}
