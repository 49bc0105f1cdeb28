//! What a request is asked besides its signature: that it is S3's and nothing another service
//! at the origin would read (a method S3 has not, STS and IAM, MinIO's admin and node APIs,
//! Ceph's Swift, admin API and requests between zones, authentication spelt otherwise, a form
//! in a signed `POST`), that its URI, `HEAD`, part and version parameters, copy source and
//! answer headers mean one thing to every origin, that it changes nothing if it came in TLS
//! early data, and how it announces itself (a CORS preflight, two `Authorization` headers).

use super::ECDSA_ALGORITHM;
use crate::addressing::{Target, MINIO_META_BUCKET, ORIGINS_OWN_BUCKETS};
use crate::body_checks::{form_in_a_signed_post, MustBeEmpty};
use crate::bytes::{
    decimal, find_byte, find_bytes, starts_with_ignore_ascii_case, unicode_lookalikes_as_ascii,
};
use crate::operations::OperationSet;
use crate::post_policy::boundary::{media_type, MediaType};
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::{S3Error, S3ErrorCode::*, S3_METHODS};
use crate::sigv2::authorization::SCHEME as SIGV2_SCHEME;
use crate::sigv2::string_to_sign::SUB_RESOURCES;
use crate::sigv4::query::{as_origins_read, names, segments, RawParam};
use crate::sigv4::signing::ALGORITHM;
use crate::sigv4::uri::{
    decode_query_component, has_stray_percent, holds_escaped_equals, is_canonical_query_component,
    path_escape_fault, EscapeFault,
};
use crate::sort::sort_by;
use percent_encoding::percent_decode;
use std::borrow::Cow;

/// Refuses a query parameter some origin reads as authentication that this filter did not
/// (Garage takes `x-amz-signature`, in any case), also after a `;` (for origins whose query
/// parser splits there): such a request is neither verified here nor anonymous, and
/// `anonymous: forward` must not let the origin authenticate it instead. (Out of line: only
/// requests that carry no authentication the filter knows get here.)
#[inline(never)]
pub(super) fn no_auth_param_spelt_otherwise(req: &Request<'_>) -> Result<(), Rejection> {
    // Ceph RGW also serves Swift on the S3 port, where a TempURL authenticates by these.
    const NAMES: [&[u8]; 7] = [
        b"x-amz-algorithm",
        b"x-amz-credential",
        b"x-amz-signature",
        b"awsaccesskeyid",
        b"signature",
        b"temp_url_sig",
        b"temp_url_expires",
    ];
    // The name is quoted as the check knows it: decoded whole, `temp_url_sig%3D…` would quote
    // the signature after it into the log (a review, 2026-12-01).
    let named = query_names(req).find_map(|name| {
        let name = as_origins_read(&name);
        NAMES
            .iter()
            .find(|auth| auth.eq_ignore_ascii_case(name))
            .copied()
    });
    named.map_or(Ok(()), |name| Err(auth_param_spelt_otherwise(name)))
}

/// Refuses a URI whose bytes origins read differently, so that one request has one meaning
/// everywhere: a `%` that begins no escape (`/a%b`, `prefix=50%`), a literal percent sign to
/// s3s and Garage, an error to Go's URL parser (MinIO's), canonicalised otherwise by Ceph RGW; a
/// path holding an escaped NUL; and a query parameter name not in canonical form
/// (`%58-Amz-Signature`, `%3d`), which s3s and Garage decode and canonicalise while Ceph signs
/// it as sent, or holding `%3D`, since Ceph decodes `name=value` whole before it splits it
/// (`acl%3D` is its `?acl`). No client sends any of them: the SDKs encode every `%`, and every
/// name canonically.
pub(super) fn plain_uri(req: &Request<'_>) -> Result<(), Rejection> {
    match path_escape_fault(req.raw_path()) {
        None => {}
        Some(EscapeFault::StrayPercent) => return Err(stray_percent()),
        // Ceph RGW fails such a path before it reads the request and answers even a HEAD with
        // a body, which Envoy read as the next answer on the connection it shares between
        // clients: another client's request failed with 502 (RT82). s3s-fs answers 500.
        Some(EscapeFault::Nul) => {
            return Err(Rejection::new(
                InvalidURI,
                "Couldn't parse the specified URI: the path holds an encoded NUL (%00), which origins read differently.",
            ))
        }
    }
    for param in req.params().iter().filter(|p| !p.canonical || p.escaped) {
        // Ceph decodes a whole `name=value` before it splits it at `=`: `acl%3D` is its `acl`.
        if !is_canonical_query_component(param.name) || holds_escaped_equals(param.name) {
            return Err(Rejection::new(
                InvalidArgument,
                "A query parameter name is not in canonical form or holds an encoded '=': percent-encode exactly the bytes outside A-Z a-z 0-9 - . _ ~, with upper-case hex digits, as the AWS SDKs do.",
            ));
        }
        if has_stray_percent(param.value) {
            return Err(stray_percent());
        }
    }
    Ok(())
}

fn stray_percent() -> Rejection {
    Rejection::new(
        InvalidURI,
        "Couldn't parse the specified URI: a '%' that begins no escape (send a percent sign as %25).",
    )
}

