//! Verified presigned URLs, remembered: a video player or a download manager sends the same
//! URL again and again (`Range` requests), a CDN re-fetches it. A request that repeats one
//! exactly — method, host, path and query byte for byte, and every signed header's value — is
//! forwarded with the rewrite computed the first time, while the URL's own validity lasts
//! (checked on every hit) and never beyond it. Anything else is a miss and is verified from
//! scratch.
//!
//! Bounded: two generations of at most half the configured entries each. Entries go into the
//! young one; a hit in the old one moves back to the young one; when the young one is full it
//! becomes the old one and the old one is dropped — least recently used, approximately, in
//! constant time. Only requests that verified are ever inserted.

use crate::sigv4::canonical::canonical_header_value;
use std::cell::{Cell, RefCell};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::{Range, RangeInclusive};

/// The hasher has no random keys (the VM need not provide randomness): only verified requests
/// enter, so an outsider cannot choose the keys.
type Map = HashMap<Key, Entry, BuildHasherDefault<DefaultHasher>>;

/// A request's key: everything signed that is not a header, compared byte for byte. It hashes
/// its `X-Amz-Signature` value only: a MAC of the rest, which tells verified requests apart as
/// well as the whole would, for an eighth of the hashing.
#[derive(Clone, Debug)]
pub struct Key {
    bytes: Vec<u8>,
    hashed: Range<usize>,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.bytes.get(self.hashed.clone()).unwrap_or(&self.bytes));
    }
}

/// The value of the first `X-Amz-Signature=` segment of a query (or of a path and query).
pub fn signature_of(query: &[u8]) -> Option<&[u8]> {
    const SIGNATURE: &[u8] = b"X-Amz-Signature=";
    query
        .split(|&b| b == b'&' || b == b'?')
        .find_map(|segment| segment.strip_prefix(SIGNATURE))
}

/// What a verified presigned request was forwarded with, and when that holds.
#[derive(Debug)]
pub struct Entry {
    /// Unix seconds from which the URL verifies (`X-Amz-Date` less the clock skew) until it
    /// expires (`X-Amz-Date` + `X-Amz-Expires`).
    pub valid: RangeInclusive<i64>,
    /// Every signed header but `host`, with its canonical value when verified.
    pub signed: Vec<(String, Vec<u8>)>,
    /// The signed-header list, `a;b`, for the unsigned-header check.
    pub signed_list: String,
    /// The client's key: its index in the configuration's credentials.
    pub credential: usize,
    /// The origin's `:path` (none from an edge filter, which does not rewrite).
    pub path: Option<Vec<u8>>,
}

impl Entry {
    fn holds(&self, headers: &[(&[u8], &[u8])], now: i64) -> bool {
        self.valid.contains(&now)
            && self.signed.iter().all(|(name, value)| {
                let values = headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                    .map(|(_, v)| *v);
                canonical_header_value(values) == *value
            })
    }
}

/// What a request that repeats a verified one is forwarded with.
#[derive(Debug, PartialEq, Eq)]
pub struct Hit {
    pub path: Option<Vec<u8>>,
    pub signed_list: String,
    pub credential: usize,
}

pub struct PresignedCache {
    /// Entries per generation.
    generation: usize,
    young: RefCell<Map>,
    old: RefCell<Map>,
    hits: Cell<u64>,
    misses: Cell<u64>,
}

