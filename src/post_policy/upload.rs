//! One POST Object upload as its body streams through, shaped like `aws_chunked`: the adapter
//! feeds each piece of the body and gets back what to release.
//!
//! 1. **Head.** Every byte is held in the VM (bounded by the limit, reserved from the memory
//!    budget) and nothing is released, until the file part's headers end.
//! 2. **Verdict**, in the same call: the head is verified (`authorise`) and, when the origin
//!    needs another, rewritten. The release then opens with the head for the origin, and
//!    carries the change in body length, so the adapter can set `Content-Length` before it
//!    lets the request headers go; how the head authenticated is taken apart
//!    (`take_verified`), as the file may fail in the same piece.
//! 3. **File.** The content passes as it comes, but for a possible closing delimiter, which is
//!    held until the file's size is known to be within `content-length-range`. The part
//!    after the file, if any, is closed off (`file_part`); what follows passes unread.

use super::authorise::{authorise, PostAuth};
use super::boundary::Boundary;
use super::errors;
use super::file_part::FileScanner;
use super::form_head::{HeadError, HeadParser, Progress};
use crate::body_checks::form_file_digests;
use crate::config::Config;
use crate::memory_budget::{MemoryBudget, Waiting};
use crate::rejection::Rejection;
use crate::request::Request;
use std::ops::Range;
use std::rc::Rc;

/// S3 allows 20 KiB of fields before the file; browsers and SDKs stay far below. 64 KiB
/// leaves room for long policies and metadata while bounding what one upload holds.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;

/// What a form whose request headers wait is charged in the unverified streams' share,
/// besides their bytes: Envoy keeps about 10 KiB for such a stream and about 380 bytes a
/// header beyond its name and value, the VM about 1 KiB. A red team paused 20,000 forms that
/// sent no body, with no key, over 20 HTTP/2 connections: 1.6 GiB of Envoy's memory for
/// 657 KB sent (2026-12-03). Counted so, the share of 8 MiB (a 64 MiB budget) bounds a
/// worker's waiting forms to about 600, or 110 with 60 KiB of headers.
pub const WAITING_FORM_BYTES: usize = 12 * 1024;

/// What each of a waiting form's headers is charged beyond its name and value.
pub const WAITING_HEADER_BYTES: usize = 384;

/// What one piece of the body releases: `prefix`, then `input[range]`; the rest of the input
/// is held (or, once released in a prefix, dropped from the input).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Release {
    pub prefix: Vec<u8>,
    pub range: Range<usize>,
    /// Set by the call that completed the head: the origin's body length minus the client's
    /// (the head for the origin minus the head received); the rest of the body keeps its
    /// length.
    pub length_change: Option<i64>,
}

/// How a form's head authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub auth: PostAuth,
    /// The key id it claimed; none for an anonymous form.
    pub access_key_id: Option<String>,
}

enum Phase {
    Head(Box<HeadParser>),
    File(FileScanner),
    Failed,
}

pub struct PostUpload {
    bucket: String,
    boundary: Boundary,
    phase: Phase,
    /// How a head that verified authenticated, until taken.
    verified: Option<Verified>,
}

impl PostUpload {
    /// An upload to `bucket` with a body in `boundary`'s parts; `max_head_bytes` bounds the
    /// fields before the file (400 `MaxPostPreDataLengthExceeded` past it), held within
    /// `budget`.
    pub fn new(
        boundary: Boundary,
        bucket: &str,
        max_head_bytes: usize,
        budget: Rc<MemoryBudget>,
    ) -> Self {
        PostUpload {
            bucket: bucket.to_owned(),
            phase: Phase::Head(Box::new(HeadParser::new(
                boundary.clone(),
                max_head_bytes,
                budget,
            ))),
            boundary,
            verified: None,
        }
    }

    /// Whether the head verified since last asked, and how: set when its signature and policy
    /// hold, even if the file fails in the same piece.
    pub fn take_verified(&mut self) -> Option<Verified> {
        self.verified.take()
    }

    /// Charges `req`'s headers, which wait with the head, to the unverified streams' share:
    /// their bytes, `WAITING_HEADER_BYTES` a header and `WAITING_FORM_BYTES` (503 `SlowDown`
    /// past it), counted for the network it comes from. Before the first piece.
    pub fn wait_with_headers(&mut self, req: &Request<'_>) -> Result<(), Rejection> {
        let charge = req
            .headers
            .len()
            .saturating_mul(WAITING_HEADER_BYTES)
            .saturating_add(req.head_bytes())
            .saturating_add(WAITING_FORM_BYTES);
        let charged = match &mut self.phase {
            Phase::Head(head) => head.wait_with_headers(charge, req.client_net()),
            Phase::File(_) | Phase::Failed => false,
        };
        charged.then_some(()).ok_or_else(errors::over_budget)
    }

    /// What the request headers waiting with the head are charged, while they wait.
    pub fn waiting_charge(&self) -> Option<&Rc<Waiting>> {
        match &self.phase {
            Phase::Head(head) => head.waiting_charge(),
            Phase::File(_) | Phase::Failed => None,
        }
    }

    /// The bytes held, waiting to go on: the head's (the request headers that wait with it
    /// among them), then what the file keeps back.
    pub fn held(&self) -> usize {
        match &self.phase {
            Phase::Head(head) => head.held().saturating_add(head.waiting()),
            Phase::File(file) => file.held(),
            Phase::Failed => 0,
        }
    }