/// Refuses a `HEAD` that is neither HeadBucket nor HeadObject: one of the service or of a
/// sub-resource (`?acl`, `?uploads`, `?uploadId`). S3 serves none; Ceph RGW answers several
/// with a body (an ACL's XML, an empty chunked one), which Envoy then reads as the start of
/// the next answer on the connection it shares between clients: another client's request
/// failed with 502 (a red team against Ceph, 2026-12-04).
pub(super) fn only_s3s_head(req: &Request<'_>, target: &Target<'_>) -> Result<(), Rejection> {
    if req.method != b"HEAD" {
        return Ok(());
    }
    // Exactly as S3 spells them: in another case, a sub-resource's name is one still.
    let object_parameter = |name: &[u8]| {
        name == b"versionId" || name == b"partNumber" || name.starts_with(b"response-")
    };
    let sub_resource = req.params().iter().any(|param| {
        let name = param.decoded_name();
        !object_parameter(&name)
            && SUB_RESOURCES
                .iter()
                .any(|sub| sub.as_bytes().eq_ignore_ascii_case(&name))
    });
    if target.bucket.is_none() || sub_resource {
        return Err(Rejection::new(
            InvalidRequest,
            "HEAD serves HeadBucket and HeadObject only, not the service or a sub-resource.",
        ));
    }
    Ok(())
}

/// The largest part, and object, S3 takes: 5 GiB and 5 TiB.
const MAX_PART_BYTES: u64 = 5 << 30;
const MAX_OBJECT_BYTES: u64 = 5 << 40;

/// A part copy's `x-amz-copy-source-range` in S3's form, `bytes=first-last` in plain digits,
/// each end within an object's size and the range within a part's; a `first` past `last` is
/// the origins' to answer (416). Ceph RGW 16.2.15 reads the ends as unsigned and then as
/// signed offsets: from 2^63 on it copied the source over and over, a 1 GiB part in 2.6 s,
/// without end for a range of 2^40 (RT70, 2026-12-05). And it reads an open `last` as 0:
/// `bytes=0-` copied one byte where s3s-fs copies the rest of the source (RT71).
fn copy_source_range(range: &[u8]) -> Result<(), Rejection> {
    let within = |end: &[u8]| decimal(end).filter(|&n| n < MAX_OBJECT_BYTES);
    let plain = range
        .strip_prefix(b"bytes=")
        .and_then(|ends| crate::bytes::split_once_bytes(ends, b'-'))
        .and_then(|(first, last)| Some((within(first)?, within(last)?)))
        .filter(|&(first, last)| last < first || last - first < MAX_PART_BYTES);
    plain.map(|_| ()).ok_or_else(|| {
        Rejection::new(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, at most 5 GiB apart.",
        )
    })
}

/// The parameters naming an upload, a part and a version as S3 takes them, and no copy header among
/// the parameters.
///
/// A part's number from 1 to 10000 in plain digits: origins read the rest each their own way
/// (Ceph stored parts 10001 and 2147483647, s3s-fs parts 0 and -1, Garage parts 0 and 10001:
/// RT70, 2026-12-05; one of each, as of any parameter: `each_parameter_once`). No empty
/// `uploadId` or `versionId`, which S3 refuses: Ceph and
/// Garage ran `DELETE ?uploadId=` as a DeleteObject, Ceph `PUT ?partNumber=1&uploadId=` as a
/// PutObject, Garage `GET ?uploadId=` as a GetObject, and all three `DELETE ?versionId=` as the
/// current object's delete (RT72); nor one of white space (`blank`), nor a `versionId` on a write
/// S3 versions not (`VERSIONED_WRITES`). And a copy's source and range as headers only: Garage
/// reads a presigned URL's `x-amz-*` parameters as headers, s3s-fs none and Ceph only some
/// (`x-amz-meta-*`: RT77), so `?x-amz-copy-source-range=` reached Garage unscreened (RT71).
///
/// Read as sent, and again split at `;` too when there is one, as origins whose query parser splits
/// there read it (a review, 2026-12-05).
pub(super) fn plain_upload_part_and_version(req: &Request<'_>) -> Result<(), Rejection> {
    // Names as sent: `plain_uri` has refused those not in canonical form, so no escape spells
    // any (and decoding each name cost 0.5k instructions a presigned GET).
    let mut as_sent = PartParams::default();
    for param in req.params() {
        as_sent.read(param.name, param.value)?;
    }
    as_sent.check_version(req, &|write| {
        named_bare(req.params().iter().map(|p| (p.name == write, p.value)))
    })?;
    if holds_semicolon(req) {
        let mut split = PartParams::default();
        for (name, value) in segments(req.raw_query()) {
            split.read(as_origins_read(&name), value)?;
        }
        split.check_version(req, &|write| {
            named_bare(
                segments(req.raw_query())
                    .map(|(name, value)| (as_origins_read(&name) == write, value)),
            )
        })?;
    }
    Ok(())
}

/// Whether the query holds a raw `;`, for origins whose query parser splits there. A `;` is
/// no canonical byte, so only a parameter not in canonical form can hold one, and the SDKs
/// send none: their queries are not scanned again (a presigned URL's whole query twice cost
/// about 1k instructions a request, `make bench-instructions`).
fn holds_semicolon(req: &Request<'_>) -> bool {
    req.params().iter().any(|param| {
        !param.canonical
            && (find_byte(param.name, b';').is_some() || find_byte(param.value, b';').is_some())
    })
}

