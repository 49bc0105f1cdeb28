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

use crate::s3_error::{S3Error, S3ErrorCode};
use crate::sigv4::chunk_signing::ChunkChain;
use crate::sigv4::signature::Signature;
use sha2::{Digest, Sha256};
use std::fmt;

/// `ffffffffffffffff;chunk-signature=<64>\r\n` is 99 bytes; anything longer is not a header.
const MAX_HEADER: usize = 128;
/// Checksums and the trailer signature fit easily.
const MAX_TRAILER_SECTION: usize = 16 * 1024;
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
        };
        S3Error::new(code, self.to_string())
    }
}

/// Whether the body ends with a signed trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trailer {
    None,
    Signed,
}

enum State {
    /// Reading a chunk header into `held`.
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
    Final {
        section_at: usize,
    },
    Done,
    Failed,
}

pub struct ChunkedResigner {
    client: ChunkChain,
    origin: ChunkChain,
    trailer: Trailer,
    max_chunk_size: u64,
    declared_length: u64,
    seen_length: u64,
    state: State,
    /// The unit being assembled: a chunk header, its data and CRLF; or the final section.
    held: Vec<u8>,
    hasher: Sha256,
    chunks: u64,
}

impl ChunkedResigner {
    pub fn new(
        client: ChunkChain,
        origin: ChunkChain,
        trailer: Trailer,
        max_chunk_size: u64,
        declared_length: u64,
    ) -> Self {
        ChunkedResigner {
            client,
            origin,
            trailer,
            max_chunk_size,
            declared_length,
            seen_length: 0,
            state: State::Header,
            held: Vec::new(),
            hasher: Sha256::new(),
            chunks: 0,
        }
    }

    /// Chunks verified and re-signed so far, the final empty chunk included.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Bytes held back, waiting for the rest of their chunk.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Takes the next piece of the body; appends to `out` what is ready to forward.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkError> {
        while !input.is_empty() {
            let used = self.step(input, out).inspect_err(|_| self.fail())?;
            input = &input[used..];
        }
        Ok(())
    }

    /// The body has ended: appends the final chunk and trailer, once verified, to `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ChunkError> {
        match self.state {
            State::Final { section_at } => {
                let result = self.finish_final(section_at);
                if result.is_err() {
                    self.fail();
                }
                result?;
                out.append(&mut self.held);
                self.state = State::Done;
                Ok(())
            }
            State::Done => Ok(()),
            _ => {
                self.fail();
                Err(ChunkError::Truncated)
            }
        }
    }

    fn fail(&mut self) {
        self.state = State::Failed;
        self.held = Vec::new();
    }

    /// Consumes some of `input`, returning how much.
    fn step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ChunkError> {
        match self.state {
            State::Header => {
                let (line_end, used) = match input.iter().position(|&b| b == b'\n') {
                    Some(lf) => (true, lf + 1),
                    None => (false, input.len()),
                };
                self.held.extend_from_slice(&input[..used]);
                if self.held.len() > MAX_HEADER {
                    return Err(ChunkError::Malformed("a chunk header is too long"));
                }
                if line_end {
                    self.start_chunk()?;
                }
                Ok(used)
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
                self.held.extend_from_slice(&input[..take]);
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = State::DataEnd {
                        seen: 0,
                        claimed: claimed.clone(),
                        signature_at,
                    };
                }
                Ok(take)
            }
            State::DataEnd { seen, .. } => {
                if input[0] != b"\r\n"[seen] {
                    return Err(ChunkError::Malformed("chunk data is not followed by CRLF"));
                }
                self.held.push(input[0]);
                match &mut self.state {
                    State::DataEnd { seen, .. } if *seen == 0 => *seen = 1,
                    _ => self.end_chunk(out)?,
                }
                Ok(1)
            }
            State::Final { .. } => {
                if self.held.len() + input.len() > MAX_HEADER + MAX_TRAILER_SECTION {
                    return Err(ChunkError::Malformed("the trailer section is too large"));
                }
                self.held.extend_from_slice(input);
                Ok(input.len())
            }
            State::Done => Err(ChunkError::Malformed("data after the end of the body")),
            State::Failed => Err(ChunkError::Malformed("the body was already refused")),
        }
    }

    /// A complete header line is in `held`.
    fn start_chunk(&mut self) -> Result<(), ChunkError> {
        let (size, claimed, signature_at) = parse_header(&self.held)?;
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
            return Ok(());
        }
        // The final chunk has no data: verify it now, release it with the rest at the end.
        self.resign(EMPTY_SHA256, &claimed, signature_at)?;
        self.state = State::Final {
            section_at: self.held.len(),
        };
        Ok(())
    }

    /// Data and CRLF are in `held`: verify, re-sign, release.
    fn end_chunk(&mut self, out: &mut Vec<u8>) -> Result<(), ChunkError> {
        let State::DataEnd {
            claimed,
            signature_at,
            ..
        } = std::mem::replace(&mut self.state, State::Header)
        else {
            return Err(ChunkError::Malformed("internal state"));
        };
        let digest = hex::encode(self.hasher.finalize_reset());
        self.resign(&digest, &claimed, signature_at)?;
        out.append(&mut self.held);
        Ok(())
    }

    /// Checks `claimed` against the client chain and writes the origin chain's signature at
    /// `signature_at` in `held`.
    fn resign(
        &mut self,
        data_sha256: &str,
        claimed: &Signature,
        signature_at: usize,
    ) -> Result<(), ChunkError> {
        let expected = self.client.next_chunk(data_sha256);
        if !expected.verifies(claimed) {
            return Err(ChunkError::ChunkSignature { index: self.chunks });
        }
        let origin = self.origin.next_chunk(data_sha256).to_hex();
        self.held[signature_at..signature_at + 64].copy_from_slice(origin.as_bytes());
        self.chunks += 1;
        Ok(())
    }

    /// Verifies and re-signs what follows the final chunk.
    fn finish_final(&mut self, section_at: usize) -> Result<(), ChunkError> {
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
        let Some((offset, claimed)) = parsed.signature else {
            return if parsed.canonical.is_empty() {
                Ok(())
            } else {
                Err(ChunkError::Malformed(
                    "the trailer has no x-amz-trailer-signature",
                ))
            };
        };
        if !self.client.trailer(&parsed.canonical).verifies(&claimed) {
            return Err(ChunkError::TrailerSignature);
        }
        let origin = self.origin.trailer(&parsed.canonical).to_hex();
        let at = section_at + offset;
        self.held[at..at + 64].copy_from_slice(origin.as_bytes());
        Ok(())
    }
}

