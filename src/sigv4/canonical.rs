//! The canonical request (SigV4 task 1). The proxy renders it twice per request: with the
//! public host (and the client's credential) to verify, then with the origin host (and the
//! origin credential) to re-sign. Everything else is computed once and shared.

use super::query::canonical_value_range;
use super::signed_headers::{SignedHeaders, AUTHORITY};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// A header the client signed that did not reach the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSignedHeader(pub String);

impl fmt::Display for MissingSignedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the signed header '{}' is not in the request", self.0)
    }
}

#[derive(Debug)]
pub struct CanonicalRequest<'a> {
    method: &'a [u8],
    /// Borrowed from the request when it arrived canonical, as nearly every one does.
    uri: Cow<'a, str>,
    /// The canonical query string; for presigned URLs it carries the credential, which
    /// changes between verification and re-signing.
    query: Cow<'a, str>,
    /// `(name, canonical value)` of every signed header except `host`, in signed order.
    headers: Vec<(&'a str, Cow<'a, [u8]>)>,
    /// The name the host is signed under: `host`, or `:authority` as HTTP/2 clients may sign
    /// it (`sign_host_for_http1` turns it into `host` for the origin).
    host_name: &'static str,
    signed_headers: Cow<'a, str>,
    payload: &'a str,
    /// The first signed header the request repeats (see `repeated_header`).
    repeated: Option<&'a str>,
    /// `expect` is signed but was not received: Envoy answered it (see `signed_header`).
    expect_consumed: bool,
    /// `transfer-encoding` is signed but was not received: Envoy framed the body by it.
    framing_consumed: bool,
    /// The hash state after everything before the host line, from the last `hash`: the client's
    /// and the origin's canonical requests share it unless the path or query changed between.
    before_host: Option<Sha256>,
    /// The query value a hash keeps its state before (`keep_state_before`): a presigned URL's
    /// two canonical requests are the same up to the credential's value, so re-signing
    /// hashes only from there.
    splice: Option<Splice<'a>>,
}

#[derive(Debug)]
struct Splice<'a> {
    name: &'a [u8],
    /// Where the value stands in the canonical query.
    value: Range<usize>,
    /// The hash state just before it, from the last `hash` from the start.
    state: Option<Sha256>,
}

impl<'a> CanonicalRequest<'a> {
    /// `headers` are the request's `(name, value)` pairs, repeated names included; `host`
    /// is not read from them: it is supplied at rendering.
    pub fn new(
        method: &'a [u8],
        uri: impl Into<Cow<'a, str>>,
        query: impl Into<Cow<'a, str>>,
        signed: &SignedHeaders<'a>,
        headers: &[(&'a [u8], &'a [u8])],
        payload: &'a str,
    ) -> Result<Self, MissingSignedHeader> {
        // `host` is supplied at rendering: a URL signed over it alone needs no list here.
        let mut canonical = Vec::with_capacity(signed.names().len().saturating_sub(1));
        let mut repeated = None;
        let (mut expect_consumed, mut framing_consumed) = (false, false);
        let host_name = signed.host_name();
        for &name in signed.names() {
            if name == host_name {
                continue;
            }
            let signed =
                signed_header(headers, name).ok_or_else(|| MissingSignedHeader(name.to_owned()))?;
            if signed.repeated {
                repeated = repeated.or(Some(name));
            }
            if signed.consumed {
                expect_consumed |= name == "expect";
                framing_consumed |= name == "transfer-encoding";
            }
            canonical.push((name, signed.value));
        }
        Ok(CanonicalRequest {
            method,
            uri: uri.into(),
            query: query.into(),
            headers: canonical,
            host_name,
            signed_headers: signed.text(),
            payload,
            repeated,
            expect_consumed,
            framing_consumed,
            before_host: None,
            splice: None,
        })
    }

    /// Leaves the signed headers Envoy consumed out of the request to sign: an `Expect` it
    /// answered, a `Transfer-Encoding` it framed the body by (it frames the body to the origin
    /// itself). The origin receives neither as the client sent it, so a signature over them
    /// need not verify there (the client's, made before Envoy took them, did cover them).
    /// Signs less, never more.
    pub fn leave_out_consumed(&mut self) {
        let expect = std::mem::take(&mut self.expect_consumed);
        let framing = std::mem::take(&mut self.framing_consumed);
        if !expect && !framing {
            return;
        }
        let consumed =
            |name: &str| (expect && name == "expect") || (framing && name == "transfer-encoding");
        self.headers.retain(|(name, _)| !consumed(name));
        let names: Vec<&str> = crate::bytes::split(&self.signed_headers, b';')
            .filter(|name| !consumed(name))
            .collect();
        self.signed_headers = Cow::Owned(names.join(";"));
        self.before_host = None;
        self.splice = None;
    }

