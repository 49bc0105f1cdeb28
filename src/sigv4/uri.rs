//! The percent-encoding SigV4 uses in canonical requests: every byte except the unreserved
//! set `A-Z a-z 0-9 - . _ ~` becomes `%XX` (upper-case hex); `/` is kept in paths.
//!
//! S3 signs the path encoded once and never normalised, so the canonical path is the received
//! path decoded and encoded again: `%7E`, `~` and `%7e` all canonicalise to `~`, the way S3,
//! MinIO and s3s read them.

use crate::bytes::find_byte;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;

/// Bytes SigV4 encodes in a query name or value.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `input` encoded for a query name or value.
pub fn encode_query_component(out: &mut String, input: &[u8]) {
    // Unreserved bytes only (the parts of a credential, nearly always) are themselves.
    if input.iter().all(|&b| QUERY_UNRESERVED[usize::from(b)]) {
        if let Ok(text) = std::str::from_utf8(input) {
            out.push_str(text);
            return;
        }
    }
    out.extend(percent_encoding::percent_encode(input, QUERY_COMPONENT));
}

/// The canonical URI of a raw (as received) request path: the path itself, borrowed, when it
/// is canonical already (as clients send it).
pub fn canonical_path(raw_path: &[u8]) -> Cow<'_, str> {
    if raw_path.is_empty() {
        return Cow::Borrowed("/");
    }
    if canonical_run(raw_path, &PATH_UNRESERVED) == raw_path.len() {
        // A canonical run is ASCII.
        if let Ok(path) = std::str::from_utf8(raw_path) {
            return Cow::Borrowed(path);
        }
    }
    let mut out = String::with_capacity(raw_path.len() + 8);
    canonicalize(&mut out, raw_path, Component::Path);
    Cow::Owned(out)
}

/// Appends the canonical form of a raw query name or value: decoded as S3-compatible servers
/// read it (`+` is a space) and encoded again, in one pass and without an intermediate copy.
pub fn canonicalize_query_component(out: &mut String, raw: &[u8]) {
    canonicalize(out, raw, Component::Query);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Component {
    Path,
    Query,
}

/// Decoding then encoding, fused: `%XX` (either case) is the byte it names, a `%` without two
/// hex digits after it is a literal percent sign (as `percent_decode` and lenient servers read
/// it), and every byte outside the unreserved set (and `/` in a path) comes out as `%XX`.
fn canonicalize(out: &mut String, raw: &[u8], component: Component) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unreserved = unreserved_set(component);
    let mut i = 0;
    while i < raw.len() {
        // What is canonical already (nearly everything clients send) goes in whole.
        let run = canonical_run(&raw[i..], unreserved);
        if run > 0 {
            // A canonical run is ASCII.
            out.push_str(std::str::from_utf8(&raw[i..i + run]).unwrap_or_default());
            i += run;
            continue;
        }
        let (byte, width) = decode_at(raw, i, component == Component::Query);
        i += width;
        if unreserved[usize::from(byte)] {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

pub type ByteSet = [bool; 256];

/// `A-Z a-z 0-9 - . _ ~`, and `/` too in a path.
fn unreserved_set(component: Component) -> &'static ByteSet {
    match component {
        Component::Query => &QUERY_UNRESERVED,
        Component::Path => &PATH_UNRESERVED,
    }
}

const fn unreserved(slash: bool) -> ByteSet {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        set[b] = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (slash && byte == b'/');
        b += 1;
    }
    set
}

/// Unreserved bytes of a query name or value: they stand for themselves.
pub static QUERY_UNRESERVED: ByteSet = unreserved(false);
static PATH_UNRESERVED: ByteSet = unreserved(true);

/// Whether the two digits after a `%` make an escape canonical form keeps as it is: upper-case
/// hex naming a byte outside `unreserved`.
pub fn stays_escaped(digits: Option<&[u8]>, unreserved: &ByteSet) -> bool {
    let upper_hex = |digit: u8| match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    };
    match digits {
        Some(&[high, low]) => match (upper_hex(high), upper_hex(low)) {
            (Some(high), Some(low)) => !unreserved[usize::from((high << 4) | low)],
            _ => false,
        },
        _ => false,
    }
}

/// Whether a raw query name or value is in canonical form already (canonicalising it
/// changes nothing).
pub fn is_canonical_query_component(raw: &[u8]) -> bool {
    canonical_run(raw, &QUERY_UNRESERVED) == raw.len()
}

/// What each `%` of `raw` stands for, in order: the byte it escapes, or `None` for one that
/// begins no escape (`decode_at` reads it as a literal percent sign), which ends the walk.
fn percent_escapes(raw: &[u8]) -> impl Iterator<Item = Option<u8>> + '_ {
    let mut rest = Some(raw);
    std::iter::from_fn(move || {
        let r = rest?;
        let at = find_byte(r, b'%')?;
        match decode_at(r, at, false) {
            (byte, 3) => {
                rest = Some(&r[at + 3..]);
                Some(Some(byte))
            }
            _ => {
                rest = None;
                Some(None)
            }
        }
    })
}