/// Refuses a query that names a parameter twice (`versionId=a&versionId=b`). Origins read a
/// repeated parameter differently: MinIO (Go's `url.Values.Get`) the first value, Ceph RGW the
/// last (RT70, for `uploadId`), while s3s-fs and Garage refuse it. And SigV4 signs the values
/// sorted, so whoever holds a URL signed over both may send them in either order and choose
/// the version such an origin acts on (an attack run, 2026-12-08). No S3 operation takes
/// a parameter twice, and no client sends one. Read as sent (`plain_uri` has refused names not
/// in canonical form, so a name has one spelling) and, when the query holds a `;`, as origins
/// that split there read it. A segment without a name names nothing, so `=a&=b` passes.
pub(super) fn each_parameter_once(req: &Request<'_>) -> Result<(), Rejection> {
    if let Some(name) = first_repeat(req.params(), |p| p.name) {
        return Err(given_twice(name));
    }
    if holds_semicolon(req) {
        let split: Vec<Vec<u8>> = segments(req.raw_query())
            .map(|(name, _)| as_origins_read(&name).to_vec())
            .collect();
        if let Some(name) = first_repeat(&split, |name| name) {
            return Err(given_twice(name));
        }
    }
    Ok(())
}

/// A name two of `items` share, the empty name aside: compared pairwise while there are a
/// request's handful, sorted beyond, so that thousands cost n log n.
fn first_repeat<'i, T>(items: &'i [T], name: impl Fn(&'i T) -> &'i [u8]) -> Option<&'i [u8]> {
    const PAIRWISE: usize = 16;
    if items.len() <= PAIRWISE {
        return items.iter().enumerate().find_map(|(i, item)| {
            let this = name(item);
            let again = items[i + 1..].iter().any(|other| name(other) == this);
            (again && !this.is_empty()).then_some(this)
        });
    }
    let mut names: Vec<&[u8]> = items.iter().map(name).collect();
    sort_by(&mut names, |a, b| a.cmp(b));
    names
        .windows(2)
        .find(|pair| pair[0] == pair[1] && !pair[0].is_empty())
        .map(|pair| pair[0])
}

fn given_twice(name: &[u8]) -> Rejection {
    Rejection::new(
        InvalidArgument,
        format!(
            "The query parameter '{}' is sent more than once, which origins read differently (some the first value, some the last); send it once.",
            String::from_utf8_lossy(name)
        ),
    )
}

/// Whether a sub-resource is named (`params`: whether each parameter is it, and its raw value),
/// and bare each time, as the SDKs send one: MinIO's router matches a sub-resource's first
/// value, decoded, against `.*`, which a newline escapes, so `?tagging=%0A&versionId=v` was its
/// PutObject of that version (a review, RV96, 2026-12-05, running MinIO's router).
fn named_bare<'v>(mut params: impl Iterator<Item = (bool, &'v [u8])>) -> bool {
    let mut named = false;
    let bare = params.all(|(is_it, value)| {
        named |= is_it;
        !is_it || value.is_empty()
    });
    named && bare
}

/// Whether a query value decodes to white space alone, which MinIO trims to no value (a
/// `versionId` of `%20` or `+` deleted the current object there: RT90, 2026-12-05, read in its
/// source), as it trims an empty one.
fn blank(raw_value: &[u8]) -> bool {
    white_space_alone(&decode_query_component(raw_value))
}

fn white_space_alone(decoded: &[u8]) -> bool {
    // Bytes that are no UTF-8 are no white space either.
    std::str::from_utf8(decoded).is_ok_and(|s| s.trim().is_empty())
}

/// Whether one reading of a query names a version (`plain_upload_part_and_version`).
#[derive(Default)]
struct PartParams {
    version: bool,
}

/// The writes S3 takes a `versionId` on, by method and sub-resource: a version's ACL, tags,
/// retention, legal hold and encryption, and its restore (`test_rejections.py` checks the list
/// against botocore's model). PutObject, CopyObject and the multipart operations take none;
/// MinIO writes the version named, replacing one that exists (RT92, 2026-12-05, read in its
/// source), where S3 keeps a version as it was written. MinIO's router tries a copy and the
/// multipart operations before these (a review, RV93): a versioned write is one of none of
/// those.
const VERSIONED_WRITES: [(&[u8], &[u8]); 6] = [
    (b"PUT", b"acl"),
    (b"PUT", b"encryption"),
    (b"PUT", b"legal-hold"),
    (b"PUT", b"retention"),
    (b"PUT", b"tagging"),
    (b"POST", b"restore"),
];

impl PartParams {
    fn read(&mut self, name: &[u8], raw_value: &[u8]) -> Result<(), Rejection> {
        const COPY: &[u8] = b"x-amz-copy-source";
        match name {
            name if starts_with_ignore_ascii_case(name, COPY) => {
                Err(Rejection::new(
                    InvalidArgument,
                    "x-amz-copy-source and its companions are headers: send them as headers, not query parameters, which origins read differently.",
                ))
            }
            b"uploadId" | b"versionId" => {
                let upload = name == b"uploadId";
                let value = decode_query_component(raw_value);
                if white_space_alone(&value) {
                    return Err(Rejection::new(
                        InvalidArgument,
                        if upload {
                            "The uploadId cannot be the empty string."
                        } else {
                            "Version id cannot be the empty string."
                        },
                    ));
                }
                // No origin's ids hold one; MinIO's router, which matches an upload's id
                // against `.*`, ran a part with `uploadId=u%0A` as a PutObject (RV96).
                if value.iter().any(u8::is_ascii_control) {
                    return Err(Rejection::new(
                        InvalidArgument,
                        "An uploadId or versionId may hold no control character.",
                    ));
                }
                self.version |= !upload;
                Ok(())
            }
            b"partNumber" => {
                let value = decode_query_component(raw_value);
                let plain = !value.starts_with(b"0")
                    && decimal(&value).is_some_and(|n| (1..=10_000).contains(&n));
                if plain {
                    Ok(())
                } else {
                    Err(Rejection::new(
                        InvalidArgument,
                        "Part number must be an integer between 1 and 10000, inclusive.",
                    ))
                }
            }
            _ => Ok(()),
        }
    }

