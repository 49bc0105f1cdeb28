//! Verified presigned URLs, remembered: a video player or a download manager sends the same
//! URL again and again (`Range` requests), a CDN re-fetches it. A request that repeats one
//! exactly — method, host, path and query byte for byte, and every signed header's value — is
//! forwarded with the rewrite computed the first time, while the URL's own validity lasts
//! (checked on every hit) and never beyond it. Anything else is a miss and is verified from
//! scratch.
//!
//! Bounded: two generations of at most half the configured entries each, and of at most
//! `BYTES_PER_ENTRY` per entry they may hold. Entries go into the young one; a hit in the old
//! one moves back to the young one; when the young one is full it becomes the old one and the
//! old one is dropped — least recently used, approximately, in constant time. Only requests
//! that verified are ever inserted, and only from their second time: the first leaves a
//! fingerprint of its key (see `PresignedCache::offer`).

use crate::sigv4::canonical::signed_header;
use crate::sigv4::signature::same_words;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::Range;

type Map = HashMap<Key, Entry, BuildHasherDefault<KeyHasher>>;

/// The bytes a generation may hold, per entry it may hold. A real URL's entry takes well under
/// this (its path and query twice, a few hundred bytes each), so the count of entries bounds a
/// cache of real traffic; the bytes bound one filled with long URLs minted to exhaust the VM's
/// memory (a key pair's holder can mint any number).
const BYTES_PER_ENTRY: usize = 2 * 1024;

/// The most one entry may take. A larger one is not remembered: it is verified every time, as
/// with the cache off. A URL naming the longest key S3 allows, escaped, fits.
const ENTRY_BYTES_MAX: usize = 8 * 1024;

/// A request's key: the signature it carries (`X-Amz-Signature`, its 64 hex digits as sent), a
/// MAC of everything the client signed. It tells verified requests apart by itself; its entry
/// holds the rest of the request (method, host, path and query), compared byte for byte. No
/// allocation or decoding to look up.
#[derive(Clone, Copy, Debug, Eq)]
pub struct Key([u8; 64]);

/// In constant time: a guessed signature is compared with the verified one of a URL someone
/// else sent, a MAC under the client's secret.
impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        same_words::<8>(&self.0, &other.0)
    }
}

impl Key {
    /// The key of a query with a SigV4 signature of 64 characters, if it has one (one that is
    /// not hex never verifies, so it only ever misses).
    pub fn of(query: &[u8]) -> Option<Key> {
        signature_of(query)?.try_into().ok().map(Key)
    }

    /// The first sixteen hex digits as the number they spell: eight bytes of the signature.
    fn hash64(&self) -> u64 {
        self.0[..16].iter().fold(0, |hash, &digit| {
            (hash << 4) | u64::from((digit & 0x0f) + 9 * (digit >> 6))
        })
    }
}

/// A key's hash is sixteen of its hex digits. No hashing (SipHash would cost as much as the
/// rest of a lookup), and no keys to keep secret: only requests that verified enter, and their
/// signatures are MACs under a secret the filter holds, so an outsider cannot choose them.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    /// Only `write_u64` is called (by `Key`); anything else is folded in, for completeness.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The value of the `X-Amz-Signature=` segment of a query. Clients put it last, so the last
/// segment is tried first: a scan of its few bytes instead of the whole query.
fn signature_of(query: &[u8]) -> Option<&[u8]> {
    const SIGNATURE: &[u8] = b"X-Amz-Signature=";
    let last = query.rsplit(|&b| b == b'&').next()?;
    last.strip_prefix(SIGNATURE).or_else(|| {
        query
            .split(|&b| b == b'&')
            .find_map(|segment| segment.strip_prefix(SIGNATURE))
    })
}

/// The texts of an entry, in one allocation (a cache of thousands of entries drops them by
/// the thousand): the request's method, authority and path (with the query), the
/// signed-header list, and the origin's `:path`.
#[derive(Debug)]
pub struct Texts {
    bytes: Vec<u8>,
    /// Where the request's authority, path and the signed-header list start.
    authority_at: usize,
    request_path_at: usize,
    list_at: usize,
    path_at: Option<usize>,
}

