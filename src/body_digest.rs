//! A request body checked against a digest its signature covers, as it streams, for the
//! bodies an origin might act on before it has checked them itself.
//!
//! - **A signed `Content-MD5` with an unsigned payload hash**: SigV2 (which has no payload
//!   hash), and SigV4 with `UNSIGNED-PAYLOAD` (header-signed or presigned) that signed
//!   `content-md5`. The origin's re-signed request says `UNSIGNED-PAYLOAD` too, so without this
//!   check the body is bound to the signature only if the origin checks `Content-MD5`, and
//!   s3s-fs and Garage do not on several operations: a captured `POST ?delete` replayed with
//!   another body deleted other keys (found by an attack run, 2026-12-01).
//! - **A signed `x-amz-checksum-sha256`, `-sha512`, `-sha1` or `-md5`** (header, or hoisted
//!   into a presigned URL's query) with an unsigned payload hash: AWS's own recipe for a URL that
//!   uploads one file only. s3s-fs renames the object into place before it compares the
//!   checksum and never compares an UploadPart's, and neither origin checks one on
//!   DeleteObjects: replays with another body stored and deleted (found by an attack run,
//!   2026-12-01); no origin here compares a SHA-512 or an MD5 checksum at all (a red team,
//!   2026-12-05). A signed CRC or xxHash binds nothing (any body can be given any such value)
//!   and stays the origin's.
//! - **A signed SHA-256 payload hash**: SeaweedFS never checks it on object data; and on a
//!   document (a `POST`, a `PUT` of a sub-resource or a bucket) MinIO checks it when it reaches
//!   the body's end, but its XML decoder stops at the root element's end and the handler acts
//!   then, so a replayed DeleteObjects whose new body ends in padding deleted before the hash
//!   was ever checked (both found by reviews, 2026-12-01).
//!
//! One digest suffices: the strongest signed one is checked (`Expected::strongest`); a body
//! that matches it is the body its signer hashed, and any other digest is the origin's to
//! compare.
//!
//! How much is held until the digest matches (`Hold`): object data (PutObject, UploadPart)
//! goes on as it arrives but for its last byte, since an origin stores an object only once it
//! has all of `Content-Length` (in aws-chunked framing, the digest is compared as soon as the
//! data is all in, before the trailer); a document is held whole (bounded by
//! `MAX_DOCUMENT_BYTES` and the VM's memory budget), since the padding after its end is the
//! sender's choice. Plain Rust, no proxy-wasm: the filter applies it (`src/filter/`).

use crate::memory_budget::{MemoryBudget, Reservation};
use crate::rejection::Rejection;
use crate::s3_error::S3ErrorCode::{BadDigest, XAmzContentSHA256Mismatch};
use crate::unsigned_chunks::{ChunkDecoder, Trailers};
use base64::Engine;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use std::rc::Rc;
use subtle::ConstantTimeEq;

/// The largest document held whole: a DeleteObjects of 1,000 keys of 1,024 bytes, or a
/// CompleteMultipartUpload of 10,000 parts with checksums, fit in it.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// What a signed digest says the body hashes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A signed `Content-MD5`.
    Md5([u8; 16]),
    /// A signed `x-amz-content-sha256`, the payload hash.
    Sha256([u8; 32]),
    /// A signed `x-amz-checksum-sha256`.
    ChecksumSha256([u8; 32]),
    /// A signed `x-amz-checksum-sha512`.
    ChecksumSha512([u8; 64]),
    /// A signed `x-amz-checksum-sha1`.
    ChecksumSha1([u8; 20]),
    /// A signed `x-amz-checksum-md5`.
    ChecksumMd5([u8; 16]),
}

/// How much of the body waits for the digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Object data: the last byte that has arrived.
    LastByte,
    /// A document: all of it.
    Whole,
}

/// How the body carries the data its digest is over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Framing {
    /// As it is.
    #[default]
    Plain,
    /// In unsigned aws-chunked framing (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): the digest is
    /// over the decoded data, and the body must be well framed, its trailer carrying exactly
    /// these checksums and its chunks the length the request declares, if it declares one.
    AwsChunked {
        trailers: Trailers,
        decoded_length: Option<u64>,
    },
}

/// The check a request's body gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyCheck {
    /// The digest it must match; none for an aws-chunked body checked for its framing alone.
    pub expected: Option<Expected>,
    pub hold: Hold,
    pub framing: Framing,
}

impl BodyCheck {
    /// Whether an empty body passes (one that ends with the request head).
    pub fn accepts_empty(&self) -> bool {
        self.framing == Framing::Plain && self.expected.is_none_or(|e| e.matches_empty())
    }
}

/// A signed digest is not the base64 of as many bytes as its algorithm gives (S3's
/// `InvalidDigest` for `Content-MD5`, `InvalidRequest` for a checksum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidDigest;

