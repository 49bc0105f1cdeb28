//! Query-string authentication (presigned URLs): the `X-Amz-*` parameters.

use super::amz_date::AmzDate;
use super::credential::{Credential, CredentialError};
use super::query;
use super::signature::Signature;
use super::signed_headers::{SignedHeaders, SignedHeadersError};
use std::borrow::Cow;
use std::fmt;

pub const X_AMZ_ALGORITHM: &[u8] = b"X-Amz-Algorithm";
pub const X_AMZ_CREDENTIAL: &[u8] = b"X-Amz-Credential";
pub const X_AMZ_DATE: &[u8] = b"X-Amz-Date";
pub const X_AMZ_EXPIRES: &[u8] = b"X-Amz-Expires";
pub const X_AMZ_SIGNED_HEADERS: &[u8] = b"X-Amz-SignedHeaders";
pub const X_AMZ_SIGNATURE: &[u8] = b"X-Amz-Signature";

/// The longest validity S3 grants a presigned URL: seven days.
pub const MAX_EXPIRES_SECONDS: u32 = 604_800;

/// The authentication parameters of a query, decoded (borrowed from it when they need no
/// decoding); present or not. Bytes until `parse`: only the credential and the signed-header
/// list are read as text.
#[derive(Default, Debug)]
pub struct PresignedParams<'q> {
    pub algorithm: Option<Cow<'q, [u8]>>,
    credential: Option<Cow<'q, [u8]>>,
    date: Option<Cow<'q, [u8]>>,
    expires: Option<Cow<'q, [u8]>>,
    signed_headers: Option<Cow<'q, [u8]>>,
    signature: Option<Cow<'q, [u8]>>,
    /// A parameter appeared twice: which copy was signed would be ambiguous.
    duplicate: bool,
    /// A SigV2 authentication parameter is there (`sigv2::presigned::is_auth_param`).
    pub sigv2: bool,
    /// The first parameter named like an authentication parameter in another case
    /// (`x-amz-expires`), as the name it imitates.
    pub spelt_otherwise: Option<&'static [u8]>,
}

/// The parameters an origin authenticates a URL by, as S3 spells them. An origin that compared
/// names in any case would read a second copy in another spelling: a window or a key the filter
/// never checked, signed along with the rest.
const AUTH_NAMES: [&[u8]; 8] = [
    X_AMZ_ALGORITHM,
    X_AMZ_CREDENTIAL,
    X_AMZ_DATE,
    X_AMZ_EXPIRES,
    X_AMZ_SIGNED_HEADERS,
    X_AMZ_SIGNATURE,
    crate::sigv2::presigned::AWS_ACCESS_KEY_ID,
    crate::sigv2::presigned::SIGNATURE,
];

/// The authentication parameter `name` spells otherwise, if any: in another case, or as an
/// origin reads it (`query::as_origins_read`: Ceph takes `X-Amz-Expires%3D604800` for an
/// `X-Amz-Expires` of 604800, a final-build red team found). Never the exact name, which the
/// caller matched before.
fn imitated_auth_name(param: &query::RawParam<'_>) -> Option<&'static [u8]> {
    // Most names are short sub-resources (`uploadId`, `versionId`): one length test each
    // (decoding only shortens a name). A canonical name was compared as sent above; an origin
    // may decode its escapes (`%3D`) before it reads it.
    if param.name.len() < 9 {
        return None;
    }
    let name = param.decoded_name();
    let read = query::as_origins_read(&name);
    AUTH_NAMES
        .into_iter()
        .find(|auth| auth.eq_ignore_ascii_case(read) && *auth != &*name)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresignedError {
    Duplicate,
    Missing,
    Credential(CredentialError),
    Date,
    Expires,
    ExpiresTooLong,
    SignedHeaders(SignedHeadersError),
    Signature,
}

impl fmt::Display for PresignedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresignedError::Duplicate => f.write_str("an X-Amz-* authentication parameter is repeated"),
            PresignedError::Missing => f.write_str(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            ),
            PresignedError::Credential(e) => write!(f, "Error parsing the X-Amz-Credential parameter: {e}"),
            PresignedError::Date => f.write_str("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""),
            PresignedError::Expires => f.write_str("X-Amz-Expires should be a number"),
            PresignedError::ExpiresTooLong => f.write_str("X-Amz-Expires must be less than a week (in seconds) that is 604800"),
            PresignedError::SignedHeaders(e) => write!(f, "X-Amz-SignedHeaders: {e}"),
            PresignedError::Signature => f.write_str("X-Amz-Signature must be 64 lower-case hex digits"),
        }
    }
}

