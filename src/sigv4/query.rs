//! The raw query string: split into parameters without copying, canonicalised for signing,
//! and rewritten in place (only the values the proxy must change, every other byte as sent).

use super::uri::{
    canonicalize_query_component, decode_query_component, encode_query_component, stays_escaped,
    QUERY_UNRESERVED,
};
use crate::bytes::{find_byte, split_once_bytes};
use std::borrow::Cow;
use std::ops::Range;

/// One `name[=value]` segment of a raw query, still percent-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawParam<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// Name and value are in SigV4's canonical encoding already, as the AWS SDKs send them:
    /// canonicalising changes nothing.
    pub canonical: bool,
    /// The segment holds a `%` or a `+`: decoding may change it (otherwise it is as sent).
    pub escaped: bool,
    /// Where the segment starts and ends in the raw query.
    pub start: usize,
    pub end: usize,
}

impl<'a> RawParam<'a> {
    pub fn decoded_name(&self) -> Cow<'a, [u8]> {
        self.decode(self.name)
    }

    pub fn decoded_value(&self) -> Cow<'a, [u8]> {
        self.decode(self.value)
    }

    fn decode(&self, raw: &'a [u8]) -> Cow<'a, [u8]> {
        if self.escaped {
            decode_query_component(raw)
        } else {
            Cow::Borrowed(raw)
        }
    }

    /// The name to compare with names of unreserved bytes only (every authentication and
    /// sub-resource parameter's): decoded, except that a canonical name is compared as sent,
    /// which equals such a name exactly when its decoding does (it escapes only bytes those
    /// names never hold).
    pub fn plain_name(&self) -> Cow<'a, [u8]> {
        if self.canonical {
            Cow::Borrowed(self.name)
        } else {
            self.decoded_name()
        }
    }
}

/// A decoded parameter name as any origin may read it: Ceph RGW decodes a whole `name=value`
/// before it splits it at its first `=`, so `Action%3DX` is its `Action`, and skips a `?` that
/// opens the query (`??Action=X`); other parsers split first, and read either whole, a name
/// no check knows (a review found both spellings let by, 2026-12-01).
pub fn as_origins_read(decoded: &[u8]) -> &[u8] {
    let name = decoded.strip_prefix(b"?").unwrap_or(decoded);
    name.split(|&b| b == b'=').next().unwrap_or(name)
}

/// A raw query's parameter names, decoded, also those after a `;` (for origins whose query
/// parser splits there); compare them `as_origins_read`.
pub fn names(raw_query: &[u8]) -> impl Iterator<Item = Cow<'_, [u8]>> {
    segments(raw_query).map(|(name, _)| name)
}

/// A raw query's parameters split as `names` splits them: each name decoded, its value raw.
pub fn segments(raw_query: &[u8]) -> impl Iterator<Item = (Cow<'_, [u8]>, &[u8])> {
    raw_query.split(|&b| b == b'&' || b == b';').map(|segment| {
        let (raw_name, value) = split_once_bytes(segment, b'=').unwrap_or((segment, b""));
        (percent_encoding::percent_decode(raw_name).into(), value)
    })
}

/// The non-empty `&`-separated segments of a raw query, in order.
pub fn params(raw_query: &[u8]) -> Params<'_> {
    Params {
        raw: raw_query,
        at: 0,
    }
}

pub struct Params<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Params<'a> {
    type Item = RawParam<'a>;

    fn next(&mut self) -> Option<RawParam<'a>> {
        let raw = self.raw;
        while self.at < raw.len() {
            let start = self.at;
            // One pass over the segment finds its end and its `=` and checks its encoding.
            let (mut i, mut eq, mut canonical, mut escaped) = (start, None, true, false);
            while let Some(&byte) = raw.get(i) {
                if QUERY_UNRESERVED[usize::from(byte)] {
                    i += 1;
                    continue;
                }
                match byte {
                    b'&' => break,
                    b'=' if eq.is_none() => eq = Some(i),
                    b'%' => {
                        escaped = true;
                        if stays_escaped(raw.get(i + 1..i + 3), &QUERY_UNRESERVED) {
                            i += 2;
                        } else {
                            canonical = false;
                        }
                    }
                    b'+' => {
                        escaped = true;
                        canonical = false;
                    }
                    _ => canonical = false,
                }
                i += 1;
            }
            self.at = i + 1;
            if i == start {
                continue;
            }
            let (name, value) = match eq {
                Some(eq) => (&raw[start..eq], &raw[eq + 1..i]),
                None => (&raw[start..i], &raw[i..i]),
            };
            return Some(RawParam {
                name,
                value,
                canonical,
                escaped,
                start,
                end: i,
            });
        }
        None
    }
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
    canonical_params(raw_query, &params(raw_query).collect::<Vec<_>>(), edit).into_owned()
}

