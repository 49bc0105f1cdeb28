//! A borrowed view of the request head as the filter receives it from Envoy.

use crate::bytes::find_byte;
use crate::client_net::ClientNet;
use crate::redact;
use crate::sigv4::query::{params, RawParam};
use std::borrow::Cow;
use std::cell::OnceCell;

/// The request head: pseudo-headers apart, every other header in arrival order.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: &'a [u8],
    /// `:path` as received: raw path and query, never normalised. Read through `path()`: the
    /// mark below indexes it.
    path: &'a [u8],
    /// Where `path`'s first `?` is, if it has one: found once, since every reader of the path
    /// or the query would otherwise look for it again.
    query_mark: Option<usize>,
    /// `:authority`, what the client put in Host.
    pub authority: &'a [u8],
    /// `(name, value)`, names lower-case as Envoy delivers them, repeats kept.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// The query's parameters, split once for everything that reads them, when first read (a
    /// repeated presigned URL is forwarded without).
    params: OnceCell<Vec<RawParam<'a>>>,
    /// Asks the host where the request comes from: only what needs it asks (a browser form's
    /// waiting charge), since every request would otherwise pay a host call for it.
    client_net: Option<fn() -> Option<ClientNet>>,
    /// No body follows the head.
    ends_with_head: bool,
}

/// A pseudo-header is absent, or `:path` is no path (it must begin with `/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingPseudoHeader(pub &'static str);

/// A header that may appear only once appeared more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatedHeader;

impl<'a> Request<'a> {
    pub fn from_pairs<N, V>(pairs: &'a [(N, V)]) -> Result<Self, MissingPseudoHeader>
    where
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        Self::from_headers(
            pairs
                .iter()
                .map(|(name, value)| (name.as_ref(), value.as_ref()))
                .collect(),
        )
    }

    /// The request of every header Envoy delivers, pseudo-headers included, in order; the
    /// vector becomes the request's own list.
    pub fn from_headers(
        mut headers: Vec<(&'a [u8], &'a [u8])>,
    ) -> Result<Self, MissingPseudoHeader> {
        let (mut method, mut path, mut authority) = (None, None, None);
        headers.retain(|&(name, value)| {
            match name {
                b":method" => method = Some(value),
                b":path" => path = Some(value),
                b":authority" => authority = Some(value),
                _ => return !name.starts_with(b":"),
            }
            false
        });
        Ok(Request::new(
            method.ok_or(MissingPseudoHeader(":method"))?,
            // Envoy answers `OPTIONS *` itself and splits an absolute URI into `:authority`
            // and a path before filters run; a path that does not begin with `/` would have
            // the bucket read from its first bytes.
            path.filter(|path| path.first() == Some(&b'/'))
                .ok_or(MissingPseudoHeader(":path"))?,
            authority.ok_or(MissingPseudoHeader(":authority"))?,
            headers,
        ))
    }

    pub fn new(
        method: &'a [u8],
        path: &'a [u8],
        authority: &'a [u8],
        headers: Vec<(&'a [u8], &'a [u8])>,
    ) -> Self {
        Request {
            method,
            path,
            query_mark: find_byte(path, b'?'),
            authority,
            headers,
            params: OnceCell::new(),
            client_net: None,
            ends_with_head: false,
        }
    }

    /// The request, with where it comes from told by `lookup` when asked.
    pub fn with_client_net(mut self, lookup: fn() -> Option<ClientNet>) -> Self {
        self.client_net = Some(lookup);
        self
    }

    /// The request, ending with its head or not: the stream says so, not the head (a grant
    /// carries no such fact: RT120).
    pub fn ending_with_head(mut self, ends: bool) -> Self {
        self.ends_with_head = ends;
        self
    }

    pub fn ends_with_head(&self) -> bool {
        self.ends_with_head
    }

    /// The network the request comes from, when the host tells it.
    pub fn client_net(&self) -> Option<ClientNet> {
        self.client_net.and_then(|lookup| lookup())
    }

    /// The non-empty parameters of the query, in order (`query::params`).
    pub fn params(&self) -> &[RawParam<'a>] {
        self.params
            .get_or_init(|| params(self.raw_query()).collect())
    }

