//! The canonical request's kept hash states (the one before the host line, the one before a
//! presigned URL's credential) against hashing from scratch, over random sequences of every
//! operation that may invalidate them.
// Tests sort with the standard library: clippy.toml's rule is about the module's size.
#![allow(clippy::disallowed_methods)]

mod random_requests;

use random_requests::Rng;
use s3_resign::sigv4::canonical::CanonicalRequest;
use s3_resign::sigv4::query::canonical_value_range;
use s3_resign::sigv4::signed_headers::SignedHeaders;
use sha2::{Digest, Sha256};

/// Names to keep the state before and to splice: present, absent, a prefix of one.
const NAMES: [&[u8]; 5] = [
    b"X-Amz-Credential",
    b"X-Amz-Date",
    b"a",
    b"X-Amz-Credentia",
    b"zz",
];

const HOSTS: [&[u8]; 2] = [b"public.example", b"origin.example"];

fn one_of(rng: &mut Rng, items: &[&'static [u8]]) -> &'static [u8] {
    items[rng.below(items.len())]
}

/// Up to 140 bytes: texts that end on either side of SHA-256's 64-byte blocks.
fn filler(rng: &mut Rng) -> String {
    (0..rng.below(140))
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// A sorted query in which names may repeat or be missing.
fn random_query(rng: &mut Rng) -> String {
    let mut parts = Vec::new();
    for _ in 0..rng.below(6) {
        let name = String::from_utf8_lossy(one_of(rng, &NAMES)).into_owned();
        parts.push(format!("{name}={}", filler(rng)));
    }
    if rng.below(3) == 0 {
        parts.push(format!("X-Amz-Credential={}", filler(rng)));
    }
    if rng.below(4) == 0 {
        parts.push(format!("{}=", "b".repeat(rng.below(90))));
    }
    parts.sort();
    parts.join("&")
}

/// A header signed before `host`, one after it.
fn request<'a>(signed: &SignedHeaders<'a>, uri: &str, query: &str) -> CanonicalRequest<'a> {
    let headers: [(&[u8], &[u8]); 2] = [(b"x-amz-date", b"20261129T115959Z"), (b"a-first", b"v")];
    CanonicalRequest::new(
        b"GET",
        uri.to_owned(),
        query.to_owned(),
        signed,
        &headers,
        "UNSIGNED-PAYLOAD",
    )
    .unwrap()
}

#[test]
fn a_kept_state_never_changes_a_hash() {
    let signed = SignedHeaders::parse("a-first;host;x-amz-date").unwrap();
    let fresh = |uri: &str, query: &str, host: &[u8]| -> [u8; 32] {
        Sha256::digest(request(&signed, uri, query).render(host)).into()
    };
    let mut rng = Rng::new(0x5EED_CA11);
    for _ in 0..3000 {
        let mut uri = format!("/{}", filler(&mut rng));
        let mut query = random_query(&mut rng);
        let mut c = request(&signed, &uri, &query);
        for _ in 0..12 {
            match rng.below(6) {
                0 => c.keep_state_before(one_of(&mut rng, &NAMES)),
                1 => {
                    let host = one_of(&mut rng, &HOSTS);
                    assert_eq!(c.hash(host), fresh(&uri, &query, host));
                }
                2 | 3 => {
                    let host = one_of(&mut rng, &HOSTS);
                    let name = one_of(&mut rng, &NAMES);
                    let value = filler(&mut rng);
                    let mut want_query = query.clone();
                    if let Some(r) = canonical_value_range(&want_query, name) {
                        want_query.replace_range(r, &value);
                    }
                    let got = c.hash_with_query_value(host, name, &value);
                    assert_eq!(
                        got,
                        fresh(&uri, &want_query, host),
                        "uri {uri} query {query} name {:?} value {value}",
                        String::from_utf8_lossy(name)
                    );
                }
                4 => {
                    uri = format!("/{}", filler(&mut rng));
                    c.set_uri(uri.clone().into());
                }
                _ => {
                    let new = if rng.below(2) == 0 {
                        random_query(&mut rng)
                    } else {
                        // Positions shift: a kept range would be stale.
                        format!("{}{}", "A".repeat(rng.below(3)), query)
                    };
                    query = new.clone();
                    c.edit_query(|q| *q = new);
                }
            }
            let model = request(&signed, &uri, &query);
            assert_eq!(c.render(HOSTS[0]), model.render(HOSTS[0]));
        }
    }
}