    /// Whether a `versionId` names the version of a write S3 takes one on: the method with a
    /// `VERSIONED_WRITES` sub-resource that this reading of the query names bare
    /// (`names_write`), and no copy or multipart operation besides in any reading. What allows
    /// is read narrowly, as this reading has it: a spelling only some origins take for the
    /// sub-resource is PutObject to the others (RV95: `?versionId=v&%3Ftagging`). What takes
    /// the allowance back is read as broadly as any origin may. Asked only of a write naming a
    /// version, which few requests are.
    fn a_versioned_write(req: &Request<'_>, names_write: &dyn Fn(&[u8]) -> bool) -> bool {
        let named = VERSIONED_WRITES
            .iter()
            .any(|&(method, write)| method == req.method && names_write(write));
        let copies = req.values("x-amz-copy-source").next().is_some();
        let multipart = names(req.raw_query()).any(|name| {
            matches!(
                as_origins_read(&name),
                b"uploads" | b"uploadId" | b"partNumber"
            )
        });
        named && !copies && !multipart
    }

    fn check_version(
        &self,
        req: &Request<'_>,
        names_write: &dyn Fn(&[u8]) -> bool,
    ) -> Result<(), Rejection> {
        if self.version
            && matches!(req.method, b"PUT" | b"POST")
            && !Self::a_versioned_write(req, names_write)
        {
            return Err(Rejection::new(
                InvalidArgument,
                "This operation does not accept a version-id.",
            ));
        }
        Ok(())
    }
}

/// Refuses an `x-amz-copy-source` that does not name one object plainly, as each origin reads it.
/// Ceph RGW 16.2.15 aborts on an empty source key before it looks at any rights, cuts a
/// CopyObject's source at its first raw `?`, decodes a part copy's source (and a Swift copy's)
/// twice, reading `+` after a `?` as a space the second time, and reads a malformed escape as no
/// source at all (it stored the body of a part copy instead); s3s and Garage decode once and keep a
/// `?` other than `?versionId=` in the key (Garage even that). So the source is sent once, holds no
/// `%` that begins no escape and no raw `?` but that of one version, and names a bucket and a key,
/// which decoded hold no `?versionId=` (nor, in a part copy, a `%` or a `+` after a `?`), the key
/// no leading `/` and the bucket is no `.` or `..` (an anonymous request did the abort under
/// `anonymous: forward`; four red teams against Ceph, 2026-12-04). MinIO parses it as a URL: no raw
/// `#`, control byte or bucket ending in `:` either, and no version of white space.
pub(super) fn one_reading_of_the_copy_source(
    req: &Request<'_>,
    reserved: &[String],
) -> Result<(), Rejection> {
    let refused = |why: &str| Err(Rejection::new(InvalidArgument, why));
    let mut sources = req.values("x-amz-copy-source");
    let first = sources.next();
    let range = req.single("x-amz-copy-source-range").map_err(|_| {
        Rejection::new(InvalidArgument, "x-amz-copy-source-range may be sent once.")
    })?;
    let ranged = range.is_some();
    let Some(source) = first else {
        return if ranged {
            refused(NOT_A_PART_COPY)
        } else {
            Ok(())
        };
    };
    // UploadPartCopy names its upload and part; Ceph reads a copy with an empty `uploadId` as
    // a PutObject from the source (a range of it, without its metadata), where s3s and Garage
    // copy the whole object, and only Ceph takes a range outside a part copy (red teams,
    // 2026-12-04).
    let given = |name: &[u8]| {
        req.params()
            .iter()
            .find(|p| *p.decoded_name() == *name)
            .map(|p| !p.value.is_empty())
    };
    let upload = given(b"uploadId");
    let part_copy = upload == Some(true) && given(b"partNumber") == Some(true);
    if (ranged || upload.is_some()) && !part_copy {
        return refused(NOT_A_PART_COPY);
    }
    if let Some(range) = range {
        copy_source_range(range)?;
    }
    if sources.next().is_some() {
        return refused("The copy source (x-amz-copy-source) may be sent once.");
    }
    copy_source_names_one_object(source, part_copy, reserved)
}

