//! A browser's POST Object form, streamed in arbitrary pieces. Input: a selector byte, then
//! lines `bucket`, `boundary` (the `multipart/form-data` parameter) and `now` (Unix seconds),
//! then the body. The client key pair is the AWS documentation's (the forms in
//! tests/data/s3-post-policy-examples.json verify), translated to another pair at the origin
//! when the selector's low bit is set (the form is rewritten), kept otherwise.
//!
//! Invariants: no panic, every refusal renders, a form passed is as long as the verdict told
//! (the origin's Content-Length), and when the upload is gone the memory budget holds nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::config::Config;
use s3_resign::memory_budget::MemoryBudget;
use s3_resign::post_policy::{Boundary, PostUpload};
use s3_resign_fuzz::{render_rejection, Splits};

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn config(translated: bool) -> Config {
    let mut pair = serde_json::json!({"access_key_id": KEY, "secret_access_key": SECRET});
    if translated {
        pair["origin_access_key_id"] = "ORIGINKEY".into();
        pair["origin_secret_access_key"] = "origin-secret".into();
    }
    let json = serde_json::json!({
        "public_domains": ["s3.mydomain.com"],
        "origin_authority": "origin.example:9000",
        "credentials": [pair],
    });
    Config::parse(json.to_string().as_bytes(), &|_| None).unwrap()
}

thread_local! {
    static CONFIGS: [Config; 2] = [config(false), config(true)];
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut lines = rest.splitn(4, |&b| b == b'\n');
    let (Some(bucket), Some(boundary), Some(now), Some(body)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return;
    };
    let (Ok(bucket), Ok(boundary)) = (std::str::from_utf8(bucket), Boundary::new(boundary)) else {
        return;
    };
    let Some(now) = std::str::from_utf8(now)
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return;
    };
    let budget = MemoryBudget::new(if selector & 2 == 0 { 1 << 20 } else { 4096 });
    let mut upload = PostUpload::new(boundary, bucket, 64 * 1024, budget.clone());
    let mut splits = Splits::new(u32::from(selector >> 2).wrapping_mul(2_654_435_761));
    CONFIGS.with(|configs| {
        let config = &configs[usize::from(selector & 1)];
        let mut out = Vec::new();
        let mut delta = 0;
        for piece in splits.pieces(body) {
            match upload.feed_into(piece, config, now, &mut out) {
                Ok(Some(change)) => delta = change,
                Ok(None) => {}
                Err(rejection) => {
                    render_rejection(&rejection);
                    return;
                }
            }
        }
        match upload.finish() {
            Ok(last) => {
                out.extend_from_slice(&last);
                // The origin's Content-Length, sent before the file, must hold: only the head
                // changes length (fields after the file are closed off in place).
                let expected = i64::try_from(body.len()).unwrap() + delta;
                assert_eq!(
                    i64::try_from(out.len()).unwrap(),
                    expected,
                    "the length told"
                );
            }
            Err(rejection) => render_rejection(&rejection),
        }
    });
    drop(upload);
    assert_eq!(budget.used(), 0, "the budget is whole again");
});
