//! The SigV4 `Authorization` header, and the scheme dispatch before it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::sigv4::authorization::{format, scheme, AuthorizationV4};

fuzz_target!(|value: &[u8]| {
    let _ = scheme(value);
    let Ok(text) = std::str::from_utf8(value) else {
        return;
    };
    if let Ok(auth) = AuthorizationV4::parse(text) {
        // What parses formats back to something that parses to the same.
        let signed = auth.signed_headers.to_string();
        let again = format(&auth.credential, &signed, &auth.signature);
        let reparsed = AuthorizationV4::parse(&again).expect("a formatted header parses");
        assert_eq!(reparsed.credential, auth.credential);
        assert_eq!(reparsed.signed_headers, auth.signed_headers);
        assert_eq!(reparsed.signature.to_hex(), auth.signature.to_hex());
    }
});
