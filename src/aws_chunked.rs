//! In-stream verification and re-signing of signed aws-chunked bodies:
//!
//! ```text
//! <hex size>;chunk-signature=<64 hex>\r\n<data>\r\n   … repeated …
//! 0;chunk-signature=<64 hex>\r\n
//! \r\n                                          (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
//! <name>:<value>\r\n… x-amz-trailer-signature:<64 hex>\r\n\r\n   (…-PAYLOAD-TRAILER)
//! ```
//!
//! Each chunk is held until its data is complete, verified against the client's chain, given
//! the origin chain's signature in place (64 hex digits either way, so lengths never change)
//! and released. At most one chunk (bounded by the configured maximum) is held; the final
//! chunk and the trailer are released only once the body has ended and they verify, so the
//! origin cannot complete an object the client did not sign.
//!
//! A chunk is held in the VM, not in Envoy's buffer: a filter can release all of Envoy's
//! buffered body or none of it, and the chunk still arriving must stay behind while the
//! chunks before it go on. What is held is reserved from the VM's `MemoryBudget` first and
//! allocated fallibly, so many held uploads get 503 SlowDown instead of exhausting the VM.

use crate::body_edits::Lead;
use crate::bytes::{split_once_bytes, starts_with_ignore_ascii_case};
use crate::memory_budget::{MemoryBudget, Reservation};
use crate::s3_error::{S3Error, S3ErrorCode};
use crate::sigv4::chunk_signing::ChunkChain;
use crate::sigv4::signature::Signature;
use sha2::{Digest, Sha256};
use std::fmt;
use std::rc::Rc;

/// `ffffffffffffffff;chunk-signature=<64>\r\n` is 99 bytes; anything longer is not a header.
const MAX_HEADER: usize = 128;
/// Checksums and the trailer signature fit easily.
const MAX_TRAILER_SECTION: usize = 16 * 1024;
/// The most hex digits a chunk's size may have.
const MAX_SIZE_DIGITS: usize = 8;
const SIGNATURE_PARAM: &[u8] = b"chunk-signature=";
const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// Chunk `index` (0-based) does not carry the client chain's signature.
    ChunkSignature {
        index: u64,
    },
    TrailerSignature,
    Malformed(&'static str),
    ChunkTooLarge {
        size: u64,
        max: u64,
    },
    /// The chunks add up to another length than `x-amz-decoded-content-length`.
    LengthMismatch {
        declared: u64,
        actual: u64,
    },
    /// The body ended inside a chunk or before the final chunk.
    Truncated,
    /// Holding the chunk would exceed the VM's memory budget (or the VM's memory).
    OverBudget,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::ChunkSignature { index } => {
                write!(f, "the signature of chunk {index} does not match")
            }
            ChunkError::TrailerSignature => f.write_str("the trailer signature does not match"),
            ChunkError::Malformed(what) => write!(f, "malformed aws-chunked body: {what}"),
            ChunkError::ChunkTooLarge { size, max } => {
                write!(f, "a chunk of {size} bytes exceeds the {max}-byte limit")
            }
            ChunkError::LengthMismatch { declared, actual } => write!(
                f,
                "the chunks carry {actual} bytes; x-amz-decoded-content-length says {declared}"
            ),
            ChunkError::Truncated => f.write_str("the body ended before its final chunk"),
            ChunkError::OverBudget => {
                f.write_str("too many uploads are in progress; please reduce your request rate")
            }
        }
    }
}

impl ChunkError {
    pub fn s3_error(&self) -> S3Error {
        let code = match self {
            ChunkError::ChunkSignature { .. } | ChunkError::TrailerSignature => {
                S3ErrorCode::SignatureDoesNotMatch
            }
            ChunkError::Malformed(_) | ChunkError::ChunkTooLarge { .. } => {
                S3ErrorCode::InvalidRequest
            }
            ChunkError::LengthMismatch { .. } | ChunkError::Truncated => {
                S3ErrorCode::IncompleteBody
            }
            ChunkError::OverBudget => S3ErrorCode::SlowDown,
        };
        S3Error::new(code, self.to_string())
    }
}