impl Texts {
    pub fn new(
        (method, authority, path): (&[u8], &[u8], &[u8]),
        signed_list: &str,
        origin_path: Option<&[u8]>,
    ) -> Self {
        let size = method.len()
            + authority.len()
            + path.len()
            + signed_list.len()
            + origin_path.map_or(0, <[u8]>::len);
        let mut bytes = Vec::with_capacity(size);
        let mut put = |part: &[u8]| {
            let at = bytes.len();
            bytes.extend_from_slice(part);
            at
        };
        put(method);
        let authority_at = put(authority);
        let request_path_at = put(path);
        let list_at = put(signed_list.as_bytes());
        let path_at = origin_path.map(put);
        Texts {
            bytes,
            authority_at,
            request_path_at,
            list_at,
            path_at,
        }
    }

    /// Each part compared on its own: no two requests share a line.
    fn is_request(&self, method: &[u8], authority: &[u8], path: &[u8]) -> bool {
        let b = &self.bytes;
        b[..self.authority_at] == *method
            && b[self.authority_at..self.request_path_at] == *authority
            && b[self.request_path_at..self.list_at] == *path
    }

    fn signed_list(&self) -> &str {
        let end = self.path_at.unwrap_or(self.bytes.len());
        // Signed-header names are ASCII tokens.
        std::str::from_utf8(&self.bytes[self.list_at..end]).unwrap_or_default()
    }

    fn path(&self) -> Option<&[u8]> {
        self.path_at.map(|at| &self.bytes[at..])
    }
}

/// What a verified presigned request was forwarded with, and when that holds.
#[derive(Debug)]
pub struct Entry {
    /// The request line, the signed-header list and the origin's `:path` (none from an edge
    /// filter, which does not rewrite).
    pub texts: Texts,
    /// Unix seconds from which the URL verifies (`X-Amz-Date` less the clock skew) until it
    /// expires (`X-Amz-Date` + `X-Amz-Expires`).
    pub valid: Range<i64>,
    /// Every signed header but `host`, with its canonical value when verified.
    pub signed: Vec<(String, Vec<u8>)>,
    /// The client's key: its index in the configuration's credentials.
    pub credential: usize,
    /// What the body must hash to, when the URL signed `content-md5`.
    pub body_check: Option<crate::body_digest::BodyCheck>,
}

/// What is looked up: a request's line and headers, at a time.
pub struct Lookup<'a, 'r> {
    pub method: &'r [u8],
    pub authority: &'r [u8],
    pub path: &'r [u8],
    pub headers: &'a [(&'r [u8], &'r [u8])],
    pub now: i64,
}

impl Entry {
    /// The heap and table bytes the entry takes, near enough to bound the cache by.
    fn size(&self) -> usize {
        const FIXED: usize = std::mem::size_of::<Entry>() + std::mem::size_of::<Key>();
        let signed: usize = self
            .signed
            .iter()
            .map(|(name, value)| {
                std::mem::size_of::<(String, Vec<u8>)>() + name.capacity() + value.capacity()
            })
            .sum();
        FIXED + self.texts.bytes.capacity() + signed
    }

    fn holds(&self, request: &Lookup<'_, '_>) -> bool {
        let (headers, now) = (request.headers, request.now);
        self.texts
            .is_request(request.method, request.authority, request.path)
            && self.valid.contains(&now)
            && self.signed.iter().all(|(name, value)| {
                signed_header(headers, name).is_some_and(|h| !h.repeated && *h.value == **value)
            })
    }
}

/// What a request that repeats a verified one is forwarded with.
#[derive(Debug, PartialEq, Eq)]
pub struct Hit {
    pub path: Option<Vec<u8>>,
    pub signed_list: String,
    pub credential: usize,
    pub body_check: Option<crate::body_digest::BodyCheck>,
}

