//! AWS Signature Version 2, as S3 uses it: an HMAC-SHA1 over a string of the method, a few
//! standard headers, the date or expiry, the `x-amz-*` headers and the resource. Plain Rust
//! over plain types, like `sigv4`; `crate::verify_v2` and `crate::resign_v2` use it.

pub mod authorization;
pub mod presigned;
pub mod signature;
pub mod string_to_sign;