/// `canonical_query` of a query split already (`Request::params`), borrowed from `raw_query`
/// when the kept pairs arrived canonical, sorted and side by side, as the AWS SDKs send them.
pub fn canonical_params<'q, 'v>(
    raw_query: &'q [u8],
    params: &[RawParam<'q>],
    edit: impl Fn(&[u8]) -> Edit<'v>,
) -> Cow<'q, str> {
    if params.is_empty() {
        return Cow::Borrowed("");
    }
    if let Some(run) = canonical_span(params, &edit) {
        if let Ok(text) = std::str::from_utf8(&raw_query[run]) {
            return Cow::Borrowed(text);
        }
    }
    Cow::Owned(canonical_as_sent(params, &edit).unwrap_or_else(|| canonicalised(params, &edit)))
}

/// Where in the raw query the canonical query already stands, if it does: every kept pair
/// canonical, written `name=value`, in sorted order, one `&` from the next; dropped pairs
/// only before or after them.
fn canonical_span<'v>(
    params: &[RawParam<'_>],
    edit: &impl Fn(&[u8]) -> Edit<'v>,
) -> Option<Range<usize>> {
    let mut run: Option<Range<usize>> = None;
    let mut last: Option<&RawParam<'_>> = None;
    let mut ended = false;
    for p in params {
        if !p.canonical {
            return None;
        }
        match edit(p.name) {
            Edit::Keep => {}
            Edit::Drop => {
                // The adjacency check below refuses a dropped pair between kept ones too: two
                // guards on purpose, since a span holding `X-Amz-Signature` would sign itself.
                ended = run.is_some();
                continue;
            }
            Edit::Set(_) => return None,
        }
        let has_equals = p.end - p.start == p.name.len() + 1 + p.value.len();
        if ended || !has_equals {
            return None;
        }
        match (&mut run, last) {
            (Some(run), Some(prev)) => {
                let adjacent = prev.end + 1 == p.start;
                if !adjacent || (prev.name, prev.value) > (p.name, p.value) {
                    return None;
                }
                run.end = p.end;
            }
            _ => run = Some(p.start..p.end),
        }
        last = Some(p);
    }
    run
}

/// `canonical_query` of any query: each name and value decoded and encoded again, then sorted.
fn canonicalised<'v>(params: &[RawParam<'_>], edit: &impl Fn(&[u8]) -> Edit<'v>) -> String {
    let raw_len: usize = params.iter().map(|p| p.end - p.start + 1).sum();
    // Every pair canonicalised into one buffer as `name=value&`, in arrival order.
    let mut parts = String::with_capacity(raw_len + 32);
    let mut pairs: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(params.len());
    for p in params {
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
    crate::sort::sort_by(&mut pairs, |a, b| key(a).cmp(&key(b)));
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

/// The canonical query of a query whose kept pairs all arrived canonical (as the AWS SDKs
/// send them): those pairs as they came, sorted, with nothing decoded or encoded again.
/// `None` for any other query.
fn canonical_as_sent<'v>(
    params: &[RawParam<'_>],
    edit: &impl Fn(&[u8]) -> Edit<'v>,
) -> Option<String> {
    let mut pairs: Vec<(&[u8], &[u8])> = Vec::with_capacity(params.len());
    let mut len = 0;
    for p in params {
        if !p.canonical {
            return None;
        }
        match edit(p.name) {
            Edit::Keep => {
                pairs.push((p.name, p.value));
                len += p.name.len() + p.value.len() + 2;
            }
            Edit::Drop => {}
            Edit::Set(_) => return None,
        }
    }
    if !pairs.is_sorted() {
        crate::sort::sort(&mut pairs);
    }
    let mut out = Vec::with_capacity(len);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value);
    }
    // Canonical bytes are ASCII.
    String::from_utf8(out).ok()
}

