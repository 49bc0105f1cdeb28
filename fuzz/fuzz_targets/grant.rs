//! Grants, as an origin filter reads them from filter state: any bytes. What decodes encodes
//! back byte for byte, and the origin filter decides on it without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::gateway::Decision;
use s3_resign::grant::Grant;
use s3_resign_fuzz::{gateways, render_rejection, Splits};

fuzz_target!(|data: &[u8]| {
    let Ok(grant) = Grant::decode(data) else {
        return;
    };
    assert_eq!(grant.encode(), data, "one grant, one encoding");
    let g = gateways();
    // Whether the stream ends with its head is the origin filter's own to tell: any.
    let req = grant.request().ending_with_head(data.len() % 2 == 1);
    match g.origin_filter.decide_granted(&grant, &req) {
        Decision::Forward(mut forward) => {
            let _ = format!("{forward:?}");
            if let Some(resigner) = forward.body.as_mut() {
                // Re-signs without verifying: whatever comes as the body (here the grant's own
                // bytes, as good as any), it never panics.
                let body = data.to_vec();
                let mut out = Vec::new();
                let mut splits = Splits::new(data.len() as u32);
                let fed = splits
                    .pieces(&body)
                    .into_iter()
                    .try_for_each(|piece| resigner.feed_into(piece, &mut out));
                if fed.is_ok() {
                    let _ = resigner.finish();
                }
            }
        }
        Decision::Reject(rejection) => render_rejection(&rejection),
    }
    assert_eq!(g.origin_filter.body_memory_used(), 0, "held memory leaked");
});