/// The copy source's value (`one_reading_of_the_copy_source`): no stray `%`, one plain
/// version at most, a bucket and a key that every origin decodes alike, and in a part copy
/// nothing Ceph decodes a second time.
fn copy_source_names_one_object(
    source: &[u8],
    part_copy: bool,
    reserved: &[String],
) -> Result<(), Rejection> {
    let refused = |why: &str| Err(Rejection::new(InvalidArgument, why));
    match path_escape_fault(source) {
        None => {}
        Some(EscapeFault::StrayPercent) => {
            return refused("The copy source holds a '%' that begins no escape.")
        }
        // As a path holding one (`plain_uri`).
        Some(EscapeFault::Nul) => return refused("The copy source holds an encoded NUL (%00)."),
    }
    // S3 cuts the version off the value as sent, Ceph's CopyObject at its first raw `?`.
    const VERSION: &[u8] = b"?versionId=";
    let (named, version) = source.split_at(find_byte(source, b'?').unwrap_or(source.len()));
    // One version, named: Ceph reads `&` as another parameter (the last `versionId` wins) and
    // an empty one as the current version, which Garage does not find.
    let plain_version = version.is_empty()
        || version.strip_prefix(VERSION).is_some_and(|id| {
            // Go's query parser drops a pair holding a `;`: MinIO read none (RT92).
            !blank(id) && !id.iter().any(|b| matches!(b, b'?' | b'&' | b';'))
        });
    if !plain_version {
        return refused(
            "The copy source holds a '?' other than that of one '?versionId=' with a version: encode a '?' in a key as %3F.",
        );
    }
    let unrooted = named.strip_prefix(b"/").unwrap_or(named);
    // MinIO reads the source as a URL (Go's `url.Parse`): it cuts a `#` off as a fragment,
    // takes a bucket ending in `:` for a scheme (`evil:/b/k` copied `b/k`), and keeps a source
    // holding a control byte undecoded (RT90, 2026-12-05, read in its source).
    let bucket_as_sent = &unrooted[..find_byte(unrooted, b'/').unwrap_or(unrooted.len())];
    if find_byte(source, b'#').is_some()
        || source.iter().any(|&b| b < 0x20 || b == 0x7f)
        || bucket_as_sent.ends_with(b":")
    {
        return refused("The copy source holds a raw '#' or control character, or a bucket ending in ':', which origins read differently: encode them (%23).");
    }
    // Ceph strips a raw leading `/` before it decodes: `%2Fb/k` names no bucket there, which
    // sends a CopyObject down its part copy's path, decoding the key twice (`%2Fb/%25` then
    // aborted it, anonymous under `anonymous: forward`: RT69, 2026-12-05).
    if percent_decode(unrooted).next() == Some(b'/') {
        return refused("The copy source begins with an escaped '/', which origins read differently: /bucket/key.");
    }
    let decoded: Vec<u8> = percent_decode(named).collect();
    if find_bytes(&decoded, VERSION).is_some() {
        return refused(
            "The copy source names a key holding '?versionId=', which origins read differently.",
        );
    }
    let object = decoded.strip_prefix(b"/").unwrap_or(&decoded);
    let (bucket, key) = match find_byte(object, b'/') {
        Some(slash) => (&object[..slash], &object[slash + 1..]),
        None => (object, &b""[..]),
    };
    if bucket.is_empty() || key.is_empty() {
        return refused("The copy source must name a bucket and a key: /bucket/key.");
    }
    // A copy reads its source with the rights the origin key has: from `.minio.sys` MinIO
    // would copy its IAM users' secrets into the client's bucket, for a key with rights on
    // every bucket (an attack run reading MinIO's copy handler, 2026-12-06).
    if let Some(what) = origins_own(bucket, reserved) {
        return Err(Rejection::new(
            InvalidArgument,
            format!("The copy source's bucket {what}."),
        ));
    }
    // Ceph decodes a part copy's source twice (`a%2541` copies `aA`, `a%3Fb%2Bc` copies
    // `a?b c`; a malformed escape then kills it), a CopyObject's once, as S3 and the other
    // origins do: such a key is refused in part copies alone (a compatibility sweep saw `aws s3
    // cp`, rclone and s3cmd fail to copy keys holding `%`, 2026-12-05).
    let plus_after_a_question_mark =
        find_byte(key, b'?').is_some_and(|at| find_byte(&key[at..], b'+').is_some());
    if part_copy && (find_byte(object, b'%').is_some() || plus_after_a_question_mark) {
        return refused("The copy source of a part copy names a key holding '%', or '+' after a '?', which origins read differently (Ceph decodes a part copy's source twice); copy such a key with CopyObject, or with GetObject and PutObject.");
    }
    if key.starts_with(b"/") || matches!(bucket, b"." | b"..") {
        return refused("The copy source names a key beginning with '/', or a bucket '.' or '..', which origins read differently.");
    }
    Ok(())
}

const NOT_A_PART_COPY: &str = "A part copy (x-amz-copy-source-range, or a copy source with uploadId) names its uploadId and partNumber, each with a value, and a copy source.";

/// A parameter named like authentication, quoted as the name it imitates (never its value).
pub(super) fn auth_param_spelt_otherwise(name: &[u8]) -> Rejection {
    Rejection::new(
        AuthorizationQueryParametersError,
        format!(
            "The query parameter '{}' looks like authentication, spelt or placed where this endpoint does not read it; sign as the AWS SDKs do (X-Amz-Signature, AWSAccessKeyId, ...).",
            String::from_utf8_lossy(name)
        ),
    )
}

/// Ceph RGW's query parameters for its own requests between zones: on a system user's
/// request `rgwx-uid` makes it act as any user (an unanchored attack run, 2026-12-02).
const RGW_SYSTEM_PREFIX: &[u8] = b"rgwx-";

