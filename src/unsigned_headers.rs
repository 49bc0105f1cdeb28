//! `x-amz-*` headers change what S3 does (`x-amz-copy-source` turns a PUT into a copy,
//! `x-amz-acl` publishes the object, `x-amz-meta-*` writes metadata), so a verified request
//! may carry only those its signature covers. S3 refuses the others the same way: 403
//! AccessDenied with a `HeadersNotSigned` list.

use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::{S3Error, S3ErrorCode};

const AMZ_PREFIX: &[u8] = b"x-amz-";
/// S3 lets the payload hash go unsigned: it only says what the body is, and the origin
/// checks the body against it.
const MAY_GO_UNSIGNED: &[u8] = b"x-amz-content-sha256";

/// Which headers a verified request's signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Covered {
    /// The SigV4 signed-header list, `a;b;c`.
    Listed(String),
    /// Every `x-amz-*` header (SigV2 signs them all by construction).
    AllAmz,
    /// Nothing: an anonymous request, forwarded unsigned for the origin to judge as such.
    Nothing,
}

pub fn check(req: &Request<'_>, covered: &Covered) -> Result<(), Rejection> {
    let Covered::Listed(list) = covered else {
        return Ok(());
    };
    let is_listed = |name: &[u8]| {
        list.split(';')
            .any(|signed| signed.as_bytes().eq_ignore_ascii_case(name))
    };
    let mut unsigned: Vec<String> = req
        .headers
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| {
            name.len() >= AMZ_PREFIX.len()
                && name[..AMZ_PREFIX.len()].eq_ignore_ascii_case(AMZ_PREFIX)
                && !name.eq_ignore_ascii_case(MAY_GO_UNSIGNED)
                && !is_listed(name)
        })
        .map(|name| String::from_utf8_lossy(name).to_ascii_lowercase())
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    unsigned.sort_unstable();
    unsigned.dedup();
    Err(Rejection::from(
        S3Error::new(
            S3ErrorCode::AccessDenied,
            "There were headers present in the request which were not signed",
        )
        .with_detail("HeadersNotSigned", unsigned.join(", ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut pairs = vec![
            (":method".to_owned(), "PUT".to_owned()),
            (":path".to_owned(), "/b/k".to_owned()),
            (":authority".to_owned(), "h".to_owned()),
        ];
        pairs.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        pairs
    }

    fn unsigned(headers: &[(&str, &str)], covered: &Covered) -> Option<String> {
        let pairs = request(headers);
        let req = Request::from_pairs(&pairs).unwrap();
        check(&req, covered).err().map(|r| {
            assert_eq!(r.error.code, S3ErrorCode::AccessDenied);
            r.error.details[0].1.clone()
        })
    }

    #[test]
    fn refuses_unsigned_amz_headers_listing_them_once() {
        let listed = Covered::Listed("host;x-amz-date;x-amz-meta-a".into());
        let headers = [
            ("x-amz-date", "d"),
            ("x-amz-meta-a", "1"),
            ("X-Amz-Copy-Source", "b/secret"),
            ("x-amz-acl", "public-read"),
            ("x-amz-acl", "public-read"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amzn-trace-id", "Root=1"),
            ("x-amz", "not the prefix"),
            ("content-type", "text/plain"),
        ];
        assert_eq!(
            unsigned(&headers, &listed).as_deref(),
            Some("x-amz-acl, x-amz-copy-source")
        );
        assert_eq!(unsigned(&headers[..2], &listed), None);
        assert_eq!(unsigned(&headers[5..], &listed), None);
    }

    #[test]
    fn schemes_that_sign_every_amz_header_and_anonymous_pass() {
        let headers = [("x-amz-copy-source", "b/secret")];
        assert_eq!(unsigned(&headers, &Covered::AllAmz), None);
        assert_eq!(unsigned(&headers, &Covered::Nothing), None);
    }
}