/// Which chunk chains a resigner runs. There is no variant with neither: a body is always
/// either verified here or was verified by the edge filter (and then only re-signed here).
pub enum Chains {
    /// Verify against the client's chain, write the origin's signatures in place.
    VerifyAndSign {
        client: ChunkChain,
        origin: ChunkChain,
    },
    /// Verify only, passing the client's signatures on (an edge filter).
    Verify { client: ChunkChain },
    /// Re-sign only what the edge filter verified (an origin filter).
    Sign { origin: ChunkChain },
}

impl Chains {
    fn split(self) -> (Option<ChunkChain>, Option<ChunkChain>) {
        match self {
            Chains::VerifyAndSign { client, origin } => (Some(client), Some(origin)),
            Chains::Verify { client } => (Some(client), None),
            Chains::Sign { origin } => (None, Some(origin)),
        }
    }
}

/// Whether the body ends with a signed trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trailer {
    None,
    Signed,
}

/// What one piece of the body releases: `lead` (the byte held back from the last release),
/// `prefix` (a chunk completed from earlier pieces, re-signed), then `input[range]` (re-signed
/// in place). The rest of the input is held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Release {
    /// Apart from `prefix`, which it would otherwise have to be moved in front of: a byte
    /// written before a held chunk costs a copy of the chunk.
    pub lead: Lead,
    pub prefix: Vec<u8>,
    pub range: std::ops::Range<usize>,
}

/// Where the parser is within the current unit (a chunk, or the final chunk and what follows).
enum State {
    /// Reading a chunk header (a copy goes to `header`).
    Header,
    /// Reading a chunk's data.
    Data {
        remaining: u64,
        claimed: Signature,
        signature_at: usize,
    },
    /// Reading the `\r\n` after the data; `seen` of its bytes so far.
    DataEnd {
        seen: usize,
        claimed: Signature,
        signature_at: usize,
    },
    /// After the final (empty) chunk, verified: the rest of the body, held until it ends.
    Final,
    Done,
    Failed,
}

/// What a step of the parser completed.
enum Event {
    Nothing,
    /// A chunk verified; the origin's signature (if this filter signs) goes at `signature_at`
    /// in the unit.
    Chunk {
        signature_at: usize,
        signature: Option<String>,
    },
    /// The final chunk verified: the unit is held from here to the end of the body.
    Final {
        signature_at: usize,
        signature: Option<String>,
    },
}

pub struct ChunkedResigner {
    client: Option<ChunkChain>,
    origin: Option<ChunkChain>,
    trailer: Trailer,
    max_chunk_size: u64,
    declared_length: u64,
    seen_length: u64,
    state: State,
    /// The current chunk header, as read so far.
    header: Vec<u8>,
    /// Bytes of the current unit consumed so far.
    unit_len: usize,
    /// The current unit, when it began in an earlier piece (empty otherwise): the one
    /// incomplete chunk, or the final chunk and trailer section.
    held: Vec<u8>,
    /// The VM budget's cover for `held`'s capacity.
    reservation: Reservation,
    hasher: Sha256,
    chunks: u64,
    /// The trailer names the signed `x-amz-trailer` header announced, lower-cased, sorted.
    announced: Vec<Vec<u8>>,
    /// The end of what was released, kept until more follows or the body ends well: its last
    /// byte, and once all the data is in, from the data's last byte on. A body cut short
    /// right after a complete chunk would otherwise reach the origin whole by its
    /// `Content-Length` before the filter hears that it ended, and a lenient origin stores it
    /// without the final chunk; Ceph RGW stores an upload as soon as its decoded length has
    /// arrived, before the final chunk and the trailer (a red team, 2026-12-05).
    kept: Lead,
}

