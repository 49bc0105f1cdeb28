//! AWS Signature Version 4, as S3 uses it: plain Rust over plain types, no proxy types, every
//! step named after the spec. See `crate::verify` and `crate::resign` for how the proxy
//! strings them together.

pub mod amz_date;
pub mod authorization;
pub mod canonical;
pub mod chunk_signing;
pub mod credential;
pub mod joined;
pub mod payload;
pub mod presigned;
pub mod query;
pub mod signature;
pub mod signed_headers;
pub mod signing;
pub mod uri;