/// Replaces, in place, the value of `name` in a canonical query by `encoded_value`; both are
/// in canonical form already. `name` must occur once: pairs sort by name first, so the order
/// still holds and nothing is re-sorted.
pub fn set_canonical_value(canonical: &mut String, name: &[u8], encoded_value: &str) {
    if let Some(value) = canonical_value_range(canonical, name) {
        canonical.replace_range(value, encoded_value);
    }
}

/// Where the value of `name` stands in a canonical query (its first occurrence).
pub fn canonical_value_range(canonical: &str, name: &[u8]) -> Option<Range<usize>> {
    let mut start = 0;
    while start <= canonical.len() {
        let end = find_byte(&canonical.as_bytes()[start..], b'&')
            .map_or(canonical.len(), |len| start + len);
        let pair = &canonical.as_bytes()[start..end];
        if pair.strip_prefix(name).and_then(|rest| rest.first()) == Some(&b'=') {
            return Some(start + name.len() + 1..end);
        }
        start = end + 1;
    }
    None
}

/// Rebuilds the raw query with the values of some parameters replaced (matched on the decoded
/// name) by what `replace` gives, as it gives it; every other segment, its order and its
/// encoding are kept byte for byte.
pub fn replace_values<'v>(
    raw_query: &[u8],
    replace: impl Fn(&[u8]) -> Option<&'v [u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw_query.len() + 32);
    let params: Vec<_> = params(raw_query).collect();
    replace_values_into(&mut out, raw_query, &params, replace);
    out
}