/// Whether a `%` in `raw` begins no escape (`decode_at` reads it as a literal percent sign).
pub fn has_stray_percent(raw: &[u8]) -> bool {
    percent_escapes(raw).any(|byte| byte.is_none())
}

/// An escape of a raw path that origins read differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscapeFault {
    /// A `%` that begins no escape (`has_stray_percent`).
    StrayPercent,
    /// `%00`: Ceph RGW fails the path before it reads the request.
    Nul,
}

/// The first escape fault of a raw path, in one pass over its `%`s.
pub fn path_escape_fault(raw: &[u8]) -> Option<EscapeFault> {
    percent_escapes(raw).find_map(|byte| match byte {
        None => Some(EscapeFault::StrayPercent),
        Some(0) => Some(EscapeFault::Nul),
        Some(_) => None,
    })
}

/// Whether `raw` holds an escaped `=` (`%3D`, either case).
pub fn holds_escaped_equals(raw: &[u8]) -> bool {
    raw.windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'3' && w[2].eq_ignore_ascii_case(&b'd'))
}

/// The length of the start of `raw` that canonicalises to itself: unreserved bytes, and
/// upper-case `%XX` escapes of bytes that stay escaped.
fn canonical_run(raw: &[u8], unreserved: &ByteSet) -> usize {
    let mut i = 0;
    while let Some(&byte) = raw.get(i) {
        if unreserved[usize::from(byte)] {
            i += 1;
        } else if byte == b'%' && stays_escaped(raw.get(i + 1..i + 3), unreserved) {
            i += 3;
        } else {
            break;
        }
    }
    i
}

/// The byte the input at `at` stands for, and how many input bytes it takes: `%XX` (either
/// case) is the byte it names, a `%` without two hex digits after it a literal percent sign,
/// and `+` a space where `plus_is_space` (a query).
pub(crate) fn decode_at(raw: &[u8], at: usize, plus_is_space: bool) -> (u8, usize) {
    match raw[at] {
        b'%' => match (
            raw.get(at + 1).and_then(hex_value),
            raw.get(at + 2).and_then(hex_value),
        ) {
            (Some(high), Some(low)) => ((high << 4) | low, 3),
            _ => (b'%', 1),
        },
        b'+' if plus_is_space => (b' ', 1),
        byte => (byte, 1),
    }
}

