//! `x-amz-*` headers change what S3 does (`x-amz-copy-source` turns a PUT into a copy,
//! `x-amz-acl` publishes the object, `x-amz-meta-*` writes metadata), so a verified request
//! may carry only those its signature covers. S3 refuses the others the same way: 403
//! AccessDenied with a `HeadersNotSigned` list.
//!
//! S3-compatible servers act on more than `x-amz-*`: MinIO on `x-minio-*`
//! (`x-minio-force-delete` empties a bucket it deletes), Ceph RGW on `x-rgw-*`, and servers that
//! read headers CGI-style fold `_` into `-`, so `x_amz_acl` is `x-amz-acl` there. Those count
//! as the same protected names here: unsigned, they are refused.
//!
//! So do the S3 APIs of other clouds, on headers of their own (found missing by an unanchored
//! attack run, 2026-12-02): Alibaba OSS `x-oss-*`, Tencent COS `x-cos-*`, Huawei OBS
//! `x-obs-*`, Dell ECS `x-emc-*` (`x-emc-namespace` picks the tenant), NetApp StorageGRID
//! `x-ntap-sg-*`, IBM COS `ibm-*` (a new bucket's key and service instance), and Cloudflare R2
//! `cf-create-bucket-if-missing` (a PUT that creates its bucket) and `cf-copy-destination-if-*`;
//! not the rest of `cf-*`, which Cloudflare's edge adds to every request it passes on.
//!
//! Some origins also read other names as `x-amz-*` ones, which no S3 client sends: Ceph RGW
//! takes `x-goog-*`, `x-dho-*`, `x-object-*`, `x-container-*` and `x-account-*` for `x-amz-*`
//! (metadata, the website redirect, SSE-C keys), SeaweedFS stores `Seaweed-X-Amz-*` (a legal
//! hold, the owner, the ACL) and reads `X-SeaweedFS-*` keys and IVs; and MinIO (with
//! minio/pkg before 3.7.0) lets a header named like a policy condition key (`SourceIp`,
//! `SecureTransport`, `CurrentTime`, a claim such as `Sub`) stand for that key's value. These
//! are refused unsigned on anonymous requests as well: on those they would answer questions
//! the origin asks about the anonymous client itself. So are Swift's credentials
//! (`X-Auth-User`, `X-Auth-Key`, `X-Auth-Token`, `X-Storage-*`, `X-Service-Token`): Ceph RGW
//! serves Swift on the same port and would authenticate a request by them (a review,
//! 2026-12-01).
//!
//! No header name may hold `_` but a metadata key's (`x-amz-meta-user_id`, as boto3 sends
//! `Metadata={'user_id': ...}`): an origin that folds `_` into `-` would read any other as a
//! name the filter reads, or a route or policy matches, by its `-` spelling alone
//! (`content_md5`, `x_forwarded_for`). Envoy could refuse them all before the filter
//! (`headers_with_underscores_action`), but would refuse with them the metadata keys S3
//! clients send.

use crate::bytes::{find_byte, is_amz_name, split, starts_with_ignore_ascii_case};
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
    /// Every header spelt `x-amz-*` (SigV2 signs them all by construction, and only them).
    AllAmz,
    /// Nothing: an anonymous request, forwarded unsigned for the origin to judge as such.
    Nothing,
}

impl Covered {
    /// Whether the signature lists `name` among its signed headers.
    pub fn lists(&self, name: &[u8]) -> bool {
        match self {
            Covered::Listed(list) => {
                split(list, b';').any(|signed| signed.as_bytes().eq_ignore_ascii_case(name))
            }
            Covered::AllAmz | Covered::Nothing => false,
        }
    }
}

/// How much a header's name matters to origins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protection {
    /// `x-amz-*`, `x-minio-*`, `x-rgw-*`, and the S3-compatible clouds' own (below): refused
    /// unless signed; an anonymous request may carry them, for the origin to judge it by.
    Named,
    /// A name an origin reads as one of those, or as a policy condition's value: refused
    /// unless signed, on anonymous requests too.
    Alias,
}

