//! The whole decision on a request head in the text form of `TextRequest` (seeded with real
//! requests by `seeds.py`), its body streamed in pieces, with the invariants of
//! `decide_everything`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign_fuzz::{decide_everything, TextRequest};

fuzz_target!(|data: &[u8]| {
    if let Some(request) = TextRequest::parse(data) {
        decide_everything(request.selector, &request.pairs, request.now, &request.body);
    }
});
