//! The request's `Content-Type`: whether it is `multipart/form-data`, and its boundary
//! (RFC 7578 §4.1, RFC 2046 §5.1.1).

use super::header_params::{self, NameCase};
use crate::bytes::unicode_lookalikes_as_ascii;
use std::fmt;

/// A multipart boundary: 1 to 70 of RFC 2046's `bchars`, not ending with a space. It can
/// never hold CR or LF, so the delimiter `CRLF--boundary` has its only CR in first place.
#[derive(Clone, PartialEq, Eq)]
pub struct Boundary(Vec<u8>);

/// What the `Content-Type` of a request says about its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// Not `multipart/form-data`.
    Other,
    FormData(Boundary),
    /// `multipart/form-data` without a usable boundary; the reason is for the log line.
    Malformed(&'static str),
}

impl Boundary {
    pub fn new(value: &[u8]) -> Result<Self, &'static str> {
        let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(b);
        if value.is_empty() || value.len() > 70 {
            return Err("the boundary must have 1 to 70 characters");
        }
        if !value.iter().all(allowed) || value.ends_with(b" ") {
            return Err("the boundary holds a character RFC 2046 does not allow");
        }
        Ok(Boundary(value.to_vec()))
    }

    /// `--boundary`: opens the body, and each part after a CRLF.
    pub fn dash_boundary(&self) -> Vec<u8> {
        let mut dash = Vec::with_capacity(2 + self.0.len());
        dash.extend_from_slice(b"--");
        dash.extend_from_slice(&self.0);
        dash
    }

    /// `CRLF--boundary`: what ends a part's content.
    pub fn delimiter(&self) -> Vec<u8> {
        let mut delimiter = Vec::with_capacity(4 + self.0.len());
        delimiter.extend_from_slice(b"\r\n--");
        delimiter.extend_from_slice(&self.0);
        delimiter
    }
}

impl fmt::Debug for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Boundary({})", String::from_utf8_lossy(&self.0))
    }
}

/// Reads a `Content-Type` value. The media type is case-insensitive, the boundary is not.
///
/// A value that names `multipart/form-data` anywhere is a form, well-formed or not: MinIO
/// routed a POST as a form on that substring alone before it read the type with Go's
/// `mime.ParseMediaType`, which trims white space the filter would not (U+00A0, `\v`) and
/// lower-cases by Unicode's rules, so `multİpart/form-data` (U+0130) is a form there too (RT97,
/// 2026-12-05), as are its spellings with the other characters a server's Unicode case rules
/// may read as ASCII letters (a margin). A form the filter took for something else would reach
/// the origin without any of the form's checks.
pub fn media_type(content_type: &[u8]) -> MediaType {
    const FORM_DATA: &[u8] = b"multipart/form-data";
    let names_a_form =
        contains_ignore_ascii_case(&unicode_lookalikes_as_ascii(content_type), FORM_DATA);
    if !names_a_form {
        return MediaType::Other;
    }
    let parsed = match header_params::parse(content_type, &["boundary", "charset"], NameCase::Any) {
        Ok(parsed) => parsed,
        Err(why) => return MediaType::Malformed(why),
    };
    if !parsed.value.eq_ignore_ascii_case(FORM_DATA) {
        return MediaType::Malformed("the Content-Type names multipart/form-data but is not it");
    }
    match parsed.get("boundary") {
        None => MediaType::Malformed("multipart/form-data without a boundary"),
        Some(value) => match Boundary::new(value) {
            Ok(boundary) => MediaType::FormData(boundary),
            Err(why) => MediaType::Malformed(why),
        },
    }
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary(content_type: &str) -> MediaType {
        media_type(content_type.as_bytes())
    }

    #[test]
    fn a_type_go_lower_cases_to_a_form_is_one() {
        // Also as servers that upper-case or fold case read it (`ı`, U+0131: `I`).
        for content_type in [
            "multİpart/form-data; boundary=x",
            "MULTİPART/FORM-DATA",
            "multıpart/form-data",
        ] {
            assert!(
                matches!(boundary(content_type), MediaType::Malformed(_)),
                "{content_type}"
            );
        }
        for content_type in ["text/plain; charset=é", "application/xml; İ", "\u{212a}"] {
            assert!(
                matches!(boundary(content_type), MediaType::Other),
                "{content_type}"
            );
        }
    }

    fn form(b: &str) -> MediaType {
        MediaType::FormData(Boundary::new(b.as_bytes()).unwrap())
    }

    #[test]
    fn reads_the_boundaries_clients_send() {
        // requests / urllib3: 32 hex digits, unquoted.
        assert_eq!(
            boundary("multipart/form-data; boundary=0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
            form("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
        );
        // Chrome and Safari.
        assert_eq!(
            boundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            form("----WebKitFormBoundary7MA4YWxkTrZu0gW")
        );
        // Quoted, with characters a token cannot hold, any case of the type.
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c=d?\""),
            form("a b:c=d?")
        );
        assert_eq!(
            Boundary::new(b"9431149156168").unwrap().delimiter(),
            b"\r\n--9431149156168"
        );
    }

    #[test]
    fn other_types_are_not_forms_and_bad_boundaries_are_malformed() {
        for other in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
            "multipart/mixed; boundary=x",
        ] {
            assert_eq!(boundary(other), MediaType::Other, "{other}");
        }
        for bad in [
            "multipart/form-data",
            "multipart/form-data; charset=utf-8",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"\"",
            "multipart/form-data; boundary=\"ends with space \"",
            "multipart/form-data; boundary=a\"b",
            "multipart/form-data; boundary=\"a;b\"x",
            "multipart/form-data; boundary=a; boundary=b",
            "multipart/form-data; boundary=\"semi;colon\"",
            "multipart/form-data; boundary=\"star*\"",
            // Named, but not exactly it: the origin may still take it for a form.
            "\u{a0}multipart/form-data; boundary=x",
            "\u{b}multipart/form-data; boundary=x",
            "text/plain; multipart/form-data; boundary=x",
            "multipart/form-data-x; boundary=x",
        ] {
            assert!(matches!(boundary(bad), MediaType::Malformed(_)), "{bad}");
        }
        let long = format!("multipart/form-data; boundary={}", "x".repeat(71));
        assert!(matches!(boundary(&long), MediaType::Malformed(_)));
        let max = format!("multipart/form-data; boundary={}", "x".repeat(70));
        assert!(matches!(boundary(&max), MediaType::FormData(_)));
    }
}
