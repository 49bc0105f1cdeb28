//! Which request bodies the filter checks, and how: against a digest their signature covers, or the
//! `Content-MD5` S3 requires of some documents, or for their aws-chunked framing alone, and how
//! much of each waits for the check; and the bodies refused outright. An origin that checks
//! `Content-MD5`, a checksum or a signed SHA-256 itself may check it too late (after acting on a
//! document or storing the object, or never); the filter checks as the body streams
//! (`body_digest`), so a replayed signature cannot carry another body.

use crate::addressing::Target;
use crate::body_digest::{BodyCheck, Expected, Framing, Hold};
use crate::bytes::{is_amz_name, starts_with_ignore_ascii_case};
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::S3ErrorCode::{
    self, InvalidArgument, InvalidDigest, InvalidRequest, MissingContentLength,
};
use crate::sigv4::query::{as_origins_read, names};
use crate::unsigned_chunks::Trailers;
use crate::verify::Verified;

/// The strongest digest of its body a SigV4 request signed, for one whose payload hash is not
/// signed: a hex `X-Amz-Content-Sha256` query parameter, a signed `x-amz-checksum-sha256`,
/// `-sha512`, `-sha1` or `-md5` (a header, or a query parameter, which the signature covers
/// whole: a presigned URL may carry it there), else a signed `content-md5`.
pub(crate) fn signed_digest_v4(
    verified: &Verified<'_, '_>,
    req: &Request<'_>,
    target: &Target<'_>,
) -> Result<Option<Expected>, Rejection> {
    let mut signed = Signed::for_body_of(req, target);
    for (name, value) in verified.canonical.headers() {
        match *name {
            "content-md5" => signed.add(parse_content_md5(value)?),
            name => signed.maybe_checksum(name.as_bytes(), value, Source::Header)?,
        }
    }
    let mut payload_param_seen = false;
    for param in req.params() {
        let name = param.decoded_name();
        // MinIO reads a presigned URL's `X-Amz-Content-Sha256` as the body's hash: a signer
        // who put one there meant this body only (a red team saw another stored, 2026-12-04).
        // Given twice, which copy an origin reads is its own choice: refused, as the header is.
        if name.eq_ignore_ascii_case(b"x-amz-content-sha256") {
            if std::mem::replace(&mut payload_param_seen, true) {
                return Err(Rejection::new(
                    InvalidArgument,
                    "X-Amz-Content-Sha256 is repeated",
                ));
            }
            let value = param.decoded_value();
            if let Some(sha256) = std::str::from_utf8(&value)
                .ok()
                .and_then(Expected::sha256_hex)
            {
                signed.add(sha256);
            }
            continue;
        }
        signed.maybe_checksum(&name, &param.decoded_value(), Source::Query)?;
    }
    Ok(signed.strongest())
}

/// The strongest digest of its body a SigV2 request signed: a hex `x-amz-content-sha256` (the
/// upgrade's payload hash), a checksum (SigV2 signs every `x-amz-*` header), or a non-empty
/// `Content-MD5` (the string to sign's second line).
pub(crate) fn signed_digest_v2(
    req: &Request<'_>,
    target: &Target<'_>,
    content_md5: Option<&[u8]>,
) -> Result<Option<Expected>, Rejection> {
    let mut signed = Signed::for_body_of(req, target);
    if let Some(md5) = content_md5
        .map(<[u8]>::trim_ascii)
        .filter(|md5| !md5.is_empty())
    {
        signed.add(parse_content_md5(md5)?);
    }
    for (name, value) in &req.headers {
        signed.maybe_checksum(name, value, Source::Header)?;
    }
    let sha256 = req
        .single("x-amz-content-sha256")
        .ok()
        .flatten()
        .and_then(|v| std::str::from_utf8(v.trim_ascii()).ok())
        .and_then(Expected::sha256_hex);
    if let Some(sha256) = sha256 {
        signed.add(sha256);
    }
    Ok(signed.strongest())
}

