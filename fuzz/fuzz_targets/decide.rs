//! The whole decision on a request head in the text form of `TextRequest` (seeded with real
//! requests by `seeds.py`), its body streamed in pieces, with the invariants of
//! `decide_everything`; or, when the input is not in that form, as the host's serialised
//! header map (`header_map`), read in place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign_fuzz::{decide_everything, TextRequest};

fuzz_target!(|data: &[u8]| {
    if let Some(request) = TextRequest::parse(data) {
        decide_everything(request.selector, &request.pairs, request.now, &request.body);
    } else if let Some(pairs) = s3_resign::header_map::pairs(data) {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs
            .into_iter()
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        decide_everything(0, &pairs, 1_700_000_000, b"");
    }
});