pub struct PresignedCache {
    /// Entries per generation.
    generation: usize,
    /// Fingerprints of keys verified once, one per slot (0 is none): a power of two of slots.
    seen: RefCell<Vec<u64>>,
    generations: RefCell<Generations>,
    hits: Cell<u64>,
    misses: Cell<u64>,
}

impl PresignedCache {
    /// A cache of at most `entries` entries; 0 (or 1) keeps nothing.
    pub fn new(entries: usize) -> Self {
        let generation = entries / 2;
        let slots = if generation > 0 {
            entries.next_power_of_two()
        } else {
            0
        };
        PresignedCache {
            generation,
            seen: RefCell::new(vec![0; slots]),
            generations: RefCell::default(),
            hits: Cell::new(0),
            misses: Cell::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.generation > 0
    }

    /// The rewrite for `key` if its entry holds for `request`: the same request line and
    /// signed header values, within the URL's validity.
    pub fn get(&self, key: &Key, request: &Lookup<'_, '_>) -> Option<Hit> {
        let hit = self.lookup(key, |entry| {
            entry.holds(request).then(|| Hit {
                path: entry.texts.path().map(<[u8]>::to_vec),
                signed_list: entry.texts.signed_list().to_owned(),
                credential: entry.credential,
                body_check: entry.body_check,
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
        let Ok(mut generations) = self.generations.try_borrow_mut() else {
            return None;
        };
        if let Some(entry) = generations.young.get(key) {
            return hit(entry);
        }
        // Used again: back to the young generation.
        let entry = generations.old.remove(key)?;
        let found = hit(&entry);
        generations.insert(self.generation, *key, entry);
        found
    }

    /// Offers a request that verified: remembered (with the entry `entry` makes) if its key was
    /// offered before, since its fingerprint was last overwritten; otherwise its fingerprint is
    /// noted. Traffic that never repeats (most downloads) then costs a store, not an entry, and
    /// cannot push the URLs that do repeat out of the cache.
    pub fn offer(&self, key: Key, entry: impl FnOnce() -> Entry) {
        let Ok(mut seen) = self.seen.try_borrow_mut() else {
            return;
        };
        // Keys are signatures: their bytes are as good as a hash. Never 0, the empty slot.
        let fingerprint = key.hash64() | 1;
        // A power of two of slots (none when the cache is off): the low bits pick one.
        let slot_of = (fingerprint >> 1) as usize & seen.len().saturating_sub(1);
        let Some(slot) = seen.get_mut(slot_of) else {
            return;
        };
        if *slot == fingerprint {
            *slot = 0;
            drop(seen);
            self.insert(key, entry());
        } else {
            *slot = fingerprint;
        }
    }

    /// Remembers a request that verified.
    pub fn insert(&self, key: Key, entry: Entry) {
        if !self.enabled() {
            return;
        }
        if let Ok(mut generations) = self.generations.try_borrow_mut() {
            generations.insert(self.generation, key, entry);
        }
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits.get(), self.misses.get())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.generations
            .try_borrow()
            .map_or(0, |g| g.young.len() + g.old.len())
    }

    /// The bytes the entries take, as the bound counts them.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.generations.try_borrow().map_or(0, |g| {
            g.young
                .values()
                .chain(g.old.values())
                .map(Entry::size)
                .sum()
        })
    }
}

#[derive(Default)]
struct Generations {
    young: Map,
    old: Map,
    /// What the young generation's entries take (`Entry::size`).
    young_bytes: usize,
}

impl Generations {
    /// Into the young generation, which first becomes the old one if it holds `generation`
    /// entries or their bytes; an entry larger than `ENTRY_BYTES_MAX` is left out.
    fn insert(&mut self, generation: usize, key: Key, entry: Entry) {
        let size = entry.size();
        if size > ENTRY_BYTES_MAX {
            return;
        }
        let full = self.young.len() >= generation
            || self.young_bytes + size > generation.saturating_mul(BYTES_PER_ENTRY);
        if full && !self.young.contains_key(&key) {
            // The old generation's table is reused, not dropped: no regrowing and rehashing
            // of the young one through its first thousands of entries, again and again.
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
            self.young_bytes = 0;
        }
        if let Some(replaced) = self.young.insert(key, entry) {
            self.young_bytes = self.young_bytes.saturating_sub(replaced.size());
        }
        self.young_bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    fn path(object: &str, signature: &str) -> Vec<u8> {
        format!("/b/{object}?X-Amz-Date=1&X-Amz-Signature={signature}").into_bytes()
    }

    fn key_of(path: &[u8]) -> Key {
        let query = path.split(|&b| b == b'?').nth(1).unwrap();
        Key::of(query).unwrap()
    }

    fn entry(path: &[u8], origin: &str) -> Entry {
        Entry {
            texts: Texts::new(
                (b"GET", b"h", path),
                "host;x-amz-meta-a",
                Some(origin.as_bytes()),
            ),
            valid: 100..201,
            signed: vec![("x-amz-meta-a".into(), b"1".to_vec())],
            credential: 0,
            body_check: None,
        }
    }

    fn lookup<'a>(path: &'a [u8], headers: &'a [(&'a [u8], &'a [u8])], now: i64) -> Lookup<'a, 'a> {
        Lookup {
            method: b"GET",
            authority: b"h",
            path,
            headers,
            now,
        }
    }

