//! The body of a request whose payload hash is not signed, checked against the `Content-MD5`
//! its signature covers: SigV2 (which has no payload hash), and SigV4 with `UNSIGNED-PAYLOAD`
//! (header-signed or presigned) that signed `content-md5`. The origin's re-signed request
//! says `UNSIGNED-PAYLOAD` too, so without this check the body is bound to the signature only
//! if the origin checks `Content-MD5`, and s3s-fs and Garage do not on several operations: a
//! captured `POST ?delete` replayed with another body deleted other keys (found by an attack
//! run, 2026-12-01).
//!
//! The body streams: the MD5 runs over each piece as it passes, and the last byte of what has
//! arrived stays here until more follows, so the origin never has the whole body before the
//! digest matches. Plain Rust, no proxy-wasm: the filter applies it (`filter.rs`).

use base64::Engine;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// What a signed `Content-MD5` says the body hashes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected([u8; 16]);

/// The signed `Content-MD5` is not the base64 of 16 bytes (S3's `InvalidDigest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidDigest;

/// The body does not hash to the signed `Content-MD5` (S3's `BadDigest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDigest;

impl Expected {
    /// The header's value (surrounding spaces aside): base64, padded, of exactly 16 bytes.
    pub fn parse(value: &[u8]) -> Result<Self, InvalidDigest> {
        let value = value.trim_ascii();
        // 16 bytes are 24 characters of padded base64; anything longer is refused unread.
        if value.len() != 24 {
            return Err(InvalidDigest);
        }
        let mut digest = [0u8; 16];
        match base64::engine::general_purpose::STANDARD.decode_slice(value, &mut digest) {
            Ok(16) => Ok(Expected(digest)),
            _ => Err(InvalidDigest),
        }
    }

    /// Whether an empty body matches.
    pub fn matches_empty(&self) -> bool {
        matches(&Md5::new().finalize(), &self.0)
    }
}

fn matches(digest: &[u8], expected: &[u8; 16]) -> bool {
    bool::from(digest.ct_eq(expected))
}

/// What one piece releases: `lead` (the byte held back from the piece before), then
/// `input[range]`. The piece's last byte is held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Release {
    pub lead: Option<u8>,
    pub range: std::ops::Range<usize>,
}

/// The check of one body as it streams.
pub struct ContentMd5 {
    expected: Expected,
    hasher: Md5,
    /// The last byte that arrived, until more arrives or the body ends and matches.
    held: Option<u8>,
}

impl ContentMd5 {
    pub fn new(expected: Expected) -> Self {
        ContentMd5 {
            expected,
            hasher: Md5::new(),
            held: None,
        }
    }

    /// Takes the next piece of the body: all of it goes on but its last byte, which waits
    /// (an empty piece releases nothing and the held byte stays).
    pub fn feed(&mut self, input: &[u8]) -> Release {
        let Some(last) = input.len().checked_sub(1) else {
            return Release::default();
        };
        self.hasher.update(input);
        Release {
            lead: self.held.replace(input[last]),
            range: 0..last,
        }
    }

    /// The body has ended: the held byte, if the body matches the digest.
    pub fn finish(&mut self) -> Result<Option<u8>, BadDigest> {
        let digest = std::mem::take(&mut self.hasher).finalize();
        let held = self.held.take();
        if matches(&digest, &self.expected.0) {
            Ok(held)
        } else {
            Err(BadDigest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(digest: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(digest)
    }

    fn expected_of(body: &[u8]) -> Expected {
        Expected::parse(b64(&Md5::digest(body)).as_bytes()).unwrap()
    }

    /// Streams `pieces`: what went on before the end, and the result of the end.
    fn stream(expected: Expected, pieces: &[&[u8]]) -> (Vec<u8>, Result<Vec<u8>, BadDigest>) {
        let mut check = ContentMd5::new(expected);
        let mut out = Vec::new();
        for piece in pieces {
            let release = check.feed(piece);
            out.extend(release.lead);
            out.extend_from_slice(&piece[release.range]);
        }
        let before_end = out.clone();
        let end = check.finish().map(|held| {
            out.extend(held);
            out
        });
        (before_end, end)
    }

    #[test]
    fn the_empty_body_is_checked_at_the_head() {
        // The MD5 of "": 1B2M2Y8AsgTpgAmY7PhCfg==
        let empty = Expected::parse(b"1B2M2Y8AsgTpgAmY7PhCfg==").unwrap();
        assert!(empty.matches_empty());
        assert!(!expected_of(b"x").matches_empty());
        let (before, end) = stream(empty, &[]);
        assert!(before.is_empty());
        assert_eq!(end, Ok(Vec::new()));
        let (_, end) = stream(empty, &[b"", b""]);
        assert_eq!(end, Ok(Vec::new()));
    }

    #[test]
    fn a_body_split_anywhere_matches_and_arrives_whole_only_at_the_end() {
        let body: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let expected = expected_of(&body);
        for cut in 0..=body.len() {
            let (a, b) = body.split_at(cut);
            for pieces in [vec![a, b], vec![a, b"", b]] {
                let (before, end) = stream(expected, &pieces);
                assert_eq!(before, body[..body.len() - 1], "cut at {cut}");
                assert_eq!(end.as_deref(), Ok(&body[..]), "cut at {cut}");
            }
        }
        // Byte by byte.
        let singles: Vec<&[u8]> = body.chunks(1).collect();
        let (before, end) = stream(expected, &singles);
        assert_eq!(before, body[..body.len() - 1]);
        assert_eq!(end.as_deref(), Ok(&body[..]));
    }

    #[test]
    fn another_body_is_refused_with_its_last_byte_held() {
        let body = b"<Delete><Object><Key>a</Key></Object></Delete>";
        let other = b"<Delete><Object><Key>b</Key></Object></Delete>";
        let expected = expected_of(body);
        for cut in 0..=other.len() {
            let (a, b) = other.split_at(cut);
            let (before, end) = stream(expected, &[a, b]);
            assert_eq!(end, Err(BadDigest), "cut at {cut}");
            // The origin has all but the last byte: never the complete body.
            assert_eq!(before, other[..other.len() - 1], "cut at {cut}");
        }
        // A prefix of the right body, or the right body and more, is refused too.
        assert_eq!(stream(expected, &[&body[..10]]).1, Err(BadDigest));
        assert_eq!(stream(expected, &[body, b"x"]).1, Err(BadDigest));
        assert_eq!(stream(expected, &[]).1, Err(BadDigest));
    }

    #[test]
    fn only_base64_of_sixteen_bytes_is_a_digest() {
        let good = b64(&[7u8; 16]);
        assert_eq!(Expected::parse(good.as_bytes()), Ok(Expected([7u8; 16])));
        assert_eq!(
            Expected::parse(format!("  {good} ").as_bytes()),
            Ok(Expected([7u8; 16]))
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
                Expected::parse(bad.as_bytes()),
                Err(InvalidDigest),
                "{bad:?}"
            );
        }
    }
}
