//! The data of an aws-chunked body whose chunks are unsigned
//! (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, what the AWS SDKs send over HTTPS), decoded as it
//! streams so that a signed `Content-MD5` or checksum can be checked against it, and its
//! trailer held to the checksums the signed `x-amz-trailer` announced:
//!
//! ```text
//! <hex size>\r\n<data>\r\n   … repeated …
//! 0\r\n
//! <name>:<value>\r\n …       (the trailer: an unsigned checksum)
//! \r\n
//! ```
//!
//! The body goes on as sent; only its digest depends on this reading, so the reading must be
//! the origin's: anything a reader could take another way is refused rather than guessed (a
//! chunk extension, which no SDK writes on unsigned chunks; a size that is not 1 to 8 hex
//! digits, as for signed chunks (`aws_chunked::chunk_size`: s3s reads only the first eight, so
//! a ninth let a chosen body read one way here and another at s3s-fs, a review found); data not
//! followed by exactly CRLF; bytes after the trailer).
//!
//! Nothing signs the trailer's values, so it may carry nothing but what the signature
//! announced: an origin reads its fields like headers (s3s-fs checked an unannounced
//! `x-amz-checksum-sha256` there), and an `x-amz-acl` or `x-minio-*` line would be an unsigned
//! header by another road (a red team saw them forwarded, 2026-12-04).

use crate::aws_chunked::{chunk_size, trim_sp_htab};
use crate::body_checks::CHECKSUMS;
use crate::bytes::split_once_bytes;

/// The most bytes a size line or a trailer line may have.
const MAX_LINE: usize = 1024;

/// A set of the trailers an unsigned aws-chunked body may carry, S3's checksums
/// (`body_checks::CHECKSUMS`), each once: one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trailers(u16);

// A bit for each checksum.
const _: () = assert!(CHECKSUMS.len() <= u16::BITS as usize);

impl Trailers {
    /// The trailers an `x-amz-trailer` value announces (`a, b`; none without one). A name that
    /// is not a checksum, or one named twice, is refused: S3 takes only checksums there.
    pub fn announced(x_amz_trailer: Option<&[u8]>) -> Result<Self, &'static str> {
        let mut set = Trailers::default();
        for name in x_amz_trailer.unwrap_or_default().split(|&b| b == b',') {
            let name = name.trim_ascii();
            if name.is_empty() {
                continue;
            }
            let bit = bit_of(name).ok_or("x-amz-trailer names a trailer that is not a checksum")?;
            if set.0 & bit != 0 {
                return Err("x-amz-trailer names a trailer twice");
            }
            set.0 |= bit;
        }
        Ok(set)
    }
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