    #[test]
    fn a_hit_needs_the_same_request_signed_headers_and_time() {
        let cache = PresignedCache::new(8);
        let k = path("k", SIG);
        let key = key_of(&k);
        cache.insert(key, entry(&k, "/origin"));
        let headers: [(&[u8], &[u8]); 2] = [(b"x-amz-meta-a", b" 1 "), (b"range", b"bytes=0-9")];
        let hit = cache.get(&key, &lookup(&k, &headers, 150)).unwrap();
        assert_eq!(hit.path.unwrap(), b"/origin");
        // Unsigned headers may differ; signed ones may not; nor the time.
        let other: [(&[u8], &[u8]); 1] = [(b"x-amz-meta-a", b"2")];
        assert!(cache.get(&key, &lookup(&k, &other, 150)).is_none());
        assert!(cache.get(&key, &lookup(&k, &[], 150)).is_none());
        assert!(cache.get(&key, &lookup(&k, &headers, 201)).is_none());
        assert!(cache.get(&key, &lookup(&k, &headers, 99)).is_none());
        // The same signature on another request, method or host misses.
        let j = path("j", SIG);
        assert!(cache.get(&key, &lookup(&j, &headers, 150)).is_none());
        let post = Lookup {
            method: b"PUT",
            ..lookup(&k, &headers, 150)
        };
        assert!(cache.get(&key, &post).is_none());
        let host = Lookup {
            authority: b"h2",
            ..lookup(&k, &headers, 150)
        };
        assert!(cache.get(&key, &host).is_none());
        // Another signature is another key.
        let other_sig = SIG.replace('a', "b");
        let other_key = key_of(&path("k", &other_sig));
        assert!(cache.get(&other_key, &lookup(&k, &headers, 150)).is_none());
        assert_eq!(cache.stats(), (1, 8));
    }

    #[test]
    fn a_url_is_remembered_from_its_second_time() {
        let cache = PresignedCache::new(8);
        let k = path("k", SIG);
        let key = key_of(&k);
        let headers: [(&[u8], &[u8]); 1] = [(b"x-amz-meta-a", b"1")];
        let mut made = 0;
        cache.offer(key, || {
            made += 1;
            entry(&k, "/o")
        });
        assert_eq!((made, cache.len()), (0, 0));
        cache.offer(key, || entry(&k, "/o"));
        assert!(cache.get(&key, &lookup(&k, &headers, 150)).is_some());
        // Another key's fingerprint in the same slot in between: the first starts again.
        let j = path("j", &format!("a0{}", "11".repeat(31)));
        let x = path("x", &format!("b0{}", "11".repeat(31)));
        let (twin, other) = (key_of(&j), key_of(&x));
        cache.offer(twin, || entry(&j, "/o"));
        cache.offer(other, || entry(&x, "/o"));
        cache.offer(twin, || entry(&j, "/o"));
        assert_eq!(cache.len(), 1);
        cache.offer(twin, || entry(&j, "/o"));
        assert!(cache.get(&twin, &lookup(&j, &headers, 150)).is_some());
        let off = PresignedCache::new(0);
        off.offer(key, || entry(&k, "/o"));
        off.offer(key, || entry(&k, "/o"));
        assert_eq!(off.len(), 0);
    }