/// Every digest of its file a browser form's fields give (`x-amz-checksum-sha256`, `-sha512`,
/// `-sha1` or `-md5`, `Content-MD5`): a policy that pins one with `eq` allows that file only, and
/// the origins check them too late (s3s-fs stores the file first) or not at all (Garage reads a
/// checksum field only beside `x-amz-checksum-algorithm`), so the filter compares the file before
/// the form's end goes on (an attack run found other files stored, 2026-12-01). Every one, not the
/// strongest: the poster chooses the fields the policy leaves free, and a free SHA-256 of another
/// file beside a pinned MD5 would have let that file by (a review).
pub(crate) fn form_file_digests<'f>(
    fields: impl Iterator<Item = (&'f str, &'f [u8])>,
) -> Result<Vec<Expected>, Rejection> {
    let mut given = Signed {
        digests: Vec::new(),
        checksums_bind: true,
        checksum_seen: false,
    };
    for (name, value) in fields {
        if name.eq_ignore_ascii_case("content-md5") {
            given.add(parse_content_md5(value)?);
        } else {
            given.maybe_checksum(name.as_bytes(), value, Source::Field)?;
        }
    }
    Ok(given.digests)
}

/// Where a checksum was found, for the error that refuses it.
#[derive(Clone, Copy)]
enum Source {
    Header,
    Query,
    Field,
}

/// The checksums S3 knows, each of which makes a request's one checksum, and whether it binds
/// a body: a CRC or an xxHash does not (any body can be given any such value: neither resists
/// a forger), and is the origin's to compare. S3 added MD5, SHA-512 and the xxHashes in 2025;
/// before the filter knew them, a signed SHA-512 or MD5 bound nothing here and no origin here
/// compares one (a red team stored other bodies under both, 2026-12-05).
pub(crate) const CHECKSUMS: [(&str, bool); 10] = [
    ("x-amz-checksum-crc32", false),
    ("x-amz-checksum-crc32c", false),
    ("x-amz-checksum-crc64nvme", false),
    ("x-amz-checksum-xxhash64", false),
    ("x-amz-checksum-xxhash3", false),
    ("x-amz-checksum-xxhash128", false),
    ("x-amz-checksum-md5", true),
    ("x-amz-checksum-sha1", true),
    ("x-amz-checksum-sha256", true),
    ("x-amz-checksum-sha512", true),
];

/// The digests of its body a request signed, as they are found: a `Content-MD5`, one checksum
/// and a payload hash at most.
struct Signed {
    digests: Vec<Expected>,
    /// Whether its checksums are its body's (see `checksums_bind_the_body`).
    checksums_bind: bool,
    checksum_seen: bool,
}

impl Signed {
    fn for_body_of(req: &Request<'_>, target: &Target<'_>) -> Self {
        Signed {
            digests: Vec::new(),
            checksums_bind: checksums_bind_the_body(req, target),
            checksum_seen: false,
        }
    }

    fn add(&mut self, digest: Expected) {
        self.digests.push(digest);
    }

    /// One signer chose them all: the strongest stands for the rest.
    fn strongest(&self) -> Option<Expected> {
        self.digests
            .iter()
            .fold(None, |strongest, &digest| Some(digest.strongest(strongest)))
    }

    /// `name: value`, if `name` is a checksum's: one at most, as S3 (and s3s-fs and Garage)
    /// take one, so that no two readings can pick different ones.
    fn maybe_checksum(&mut self, name: &[u8], value: &[u8], from: Source) -> Result<(), Rejection> {
        let Some((known, binds)) = CHECKSUMS
            .into_iter()
            .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
        else {
            return Ok(());
        };
        if !self.checksums_bind {
            return Ok(());
        }
        if std::mem::replace(&mut self.checksum_seen, true) {
            return Err(Rejection::new(
                InvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
            ));
        }
        if !binds {
            return Ok(());
        }
        let digest = Expected::checksum(known, value).map_err(|_| {
            let from = match from {
                Source::Header => "header",
                Source::Query => "query parameter",
                Source::Field => "form field",
            };
            Rejection::new(
                InvalidRequest,
                format!("Value for {known} {from} is invalid."),
            )
        })?;
        self.add(digest);
        Ok(())
    }
}

fn parse_content_md5(value: &[u8]) -> Result<Expected, Rejection> {
    Expected::content_md5(value).map_err(|_| invalid_content_md5())
}

fn invalid_content_md5() -> Rejection {
    Rejection::new(InvalidDigest, "The Content-MD5 you specified was invalid.")
}

