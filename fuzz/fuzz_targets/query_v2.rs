//! The SigV2 presigned-URL parameters and the sub-resources SigV2 signs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::sigv2::presigned::PresignedV2;
use s3_resign::sigv2::string_to_sign::{string_to_sign, sub_resources};
use s3_resign::sigv4::presigned::PresignedParams;

fuzz_target!(|query: &[u8]| {
    // Noticed while the SigV4 parameters are extracted: how the gateway tells SigV2 apart.
    let is_present = PresignedParams::extract(query).sigv2;
    if let Ok(url) = PresignedV2::parse(query) {
        assert!(is_present, "parsed without its parameters");
        assert_eq!(url.signature.to_base64().len(), 28);
        assert_eq!(url.expires_text.parse::<u64>().ok(), Some(url.expires));
    }
    if let Ok(subs) = sub_resources(query) {
        assert!(subs.windows(2).all(|w| w[0].0 < w[1].0), "sorted, distinct");
        let headers: [(&[u8], &[u8]); 1] = [(b"x-amz-date", b"d")];
        let _ = string_to_sign(b"GET", &headers, b"", b"/b/k", &subs);
    }
});