impl ChunkedResigner {
    pub fn new(
        chains: Chains,
        trailer: Trailer,
        max_chunk_size: u64,
        declared_length: u64,
        budget: Rc<MemoryBudget>,
    ) -> Self {
        let (client, origin) = chains.split();
        ChunkedResigner {
            client,
            origin,
            trailer,
            max_chunk_size,
            declared_length,
            seen_length: 0,
            state: State::Header,
            header: Vec::with_capacity(MAX_HEADER),
            unit_len: 0,
            held: Vec::new(),
            reservation: Reservation::new(budget),
            hasher: Sha256::new(),
            chunks: 0,
            announced: Vec::new(),
            kept: Lead::default(),
        }
    }

    /// The trailers the request's `x-amz-trailer` header announces (`a, b`): the body's
    /// trailer section must carry exactly these.
    pub fn announcing(mut self, x_amz_trailer: &[u8]) -> Self {
        let mut names: Vec<Vec<u8>> = x_amz_trailer
            .split(|&b| b == b',')
            .map(|name| name.trim_ascii().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        crate::sort::sort(&mut names);
        names.dedup();
        self.announced = names;
        self
    }

    /// Chunks verified and re-signed so far, the final empty chunk included.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Bytes held back, waiting for the rest of their chunk.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Bytes of the budget reserved for what is held.
    pub fn reserved(&self) -> usize {
        self.reservation.bytes()
    }

    /// Takes the next piece of the body. Chunks completed inside `input` are re-signed in
    /// place; the release says what goes on now, the rest waits in the resigner.
    pub fn feed(&mut self, input: &mut [u8]) -> Result<Release, ChunkError> {
        let mut release = self.feed_inner(input).inspect_err(|_| self.fail())?;
        release.lead = std::mem::take(&mut self.kept);
        // What was released ends with a chunk's CRLF: the data's last byte is two before it.
        let keep = if self.declared_length > 0 && self.seen_length == self.declared_length {
            Lead::MAX
        } else {
            1
        };
        while self.kept.len() < keep {
            let byte = if release.range.end > release.range.start {
                release.range.end -= 1;
                input.get(release.range.end).copied()
            } else {
                // Nothing new (or not enough) went on: what was kept stays back.
                release.prefix.pop().or_else(|| release.lead.pop())
            };
            let Some(byte) = byte else { break };
            self.kept.push_front(byte);
        }
        Ok(release)
    }

    /// `feed`, appending what goes on to `out`.
    pub fn feed_into(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkError> {
        let mut piece = input.to_vec();
        let release = self.feed(&mut piece)?;
        out.extend_from_slice(release.lead.as_slice());
        out.extend_from_slice(&release.prefix);
        out.extend_from_slice(&piece[release.range]);
        Ok(())
    }

    /// The body has ended: returns the final chunk and trailer, once verified.
    pub fn finish(&mut self) -> Result<Vec<u8>, ChunkError> {
        let rest = match self.state {
            State::Final => {
                self.finish_final().inspect_err(|_| self.fail())?;
                self.state = State::Done;
                self.release_held()
            }
            State::Done => Vec::new(),
            _ => {
                self.fail();
                return Err(ChunkError::Truncated);
            }
        };
        let kept = std::mem::take(&mut self.kept);
        Ok(if kept.is_empty() {
            rest
        } else {
            [kept.as_slice(), &rest].concat()
        })
    }

    fn fail(&mut self) {
        self.state = State::Failed;
        self.release_held();
    }

    /// Hands over the held unit; its reservation goes back to the budget.
    fn release_held(&mut self) -> Vec<u8> {
        self.reservation.resize(0);
        std::mem::take(&mut self.held)
    }

    /// Appends to the held unit. What is reserved (and allocated) follows what has arrived,
    /// doubling up to the unit's end, never what a chunk header merely claims: a client that
    /// declares large chunks and sends nothing holds almost nothing.
    fn hold(&mut self, bytes: &[u8]) -> Result<(), ChunkError> {
        let needed = self.held.len() + bytes.len();
        if needed > self.held.capacity() {
            let unit_end = needed.saturating_add(self.unit_remaining());
            // No floor: a stream's first byte reserves a byte, not 4 KiB (a third red team's
            // 6,000 replays of one chunk head, a data byte each, reserved 23 MiB so).
            let target = needed
                .max(self.held.capacity().saturating_mul(2))
                .min(unit_end);
            if !self.reservation.resize(target) {
                return Err(ChunkError::OverBudget);
            }
            self.held
                .try_reserve_exact(target - self.held.len())
                .map_err(|_| ChunkError::OverBudget)?;
        }
        self.held.extend_from_slice(bytes);
        Ok(())
    }

    /// Counts what this upload holds against `access_key_id`'s share of the budget.
    pub fn for_key(mut self, access_key_id: &str) -> Self {
        self.reservation.set_owner(access_key_id);
        self
    }

    /// What the current unit still lacks, at most.
    fn unit_remaining(&self) -> usize {
        match &self.state {
            State::Header => MAX_HEADER.saturating_sub(self.header.len()),
            State::Data { remaining, .. } => usize::try_from(*remaining)
                .unwrap_or(usize::MAX)
                .saturating_add(2),
            State::DataEnd { seen, .. } => 2 - seen,
            // A trailer section is a line or two: grow in small steps (the total is capped
            // in `step`).
            State::Final => match self.trailer {
                Trailer::None => 2,
                Trailer::Signed => 256,
            },
            State::Done | State::Failed => 0,
        }
    }

    fn feed_inner(&mut self, input: &mut [u8]) -> Result<Release, ChunkError> {
        let mut release = Release::default();
        // The start, in `input`, of the current unit if it began in this piece.
        let mut unit_start = if self.held.is_empty() && self.unit_len == 0 {
            Some(0)
        } else if self.held.is_empty() {
            return Err(ChunkError::Malformed(
                "internal: a unit was neither held nor here",
            ));
        } else {
            None
        };
        let mut at = 0;
        while at < input.len() {
            let (used, event) = self.step(&input[at..])?;
            if unit_start.is_none() {
                self.hold(&input[at..at + used])?;
            }
            at += used;
            self.unit_len += used;
            match event {
                Event::Nothing => {}
                Event::Chunk {
                    signature_at,
                    signature,
                } => {
                    match unit_start {
                        Some(start) => {
                            if let Some(signature) = &signature {
                                let sig = start + signature_at;
                                input[sig..sig + 64].copy_from_slice(signature.as_bytes());
                            }
                        }
                        None => {
                            if let Some(signature) = &signature {
                                self.held[signature_at..signature_at + 64]
                                    .copy_from_slice(signature.as_bytes());
                            }
                            release.prefix = self.release_held();
                            release.range = at..at;
                        }
                    }
                    release.range.end = at;
                    self.unit_len = 0;
                    unit_start = Some(at);
                }
                Event::Final {
                    signature_at,
                    signature,
                } => {
                    // Held to the end, whatever happens before: move it out of the input.
                    if let Some(start) = unit_start.take() {
                        self.hold(&input[start..at])?;
                    }
                    if let Some(signature) = &signature {
                        self.held[signature_at..signature_at + 64]
                            .copy_from_slice(signature.as_bytes());
                    }
                }
            }
        }
        // An incomplete unit that began here waits for the next piece.
        if let Some(start) = unit_start {
            if start < input.len() {
                self.hold(&input[start..])?;
            }
        }
        Ok(release)
    }

    /// Consumes some of `input` (never past the current unit), returning how much.
    fn step(&mut self, input: &[u8]) -> Result<(usize, Event), ChunkError> {
        match self.state {
            State::Header => {
                let (line_end, used) = match input.iter().position(|&b| b == b'\n') {
                    Some(lf) => (true, lf + 1),
                    None => (false, input.len()),
                };
                self.header.extend_from_slice(&input[..used]);
                if self.header.len() > MAX_HEADER {
                    return Err(ChunkError::Malformed("a chunk header is too long"));
                }
                let event = if line_end {
                    self.start_chunk()?
                } else {
                    Event::Nothing
                };
                Ok((used, event))
            }
            State::Data {
                ref mut remaining,
                ref claimed,
                signature_at,
            } => {
                let take = input
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                self.hasher.update(&input[..take]);
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = State::DataEnd {
                        seen: 0,
                        claimed: claimed.clone(),
                        signature_at,
                    };
                }
                Ok((take, Event::Nothing))
            }
            State::DataEnd { seen, .. } => {
                if input[0] != b"\r\n"[seen] {
                    return Err(ChunkError::Malformed("chunk data is not followed by CRLF"));
                }
                let event = match &mut self.state {
                    State::DataEnd { seen, .. } if *seen == 0 => {
                        *seen = 1;
                        Event::Nothing
                    }
                    _ => self.end_chunk()?,
                };
                Ok((1, event))
            }
            State::Final => {
                if self.held.len() + input.len() > MAX_HEADER + MAX_TRAILER_SECTION {
                    return Err(ChunkError::Malformed("the trailer section is too large"));
                }
                Ok((input.len(), Event::Nothing))
            }
            State::Done => Err(ChunkError::Malformed("data after the end of the body")),
            State::Failed => Err(ChunkError::Malformed("the body was already refused")),
        }
    }

    /// A complete header line is in `header`.
    fn start_chunk(&mut self) -> Result<Event, ChunkError> {
        let (size, claimed, signature_at) = parse_header(&self.header)?;
        self.header.clear();
        if size > self.max_chunk_size {
            return Err(ChunkError::ChunkTooLarge {
                size,
                max: self.max_chunk_size,
            });
        }
        let actual = self.seen_length.saturating_add(size);
        if actual > self.declared_length || (size == 0 && actual != self.declared_length) {
            return Err(ChunkError::LengthMismatch {
                declared: self.declared_length,
                actual,
            });
        }
        self.seen_length = actual;
        if size > 0 {
            self.state = State::Data {
                remaining: size,
                claimed,
                signature_at,
            };
            return Ok(Event::Nothing);
        }
        // The final chunk has no data: verify it now, release it with the rest at the end.
        let signature = self.resign(EMPTY_SHA256, &claimed)?;
        self.state = State::Final;
        Ok(Event::Final {
            signature_at,
            signature,
        })
    }

    /// Data and CRLF read: verify and re-sign.
    fn end_chunk(&mut self) -> Result<Event, ChunkError> {
        let State::DataEnd {
            claimed,
            signature_at,
            ..
        } = std::mem::replace(&mut self.state, State::Header)
        else {
            return Err(ChunkError::Malformed("internal state"));
        };
        let digest = hex::encode(self.hasher.finalize_reset());
        let signature = self.resign(&digest, &claimed)?;
        Ok(Event::Chunk {
            signature_at,
            signature,
        })
    }

    /// Checks `claimed` against the client chain; returns the origin chain's signature.
    fn resign(
        &mut self,
        data_sha256: &str,
        claimed: &Signature,
    ) -> Result<Option<String>, ChunkError> {
        if let Some(client) = &mut self.client {
            if !client.next_chunk(data_sha256).verifies(claimed) {
                return Err(ChunkError::ChunkSignature { index: self.chunks });
            }
        }
        self.chunks += 1;
        Ok(self
            .origin
            .as_mut()
            .map(|origin| origin.next_chunk(data_sha256).to_hex()))
    }

    /// Verifies and re-signs what follows the final chunk (all of it in `held`).
    fn finish_final(&mut self) -> Result<(), ChunkError> {
        // The held unit opens with the final chunk's header line.
        let section_at = self
            .held
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.held.len(), |lf| lf + 1);
        let section = &self.held[section_at..];
        if self.trailer == Trailer::None {
            return match section {
                b"\r\n" => Ok(()),
                b"" | b"\r" => Err(ChunkError::Truncated),
                _ => Err(ChunkError::Malformed(
                    "the final chunk is not followed by CRLF",
                )),
            };
        }
        if section.last().is_some_and(|&b| b != b'\n') {
            return Err(ChunkError::Truncated);
        }
        let parsed = parse_trailer_section(section)?;
        // What the signed `x-amz-trailer` header announced must be what came: a trailer that
        // is dropped (or added) would leave the origin with another checksum than signed.
        if !self.announced.is_empty() && parsed.names != self.announced {
            return Err(ChunkError::Malformed(
                "the trailers differ from those x-amz-trailer announced",
            ));
        }
        let Some((offset, claimed)) = parsed.signature else {
            return if parsed.canonical.is_empty() {
                Ok(())
            } else {
                Err(ChunkError::Malformed(
                    "the trailer has no x-amz-trailer-signature",
                ))
            };
        };
        if let Some(client) = &self.client {
            if !client.trailer(&parsed.canonical).verifies(&claimed) {
                return Err(ChunkError::TrailerSignature);
            }
        }
        if let Some(origin) = &self.origin {
            let signature = origin.trailer(&parsed.canonical).to_hex();
            let at = section_at + offset;
            self.held[at..at + 64].copy_from_slice(signature.as_bytes());
        }
        Ok(())
    }
}

