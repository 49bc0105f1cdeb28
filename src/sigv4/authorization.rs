//! The `Authorization` header of header-signed requests:
//! `AWS4-HMAC-SHA256 Credential=<credential>, SignedHeaders=<a;b>, Signature=<64 hex>`.

use super::credential::{Credential, CredentialError};
use super::signature::Signature;
use super::signed_headers::{SignedHeaders, SignedHeadersError};
use super::signing::ALGORITHM;
use crate::bytes::{split, split_once};
use std::fmt;

#[derive(Debug)]
pub struct AuthorizationV4<'a> {
    pub credential: Credential<'a>,
    pub signed_headers: SignedHeaders<'a>,
    pub signature: Signature,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationError {
    NotV4,
    /// A component is not `Name=value`, is unknown, or repeats.
    BadComponent,
    Missing(&'static str),
    Credential(CredentialError),
    SignedHeaders(SignedHeadersError),
    Signature,
}

impl fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorizationError::NotV4 => write!(f, "the header does not start with {ALGORITHM}"),
            AuthorizationError::BadComponent => {
                f.write_str("expected Credential=…, SignedHeaders=…, Signature=…")
            }
            AuthorizationError::Missing(what) => write!(f, "the {what} component is missing"),
            AuthorizationError::Credential(e) => e.fmt(f),
            AuthorizationError::SignedHeaders(e) => e.fmt(f),
            AuthorizationError::Signature => {
                f.write_str("the signature must be 64 lower-case hex digits")
            }
        }
    }
}

/// `text` without the spaces around it (`trim_matches(' ')`, byte-wise).
fn trim_spaces(text: &str) -> &str {
    let start = text.bytes().position(|b| b != b' ').unwrap_or(text.len());
    let end = text
        .bytes()
        .rposition(|b| b != b' ')
        .map_or(start, |at| at + 1);
    // Spaces are ASCII: both ends are character boundaries.
    text.get(start..end).unwrap_or_default()
}

/// The authentication scheme: the token before the first space.
pub fn scheme(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|&b| b == b' ').unwrap_or(value.len());
    &value[..end]
}

impl<'a> AuthorizationV4<'a> {
    pub fn parse(value: &'a str) -> Result<Self, AuthorizationError> {
        let rest = value
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or(AuthorizationError::NotV4)?;
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for component in split(rest, b',') {
            let (name, value) =
                split_once(trim_spaces(component), b'=').ok_or(AuthorizationError::BadComponent)?;
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return Err(AuthorizationError::BadComponent),
            };
            if slot.replace(value).is_some() {
                return Err(AuthorizationError::BadComponent);
            }
        }
        let credential = credential.ok_or(AuthorizationError::Missing("Credential"))?;
        let signed_headers = signed_headers.ok_or(AuthorizationError::Missing("SignedHeaders"))?;
        let signature = signature.ok_or(AuthorizationError::Missing("Signature"))?;
        Ok(AuthorizationV4 {
            credential: Credential::parse(credential).map_err(AuthorizationError::Credential)?,
            signed_headers: SignedHeaders::parse(signed_headers)
                .map_err(AuthorizationError::SignedHeaders)?,
            signature: Signature::from_hex(signature.as_bytes())
                .map_err(|_| AuthorizationError::Signature)?,
        })
    }
}

/// Formats the header value the way the AWS SDKs do.
pub fn format(credential: &Credential<'_>, signed_headers: &str, signature: &Signature) -> String {
    let credential = credential.text();
    let signature = signature.hex();
    let parts = [
        ALGORITHM,
        " Credential=",
        &credential,
        ", SignedHeaders=",
        signed_headers,
        ", Signature=",
        signature.as_str(),
    ];
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| out.push_str(p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

    #[test]
    fn parses_with_or_without_spaces_and_in_any_order() {
        for value in [
            format!("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range,Signature={SIG}"),
            format!("AWS4-HMAC-SHA256  Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 Signature={SIG}, SignedHeaders=range;host, Credential=AK/20130524/us-east-1/s3/aws4_request"),
        ] {
            let a = AuthorizationV4::parse(&value).unwrap();
            assert_eq!(a.credential.access_key_id, "AK");
            assert_eq!(a.signed_headers.to_string(), "host;range");
            assert_eq!(a.signature.to_hex(), SIG);
            assert_eq!(
                format(&a.credential, &a.signed_headers.to_string(), &a.signature),
                format!("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range, Signature={SIG}")
            );
        }
    }

    #[test]
    fn trims_spaces_as_the_standard_library_does() {
        for text in ["", " ", "  ", "a", " a ", "  a b  ", "\ta ", " é ", "a  "] {
            assert_eq!(trim_spaces(text), text.trim_matches(' '), "{text:?}");
        }
    }

    #[test]
    fn refuses_malformed_headers() {
        use AuthorizationError::*;
        let cred = "Credential=AK/20130524/us-east-1/s3/aws4_request";
        for (value, want) in [
            ("AWS4-HMAC-SHA256".to_owned(), NotV4),
            (format!("AWS4-HMAC-SHA256X {cred}"), NotV4),
            (format!("AWS AK:{SIG}"), NotV4),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host"), Missing("Signature")),
            (format!("AWS4-HMAC-SHA256 {cred}, Signature={SIG}"), Missing("SignedHeaders")),
            (format!("AWS4-HMAC-SHA256 SignedHeaders=host, Signature={SIG}"), Missing("Credential")),
            (format!("AWS4-HMAC-SHA256 {cred}, {cred}, SignedHeaders=host, Signature={SIG}"), BadComponent),
            (format!("AWS4-HMAC-SHA256 {cred}, Foo=1, SignedHeaders=host, Signature={SIG}"), BadComponent),
            (format!("AWS4-HMAC-SHA256 {cred} SignedHeaders=host, Signature={SIG}"), Missing("SignedHeaders")),
            (format!("AWS4-HMAC-SHA256 Credential=AK/20130524/s3/aws4_request, SignedHeaders=host, Signature={SIG}"), Credential(CredentialError::Malformed)),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=range, Signature={SIG}"), SignedHeaders(SignedHeadersError::MissingHost)),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature=abc"), Signature),
        ] {
            assert_eq!(AuthorizationV4::parse(&value).unwrap_err(), want, "{value}");
        }
    }

    #[test]
    fn scheme_is_the_first_token() {
        assert_eq!(
            scheme(b"AWS4-HMAC-SHA256 Credential=x"),
            b"AWS4-HMAC-SHA256"
        );
        assert_eq!(scheme(b"AWS AK:sig"), b"AWS");
        assert_eq!(scheme(b"Bearer"), b"Bearer");
    }
}
