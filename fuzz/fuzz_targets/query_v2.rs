//! The SigV2 presigned-URL parameters and the sub-resources SigV2 signs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::sigv2::presigned::PresignedV2;
use s3_resign::sigv2::string_to_sign::{string_to_sign, sub_resources, SUB_RESOURCES};
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
        let signed = string_to_sign(b"GET", &headers, b"", b"/b/k", &subs);
        // Read back, the signed section names exactly these sub-resources: no value can stand
        // for more of them (`partNumber=1%26uploadId%3DU` for `partNumber=1&uploadId=U`).
        // The headers before it are fixed: the first `\n/b/k` is the resource (values may hold
        // line breaks of their own).
        let resource = signed.windows(5).position(|w| w == b"\n/b/k");
        let section = &signed[resource.expect("the resource is signed") + 5..];
        let read: Vec<&[u8]> = section
            .get(1..)
            .unwrap_or_default()
            .split(|&b| b == b'&')
            .map(|piece| piece.split(|&b| b == b'=').next().unwrap_or(piece))
            .filter(|name| SUB_RESOURCES.iter().any(|s| s.as_bytes() == *name))
            .collect();
        let names: Vec<&[u8]> = subs.iter().map(|(n, _)| n.as_bytes()).collect();
        assert_eq!(
            read, names,
            "the signed section reads as other sub-resources"
        );
    }
});