pub fn check(req: &Request<'_>, covered: &Covered) -> Result<(), Rejection> {
    let is_covered = |name: &[u8], protection| match covered {
        Covered::Nothing => protection == Protection::Named,
        // SigV2's string to sign takes the names spelt `x-amz-` exactly, and no other.
        Covered::AllAmz => is_amz_name(name),
        Covered::Listed(_) => covered.lists(name),
    };
    let mut unsigned: Vec<String> = Vec::new();
    for (name, _) in req.headers.iter() {
        // Unsigned, a protected name is refused with the others below, whatever its spelling.
        if protection(name).is_some_and(|protection| !is_covered(name, protection)) {
            unsigned.push(String::from_utf8_lossy(name).to_ascii_lowercase());
        } else if find_byte(name, b'_').is_some() && !is_user_metadata(name) {
            // Signed, or let by on an anonymous request, the `_` spelling would still pass
            // every rule that reads the `-` one (a copy source's, the digest's, aws-chunked
            // framing's, a route's `X-Forwarded-For`) to reach an origin that folds it: Ceph
            // copied from `x_amz_copy_source` unread (a review, 2026-12-06). No client spells
            // them so; a metadata key may hold `_` (`x-amz-meta-user_id`), and the one rule
            // that reads a metadata key, MinIO's `snowball-auto-extract` (`body_checks`),
            // reads it as MinIO does, which keeps `_` as sent.
            return Err(spelt_with_underscore(name));
        }
    }
    if unsigned.is_empty() {
        return Ok(());
    }
    crate::sort::sort(&mut unsigned);
    unsigned.dedup();
    Err(Rejection::from(
        S3Error::new(
            S3ErrorCode::AccessDenied,
            "There were headers present in the request which were not signed",
        )
        .with_detail("HeadersNotSigned", unsigned.join(", ")),
    ))
}

/// How a header, spelt with `_` or `-`, in any case, matters to origins; `None` when it does
/// not (nor does the payload hash: S3 lets it go unsigned, and the origin checks the body
/// against it). Every header of every request is asked: its first and third bytes pick the
/// few names it could be.
fn protection(name: &[u8]) -> Option<Protection> {
    use Protection::{Alias, Named};
    if name.eq_ignore_ascii_case(MAY_GO_UNSIGNED) {
        return None;
    }
    let first = fold(*name.first()?);
    let prefixes: &[(&[u8], Protection)] = match (first, name.get(2).copied().map(fold)) {
        (b'x', Some(b'a')) => &[(AMZ_PREFIX, Named), (b"x-account-", Alias)],
        (b'x', Some(b'm')) => &[(b"x-minio-", Named)],
        (b'x', Some(b'r')) => &[(b"x-rgw-", Named)],
        (b'x', Some(b'g')) => &[(b"x-goog-", Alias)],
        (b'x', Some(b'd')) => &[(b"x-dho-", Alias)],
        (b'x', Some(b'o')) => &[
            (b"x-object-", Alias),
            (b"x-oss-", Named),
            (b"x-obs-", Named),
        ],
        (b'x', Some(b'c')) => &[(b"x-container-", Alias), (b"x-cos-", Named)],
        (b'x', Some(b's')) => &[(b"x-seaweedfs-", Alias)],
        (b'x', Some(b'e')) => &[(b"x-emc-", Named)],
        (b'x', Some(b'n')) => &[(b"x-ntap-sg-", Named)],
        (b's', _) => &[(b"seaweed-", Alias)],
        (b'i', _) => &[(b"ibm-", Named)],
        (b'c', _) => &[
            (b"cf-create-bucket-", Named),
            (b"cf-copy-destination-", Named),
        ],
        _ => &[],
    };
    let by_prefix = prefixes.iter().find(|(prefix, _)| {
        name.get(..prefix.len())
            .is_some_and(|start| folded_eq(start, prefix))
    });
    match by_prefix {
        Some(&(_, protection)) => Some(protection),
        None => condition_keys(first)
            .iter()
            .chain(if first == b'x' {
                &SWIFT_CREDENTIALS[..]
            } else {
                &[]
            })
            .any(|key| folded_eq(name, key))
            .then_some(Alias),
    }
}

/// Swift's credentials, which Ceph RGW reads on the S3 port: a login and its tokens. Exact
/// names, not prefixes: `X-Auth-Request-User`, which oauth2-proxy adds, is none of Swift's.
const SWIFT_CREDENTIALS: [&[u8]; 7] = [
    b"x-auth-user",
    b"x-auth-key",
    b"x-auth-token",
    b"x-storage-user",
    b"x-storage-pass",
    b"x-storage-token",
    b"x-service-token",
];

