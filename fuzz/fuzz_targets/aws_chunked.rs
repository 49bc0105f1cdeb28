//! The aws-chunked framing, fed in arbitrary pieces. Input: a mode byte, the decoded length in
//! decimal and a line feed, then the body. The request it belongs to is fixed (key, date,
//! seed signature; `seeds.py` signs its bodies with the same), so seeds verify and mutations
//! start from valid chains.
//!
//! Mode bits: 0 a signed trailer (`x-amz-checksum-crc32` announced), 1 an origin filter's
//! resigner (re-signs without verifying, so every byte reaches the parser), 2 a small memory
//! budget, 3-7 how the body is cut.
//!
//! Invariants: no panic; a refused or finished body holds nothing and the budget is whole
//! again; a body that passes keeps its length, and its re-signed chunks verify with the
//! origin's key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::aws_chunked::{Chains, ChunkedResigner, Trailer};
use s3_resign::memory_budget::MemoryBudget;
use s3_resign::sigv4::amz_date::AmzDate;
use s3_resign::sigv4::signature::Signature;
use s3_resign_fuzz::{sign, Splits, CLIENT_SECRET, NOW, ORIGIN_SECRET};

/// The seed signatures of the (fixed) request, the client's and the origin's.
pub const CLIENT_SEED: &str = "8f3c1d0e5a7b9c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d";
pub const ORIGIN_SEED: &str = "1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c0d2e4f6a8b0c1d3e5f7a9b";
const MAX_CHUNK: u64 = 8192;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Some(declared) = std::str::from_utf8(&rest[..lf])
        .ok()
        .and_then(|d| d.parse::<u64>().ok())
    else {
        return;
    };
    let body = &rest[lf + 1..];
    let trailer = if mode & 1 == 1 {
        Trailer::Signed
    } else {
        Trailer::None
    };
    let date = AmzDate::from_unix_seconds(NOW);
    let client_seed = Signature::from_hex(CLIENT_SEED.as_bytes()).unwrap();
    let origin_seed = Signature::from_hex(ORIGIN_SEED.as_bytes()).unwrap();
    let origin = sign::chain(ORIGIN_SECRET, "us-east-1", &date, &origin_seed);
    let chains = if mode & 2 == 0 {
        Chains::VerifyAndSign {
            client: sign::chain(CLIENT_SECRET, "us-east-1", &date, &client_seed),
            origin,
        }
    } else {
        Chains::Sign { origin }
    };
    let budget = MemoryBudget::new(if mode & 4 == 0 { 1 << 20 } else { 9000 });
    let resigner = ChunkedResigner::new(chains, trailer, MAX_CHUNK, declared, budget.clone())
        .for_key("CLIENTKEY");
    let mut resigner = if trailer == Trailer::Signed {
        resigner.announcing(b"x-amz-checksum-crc32")
    } else {
        resigner
    };
    let mut splits = Splits::new(u32::from(mode >> 3).wrapping_mul(2_654_435_761));
    let mut out = Vec::with_capacity(body.len());
    let mut passed = true;
    for piece in splits.pieces(body) {
        if let Err(e) = resigner.feed_into(piece, &mut out) {
            let _ = e.s3_error().xml_body(None);
            passed = false;
            break;
        }
        assert!(
            resigner.held() as u64 <= MAX_CHUNK + 16 * 1024 + 256,
            "held {}",
            resigner.held()
        );
    }
    if passed {
        match resigner.finish() {
            Ok(last) => out.extend_from_slice(&last),
            Err(e) => {
                let _ = e.s3_error().xml_body(None);
                passed = false;
            }
        }
    }
    assert_eq!(resigner.held(), 0, "a body that ended holds nothing");
    drop(resigner);
    assert_eq!(budget.used(), 0, "the budget is whole again");
    if !passed {
        return;
    }
    assert_eq!(out.len(), body.len(), "signatures are replaced in place");
    // What went on verifies along the origin's chain.
    let check = sign::chain(ORIGIN_SECRET, "us-east-1", &date, &origin_seed);
    let mut verifier = ChunkedResigner::new(
        Chains::Verify { client: check },
        trailer,
        MAX_CHUNK,
        declared,
        MemoryBudget::new(1 << 20),
    );
    let mut again = Vec::new();
    verifier
        .feed_into(&out, &mut again)
        .and_then(|()| verifier.finish().map(|last| again.extend_from_slice(&last)))
        .expect("the re-signed body verifies with the origin's key");
    assert_eq!(again, out);
});