/// Why a body does not go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// It does not hash to the signed digest (S3's `BadDigest`, or
    /// `XAmzContentSHA256Mismatch` for a SHA-256).
    Mismatch(Expected),
    /// A document longer than `MAX_DOCUMENT_BYTES` (S3's `MaxMessageLengthExceeded`).
    TooLarge,
    /// Holding it would exceed the VM's memory budget (`SlowDown`).
    OverBudget,
    /// Its aws-chunked framing is malformed (`InvalidRequest`).
    Framing(&'static str),
    /// Its aws-chunked body ends before its final chunk and trailer (`IncompleteBody`, as for
    /// signed chunks).
    Truncated,
    /// Its aws-chunked data is not as long as `x-amz-decoded-content-length` says
    /// (`IncompleteBody`, as for signed chunks).
    Length { declared: u64, actual: u64 },
}

impl Expected {
    /// A `Content-MD5` value (surrounding spaces aside): base64, padded, of exactly 16 bytes.
    pub fn content_md5(value: &[u8]) -> Result<Self, InvalidDigest> {
        base64_digest(value).map(Expected::Md5)
    }

    /// The value of `x-amz-checksum-sha256`, `-sha512`, `-sha1` or `-md5`, named in lower case:
    /// base64 of the digest. (A CRC or an xxHash binds nothing: no `Expected` for one.)
    pub fn checksum(name: &str, value: &[u8]) -> Result<Self, InvalidDigest> {
        match name {
            "x-amz-checksum-sha256" => base64_digest(value).map(Expected::ChecksumSha256),
            "x-amz-checksum-sha512" => base64_digest(value).map(Expected::ChecksumSha512),
            "x-amz-checksum-sha1" => base64_digest(value).map(Expected::ChecksumSha1),
            "x-amz-checksum-md5" => base64_digest(value).map(Expected::ChecksumMd5),
            _ => Err(InvalidDigest),
        }
    }

    /// The digest to check of several a request signed: a SHA-256 or SHA-512, else a SHA-1,
    /// else an MD5.
    pub fn strongest(self, other: Option<Self>) -> Self {
        match other {
            Some(other) if other.strength() > self.strength() => other,
            _ => self,
        }
    }

    fn strength(&self) -> u8 {
        match self {
            Expected::Sha256(_) | Expected::ChecksumSha256(_) | Expected::ChecksumSha512(_) => 3,
            Expected::ChecksumSha1(_) => 2,
            Expected::Md5(_) | Expected::ChecksumMd5(_) => 1,
        }
    }

    /// A payload hash in hex (verified as the signature's, so well-formed), or `None`.
    pub fn sha256_hex(value: &str) -> Option<Self> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(value, &mut digest).ok()?;
        Some(Expected::Sha256(digest))
    }

    /// Whether an empty body matches.
    pub fn matches_empty(&self) -> bool {
        Hasher::of(self).matches(self)
    }
}

/// Padded base64 (surrounding spaces aside) of exactly `N` bytes.
fn base64_digest<const N: usize>(value: &[u8]) -> Result<[u8; N], InvalidDigest> {
    let value = value.trim_ascii();
    // Anything but the padded length of `N` bytes is refused unread.
    if value.len() != N.div_ceil(3) * 4 {
        return Err(InvalidDigest);
    }
    let mut digest = [0u8; N];
    match base64::engine::general_purpose::STANDARD.decode_slice(value, &mut digest) {
        Ok(n) if n == N => Ok(digest),
        _ => Err(InvalidDigest),
    }
}

/// A digest taken of data as it streams, to compare with the expected one at its end.
pub struct RunningDigest {
    expected: Expected,
    hasher: Hasher,
}