impl<'q> PresignedParams<'q> {
    pub fn extract(raw_query: &'q [u8]) -> Self {
        Self::of(query::params(raw_query))
    }

    /// `extract` from a query split already (`Request::params`).
    pub fn of(query: impl IntoIterator<Item = query::RawParam<'q>>) -> Self {
        let mut params = PresignedParams::default();
        for p in query {
            // Every name matched here is of unreserved bytes.
            let name = p.plain_name();
            let slot = match &*name {
                X_AMZ_ALGORITHM => &mut params.algorithm,
                X_AMZ_CREDENTIAL => &mut params.credential,
                X_AMZ_DATE => &mut params.date,
                X_AMZ_EXPIRES => &mut params.expires,
                X_AMZ_SIGNED_HEADERS => &mut params.signed_headers,
                X_AMZ_SIGNATURE => &mut params.signature,
                other => {
                    let v2 = crate::sigv2::presigned::is_auth_param(other);
                    params.sigv2 |= v2;
                    if !v2 && params.spelt_otherwise.is_none() {
                        params.spelt_otherwise = imitated_auth_name(&p);
                    }
                    continue;
                }
            };
            if slot.replace(p.decoded_value()).is_some() {
                params.duplicate = true;
            }
        }
        params
    }

    /// Whether the query attempts presigned-URL authentication at all.
    pub fn present(&self) -> bool {
        self.algorithm.is_some() || self.credential.is_some() || self.signature.is_some()
    }

    pub fn parse(&self) -> Result<PresignedV4<'_>, PresignedError> {
        if self.duplicate {
            return Err(PresignedError::Duplicate);
        }
        let (Some(credential), Some(date), Some(expires), Some(signed_headers), Some(signature)) = (
            &self.credential,
            &self.date,
            &self.expires,
            &self.signed_headers,
            &self.signature,
        ) else {
            return Err(PresignedError::Missing);
        };
        let expires = parse_expires(expires)?;
        // A value that is not UTF-8 can only be malformed; it is read as such.
        fn text(bytes: &[u8]) -> &str {
            std::str::from_utf8(bytes).unwrap_or("\u{FFFD}")
        }
        let signed_headers =
            SignedHeaders::parse(text(signed_headers)).map_err(PresignedError::SignedHeaders)?;
        // A URL is re-signed in place, its list kept for the origin, which reads `host` over
        // HTTP/1.1: `:authority` (HTTP/2 header signing only) is no name for a URL.
        if signed_headers.host_name() != "host" {
            return Err(PresignedError::SignedHeaders(SignedHeadersError::BadName));
        }
        Ok(PresignedV4 {
            credential: Credential::parse(text(credential)).map_err(PresignedError::Credential)?,
            date: AmzDate::parse(date).map_err(|_| PresignedError::Date)?,
            expires,
            signed_headers,
            signature: Signature::from_hex(signature).map_err(|_| PresignedError::Signature)?,
        })
    }
}

/// Digits only, no sign and no leading zero (but "0" itself): the spellings AWS accepts. 0 is
/// a URL that has expired already; verification says so.
fn parse_expires(digits: &[u8]) -> Result<u32, PresignedError> {
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1);
    if !canonical {
        return Err(PresignedError::Expires);
    }
    // Digits only: past ten of them it is too long whatever they say.
    let value = digits.iter().try_fold(0u32, |n, &d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    });
    match value {
        Some(n) if n <= MAX_EXPIRES_SECONDS => Ok(n),
        _ => Err(PresignedError::ExpiresTooLong),
    }
}