/// The names MinIO reads as policy condition keys (`aws:SourceIp` from `SourceIp`, and
/// claims such as `jwt:sub` from `Sub`: minio/pkg's `condition/key.go`) that begin with
/// `first`, folded.
fn condition_keys(first: u8) -> &'static [&'static [u8]] {
    match first {
        b'a' => &[b"authtype", b"aud", b"address"],
        b'b' => &[b"birthdate"],
        b'c' => &[b"currenttime", b"client-id"],
        b'd' => &[b"delimiter", b"durationseconds", b"dn"],
        b'e' => &[b"epochtime", b"email"],
        b'f' => &[b"family-name"],
        b'g' => &[b"groups", b"gender", b"given-name"],
        b'i' => &[b"iss"],
        b'j' => &[b"jti"],
        b'l' => &[b"locationconstraint", b"ldapuser"],
        b'm' => &[b"max-keys", b"middle-name"],
        b'n' => &[b"name", b"nickname"],
        b'o' => &[
            b"object-lock-mode",
            b"object-lock-legal-hold",
            b"object-lock-retain-until-date",
            b"object-lock-remaining-retention-days",
        ],
        b'p' => &[
            b"principaltype",
            b"prefix",
            b"profile",
            b"picture",
            b"preferred-username",
            b"phone-number",
        ],
        b'r' => &[b"requestobjecttagkeys"],
        b's' => &[
            b"sourceip",
            b"securetransport",
            b"signatureversion",
            b"signatureage",
            b"sub",
            b"scope",
        ],
        b'u' => &[b"useragent", b"username", b"userid", b"user", b"upn"],
        b'v' => &[b"versionid"],
        b'w' => &[b"website"],
        _ => &[],
    }
}

/// The refusal of a protected name spelt with `_`, built out of the header loop's way.
#[cold]
#[inline(never)]
fn spelt_with_underscore(name: &[u8]) -> Rejection {
    Rejection::new(
        S3ErrorCode::InvalidArgument,
        format!(
            "The header '{}' is read as its '-' spelling by origins that fold '_' into '-': spell it with '-'.",
            String::from_utf8_lossy(name)
        ),
    )
}

/// A user metadata header, its prefix spelt as S3 spells it: its key is the user's own.
fn is_user_metadata(name: &[u8]) -> bool {
    starts_with_ignore_ascii_case(name, b"x-amz-meta-")
}

/// Whether `name`, folded, is `lower` (which is lower case, with `-`).
fn folded_eq(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).all(|(&n, &l)| fold(n) == l)
}