fn hex_value(digit: &u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Decodes a raw query name or value as `application/x-www-form-urlencoded` (`+` is a
/// space), which is how S3-compatible servers read the query before they canonicalise it.
pub fn decode_query_component(raw: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = raw.iter().position(|&b| b == b'%' || b == b'+') else {
        return Cow::Borrowed(raw);
    };
    // One pass into one buffer of the right size: decoding only shortens.
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut i = first;
    while i < raw.len() {
        let (decoded, width) = decode_at(raw, i, true);
        out.push(decoded);
        i += width;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::percent_decode;

    fn query(input: &[u8]) -> String {
        let mut s = String::new();
        encode_query_component(&mut s, input);
        s
    }

    #[test]
    fn stray_percents_and_escaped_equals_are_told() {
        for raw in [&b"%"[..], b"a%", b"%4", b"%zz", b"%%41", b"ok%20then%"] {
            assert!(has_stray_percent(raw), "{raw:?}");
        }
        for raw in [&b""[..], b"a", b"%25", b"%2f%C3%A9", b"50%2520"] {
            assert!(!has_stray_percent(raw), "{raw:?}");
        }
        assert!(holds_escaped_equals(b"acl%3D") && holds_escaped_equals(b"a%3db"));
        assert!(!holds_escaped_equals(b"a%2D3D") && !holds_escaped_equals(b"a=b"));
    }

    #[test]
    fn unreserved_bytes_pass_and_the_rest_is_upper_hex() {
        assert_eq!(query(b"AZaz09-._~"), "AZaz09-._~");
        assert_eq!(query(b"a b/c+d=e&f%"), "a%20b%2Fc%2Bd%3De%26f%25");
        assert_eq!(query("ሴ".as_bytes()), "%E1%88%B4");
    }

    #[test]
    fn canonical_path_is_decoded_then_encoded_once() {
        assert_eq!(canonical_path(b""), "/");
        assert_eq!(canonical_path(b"/test$file.text"), "/test%24file.text");
        assert_eq!(canonical_path(b"/test%24file.text"), "/test%24file.text");
        assert_eq!(canonical_path(b"/a%7eb~c%7Ed"), "/a~b~c~d");
        assert_eq!(canonical_path(b"/a%20b+c"), "/a%20b%2Bc");
        assert_eq!(canonical_path(b"/b//x/../y/."), "/b//x/../y/.");
        assert_eq!(canonical_path(b"/%E1%88%B4"), "/%E1%88%B4");
        // A stray '%' is a literal percent sign, as lenient servers read it.
        assert_eq!(canonical_path(b"/100%"), "/100%25");
        assert_eq!(canonical_path(b"/%zz"), "/%25zz");
        // Raw non-UTF-8 bytes are encoded, not rejected.
        assert_eq!(canonical_path(b"/\xff"), "/%FF");
    }

    /// The fused pass against the two steps it replaces, on every byte and escape.
    #[test]
    fn canonicalising_equals_decoding_then_encoding() {
        const PATH: &AsciiSet = &QUERY_COMPONENT.remove(b'/');
        let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for b in 0..=255u8 {
            inputs.push(format!("%{b:02X}").into_bytes());
            inputs.push(format!("%{b:02x}x").into_bytes());
        }
        for odd in [
            &b"%"[..],
            b"%4",
            b"%4g",
            b"%%41",
            b"a%",
            b"+%2B+",
            b"/a b/%2F",
        ] {
            inputs.push(odd.to_vec());
        }
        for raw in &inputs {
            let decoded = decode_query_component(raw);
            let mut expected = String::new();
            encode_query_component(&mut expected, &decoded);
            let mut got = String::new();
            canonicalize_query_component(&mut got, raw);
            assert_eq!(got, expected, "query {raw:?}");
            let path: String =
                percent_encoding::percent_encode(&percent_decode(raw).collect::<Vec<u8>>(), PATH)
                    .collect();
            let mut got = String::new();
            canonicalize(&mut got, raw, Component::Path);
            assert_eq!(got, path, "path {raw:?}");
            assert_eq!(canonical_path(raw), path.as_str(), "canonical_path {raw:?}");
            // The decoder against `percent_decode` after `+` is read as a space.
            let spaced: Vec<u8> = raw
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect();
            let reference: Vec<u8> = percent_decode(&spaced).collect();
            assert_eq!(&*decoded, reference.as_slice(), "decoded {raw:?}");
        }
    }

    #[test]
    fn a_canonical_path_is_borrowed() {
        assert!(matches!(
            canonical_path(b"/b/a%20k~"),
            Cow::Borrowed("/b/a%20k~")
        ));
        assert!(matches!(canonical_path(b"/b/a%2fk"), Cow::Owned(_)));
        assert!(matches!(canonical_path(b"/b/a k"), Cow::Owned(_)));
    }

    #[test]
    fn a_path_s_first_escape_fault_is_found() {
        use EscapeFault::{Nul, StrayPercent};
        let cases: [(&[u8], Option<EscapeFault>); 12] = [
            (b"%00", Some(Nul)),
            (b"/b/k%00", Some(Nul)),
            (b"/b%00/k", Some(Nul)),
            (b"/%25%00", Some(Nul)),
            (b"/a%2500%00", Some(Nul)),
            (b"/%00%zz", Some(Nul)),
            (b"/%%00", Some(StrayPercent)),
            (b"/b/%0", Some(StrayPercent)),
            (b"/b/k", None),
            (b"/b/%2500", None),
            (b"/b/%0a0", None),
            (b"/b/00%20", None),
        ];
        for (raw, fault) in cases {
            assert_eq!(path_escape_fault(raw), fault, "{raw:?}");
            assert_eq!(
                has_stray_percent(raw),
                fault == Some(StrayPercent) || raw == b"/%00%zz",
                "{raw:?}"
            );
        }
    }

    /// A query component is canonical exactly when canonicalising it changes nothing (the
    /// gateway's screen lets no other parameter name through).
    #[test]
    fn canonical_query_components_are_told() {
        for raw in [
            &b""[..],
            b"X-Amz-Signature",
            b"a%2F",
            b"%E1%88%B4",
            b"-._~09",
        ] {
            assert!(is_canonical_query_component(raw), "{raw:?}");
        }
        for raw in [
            &b"%58-Amz-Signature"[..],
            b"a%2f",
            b"a b",
            b"a+b",
            b"acl=",
            b"%",
            b"%7E",
            b"x%2",
            "é".as_bytes(),
        ] {
            assert!(!is_canonical_query_component(raw), "{raw:?}");
        }
        // The same verdict as canonicalising, on every byte and escape.
        for b in 0..=255u8 {
            for raw in [
                vec![b],
                format!("%{b:02X}").into_bytes(),
                format!("%{b:02x}").into_bytes(),
            ] {
                let mut canonical = String::new();
                canonicalize_query_component(&mut canonical, &raw);
                assert_eq!(
                    is_canonical_query_component(&raw),
                    canonical.as_bytes() == raw.as_slice(),
                    "{raw:?}"
                );
            }
        }
    }

    #[test]
    fn query_components_read_plus_as_space() {
        assert_eq!(&*decode_query_component(b"a+b%2Bc"), b"a b+c");
        assert_eq!(&*decode_query_component(b"%E1%88%B4"), "ሴ".as_bytes());
    }
}