/// Whether a request's `x-amz-checksum-*` is the digest of its body: on CompleteMultipartUpload
/// (`POST /bucket/key?uploadId=…`) it is the whole object's, which the origin checks against
/// the parts (a review found valid completions refused). Only there, and only with nothing in
/// the query but `uploadId`, the SDKs' `x-id` and authentication: origins route a bucket's
/// `?delete&uploadId=…` as DeleteObjects, and an object's `?uploads`, `?restore` or `?select`
/// before `uploadId` (a later review).
fn checksums_bind_the_body(req: &Request<'_>, target: &Target<'_>) -> bool {
    let object = target.is_object();
    if req.method != b"POST" || !object {
        return true;
    }
    let mut upload_id = false;
    let only_completion = req.params().iter().all(|param| {
        let name = param.decoded_name();
        upload_id |= name.as_ref() == b"uploadId";
        name.as_ref() != b"partNumber" && is_object_data_param(&name)
    });
    !(upload_id && only_completion)
}

/// Whether requests of `method` carry a body in S3: only `PUT` and `POST` do.
pub(crate) fn carries_a_body(method: &[u8]) -> bool {
    matches!(method, b"PUT" | b"POST")
}

/// A body that must be empty, and why: its first byte is refused (`refusal`) before any of it
/// goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MustBeEmpty {
    /// A method S3 gives no body (all but `PUT` and `POST`).
    BodylessMethod,
    /// A signed `POST` typed as a form (`gateway::screen::no_form_in_a_signed_post`).
    FormInASignedPost,
    /// A document S3 requires a digest of, sent without one (`document_digest`).
    DocumentWithoutDigest,
}

impl MustBeEmpty {
    pub fn refusal(self) -> Rejection {
        match self {
            MustBeEmpty::BodylessMethod => unexpected_body(),
            MustBeEmpty::FormInASignedPost => form_in_a_signed_post(),
            MustBeEmpty::DocumentWithoutDigest => missing_document_digest(),
        }
    }
}

/// A body on a method that carries none.
pub(crate) fn unexpected_body() -> Rejection {
    Rejection::new(InvalidRequest, "Only PUT and POST requests carry a body.")
}

/// A form in a `POST` signed in its header or query (`gateway::screen::no_form_in_a_signed_post`).
pub(crate) fn form_in_a_signed_post() -> Rejection {
    Rejection::new(
        InvalidArgument,
        "A browser upload (multipart/form-data) is signed by its policy, in its own fields: it carries no Authorization header and no signature in its query.",
    )
}

/// An aws-chunked body is an upload's (PutObject, UploadPart), a `PUT`'s: a `POST` sends its
/// document whole. MinIO decodes the framing on a `PUT` alone and read a DeleteObjects'
/// chunks as its XML, the chunk headers inside its keys (RT94, 2026-12-05, read in its
/// source); Ceph answers such a `POST` 501. Every value of `x-amz-content-sha256`, signed or
/// not (`declares_aws_chunked`).
pub(crate) fn no_chunked_post(req: &Request<'_>) -> Result<(), Rejection> {
    if req.method == b"POST" {
        refuse_aws_chunked(
            req,
            InvalidRequest,
            "An aws-chunked body (x-amz-content-sha256: STREAMING-...) is an upload's, a PUT's: a POST sends its document whole.",
        )?;
    }
    Ok(())
}

/// The check the body of a `PUT` or a `POST` gets against `expected`, the digest its signature
/// covers, if any. Other methods carry no body (one is refused: `unexpected_body`). An
/// unsigned aws-chunked body no digest binds gets `framing_check`'s instead.
pub(crate) fn body_check_for(
    req: &Request<'_>,
    target: &Target<'_>,
    framing: Framing,
    expected: impl FnOnce() -> Result<Option<Expected>, Rejection>,
) -> Result<Option<BodyCheck>, Rejection> {
    if !carries_a_body(req.method) {
        return Ok(None);
    }
    Ok(expected()?.map(|expected| BodyCheck {
        expected: Some(expected),
        hold: hold_for(req, target),
        framing,
    }))
}

/// How much of a checked body waits for its check: a document all of it, object data its last
/// byte.
fn hold_for(req: &Request<'_>, target: &Target<'_>) -> Hold {
    if is_document(req, target) {
        Hold::Whole
    } else {
        Hold::LastByte
    }
}