/// `<hex size>;chunk-signature=<64 hex>\r\n` → (size, signature, offset of the signature).
fn parse_header(line: &[u8]) -> Result<(u64, Signature, usize), ChunkError> {
    let line = line.strip_suffix(b"\r\n").ok_or(ChunkError::Malformed(
        "a chunk header does not end with CRLF",
    ))?;
    let (size_hex, extension) = split_once_bytes(line, b';').ok_or(ChunkError::Malformed(
        "a chunk header has no chunk-signature",
    ))?;
    let size = chunk_size(size_hex).ok_or(ChunkError::Malformed(
        "a chunk size is not 1 to 8 hexadecimal digits",
    ))?;
    let signature = extension
        .strip_prefix(SIGNATURE_PARAM)
        .ok_or(ChunkError::Malformed(
            "only the chunk-signature extension is allowed",
        ))?;
    if signature.len() != 64 {
        return Err(ChunkError::Malformed(
            "a chunk signature is not 64 lower-case hex digits",
        ));
    }
    let claimed = Signature::from_hex(signature)
        .map_err(|_| ChunkError::Malformed("a chunk signature is not 64 lower-case hex digits"))?;
    Ok((size, claimed, size_hex.len() + 1 + SIGNATURE_PARAM.len()))
}

/// A chunk's size, as its header spells it: 1 to 8 hex digits. Eight at most, as origins read
/// them: s3s reads the first eight and drops the rest (`000000010` is 1 byte to it, 16 to another),
/// Garage refuses a ninth. Any size a chunk may have fits (the SDKs send the shortest form).
pub(crate) fn chunk_size(hex: &[u8]) -> Option<u64> {
    if hex.is_empty() || hex.len() > MAX_SIZE_DIGITS || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(hex.iter().fold(0u64, |size, &digit| {
        (size << 4) | u64::from(char::from(digit).to_digit(16).unwrap_or(0))
    }))
}