#[derive(Debug)]
pub struct PresignedV4<'a> {
    pub credential: Credential<'a>,
    pub date: AmzDate,
    pub expires: u32,
    pub signed_headers: SignedHeaders<'a>,
    pub signature: Signature,
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    #[test]
    fn parses_the_documented_example() {
        let params = PresignedParams::extract(QUERY.as_bytes());
        assert!(params.present());
        assert_eq!(params.algorithm.as_deref(), Some(&b"AWS4-HMAC-SHA256"[..]));
        let p = params.parse().unwrap();
        assert_eq!(p.credential.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(p.date.to_string(), "20130524T000000Z");
        assert_eq!(p.expires, 86_400);
        assert_eq!(p.signed_headers.to_string(), "host");
        let zero_query = QUERY.replace("=86400", "=0");
        let zero = PresignedParams::extract(zero_query.as_bytes());
        assert_eq!(zero.parse().unwrap().expires, 0);
    }

    #[test]
    fn refuses_bad_parameters() {
        use PresignedError::*;
        let with = |from: &str, to: &str| QUERY.replace(from, to);
        for (query, want) in [
            (with("X-Amz-Expires=86400", "X-Amz-Expires=-1"), Expires),
            (with("X-Amz-Expires=86400", "X-Amz-Expires=%2B5"), Expires),
            (with("X-Amz-Expires=86400", "X-Amz-Expires=05"), Expires),
            (with("X-Amz-Expires=86400", "X-Amz-Expires=00"), Expires),
            (with("X-Amz-Expires=86400", "X-Amz-Expires="), Expires),
            (with("X-Amz-Expires=86400", "X-Amz-Expires=1.5"), Expires),
            (
                with("X-Amz-Expires=86400", "X-Amz-Expires=99999999999"),
                ExpiresTooLong,
            ),
            (
                with("X-Amz-Expires=86400", "X-Amz-Expires=604801"),
                ExpiresTooLong,
            ),
            (with("X-Amz-Expires=86400&", ""), Missing),
            (
                with("X-Amz-Date=20130524T000000Z", "X-Amz-Date=2013-05-24"),
                Date,
            ),
            (
                with("%2Fs3%2F", "%2Fs3"),
                Credential(CredentialError::Malformed),
            ),
            (
                with("SignedHeaders=host", "SignedHeaders=range"),
                SignedHeaders(SignedHeadersError::MissingHost),
            ),
            // HTTP/2's name for the host signs headers, never a URL re-signed in place.
            (
                with("SignedHeaders=host", "SignedHeaders=%3Aauthority"),
                SignedHeaders(SignedHeadersError::BadName),
            ),
            (with("Signature=aeee", "Signature=zeee"), Signature),
            (with("Signature=aeee", "Signature=AEEE"), Signature),
            (format!("{QUERY}&X-Amz-Date=20130524T000000Z"), Duplicate),
        ] {
            let params = PresignedParams::extract(query.as_bytes());
            assert_eq!(params.parse().unwrap_err(), want, "{query}");
        }
        assert!(!PresignedParams::extract(b"X-Amz-Date=1&prefix=a").present());
        // Any one of them is an attempt, refused as incomplete: never read as an anonymous
        // request that carries a signature on to the origin (cargo-mutants: `||` as `&&`).
        for one in [
            &b"X-Amz-Algorithm=AWS4-HMAC-SHA256"[..],
            b"X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request",
            b"X-Amz-Signature=aeee",
        ] {
            let params = PresignedParams::extract(one);
            assert!(params.present(), "{}", String::from_utf8_lossy(one));
            assert_eq!(params.parse().unwrap_err(), Missing);
        }
        let v2 = PresignedParams::extract(b"AWSAccessKeyId=AK&Expires=1&Signature=s");
        assert!(v2.sigv2 && !v2.present());
        assert!(PresignedParams::extract(b"a=1&Signature=s").sigv2);
        assert!(!PresignedParams::extract(b"a=1&X-Amz-Signature=s").sigv2);
    }

    #[test]
    fn names_an_authentication_parameter_in_another_case() {
        let spelt = |query: &str| PresignedParams::extract(query.as_bytes()).spelt_otherwise;
        assert_eq!(spelt(QUERY), None);
        assert_eq!(spelt("AWSAccessKeyId=AK&Expires=1&Signature=s"), None);
        assert_eq!(spelt("uploadId=1&versionId=2&response-expires=3"), None);
        assert_eq!(
            spelt(&format!("{QUERY}&x-amz-expires=604800")),
            Some(X_AMZ_EXPIRES)
        );
        assert_eq!(spelt("X-AMZ-DATE=99991231T235959Z"), Some(X_AMZ_DATE));
        assert_eq!(spelt("a=1&%73ignature=s"), Some(&b"Signature"[..]));
        // Nine bytes, the shortest authentication name: the length fast path must not skip
        // it (cargo-mutants: `< 9` as `== 9` went unnoticed).
        assert_eq!(spelt("a=1&signature=s"), Some(&b"Signature"[..]));
        // As Ceph reads them: decoded whole, then split at the first `=`; a leading `?` skipped.
        assert_eq!(
            spelt(&format!("{QUERY}&X-Amz-Expires%3D604800")),
            Some(X_AMZ_EXPIRES)
        );
        assert_eq!(spelt("%3FX-Amz-Date=1"), Some(X_AMZ_DATE));
        assert_eq!(
            spelt("awsaccesskeyid=AK&X-Amz-signedheaders=host"),
            Some(&b"AWSAccessKeyId"[..])
        );
    }
}
