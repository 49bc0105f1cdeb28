//! The percent-encoding SigV4 uses in canonical requests: every byte except the unreserved
//! set `A-Z a-z 0-9 - . _ ~` becomes `%XX` (upper-case hex); `/` is kept in paths.
//!
//! S3 signs the path encoded once and never normalised, so the canonical path is the received
//! path decoded and encoded again: `%7E`, `~` and `%7e` all canonicalise to `~`, the way S3,
//! MinIO and s3s read them.

use percent_encoding::{percent_decode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;

/// Bytes SigV4 encodes in a query name or value.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Bytes SigV4 encodes in a path: the same, keeping `/` as the segment separator.
const PATH: &AsciiSet = &QUERY_COMPONENT.remove(b'/');

/// Appends `input` encoded for a query name or value.
pub fn encode_query_component(out: &mut String, input: &[u8]) {
    out.extend(percent_encoding::percent_encode(input, QUERY_COMPONENT));
}

/// The canonical URI of a raw (as received) request path.
pub fn canonical_path(raw_path: &[u8]) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    let decoded: Cow<[u8]> = percent_decode(raw_path).into();
    percent_encoding::percent_encode(&decoded, PATH).collect()
}

/// Decodes a raw query name or value as `application/x-www-form-urlencoded` (`+` is a
/// space), which is how S3-compatible servers read the query before they canonicalise it.
pub fn decode_query_component(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.contains(&b'+') {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        Cow::Owned(percent_decode(&spaced).collect())
    } else {
        percent_decode(raw).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(input: &[u8]) -> String {
        let mut s = String::new();
        encode_query_component(&mut s, input);
        s
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

    #[test]
    fn query_components_read_plus_as_space() {
        assert_eq!(&*decode_query_component(b"a+b%2Bc"), b"a b+c");
        assert_eq!(&*decode_query_component(b"%E1%88%B4"), "ሴ".as_bytes());
    }
}
