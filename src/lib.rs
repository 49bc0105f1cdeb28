//! s3-resign: serve an S3-compatible store under another host name. A proxy-wasm HTTP filter
//! for Envoy that verifies each request's AWS Signature V4 for the public host and signs it
//! again for the origin.
//!
//! Everything but `filter` is plain Rust over plain types, tested natively; `filter` is the
//! proxy-wasm adapter (streams, bodies, timers and counts over the decisions made elsewhere),
//! built only for wasm32.

pub mod addressing;
pub mod auth_kind;
pub mod aws_chunked;
pub mod body_checks;
pub mod body_digest;
pub mod body_edits;
mod bytes;
pub mod client_net;
pub mod config;
mod error_cors;
pub mod gateway;
pub mod grant;
pub mod header_map;
pub mod held_body;
pub mod memory_budget;
pub mod metrics;
pub mod operations;
pub mod origin_refusals;
pub mod post_policy;
mod presigned_cache;
pub mod redact;
pub mod rejection;
pub mod request;
mod resign;
mod resign_v2;
mod router_directives;
pub mod s3_error;
pub mod sigv2;
pub mod sigv4;
pub(crate) mod sort;
pub mod unsigned_chunks;
mod unsigned_headers;
mod verify;
mod verify_v2;

#[cfg(target_arch = "wasm32")]
mod filter;