/// How the body carries its data: in unsigned aws-chunked framing when the request says so
/// (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, signed or not: the origin
/// decodes the body either way), its trailer carrying the checksums `x-amz-trailer` announces.
pub(crate) fn framing_of(req: &Request<'_>) -> Result<Framing, Rejection> {
    // Repeated, an origin reading the first would decode what the filter left unread (a red
    // team, 2026-12-04): refused, as for a signed one.
    let declared = req
        .single("x-amz-content-sha256")
        .map_err(|_| Rejection::new(InvalidArgument, "x-amz-content-sha256 is repeated"))?;
    match declared {
        Some(value) if value.trim_ascii() == b"STREAMING-UNSIGNED-PAYLOAD-TRAILER" => {}
        _ => return Ok(Framing::Plain),
    }
    let announced = req
        .single("x-amz-trailer")
        .map_err(|_| Rejection::new(InvalidArgument, "x-amz-trailer is repeated"))?;
    let trailers =
        Trailers::announced(announced).map_err(|why| Rejection::new(InvalidRequest, why))?;
    // The length the signer gave the data binds it as it binds signed chunks (a red team
    // replayed one signed for 27 bytes with a megabyte, 2026-12-04), and is required as there
    // and by S3: without it Garage stored whatever the chunks carried (a red team, the same day).
    let decoded_length = if carries_a_body(req.method) {
        Some(decoded_content_length(req)?)
    } else {
        None
    };
    Ok(Framing::AwsChunked {
        trailers,
        decoded_length,
    })
}

/// `x-amz-decoded-content-length`, which every aws-chunked body needs, signed chunks or not.
pub(crate) fn decoded_content_length(req: &Request<'_>) -> Result<u64, Rejection> {
    req.number("x-amz-decoded-content-length").ok_or_else(|| {
        Rejection::new(
            MissingContentLength,
            "An aws-chunked body needs a valid x-amz-decoded-content-length header.",
        )
    })
}

/// The check of an unsigned aws-chunked body that no digest binds: its framing, and a trailer
/// of exactly the checksums announced. What waits, waits until the trailer is read, so an
/// origin never completes a body whose trailer carries more (a red team found such trailers
/// forwarded, 2026-12-04). Any other aws-chunked declaration is refused.
pub(crate) fn framing_check(
    req: &Request<'_>,
    target: &Target<'_>,
) -> Result<Option<BodyCheck>, Rejection> {
    if !carries_a_body(req.method) {
        return Ok(None);
    }
    let framing = framing_of(req)?;
    if framing == Framing::Plain {
        // Signed chunks would need a signature to chain from, which such a request lacks; any
        // other spelling would go on unread for an origin that decodes it (Garage takes
        // `STREAMING-UNSIGNED-PAYLOAD`; a red team, 2026-12-04).
        if declares_aws_chunked(req) {
            return Err(Rejection::new(
                InvalidArgument,
                "An aws-chunked body no signature covers must be declared STREAMING-UNSIGNED-PAYLOAD-TRAILER.",
            ));
        }
        return Ok(None);
    }
    Ok(Some(BodyCheck {
        expected: None,
        hold: hold_for(req, target),
        framing,
    }))
}

/// Whether a request's body is a document (XML, JSON) rather than object data: a `POST`, or a
/// `PUT` of a bucket or with a query parameter other than an upload part's and the
/// signatures'. An origin may parse a document as it arrives and act at its end, before the
/// padding after it, while it stores object data only once it has all of `Content-Length`.
fn is_document(req: &Request<'_>, target: &Target<'_>) -> bool {
    match req.method {
        b"POST" => true,
        b"PUT" => {
            !target.is_object()
                // MinIO untars such a PUT into objects as it reads it, keys and all, before
                // its digests are checked at the end (`PutObjectExtractHandler`).
                || req.values(SNOWBALL).next().is_some()
                || !req
                    .params()
                    .iter()
                    .all(|param| is_object_data_param(&param.decoded_name()))
        }
        _ => false,
    }
}

const SNOWBALL: &str = "x-amz-meta-snowball-auto-extract";

/// The query parameters a `PUT` of object data carries: an upload part's, the SDKs' operation
/// hint, and presigned URLs' (`X-Amz-*`, with hoisted `x-amz-*` headers; SigV2's).
const OBJECT_DATA_PARAMS: [&[u8]; 6] = [
    b"partNumber",
    b"uploadId",
    b"x-id",
    b"AWSAccessKeyId",
    b"Expires",
    b"Signature",
];

fn is_object_data_param(name: &[u8]) -> bool {
    OBJECT_DATA_PARAMS.contains(&name) || is_amz_name(name)
}

