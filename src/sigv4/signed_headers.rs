//! The signed-header list (`SignedHeaders=` / `X-Amz-SignedHeaders`): which headers the
//! client's signature covers. The proxy signs for the origin over exactly this set.

use crate::bytes::split;
use std::borrow::Cow;
use std::fmt;

/// The HTTP/2 spelling of `host`: SigV4 over HTTP/2 signs the `:authority` pseudo-header in
/// its place (the AWS SDK for JavaScript v3 with `NodeHttp2Handler` does). Its value is the
/// request's authority, as `host`'s is.
pub const AUTHORITY: &str = ":authority";

/// Lower-case, sorted, distinct header names; `host` (or `:authority`) always among them.
#[derive(Clone, Debug)]
pub struct SignedHeaders<'a> {
    names: Vec<&'a str>,
    /// The list as received, when it came sorted (as clients send it): then it is the
    /// canonical text too.
    sorted_text: Option<&'a str>,
    /// The name the authority is signed under (`host_name`), found while parsing.
    host_name: &'static str,
}

/// The same names make the same list, however they were sent.
impl PartialEq for SignedHeaders<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names
    }
}

impl Eq for SignedHeaders<'_> {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedHeadersError {
    Empty,
    /// A name that is empty, not lower case, or not an HTTP token.
    BadName,
    Duplicate,
    /// SigV4 requires the host to be signed; without it the re-signed request would not be
    /// bound to the origin either.
    MissingHost,
}

impl fmt::Display for SignedHeadersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignedHeadersError::Empty => "the signed headers are empty",
            SignedHeadersError::BadName => "a signed header name is not a lower-case token",
            SignedHeadersError::Duplicate => "a signed header is listed twice",
            SignedHeadersError::MissingHost => "the signed headers must include host",
        })
    }
}

/// The bytes of a lower-case HTTP token (RFC 9110's `tchar`, no upper case).
static LOWER_TOKEN: [bool; 256] = {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        set[b] = byte.is_ascii_lowercase()
            || byte.is_ascii_digit()
            || matches!(
                byte,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    set
};

impl<'a> SignedHeaders<'a> {
    /// Parses a `;`-separated list. Order is not enforced (servers sort it too); duplicates
    /// are refused.
    pub fn parse(s: &'a str) -> Result<Self, SignedHeadersError> {
        if s.is_empty() {
            return Err(SignedHeadersError::Empty);
        }
        let mut names: Vec<&str> = Vec::with_capacity(8);
        // One pass checks each name and whether the list ascends strictly, as clients send
        // it: sorted, with no name twice.
        let mut ascending = true;
        for name in split(s, b';') {
            let token = name == AUTHORITY
                || (!name.is_empty() && name.bytes().all(|b| LOWER_TOKEN[usize::from(b)]));
            if !token {
                return Err(SignedHeadersError::BadName);
            }
            if let Some(last) = names.last() {
                ascending &= *last < name;
            }
            names.push(name);
        }
        let sorted_text = ascending.then_some(s);
        if !ascending {
            crate::sort::sort(&mut names);
            if names.windows(2).any(|w| w[0] == w[1]) {
                return Err(SignedHeadersError::Duplicate);
            }
        }
        // One name for the authority: both would be the same value signed twice under two
        // names, which no client sends.
        let host_name = match (
            names.binary_search(&"host"),
            names.binary_search(&AUTHORITY).is_ok(),
        ) {
            (Err(_), false) => return Err(SignedHeadersError::MissingHost),
            (Ok(_), true) => return Err(SignedHeadersError::Duplicate),
            (Ok(_), false) => "host",
            (Err(_), true) => AUTHORITY,
        };
        Ok(SignedHeaders {
            names,
            sorted_text,
            host_name,
        })
    }

    /// `a;b;c`, as the canonical request and the Authorization header carry it.
    pub fn text(&self) -> Cow<'a, str> {
        if let Some(text) = self.sorted_text {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(self.names.iter().map(|n| n.len() + 1).sum());
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(name);
        }
        Cow::Owned(out)
    }

    pub fn names(&self) -> &[&'a str] {
        &self.names
    }

    /// The name the authority is signed under: `host`, or `:authority` (HTTP/2).
    pub fn host_name(&self) -> &'static str {
        self.host_name
    }
}

impl fmt::Display for SignedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bytes_are_lower_case_tchar() {
        for b in 0..=255u8 {
            let tchar =
                b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(LOWER_TOKEN[usize::from(b)], tchar, "{b}");
        }
    }

    #[test]
    fn sorts_and_prints() {
        let s = SignedHeaders::parse("x-amz-date;host;content-type").unwrap();
        assert_eq!(s.names(), ["content-type", "host", "x-amz-date"]);
        assert_eq!(s.to_string(), "content-type;host;x-amz-date");
        let sent_sorted = SignedHeaders::parse("content-type;host;x-amz-date").unwrap();
        // Equal lists, however sent; only the one sent sorted is its own text.
        assert_eq!(sent_sorted, s);
        assert_ne!(s, SignedHeaders::parse("content-type;host").unwrap());
        assert_eq!(
            sent_sorted.sorted_text,
            Some("content-type;host;x-amz-date")
        );
        assert_eq!(s.sorted_text, None);
        assert!(matches!(
            sent_sorted.text(),
            Cow::Borrowed("content-type;host;x-amz-date")
        ));
    }

    #[test]
    fn takes_the_authority_spelt_for_http2() {
        let s = SignedHeaders::parse(":authority;content-length;x-amz-date").unwrap();
        assert_eq!(s.host_name(), AUTHORITY);
        assert_eq!(s.to_string(), ":authority;content-length;x-amz-date");
        assert_eq!(SignedHeaders::parse("host").unwrap().host_name(), "host");
        // Not always first: names of digits and `-` sort before `:`.
        let s = SignedHeaders::parse("0;:authority;x-amz-date").unwrap();
        assert_eq!(s.host_name(), AUTHORITY);
    }

    #[test]
    fn refuses_bad_lists() {
        use SignedHeadersError::*;
        for (input, want) in [
            ("", Empty),
            ("host;", BadName),
            ("Host", BadName),
            ("host;x y", BadName),
            ("host;a;a", Duplicate),
            // Sent sorted, the list skips the sort: its ascent must be strict, or a name sent
            // twice in order would be signed once and checked twice (cargo-mutants: `<` as
            // `<=` went unnoticed).
            ("a;a;host", Duplicate),
            ("host;host", Duplicate),
            ("x-amz-date", MissingHost),
            (":path;x-amz-date", BadName),
            (":authority;host;x-amz-date", Duplicate),
            // Names of digits and `-` sort before `:`.
            ("-a;0;:authority;host", Duplicate),
        ] {
            assert_eq!(SignedHeaders::parse(input), Err(want), "{input}");
        }
    }
}
