//! Which public host names the proxy serves, and what a request's `Host` says about its
//! bucket: `s3.mydomain.com` is path-style (the bucket, if any, opens the path),
//! `bucket.s3.mydomain.com` is virtual-hosted (the bucket is in the host). A host that is
//! neither is not ours: a signature made for it proves nothing here.

use std::fmt;

/// One public host name, with the port it must carry when one is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicDomain {
    /// Lower case.
    host: String,
    port: Option<u16>,
}

/// The public host names, as configured (`public_domains`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublicDomains(Vec<PublicDomain>);

/// How the request names its bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style<'r> {
    /// `Host` is a public domain: the bucket, if any, is the first path segment.
    Path,
    /// `Host` is `<bucket>.<public domain>`.
    Virtual { bucket: &'r str },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidDomain(pub String);

impl fmt::Display for InvalidDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PublicDomain {
    /// `host` or `host:port`; a name, not a URL, not an IP literal with a bucket in front.
    pub fn parse(text: &str) -> Result<Self, InvalidDomain> {
        let invalid = |why: &str| InvalidDomain(format!("'{text}' {why}"));
        if text.contains("://") {
            return Err(invalid("is a URL: give the host name only"));
        }
        let (host, port) = split_port(text.as_bytes()).ok_or_else(|| invalid("has a bad port"))?;
        let host = std::str::from_utf8(host).map_err(|_| invalid("is not a host name"))?;
        let label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if host.is_empty() || host.len() > 253 || !host.split('.').all(label) {
            return Err(invalid("is not a host name"));
        }
        Ok(PublicDomain {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for PublicDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

impl PublicDomains {
    pub fn new(domains: Vec<PublicDomain>) -> Self {
        PublicDomains(domains)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PublicDomain> {
        self.0.iter()
    }

    /// The style of a request whose `:authority` is `authority`, or `None` when the proxy does
    /// not serve that host. A domain without a port matches the host on any port.
    pub fn style<'r>(&self, authority: &'r [u8]) -> Option<Style<'r>> {
        let (host, port) = split_port(authority)?;
        let host = std::str::from_utf8(host).ok()?;
        let port_fits = |d: &PublicDomain| d.port.is_none() || d.port == port;
        // With nested domains (s3.a.com and a.com), the longest one decides.
        let mut bucket: Option<&'r str> = None;
        for domain in self.0.iter().filter(|d| port_fits(d)) {
            if host.eq_ignore_ascii_case(&domain.host) {
                return Some(Style::Path);
            }
            let Some(split) = host.len().checked_sub(domain.host.len() + 1) else {
                continue;
            };
            let (prefix, dot_domain) = host.split_at(split);
            let under_domain = !prefix.is_empty()
                && dot_domain.starts_with('.')
                && dot_domain[1..].eq_ignore_ascii_case(&domain.host);
            if under_domain && bucket.is_none_or(|b| prefix.len() < b.len()) {
                bucket = Some(prefix);
            }
        }
        bucket.map(|bucket| Style::Virtual { bucket })
    }
}

/// `host[:port]` → (host, port). A port must be 1..=65535 written in digits only.
fn split_port(authority: &[u8]) -> Option<(&[u8], Option<u16>)> {
    let Some(colon) = authority.iter().rposition(|&b| b == b':') else {
        return Some((authority, None));
    };
    let digits = &authority[colon + 1..];
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let port = digits
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    let port = u16::try_from(port).ok().filter(|&p| p != 0)?;
    Some((&authority[..colon], Some(port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(list: &[&str]) -> PublicDomains {
        PublicDomains::new(
            list.iter()
                .map(|d| PublicDomain::parse(d).unwrap())
                .collect(),
        )
    }

    #[test]
    fn path_style_and_virtual_hosted() {
        let d = domains(&["s3.mydomain.com"]);
        assert_eq!(d.style(b"s3.mydomain.com"), Some(Style::Path));
        assert_eq!(d.style(b"S3.MyDomain.com:443"), Some(Style::Path));
        assert_eq!(
            d.style(b"photos.s3.mydomain.com"),
            Some(Style::Virtual { bucket: "photos" })
        );
        assert_eq!(
            d.style(b"my.dotted.bucket.s3.mydomain.com:8080"),
            Some(Style::Virtual {
                bucket: "my.dotted.bucket"
            })
        );
    }

    #[test]
    fn other_hosts_are_not_served() {
        let d = domains(&["s3.mydomain.com", "localhost:10000"]);
        for host in [
            &b"s3.example.com"[..],
            b"mydomain.com",
            b"xs3.mydomain.com",
            b".s3.mydomain.com",
            b"s3.mydomain.com.evil",
            b"s3.mydomain.com:0",
            b"s3.mydomain.com:99999",
            b"s3.mydomain.com:",
            b"s3.mydomain.com:+1",
            b"localhost",
            b"localhost:10001",
            b"b.localhost:10001",
            b"\xff.s3.mydomain.com",
            b"",
        ] {
            assert_eq!(d.style(host), None, "{}", String::from_utf8_lossy(host));
        }
        assert_eq!(d.style(b"localhost:10000"), Some(Style::Path));
        assert_eq!(
            d.style(b"b.localhost:10000"),
            Some(Style::Virtual { bucket: "b" })
        );
    }

    #[test]
    fn the_longest_domain_decides() {
        let d = domains(&["mydomain.com", "s3.mydomain.com"]);
        assert_eq!(
            d.style(b"b.s3.mydomain.com"),
            Some(Style::Virtual { bucket: "b" })
        );
        assert_eq!(d.style(b"s3.mydomain.com"), Some(Style::Path));
        let d = domains(&["s3.mydomain.com", "mydomain.com"]);
        assert_eq!(
            d.style(b"b.s3.mydomain.com"),
            Some(Style::Virtual { bucket: "b" })
        );
    }

    #[test]
    fn parses_domains() {
        for bad in [
            "",
            "https://s3.mydomain.com",
            "s3.mydomain.com/",
            "s3..mydomain.com",
            "s3.mydomain.com:0",
            "s3.mydomain.com:x",
            "*.mydomain.com",
            "[::1]:80",
            "a b",
        ] {
            assert!(PublicDomain::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PublicDomain::parse("S3.MyDomain.com:8443")
                .unwrap()
                .to_string(),
            "s3.mydomain.com:8443"
        );
    }
}