impl PresignedCache {
    /// A cache of at most `entries` entries; 0 (or 1) keeps nothing.
    pub fn new(entries: usize) -> Self {
        PresignedCache {
            generation: entries / 2,
            young: RefCell::default(),
            old: RefCell::default(),
            hits: Cell::new(0),
            misses: Cell::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.generation > 0
    }

    /// The key of a request: everything signed that is not a header.
    pub fn key(method: &[u8], authority: &[u8], path: &[u8]) -> Key {
        let mut bytes = Vec::with_capacity(method.len() + authority.len() + path.len() + 2);
        bytes.extend_from_slice(method);
        bytes.push(b' ');
        bytes.extend_from_slice(authority);
        bytes.push(b' ');
        let path_at = bytes.len();
        bytes.extend_from_slice(path);
        let hashed = match signature_of(path) {
            Some(signature) => {
                // Where the signature lies in `path`, moved to where the path lies in `bytes`.
                let start = path_at + (signature.as_ptr() as usize - path.as_ptr() as usize);
                start..start + signature.len()
            }
            None => 0..bytes.len(),
        };
        Key { bytes, hashed }
    }

    /// The rewrite for `key` if its entry still holds at `now` for a request with these
    /// `headers`.
    pub fn get(&self, key: &Key, headers: &[(&[u8], &[u8])], now: i64) -> Option<Hit> {
        let hit = self.lookup(key, |entry| {
            entry.holds(headers, now).then(|| Hit {
                path: entry.path.clone(),
                signed_list: entry.signed_list.clone(),
                credential: entry.credential,
            })
        });
        let counter = if hit.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.set(counter.get() + 1);
        hit
    }

    fn lookup(&self, key: &Key, hit: impl FnOnce(&Entry) -> Option<Hit>) -> Option<Hit> {
        if !self.enabled() {
            return None;
        }
        let (Ok(mut young), Ok(mut old)) = (self.young.try_borrow_mut(), self.old.try_borrow_mut())
        else {
            return None;
        };
        if let Some(entry) = young.get(key) {
            return hit(entry);
        }
        // Used again: back to the young generation.
        let entry = old.remove(key)?;
        let found = hit(&entry);
        Self::insert_into(&mut young, &mut old, self.generation, key.clone(), entry);
        found
    }

    /// Remembers a request that verified.
    pub fn insert(&self, key: Key, entry: Entry) {
        if !self.enabled() {
            return;
        }
        if let (Ok(mut young), Ok(mut old)) =
            (self.young.try_borrow_mut(), self.old.try_borrow_mut())
        {
            Self::insert_into(&mut young, &mut old, self.generation, key, entry);
        }
    }

    fn insert_into(young: &mut Map, old: &mut Map, generation: usize, key: Key, entry: Entry) {
        if young.len() >= generation && !young.contains_key(&key) {
            // The old generation's table is reused, not dropped: no regrowing and rehashing
            // of the young one through its first thousands of entries, again and again.
            std::mem::swap(young, old);
            young.clear();
        }
        young.insert(key, entry);
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits.get(), self.misses.get())
    }

    pub fn len(&self) -> usize {
        let count = |map: &RefCell<Map>| map.try_borrow().map_or(0, |m| m.len());
        count(&self.young) + count(&self.old)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            valid: 100..=200,
            signed: vec![("x-amz-meta-a".into(), b"1".to_vec())],
            signed_list: "host;x-amz-meta-a".into(),
            credential: 0,
            path: Some(path.as_bytes().to_vec()),
        }
    }

    #[test]
    fn a_hit_needs_the_same_key_signed_headers_and_time() {
        let cache = PresignedCache::new(8);
        let key = PresignedCache::key(b"GET", b"h", b"/b/k?X-Amz-Signature=1");
        cache.insert(key.clone(), entry("/origin"));
        let headers: [(&[u8], &[u8]); 2] = [(b"x-amz-meta-a", b" 1 "), (b"range", b"bytes=0-9")];
        assert_eq!(
            cache.get(&key, &headers, 150).unwrap().path.unwrap(),
            b"/origin"
        );
        // Unsigned headers may differ; signed ones may not; nor the time.
        let other: [(&[u8], &[u8]); 1] = [(b"x-amz-meta-a", b"2")];
        assert!(cache.get(&key, &other, 150).is_none());
        assert!(cache.get(&key, &[], 150).is_none());
        assert!(cache.get(&key, &headers, 201).is_none());
        assert!(cache.get(&key, &headers, 99).is_none());
        let changed = PresignedCache::key(b"GET", b"h", b"/b/k?X-Amz-Signature=2");
        assert!(cache.get(&changed, &headers, 150).is_none());
        // The same signature on another request is another key.
        let moved = PresignedCache::key(b"GET", b"h", b"/b/j?X-Amz-Signature=1");
        assert!(cache.get(&moved, &headers, 150).is_none());
        assert_eq!(cache.stats(), (1, 6));
    }

    #[test]
    fn it_stays_bounded_and_keeps_what_is_used() {
        let cache = PresignedCache::new(4);
        let key = |i: u32| PresignedCache::key(b"GET", b"h", i.to_string().as_bytes());
        let headers: [(&[u8], &[u8]); 1] = [(b"x-amz-meta-a", b"1")];
        for i in 0..100 {
            cache.insert(key(i), entry("/p"));
            // Key 0 is used all along: it is never dropped.
            assert!(cache.get(&key(0), &headers, 150).is_some(), "{i}");
            assert!(cache.len() <= 4, "{}", cache.len());
        }
        assert!(cache.get(&key(1), &headers, 150).is_none());
        let off = PresignedCache::new(0);
        off.insert(key(1), entry("/p"));
        assert!(off.is_empty() && off.get(&key(1), &headers, 150).is_none());
    }
}