/// How S3 holds the document of an operation to a digest of it (`Content-MD5` or a checksum),
/// which it compares: without one it has nothing to bind a body whose payload hash is not
/// signed, and Garage, Ceph and s3s-fs act on any body (an attack run, 2026-12-02, replayed a
/// captured `UNSIGNED-PAYLOAD` DeleteObjects naming other keys, and a lifecycle rule expiring
/// the whole bucket; a red team, 2026-12-05, a bucket policy letting anyone read and write,
/// ACLs, versioning, a website and the public access block, the list then holding only the
/// first kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DigestRequired {
    /// Unless the body is empty: the rest of what S3's model marks `requestChecksumRequired`
    /// (every SDK sends a digest with them). S3's documentation does not require one there,
    /// and SigV2 clients set a canned ACL by its header alone (boto 2's `set_canned_acl`, an
    /// empty `PUT ?acl`); an empty body holds nothing a replay chose, and a replay that brings
    /// one must bring its digest, which SigV2 signs (a header-signed or presigned SigV4 replay
    /// may add a `Content-MD5` of its own body, as at S3: SECURITY.md, 5c).
    WithADocument,
    /// Always: those S3's documentation says must carry one (DeleteObjects, a bucket's CORS,
    /// lifecycle, tagging and replication, object lock, an object's retention and legal hold).
    Always,
}

/// Whether the operation `method` with the query parameter `name` names requires a digest of
/// its document, and how. Any case: refusing a spelling S3 would route elsewhere costs a client
/// nothing it could have sent without a digest. `test_content_md5.py` checks the two lists
/// against botocore's model.
pub fn digest_required(method: &[u8], name: &[u8]) -> Option<DigestRequired> {
    // Lists a loop scans: LLVM unrolls a table of string comparisons into 8 KB of code.
    let (always, with_a_document) = match method {
        b"POST" => ("delete", "metadataConfiguration metadataTable"),
        b"PUT" => (
            "cors lifecycle tagging replication object-lock retention legal-hold",
            "acl encryption logging metadataInventoryTable metadataJournalTable notification \
             ownershipControls policy publicAccessBlock requestPayment versioning website",
        ),
        _ => return None,
    };
    let listed = |list: &str| {
        list.split_ascii_whitespace()
            .any(|document| document.as_bytes().eq_ignore_ascii_case(name))
    };
    if listed(always) {
        Some(DigestRequired::Always)
    } else if listed(with_a_document) {
        Some(DigestRequired::WithADocument)
    } else {
        None
    }
}

/// The check the document of an operation that `digest_required` names gets when its signature
/// binds no digest of it (no signed payload hash, chunk chain, `Content-MD5`, or SHA or MD5
/// checksum): its `Content-MD5`, signed or not, compared here as S3 compares it (the origins do
/// not: a review replayed such a DeleteObjects with a `Content-MD5` of anything); none when it
/// carries a CRC checksum instead (in a header, a presigned URL's query or an unsigned trailer
/// announced for it), which binds as little as at S3, where anyone choosing the body can match it
/// (the limit in SECURITY.md; an xxHash likewise); refused, as S3 refuses it, when it carries no
/// digest at all.
///
/// `judged_as_it_comes`: the head says nothing of its body (`Request::says_nothing_of_its_body`)
/// and waits for it, here or at the edge filter that granted it. A document that needs a digest
/// only when there is one (`DigestRequired::WithADocument`) may then come without one, as
/// `Document::MustBeEmpty`: a canned-ACL `PUT ?acl` over HTTP/2, its end in an empty DATA frame
/// after the head, is no document (a compatibility sweep, 2026-12-06).
pub(crate) fn document_digest(
    req: &Request<'_>,
    judged_as_it_comes: bool,
) -> Result<Option<Document>, Rejection> {
    if !carries_a_body(req.method) {
        return Ok(None);
    }
    // Every name an origin may read, as the screens read `Action` (a `;` splits the query for
    // some parsers; Ceph decodes `policy%3D` into `policy=`).
    let required = names(req.raw_query())
        .filter_map(|name| digest_required(req.method, as_origins_read(&name)))
        .max();
    match required {
        None => return Ok(None),
        Some(DigestRequired::WithADocument) if req.has_no_body() => return Ok(None),
        Some(_) => {}
    }
    let framing = framing_of(req)?;
    // A value S3 would read as none (SigV2 signs an empty `Content-MD5` line) gives none.
    let md5 = req
        .single("content-md5")
        .map_err(|_| invalid_content_md5())?;
    if let Some(md5) = md5.map(<[u8]>::trim_ascii).filter(|md5| !md5.is_empty()) {
        return Ok(Some(Document::Check(BodyCheck {
            expected: Some(parse_content_md5(md5)?),
            hold: Hold::Whole,
            framing,
        })));
    }
    let checksum =
        req.headers
            .iter()
            .any(|&(name, value)| is_checksum(name) && gives_one(value))
            || req.params().iter().any(|param| {
                is_checksum(&param.decoded_name()) && gives_one(&param.decoded_value())
            });
    // What framing_of read: only checksums may be announced.
    let trailer =
        matches!(framing, Framing::AwsChunked { trailers, .. } if trailers != Trailers::default());
    if checksum || trailer {
        return Ok(None);
    }
    // An aws-chunked body is never empty: it has its final chunk at least.
    if required == Some(DigestRequired::WithADocument)
        && judged_as_it_comes
        && framing == Framing::Plain
    {
        return Ok(Some(Document::MustBeEmpty));
    }
    Err(missing_document_digest())
}

