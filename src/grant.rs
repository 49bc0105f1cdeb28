//! What an edge filter hands the origin filters: the request head exactly as the client sent
//! it, and the time it was verified at. Envoy carries it in the request's filter state, which
//! filters write and clients cannot; an origin filter re-signs from it alone, so a retry to
//! another origin starts again from the client's request, not from the previous attempt's.
//!
//! It also carries what the edge decided with settings only the edge has, so that an origin
//! filter cannot decide otherwise: how the host named the bucket (an origin filter whose
//! `public_domains` differ would read `files.mydomain.com/k` as the bucket `k`), and the largest
//! chunk the edge let through.
//!
//! Encoding: `S3RG`, a version byte, the time (u64, big-endian), the largest chunk (u64), the
//! bucket the host named (a flag byte, 1 then the field, or 0 for a path-style host), method,
//! path, authority, the number of headers (u32), then each header's name and value; every
//! field a u32 big-endian length and its bytes. Nothing may follow.

use crate::addressing::Style;
use crate::request::Request;

const MAGIC: &[u8; 4] = b"S3RG";
const VERSION: u8 = 2;

/// How a request's signature is established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof<'g> {
    /// Check it with the client's secret.
    Signature,
    /// The edge filter checked it, signature, time window and all; this filter holds no client
    /// secret.
    Granted(&'g Grant),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Unix seconds at verification: the time every later decision on it uses.
    pub now: u64,
    /// The edge's `max_chunk_size_bytes`: every chunk it released is at most this long.
    pub max_chunk_size_bytes: u64,
    /// The bucket the host named (virtual-hosted), or `None` for a path-style host.
    host_bucket: Option<Vec<u8>>,
    method: Vec<u8>,
    path: Vec<u8>,
    authority: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidGrant;

impl Grant {
    /// The grant for `req`, verified at `now`, whose host the edge read as `style`.
    pub fn of(req: &Request<'_>, now: u64, style: Style<'_>, max_chunk_size_bytes: u64) -> Self {
        Grant {
            now,
            max_chunk_size_bytes,
            host_bucket: match style {
                Style::Path => None,
                Style::Virtual { bucket } => Some(bucket.as_bytes().to_vec()),
            },
            method: req.method.to_vec(),
            path: req.path().to_vec(),
            authority: req.authority.to_vec(),
            headers: req
                .headers
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect(),
        }
    }

    /// Whether `style` is how the edge read the host.
    pub fn read_as(&self, style: Style<'_>) -> bool {
        match (style, &self.host_bucket) {
            (Style::Path, None) => true,
            (Style::Virtual { bucket }, Some(granted)) => bucket.as_bytes() == granted.as_slice(),
            _ => false,
        }
    }

    /// The client's request, as it was verified.
    pub fn request(&self) -> Request<'_> {
        Request::new(
            &self.method,
            &self.path,
            &self.authority,
            self.headers
                .iter()
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .collect(),
        )
    }

    pub fn encode(&self) -> Vec<u8> {
        let fields = 3 + 2 * self.headers.len();
        let size: usize = self.method.len()
            + self.path.len()
            + self.authority.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        let host_bucket = self.host_bucket.as_deref().map_or(0, |b| 4 + b.len());
        // The magic, the version, the two u64s, the style's flag and the header count.
        let fixed = MAGIC.len() + 1 + 8 + 8 + 1 + 4;
        let mut out = Vec::with_capacity(fixed + host_bucket + 4 * fields + size);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.now.to_be_bytes());
        out.extend_from_slice(&self.max_chunk_size_bytes.to_be_bytes());
        match &self.host_bucket {
            None => out.push(0),
            Some(bucket) => {
                out.push(1);
                push_field(&mut out, bucket);
            }
        }
        for field in [&self.method, &self.path, &self.authority] {
            push_field(&mut out, field);
        }
        let count = u32::try_from(self.headers.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (name, value) in self.headers.iter().take(count as usize) {
            push_field(&mut out, name);
            push_field(&mut out, value);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, InvalidGrant> {
        let rest = bytes.strip_prefix(MAGIC).ok_or(InvalidGrant)?;
        let (&version, rest) = rest.split_first().ok_or(InvalidGrant)?;
        if version != VERSION {
            return Err(InvalidGrant);
        }
        let (now, rest) = rest.split_first_chunk::<8>().ok_or(InvalidGrant)?;
        let (max_chunk, rest) = rest.split_first_chunk::<8>().ok_or(InvalidGrant)?;
        let mut cursor = Cursor(rest);
        let host_bucket = match cursor.take(1)? {
            [0] => None,
            [1] => Some(cursor.field()?),
            _ => return Err(InvalidGrant),
        };
        let method = cursor.field()?;
        let path = cursor.field()?;
        let authority = cursor.field()?;
        let count = cursor.len()?;
        let mut headers = Vec::with_capacity(count.min(256));
        for _ in 0..count {
            let name = cursor.field()?;
            headers.push((name, cursor.field()?));
        }
        if !cursor.0.is_empty() {
            return Err(InvalidGrant);
        }
        Ok(Grant {
            now: u64::from_be_bytes(*now),
            max_chunk_size_bytes: u64::from_be_bytes(*max_chunk),
            host_bucket,
            method,
            path,
            authority,
            headers,
        })
    }
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], InvalidGrant> {
        if n > self.0.len() {
            return Err(InvalidGrant);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn len(&mut self) -> Result<usize, InvalidGrant> {
        let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| InvalidGrant)?;
        usize::try_from(u32::from_be_bytes(bytes)).map_err(|_| InvalidGrant)
    }

    fn field(&mut self) -> Result<Vec<u8>, InvalidGrant> {
        let len = self.len()?;
        self.take(len).map(<[u8]>::to_vec)
    }
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    // A request head is far below 4 GiB; a longer field would not fit a u32 and is cut, which
    // only makes the grant fail to verify at the origin filter (it re-derives everything).
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&field[..len as usize]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (":method", b"PUT".to_vec()),
            (":path", b"/b/k%20x?uploads".to_vec()),
            (":authority", b"s3.mydomain.com".to_vec()),
            ("x-amz-date", b"20261129T120000Z".to_vec()),
            ("x-amz-meta-a", b"\xff\x00bytes".to_vec()),
            ("x-amz-meta-a", Vec::new()),
        ]
    }

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn round_trips_the_head_byte_for_byte() {
        let pairs = sample();
        let req = Request::from_pairs(&pairs).unwrap();
        for style in [Style::Path, Style::Virtual { bucket: "files" }] {
            let grant = Grant::of(&req, 1_795_953_600, style, 8 * MIB);
            let encoded = grant.encode();
            // Sized once: what it reserves is what it writes.
            assert_eq!(encoded.capacity(), encoded.len());
            let decoded = Grant::decode(&encoded).unwrap();
            assert_eq!(decoded, grant);
            let back = decoded.request();
            assert_eq!(back.method, b"PUT");
            assert_eq!(back.path(), b"/b/k%20x?uploads");
            assert_eq!(back.authority, b"s3.mydomain.com");
            assert_eq!(back.headers, req.headers);
            assert_eq!(decoded.now, 1_795_953_600);
            assert_eq!(decoded.max_chunk_size_bytes, 8 * MIB);
            assert!(decoded.read_as(style));
        }
    }

    #[test]
    fn knows_how_the_edge_read_the_host() {
        let pairs = sample();
        let req = Request::from_pairs(&pairs).unwrap();
        let path = Grant::of(&req, 7, Style::Path, MIB);
        let files = Grant::of(&req, 7, Style::Virtual { bucket: "files" }, MIB);
        assert!(!path.read_as(Style::Virtual { bucket: "files" }));
        assert!(!files.read_as(Style::Path));
        assert!(!files.read_as(Style::Virtual { bucket: "file" }));
        assert!(!files.read_as(Style::Virtual { bucket: "files.s3" }));
    }

    #[test]
    fn refuses_anything_else() {
        let pairs = sample();
        let encoded =
            Grant::of(&Request::from_pairs(&pairs).unwrap(), 7, Style::Path, MIB).encode();
        assert!(Grant::decode(b"").is_err());
        assert!(Grant::decode(b"S3RG").is_err());
        for version in [1, 3] {
            let mut other_version = encoded.clone();
            other_version[4] = version;
            assert!(Grant::decode(&other_version).is_err());
        }
        let mut unknown_style = encoded.clone();
        unknown_style[21] = 2;
        assert!(Grant::decode(&unknown_style).is_err());
        for cut in 0..encoded.len() {
            assert!(Grant::decode(&encoded[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = encoded.clone();
        longer.push(0);
        assert!(Grant::decode(&longer).is_err());
        let mut lying = encoded.clone();
        lying[22..26].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Grant::decode(&lying).is_err());
    }
}