    /// Whether a signed `Transfer-Encoding` was not received, Envoy having framed the body by
    /// it (`signed_header`): it stands for a body that follows.
    pub fn framing_consumed(&self) -> bool {
        self.framing_consumed
    }

    /// Signs the host as `host` where the client signed it as `:authority` (HTTP/2): Envoy
    /// speaks HTTP/1.1 to the origin, which reads a `Host` header, never a pseudo-header, and
    /// could not verify a list naming `:authority`. The same value, under its HTTP/1.1 name.
    pub fn sign_host_for_http1(&mut self) {
        if self.host_name != AUTHORITY {
            return;
        }
        self.host_name = "host";
        let mut names: Vec<&str> = crate::bytes::split(&self.signed_headers, b';')
            .map(|name| if name == AUTHORITY { "host" } else { name })
            .collect();
        crate::sort::sort(&mut names);
        self.signed_headers = Cow::Owned(names.join(";"));
        self.before_host = None;
        self.splice = None;
    }

    /// Signs a consumed `Expect` with its next spelling (`CONSUMED_EXPECT_SPELLINGS`);
    /// false when there is none to try (no consumed `Expect`, or every spelling tried: the
    /// first is back, for the debug line of a mismatch). Only that value changes: the
    /// expectation is the same whatever its case, and it is never forwarded
    /// (`leave_out_consumed`).
    pub fn respell_consumed_expect(&mut self) -> bool {
        if !self.expect_consumed {
            return false;
        }
        let Some((_, value)) = self.headers.iter_mut().find(|(name, _)| *name == "expect") else {
            return false;
        };
        let Some(at) = CONSUMED_EXPECT_SPELLINGS
            .iter()
            .position(|s| *s == value.as_ref())
        else {
            return false;
        };
        let next = CONSUMED_EXPECT_SPELLINGS.get(at + 1);
        *value = Cow::Borrowed(next.unwrap_or(&CONSUMED_EXPECT_SPELLINGS[0]));
        // `expect` sorts before `host`: the state kept before the host line no longer holds
        // (the one before a query value, `splice`, does).
        self.before_host = None;
        next.is_some()
    }