/// Refuses a method S3 has not, in every mode, before anything else is read: it names no S3
/// operation a signature could grant, and origins serve other APIs by such methods (Ceph RGW
/// read a signed `COPY /swift/v1/x/` as a Swift copy from no object and died before any
/// authentication; anonymous, the same under `anonymous: forward`: a red team, 2026-12-04).
pub(super) fn an_s3_method(req: &Request<'_>) -> Result<(), Rejection> {
    if S3_METHODS.iter().any(|m| m.as_bytes() == req.method) {
        return Ok(());
    }
    let refusal = S3Error::new(
        MethodNotAllowed,
        format!(
            "The specified method is not allowed against this resource: S3 serves {}.",
            S3_METHODS.join(", ")
        ),
    )
    .with_detail("Method", String::from_utf8_lossy(req.method));
    Err(refusal.into())
}

/// Refuses a request that changes anything (all but `GET`, `HEAD` and `OPTIONS`) sent in TLS
/// early data, as Envoy marks it (`early-data: 1`, RFC 8470) on an HTTP/3 listener that
/// takes 0-RTT: early data is not protected against replay, so whoever captured a client's
/// first flight could have the origin run its `PUT` or `DELETE` again (over a later write, say)
/// though they can read none of it. The client sends it again once its handshake is done
/// (a sweep found Envoy 1.40 takes 0-RTT by default and a signed `PUT` stored so, 2026-12-06).
pub(super) fn not_in_early_data(req: &Request<'_>) -> Result<(), Rejection> {
    if matches!(req.method, b"GET" | b"HEAD" | b"OPTIONS")
        || req.values("early-data").next().is_none()
    {
        return Ok(());
    }
    Err(Rejection::new(
        TooEarly,
        "The request was sent in TLS early data, which can be replayed: send it again once the handshake is complete.",
    ))
}

/// Refuses a request for a bucket an origin keeps for its own APIs (`reserved_buckets`, by
/// default `ORIGINS_OWN_BUCKETS`), in every mode and in either bucket style (a route that
/// blocks `/minio/` would not see `minio.s3.mydomain.com/admin/…`, which becomes that path
/// here). A client key translated to a key with admin rights would administer MinIO or Ceph,
/// `anonymous: forward` would reach MinIO's unsigned node APIs (an unanchored attack run,
/// 2026-12-02), and Ceph's Swift API acts on headers no S3 signature covers (`X-Copy-From`,
/// `Destination`, `X-Delete-At`) and answers unsigned requests (a red team, 2026-12-04).
pub(super) fn no_origin_own_bucket(
    target: &Target<'_>,
    reserved: &[String],
) -> Result<(), Rejection> {
    let Some(bucket) = target.bucket.as_deref() else {
        return Ok(());
    };
    match origins_own(bucket.as_bytes(), reserved) {
        Some(what) => Err(Rejection::new(
            InvalidBucketName,
            format!("The bucket name {what}."),
        )),
        None => Ok(()),
    }
}

/// What an origin keeps under `bucket` for itself, if it does, said after the name: a
/// reserved name, or MinIO's own data (`MINIO_META_BUCKET`, whatever `reserved` says).
fn origins_own(bucket: &[u8], reserved: &[String]) -> Option<String> {
    if bucket.eq_ignore_ascii_case(MINIO_META_BUCKET.as_bytes()) {
        return Some(format!(
            "'{MINIO_META_BUCKET}' is where MinIO keeps its own data; this endpoint serves only S3"
        ));
    }
    let name = reserved
        .iter()
        .find(|name| bucket.eq_ignore_ascii_case(name.as_bytes()))?;
    Some(
        match ORIGINS_OWN_BUCKETS.iter().find(|(own, _)| own == name) {
            Some((_, serves)) => {
                format!("'{name}' is where {serves}; this endpoint serves only S3")
            }
            None => format!("'{name}' is reserved at this endpoint"),
        },
    )
}

/// Refuses a request that is no S3 operation but another service's at the same origin, in
/// every mode. MinIO and Ceph answer STS and IAM on the S3 port, named by an `Action`
/// parameter, which S3 has not, in the query or in a urlencoded `POST` body: MinIO on any path
/// whose query is empty, Ceph at the service's. `AssumeRoleWithLDAPIdentity` and
/// `…WithWebIdentity` authenticate by an LDAP password or a token they carry, and MinIO ignores
/// the signature: anonymous (an attack run) or signed (a review), one went on for the origin to
/// check the password and hand out credentials (2026-12-01). S3 has no `POST` but to a bucket,
/// and every one names its operation in the query (`?uploads`, `?delete`, …) but a browser
/// upload, which comes unsigned and is verified on its own path: asked of signed requests
/// before they are verified, and of anonymous ones that are no browser upload. Not asked of a
/// repeat of a cached presigned URL: it was asked before it was cached.
///
/// S3 Express's CreateSession (`?session`) is S3's own login: it answers temporary credentials
/// of the identity that signed, here the origin's key, which its holder could use at the
/// origin without this endpoint (a red team found it forwarded, 2026-12-05; no origin here
/// serves it).
///
/// Nor an operation the origin does not implement (`unsupported_operations`): it would run
/// another in its place (`operations`).
pub(super) fn no_other_service(
    req: &Request<'_>,
    target: &Target<'_>,
    unsupported: &OperationSet,
) -> Result<(), Rejection> {
    let on_object = target.is_object();
    let with_id = || req.params().iter().any(|p| *p.decoded_name() == *b"id");
    // The parameters as split already, and again at `;` (for origins whose query parser
    // splits there) only when there is one: a presigned URL's query is long, and splitting it
    // anew cost 5k instructions a request (`make bench-instructions`).
    let other = |name: &[u8]| {
        let name = as_origins_read(name);
        if name.eq_ignore_ascii_case(b"action") {
            Some(Rejection::new(InvalidArgument, "The Action parameter names an STS or IAM request, which this endpoint does not serve."))
        } else if name.eq_ignore_ascii_case(b"session") {
            Some(Rejection::new(InvalidArgument, "CreateSession (?session) hands out credentials of the origin's identity, which this endpoint does not serve."))
        } else if starts_with_ignore_ascii_case(name, RGW_SYSTEM_PREFIX) {
            Some(Rejection::new(InvalidArgument, "rgwx- parameters are Ceph's requests between zones, which this endpoint does not serve."))
        } else {
            unsupported
                .named_by(req.method, on_object, name, with_id)
                .map(not_implemented)
        }
    };
    let named = req
        .params()
        .iter()
        .find_map(|param| other(&param.decoded_name()))
        .or_else(|| {
            holds_semicolon(req)
                .then(|| query_names(req).find_map(|name| other(&name)))
                .flatten()
        });
    if let Some(rejection) = named {
        return Err(rejection);
    }
    if req.method == b"POST" && (target.bucket.is_none() || req.raw_query().is_empty()) {
        return Err(Rejection::new(
            InvalidRequest,
            "A POST names its S3 operation in the query (?uploads, ?delete, ...), or is a browser upload: this one is neither.",
        ));
    }
    if target.bucket.is_none() && matches!(req.method, b"PUT" | b"DELETE") {
        return Err(service_method_not_allowed(req.method).into());
    }
    Ok(())
}