    /// The path before `?`.
    pub fn raw_path(&self) -> &'a [u8] {
        self.split_path().0
    }

    /// The query after the first `?`, empty when there is none.
    pub fn raw_query(&self) -> &'a [u8] {
        self.split_path().1
    }

    /// `:path` as received: raw path and query.
    pub fn path(&self) -> &'a [u8] {
        self.path
    }

    /// Whether the path carries a query (`?`), even an empty one.
    pub fn has_query(&self) -> bool {
        self.query_mark.is_some()
    }

    fn split_path(&self) -> (&'a [u8], &'a [u8]) {
        match self.query_mark {
            Some(q) => (&self.path[..q], &self.path[q + 1..]),
            None => (self.path, b""),
        }
    }

    /// The path for a log line: any signature or session token in the query masked, since an
    /// expired or skewed URL may carry a signature that is (or becomes) valid; what could split
    /// or forge a line escaped (HTTP/2 carries a path's raw UTF-8: U+2028, U+202E), and cut
    /// after 1 KiB.
    pub fn loggable_path(&self) -> String {
        const MAX_LOGGED_PATH: usize = 1024;
        let mut path = String::from_utf8_lossy(self.raw_path()).into_owned();
        if self.has_query() {
            // Masked only as far as the line shows it.
            let masked = redact::query_prefix(self.raw_query(), MAX_LOGGED_PATH + 1);
            path.push('?');
            path.push_str(&String::from_utf8_lossy(&masked));
        }
        match redact::printable_of(&path, MAX_LOGGED_PATH, self.path.len()) {
            Cow::Borrowed(_) => path,
            Cow::Owned(printable) => printable,
        }
    }

    pub fn values<'n>(&'n self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| *v)
    }

    /// The value of a header that must not repeat.
    pub fn single(&self, name: &str) -> Result<Option<&'a [u8]>, RepeatedHeader> {
        let mut values = self.values(name);
        let first = values.next();
        match values.next() {
            Some(_) => Err(RepeatedHeader),
            None => Ok(first),
        }
    }

    /// Whether the body is empty whatever follows: the head ends the stream, or announces no
    /// byte (an HTTP/2 head with `content-length: 0` that does not end its stream is a whole
    /// request to an HTTP/1 origin, and Envoy refuses the DATA after it).
    pub fn has_no_body(&self) -> bool {
        self.ends_with_head || self.number("content-length") == Some(0)
    }

    /// Whether the head leaves the body unknown: it does not end the stream and announces no
    /// length (HTTP/2 DATA frames without `content-length`; over HTTP/1, a chunked body, whose
    /// `Transfer-Encoding` Envoy removes before the filter reads the head).
    pub fn says_nothing_of_its_body(&self) -> bool {
        !self.has_no_body() && !self.announces_a_body()
    }

    /// Whether the client waits for a `100 Continue` before it sends the body.
    pub fn expects_continue(&self) -> bool {
        self.values("expect")
            .any(|value| value.trim_ascii().eq_ignore_ascii_case(b"100-continue"))
    }

    /// Whether the head says a body follows: a `Content-Length` other than 0, or a
    /// `Transfer-Encoding`.
    pub fn announces_a_body(&self) -> bool {
        self.values("transfer-encoding").next().is_some()
            || self
                .values("content-length")
                .any(|length| length.trim_ascii() != b"0")
    }

    /// The bytes of the head as the filter read it: its pseudo-headers' values, every
    /// header's name and value.
    pub fn head_bytes(&self) -> usize {
        let pseudo = self.method.len() + self.path.len() + self.authority.len();
        self.headers
            .iter()
            .fold(pseudo, |sum, (name, value)| sum + name.len() + value.len())
    }

    /// A header that must not repeat, read as a decimal number: `None` when it is absent,
    /// repeated or no number.
    pub fn number(&self, name: &str) -> Option<u64> {
        crate::bytes::decimal(self.single(name).ok()??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_pseudo_headers_and_keeps_repeats() {
        let pairs: Vec<(String, Vec<u8>)> = vec![
            (":method".into(), b"GET".to_vec()),
            (":scheme".into(), b"http".to_vec()),
            (":path".into(), b"/b/k?x=1?y".to_vec()),
            (":authority".into(), b"s3.mydomain.com".to_vec()),
            ("x-a".into(), b"1".to_vec()),
            ("X-A".into(), b"\xff".to_vec()),
        ];
        let r = Request::from_pairs(&pairs).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.raw_path(), b"/b/k");
        assert_eq!(r.raw_query(), b"x=1?y");
        assert_eq!(r.values("x-a").collect::<Vec<_>>(), [&b"1"[..], b"\xff"]);
        assert_eq!(r.single("x-a"), Err(RepeatedHeader));
        assert_eq!(r.single("x-b"), Ok(None));
    }

    #[test]
    fn loggable_path_masks_credentials_in_the_query() {
        let pairs = [
            (":method", "GET"),
            (
                ":path",
                "/b/k?a=1&X-Amz-Signature=abc&x-amz-security-token=t&Signature=s&&b",
            ),
            (":authority", "h"),
        ];
        let r = Request::from_pairs(&pairs).unwrap();
        assert_eq!(
            r.loggable_path(),
            "/b/k?a=1&X-Amz-Signature=*****&x-amz-security-token=*****&Signature=*****&&b"
        );
        let pairs: [(&[u8], &[u8]); 3] = [
            (b":method", b"GET"),
            (b":path", b"/b/\xffk"),
            (b":authority", b"h"),
        ];
        assert_eq!(
            Request::from_pairs(&pairs).unwrap().loggable_path(),
            "/b/\u{FFFD}k"
        );
        // Found by an attack run (2026-12-01): over HTTP/2 a path reaches the filter with line
        // separators and bidi controls, which split or reorder a log line.
        let forged = "/b/k\u{2028}[info][wasm] forged\u{85}x\u{202e}y";
        let pairs = [(":method", "GET"), (":path", forged), (":authority", "h")];
        assert_eq!(
            Request::from_pairs(&pairs).unwrap().loggable_path(),
            r"/b/k\u{2028}[info][wasm] forged\u{85}x\u{202e}y"
        );
        let logged_path = |path: &str| {
            let pairs = [(":method", "GET"), (":path", path), (":authority", "h")];
            Request::from_pairs(&pairs).unwrap().loggable_path()
        };
        let logged = logged_path(&format!("/b/{}", "k".repeat(5000)));
        assert!(
            logged.len() < 1100 && logged.ends_with("…(5003 bytes)"),
            "{logged}"
        );
        // A long query is masked as far as the line shows it, and the cut names its whole size;
        // a credential across the cut is masked still.
        let long = format!(
            "/b/k?{}X-Amz-Signature=secret&{}",
            "a&".repeat(500),
            "a&".repeat(20000)
        );
        let logged = logged_path(&long);
        assert!(
            logged.contains("&X-Amz-Signature=***") && !logged.contains("secret"),
            "{logged}"
        );
        assert!(
            logged.ends_with(&format!("…({} bytes)", long.len())),
            "{logged}"
        );
    }

    #[test]
    fn a_body_is_announced_by_its_length_or_its_encoding() {
        let with = |headers: &[(&str, &str)]| {
            let mut pairs = vec![(":method", "GET"), (":path", "/"), (":authority", "h")];
            pairs.extend_from_slice(headers);
            Request::from_pairs(&pairs).unwrap().announces_a_body()
        };
        assert!(!with(&[]));
        assert!(!with(&[("content-length", "0")]));
        assert!(with(&[("content-length", "5")]));
        assert!(with(&[("Transfer-Encoding", "chunked")]));
    }

    #[test]
    fn requires_the_pseudo_headers() {
        let pairs = [(":method", "GET"), (":path", "/")];
        assert_eq!(
            Request::from_pairs(&pairs).unwrap_err(),
            MissingPseudoHeader(":authority")
        );
        for path in ["*", "bucket/key", "", "http://h/b/k"] {
            let pairs = [(":method", "GET"), (":path", path), (":authority", "h")];
            assert_eq!(
                Request::from_pairs(&pairs).unwrap_err(),
                MissingPseudoHeader(":path"),
                "{path}"
            );
        }
    }
}