fn fold(b: u8) -> u8 {
    match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    }
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

    #[test]
    fn vendor_headers_and_underscore_spellings_are_protected_too() {
        let listed = Covered::Listed("host;x-amz-date".into());
        let headers = [
            ("x-minio-force-delete", "true"),
            ("X-Rgw-Anything", "1"),
            ("x_amz_acl", "public-read"),
            ("X_Amz_Copy_Source", "b/secret"),
            ("x-amz_meta-a", "1"),
            // Only the exact spelling of the payload hash may go unsigned: another could make
            // an origin read another hash than the one verified.
            ("x_amz_content_sha256", "UNSIGNED-PAYLOAD"),
            ("x-minio", "no dash after"),
            ("x-amzn-trace-id", "Root=1"),
        ];
        assert_eq!(
            unsigned(&headers, &listed).as_deref(),
            Some("x-amz_meta-a, x-minio-force-delete, x-rgw-anything, x_amz_acl, x_amz_content_sha256, x_amz_copy_source")
        );
        // SigV2 signs what is spelt x-amz- exactly, and a name longer than the prefix alone;
        // the rest is unsigned there too.
        assert!(unsigned(&[("x-amz-", "1")], &Covered::AllAmz).is_some());
        assert_eq!(
            unsigned(&headers, &Covered::AllAmz).as_deref(),
            Some("x-amz_meta-a, x-minio-force-delete, x-rgw-anything, x_amz_acl, x_amz_content_sha256, x_amz_copy_source")
        );
        // Signed under their own names, they pass.
        let signed = Covered::Listed("host;x-minio-force-delete".into());
        assert_eq!(unsigned(&headers[..1], &signed), None);
        // Spelt with `_`, signed or on an anonymous request, they are refused all the same:
        // the rules that read a header read the `-` spelling, and Ceph folds one into the
        // other (a review, 2026-12-06).
        for name in ["X_Amz_Copy_Source", "x-amz-copy_source", "x_amz_meta-a"] {
            let pairs = request(&[(name, "b/secret")]);
            let req = Request::from_pairs(&pairs).unwrap();
            let signed = Covered::Listed(format!("host;{}", name.to_ascii_lowercase()));
            for covered in [signed, Covered::Nothing] {
                let refused = check(&req, &covered).unwrap_err();
                assert_eq!(
                    refused.error.code,
                    S3ErrorCode::InvalidArgument,
                    "{name} {covered:?}"
                );
            }
        }
        // A metadata key is the user's own, `_` and all (boto3's `Metadata={"user_id": …}`);
        // added unsigned to a signed request, it is refused like any other.
        assert_eq!(
            unsigned(&[("x-amz-meta-user_id", "7")], &listed).as_deref(),
            Some("x-amz-meta-user_id")
        );
        let pairs = request(&[("x-amz-meta-user_id", "7")]);
        let req = Request::from_pairs(&pairs).unwrap();
        for covered in [
            Covered::Listed("host;x-amz-meta-user_id".into()),
            Covered::AllAmz,
            Covered::Nothing,
        ] {
            assert!(check(&req, &covered).is_ok(), "{covered:?}");
        }
    }

    #[test]
    fn no_other_name_may_hold_an_underscore() {
        // Origins that fold `_` read these as the address a route rewrites, a condition, a
        // digest; signed or not, anonymous or not, none goes on.
        for name in [
            "x_forwarded_for",
            "X_Real_IP",
            "if_none_match",
            "content_md5",
            "my_header",
            "_",
        ] {
            let pairs = request(&[(name, "1")]);
            let req = Request::from_pairs(&pairs).unwrap();
            let signed = Covered::Listed(format!("host;{}", name.to_ascii_lowercase()));
            for covered in [signed, Covered::AllAmz, Covered::Nothing] {
                let refused = check(&req, &covered).unwrap_err();
                assert_eq!(
                    refused.error.code,
                    S3ErrorCode::InvalidArgument,
                    "{name} {covered:?}"
                );
                assert!(
                    refused.error.message.contains(name),
                    "{}",
                    refused.error.message
                );
            }
        }
        let pairs = request(&[("x-forwarded-for", "1"), ("if-none-match", "*")]);
        let req = Request::from_pairs(&pairs).unwrap();
        assert!(check(&req, &Covered::Nothing).is_ok());
    }

    #[test]
    fn other_clouds_headers_are_protected_but_cloudflares_own_pass() {
        let listed = Covered::Listed("host;x-amz-date;x-oss-meta-signed".into());
        let headers = [
            ("x-oss-object-acl", "public-read"),
            ("X-Cos-Acl", "public-read"),
            ("x-obs-acl", "public-read"),
            ("x-emc-namespace", "other-tenant"),
            ("x-ntap-sg-consistency", "weak"),
            ("ibm-sse-kp-customer-root-key-crn", "crn:x"),
            ("cf-create-bucket-if-missing", "true"),
            ("CF_Copy_Destination_If_None_Match", "*"),
            ("x-oss-meta-signed", "1"),
            // What Cloudflare's edge adds, and names like theirs.
            ("cf-connecting-ip", "192.0.2.1"),
            ("cf-ray", "8a1"),
            ("cf-ipcountry", "NL"),
            ("x-ossified", "no dash after x-oss"),
            ("x-emc", "no dash after"),
            ("ibm", "no dash after"),
        ];
        let refused = "cf-create-bucket-if-missing, cf_copy_destination_if_none_match, ibm-sse-kp-customer-root-key-crn, x-cos-acl, x-emc-namespace, x-ntap-sg-consistency, x-obs-acl, x-oss-object-acl";
        assert_eq!(unsigned(&headers, &listed).as_deref(), Some(refused));
        // The origin judges an anonymous request by them, as by x-amz-*, spelt with `-`.
        let dashed: Vec<_> = headers
            .into_iter()
            .filter(|(n, _)| !n.contains('_'))
            .collect();
        assert_eq!(unsigned(&dashed, &Covered::Nothing), None);
    }

    #[test]
    fn names_origins_read_as_amz_headers_or_condition_keys_are_protected_even_anonymous() {
        let listed = Covered::Listed("host;x-amz-date;x-goog-meta-signed".into());
        let headers = [
            ("x-goog-server-side-encryption-customer-key", "k"),
            ("X-Object-Meta-A", "1"),
            ("x-dho-meta-a", "1"),
            ("x-container-read", "*"),
            ("x-account-meta-a", "1"),
            ("Seaweed-X-Amz-Legal-Hold", "ON"),
            ("x-seaweedfs-sse-s3-base-iv", "x"),
            // Swift's credentials, which Ceph RGW reads on the same port.
            ("X-Auth-Token", "AUTH_rgwtk0"),
            ("x_auth_user", "t:u"),
            ("X-Storage-Pass", "guess"),
            ("SourceIp", "10.1.2.3"),
            ("securetransport", "true"),
            ("Object_Lock_Mode", "COMPLIANCE"),
            ("sub", "admin"),
            ("Nickname", "admin"),
            ("Preferred_Username", "admin"),
            ("x-goog-meta-signed", "1"),
            // Names like them, but not them.
            ("user-agent", "aws-sdk"),
            ("x-authorization", "x"),
            ("x-storage", "no dash after"),
            ("X-Auth-Request-User", "oauth2-proxy's"),
            ("referer", "https://example.com"),
            ("x-object", "no dash after"),
            ("subject", "x"),
            ("content-type", "text/plain"),
        ];
        let refused = "nickname, object_lock_mode, preferred_username, seaweed-x-amz-legal-hold, securetransport, sourceip, sub, x-account-meta-a, x-auth-token, x-container-read, x-dho-meta-a, x-goog-server-side-encryption-customer-key, x-object-meta-a, x-seaweedfs-sse-s3-base-iv, x-storage-pass, x_auth_user";
        assert_eq!(unsigned(&headers, &listed).as_deref(), Some(refused));
        // Anonymous requests may not carry them either; SigV2 signs none of them.
        let also_unsigned = refused.replace("x-dho-meta-a, ", "x-dho-meta-a, x-goog-meta-signed, ");
        assert_eq!(
            unsigned(&headers, &Covered::Nothing).as_deref(),
            Some(also_unsigned.as_str())
        );
        assert_eq!(
            unsigned(&headers, &Covered::AllAmz).as_deref(),
            Some(also_unsigned.as_str())
        );
        assert_eq!(unsigned(&headers[16..], &listed), None);
        assert_eq!(unsigned(&headers[17..], &Covered::Nothing), None);
    }

    /// Each condition key MinIO takes from a header is refused unsigned, whatever its first
    /// letter: the table is split by that letter, and cargo-mutants deleted the arm of most
    /// letters (`a`–`m`, `r`, `u`, `v`) without a test noticing, so a header such as
    /// `UserName` or `VersionId` could have stood in for a policy's condition value again.
    #[test]
    fn every_condition_key_minio_reads_is_refused_unsigned_even_anonymous() {
        // minio/pkg's condition/key.go names (and jwt claims), as a client could spell them.
        let keys = [
            "AuthType",
            "Aud",
            "Address",
            "Birthdate",
            "CurrentTime",
            "Client_Id",
            "Delimiter",
            "DurationSeconds",
            "Dn",
            "EpochTime",
            "Email",
            "Family-Name",
            "Groups",
            "Gender",
            "Given_Name",
            "Iss",
            "Jti",
            "LocationConstraint",
            "LdapUser",
            "Max-Keys",
            "Middle_Name",
            "Name",
            "Nickname",
            "Object-Lock-Mode",
            "Object-Lock-Legal-Hold",
            "Object-Lock-Retain-Until-Date",
            "Object-Lock-Remaining-Retention-Days",
            "PrincipalType",
            "Prefix",
            "Profile",
            "Picture",
            "Preferred_Username",
            "Phone-Number",
            "RequestObjectTagKeys",
            "SourceIp",
            "SecureTransport",
            "SignatureVersion",
            "SignatureAge",
            "Sub",
            "Scope",
            "UserAgent",
            "Username",
            "UserId",
            "User",
            "Upn",
            "VersionId",
            "Website",
        ];
        for key in keys {
            let refused = unsigned(&[(key, "x")], &Covered::Nothing);
            assert_eq!(refused, Some(key.to_ascii_lowercase()), "{key}");
        }
    }
}