    /// A fingerprint is never the empty slot's 0, and its slot is picked by its own bits
    /// above the lowest (which `| 1` sets): cargo-mutants made the fingerprint `^ 1`, which
    /// takes a signature whose first digits spell 1 for one seen before, on its first time,
    /// and picked the slot by `<<`, which leaves the odd slots unused so that keys evict each
    /// other's fingerprints twice as often.
    #[test]
    fn fingerprints_are_never_empty_and_spread_over_every_slot() {
        let cache = PresignedCache::new(8);
        let key = |digit: char| {
            let signature = format!("{}{digit}{}", "0".repeat(15), "11".repeat(24));
            let request = path("k", &signature);
            (key_of(&request), request)
        };
        let (one, r) = key('1');
        cache.offer(one, || entry(&r, "/o"));
        assert_eq!(cache.len(), 0);
        // `…1` and `…5` differ in the bits that pick a slot: neither forgets the other.
        let (five, r5) = key('5');
        cache.offer(five, || entry(&r5, "/o"));
        cache.offer(one, || entry(&r, "/o"));
        cache.offer(five, || entry(&r5, "/o"));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_parts_of_a_request_are_compared_apart() {
        let texts = Texts::new((b"GET", b"a b", b"c"), "host", None);
        assert!(texts.is_request(b"GET", b"a b", b"c"));
        assert!(!texts.is_request(b"GET", b"a", b"b c"));
        assert!(!texts.is_request(b"GET a", b"b", b"c"));
        assert_eq!((texts.signed_list(), texts.path()), ("host", None));
    }

    #[test]
    fn keys_are_signatures() {
        assert_eq!(
            Key::of(format!("a=1&X-Amz-Signature={SIG}&b").as_bytes()).map(|k| k.hash64()),
            Some(0xaeee_d9bb_ccd4_d02e)
        );
        for query in [
            "a=1",
            "X-Amz-Signature=zz",
            "X-Amz-Signature=ab",
            "x-amz-signature=ab",
        ] {
            assert_eq!(Key::of(query.as_bytes()), None, "{query}");
        }
    }

    #[test]
    fn it_stays_bounded_and_keeps_what_is_used() {
        let cache = PresignedCache::new(4);
        let request = |i: u32| path(&i.to_string(), &format!("{i:064x}"));
        let key = |i: u32| key_of(&request(i));
        let headers: [(&[u8], &[u8]); 1] = [(b"x-amz-meta-a", b"1")];
        let zero = request(0);
        for i in 0..100 {
            cache.insert(key(i), entry(&request(i), "/p"));
            // Request 0 is used all along: it is never dropped.
            assert!(
                cache.get(&key(0), &lookup(&zero, &headers, 150)).is_some(),
                "{i}"
            );
            assert!(cache.len() <= 4, "{}", cache.len());
        }
        let one = request(1);
        assert!(cache.get(&key(1), &lookup(&one, &headers, 150)).is_none());
        let off = PresignedCache::new(0);
        off.insert(key(1), entry(&one, "/p"));
        assert!(off.len() == 0 && off.get(&key(1), &lookup(&one, &headers, 150)).is_none());
    }

    /// The table's hash of a key is its first sixteen digits: cargo-mutants made it a
    /// constant unnoticed (every hash `Key::hash`, `write_u64` or `finish` left out), which
    /// keeps every lookup right and makes each one a walk through the whole table: with
    /// thousands of entries, a presigned request's cost grows with the cache's.
    #[test]
    fn a_key_hashes_to_its_first_digits() {
        use std::hash::BuildHasher;
        let table = BuildHasherDefault::<KeyHasher>::default();
        let a = key_of(&path("k", SIG));
        let b = key_of(&path("k", &SIG.replace('a', "b")));
        assert_eq!(table.hash_one(a), 0xaeee_d9bb_ccd4_d02e);
        assert_eq!(table.hash_one(b), b.hash64());
        assert_ne!(table.hash_one(a), table.hash_one(b));
    }

    /// What bounds the cache's bytes counts every byte an entry holds, once: cargo-mutants
    /// made the count of texts, signed names and values subtract or multiply unnoticed, which
    /// lets a cache of minted long URLs or signed values past its bound, or empties it early.
    #[test]
    fn an_entry_counts_each_byte_it_holds() {
        let k = path("k", SIG);
        let sized = |object: usize, name: usize, value: usize| {
            let mut e = entry(&path(&"k".repeat(object), SIG), "/o");
            e.signed = vec![("n".repeat(name), vec![b'v'; value])];
            e.size()
        };
        let base = sized(1, 1, 1);
        assert_eq!(sized(101, 1, 1) - base, 100);
        assert_eq!(sized(1, 101, 1) - base, 100);
        assert_eq!(sized(1, 1, 101) - base, 100);
        // The entry and its key themselves, and each signed header's own bytes.
        let mut bare = entry(&k, "/o");
        bare.signed.clear();
        let texts = bare.texts.bytes.capacity();
        assert!(bare.size() >= std::mem::size_of::<Entry>() + std::mem::size_of::<Key>() + texts);
        assert!(base - bare.size() >= std::mem::size_of::<(String, Vec<u8>)>() + 2);
    }

    /// Entries of real URLs (a key of a few hundred bytes, a presigned query) are bounded by
    /// their count: a generation's bytes are enough for as many of them as it holds. Made
    /// `2 + 1024` bytes an entry (cargo-mutants), the cache kept half the URLs it is sized for.
    #[test]
    fn a_cache_holds_as_many_real_urls_as_it_is_sized_for() {
        let cache = PresignedCache::new(8);
        let key = "k".repeat(300);
        let request = |i: u32| path(&format!("{key}{i}"), &format!("{i:064x}"));
        let headers: [(&[u8], &[u8]); 1] = [(b"x-amz-meta-a", b"1")];
        for i in 0..8 {
            let r = request(i);
            cache.insert(key_of(&r), entry(&r, &String::from_utf8_lossy(&r)));
        }
        // Both generations full, none dropped (a hit in the old one would move it).
        assert_eq!(cache.len(), 8);
        let last = request(7);
        assert!(cache
            .get(&key_of(&last), &lookup(&last, &headers, 150))
            .is_some());
    }

    #[test]
    fn long_urls_are_bounded_by_their_bytes_too() {
        let cache = PresignedCache::new(64);
        let long = "x".repeat(3000);
        let request = |i: u32| path(&format!("{long}{i}"), &format!("{i:064x}"));
        let headers: [(&[u8], &[u8]); 1] = [(b"x-amz-meta-a", b"1")];
        for i in 0..1000 {
            let r = request(i);
            cache.insert(key_of(&r), entry(&r, &String::from_utf8_lossy(&r)));
            assert!(cache.get(&key_of(&r), &lookup(&r, &headers, 150)).is_some());
            assert!(cache.bytes() <= 64 * BYTES_PER_ENTRY + ENTRY_BYTES_MAX);
        }
        // Long URLs fill the bytes before the count.
        assert!(cache.len() < 40, "{}", cache.len());
        // One larger than an entry may be is verified every time instead.
        let huge = path(&"y".repeat(ENTRY_BYTES_MAX), SIG);
        cache.insert(key_of(&huge), entry(&huge, "/o"));
        assert!(cache
            .get(&key_of(&huge), &lookup(&huge, &headers, 150))
            .is_none());
    }
}