/// `<hex size>;chunk-signature=<64 hex>\r\n` → (size, signature, offset of the signature).
fn parse_header(line: &[u8]) -> Result<(u64, Signature, usize), ChunkError> {
    let line = line.strip_suffix(b"\r\n").ok_or(ChunkError::Malformed(
        "a chunk header does not end with CRLF",
    ))?;
    let semicolon = line
        .iter()
        .position(|&b| b == b';')
        .ok_or(ChunkError::Malformed(
            "a chunk header has no chunk-signature",
        ))?;
    let (size_hex, extension) = (&line[..semicolon], &line[semicolon + 1..]);
    if size_hex.is_empty() || size_hex.len() > 16 || !size_hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(ChunkError::Malformed("a chunk size is not hexadecimal"));
    }
    let size = size_hex.iter().fold(0u64, |acc, &b| {
        // Sixteen hex digits at most: no overflow.
        (acc << 4) | u64::from((b as char).to_digit(16).unwrap_or(0))
    });
    let signature = extension
        .strip_prefix(SIGNATURE_PARAM)
        .ok_or(ChunkError::Malformed(
            "only the chunk-signature extension is allowed",
        ))?;
    if signature.len() != 64 {
        return Err(ChunkError::Malformed(
            "a chunk signature is not 64 hex digits",
        ));
    }
    let claimed = Signature::from_hex(signature)
        .map_err(|_| ChunkError::Malformed("a chunk signature is not 64 hex digits"))?;
    Ok((size, claimed, semicolon + 1 + SIGNATURE_PARAM.len()))
}

struct TrailerSection {
    /// `name:value\n` per trailer, sorted by name, names lower-cased, values trimmed.
    canonical: Vec<u8>,
    /// Offset (in the section) and value of `x-amz-trailer-signature`.
    signature: Option<(usize, Signature)>,
}

/// Lines end with CRLF or a bare LF (clients differ); the section ends with an empty line
/// or simply with the body.
fn parse_trailer_section(section: &[u8]) -> Result<TrailerSection, ChunkError> {
    let mut entries: Vec<(Vec<u8>, &[u8])> = Vec::new();
    let mut signature = None;
    let mut ended = false;
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
            ended = true;
            continue;
        }
        if ended {
            return Err(ChunkError::Malformed("data after the trailer section"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(ChunkError::Malformed("a trailer line is not name:value"))?;
        let name = line[..colon].to_ascii_lowercase();
        let token = |b: &u8| b.is_ascii_alphanumeric() || b"-_".contains(b);
        if name.is_empty() || !name.iter().all(token) {
            return Err(ChunkError::Malformed("a trailer name is not a token"));
        }
        let value_start = colon
            + 1
            + line[colon + 1..]
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
        let value = trim(&line[colon + 1..]);
        if name == TRAILER_SIGNATURE.as_bytes() {
            let claimed = Signature::from_hex(value)
                .map_err(|_| ChunkError::Malformed("the trailer signature is not 64 hex digits"))?;
            if signature
                .replace((line_at + value_start, claimed))
                .is_some()
            {
                return Err(ChunkError::Malformed("the trailer signature is repeated"));
            }
        } else {
            entries.push((name, value));
        }
    }
    entries.sort();
    let mut canonical = Vec::new();
    for (name, value) in entries {
        canonical.extend_from_slice(&name);
        canonical.push(b':');
        canonical.extend_from_slice(value);
        canonical.push(b'\n');
    }
    Ok(TrailerSection {
        canonical,
        signature,
    })
}

fn trim(value: &[u8]) -> &[u8] {
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