/// The session token a client signs beside temporary credentials (`x-amz-security-token`, a
/// header or a presigned URL's parameter, read as origins read its name). Every key here is a
/// long-term one, so a token can belong to none of them; re-signed, it would reach the origin
/// beside the origin's key as a credential of another identity, which AWS and Ceph's STS read
/// to tie the request to that token's session (a compatibility sweep, 2026-12-07: an apt
/// repository's client configured with a `Token` had it forwarded). Refused as S3 refuses a
/// token that is not the key's, after the unsigned headers' check (an unsigned one is refused
/// as any unsigned header is). A browser form's `x-amz-security-token` field is refused alike
/// (`post_policy::verify`).
///
/// Names as sent, after `plain_uri`: a canonical name holds no escaped `=` and escapes no
/// letter or `-`, so it reads as the token's only spelt so, or after an escaped `?` (`%3F`),
/// which `as_origins_read` skips as Ceph skips a raw one (a margin: no origin tried skips
/// `%3F`, and `plain_uri` refuses a raw `?` in a name; RV138), or escaping a character that
/// Unicode's case rules read as one of its letters (`to%E2%84%AAen`, the Kelvin sign: a margin
/// too, for a server that compares names as Go's `strings.EqualFold` does; none tried does).
/// Those are the names longer than the token's that hold a `%`, decoded only then: decoding
/// every name cost a presigned GET 1.4k instructions (`make bench-instructions`).
pub(super) fn no_session_token(req: &Request<'_>) -> Result<(), Rejection> {
    const TOKEN: &[u8] = b"x-amz-security-token";
    let named = |name: &[u8]| {
        unicode_lookalikes_as_ascii(as_origins_read(name)).eq_ignore_ascii_case(TOKEN)
    };
    let as_sent = |param: &RawParam<'_>| {
        let name = param.name;
        name.eq_ignore_ascii_case(TOKEN)
            || (name.len() > TOKEN.len()
                && find_byte(name, b'%').is_some()
                && named(&param.decoded_name()))
    };
    let in_query = req.params().iter().any(as_sent)
        || (holds_semicolon(req) && query_names(req).any(|name| named(&name)));
    if in_query || req.values("x-amz-security-token").next().is_some() {
        return Err(Rejection::new(
            InvalidToken,
            "Session tokens (x-amz-security-token) are not accepted: sign with a long-term key pair of this endpoint, without a token.",
        ));
    }
    Ok(())
}

/// A `PUT` or `DELETE` of the service, which S3 answers `405` (`Allow: GET`): no operation.
/// An origin that takes a `Host` it does not know for a bucket's name (Ceph RGW 16.2 with an
/// `rgw_dns_name` other than the origin's authority) read a signed `PUT /` as the creation of
/// a bucket named after the host, into which it then put every path-style request (RT88,
/// 2026-12-05; a misconfiguration the README warns of, but nothing a signer meant).
fn service_method_not_allowed(method: &[u8]) -> S3Error {
    S3Error::new(
        MethodNotAllowed,
        "The specified method is not allowed against this resource: the service serves GET (ListBuckets) alone.",
    )
    .with_detail("Method", String::from_utf8_lossy(method))
    .with_detail("ResourceType", "SERVICE")
}

fn not_implemented(operation: &str) -> Rejection {
    Rejection::new(
        NotImplemented,
        format!("{operation} is not implemented by this endpoint's origin, which would run another operation in its place (unsupported_operations)."),
    )
}

