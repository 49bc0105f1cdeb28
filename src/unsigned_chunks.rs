//! The data of an aws-chunked body whose chunks are unsigned
//! (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, what the AWS SDKs send over HTTPS), decoded as it
//! streams so that a signed `Content-MD5` or checksum can be checked against it:
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

use crate::aws_chunked::chunk_size;

/// The most bytes a size line or a trailer line may have.
const MAX_LINE: usize = 1024;
/// The most bytes the whole trailer may have.
const MAX_TRAILER: usize = 16 * 1024;

enum State {
    /// Reading a chunk's size line.
    Size,
    /// Inside a chunk's data: this many bytes to go.
    Data(u64),
    /// After a chunk's data: this many bytes of its CRLF seen.
    DataEnd(u8),
    /// After the final chunk: reading trailer lines, this many bytes so far.
    Trailer(usize),
    Done,
}

/// Decodes one body.
pub struct ChunkDecoder {
    state: State,
    /// The line being read (a size line or a trailer line), bounded by `MAX_LINE`.
    line: Vec<u8>,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        ChunkDecoder {
            state: State::Size,
            line: Vec::new(),
        }
    }
}

impl ChunkDecoder {
    /// Takes the next piece of the encoded body, handing `data` every piece of chunk data in it,
    /// in order. The error says what is malformed.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut data: impl FnMut(&[u8]),
    ) -> Result<(), &'static str> {
        while let Some(&first) = input.first() {
            match self.state {
                State::Size | State::Trailer(_) => {
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
                State::Done => return Err("bytes follow the trailer"),
            }
        }
        Ok(())
    }

    /// The body has ended: whether it ended where it may.
    pub fn finish(&self) -> Result<(), &'static str> {
        match self.state {
            State::Done => Ok(()),
            _ => Err("the body ended before its final chunk and trailer"),
        }
    }

    fn end_line(&mut self, line: &[u8]) -> Result<(), &'static str> {
        let content = line
            .strip_suffix(b"\r\n")
            .ok_or("a line does not end in CRLF")?;
        match self.state {
            State::Size => {
                let size = chunk_size(content)
                    .ok_or("a chunk size is not 1 to 8 hex digits (or carries an extension)")?;
                self.state = match size {
                    0 => State::Trailer(0),
                    size => State::Data(size),
                };
            }
            State::Trailer(so_far) => {
                let so_far = so_far + line.len();
                if so_far > MAX_TRAILER {
                    return Err("the trailer is too long");
                }
                self.state = match content {
                    [] => State::Done,
                    _ if content.contains(&b':') => State::Trailer(so_far),
                    _ => return Err("a trailer line is not name:value"),
                };
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `body` split at every point into two pieces: the data, or the error.
    fn decode_split(body: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut first = None;
        for cut in 0..=body.len() {
            let mut decoder = ChunkDecoder::default();
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
        assert_eq!(decode_split(body), Ok(b"hello0123456789".to_vec()));
        assert_eq!(decode_split(b"0\r\n\r\n"), Ok(Vec::new()));
        assert_eq!(
            decode_split(b"000B\r\nhello world\r\n0\r\n\r\n"),
            Ok(b"hello world".to_vec())
        );
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
            b"5\r\nhello\r\n0\r\n\r\n\r\n",
            b"5\r\nhello\r\n0\r\n",
            b"5\r\nhel",
            b"",
        ] {
            assert!(
                decode_split(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // A line without end is bounded.
        let mut decoder = ChunkDecoder::default();
        assert!(decoder.feed(&[b'0'; MAX_LINE + 1], |_| {}).is_err());
        let trailer: Vec<u8> = b"0\r\n"
            .iter()
            .copied()
            .chain((0..40).flat_map(|_| {
                let mut line = b"x-amz-meta-pad:".to_vec();
                line.extend_from_slice(&[b'a'; 500]);
                line.extend_from_slice(b"\r\n");
                line
            }))
            .collect();
        let mut decoder = ChunkDecoder::default();
        assert_eq!(
            decoder.feed(&trailer, |_| {}),
            Err("the trailer is too long")
        );
    }

    #[test]
    fn a_line_and_the_trailer_may_take_exactly_their_bounds() {
        // A trailer of lines `len` bytes long, CRLF included, then its empty last line.
        fn trailer(lens: &[usize]) -> Vec<u8> {
            let mut body = b"0\r\n".to_vec();
            for &len in lens {
                let mut line = b"x-amz-meta-pad:".to_vec();
                line.resize(len - 2, b'a');
                body.extend_from_slice(&line);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"\r\n");
            body
        }
        fn decode(body: &[u8]) -> Result<(), &'static str> {
            let mut decoder = ChunkDecoder::default();
            decoder.feed(body, |_| {}).and_then(|()| decoder.finish())
        }
        assert_eq!(decode(&trailer(&[MAX_LINE])), Ok(()));
        assert_eq!(
            decode(&trailer(&[MAX_LINE + 1])),
            Err("a chunk size or trailer line is too long")
        );
        // The whole trailer, its last empty line counted.
        let mut lens = vec![MAX_LINE; 15];
        lens.push(MAX_TRAILER - 15 * MAX_LINE - 2);
        assert_eq!(decode(&trailer(&lens)), Ok(()));
        *lens.last_mut().unwrap() += 1;
        assert_eq!(decode(&trailer(&lens)), Err("the trailer is too long"));
    }
}