/// What `document_digest` asks of a document's body.
#[derive(Debug, PartialEq)]
pub(crate) enum Document {
    /// Checked against the digest its head gives, as it streams.
    Check(BodyCheck),
    /// It must be empty (`MustBeEmpty::DocumentWithoutDigest`).
    MustBeEmpty,
}

/// A document S3 requires a digest of comes with none.
pub(crate) fn missing_document_digest() -> Rejection {
    Rejection::new(
        InvalidRequest,
        "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
    )
}

fn gives_one(value: &[u8]) -> bool {
    !value.trim_ascii().is_empty()
}

/// Whether `name` is one of `CHECKSUMS`, in any case: by its algorithm's name after the
/// prefix, from a list a loop scans (a scan of `CHECKSUMS` unrolls into 3 KB of code).
fn is_checksum(name: &[u8]) -> bool {
    const PREFIX: &[u8] = b"x-amz-checksum-";
    if !starts_with_ignore_ascii_case(name, PREFIX) {
        return false;
    }
    let algorithm = name.get(PREFIX.len()..).unwrap_or_default();
    "crc32 crc32c crc64nvme xxhash64 xxhash3 xxhash128 md5 sha1 sha256 sha512"
        .split(' ')
        .any(|known| known.as_bytes().eq_ignore_ascii_case(algorithm))
}

/// On a presigned URL whose body is checked against a signed digest (`Content-MD5`, a
/// checksum), an unsigned `x-amz-content-sha256: STREAMING-*` (with `Content-Encoding:
/// aws-chunked`) would have the origin decode the body the filter hashed as sent and store
/// something else.
pub(crate) fn refuse_unsigned_streaming(req: &Request<'_>) -> Result<(), Rejection> {
    refuse_aws_chunked(
        req,
        InvalidArgument,
        "A presigned request whose body is bound by a signed digest cannot declare an aws-chunked body.",
    )
}

/// SigV2 signs no aws-chunked body: S3 takes one under SigV4 only, and an origin given one
/// under SigV2, or upgraded to SigV4 as `UNSIGNED-PAYLOAD`, stores the encoding itself, framed
/// as whoever sends it chooses (s3s-fs did; a red team, 2026-12-04).
pub(crate) fn refuse_aws_chunked_v2(req: &Request<'_>) -> Result<(), Rejection> {
    refuse_aws_chunked(
        req,
        InvalidRequest,
        "aws-chunked bodies are signed with Signature Version 4 only.",
    )
}

fn refuse_aws_chunked(
    req: &Request<'_>,
    code: S3ErrorCode,
    message: &'static str,
) -> Result<(), Rejection> {
    if declares_aws_chunked(req) {
        return Err(Rejection::new(code, message));
    }
    Ok(())
}