    /// A signed header the request sends more than once. SigV4 joins the values with `,`, so
    /// one signed `x-amz-copy-source: /b/a,b.txt` verifies when sent as two headers, `/b/a`
    /// and `b.txt`; an origin that reads the first (Garage, Go's `Header.Get`) then copies
    /// `/b/a`. A verifier that forwards requests must refuse such a request.
    pub fn repeated_header(&self) -> Option<&'a str> {
        self.repeated
    }

    /// The SHA-256 of the canonical request for `host`, hashed as it is produced (it is never
    /// put together). The state before the host line is kept for the next call.
    pub fn hash(&mut self, host: &[u8]) -> [u8; 32] {
        self.hash_spliced(host, None)
    }

    /// `hash` with the value of the query parameter `name` (canonical already) replaced by
    /// `encoded_value`, as the origin's credential replaces the client's in a presigned URL:
    /// hashed around the old value, without a new copy of the query. `name` must occur once.
    pub fn hash_with_query_value(
        &mut self,
        host: &[u8],
        name: &[u8],
        encoded_value: &str,
    ) -> [u8; 32] {
        let range = match &self.splice {
            Some(splice) if splice.name == name => Some(splice.value.clone()),
            _ => canonical_value_range(&self.query, name),
        };
        match range {
            Some(range) => self.hash_spliced(host, Some((range, encoded_value))),
            None => self.hash(host),
        }
    }

    /// Has the next `hash` keep its state from just before the value of the query parameter
    /// `name`, for a `hash_with_query_value` of that parameter after it.
    pub fn keep_state_before(&mut self, name: &'a [u8]) {
        self.splice = canonical_value_range(&self.query, name).map(|value| Splice {
            name,
            value,
            state: None,
        });
    }

    fn hash_spliced(&mut self, host: &[u8], splice: Option<(Range<usize>, &str)>) -> [u8; 32] {
        // `headers` lacks only host, so host goes before the first name sorting after it.
        let host_at = self
            .headers
            .iter()
            .position(|(name, _)| *name > self.host_name)
            .unwrap_or(self.headers.len());
        let cached = match splice {
            None => self.before_host.clone(),
            Some(_) => None,
        };
        let mut hasher = match cached {
            Some(state) => state,
            None => {
                let query = self.query.as_bytes();
                let kept = match (&splice, &self.splice) {
                    (Some((range, _)), Some(kept)) if kept.value.start == range.start => {
                        kept.state.clone()
                    }
                    _ => None,
                };
                let mut h = kept.unwrap_or_else(|| {
                    let mut h = Sha256::new();
                    h.update(self.method);
                    h.update(b"\n");
                    h.update(self.uri.as_bytes());
                    h.update(b"\n");
                    if let Some((range, _)) = &splice {
                        h.update(&query[..range.start]);
                    }
                    h
                });
                match &splice {
                    Some((range, value)) => {
                        h.update(value.as_bytes());
                        h.update(&query[range.end..]);
                    }
                    None => match &mut self.splice {
                        Some(kept) if kept.value.start <= query.len() => {
                            let at = kept.value.start;
                            h.update(&query[..at]);
                            kept.state = Some(h.clone());
                            h.update(&query[at..]);
                        }
                        _ => h.update(query),
                    },
                }
                h.update(b"\n");
                for (name, value) in &self.headers[..host_at] {
                    hash_header(&mut h, name, value);
                }
                // Kept only for the query as it stands.
                if splice.is_none() {
                    self.before_host = Some(h.clone());
                }
                h
            }
        };
        hash_header(&mut hasher, self.host_name, host);
        for (name, value) in &self.headers[host_at..] {
            hash_header(&mut hasher, name, value);
        }
        hasher.update(b"\n");
        hasher.update(self.signed_headers.as_bytes());
        hasher.update(b"\n");
        hasher.update(self.payload.as_bytes());
        hasher.finalize().into()
    }

    /// The canonical query changed in place.
    pub fn edit_query(&mut self, edit: impl FnOnce(&mut String)) {
        edit(self.query.to_mut());
        self.before_host = None;
        self.splice = None;
    }

    /// The canonical request as signed for `host`.
    pub fn render(&self, host: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            256 + self.uri.len()
                + self.query.len()
                + host.len()
                + self
                    .headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 2)
                    .sum::<usize>(),
        );
        out.extend_from_slice(self.method);
        out.push(b'\n');
        out.extend_from_slice(self.uri.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.query.as_bytes());
        out.push(b'\n');
        // `headers` lacks only host, so host goes before the first name sorting after it.
        let mut host_written = false;
        for (name, value) in &self.headers {
            if !host_written && *name > self.host_name {
                push_header(&mut out, self.host_name, host);
                host_written = true;
            }
            push_header(&mut out, name, value);
        }
        if !host_written {
            push_header(&mut out, self.host_name, host);
        }
        out.push(b'\n');
        out.extend_from_slice(self.signed_headers.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.payload.as_bytes());
        out
    }

    /// `(name, canonical value)` of every signed header but `host`.
    pub fn headers(&self) -> &[(&'a str, Cow<'a, [u8]>)] {
        &self.headers
    }

    pub fn signed_headers(&self) -> &str {
        &self.signed_headers
    }

    /// Moves the request to another canonical URI: the same bucket and key addressed in the
    /// origin's style.
    pub fn set_uri(&mut self, uri: Cow<'_, str>) {
        self.uri = Cow::Owned(uri.into_owned());
        self.before_host = None;
        if let Some(kept) = &mut self.splice {
            kept.state = None;
        }
    }
}

fn hash_header(hasher: &mut Sha256, name: &str, value: &[u8]) {
    hasher.update(name.as_bytes());
    hasher.update(b":");
    hasher.update(value);
    hasher.update(b"\n");
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A signed header's canonical value, and whether the request sent it more than once.
pub struct SignedHeader<'v> {
    pub value: Cow<'v, [u8]>,
    pub repeated: bool,
    /// Not received: an `Expect` Envoy answered or a `Transfer-Encoding` it framed the body
    /// by, standing for the value the client sent.
    pub consumed: bool,
}

