//! SigV2 query-string authentication: `AWSAccessKeyId`, `Expires` (Unix seconds) and
//! `Signature` (base64, URL-encoded).

use super::signature::SignatureV2;
use crate::sigv4::query::params;
use std::fmt;

pub const AWS_ACCESS_KEY_ID: &[u8] = b"AWSAccessKeyId";
pub const EXPIRES: &[u8] = b"Expires";
pub const SIGNATURE: &[u8] = b"Signature";

#[derive(Debug)]
pub struct PresignedV2 {
    pub access_key_id: String,
    /// The value as sent: it is signed as text.
    pub expires_text: String,
    pub expires: u64,
    pub signature: SignatureV2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresignedV2Error {
    Duplicate,
    Missing,
    Expires,
    Signature,
}

impl fmt::Display for PresignedV2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PresignedV2Error::Duplicate => "an authentication parameter is repeated",
            PresignedV2Error::Missing => {
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
            }
            PresignedV2Error::Expires => "Expires must be a number of seconds since the epoch",
            PresignedV2Error::Signature => "Signature must be 28 characters of base64",
        })
    }
}

/// Whether a (decoded) parameter name is one of SigV2's authentication parameters.
pub fn is_auth_param(name: &[u8]) -> bool {
    name == AWS_ACCESS_KEY_ID || name == SIGNATURE
}

impl PresignedV2 {
    pub fn parse(raw_query: &[u8]) -> Result<Self, PresignedV2Error> {
        let (mut id, mut expires, mut signature) = (None, None, None);
        for p in params(raw_query) {
            let slot = match p.decoded_name().as_ref() {
                AWS_ACCESS_KEY_ID => &mut id,
                EXPIRES => &mut expires,
                SIGNATURE => &mut signature,
                _ => continue,
            };
            if slot.replace(p.decoded_value().into_owned()).is_some() {
                return Err(PresignedV2Error::Duplicate);
            }
        }
        let (Some(id), Some(expires_raw), Some(signature)) = (id, expires, signature) else {
            return Err(PresignedV2Error::Missing);
        };
        let expires_text = String::from_utf8(expires_raw).map_err(|_| PresignedV2Error::Expires)?;
        let digits = expires_text.as_bytes();
        if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(PresignedV2Error::Expires);
        }
        let expires = expires_text
            .parse()
            .map_err(|_| PresignedV2Error::Expires)?;
        // A `+` the client left unencoded reads as a space; base64 has no spaces.
        let signature: Vec<u8> = signature
            .iter()
            .map(|&b| if b == b' ' { b'+' } else { b })
            .collect();
        Ok(PresignedV2 {
            access_key_id: String::from_utf8(id).map_err(|_| PresignedV2Error::Missing)?,
            expires_text,
            expires,
            signature: SignatureV2::from_base64(&signature)
                .map_err(|_| PresignedV2Error::Signature)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D";

    #[test]
    fn parses_the_documented_example() {
        assert!(is_auth_param(b"AWSAccessKeyId") && is_auth_param(b"Signature"));
        let p = PresignedV2::parse(QUERY.as_bytes()).unwrap();
        assert_eq!(p.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            (p.expires, p.expires_text.as_str()),
            (1_175_139_620, "1175139620")
        );
        assert_eq!(p.signature.to_base64(), "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
        // An unencoded `+` arrives as a space.
        let raw = QUERY.replace("%2B", "+");
        assert_eq!(
            PresignedV2::parse(raw.as_bytes())
                .unwrap()
                .signature
                .to_base64(),
            "NpgCjnDzrM+WFzoENXmpNDUsSn8="
        );
    }

    #[test]
    fn expires_takes_up_to_twelve_digits() {
        let twelve = QUERY.replace("1175139620", "999999999999");
        let p = PresignedV2::parse(twelve.as_bytes()).unwrap();
        assert_eq!(
            (p.expires, p.expires_text.as_str()),
            (999_999_999_999, "999999999999")
        );
        // Leading zeros are digits too, and signed as sent.
        let zeros = QUERY.replace("1175139620", "001175139620");
        let p = PresignedV2::parse(zeros.as_bytes()).unwrap();
        assert_eq!(
            (p.expires, p.expires_text.as_str()),
            (1_175_139_620, "001175139620")
        );
        let thirteen = QUERY.replace("1175139620", "0001175139620");
        assert_eq!(
            PresignedV2::parse(thirteen.as_bytes()).unwrap_err(),
            PresignedV2Error::Expires
        );
    }

    #[test]
    fn refuses_bad_parameters() {
        use PresignedV2Error::*;
        for (query, want) in [
            (QUERY.replace("Expires=1175139620&", ""), Missing),
            (format!("{QUERY}&Expires=1"), Duplicate),
            (QUERY.replace("1175139620", "-1"), Expires),
            (QUERY.replace("1175139620", "1e9"), Expires),
            (QUERY.replace("1175139620", "9999999999999"), Expires),
            (QUERY.replace("%3D", ""), Signature),
        ] {
            assert_eq!(
                PresignedV2::parse(query.as_bytes()).unwrap_err(),
                want,
                "{query}"
            );
        }
        assert!(!is_auth_param(b"Expires") && !is_auth_param(b"signature"));
    }
}
