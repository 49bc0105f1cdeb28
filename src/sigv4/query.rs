//! The raw query string: split into parameters without copying, canonicalised for signing,
//! and rewritten in place (only the values the proxy must change, every other byte as sent).

use super::uri::{canonicalize_query_component, decode_query_component, encode_query_component};
use std::borrow::Cow;
use std::ops::Range;

/// One `name[=value]` segment of a raw query, still percent-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawParam<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

impl<'a> RawParam<'a> {
    pub fn decoded_name(&self) -> Cow<'a, [u8]> {
        decode_query_component(self.name)
    }

    pub fn decoded_value(&self) -> Cow<'a, [u8]> {
        decode_query_component(self.value)
    }
}

/// The non-empty `&`-separated segments of a raw query, in order.
pub fn params(raw_query: &[u8]) -> impl Iterator<Item = RawParam<'_>> {
    raw_query
        .split(|&b| b == b'&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.iter().position(|&b| b == b'=') {
            Some(eq) => RawParam {
                name: &segment[..eq],
                value: &segment[eq + 1..],
            },
            None => RawParam {
                name: segment,
                value: b"",
            },
        })
}

/// What to do with one parameter when canonicalising.
pub enum Edit<'v> {
    Keep,
    /// Leave it out (the signature never signs itself).
    Drop,
    /// Sign this decoded value instead of the received one.
    Set(&'v [u8]),
}

/// The canonical query string: each name and value decoded, SigV4-encoded, `name=value`
/// (a bare `name` gets an empty value), sorted by name then value, joined with `&`.
/// `edit` is asked about every parameter by its canonical name, which for the names that
/// matter (unreserved ASCII, like `X-Amz-Signature`) is the decoded name.
pub fn canonical_query<'v>(raw_query: &[u8], edit: impl Fn(&[u8]) -> Edit<'v>) -> String {
    if raw_query.is_empty() {
        return String::new();
    }
    // Every pair canonicalised into one buffer as `name=value&`, in arrival order.
    let mut parts = String::with_capacity(raw_query.len() + 32);
    let mut pairs: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(16);
    for p in params(raw_query) {
        let start = parts.len();
        canonicalize_query_component(&mut parts, p.name);
        let name_end = parts.len();
        parts.push('=');
        match edit(&parts.as_bytes()[start..name_end]) {
            Edit::Drop => {
                parts.truncate(start);
                continue;
            }
            Edit::Keep => canonicalize_query_component(&mut parts, p.value),
            Edit::Set(value) => encode_query_component(&mut parts, value),
        }
        pairs.push((start..name_end, name_end + 1..parts.len()));
        parts.push('&');
    }
    parts.pop();
    let text = |range: &Range<usize>| &parts[range.clone()];
    let key = |pair: &(Range<usize>, Range<usize>)| (text(&pair.0), text(&pair.1));
    // Clients mostly send the pairs sorted already: then the buffer is the canonical query.
    if pairs.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        return parts;
    }
    pairs.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
    let mut out = String::with_capacity(parts.len());
    for (i, pair) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(text(&pair.0));
        out.push('=');
        out.push_str(text(&pair.1));
    }
    out
}

/// Replaces, in place, the value of `name` in a canonical query by `encoded_value`; both are
/// in canonical form already. `name` must occur once: pairs sort by name first, so the order
/// still holds and nothing is re-sorted.
pub fn set_canonical_value(canonical: &mut String, name: &[u8], encoded_value: &str) {
    let mut start = 0;
    while start <= canonical.len() {
        let end = canonical[start..]
            .bytes()
            .position(|b| b == b'&')
            .map_or(canonical.len(), |len| start + len);
        let pair = &canonical.as_bytes()[start..end];
        if pair.strip_prefix(name).and_then(|rest| rest.first()) == Some(&b'=') {
            canonical.replace_range(start + name.len() + 1..end, encoded_value);
            return;
        }
        start = end + 1;
    }
}

