//! The SigV4 presigned-URL parameters, and everything else that reads a raw query: the
//! canonical query, in-place value replacement, the log mask.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::sigv4::presigned::PresignedParams;
use s3_resign::sigv4::query::{canonical_query, params, replace_values, set_canonical_value, Edit};
use s3_resign::sigv4::uri::{decode_query_component, encode_query_component};

fuzz_target!(|query: &[u8]| {
    let extracted = PresignedParams::extract(query);
    if let Ok(url) = extracted.parse() {
        let _ = url.credential.to_string();
        let _ = url.signed_headers.to_string();
        let _ = url.date.unix_seconds();
        assert!(url.expires <= 604_800);
    }
    let canonical = canonical_query(query, |name| match name {
        b"X-Amz-Signature" => Edit::Drop,
        b"X-Amz-Credential" => Edit::Set(b"ORIGIN/20261129/us-east-1/s3/aws4_request"),
        _ => Edit::Keep,
    });
    // The canonical form is plain ASCII, sorted.
    assert!(canonical.is_ascii());
    // Setting the credential in place equals canonicalising with it, where it occurs once.
    let mut origin = canonical.clone();
    set_canonical_value(
        &mut origin,
        b"X-Amz-Credential",
        "K%2F1%2Fr%2Fs3%2Faws4_request",
    );
    if extracted.parse().is_ok() {
        let again = canonical_query(query, |name| match name {
            b"X-Amz-Signature" => Edit::Drop,
            b"X-Amz-Credential" => Edit::Set(b"K/1/r/s3/aws4_request"),
            _ => Edit::Keep,
        });
        assert_eq!(origin, again);
    }
    // Pairs sent canonical are taken as they are, the others decoded and encoded again: the
    // same as decoding and encoding every pair.
    let verified = canonical_query(query, |name| match name {
        b"X-Amz-Signature" => Edit::Drop,
        _ => Edit::Keep,
    });
    assert_eq!(verified, decoded_and_encoded(query));
    let zeros = [b'0'; 64];
    let replaced = replace_values(query, |name| {
        (name == b"X-Amz-Signature").then_some(&zeros[..])
    });
    // Parameters other than the replaced ones keep every byte.
    let others = |q: &[u8]| -> Vec<Vec<u8>> {
        q.split(|&b| b == b'&')
            .filter(|s| {
                params(s)
                    .next()
                    .is_none_or(|p| p.decoded_name().as_ref() != b"X-Amz-Signature")
            })
            .map(<[u8]>::to_vec)
            .collect()
    };
    assert_eq!(others(query), others(&replaced));
    let _ = s3_resign::redact::query(query);
});

/// The canonical query without the signature, the long way: every name and value decoded and
/// encoded again, sorted, joined.
fn decoded_and_encoded(query: &[u8]) -> String {
    let encode = |bytes: &[u8]| {
        let mut out = String::new();
        encode_query_component(&mut out, bytes);
        out
    };
    let mut pairs: Vec<(String, String)> = params(query)
        .map(|p| {
            (
                encode(&decode_query_component(p.name)),
                encode(&decode_query_component(p.value)),
            )
        })
        .filter(|(name, _)| name != "X-Amz-Signature")
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}