struct TrailerSection {
    /// `name:value\n` per trailer, sorted by name, names lower-cased, values trimmed.
    canonical: Vec<u8>,
    /// The trailers' names (the signature's aside), lower-cased, sorted.
    names: Vec<Vec<u8>>,
    /// Offset (in the section) and value of `x-amz-trailer-signature`.
    signature: Option<(usize, Signature)>,
}

/// Lines end with CRLF or a bare LF (clients differ); the section ends with an empty line
/// or simply with the body. One empty line may also stand between the trailers and their
/// signature: minio-go writes `name:value\n` lines, then `\r\n`, then
/// `x-amz-trailer-signature:<64 hex>\r\n\r\n` (`StreamingReader.addSignedTrailer`, v7.0.46
/// to this day), which MinIO and s3s read as the same trailers and signature. Nothing else may
/// follow an empty line.
fn parse_trailer_section(section: &[u8]) -> Result<TrailerSection, ChunkError> {
    let mut entries: Vec<(Vec<u8>, &[u8])> = Vec::new();
    let mut signature = None;
    let mut empty_lines = 0;
    let mut at = 0;
    while at < section.len() {
        let lf = section[at..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(ChunkError::Malformed("a trailer line does not end"))?;
        let raw = &section[at..at + lf];
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line_at = at;
        at += lf + 1;
        if line.is_empty() {
            empty_lines += 1;
            // The end, minio-go's separator and one spare, as for unsigned chunks; more would
            // be bytes no signature covers (a red team sent a hundred, 2026-12-04).
            if empty_lines > 2 {
                return Err(ChunkError::Malformed("data after the trailer section"));
            }
            continue;
        }
        if empty_lines > 0 {
            // After an empty line: only minio-go's signature line, once (then only the end).
            let prefix = TRAILER_SIGNATURE.as_bytes();
            let signs_the_trailers = starts_with_ignore_ascii_case(line, prefix)
                && line.get(prefix.len()) == Some(&b':')
                && !entries.is_empty()
                && signature.is_none();
            if empty_lines > 1 || !signs_the_trailers {
                return Err(ChunkError::Malformed("data after the trailer section"));
            }
        }
        let (name, after_colon) = split_once_bytes(line, b':')
            .ok_or(ChunkError::Malformed("a trailer line is not name:value"))?;
        let name = name.to_ascii_lowercase();
        let token = |b: &u8| b.is_ascii_alphanumeric() || b"-_".contains(b);
        if name.is_empty() || !name.iter().all(token) {
            return Err(ChunkError::Malformed("a trailer name is not a token"));
        }
        let value_start = name.len()
            + 1
            + after_colon
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
        let value = trim_sp_htab(after_colon);
        if name == TRAILER_SIGNATURE.as_bytes() {
            let claimed = Signature::from_hex(value).map_err(|_| {
                ChunkError::Malformed("the trailer signature is not 64 lower-case hex digits")
            })?;
            if signature
                .replace((line_at + value_start, claimed))
                .is_some()
            {
                return Err(ChunkError::Malformed("the trailer signature is repeated"));
            }
        } else {
            // A stray CR (`value\r\r\n`) is signed as part of the value, and s3s-fs answers
            // such a trailer 500, as one that is not UTF-8 (red teams, 2026-12-05): the
            // trailers S3 takes are checksums, printable ASCII.
            if !value.iter().all(|b| matches!(b, b' '..=b'~')) {
                return Err(ChunkError::Malformed(
                    "a trailer value is not printable ASCII",
                ));
            }
            entries.push((name, value));
        }
    }
    let (canonical, names) = canonical_trailers(entries)?;
    Ok(TrailerSection {
        canonical,
        names,
        signature,
    })
}

/// The trailers as their signature covers them (`name:value\n`, sorted by name), and their
/// names.
fn canonical_trailers(
    mut entries: Vec<(Vec<u8>, &[u8])>,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), ChunkError> {
    crate::sort::sort(&mut entries);
    // One value per name: two, sorted into the canonical form, would sign the same whichever
    // the origin read (a review).
    if entries.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(ChunkError::Malformed("a trailer is repeated"));
    }
    let names: Vec<Vec<u8>> = entries.iter().map(|(name, _)| name.clone()).collect();
    let mut canonical = Vec::new();
    for (name, value) in entries {
        canonical.extend_from_slice(&name);
        canonical.push(b':');
        canonical.extend_from_slice(value);
        canonical.push(b'\n');
    }
    Ok((canonical, names))
}

/// Space and tab only, not `trim_ascii`'s CR and FF: a stray CR stays in the signed value.
pub(crate) fn trim_sp_htab(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &value[start..end]
}