    /// Bytes of the budget reserved: the head's (what the file keeps back is a few bytes of
    /// a boundary, held without one).
    pub fn reserved(&self) -> usize {
        match &self.phase {
            Phase::Head(head) => head.reserved(),
            Phase::File(_) | Phase::Failed => 0,
        }
    }

    /// Whether the head is still being read: the request headers must wait.
    pub fn head_pending(&self) -> bool {
        matches!(self.phase, Phase::Head(_))
    }

    /// Takes the next piece of the body. `config` and `now` (Unix seconds) verify the head when
    /// it completes. After an error nothing more is released.
    pub fn feed(&mut self, input: &[u8], config: &Config, now: u64) -> Result<Release, Rejection> {
        let result = self.feed_inner(input, config, now);
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }

    /// The body has ended: what is still held, once the file has ended within its range.
    pub fn finish(&mut self) -> Result<Vec<u8>, Rejection> {
        let result = match &mut self.phase {
            Phase::File(scanner) => scanner.finish(),
            Phase::Head(_) => Err(errors::malformed("the body ends before the file")),
            Phase::Failed => Err(errors::malformed("the body was already refused")),
        };
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }

    /// `feed`, appending what goes on to `out`; the change in length once the head is done.
    pub fn feed_into(
        &mut self,
        input: &[u8],
        config: &Config,
        now: u64,
        out: &mut Vec<u8>,
    ) -> Result<Option<i64>, Rejection> {
        let release = self.feed(input, config, now)?;
        out.extend_from_slice(&release.prefix);
        out.extend_from_slice(input.get(release.range).unwrap_or_default());
        Ok(release.length_change)
    }

    fn feed_inner(
        &mut self,
        input: &[u8],
        config: &Config,
        now: u64,
    ) -> Result<Release, Rejection> {
        let parser = match &mut self.phase {
            Phase::File(scanner) => {
                let piece = scanner.feed(input)?;
                return Ok(Release {
                    prefix: piece.prefix,
                    range: piece.range,
                    length_change: None,
                });
            }
            Phase::Failed => return Err(errors::malformed("the body was already refused")),
            Phase::Head(parser) => parser,
        };
        let used = match parser.push(input) {
            Ok(Progress::NeedMore) => {
                return Ok(Release {
                    prefix: Vec::new(),
                    range: input.len()..input.len(),
                    length_change: None,
                })
            }
            Ok(Progress::Complete { used }) => used,
            Err(HeadError::Malformed(why)) => return Err(errors::malformed(why)),
            Err(HeadError::TooLarge) => return Err(errors::head_too_large(parser.limit())),
            Err(HeadError::NoFile) => return Err(errors::no_file()),
            Err(HeadError::OverBudget) => return Err(errors::over_budget()),
        };
        let Phase::Head(parser) = std::mem::replace(&mut self.phase, Phase::Failed) else {
            return Err(errors::malformed("internal: the head was not being read"));
        };
        let head = parser
            .into_head()
            .ok_or_else(|| errors::malformed("internal: the head is incomplete"))?;
        let authorised = authorise(config, &head, &self.bucket, now)?;
        let verified = self.verified.insert(Verified {
            auth: authorised.auth,
            access_key_id: authorised.access_key_id,
        });
        let for_key = |r: Rejection| match &verified.access_key_id {
            Some(key) => r.for_key(key),
            None => r,
        };
        let digests = form_file_digests(head.fields()).map_err(for_key)?;
        let received = head.bytes().len();
        let out = authorised.head.unwrap_or_else(|| head.into_bytes());
        let delta = i64::try_from(out.len()).unwrap_or(i64::MAX)
            - i64::try_from(received).unwrap_or(i64::MAX);
        let mut prefix = out;
        let mut scanner = FileScanner::new(&self.boundary, authorised.size)
            .checking(digests)
            .after_holding(prefix.pop());
        let rest = input.get(used..).unwrap_or_default();
        let piece = scanner.feed(rest).map_err(for_key)?;
        self.phase = Phase::File(scanner);
        prefix.extend_from_slice(&piece.prefix);
        Ok(Release {
            prefix,
            range: used + piece.range.start..used + piece.range.end,
            length_change: Some(delta),
        })
    }
}

/// The origin's `Content-Length`: the client's plus `delta`, or `None` when the client's is
/// not a length or the sum is out of range.
pub fn content_length(client: &[u8], delta: i64) -> Option<String> {
    let length = i64::try_from(crate::bytes::decimal(client)?).ok()?;
    let origin = length.checked_add(delta)?;
    (origin >= 0).then(|| origin.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_adds_the_delta() {
        assert_eq!(content_length(b"1000", 24).as_deref(), Some("1024"));
        assert_eq!(content_length(b"1000", -1000).as_deref(), Some("0"));
        assert_eq!(content_length(b"10", -11), None);
        assert_eq!(content_length(b"", 0), None);
        assert_eq!(content_length(b"+1", 0), None);
        assert_eq!(content_length(b"1 ", 0), None);
        assert_eq!(content_length(b"99999999999999999999", 0), None);
        assert_eq!(content_length(b"9223372036854775807", 1), None);
    }
}
