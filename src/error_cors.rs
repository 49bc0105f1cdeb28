//! Which web pages may read the answers the filter gives itself.
//!
//! A browser lets a page read a cross-origin answer only when it carries
//! `Access-Control-Allow-Origin` for the page's origin. The origin's answers carry its bucket's
//! CORS rules; a refusal by the filter (an expired URL, a form over its size) would carry none,
//! and the page would see a network error instead of the S3 error it could act on (a web
//! developer's walk-through, 2026-12-01). The pages listed here may read those refusals; the
//! list should match the buckets' rules. Nothing else changes: preflights still go to the
//! origin, and its answers pass unchanged.

/// The origins whose pages may read the filter's refusals: none (the default), any (`*`), or
/// those listed, each as browsers send it in `Origin` (`https://app.example`, `http://h:8080`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorCors {
    origins: Vec<String>,
}

/// A request's `Origin` that may read the refusal: which entry it matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowed(usize);

const ANY: &str = "*";

impl ErrorCors {
    /// The configured list, or why it cannot be one; the error names the entry by its index.
    pub fn parse(origins: Vec<String>) -> Result<Self, (usize, &'static str)> {
        for (i, origin) in origins.iter().enumerate() {
            if origin == ANY {
                if origins.len() > 1 {
                    return Err((i, "\"*\" allows every origin, so it must be the only entry"));
                }
                continue;
            }
            check_origin(origin).map_err(|why| (i, why))?;
            if origins
                .get(..i)
                .is_some_and(|before| before.contains(origin))
            {
                return Err((i, "is listed twice"));
            }
        }
        Ok(ErrorCors { origins })
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Whether a page of `origin` (the request's `Origin` header) may read a refusal. Compared
    /// byte for byte: browsers send the serialised origin, lower case, without a default port.
    pub fn allows(&self, origin: &[u8]) -> Option<Allowed> {
        self.origins
            .iter()
            .position(|listed| listed == ANY || listed.as_bytes() == origin)
            .map(Allowed)
    }

    /// The headers a refusal carries: `Access-Control-Allow-Origin` for an allowed origin, and
    /// `Vary: Origin` whenever the answer depends on it (a cache must not serve one page's
    /// answer to another). With `*` the answer is the same for everyone, with an `Origin` or
    /// without (a review found a cache could keep the one without for a page).
    pub fn headers(&self, allowed: Option<Allowed>) -> impl Iterator<Item = (&str, &str)> {
        let any = self.origins.iter().any(|o| o == ANY);
        let allow_origin = if any {
            Some(ANY)
        } else {
            allowed
                .and_then(|Allowed(i)| self.origins.get(i))
                .map(String::as_str)
        };
        let vary = (!self.origins.is_empty() && !any).then_some(("vary", "Origin"));
        allow_origin
            .map(|origin| ("access-control-allow-origin", origin))
            .into_iter()
            .chain(vary)
    }
}

/// An origin as a browser serialises it: `http` or `https`, `://`, a lower-case host (a name,
/// `_` allowed as browsers allow it, an IPv4 address or a bracketed IPv6 one, in lower-case hex:
/// browsers write even an IPv4-mapped address so, `[::ffff:7f00:1]`), and a port only
/// when it is not the scheme's default; nothing after it. Anything else would never equal what
/// a browser sends, and `null` (sandboxed pages, files) is no page's origin to trust.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    const SHAPE: &str =
        "must be \"*\" or an origin as browsers send it: http:// or https://, a lower-case host and a port only if not the default, nothing after it (https://app.example)";
    let (scheme, rest) = origin.split_once("://").ok_or(SHAPE)?;
    let default_port = match scheme {
        "http" => "80",
        "https" => "443",
        _ => return Err(SHAPE),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && host.starts_with('[') == host.ends_with(']') => {
            (host, Some(port))
        }
        _ => (rest, None),
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b':')
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b))
            })
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty()
            && port != default_port
            && !port.starts_with('0')
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok()
    });
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(SHAPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(list: &[&str]) -> ErrorCors {
        ErrorCors::parse(list.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    fn headers(cors: &ErrorCors, origin: &[u8]) -> Vec<(String, String)> {
        cors.headers(cors.allows(origin))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn origins_are_taken_as_browsers_send_them() {
        for ok in [
            "https://app.example",
            "http://localhost:8080",
            "https://127.0.0.1",
            "http://[::1]:3000",
            "https://a-b.c9.example:8443",
            "http://dev_box.local:3000",
        ] {
            assert_eq!(check_origin(ok), Ok(()), "{ok}");
        }
        for bad in [
            "app.example",
            "https://App.example",
            "https://app.example/",
            "https://app.example/path",
            "https://app.example:443",
            "http://app.example:80",
            "https://app.example:",
            "https://app.example:0443",
            "https://app.example:99999",
            "https://user@app.example",
            "ftp://app.example",
            "HTTPS://app.example",
            "null",
            "https://",
            "https://app..example",
            "https://app.example.",
            "https://app example",
            "https://[]",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    /// An IPv6 host is split from its port at the colon after the bracket, not at one of its
    /// own, and holds only what a browser writes there (cargo-mutants: the split's guard made
    /// `true` or its `&&` made `||`, which refused `http://[::1]`, unnoticed). An IPv4-mapped
    /// address written with dots, or hex in upper case, would never equal a browser's `Origin`.
    #[test]
    fn an_ipv6_origin_is_read_whole() {
        for ok in [
            "http://[::1]",
            "https://[2001:db8::1]",
            "http://[::1]:8080",
            "http://[::ffff:7f00:1]",
        ] {
            assert_eq!(check_origin(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://[zz]",
            "http://[::1 ]",
            "http://[::g]:8080",
            "http://[::1",
            "http://[::ffff:127.0.0.1]",
            "https://[2001:DB8::1]",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_list_is_checked_entry_by_entry() {
        let list = |l: &[&str]| ErrorCors::parse(l.iter().map(|s| s.to_string()).collect());
        assert_eq!(list(&[]), Ok(ErrorCors::default()));
        assert!(list(&["*"]).is_ok());
        assert_eq!(list(&["https://a.example", "*"]).unwrap_err().0, 1);
        assert_eq!(list(&["*", "https://a.example"]).unwrap_err().0, 0);
        assert_eq!(
            list(&["https://a.example", "https://a.example"]),
            Err((1, "is listed twice"))
        );
        assert_eq!(list(&["https://a.example", "null"]).unwrap_err().0, 1);
    }

    #[test]
    fn a_listed_origin_reads_refusals_and_caches_keep_them_apart() {
        let cors = cors(&["https://a.example", "http://b.example:8080"]);
        assert_eq!(
            headers(&cors, b"http://b.example:8080"),
            [
                pair("access-control-allow-origin", "http://b.example:8080"),
                pair("vary", "Origin")
            ]
        );
        for other in [
            &b"https://c.example"[..],
            b"https://A.example",
            b"https://a.example.evil",
            b"null",
            b"",
        ] {
            assert_eq!(headers(&cors, other), [pair("vary", "Origin")]);
        }
        assert_eq!(cors.headers(None).count(), 1);
    }

    /// The filter looks for a request's `Origin` only when the list is not empty: a list
    /// taken for empty would give no listed page its refusals (cargo-mutants: `is_empty`
    /// made to answer `true`, unnoticed natively).
    #[test]
    fn a_list_with_an_entry_is_not_empty() {
        assert!(!cors(&["*"]).is_empty());
        assert!(!cors(&["https://a.example"]).is_empty());
    }

    #[test]
    fn any_origin_reads_refusals_and_none_by_default() {
        let any = cors(&["*"]);
        assert_eq!(
            headers(&any, b"https://whoever.example"),
            [pair("access-control-allow-origin", "*")]
        );
        assert_eq!(
            headers(&any, b""),
            [pair("access-control-allow-origin", "*")]
        );
        assert_eq!(any.headers(None).count(), 1);
        let none = ErrorCors::default();
        assert!(none.is_empty());
        assert_eq!(none.allows(b"https://a.example"), None);
        assert_eq!(none.headers(None).count(), 0);
    }
}