/// Whether any `x-amz-content-sha256` value declares an aws-chunked body: every value, as an
/// origin may read either of two (a review found the second let by).
fn declares_aws_chunked(req: &Request<'_>) -> bool {
    req.values("x-amz-content-sha256")
        .any(|value| starts_with_ignore_ascii_case(value.trim_ascii(), b"STREAMING-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addressing::Style;

    /// base64 of the MD5, the SHA-256 and the SHA-1 of "hello".
    const MD5_HELLO: &[u8] = b"XUFAKrxLKna5cZ2REBfFkg==";
    const SHA256_HELLO: &[u8] = b"LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
    const SHA512_HELLO: &[u8] =
        b"m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==";
    const SHA1_HELLO: &[u8] = b"qvTGHdzF6KLavt4PO0gs2a6pQ00=";

    fn request(method: &'static str, path: &'static str) -> Request<'static> {
        Request::new(
            method.as_bytes(),
            path.as_bytes(),
            b"s3.mydomain.com",
            Vec::new(),
        )
    }

    fn target<'r>(req: &Request<'r>) -> Target<'r> {
        Target::parse(Style::Path, req.raw_path()).unwrap()
    }

    fn form(fields: &[(&'static str, &'static [u8])]) -> Result<Vec<Expected>, Rejection> {
        form_file_digests(fields.iter().copied())
    }

    /// A browser form's file is compared with every digest its fields give, the MD5 as much as
    /// the SHA-256: the policy may pin either, and the poster picks the other (cargo-mutants:
    /// only `tests/post_policy.rs`, outside the quick targets, read these digests).
    #[test]
    fn a_form_gives_every_digest_of_its_file() {
        let md5 = Expected::content_md5(MD5_HELLO).unwrap();
        let sha256 = Expected::checksum("x-amz-checksum-sha256", SHA256_HELLO).unwrap();
        let sha1 = Expected::checksum("x-amz-checksum-sha1", SHA1_HELLO).unwrap();
        assert_eq!(
            form(&[
                ("Content-MD5", MD5_HELLO),
                ("key", b"k"),
                ("X-Amz-Checksum-Sha256", SHA256_HELLO),
            ]),
            Ok(vec![md5, sha256])
        );
        assert_eq!(form(&[("x-amz-checksum-sha1", SHA1_HELLO)]), Ok(vec![sha1]));
        // S3's newer checksums (2025): two that bind, an xxHash that does not.
        let sha512 = Expected::checksum("x-amz-checksum-sha512", SHA512_HELLO).unwrap();
        assert_eq!(
            form(&[("x-amz-checksum-sha512", SHA512_HELLO)]),
            Ok(vec![sha512])
        );
        let md5_checksum = Expected::checksum("x-amz-checksum-md5", MD5_HELLO).unwrap();
        assert_eq!(
            form(&[("X-Amz-Checksum-MD5", MD5_HELLO)]),
            Ok(vec![md5_checksum])
        );
        assert_eq!(
            form(&[("x-amz-checksum-xxhash64", b"AAAAAAAAAAA=")]),
            Ok(vec![])
        );
        assert_eq!(form(&[("key", b"k")]), Ok(vec![]));
        // A CRC binds nothing, but is a checksum: a second one is refused, as S3 refuses it.
        assert_eq!(form(&[("x-amz-checksum-crc32", b"NhCmhg==")]), Ok(vec![]));
        for bad in [
            &[
                ("x-amz-checksum-crc32", &b"NhCmhg=="[..]),
                ("x-amz-checksum-sha256", SHA256_HELLO),
            ][..],
            &[("x-amz-checksum-sha256", SHA1_HELLO)],
            &[("content-md5", b"abc")],
            &[
                ("x-amz-checksum-sha256", SHA256_HELLO),
                ("x-amz-checksum-sha512", SHA512_HELLO),
            ],
            &[
                ("x-amz-checksum-xxhash3", &b"AAAAAAAAAAA="[..]),
                ("x-amz-checksum-md5", MD5_HELLO),
            ],
            &[
                ("x-amz-checksum-xxhash64", &b"AAAAAAAAAAA="[..]),
                ("x-amz-checksum-sha256", SHA256_HELLO),
            ],
            &[
                ("x-amz-checksum-sha256", SHA256_HELLO),
                ("x-amz-checksum-xxhash128", &b"AAAAAAAAAAAAAAAAAAAAAA=="[..]),
            ],
            &[("x-amz-checksum-sha512", SHA256_HELLO)],
        ] {
            assert!(form(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_checksums_are_the_checksums() {
        for (known, _) in CHECKSUMS {
            assert!(is_checksum(known.as_bytes()), "{known}");
            assert!(
                is_checksum(known.to_ascii_uppercase().as_bytes()),
                "{known}"
            );
        }
        for other in [
            &b"x-amz-checksum-"[..],
            b"x-amz-checksum-type",
            b"x-amz-checksum-algorithm",
            b"x-amz-checksum-crc",
            b"x-amz-checksum-sha2566",
            b"x-amz-sdk-checksum-algorithm",
            b"content-md5",
            b"",
        ] {
            assert!(!is_checksum(other), "{}", String::from_utf8_lossy(other));
        }
    }

    /// A checksum is the whole object's, not the body's, on a CompleteMultipartUpload only: an
    /// object's `POST` whose query is `uploadId` (and the SDKs' `x-id`). Anywhere else it binds
    /// the body, or a captured request replays with another body (cargo-mutants: the bucket's
    /// `POST ?uploadId`, the object's `PUT ?uploadId` and its bare `POST` were untested).
    #[test]
    fn a_checksum_is_the_objects_only_on_a_completion() {
        for (method, path) in [
            ("POST", "/bucket/k?uploadId=U"),
            ("POST", "/bucket/k?uploadId=U&x-id=CompleteMultipartUpload"),
        ] {
            let req = request(method, path);
            assert!(!checksums_bind_the_body(&req, &target(&req)), "{path}");
        }
        for (method, path) in [
            ("POST", "/bucket?uploadId=U"),
            ("POST", "/bucket/?uploadId=U"),
            ("PUT", "/bucket/k?uploadId=U"),
            ("POST", "/bucket/k"),
            ("POST", "/bucket/k?x-id=PutObject"),
            ("POST", "/bucket/k?uploadId=U&partNumber=1"),
            ("POST", "/bucket?delete&uploadId=U"),
            ("POST", "/bucket/k?uploads&uploadId=U"),
        ] {
            let req = request(method, path);
            assert!(
                checksums_bind_the_body(&req, &target(&req)),
                "{method} {path}"
            );
        }
    }

    /// A document that S3 requires a digest of goes unchecked here only for a checksum of a
    /// known algorithm with a value (a mutation run found a prefix match, or an empty value,
    /// passed every test: a captured DeleteObjects that signed `x-amz-checksum-type` would have
    /// carried any keys, 2026-12-03).
    #[test]
    fn a_document_needs_a_checksum_that_is_one() {
        let delete = |headers: Vec<(&'static [u8], &'static [u8])>, path: &'static str| {
            let req = Request::new(b"POST", path.as_bytes(), b"s3.mydomain.com", headers);
            document_digest(&req, false).map(|check| check.is_some())
        };
        for (name, value) in [
            (&b"x-amz-checksum-type"[..], &b"COMPOSITE"[..]),
            (b"x-amz-checksum-algorithm", b"CRC32"),
            (b"x-amz-checksum-crc32", b""),
            (b"x-amz-checksum-crc32", b"  "),
            (b"x-amz-checksum-md4", b"XUFAKrxLKna5cZ2REBfFkg=="),
        ] {
            let refused = delete(vec![(name, value)], "/bucket?delete").unwrap_err();
            assert_eq!(refused.error.code, InvalidRequest, "{name:?} {value:?}");
        }
        assert_eq!(
            delete(
                vec![(b"x-amz-checksum-crc32".as_slice(), b"AAAAAA==".as_slice())],
                "/bucket?delete"
            ),
            Ok(false)
        );
        assert_eq!(
            delete(
                Vec::new(),
                "/bucket?delete&X-Amz-Checksum-Crc32=AAAAAA%3D%3D"
            ),
            Ok(false)
        );
        assert!(delete(Vec::new(), "/bucket?delete&x-amz-checksum-type=FULL_OBJECT").is_err());
        assert_eq!(
            delete(
                vec![(b"content-md5".as_slice(), MD5_HELLO)],
                "/bucket?delete"
            ),
            Ok(true)
        );
    }

    /// A `PUT` of a bucket (CreateBucket's configuration) is a document, held whole: an origin
    /// may act at its root element's end, before the padding after it has been hashed
    /// (cargo-mutants: only sub-resources were tested, not the bucket itself).
    #[test]
    fn a_put_of_a_bucket_is_a_document() {
        for (method, path, document) in [
            ("PUT", "/bucket", true),
            ("PUT", "/bucket/", true),
            ("PUT", "/bucket/k?tagging", true),
            ("PUT", "/bucket/k", false),
            ("PUT", "/bucket/k?partNumber=1&uploadId=U", false),
            ("POST", "/bucket/k?uploadId=U", true),
            ("GET", "/bucket", false),
        ] {
            let req = request(method, path);
            assert_eq!(
                is_document(&req, &target(&req)),
                document,
                "{method} {path}"
            );
        }
    }
}