/// A `response-*` value holding a control character (a tab included): Ceph RGW, refusing it,
/// answers a `HEAD` with nothing at all (the stream hung until the route's idle timeout,
/// holding an upstream connection: RT63, 2026-12-05) and a `GET` with a 200 head wrapped
/// around a 400. Every value is read, also one sent raw, which Envoy's codecs refuse today.
pub(super) fn answer_headers_printable(req: &Request<'_>) -> Result<(), Rejection> {
    for param in req.params().iter() {
        if is_answer_header(param.name) && param.decoded_value().iter().any(u8::is_ascii_control) {
            return Err(Rejection::new(
                InvalidArgument,
                format!(
                    "The value of '{}' holds a control character (a tab included), which this endpoint does not pass to the origin.",
                    String::from_utf8_lossy(param.name)
                ),
            ));
        }
    }
    Ok(())
}

/// Whether a (decoded) parameter name asks for an answer header: `response-content-type` and
/// its kin, in any case.
fn is_answer_header(name: &[u8]) -> bool {
    starts_with_ignore_ascii_case(name, b"response-")
}

/// An anonymous request that asks for answer headers of its choosing (`response-content-type`,
/// `response-content-disposition`, ...): S3 takes them only signed, and an origin that
/// honoured them unsigned would serve anyone's public object as a page of the public domain,
/// its script run as the site's. Ceph RGW refuses them with a broken answer (a 200 head, then
/// a 400) on the connection Envoy shares between clients (RT60, 2026-12-05).
pub(super) fn no_answer_headers_chosen_unsigned(req: &Request<'_>) -> Result<(), Rejection> {
    if query_names(req).any(|name| is_answer_header(as_origins_read(&name))) {
        return Err(Rejection::new(
            InvalidRequest,
            "Request specific response headers cannot be used for anonymous GET requests.",
        ));
    }
    Ok(())
}

/// A `POST` signed in its header or query whose body is a form (its `Content-Type` names
/// `multipart/form-data`): origins read such a body as a browser upload, which authenticates
/// by its own fields, whatever the query. Its signature leaves the body unsigned, so the form
/// would go on without any of the checks a form gets here: an attack run (2026-12-01) had a
/// presigned `POST /bucket` carry a form whose file its digest field did not pin, stored by
/// Garage, and an anonymous form past `anonymous: reject`. No S3 operation posts a form; but
/// CreateMultipartUpload posts no body with the object's own type, which may be a form's: with
/// no body there is no form to read (s3s-fs, which reads any such `POST` as a form, finds none
/// and refuses it).
///
/// `Ok(Some(..))`: the head says nothing of its body and waits for it (`judged_as_it_comes`, as
/// `document_digest` reads it), which must then be empty (`Forward::must_be_empty`): the JS SDK
/// v3 over HTTP/2 sends CreateMultipartUpload so, its end in an empty DATA frame after the head
/// (a compatibility sweep, 2026-12-06). Else it is refused with the head.
pub(super) fn no_form_in_a_signed_post(
    req: &Request<'_>,
    judged_as_it_comes: bool,
) -> Result<Option<MustBeEmpty>, Rejection> {
    if req.method != b"POST" || req.has_no_body() {
        return Ok(None);
    }
    let form = req
        .values("content-type")
        .any(|value| !matches!(media_type(value), MediaType::Other));
    if !form {
        return Ok(None);
    }
    if judged_as_it_comes {
        return Ok(Some(MustBeEmpty::FormInASignedPost));
    }
    Err(form_in_a_signed_post())
}

/// The query's parameter names as any origin may split them (`sigv4::query::names`).
fn query_names<'r>(req: &Request<'r>) -> impl Iterator<Item = Cow<'r, [u8]>> {
    names(req.raw_query())
}

/// A browser's CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
/// Any other `OPTIONS` is an ordinary request, signed or anonymous like the rest.
pub(super) fn is_preflight(req: &Request<'_>) -> bool {
    req.method == b"OPTIONS"
        && matches!(req.single("origin"), Ok(Some(_)))
        && matches!(req.single("access-control-request-method"), Ok(Some(_)))
}

/// Envoy joins repeated `Authorization` headers with `,` into one value: a second scheme
/// after a comma is the trace of a second header.
pub(super) fn joins_several(value: &[u8]) -> bool {
    let mut rest = value;
    while let Some(comma) = find_byte(rest, b',') {
        rest = &rest[comma + 1..];
        if starts_a_scheme(rest) {
            return true;
        }
    }
    false
}

fn starts_a_scheme(rest: &[u8]) -> bool {
    let part = rest.trim_ascii_start();
    [ALGORITHM.as_bytes(), ECDSA_ALGORITHM, SIGV2_SCHEME]
        .iter()
        .any(|scheme| part.starts_with(scheme) && part.get(scheme.len()) == Some(&b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_semicolon_is_found_wherever_it_stands() {
        // `holds_semicolon` looks only in parameters not in canonical form: every query of
        // these bytes, up to four long, is read as a scan of the whole query reads it.
        const BYTES: &[u8] = b";a=&%3B+";
        let mut query = Vec::new();
        for n in 0..BYTES.len().pow(4) {
            query.clear();
            let mut rest = n;
            for _ in 0..4 {
                query.push(BYTES[rest % BYTES.len()]);
                rest /= BYTES.len();
            }
            let mut path = b"/bucket/k?".to_vec();
            path.extend_from_slice(&query);
            let pairs = [
                (&b":method"[..], &b"GET"[..]),
                (b":path", &path),
                (b":authority", b"s3.example"),
            ];
            let req = Request::from_pairs(&pairs).unwrap();
            let scanned = find_byte(&query, b';').is_some();
            assert_eq!(
                holds_semicolon(&req),
                scanned,
                "{:?}",
                String::from_utf8_lossy(&query)
            );
        }
    }
}