/// How clients spell the `Expect` Envoy consumes, most common first. Envoy takes
/// `100-continue` in any case (RFC 9110 makes it case-insensitive) and drops it, so which
/// one a client signed is not known: botocore, curl, Go and Ruby write `100-continue`;
/// aws-sdk-go v1 and boto 2 write `100-Continue`, and boto 2 signs it.
const CONSUMED_EXPECT_SPELLINGS: [&[u8]; 2] = [b"100-continue", b"100-Continue"];

/// The canonical value of the signed header `name`, and whether the request sent it more than
/// once; none when the request does not carry it. Verification and the presigned cache both
/// read signed values through here, so a header signed with an empty value is never taken for
/// one that is absent.
pub fn signed_header<'v>(headers: &[(&'v [u8], &'v [u8])], name: &str) -> Option<SignedHeader<'v>> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| *v);
    match values.next() {
        Some(first) => {
            let mut rest = values.peekable();
            let repeated = rest.peek().is_some();
            let value = canonical_header_value(std::iter::once(first).chain(rest));
            Some(SignedHeader {
                value,
                repeated,
                consumed: false,
            })
        }
        // Envoy, like most servers, answers `Expect: 100-continue` itself and drops the
        // header; that is the only expectation a client sends, though not always spelt so
        // (`CanonicalRequest::respell_consumed_expect`).
        None if name == "expect" => Some(SignedHeader {
            value: Cow::Borrowed(CONSUMED_EXPECT_SPELLINGS[0]),
            repeated: false,
            consumed: true,
        }),
        // Envoy's HTTP/1 codec frames a body by `Transfer-Encoding` and drops the header; it
        // lets `chunked` alone through (any other coding is its 501). Whether this request's
        // body was framed so is the stream's to tell (`verify::framed_body_follows`). botocore
        // and the other AWS SDKs signed it until January 2025: the AWS CLI v2 2.9's checksum
        // uploads over TLS (a compatibility sweep, 2026-12-07).
        None if name == "transfer-encoding" => Some(SignedHeader {
            value: Cow::Borrowed(b"chunked"),
            repeated: false,
            consumed: true,
        }),
        None => None,
    }
}