impl RunningDigest {
    pub fn new(expected: Expected) -> Self {
        RunningDigest {
            hasher: Hasher::of(&expected),
            expected,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    /// Whether what was fed hashes to the expected digest.
    pub fn matches(self) -> bool {
        self.hasher.matches(&self.expected)
    }

    /// Whether what was fed matches: if not, the refusal S3 gives.
    pub fn check(self) -> Result<(), Rejection> {
        let expected = self.expected;
        match self.matches() {
            true => Ok(()),
            false => Err(mismatch(expected)),
        }
    }
}

impl BodyError {
    /// The S3 error the client gets for it.
    pub fn rejection(self) -> Rejection {
        use crate::aws_chunked::ChunkError;
        match self {
            BodyError::Mismatch(expected) => mismatch(expected),
            BodyError::TooLarge => Rejection::new(
                crate::s3_error::S3ErrorCode::MaxMessageLengthExceeded,
                format!(
                    "Your request was too big: a document is held whole until its digest is checked, at most {MAX_DOCUMENT_BYTES} bytes."
                ),
            ),
            BodyError::OverBudget => Rejection::from(ChunkError::OverBudget.s3_error()),
            BodyError::Framing(what) => Rejection::from(ChunkError::Malformed(what).s3_error()),
            BodyError::Truncated => Rejection::from(ChunkError::Truncated.s3_error()),
            BodyError::Length { declared, actual } => {
                Rejection::from(ChunkError::LengthMismatch { declared, actual }.s3_error())
            }
        }
    }
}

/// The refusal of a body that does not hash to `expected`, as S3 words it.
pub fn mismatch(expected: Expected) -> Rejection {
    match expected {
        Expected::Md5(_) => Rejection::new(
            BadDigest,
            "The Content-MD5 you specified did not match what we received.",
        ),
        Expected::Sha256(_) => Rejection::new(
            XAmzContentSHA256Mismatch,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
        Expected::ChecksumSha256(_) => Rejection::new(
            BadDigest,
            "The SHA256 you specified did not match the calculated checksum.",
        ),
        Expected::ChecksumSha512(_) => Rejection::new(
            BadDigest,
            "The SHA512 you specified did not match the calculated checksum.",
        ),
        Expected::ChecksumSha1(_) => Rejection::new(
            BadDigest,
            "The SHA1 you specified did not match the calculated checksum.",
        ),
        Expected::ChecksumMd5(_) => Rejection::new(
            BadDigest,
            "The MD5 you specified did not match the calculated checksum.",
        ),
    }
}

enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
    Sha512(Sha512),
    Sha1(Sha1),
}

impl Hasher {
    fn of(expected: &Expected) -> Self {
        match expected {
            Expected::Md5(_) | Expected::ChecksumMd5(_) => Hasher::Md5(Md5::new()),
            Expected::Sha256(_) | Expected::ChecksumSha256(_) => Hasher::Sha256(Sha256::new()),
            Expected::ChecksumSha512(_) => Hasher::Sha512(Sha512::new()),
            Expected::ChecksumSha1(_) => Hasher::Sha1(Sha1::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
        }
    }

    fn matches(self, expected: &Expected) -> bool {
        let equal = match (self, expected) {
            (Hasher::Md5(h), Expected::Md5(e) | Expected::ChecksumMd5(e)) => {
                h.finalize().as_slice().ct_eq(e)
            }
            (Hasher::Sha512(h), Expected::ChecksumSha512(e)) => h.finalize().as_slice().ct_eq(e),
            (Hasher::Sha256(h), Expected::Sha256(e) | Expected::ChecksumSha256(e)) => {
                h.finalize().as_slice().ct_eq(e)
            }
            (Hasher::Sha1(h), Expected::ChecksumSha1(e)) => h.finalize().as_slice().ct_eq(e),
            _ => return false,
        };
        bool::from(equal)
    }
}

/// What one piece releases: `lead` (the byte held back from the piece before), then
/// `input[range]`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Release {
    pub lead: Option<u8>,
    pub range: std::ops::Range<usize>,
}

/// The check of one body as it streams.
pub struct BodyDigest {
    check: BodyCheck,
    digest: Option<RunningDigest>,
    /// Whether the digest, taken once all the data was in, matched.
    matched: bool,
    /// The aws-chunked framing the digest's data is read from, if any.
    chunks: Option<ChunkDecoder>,
    /// What has arrived and not gone on: the last byte, or the whole document.
    held: Vec<u8>,
    /// The VM budget's cover for a held document.
    reservation: Reservation,
    /// A held document's announced length: it never takes more.
    announced: Option<usize>,
}

impl BodyDigest {
    pub fn new(check: BodyCheck, budget: Rc<MemoryBudget>) -> Self {
        BodyDigest {
            digest: check.expected.map(RunningDigest::new),
            matched: false,
            chunks: match check.framing {
                Framing::AwsChunked { trailers, .. } => Some(ChunkDecoder::new(trailers)),
                Framing::Plain => None,
            },
            check,
            held: Vec::new(),
            reservation: Reservation::new(budget),
            announced: None,
        }
    }

    /// Counts what this body holds against `access_key_id`'s share of the budget.
    pub fn owned_by(mut self, access_key_id: &str) -> Self {
        self.reservation = self.reservation.owned_by(access_key_id);
        self
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Bytes of the budget reserved for what is held.
    pub fn reserved(&self) -> usize {
        self.reservation.bytes()
    }

    /// A body of `length` bytes is coming (its `Content-Length`): a document too long to hold
    /// is refused before any of it arrives. Memory is taken only as bytes arrive, so a head
    /// holds nothing: a review found heads that each reserved 4 MiB, an attack run 1,030 idle
    /// heads of a replayed DeleteObjects that reserved 64 KiB each, the whole budget.
    pub fn expect_length(&mut self, length: u64) -> Result<(), BodyError> {
        if self.check.hold == Hold::LastByte {
            return Ok(());
        }
        match usize::try_from(length) {
            Ok(length) if length <= MAX_DOCUMENT_BYTES => {
                self.announced = Some(length);
                Ok(())
            }
            _ => Err(BodyError::TooLarge),
        }
    }

    fn grow_to(&mut self, capacity: usize) -> Result<(), BodyError> {
        let capacity = capacity.max(self.held.capacity());
        let more = capacity.saturating_sub(self.held.len());
        if !self.reservation.resize(capacity) || self.held.try_reserve_exact(more).is_err() {
            return Err(BodyError::OverBudget);
        }
        Ok(())
    }

    /// Takes the next piece of the body: object data goes on but for its last byte, which
    /// waits (an empty piece releases nothing); a document waits whole.
    pub fn feed(&mut self, input: &[u8]) -> Result<Release, BodyError> {
        let Some(last) = input.len().checked_sub(1) else {
            return Ok(Release::default());
        };
        match (self.digest.as_mut(), self.chunks.as_mut()) {
            (Some(digest), Some(chunks)) => chunks
                .feed(input, |data| digest.update(data))
                .map_err(BodyError::Framing)?,
            (Some(digest), None) => digest.update(input),
            (None, Some(chunks)) => chunks.feed(input, |_| {}).map_err(BodyError::Framing)?,
            (None, None) => {}
        }
        // Refused as soon as a size line says more, before that chunk's data goes on.
        if let Some(chunks) = &self.chunks {
            self.check_length(chunks, |actual, declared| actual <= declared)?;
        }
        // The data is all in: its digest is compared now, before any of this piece goes on.
        // An origin may store the object once it has the data the request declares, before
        // the final chunk and trailer (Ceph does so with signed chunks, a red team found,
        // 2026-12-05), so the body's last byte held back would hold back only the trailer's.
        let declared = self.declared_length();
        if self
            .chunks
            .as_ref()
            .is_some_and(|c| c.data_complete(declared))
        {
            self.check_digest()?;
        }
        match self.check.hold {
            Hold::LastByte => {
                let lead = self.held.pop();
                self.held.push(input[last]);
                Ok(Release {
                    lead,
                    range: 0..last,
                })
            }
            Hold::Whole => {
                let size = self.held.len() + input.len();
                if size > MAX_DOCUMENT_BYTES {
                    return Err(BodyError::TooLarge);
                }
                if size > self.held.capacity() {
                    // Doubling, within the bound and the announced length (a review found
                    // documents reserving twice what they were); the budget first, then the
                    // allocation.
                    let bound = self.announced.map_or(MAX_DOCUMENT_BYTES, |n| n.max(size));
                    let capacity = size
                        .max(self.held.capacity() * 2)
                        .min(bound)
                        .min(MAX_DOCUMENT_BYTES);
                    self.grow_to(capacity)?;
                }
                self.held.extend_from_slice(input);
                Ok(Release::default())
            }
        }
    }

    /// The data's length an aws-chunked body declares (`x-amz-decoded-content-length`).
    fn declared_length(&self) -> Option<u64> {
        match self.check.framing {
            Framing::AwsChunked { decoded_length, .. } => decoded_length,
            Framing::Plain => None,
        }
    }

    /// Compares the data's digest, once all of it is in (a second call answers as the first).
    fn check_digest(&mut self) -> Result<(), BodyError> {
        if let Some(digest) = self.digest.take() {
            self.matched = digest.matches();
        }
        match self.check.expected {
            Some(expected) if !self.matched => Err(BodyError::Mismatch(expected)),
            _ => Ok(()),
        }
    }

    /// Whether the chunks' length so far stands `in_bounds` of the one
    /// `x-amz-decoded-content-length` declares, if it is given.
    fn check_length(
        &self,
        chunks: &ChunkDecoder,
        in_bounds: impl Fn(u64, u64) -> bool,
    ) -> Result<(), BodyError> {
        match self.check.framing {
            Framing::AwsChunked {
                decoded_length: Some(declared),
                ..
            } if !in_bounds(chunks.decoded(), declared) => Err(BodyError::Length {
                declared,
                actual: chunks.decoded(),
            }),
            _ => Ok(()),
        }
    }

    /// The body has ended: what was held, if the body matches the digest.
    pub fn finish(&mut self) -> Result<Vec<u8>, BodyError> {
        let framed = match &self.chunks {
            None => Ok(()),
            Some(chunks) => chunks
                .finish()
                .map_err(|_| BodyError::Truncated)
                .and_then(|()| self.check_length(chunks, |actual, declared| actual == declared)),
        };
        let digest = self.check_digest();
        let held = std::mem::take(&mut self.held);
        self.reservation.resize(0);
        framed?;
        digest.map(|()| held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(digest: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(digest)
    }

    fn md5_of(body: &[u8]) -> Expected {
        Expected::content_md5(b64(&Md5::digest(body)).as_bytes()).unwrap()
    }

    fn sha256_of(body: &[u8]) -> Expected {
        Expected::sha256_hex(&hex::encode(Sha256::digest(body))).unwrap()
    }

    fn digest(expected: Expected, hold: Hold, budget: usize) -> BodyDigest {
        BodyDigest::new(
            BodyCheck {
                expected: Some(expected),
                hold,
                framing: Framing::Plain,
            },
            MemoryBudget::new(budget),
        )
    }

    /// Streams `pieces`: what went on before the end, and the result of the end.
    fn stream_with(
        mut check: BodyDigest,
        pieces: &[&[u8]],
    ) -> (Vec<u8>, Result<Vec<u8>, BodyError>) {
        let mut out = Vec::new();
        for piece in pieces {
            match check.feed(piece) {
                Ok(release) => {
                    out.extend(release.lead);
                    out.extend_from_slice(&piece[release.range]);
                }
                Err(e) => return (out, Err(e)),
            }
        }
        let before_end = out.clone();
        let end = check.finish().map(|held| {
            out.extend(held);
            out
        });
        (before_end, end)
    }

    fn stream(expected: Expected, pieces: &[&[u8]]) -> (Vec<u8>, Result<Vec<u8>, BodyError>) {
        stream_with(digest(expected, Hold::LastByte, 1 << 20), pieces)
    }

    #[test]
    fn the_empty_body_is_checked_at_the_head() {
        // The MD5 of "": 1B2M2Y8AsgTpgAmY7PhCfg==
        let empty = Expected::content_md5(b"1B2M2Y8AsgTpgAmY7PhCfg==").unwrap();
        assert!(empty.matches_empty());
        assert!(!md5_of(b"x").matches_empty());
        assert!(sha256_of(b"").matches_empty());
        assert!(!sha256_of(b"x").matches_empty());
        let (before, end) = stream(empty, &[]);
        assert!(before.is_empty());
        assert_eq!(end, Ok(Vec::new()));
        let (_, end) = stream(empty, &[b"", b""]);
        assert_eq!(end, Ok(Vec::new()));
    }

    #[test]
    fn a_body_split_anywhere_matches_and_arrives_whole_only_at_the_end() {
        let body: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for expected in [md5_of(&body), sha256_of(&body)] {
            for cut in 0..=body.len() {
                let (a, b) = body.split_at(cut);
                for pieces in [vec![a, b], vec![a, b"", b]] {
                    let (before, end) = stream(expected, &pieces);
                    assert_eq!(before, body[..body.len() - 1], "cut at {cut}");
                    assert_eq!(end.as_deref(), Ok(&body[..]), "cut at {cut}");
                    let whole = digest(expected, Hold::Whole, 1 << 20);
                    let (before, end) = stream_with(whole, &pieces);
                    assert!(before.is_empty(), "cut at {cut}");
                    assert_eq!(end.as_deref(), Ok(&body[..]), "cut at {cut}");
                }
            }
            // Byte by byte.
            let singles: Vec<&[u8]> = body.chunks(1).collect();
            let (before, end) = stream(expected, &singles);
            assert_eq!(before, body[..body.len() - 1]);
            assert_eq!(end.as_deref(), Ok(&body[..]));
        }
    }

    #[test]
    fn another_body_is_refused_with_its_last_byte_or_all_of_it_held() {
        let body = b"<Delete><Object><Key>a</Key></Object></Delete>";
        // Padding after the root element: a streaming XML decoder has the document before
        // the last byte, so a document is held whole.
        let other = b"<Delete><Object><Key>b</Key></Object></Delete>   ";
        for expected in [md5_of(body), sha256_of(body)] {
            for cut in 0..=other.len() {
                let (a, b) = other.split_at(cut);
                let (before, end) = stream(expected, &[a, b]);
                assert_eq!(end, Err(BodyError::Mismatch(expected)), "cut at {cut}");
                assert_eq!(before, other[..other.len() - 1], "cut at {cut}");
                let whole = digest(expected, Hold::Whole, 1 << 20);
                let (before, end) = stream_with(whole, &[a, b]);
                assert_eq!(end, Err(BodyError::Mismatch(expected)), "cut at {cut}");
                assert!(before.is_empty(), "cut at {cut}");
            }
            // A prefix of the right body, or the right body and more, is refused too.
            let refused = Err(BodyError::Mismatch(expected));
            assert_eq!(stream(expected, &[&body[..10]]).1, refused);
            assert_eq!(stream(expected, &[body, b"x"]).1, refused);
            assert_eq!(stream(expected, &[]).1, refused);
        }
    }

    #[test]
    fn a_document_is_held_within_its_bounds() {
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        let expected = sha256_of(&big);
        let (_, end) = stream_with(digest(expected, Hold::Whole, 8 << 20), &[&big]);
        assert_eq!(end, Err(BodyError::TooLarge));
        let (_, end) = stream_with(digest(expected, Hold::Whole, 1024), &[&big[..2048]]);
        assert_eq!(end, Err(BodyError::OverBudget));
        // What a refused or finished document held goes back to the budget.
        let budget = MemoryBudget::new(1 << 20);
        let check = BodyCheck {
            expected: Some(sha256_of(b"doc")),
            hold: Hold::Whole,
            framing: Framing::Plain,
        };
        let mut held = BodyDigest::new(check, budget.clone());
        held.feed(b"doc").unwrap();
        assert!(budget.used() >= 3);
        assert_eq!(held.finish(), Ok(b"doc".to_vec()));
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_document_reserves_what_it_holds_and_its_announced_length() {
        let budget = MemoryBudget::new(8 << 20);
        let check = BodyCheck {
            expected: Some(sha256_of(b"")),
            hold: Hold::Whole,
            framing: Framing::Plain,
        };
        // Pieces of any size: the reservation covers the allocation, never twice the bound.
        let mut held = BodyDigest::new(check, budget.clone());
        for _ in 0..1000 {
            held.feed(&[b'x'; 4000]).unwrap();
            assert!(budget.used() >= held.held());
            assert!(budget.used() <= MAX_DOCUMENT_BYTES);
        }
        drop(held);
        assert_eq!(budget.used(), 0);
        // An announced length reserves nothing before the bytes arrive (idle heads would take
        // the budget); one too long is refused before anything does.
        let mut sized = BodyDigest::new(check, budget.clone());
        sized.expect_length(1_100_000).unwrap();
        assert_eq!(budget.used(), 0);
        // Then never more than the announced length, however the pieces come.
        for _ in 0..1_100 {
            sized.feed(&[b'x'; 1_000]).unwrap();
            assert!(budget.used() <= 1_100_000, "{}", budget.used());
        }
        assert_eq!(budget.used(), 1_100_000);
        drop(sized);
        let mut long = BodyDigest::new(check, budget.clone());
        assert_eq!(
            long.expect_length(MAX_DOCUMENT_BYTES as u64 + 1),
            Err(BodyError::TooLarge)
        );
        assert_eq!(long.expect_length(u64::MAX), Err(BodyError::TooLarge));
        let object = BodyCheck {
            hold: Hold::LastByte,
            ..check
        };
        assert_eq!(
            BodyDigest::new(object, budget.clone()).expect_length(u64::MAX),
            Ok(())
        );
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn an_aws_chunked_body_is_checked_by_its_decoded_data() {
        let data = b"hello0123456789";
        let body = b"5\r\nhello\r\nA\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let crc32 = Trailers::announced(Some(b"x-amz-checksum-crc32")).unwrap();
        let chunked = |expected| {
            let check = BodyCheck {
                expected: Some(expected),
                hold: Hold::LastByte,
                framing: Framing::AwsChunked {
                    trailers: crc32,
                    decoded_length: None,
                },
            };
            BodyDigest::new(check, MemoryBudget::new(1 << 20))
        };
        for cut in 0..=body.len() {
            let (a, b) = body.split_at(cut);
            let (before, end) = stream_with(chunked(md5_of(data)), &[a, b]);
            assert_eq!(before, body[..body.len() - 1], "cut at {cut}");
            assert_eq!(end.as_deref(), Ok(&body[..]), "cut at {cut}");
        }
        // Other data in the same framing, or the right data badly framed, is refused.
        let other = b"5\r\nHELLO\r\nA\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let expected = md5_of(data);
        assert_eq!(
            stream_with(chunked(expected), &[other]).1,
            Err(BodyError::Mismatch(expected))
        );
        // Ended early: S3's IncompleteBody, as for signed chunks (a documentation audit found
        // InvalidRequest here, 2026-12-06).
        let truncated = &body[..body.len() - 2];
        let ended_early = stream_with(chunked(expected), &[truncated]).1;
        assert_eq!(ended_early, Err(BodyError::Truncated));
        assert_eq!(
            BodyError::Truncated.rejection().error.code,
            crate::s3_error::S3ErrorCode::IncompleteBody
        );
        let extended = b"5;x=y\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        assert!(matches!(
            stream_with(chunked(md5_of(b"hello")), &[extended]).1,
            Err(BodyError::Framing(_))
        ));
        assert!(!BodyCheck {
            expected: Some(md5_of(b"")),
            hold: Hold::LastByte,
            framing: Framing::AwsChunked {
                trailers: crc32,
                decoded_length: None
            }
        }
        .accepts_empty());
        // With no digest, the framing and the trailer alone: an unannounced trailer's last
        // byte never goes on.
        let framing_only = || {
            let check = BodyCheck {
                expected: None,
                hold: Hold::LastByte,
                framing: Framing::AwsChunked {
                    trailers: crc32,
                    decoded_length: None,
                },
            };
            BodyDigest::new(check, MemoryBudget::new(1 << 20))
        };
        let (before, end) = stream_with(framing_only(), &[other]);
        assert_eq!(before, other[..other.len() - 1]);
        assert_eq!(end.as_deref(), Ok(&other[..]));
        let smuggled =
            b"5\r\nHELLO\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-acl:public-read\r\n\r\n";
        assert!(matches!(
            stream_with(framing_only(), &[smuggled]).1,
            Err(BodyError::Framing(_))
        ));
    }

    /// Its digest is compared once the data is all in, before the piece that completes it goes
    /// on: an origin that stores once it has the declared length, before the trailer (Ceph
    /// does with signed chunks), never has all of another body's data (a red team, 2026-12-05:
    /// the body's last byte was held, and that was the trailer's).
    #[test]
    fn an_aws_chunked_body_never_gives_up_all_its_data_before_the_digest_matches() {
        let data = b"hello0123456789";
        let other = b"5\r\nHELLO\r\nA\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let data_end = 3 + 5 + 2 + 3 + 10;
        assert_eq!(&other[data_end - 2..data_end + 2], b"89\r\n");
        let crc32 = Trailers::announced(Some(b"x-amz-checksum-crc32")).unwrap();
        let expected = md5_of(data);
        let chunked = || {
            let check = BodyCheck {
                expected: Some(expected),
                hold: Hold::LastByte,
                framing: Framing::AwsChunked {
                    trailers: crc32,
                    decoded_length: Some(data.len() as u64),
                },
            };
            BodyDigest::new(check, MemoryBudget::new(1 << 20))
        };
        for first in 0..=other.len() {
            for second in first..=other.len() {
                let pieces = [&other[..first], &other[first..second], &other[second..]];
                let (before, end) = stream_with(chunked(), &pieces);
                assert_eq!(end, Err(BodyError::Mismatch(expected)), "{first} {second}");
                let at = format!("cut at {first} and {second}: {before:?}");
                assert!(before.len() < data_end, "{at}");
                // The piece that completed the data went on not at all.
                let completing = [first, second, other.len()]
                    .into_iter()
                    .find(|&end| end >= data_end)
                    .unwrap();
                let start = [0, first, second]
                    .into_iter()
                    .filter(|&s| s < completing)
                    .max();
                assert!(before.len() <= start.unwrap_or(0), "{at}");
            }
        }
        // The right data goes on whole, and the trailer's last byte waits for the end.
        let body = b"5\r\nhello\r\nA\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let (before, end) = stream_with(chunked(), &[&body[..data_end], &body[data_end..]]);
        assert_eq!(before, body[..body.len() - 1]);
        assert_eq!(end.as_deref(), Ok(&body[..]));
    }

    #[test]
    fn an_aws_chunked_body_carries_the_length_it_declares() {
        // A red team replayed a body signed for 27 bytes with a megabyte (2026-12-04).
        let body = b"5\r\nhello\r\nA\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let crc32 = Trailers::announced(Some(b"x-amz-checksum-crc32")).unwrap();
        let declaring = |decoded_length| {
            let check = BodyCheck {
                expected: None,
                hold: Hold::LastByte,
                framing: Framing::AwsChunked {
                    trailers: crc32,
                    decoded_length,
                },
            };
            BodyDigest::new(check, MemoryBudget::new(1 << 20))
        };
        for cut in 0..=body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(
                stream_with(declaring(Some(15)), &[a, b]).1.as_deref(),
                Ok(&body[..]),
                "cut at {cut}"
            );
        }
        assert_eq!(
            stream_with(declaring(Some(16)), &[body]).1,
            Err(BodyError::Length {
                declared: 16,
                actual: 15
            })
        );
        // More than declared is refused at the size line that says so: of the second chunk,
        // only what came before its size line went on.
        let (before, end) = stream_with(declaring(Some(5)), &[&body[..10], &body[10..]]);
        assert_eq!(
            end,
            Err(BodyError::Length {
                declared: 5,
                actual: 15
            })
        );
        assert!(before.len() < 10);
        assert_eq!(
            BodyError::Length {
                declared: 5,
                actual: 15
            }
            .rejection()
            .error
            .code,
            crate::s3_error::S3ErrorCode::IncompleteBody
        );
    }

    #[test]
    fn checksums_bind_a_body_by_their_algorithm() {
        use sha1::Sha1;
        let body = b"one file only";
        let of = |name: &str, digest: &[u8]| Expected::checksum(name, b64(digest).as_bytes());
        let sha256 = of("x-amz-checksum-sha256", &Sha256::digest(body)).unwrap();
        let sha1 = of("x-amz-checksum-sha1", &Sha1::digest(body)).unwrap();
        // S3's newer two that bind (2025): a red team stored other bodies under each.
        let sha512 = of("x-amz-checksum-sha512", &Sha512::digest(body)).unwrap();
        let md5 = of("x-amz-checksum-md5", &Md5::digest(body)).unwrap();
        assert_eq!(md5, Expected::ChecksumMd5(Md5::digest(body).into()));
        for expected in [sha256, sha1, sha512, md5] {
            assert_eq!(stream(expected, &[body]).1.as_deref(), Ok(&body[..]));
            let other = b"another file";
            assert_eq!(
                stream(expected, &[other]).1,
                Err(BodyError::Mismatch(expected))
            );
        }
        // A digest of the other algorithm's length, hex, a CRC or an unknown name: not one.
        for (name, value) in [
            ("x-amz-checksum-sha256", b64(&[1u8; 20])),
            ("x-amz-checksum-sha1", b64(&[1u8; 32])),
            ("x-amz-checksum-sha256", hex::encode(Sha256::digest(body))),
            ("x-amz-checksum-crc32", b64(&[1u8; 4])),
            ("x-amz-checksum-xxhash128", b64(&[1u8; 16])),
            ("x-amz-checksum-sha512", b64(&[1u8; 32])),
            ("x-amz-checksum-md5", b64(&[1u8; 20])),
            ("x-amz-checksum-sha384", b64(&[1u8; 48])),
        ] {
            assert_eq!(
                Expected::checksum(name, value.as_bytes()),
                Err(InvalidDigest),
                "{name} {value}"
            );
        }
        // The strongest of several is the one checked.
        let md5 = md5_of(body);
        assert_eq!(md5.strongest(Some(sha1)), sha1);
        assert_eq!(sha1.strongest(Some(md5)), sha1);
        assert_eq!(sha1.strongest(Some(sha256)), sha256);
        assert_eq!(sha1.strongest(Some(sha512)), sha512);
        assert_eq!(Expected::ChecksumMd5([0; 16]).strongest(Some(sha1)), sha1);
        assert_eq!(sha256.strongest(Some(sha256_of(body))), sha256);
        assert_eq!(md5.strongest(None), md5);
    }

    #[test]
    fn only_base64_of_sixteen_bytes_is_a_content_md5() {
        let good = b64(&[7u8; 16]);
        assert_eq!(
            Expected::content_md5(good.as_bytes()),
            Ok(Expected::Md5([7u8; 16]))
        );
        assert_eq!(
            Expected::content_md5(format!("  {good} ").as_bytes()),
            Ok(Expected::Md5([7u8; 16]))
        );
        for bad in [
            String::new(),
            "x".to_owned(),
            b64(&[7u8; 15]),
            b64(&[7u8; 17]),
            b64(&[7u8; 32]),
            good.trim_end_matches('=').to_owned(),
            good.replace('=', "A"),
            format!("{}!", &good[..23]),
            "d41d8cd98f00b204e9800998ecf8427e".to_owned(), // hex, not base64
            "1B2M2Y8AsgTpgAmY7PhCfh==".to_owned(),         // non-canonical trailing bits
        ] {
            assert_eq!(
                Expected::content_md5(bad.as_bytes()),
                Err(InvalidDigest),
                "{bad:?}"
            );
        }
    }

    /// An empty body is taken with the head when it matches the digest and is not framed: the
    /// filter's only chance to check a body that never comes (cargo-mutants: `accepts_empty`
    /// made `false`, unnoticed by the unit tests).
    #[test]
    fn an_empty_body_is_taken_at_the_head_when_it_matches_unframed() {
        let check = |expected, framing| BodyCheck {
            expected: Some(expected),
            hold: Hold::LastByte,
            framing,
        };
        assert!(check(md5_of(b""), Framing::Plain).accepts_empty());
        assert!(!check(md5_of(b"x"), Framing::Plain).accepts_empty());
        let none = Framing::AwsChunked {
            trailers: Trailers::default(),
            decoded_length: None,
        };
        assert!(!check(md5_of(b""), none).accepts_empty());
    }

    /// base64 of 31 bytes is 44 characters, as long as a SHA-256's, and of 19 bytes 28, as a
    /// SHA-1's: the bytes decoded are counted, not the characters alone, as S3 refuses them
    /// (cargo-mutants: the count's guard made `true` took them, a zero for the missing byte).
    #[test]
    fn a_digest_one_byte_short_in_as_many_characters_is_refused() {
        for (name, n) in [("x-amz-checksum-sha256", 32), ("x-amz-checksum-sha1", 20)] {
            let short = b64(&vec![7u8; n - 1]);
            assert_eq!(short.len(), b64(&vec![7u8; n]).len(), "{name}");
            assert_eq!(
                Expected::checksum(name, short.as_bytes()),
                Err(InvalidDigest)
            );
            assert!(Expected::checksum(name, b64(&vec![7u8; n]).as_bytes()).is_ok());
        }
    }

    /// A form's file is checked by `RunningDigest::check`: another body is refused as S3
    /// refuses it (cargo-mutants: `check` made `Ok(())`, which no unit test called).
    #[test]
    fn a_running_digest_refuses_another_body() {
        let mut same = RunningDigest::new(md5_of(b"hello"));
        same.update(b"hel");
        same.update(b"lo");
        assert_eq!(same.check(), Ok(()));
        let mut other = RunningDigest::new(md5_of(b"hello"));
        other.update(b"hellp");
        assert_eq!(other.check().unwrap_err().error.code, BadDigest);
    }

    /// What is held is what `held` says: the last byte of object data, all of a document
    /// (cargo-mutants: `held` made 0 or 1, unnoticed).
    #[test]
    fn held_counts_what_waits() {
        let mut object = digest(md5_of(b"abcdef"), Hold::LastByte, 1 << 20);
        object.feed(b"abc").unwrap();
        assert_eq!(object.held(), 1);
        let mut document = digest(md5_of(b"abcdef"), Hold::Whole, 1 << 20);
        document.feed(b"abc").unwrap();
        document.feed(b"de").unwrap();
        assert_eq!(document.held(), 5);
    }

    /// A document's reservation doubles, and only when what arrives does not fit: one that
    /// grew by what each piece brings would be copied whole for every piece, a quadratic cost
    /// a sender chooses (cargo-mutants: `* 2` made `+ 2` or `/ 2`, and `>` made `>=`,
    /// unnoticed). A document of exactly the bound is held.
    #[test]
    fn a_document_reservation_doubles_and_may_reach_the_bound() {
        let budget = MemoryBudget::new(8 << 20);
        let check = BodyCheck {
            expected: Some(md5_of(b"")),
            hold: Hold::Whole,
            framing: Framing::Plain,
        };
        let mut doc = BodyDigest::new(check, budget.clone());
        for reserved in [1000, 2000, 4000, 4000, 8000, 8000, 8000, 8000, 16000] {
            doc.feed(&[b'x'; 1000]).unwrap();
            assert_eq!(budget.used(), reserved);
        }
        drop(doc);
        let mut full = BodyDigest::new(check, budget.clone());
        assert_eq!(
            full.feed(&vec![b' '; MAX_DOCUMENT_BYTES]),
            Ok(Release::default())
        );
        assert_eq!(full.held(), MAX_DOCUMENT_BYTES);
    }
}