/// `replace_values`, appended to `out`, for a query split already (into `params`).
pub fn replace_values_into<'v>(
    out: &mut Vec<u8>,
    raw_query: &[u8],
    params: &[RawParam<'_>],
    replace: impl Fn(&[u8]) -> Option<&'v [u8]>,
) {
    let mut copied = 0;
    for p in params {
        if let Some(value) = replace(&p.plain_name()) {
            let name_end = p.start + p.name.len();
            out.extend_from_slice(&raw_query[copied..name_end]);
            out.push(b'=');
            out.extend_from_slice(value);
            copied = p.end;
        }
    }
    out.extend_from_slice(&raw_query[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_segments_keeping_raw_bytes() {
        let query = b"a=1&&b&c=&=d&e=x=y&f%2F=%41";
        type Seen<'a> = (&'a [u8], &'a [u8], bool, &'a [u8]);
        let got: Vec<Seen> = params(query)
            .map(|p| (p.name, p.value, p.canonical, &query[p.start..p.end]))
            .collect();
        let raw: [Seen; 6] = [
            (b"a", b"1", true, b"a=1"),
            (b"b", b"", true, b"b"),
            (b"c", b"", true, b"c="),
            (b"", b"d", true, b"=d"),
            (b"e", b"x=y", false, b"e=x=y"),
            (b"f%2F", b"%41", false, b"f%2F=%41"),
        ];
        assert_eq!(got, raw);
        let escaped: Vec<bool> = params(b"a=1&b=%41&c+=d&e=%zz&f%2F")
            .map(|p| p.escaped)
            .collect();
        assert_eq!(escaped, [false, true, true, true, true]);
    }

    /// What the scan calls canonical is what canonicalising leaves as it is.
    #[test]
    fn a_canonical_param_canonicalises_to_itself() {
        let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for b in 0..=255u8 {
            inputs.push(format!("%{b:02X}").into_bytes());
            inputs.push(format!("%{b:02x}").into_bytes());
        }
        inputs.extend([&b"%"[..], b"%4", b"%G1", b"a%2", b"%2Fx%20"].map(<[u8]>::to_vec));
        for input in &inputs {
            let mut canonical = String::new();
            canonicalize_query_component(&mut canonical, input);
            let mut segment = b"n=".to_vec();
            segment.extend_from_slice(input);
            let scanned: Vec<_> = params(&segment).collect();
            if input.contains(&b'&') {
                continue;
            }
            let expected = canonical.as_bytes() == input.as_slice() && !input.contains(&b'=');
            assert_eq!(scanned[0].canonical, expected, "{input:?}");
            // Decoding skips what the scan found unescaped, and only that.
            assert_eq!(
                scanned[0].decoded_value(),
                decode_query_component(input),
                "{input:?}"
            );
        }
    }

    /// Queries sent canonical are only sorted; the result is what canonicalising them gives.
    #[test]
    fn a_query_sent_canonical_is_its_own_canonical_form() {
        let edit = |n: &[u8]| match n {
            b"X-Amz-Signature" => Edit::Drop,
            _ => Edit::Keep,
        };
        let queries: [&[u8]; 8] = [
            b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T115959Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
            b"a=1&&b&c=&X-Amz-Signature=x&d=%2F",
            b"b=1&a=2",
            b"a=2&a=1",
            b"a&a=1&a=1",
            b"a=%2f",
            b"a+b=c",
            b"&&X-Amz-Signature=1&&",
        ];
        for query in queries {
            let params: Vec<_> = params(query).collect();
            let fast = canonical_as_sent(&params, &edit);
            let slow = canonicalised(&params, &edit);
            assert_eq!(fast.clone().unwrap_or_else(|| slow.clone()), slow);
            assert_eq!(canonical_query(query, edit), slow);
            let canonical = !matches!(query, b"a=%2f" | b"a+b=c");
            assert_eq!(fast.is_some(), canonical, "{query:?}");
        }
        let params: Vec<_> = params(b"a=1&&b&c=&X-Amz-Signature=x&d=%2F").collect();
        assert_eq!(
            canonical_as_sent(&params, &edit).as_deref(),
            Some("a=1&b=&c=&d=%2F")
        );
    }

    /// The canonical query is borrowed exactly when it stands in the raw query already, and
    /// then equals the one built.
    #[test]
    fn a_canonical_run_is_borrowed() {
        let edit = |n: &[u8]| match n {
            b"X-Amz-Signature" => Edit::Drop,
            _ => Edit::Keep,
        };
        let borrowed: [&[u8]; 5] = [
            b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T115959Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
            b"X-Amz-Signature=00&a=1&b=2",
            b"&a=1&b=&X-Amz-Signature=x&",
            b"a=1&a=1&a=2",
            b"a=",
        ];
        let built: [&[u8]; 8] = [
            b"a=1&X-Amz-Signature=x&b=2",
            b"b=1&a=2",
            b"a=1&&b=2",
            b"a=1&b",
            b"a&b=1",
            b"a=%2f",
            b"a=2&a=1",
            b"X-Amz-Signature=x",
        ];
        for (query, borrow) in borrowed
            .iter()
            .map(|q| (q, true))
            .chain(built.iter().map(|q| (q, false)))
        {
            let params: Vec<_> = params(query).collect();
            let got = canonical_params(query, &params, edit);
            assert_eq!(matches!(got, Cow::Borrowed(_)), borrow, "{query:?}");
            assert_eq!(got, canonicalised(&params, &edit), "{query:?}");
        }
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

    /// A name is matched as decoded: an escape of an unreserved byte (`%53` is `S`) or a `+`
    /// spells the same name (the gateway's screen refuses such names; this holds without it).
    #[test]
    fn replace_values_matches_names_decoded() {
        let q = b"X-Amz-%53ignature=00&a+b=1&X-Amz-Credential=A%2fx";
        let out = replace_values(q, |name| match name {
            b"X-Amz-Signature" => Some(&b"ff"[..]),
            b"a b" => Some(b"2"),
            _ => None,
        });
        assert_eq!(
            out,
            b"X-Amz-%53ignature=ff&a+b=2&X-Amz-Credential=A%2fx".to_vec()
        );
        // A canonical name is compared as sent, a name in any other form decoded.
        let names: Vec<_> = params(b"a%2F=1&X-Amz-%53ignature=0&c=%2f")
            .map(|p| p.plain_name().into_owned())
            .collect();
        assert_eq!(names, [&b"a%2F"[..], b"X-Amz-Signature", b"c"]);
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
