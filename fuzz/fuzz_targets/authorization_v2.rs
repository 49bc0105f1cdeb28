//! The SigV2 `Authorization` header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::sigv2::authorization::{format, AuthorizationV2};

fuzz_target!(|value: &[u8]| {
    if let Ok(auth) = AuthorizationV2::parse(value) {
        // One signature, one spelling: what parses formats back byte for byte.
        assert_eq!(
            format(auth.access_key_id, &auth.signature).as_bytes(),
            value
        );
    }
});
