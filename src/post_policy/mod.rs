//! Browser uploads: POST Object with a signed POST policy (`generate_presigned_post`,
//! `createPresignedPost`), verified for the public host and re-signed for the origin. Plain
//! Rust over plain types, like `sigv4`; the gateway recognises the request head, the adapter
//! streams the body through a `PostUpload`.
//!
//! # Request head
//!
//! `recognise` says whether a request is a form: `POST` to a bucket (`/bucket`, or `/` on a
//! virtual host), no query, no `Authorization`, `Content-Type: multipart/form-data;
//! boundary=…`. Its authentication is in the body, so the head has nothing to verify, and no
//! header is signed: `covered_headers()` is what the unsigned-header check gets, so that
//! every `x-amz-*` header is refused.
//!
//! # Body
//!
//! ```text
//! --B  key, policy, x-amz-credential, …, x-amz-signature   the head: held, verified, rewritten
//! --B  file; filename="a.jpg"  Content-Type: image/jpeg     (its headers end the head)
//! <content>                                                streamed, counted
//! CRLF--B--                                                held until the size is in range
//! ```
//!
//! `PostUpload::feed` takes each piece and returns a `Release` (`prefix`, then
//! `input[range]`). While the head is incomplete it holds everything and releases nothing. The
//! call that completes it verifies it (signature, expiration, every condition, extra fields)
//! and returns, with the head for the origin in `prefix`, the change in the body's length
//! (`length_change`), known from the head alone: only the head changes. The file then
//! streams; the delimiter that ends it is held until the file's size is known to be within the
//! policy's `content-length-range`.
//!
//! # What the adapter does
//!
//! - Headers: pause them (`Action::Pause`) for a form: `Content-Length` may change, and they
//!   must not reach the origin before the head is verified.
//! - Each body piece: `feed` it; on error, empty Envoy's buffer and send the error (if the
//!   headers already went, the local reply resets the upstream request, and the held delimiter
//!   means the origin never saw the end of the file). Otherwise replace the buffered piece with
//!   `input[range]`, prepend `prefix`. When `head` is set, set `Content-Length` to
//!   `content_length(old, delta)` (when the client sent one) and let the headers go
//!   (`Action::Continue`); while `head_pending()`, return `Action::Pause`.
//! - End of stream: append `finish()`'s bytes, or send its error. HTTP trailers after a form
//!   are refused like an aws-chunked body's.
//!
//! # S3's rules, and where they come from
//!
//! - AWS, developer guide: `sigv4-HTTPPOSTConstructPolicy` (conditions, exemptions,
//!   `Content-Type` lists, escaping), `sigv4-HTTPPOSTForms` (fields, `${filename}`, the file
//!   last), `sigv4-authentication-HTTPPOST` (SigV4 signing), `sigv4-post-example` (the worked
//!   example and "The post parameters are case insensitive"), `HTTPPOSTForms` and
//!   `HTTPPOSTExamples` (SigV2, "Any fields below it are ignored"), `ErrorResponses`.
//! - S3's observed answers where AWS is silent: 403 `AccessDenied` "Invalid according to
//!   Policy: Policy expired." / "Policy Condition failed: [\"eq\", \"$key\", …]" / "Extra input
//!   fields: …"; 400 `InvalidPolicyDocument` "Invalid Policy: …"; 400 `EntityTooLarge` with
//!   `ProposedSize` and `MaxSizeAllowed` (here only the latter: a file refused as it passes
//!   its maximum has no known size), `EntityTooSmall` with `ProposedSize`; 400
//!   `MaxPostPreDataLengthExceeded` (the wire code; the table says `…Error`) with
//!   `MaxPostPreDataLengthBytes`; 400 `InvalidArgument` "Bucket POST must contain a field
//!   named '…'"; a `${filename}` kept as written when the file part has no `filename`; a
//!   condition on an absent field failing even with `""`. As recorded by LocalStack's
//!   S3-validated tests and in client issue trackers (collected in mantle's research note 19
//!   on POST Object).
//!
//! Where S3 is lenient and an origin could read the form otherwise, this module refuses: a
//! repeated field, a part header other than `Content-Disposition`/`Content-Type`, a backslash
//! in a quoted parameter, `filename*`, a preamble, transport padding, bare LF line ends, a
//! boundary followed by anything but CRLF or `--`, a `bucket` field naming another bucket.
//! Where origins find the file differently (S3 by the name `file`, s3s by the first
//! `filename`), the origin's head is normalised so that both find the same part: fields lose
//! their `filename`, a `file` part without one gets `filename=""`. A form as browsers and SDKs
//! write it passes byte for byte when the client's key pair and region serve at the origin.
//!
//! Fields after the file pass unread and unverified: S3 ignores them ("Any fields below it are
//! ignored"), and s3s stops reading at the file. An origin that read on would see them
//! unverified; holding them back would change the body's length after the headers went.

mod authorise;
pub mod boundary;
mod conditions;
mod errors;
mod expiration;
mod fields;
mod file_part;
mod form_head;
mod header_params;
mod part_headers;
mod policy;
mod recognise;
mod resign;
#[cfg(test)]
mod test_forms;
mod upload;
mod verify;

pub use authorise::PostAuth;
pub use boundary::Boundary;
pub use errors::{malformed, no_body, over_budget};
pub use recognise::{covered_headers, recognise};
pub use upload::{
    content_length, PostUpload, Release, Verified, DEFAULT_MAX_HEAD_BYTES, WAITING_FORM_BYTES,
    WAITING_HEADER_BYTES,
};
