//! The SigV2 string to sign:
//!
//! ```text
//! <method>\n<Content-MD5>\n<Content-Type>\n<Date or Expires>\n<x-amz-* headers><resource>
//! ```
//!
//! The resource is `/bucket/key` as sent (encoded), followed by the sub-resources S3 signs,
//! sorted, with their values decoded. Every other query parameter is outside the signature.

use crate::bytes::is_amz_name;
use crate::sigv4::query::params;
use std::borrow::Cow;

/// The query parameters S3 signs in SigV2, sorted: what the AWS SDKs sign and S3-compatible
/// servers check.
pub const SUB_RESOURCES: [&str; 35] = [
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The signed sub-resources of a query, in signing order: name and decoded value.
pub type SubResources<'q> = Vec<(&'static str, Cow<'q, [u8]>)>;

/// Sub-resources whose string to sign would stand for other requests too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmbiguousSubResources {
    /// One appears twice: which copy is signed would be ambiguous.
    Repeated(&'static str),
    /// One's decoded value holds `&` and the name of another: in the string to sign,
    /// `?partNumber=1&uploadId=U` is one parameter (`partNumber=1%26uploadId%3DU`) as well as
    /// two, so a signature over the two would let the one through, and the origin would be
    /// asked for another operation (a PutObject instead of an UploadPart).
    Folded(&'static str),
}

/// The sub-resources of a raw query, in signing order, values decoded.
pub fn sub_resources(raw_query: &[u8]) -> Result<SubResources<'_>, AmbiguousSubResources> {
    let mut found: SubResources = Vec::new();
    for param in params(raw_query) {
        let Some(name) = sub_resource(&param.decoded_name()) else {
            continue;
        };
        if found.iter().any(|(n, _)| *n == name) {
            return Err(AmbiguousSubResources::Repeated(name));
        }
        let value = param.decoded_value();
        if folds_a_sub_resource(&value) {
            return Err(AmbiguousSubResources::Folded(name));
        }
        found.push((name, value));
    }
    crate::sort::sort_by_key(&mut found, |(name, _)| *name);
    Ok(found)
}

/// Whether a value reads, in the string to sign, as ending one sub-resource and starting
/// another. A `&` before anything else (`filename="a&b.txt"`) is harmless: no request's string
/// to sign has a parameter there that is not a sub-resource.
fn folds_a_sub_resource(value: &[u8]) -> bool {
    value.split(|&b| b == b'&').skip(1).any(|piece| {
        let name = piece
            .iter()
            .position(|&b| b == b'=')
            .map_or(piece, |at| &piece[..at]);
        sub_resource(name).is_some()
    })
}

/// The sub-resource `name` spells, if it spells one (names are case-sensitive).
fn sub_resource(name: &[u8]) -> Option<&'static str> {
    let at = SUB_RESOURCES
        .binary_search_by(|s| s.as_bytes().cmp(name))
        .ok()?;
    Some(SUB_RESOURCES[at])
}

/// The string to sign of a request. `date_line` is the `Date` header for header auth (empty
/// when `x-amz-date` is sent: it is signed among the `x-amz-*` headers), `Expires` for a
/// presigned URL; `resource` is `/bucket/key` as the request addresses it.
pub fn string_to_sign(
    method: &[u8],
    headers: &[(&[u8], &[u8])],
    date_line: &[u8],
    resource: &[u8],
    sub_resources: &SubResources<'_>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + resource.len());
    out.extend_from_slice(method);
    out.push(b'\n');
    push_joined(&mut out, headers, b"content-md5");
    out.push(b'\n');
    push_joined(&mut out, headers, b"content-type");
    out.push(b'\n');
    out.extend_from_slice(date_line);
    out.push(b'\n');
    push_amz_headers(&mut out, headers);
    out.extend_from_slice(resource);
    for (i, (name, value)) in sub_resources.iter().enumerate() {
        out.push(if i == 0 { b'?' } else { b'&' });
        out.extend_from_slice(name.as_bytes());
        if !value.is_empty() {
            out.push(b'=');
            out.extend_from_slice(value);
        }
    }
    out
}

/// The values of `name`, joined with `,` (normally there is one).
fn push_joined(out: &mut Vec<u8>, headers: &[(&[u8], &[u8])], name: &[u8]) {
    let values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_ascii());
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(value);
    }
}

