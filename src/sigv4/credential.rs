//! The credential: `<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request`, as carried by
//! `Credential=` in the Authorization header and by the `X-Amz-Credential` query parameter.

use super::uri::encode_query_component;
use crate::bytes::split;
use std::fmt;

const TERMINATOR: &str = "aws4_request";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential<'a> {
    pub access_key_id: &'a str,
    pub scope: Scope<'a>,
}

/// The credential scope: what a signing key is derived for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `YYYYMMDD`, which must equal the request date's.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// Not five `/`-separated non-empty parts.
    Malformed,
    /// The date part is not eight digits.
    BadDate,
    /// The last part is not `aws4_request`.
    BadTerminator,
    /// The region holds something no region name has (it reaches the debug detail's string
    /// to sign, where a line break or a bidi control once forged a log line).
    BadRegion,
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialError::Malformed => {
                "the credential must be <key id>/<YYYYMMDD>/<region>/<service>/aws4_request"
            }
            CredentialError::BadDate => "the credential date must be YYYYMMDD",
            CredentialError::BadTerminator => "the credential must end with aws4_request",
            CredentialError::BadRegion => {
                "the credential's region must be printable ASCII without '/', ',' or '='"
            }
        })
    }
}

/// What may name a region: printable ASCII but the separators of a credential and of an
/// `Authorization` header's parameters. SigV4 sets no rule, and origins take free text (Garage,
/// Ceph's zonegroups, `dc1:zone`); nothing that could split a log line or a header.
pub fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/,=".contains(&b))
}

impl<'a> Credential<'a> {
    pub fn parse(s: &'a str) -> Result<Self, CredentialError> {
        let mut parts = split(s, b'/');
        let mut next = || parts.next().filter(|p| !p.is_empty());
        let (Some(access_key_id), Some(date), Some(region), Some(service), Some(terminator)) =
            (next(), next(), next(), next(), next())
        else {
            return Err(CredentialError::Malformed);
        };
        if parts.next().is_some() {
            return Err(CredentialError::Malformed);
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CredentialError::BadDate);
        }
        if terminator != TERMINATOR {
            return Err(CredentialError::BadTerminator);
        }
        if !is_region_name(region) {
            return Err(CredentialError::BadRegion);
        }
        Ok(Credential {
            access_key_id,
            scope: Scope {
                date,
                region,
                service,
            },
        })
    }
}

/// `<key id>/<scope>`.
impl Credential<'_> {
    /// `<key id>/<scope>`, as `Display` writes it, without formatting machinery.
    pub fn text(&self) -> String {
        let scope = &self.scope;
        let parts = [
            self.access_key_id,
            "/",
            scope.date,
            "/",
            scope.region,
            "/",
            scope.service,
            "/",
            TERMINATOR,
        ];
        let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        parts.iter().for_each(|p| out.push_str(p));
        out
    }
}

impl Credential<'_> {
    /// `text()` as a query value carries it, percent-encoded (`/` as `%2F`).
    pub fn encoded(&self) -> String {
        let scope = &self.scope;
        let parts = [
            self.access_key_id,
            scope.date,
            scope.region,
            scope.service,
            TERMINATOR,
        ];
        let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 3).sum());
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str("%2F");
            }
            encode_query_component(&mut out, part.as_bytes());
        }
        out
    }
}

impl fmt::Display for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.access_key_id, self.scope)
    }
}

/// `<YYYYMMDD>/<region>/<service>/aws4_request`, the third line of the string to sign.
impl fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.date, self.region, self.service, TERMINATOR
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_free_text_but_for_separators() {
        for region in [
            "us-east-1",
            "garage",
            "default",
            "US-EAST-1",
            "my_region",
            "dc1:zone",
            "a+b",
        ] {
            let credential = format!("AK/20130524/{region}/s3/aws4_request");
            assert!(Credential::parse(&credential).is_ok(), "{region}");
        }
    }

    #[test]
    fn encodes_as_a_query_value() {
        let c = Credential::parse("A K+/20130524/us-east.1/s3/aws4_request").unwrap();
        let mut text = String::new();
        encode_query_component(&mut text, c.text().as_bytes());
        assert_eq!(c.encoded(), text);
        assert_eq!(
            c.encoded(),
            "A%20K%2B%2F20130524%2Fus-east.1%2Fs3%2Faws4_request"
        );
    }

    #[test]
    fn parses_and_prints_back() {
        let s = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";
        let c = Credential::parse(s).unwrap();
        assert_eq!(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(c.scope.date, "20130524");
        assert_eq!(c.scope.region, "us-east-1");
        assert_eq!(c.scope.service, "s3");
        assert_eq!(c.to_string(), s);
        assert_eq!(c.text(), s);
    }

    #[test]
    fn rejects_every_malformed_shape() {
        use CredentialError::*;
        for (input, want) in [
            ("", Malformed),
            ("AK/20130524/us-east-1/s3", Malformed),
            ("AK/20130524/us-east-1/s3/aws4_request/x", Malformed),
            ("AK//us-east-1/s3/aws4_request", Malformed),
            ("/20130524/us-east-1/s3/aws4_request", Malformed),
            ("AK/2013052/us-east-1/s3/aws4_request", BadDate),
            ("AK/2013052x/us-east-1/s3/aws4_request", BadDate),
            ("AK/20130524/us-east-1/s3/aws5_request", BadTerminator),
            // A region that could split or forge the debug line it reaches (a review).
            ("AK/20130524/us-east-1\nFORGED/s3/aws4_request", BadRegion),
            ("AK/20130524/us\u{2028}east/s3/aws4_request", BadRegion),
            ("AK/20130524/us east/s3/aws4_request", BadRegion),
            ("AK/20130524/a,b/s3/aws4_request", BadRegion),
            ("AK/20130524/r\u{e9}gion/s3/aws4_request", BadRegion),
        ] {
            assert_eq!(Credential::parse(input), Err(want), "{input}");
        }
    }
}