/// Each value trimmed, inner runs of white space folded to one space, repeated headers
/// joined with `,` in the order received. A single value that is canonical already (nearly
/// every one) is borrowed, not copied.
fn canonical_header_value<'v>(mut values: impl Iterator<Item = &'v [u8]>) -> Cow<'v, [u8]> {
    let Some(first) = values.next() else {
        return Cow::Borrowed(b"");
    };
    let mut rest = values.peekable();
    if rest.peek().is_none() && is_canonical_value(first) {
        return Cow::Borrowed(first);
    }
    let mut out = Vec::with_capacity(first.len());
    for (i, value) in std::iter::once(first).chain(rest).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut words = value.split(|&b| is_space(b)).filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            out.extend_from_slice(first);
            for word in words {
                out.push(b' ');
                out.extend_from_slice(word);
            }
        }
    }
    Cow::Owned(out)
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// No white space but single spaces between words: no tab or line break, no two spaces in a
/// row, none at either end. Tested over every byte without stopping early, which compiles to
/// vector instructions; values are short and nearly always canonical.
fn is_canonical_value(value: &[u8]) -> bool {
    let edge = |b: Option<&u8>| b.is_some_and(|&b| is_space(b));
    let breaks = value
        .iter()
        .fold(false, |any, &b| any | matches!(b, b'\t' | b'\r' | b'\n'));
    let double_space = value
        .iter()
        .zip(value.iter().skip(1))
        .fold(false, |any, (&a, &b)| any | ((a == b' ') & (b == b' ')));
    !edge(value.first()) && !edge(value.last()) && !breaks && !double_space
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(values: &[&[u8]]) -> Vec<u8> {
        canonical_header_value(values.iter().copied()).to_vec()
    }

    #[test]
    fn header_values_are_trimmed_folded_and_joined() {
        assert_eq!(value(&[b"  value1 "]), b"value1");
        assert_eq!(value(&[b"\"a   b \t c\""]), b"\"a b c\"");
        assert_eq!(
            value(&[b"value2", b"value2", b"value1"]),
            b"value2,value2,value1"
        );
        assert_eq!(value(&[b""]), b"");
        assert_eq!(value(&[b" ", b"x"]), b",x");
        assert_eq!(value(&[b"caf\xc3\xa9  \xff"]), b"caf\xc3\xa9 \xff");
        for odd in [
            &b"a\tb"[..],
            b"a \tb",
            b"a\t",
            b"\ta",
            b"a\r\nb",
            b"a  b",
            b" ",
        ] {
            assert!(matches!(
                canonical_header_value([odd].into_iter()),
                Cow::Owned(_)
            ));
        }
        for canonical in [&b"a b c"[..], b"x", b""] {
            assert!(matches!(
                canonical_header_value([canonical].into_iter()),
                Cow::Borrowed(_)
            ));
        }
    }

    #[test]
    fn a_value_is_canonical_exactly_when_folding_leaves_it_as_it_is() {
        // Every value of up to 6 bytes over white space and a letter.
        let alphabet = [b'a', b' ', b'\t', b'\r', b'\n'];
        let mut values = vec![Vec::new()];
        for len in 1..=6 {
            let longer: Vec<Vec<u8>> = values
                .iter()
                .filter(|v| v.len() == len - 1)
                .flat_map(|v| {
                    alphabet.iter().map(move |&b| {
                        let mut v = v.clone();
                        v.push(b);
                        v
                    })
                })
                .collect();
            values.extend(longer);
        }
        for v in &values {
            let folded = v
                .split(|&b| is_space(b))
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(&b' ');
            assert_eq!(is_canonical_value(v), folded == *v, "{v:?}");
        }
    }

    #[test]
    fn renders_with_host_in_sorted_place() {
        let signed = SignedHeaders::parse("a;host;range;x-amz-date").unwrap();
        let headers: Vec<(&[u8], &[u8])> = vec![
            (b"range", b"bytes=0-9"),
            (b"a", b"1"),
            (b"X-Amz-Date", b"20130524T000000Z"),
            (b"unsigned", b"ignored"),
        ];
        let c = CanonicalRequest::new(b"GET", "/k", "x=", &signed, &headers, "UNSIGNED-PAYLOAD")
            .unwrap();
        assert_eq!(
            String::from_utf8(c.render(b"h.example")).unwrap(),
            "GET\n/k\nx=\na:1\nhost:h.example\nrange:bytes=0-9\nx-amz-date:20130524T000000Z\n\na;host;range;x-amz-date\nUNSIGNED-PAYLOAD"
        );
        let only_host = SignedHeaders::parse("host").unwrap();
        let c = CanonicalRequest::new(b"GET", "/", "", &only_host, &[], "X").unwrap();
        assert_eq!(c.render(b"h"), b"GET\n/\n\nhost:h\n\nhost\nX".to_vec());
    }

    /// The client reads which signed header never arrived (cargo-mutants: the message was
    /// not held).
    #[test]
    fn a_signed_header_the_request_lacks_is_named() {
        let signed = SignedHeaders::parse("host;x-amz-date;x-amz-meta-a").unwrap();
        let headers: Vec<(&[u8], &[u8])> = vec![(b"x-amz-date", b"20130524T000000Z")];
        let missing = CanonicalRequest::new(b"GET", "/k", "", &signed, &headers, "X").unwrap_err();
        assert_eq!(missing, MissingSignedHeader("x-amz-meta-a".to_owned()));
        assert_eq!(
            missing.to_string(),
            "the signed header 'x-amz-meta-a' is not in the request"
        );
    }

    #[test]
    fn an_authority_signed_for_http2_is_signed_as_host_for_the_origin() {
        // As the AWS SDK for JavaScript v3 signs over HTTP/2: `:authority`, first in order.
        let signed = SignedHeaders::parse(":authority;content-length;x-amz-date").unwrap();
        let headers: Vec<(&[u8], &[u8])> = vec![
            (b"content-length", b"2"),
            (b"x-amz-date", b"20261202T080701Z"),
        ];
        let mut c = CanonicalRequest::new(b"PUT", "/b/k", "", &signed, &headers, "P").unwrap();
        assert_eq!(
            String::from_utf8(c.render(b"public:443")).unwrap(),
            "PUT\n/b/k\n\n:authority:public:443\ncontent-length:2\nx-amz-date:20261202T080701Z\n\n:authority;content-length;x-amz-date\nP"
        );
        let client: [u8; 32] = Sha256::digest(c.render(b"public:443")).into();
        assert_eq!(c.hash(b"public:443"), client);
        c.sign_host_for_http1();
        assert_eq!(c.signed_headers(), "content-length;host;x-amz-date");
        assert_eq!(
            String::from_utf8(c.render(b"origin:9000")).unwrap(),
            "PUT\n/b/k\n\ncontent-length:2\nhost:origin:9000\nx-amz-date:20261202T080701Z\n\ncontent-length;host;x-amz-date\nP"
        );
        // The state kept from the client's hash is not reused for the other order.
        assert_eq!(
            c.hash(b"origin:9000"),
            <[u8; 32]>::from(Sha256::digest(c.render(b"origin:9000")))
        );
        // A list signed with `host` stays as it is.
        let signed = SignedHeaders::parse("host;x-amz-date").unwrap();
        let mut c = CanonicalRequest::new(b"GET", "/", "", &signed, &headers, "P").unwrap();
        c.sign_host_for_http1();
        assert_eq!(c.signed_headers(), "host;x-amz-date");
    }

    #[test]
    fn the_streamed_hash_is_the_hash_of_the_rendered_request() {
        let signed = SignedHeaders::parse("a;host;range;x-amz-date").unwrap();
        let headers: Vec<(&[u8], &[u8])> = vec![
            (b"range", b"bytes=0-9"),
            (b"a", b"1"),
            (b"x-amz-date", b"d"),
        ];
        let mut c =
            CanonicalRequest::new(b"GET", "/k", "x=", &signed, &headers, "UNSIGNED-PAYLOAD")
                .unwrap();
        for host in [
            &b"public.example"[..],
            b"origin.example:9000",
            b"public.example",
        ] {
            let want: [u8; 32] = Sha256::digest(c.render(host)).into();
            assert_eq!(c.hash(host), want);
        }
        c.set_uri("/other".into());
        assert_eq!(
            c.hash(b"h"),
            <[u8; 32]>::from(Sha256::digest(c.render(b"h")))
        );
        c.edit_query(|q| *q = "y=".into());
        assert_eq!(
            c.hash(b"h"),
            <[u8; 32]>::from(Sha256::digest(c.render(b"h")))
        );
        // A spliced hash equals the hash of the edited query, and leaves the query as it was.
        let mut c = CanonicalRequest::new(
            b"GET",
            "/k",
            "X-Amz-Credential=A%2Fx&a=1",
            &signed,
            &headers,
            "UNSIGNED-PAYLOAD",
        )
        .unwrap();
        let before = c.hash(b"h");
        let spliced = c.hash_with_query_value(b"h", b"X-Amz-Credential", "BB%2Fyy");
        assert_eq!(c.hash(b"h"), before);
        c.edit_query(|q| *q = "X-Amz-Credential=BB%2Fyy&a=1".into());
        assert_eq!(spliced, c.hash(b"h"));
        assert_eq!(c.hash_with_query_value(b"h", b"absent", "z"), c.hash(b"h"));
        let only_host = SignedHeaders::parse("host").unwrap();
        let mut c = CanonicalRequest::new(b"GET", "/", "", &only_host, &[], "X").unwrap();
        assert_eq!(
            c.hash(b"h"),
            <[u8; 32]>::from(Sha256::digest(c.render(b"h")))
        );
    }

    #[test]
    fn a_splice_resumes_from_the_state_kept_before_the_value() {
        let signed = SignedHeaders::parse("host;x-amz-date").unwrap();
        let headers: [(&[u8], &[u8]); 1] = [(b"x-amz-date", b"20261129T115959Z")];
        // Over a block before the value, so the kept state has compressed some of it.
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2Fx&X-Amz-Date=1&a=1";
        let fresh = |uri: &str, query: &str, host: &[u8]| {
            let c = CanonicalRequest::new(
                b"GET",
                uri.to_owned(),
                query.to_owned(),
                &signed,
                &headers,
                "U",
            );
            <[u8; 32]>::from(Sha256::digest(c.unwrap().render(host)))
        };
        let spliced = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=BB%2Fyy&X-Amz-Date=1&a=1";
        let long_uri = "/a-bucket/a-key-long-enough-to-fill-the-first-block-of-the-hash";
        for uri in ["/k", long_uri] {
            let mut c = CanonicalRequest::new(b"GET", uri, query, &signed, &headers, "U").unwrap();
            c.keep_state_before(b"X-Amz-Credential");
            assert_eq!(c.hash(b"public"), fresh(uri, query, b"public"));
            assert!(c.splice.as_ref().is_some_and(|s| s.state.is_some()));
            let origin = c.hash_with_query_value(b"origin", b"X-Amz-Credential", "BB%2Fyy");
            assert_eq!(origin, fresh(uri, spliced, b"origin"));
            // Another parameter, or another path, is hashed from the start.
            let other = c.hash_with_query_value(b"origin", b"X-Amz-Date", "2");
            assert_eq!(
                other,
                fresh(uri, &query.replace("Date=1", "Date=2"), b"origin")
            );
            c.set_uri("/other".into());
            let moved = c.hash_with_query_value(b"origin", b"X-Amz-Credential", "BB%2Fyy");
            assert_eq!(moved, fresh("/other", spliced, b"origin"));
        }
        // Kept only once asked for, and not across an edit of the query.
        let mut c = CanonicalRequest::new(b"GET", "/k", query, &signed, &headers, "U").unwrap();
        c.hash(b"h");
        assert!(c.splice.is_none());
        c.keep_state_before(b"X-Amz-Credential");
        c.hash(b"h");
        c.edit_query(|q| *q = q.replace("a=1", "a=2"));
        let edited = query.replace("a=1", "a=2");
        let want = fresh("/k", &edited.replace("A%2Fx", "BB%2Fyy"), b"o");
        assert_eq!(
            c.hash_with_query_value(b"o", b"X-Amz-Credential", "BB%2Fyy"),
            want
        );
    }

    #[test]
    fn a_missing_signed_header_is_an_error_except_expect() {
        let signed = SignedHeaders::parse("content-md5;host").unwrap();
        let err = CanonicalRequest::new(b"PUT", "/", "", &signed, &[], "X").unwrap_err();
        assert_eq!(err, MissingSignedHeader("content-md5".into()));
        let signed = SignedHeaders::parse("expect;host").unwrap();
        let c = CanonicalRequest::new(b"PUT", "/", "", &signed, &[], "X").unwrap();
        assert!(String::from_utf8(c.render(b"h"))
            .unwrap()
            .contains("expect:100-continue\nhost:h\n"));
    }

    #[test]
    fn a_signed_transfer_encoding_envoy_framed_the_body_by_is_chunked_then_left_out() {
        let signed = SignedHeaders::parse("content-type;host;transfer-encoding").unwrap();
        let typed: [(&[u8], &[u8]); 1] = [(b"content-type", b"text/plain")];
        let mut c = CanonicalRequest::new(b"PUT", "/", "", &signed, &typed, "X").unwrap();
        assert!(String::from_utf8(c.render(b"h")).unwrap().ends_with(
            "host:h\ntransfer-encoding:chunked\n\ncontent-type;host;transfer-encoding\nX"
        ));
        c.leave_out_consumed();
        assert_eq!(c.signed_headers(), "content-type;host");
        assert!(String::from_utf8(c.render(b"h"))
            .unwrap()
            .ends_with("content-type:text/plain\nhost:h\n\ncontent-type;host\nX"));
        assert!(!c.framing_consumed());
        // Whether a body followed is the stream's (`verify::framed_body_follows`: tests/gateway.rs
        // with a length and without a body). Received (a filter that sees it), it is signed as
        // received and stays.
        let signed = SignedHeaders::parse("host;transfer-encoding").unwrap();
        let sent: [(&[u8], &[u8]); 1] = [(b"transfer-encoding", b"chunked")];
        let mut c = CanonicalRequest::new(b"PUT", "/", "", &signed, &sent, "X").unwrap();
        c.leave_out_consumed();
        assert_eq!(c.signed_headers(), "host;transfer-encoding");
    }

    #[test]
    fn a_consumed_expect_is_respelt_once_then_back_to_the_first() {
        let signed = SignedHeaders::parse("expect;host").unwrap();
        let mut c = CanonicalRequest::new(b"PUT", "/", "", &signed, &[], "X").unwrap();
        let first = c.hash(b"h");
        assert!(c.respell_consumed_expect());
        assert!(String::from_utf8(c.render(b"h"))
            .unwrap()
            .contains("expect:100-Continue\nhost:h\n"));
        // The hash kept before the host line is not reused across spellings.
        assert_ne!(c.hash(b"h"), first);
        assert!(!c.respell_consumed_expect());
        assert_eq!(c.hash(b"h"), first);
        // A received `Expect` is signed as received, never respelt.
        let headers: [(&[u8], &[u8]); 1] = [(b"expect", b"100-continue")];
        let mut c = CanonicalRequest::new(b"PUT", "/", "", &signed, &headers, "X").unwrap();
        assert!(!c.respell_consumed_expect());
    }
}