/// `name:value[,value]\n` for every `x-amz-*` header, names lower-cased and sorted, values
/// trimmed and joined in arrival order.
fn push_amz_headers(out: &mut Vec<u8>, headers: &[(&[u8], &[u8])]) {
    let mut amz: Vec<(Vec<u8>, &[u8])> = headers
        .iter()
        .filter(|(n, _)| is_amz_name(n))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim_ascii()))
        .collect();
    // Stable: repeated headers keep their order.
    crate::sort::sort_by(&mut amz, |a, b| a.0.cmp(&b.0));
    for (i, (name, value)) in amz.iter().enumerate() {
        let first = i == 0 || amz[i - 1].0 != *name;
        if first {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(name);
            out.push(b':');
        } else {
            out.push(b',');
        }
        out.extend_from_slice(value);
    }
    if !amz.is_empty() {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(headers: &[(&str, &str)], date: &str, resource: &str, query: &str) -> String {
        let headers: Vec<(&[u8], &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        let subs = sub_resources(query.as_bytes()).unwrap();
        String::from_utf8(string_to_sign(
            b"GET",
            &headers,
            date.as_bytes(),
            resource.as_bytes(),
            &subs,
        ))
        .unwrap()
    }

    #[test]
    fn sub_resources_are_sorted_and_known() {
        assert!(SUB_RESOURCES.windows(2).all(|w| w[0] < w[1]));
        let subs =
            sub_resources(b"versionId=3&prefix=a&acl&response-content-type=text%2Fplain").unwrap();
        let names: Vec<&str> = subs.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["acl", "response-content-type", "versionId"]);
        assert_eq!(subs[1].1.as_ref(), b"text/plain");
        assert_eq!(
            sub_resources(b"acl&acl=").unwrap_err(),
            AmbiguousSubResources::Repeated("acl")
        );
    }

    #[test]
    fn a_value_that_reads_as_more_sub_resources_is_refused() {
        for query in [
            &b"partNumber=1%26uploadId%3DU"[..],
            b"response-content-type=text%2Fplain%26versionId%3Dv1",
            b"response-content-type=a%26acl",
            b"versionId=1%26tagging%26x",
        ] {
            assert!(
                matches!(sub_resources(query), Err(AmbiguousSubResources::Folded(_))),
                "{}",
                String::from_utf8_lossy(query)
            );
        }
        // A `&` before anything but a sub-resource cannot stand for one.
        for query in [
            &b"response-content-disposition=attachment%3B%20filename%3D%22a%26b.txt%22"[..],
            b"response-content-type=a%26",
            b"response-content-type=a%26Acl%3D1",
        ] {
            assert!(
                sub_resources(query).is_ok(),
                "{}",
                String::from_utf8_lossy(query)
            );
        }
    }

    #[test]
    fn the_documented_examples() {
        assert_eq!(
            sts(
                &[("date", "Tue, 27 Mar 2007 19:36:42 +0000")],
                "Tue, 27 Mar 2007 19:36:42 +0000",
                "/awsexamplebucket1/photos/puppy.jpg",
                ""
            ),
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"
        );
        assert_eq!(
            sts(
                &[],
                "Tue, 27 Mar 2007 19:44:46 +0000",
                "/awsexamplebucket1/",
                "acl"
            ),
            "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/awsexamplebucket1/?acl"
        );
    }

    #[test]
    fn repeated_content_headers_are_trimmed_and_joined_with_commas() {
        let got = sts(
            &[
                ("Content-MD5", " a== "),
                ("content-type", "text/plain"),
                ("content-md5", "b=="),
                ("Content-Type", " charset=utf-8"),
                ("content-md5", "c=="),
            ],
            "",
            "/b/k",
            "",
        );
        assert_eq!(got, "GET\na==,b==,c==\ntext/plain,charset=utf-8\n\n/b/k");
    }

    #[test]
    fn amz_headers_are_lowered_sorted_trimmed_and_joined() {
        let got = sts(
            &[
                ("X-Amz-Meta-B", " 2 "),
                ("content-type", "text/plain"),
                ("x-amz-meta-a", "1"),
                ("x-amz-meta-b", "3"),
                ("content-md5", "abc=="),
                ("x-amzn-trace-id", "not signed"),
            ],
            "",
            "/b/k",
            "partNumber=2&uploadId=u%2F1&max-keys=5",
        );
        assert_eq!(
            got,
            "GET\nabc==\ntext/plain\n\nx-amz-meta-a:1\nx-amz-meta-b:2,3\n/b/k?partNumber=2&uploadId=u/1"
        );
    }
}