fn bit_of(name: &[u8]) -> Option<u16> {
    CHECKSUMS
        .iter()
        .position(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
        .map(|at| 1 << at)
}

enum State {
    /// Reading a chunk's size line.
    Size,
    /// Inside a chunk's data: this many bytes to go.
    Data(u64),
    /// After a chunk's data: this many bytes of its CRLF seen.
    DataEnd(u8),
    /// After the final chunk: reading trailer lines.
    Trailer,
    /// After the trailer, this many bytes of one more CRLF seen: minio-go ends its trailer with
    /// two (`name:value\n\r\n\r\n`, v7.0.46 on), which origins skip. Only that may follow,
    /// once: other bytes would be read as the next request on the origin's connection.
    Done(u8),
}

/// Decodes one body.
pub struct ChunkDecoder {
    state: State,
    /// The line being read (a size line or a trailer line), bounded by `MAX_LINE`.
    line: Vec<u8>,
    /// What the trailer must carry, and what it has so far.
    announced: Trailers,
    seen: Trailers,
    /// The data its size lines have announced so far.
    decoded: u64,
}

impl ChunkDecoder {
    /// A decoder for a body whose trailer carries exactly `announced`.
    pub fn new(announced: Trailers) -> Self {
        ChunkDecoder {
            state: State::Size,
            line: Vec::new(),
            announced,
            seen: Trailers::default(),
            decoded: 0,
        }
    }

    /// The bytes of data the chunks read so far announce, the current one's whole.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Whether every byte of data has arrived: the final chunk has been read, or the data
    /// comes to `declared`, the length the request declares (a size line announcing more is
    /// refused by the caller).
    pub fn data_complete(&self, declared: Option<u64>) -> bool {
        match self.state {
            State::Data(_) => false,
            State::Trailer | State::Done(_) => true,
            State::Size | State::DataEnd(_) => declared == Some(self.decoded),
        }
    }

    /// Takes the next piece of the encoded body, handing `data` every piece of chunk data in it,
    /// in order. The error says what is malformed.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut data: impl FnMut(&[u8]),
    ) -> Result<(), &'static str> {
        while let Some(&first) = input.first() {
            match self.state {
                State::Size | State::Trailer => {
                    let end = input.iter().position(|&b| b == b'\n').map(|at| at + 1);
                    let (part, rest) = input.split_at(end.unwrap_or(input.len()));
                    if self.line.len() + part.len() > MAX_LINE {
                        return Err("a chunk size or trailer line is too long");
                    }
                    self.line.extend_from_slice(part);
                    input = rest;
                    if end.is_some() {
                        let line = std::mem::take(&mut self.line);
                        self.end_line(&line)?;
                    }
                }
                State::Data(remaining) => {
                    let take =
                        usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
                    let (chunk, rest) = input.split_at(take);
                    data(chunk);
                    input = rest;
                    self.state = match remaining - chunk.len() as u64 {
                        0 => State::DataEnd(0),
                        left => State::Data(left),
                    };
                }
                State::DataEnd(seen) => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if first != expected {
                        return Err("a chunk's data is not followed by CRLF");
                    }
                    input = input.get(1..).unwrap_or_default();
                    self.state = match seen {
                        0 => State::DataEnd(1),
                        _ => State::Size,
                    };
                }
                State::Done(seen) => {
                    if b"\r\n".get(usize::from(seen)) != Some(&first) {
                        return Err("bytes follow the trailer");
                    }
                    input = input.get(1..).unwrap_or_default();
                    self.state = State::Done(seen + 1);
                }
            }
        }
        Ok(())
    }

    /// The body has ended: whether it ended where it may.
    pub fn finish(&self) -> Result<(), &'static str> {
        match self.state {
            State::Done(0 | 2) => Ok(()),
            _ => Err("the body ended before its final chunk and trailer"),
        }
    }

    fn end_line(&mut self, line: &[u8]) -> Result<(), &'static str> {
        const TRAILERS_DIFFER: &str = "the trailers differ from those x-amz-trailer announced";
        let crlf = line.strip_suffix(b"\r\n");
        // A trailer line may end in a bare LF: minio-go writes `name:value\n` (and MinIO and
        // s3s read it so, as `aws_chunked` does); a size line may not.
        let content = match self.state {
            State::Trailer => crlf.or_else(|| line.strip_suffix(b"\n")),
            _ => crlf,
        }
        .ok_or("a line does not end in CRLF")?;
        match self.state {
            State::Size => {
                let size = chunk_size(content)
                    .ok_or("a chunk size is not 1 to 8 hex digits (or carries an extension)")?;
                // At most eight hex digits each: a sum past u64 would take 2^32 chunks.
                self.decoded = self.decoded.saturating_add(size);
                self.state = match size {
                    0 => State::Trailer,
                    size => State::Data(size),
                };
            }
            State::Trailer if content.is_empty() => {
                if self.seen != self.announced {
                    return Err(TRAILERS_DIFFER);
                }
                self.state = State::Done(0);
            }
            State::Trailer => {
                let (name, value) =
                    split_once_bytes(content, b':').ok_or("a trailer line is not name:value")?;
                let bit = bit_of(name).ok_or(TRAILERS_DIFFER)?;
                // A checksum is base64: anything else in the value (a bare CR, a NUL, a `,`
                // and more `name:value`) is a line another reader may split (red team 23).
                let value = trim_sp_htab(value);
                if value.is_empty() || !value.iter().all(|&b| is_base64(b)) {
                    return Err("a trailer's checksum is not base64");
                }
                if self.announced.0 & bit == 0 || self.seen.0 & bit != 0 {
                    return Err(TRAILERS_DIFFER);
                }
                self.seen.0 |= bit;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRC32: &[u8] = b"x-amz-checksum-crc32";

    /// Decodes `body`, whose trailer must carry `announced`, split at every point into two
    /// pieces: the data, or the error.
    fn decode_split(body: &[u8], announced: &[u8]) -> Result<Vec<u8>, &'static str> {
        let announced = Trailers::announced(Some(announced)).unwrap();
        let mut first = None;
        for cut in 0..=body.len() {
            let mut decoder = ChunkDecoder::new(announced);
            let mut out = Vec::new();
            let result = decoder
                .feed(&body[..cut], |d| out.extend_from_slice(d))
                .and_then(|()| decoder.feed(&body[cut..], |d| out.extend_from_slice(d)))
                .and_then(|()| decoder.finish())
                .map(|()| out);
            match &first {
                None => first = Some(result),
                Some(earlier) => assert_eq!(earlier, &result, "cut at {cut}"),
            }
        }
        first.unwrap_or(Err("no cut"))
    }

    #[test]
    fn decodes_what_the_sdks_send_split_anywhere() {
        let body = b"5\r\nhello\r\nA\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
        assert_eq!(decode_split(body, CRC32), Ok(b"hello0123456789".to_vec()));
        assert_eq!(decode_split(b"0\r\n\r\n", b""), Ok(Vec::new()));
        assert_eq!(
            decode_split(b"000B\r\nhello world\r\n0\r\n\r\n", b""),
            Ok(b"hello world".to_vec())
        );
        let two = b"0\r\nx-amz-checksum-sha256:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=\r\nX-Amz-Checksum-CRC32: NhCmhg==\r\n\r\n";
        assert_eq!(
            decode_split(two, b"x-amz-checksum-crc32, x-amz-checksum-sha256"),
            Ok(Vec::new())
        );
        // minio-go's unsigned trailer (v7.0.46 on).
        let minio_go = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:mnG7TA==\n\r\n\r\n";
        assert_eq!(
            decode_split(minio_go, b"x-amz-checksum-crc32c"),
            Ok(b"hello".to_vec())
        );
    }

    /// S3's ten checksums may each be announced and carried, all at once too: the set has a
    /// bit for each (the five S3 added in 2025 were refused as no checksum until a red
    /// team sent the SDKs' SHA-512 and MD5 trailers, 2026-12-05).
    #[test]
    fn every_checksum_may_be_announced_and_carried() {
        let names: Vec<&str> = CHECKSUMS.iter().map(|(name, _)| *name).collect();
        let mut body = b"5\r\nhello\r\n0\r\n".to_vec();
        for name in &names {
            body.extend_from_slice(format!("{}:AAAAAA==\r\n", name.to_uppercase()).as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        assert_eq!(
            decode_split(&body, names.join(", ").as_bytes()),
            Ok(b"hello".to_vec())
        );
        // Each alone, the last bit as much as the first; and each refused when not announced.
        for name in &names {
            let one = format!("0\r\n{name}:AAAAAA==\r\n\r\n");
            assert_eq!(
                decode_split(one.as_bytes(), name.as_bytes()),
                Ok(Vec::new())
            );
            assert_eq!(
                decode_split(one.as_bytes(), b""),
                Err("the trailers differ from those x-amz-trailer announced"),
                "{name}"
            );
        }
    }

    #[test]
    fn refuses_what_a_reader_could_take_another_way() {
        for bad in [
            &b"5;chunk-signature=00\r\nhello\r\n0\r\n\r\n"[..],
            b"5 \r\nhello\r\n0\r\n\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"\r\nhello\r\n0\r\n\r\n",
            b"x\r\nhello\r\n0\r\n\r\n",
            b"11111111111111111\r\n",
            // Nine digits: s3s reads the first eight.
            b"000000005\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\nno-colon\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\r\nextra",
            b"5\r\nhello\r\n0\r\n\r\n\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\r\n\r",
            b"5\r\nhello\r\n0\r\n\r\n\n",
            b"5\r\nhello\r\n0\r\n",
            b"5\r\nhel",
            b"",
        ] {
            assert!(
                decode_split(bad, b"").is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // A line without end is bounded.
        let mut decoder = ChunkDecoder::new(Trailers::default());
        assert!(decoder.feed(&[b'0'; MAX_LINE + 1], |_| {}).is_err());
    }

    /// The final chunk and a trailer of `lines`.
    fn trailer(lines: &[&[u8]]) -> Vec<u8> {
        let mut body = b"0\r\n".to_vec();
        for line in lines {
            body.extend_from_slice(line);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"\r\n");
        body
    }

    #[test]
    fn the_trailer_carries_exactly_the_checksums_announced() {
        const DIFFER: Result<Vec<u8>, &str> =
            Err("the trailers differ from those x-amz-trailer announced");
        let crc = b"0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
        // Unannounced: an unsigned header by another road, or a checksum the origin would
        // check instead.
        for extra in [
            &b"x-amz-acl:public-read"[..],
            b"x-amz-meta-a:b",
            b"x-minio-force-delete:true",
            b"content-type:text/html",
            b"x-amz-checksum-sha256:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            b"x-amz-checksum-crc32:AAAAAA==",
        ] {
            let body = trailer(&[b"x-amz-checksum-crc32:NhCmhg==", extra]);
            assert_eq!(
                decode_split(&body, CRC32),
                DIFFER,
                "{}",
                String::from_utf8_lossy(extra)
            );
        }
        // A name padded, or a value that is not base64, as another reader may split it.
        for line in [
            &b" x-amz-checksum-crc32:NhCmhg=="[..],
            b"x-amz-checksum-crc32 :NhCmhg==",
            b"x-amz-checksum-crc32:NhCmhg==\rx-amz-acl:public-read",
            b"x-amz-checksum-crc32:NhCmhg==\0",
            b"x-amz-checksum-crc32:NhCmhg==,x-amz-acl:public-read",
            b"x-amz-checksum-crc32::NhCmhg==",
            b"x-amz-checksum-crc32:",
        ] {
            assert!(
                decode_split(&trailer(&[line]), CRC32).is_err(),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        // Missing, or with none announced.
        assert_eq!(decode_split(b"0\r\n\r\n", CRC32), DIFFER);
        assert_eq!(decode_split(crc, b""), DIFFER);
        assert_eq!(decode_split(crc, b"x-amz-checksum-crc32c"), DIFFER);
        // Only checksums may be announced, each once.
        for announced in [
            &b"x-amz-acl"[..],
            b"x-amz-checksum-crc32,x-amz-checksum-crc32",
            b"x-amz-checksum-md4",
            b"x-amz-checksum-sha384",
        ] {
            assert!(Trailers::announced(Some(announced)).is_err());
        }
        assert_eq!(Trailers::announced(None), Ok(Trailers::default()));
        assert_eq!(Trailers::announced(Some(b" , ")), Ok(Trailers::default()));
    }
}