/// Rebuilds the raw query with the values of some parameters replaced (matched on the decoded
/// name) by what `replace` gives, as it gives it; every other segment, its order and its
/// encoding are kept byte for byte.
pub fn replace_values<'v>(
    raw_query: &[u8],
    replace: impl Fn(&[u8]) -> Option<&'v [u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw_query.len() + 32);
    replace_values_into(&mut out, raw_query, replace);
    out
}

/// `replace_values`, appended to `out`.
pub fn replace_values_into<'v>(
    out: &mut Vec<u8>,
    raw_query: &[u8],
    replace: impl Fn(&[u8]) -> Option<&'v [u8]>,
) {
    for (i, segment) in raw_query.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        let replacement = params(segment)
            .next()
            .and_then(|p| replace(&p.decoded_name()).map(|value| (p.name, value)));
        match replacement {
            Some((name, value)) => {
                out.extend_from_slice(name);
                out.push(b'=');
                out.extend_from_slice(value);
            }
            None => out.extend_from_slice(segment),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_segments_keeping_raw_bytes() {
        let got: Vec<_> = params(b"a=1&&b&c=&=d&e=x=y").collect();
        let raw = |n: &'static [u8], v: &'static [u8]| RawParam { name: n, value: v };
        assert_eq!(
            got,
            vec![
                raw(b"a", b"1"),
                raw(b"b", b""),
                raw(b"c", b""),
                raw(b"", b"d"),
                raw(b"e", b"x=y"),
            ]
        );
    }

    #[test]
    fn canonical_query_sorts_encoded_pairs() {
        let keep = |_: &[u8]| Edit::Keep;
        assert_eq!(canonical_query(b"", keep), "");
        assert_eq!(canonical_query(b"lifecycle", keep), "lifecycle=");
        assert_eq!(
            canonical_query(b"prefix=J&max-keys=2", keep),
            "max-keys=2&prefix=J"
        );
        assert_eq!(
            canonical_query(b"Param-3=Value3&Param=Value2&%E1%88%B4=Value1", keep),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query(b"k=b&k=a&k=B", keep), "k=B&k=a&k=b");
        let edit = |n: &[u8]| match n {
            b"X-Amz-Signature" => Edit::Drop,
            b"c" => Edit::Set(b"A/B"),
            _ => Edit::Keep,
        };
        assert_eq!(
            canonical_query(b"p=a+b%2Bc/d&X-Amz-Signature=x&c=z", edit),
            "c=A%2FB&p=a%20b%2Bc%2Fd"
        );
    }

    #[test]
    fn set_canonical_value_equals_canonicalising_again() {
        let raw = b"b=%7e1&X-Amz-Credential=A%2Fx&a&X-Amz-Credential-Other=1&c=d";
        let first = canonical_query(raw, |_| Edit::Keep);
        let mut set = first.clone();
        set_canonical_value(&mut set, b"X-Amz-Credential", "B%2Fy%20z");
        let again = canonical_query(raw, |n| match n {
            b"X-Amz-Credential" => Edit::Set(b"B/y z"),
            _ => Edit::Keep,
        });
        assert_eq!(set, again);
        assert!(set.contains("X-Amz-Credential=B%2Fy%20z&X-Amz-Credential-Other=1"));
    }

    #[test]
    fn replace_values_touches_only_the_named_params() {
        let q = b"b=%7e1&X-Amz-Credential=A%2Fx&&c&X-Amz-Signature=00";
        let out = replace_values(q, |name| match name {
            b"X-Amz-Credential" => Some(&b"B%2Fy"[..]),
            b"X-Amz-Signature" => Some(b"ff"),
            _ => None,
        });
        assert_eq!(
            out,
            b"b=%7e1&X-Amz-Credential=B%2Fy&&c&X-Amz-Signature=ff".to_vec()
        );
    }
}
