//! The request body, as the stream's callbacks meet it: which body the decision left to read
//! (a signed aws-chunked upload, a browser's form, a body checked against a digest, one that
//! must stay empty), each piece of it verified, re-signed and written back into Envoy's
//! buffer, the head that waited for it let go, and the refusal of a body that fails on the
//! way.

use super::silent_holds::{request_timeout, Hold, Holding};
use super::{host, with_key, FilterKind, Stream};
use crate::auth_kind::AuthKind;
use crate::aws_chunked::{ChunkError, ChunkedResigner};
use crate::body_checks::{carries_a_body, unexpected_body, MustBeEmpty};
use crate::body_digest::{BodyCheck, BodyDigest, BodyError, Framing};
use crate::body_edits::{self, Lead};
use crate::gateway::Forward;
use crate::post_policy::{self, PostAuth, PostUpload, Verified};
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::S3ErrorCode;
use proxy_wasm::types::{Action, BufferType};
use std::rc::Rc;

/// A body the filter reads: a signed aws-chunked upload, a browser's form, a body checked
/// against a digest, or one that must stay empty.
pub(super) enum Body {
    Chunked(Box<ChunkedResigner>),
    /// The request headers wait (`head_pending`) until the form's head is verified.
    Form(Box<PostUpload>),
    Digest(Box<BodyDigest>),
    /// A body that must stay empty, its first byte refused with the refusal given before any
    /// of it goes on (and before the head, where it waits: `Forward::head_waits`). A body its
    /// head did not announce on a method S3 gives none (all but `PUT` and `POST`): an origin
    /// that ignores a `GET`'s `Content-Length` would read it as the next request on a shared
    /// connection (an attack run, 2026-12-01). And those of `Forward::must_be_empty`.
    Empty(MustBeEmpty),
}

impl Body {
    /// The bytes it holds in the VM, waiting to go on.
    fn held(&self) -> usize {
        match self {
            Body::Chunked(resigner) => resigner.held(),
            Body::Form(form) => form.held(),
            Body::Digest(check) => check.held(),
            Body::Empty(_) => 0,
        }
    }

    /// The budget's bytes reserved for what it holds.
    fn reserved(&self) -> usize {
        match self {
            Body::Chunked(resigner) => resigner.reserved(),
            Body::Form(form) => form.reserved(),
            Body::Digest(check) => check.reserved(),
            Body::Empty(_) => 0,
        }
    }
}

impl Stream {
    /// Holds a browser's form until its head is verified (the request headers wait). A form
    /// that ends with its head never gets here: the gateway refuses it before it waits
    /// (`Request::ends_with_head`).
    pub(super) fn hold_form(&mut self, form: Box<PostUpload>) -> Action {
        self.body = Some(Body::Form(form));
        self.record_memory();
        // The headers wait from now: a form that sends nothing is timed as one that holds
        // fields (a red team paused 20,000 bodiless forms for Envoy's 300 s, 2026-12-03).
        if let Err(rejection) = self.time_the_hold(false) {
            return self.refuse_body(rejection);
        }
        Action::Pause
    }

    /// The body the forwarded request leaves to read as it streams, if any. A body that ends
    /// with the head, or that announces a length it cannot have, is judged now, before the
    /// request counts as forwarded.
    pub(super) fn body_to_read(
        &mut self,
        req: &Request<'_>,
        forward: &mut Forward<'_>,
        end_of_stream: bool,
    ) -> Result<Option<Body>, Rejection> {
        // Judged now, as when the head ends the stream, also for an HTTP/2 head announcing
        // `content-length: 0` (an attack run had a signed PUT stored empty so, its digest never
        // compared, 2026-12-04), and for a body that must be empty.
        let empty = end_of_stream || req.has_no_body() || forward.must_be_empty.is_some();
        if empty && forward.body.is_some() {
            return Err(Rejection::from(ChunkError::Truncated.s3_error()));
        }
        let digest = match forward.body_check.take() {
            Some(check) => self.digest_body(req, check, forward.access_key_id, empty)?,
            None => None,
        };
        let unexpected = !end_of_stream && !carries_a_body(req.method);
        if unexpected {
            self.describe(req, forward.access_key_id);
            // Announced in the head, before the head goes on (a DELETE would run at the origin
            // before its body arrived); else (HTTP/2 DATA frames) at the body's first byte.
            // Over HTTP/1 a head that does not end the stream frames a body, whether or not
            // its `Content-Length` is still there: a client's `Connection: content-length`
            // has Envoy read the body by it and remove it (an attack run, 2026-12-01).
            if req.announces_a_body() || host::request_is_http1() != Some(false) {
                return Err(unexpected_body());
            }
        }
        Ok(if let Some(chunked) = forward.body.take() {
            Some(Body::Chunked(chunked))
        } else if digest.is_some() {
            digest
        } else if unexpected {
            Some(Body::Empty(MustBeEmpty::BodylessMethod))
        } else {
            forward.must_be_empty.map(Body::Empty)
        })
    }

    /// What checks a body against the digest its signature binds, as it streams; `None` when
    /// the body is `empty` (the head ends the stream or announces no byte) and that matches.
    fn digest_body(
        &self,
        req: &Request<'_>,
        check: BodyCheck,
        access_key_id: Option<&str>,
        empty: bool,
    ) -> Result<Option<Body>, Rejection> {
        if empty {
            if check.accepts_empty() {
                return Ok(None);
            }
            return Err(match (check.framing, check.expected) {
                // An aws-chunked body has at least its final chunk.
                (Framing::AwsChunked { .. }, _) => {
                    Rejection::from(ChunkError::Truncated.s3_error())
                }
                (Framing::Plain, Some(expected)) => BodyError::Mismatch(expected).rejection(),
                // Not made: a plain body is checked only against a digest.
                (Framing::Plain, None) => Rejection::internal("a body check with nothing to check"),
            });
        }
        let Some(filters) = &self.filters else {
            return Err(Rejection::internal("the filter is not configured"));
        };
        let mut digest = BodyDigest::new(check, filters.budget.clone());
        if let Some(key) = access_key_id {
            digest = digest.owned_by(key);
        }
        if let Some(length) = req.number("content-length") {
            digest.expect_length(length).map_err(BodyError::rejection)?;
        }
        Ok(Some(Body::Digest(Box::new(digest))))
    }

    /// Lets a head that waited for the body go on (`release_head`), then streams the body
    /// through its re-signer: what is complete and verified goes on (edited in Envoy's
    /// buffer), the rest stays in the VM until it is.
    pub(super) fn resign_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if self.head_waits {
            // An empty DATA frame that does not end the stream says nothing: the head's time
            // runs on (else a client could hold it with empty frames).
            if size == 0 && !end_of_stream {
                return Action::Pause;
            }
            if let Err(why) = self.release_head(size == 0) {
                return self.internal_error(self.head, &why);
            }
        }
        if self.body.is_none() {
            return Action::Continue;
        }
        let mut input = match host::get_buffer(BufferType::HttpRequestBody, 0, size) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                let why = format!("cannot read the request body: {status:?}");
                return self.internal_error(self.head, &why);
            }
        };
        let step = match self.body.as_mut() {
            Some(Body::Chunked(_)) => self.chunked_step(&mut input, end_of_stream),
            Some(Body::Form(_)) => self.form_step(&input, end_of_stream),
            Some(Body::Digest(check)) => digest_step(check, &input, end_of_stream),
            Some(Body::Empty(why)) if !input.is_empty() => Err(why.refusal()),
            Some(Body::Empty(_)) => Ok(BodyStep::default()),
            None => return Action::Continue,
        };
        self.record_memory();
        let step = step.and_then(|step| {
            self.time_the_hold(step.releases())?;
            Ok(step)
        });
        let step = step.and_then(|step| {
            // Never outside the piece by construction; refused like any bad piece if it were.
            let middle = input
                .get(step.range.clone())
                .ok_or_else(|| Rejection::internal("a body release outside its piece"))?;
            Ok((step, middle))
        });
        let (step, middle) = match step {
            Ok(released) => released,
            Err(rejection) => {
                // Nothing of this piece goes on; the error answer resets the upstream request.
                let _ = host::set_buffer(BufferType::HttpRequestBody, 0, size, &[]);
                return self.refuse_body(rejection);
            }
        };
        if end_of_stream {
            self.body = None;
        }
        let lead = step.lead.as_slice();
        let written =
            body_edits::edits(size, lead, &step.prefix, middle, &step.last).try_for_each(|e| {
                host::set_buffer(BufferType::HttpRequestBody, e.start, e.length, e.data)
            });
        match written {
            Ok(()) if step.wait => Action::Pause,
            Ok(()) => Action::Continue,
            Err(status) => {
                let why = format!("cannot rewrite the request body: {status:?}");
                self.internal_error(self.head, &why)
            }
        }
    }

    /// Refuses a body that holds bytes, none going on, past the time their arrival bought
    /// (`held_body`): the budget's share it holds is freed for other uploads. `released`:
    /// some went on with the last piece.
    fn time_the_hold(&mut self, released: bool) -> Result<(), Rejection> {
        let (held, reserved) = self
            .body
            .as_ref()
            .map_or((0, 0), |body| (body.held(), body.reserved()));
        let (now_ms, grace_ms) = self.now_and_grace()?;
        self.hold
            .observe(held, reserved, released, now_ms, grace_ms)
            .map_err(|overdue| {
                Rejection::from(request_timeout()).with_log_detail(format!(
                    "{} bytes held with none going on, {} ms past the time their arrival bought",
                    overdue.held, overdue.late_ms
                ))
            })?;
        match self.hold.deadline_ms() {
            Some(deadline_ms) => self.answer_silence_at(deadline_ms),
            None => self.forget_silence(),
        }
        Ok(())
    }

    /// Times a head that waits for its body (`Forward::head_waits`) as a hold of nothing: a
    /// client that sends no byte of the body and does not end it within the grace is answered
    /// as a silent hold is, not left to Envoy's idle timeouts, which an operator may turn off
    /// (a sweep held such a head 25 s and counting, 2026-12-06).
    pub(super) fn time_the_waiting_head(&self) -> Result<(), Rejection> {
        let (now_ms, grace_ms) = self.now_and_grace()?;
        self.answer_silence_at(now_ms.saturating_add(grace_ms));
        Ok(())
    }

    /// The time now, and the time a hold starts with (`held_body_timeout_seconds`).
    fn now_and_grace(&self) -> Result<(u64, u64), Rejection> {
        let grace_ms = self.filters.as_ref().map_or(0, |f| f.held_body_grace_ms);
        let now_ms = host::unix_millis()
            .map_err(|status| Rejection::internal(format!("cannot read the clock: {status:?}")))?;
        Ok((now_ms, grace_ms))
    }

    /// Should the client fall silent, the root's tick answers at `deadline_ms`.
    fn answer_silence_at(&self, deadline_ms: u64) {
        if let Some(filters) = &self.filters {
            filters
                .silent_holds
                .track(self.context_id, deadline_ms, || Hold {
                    context_id: self.context_id,
                    deadline_ms,
                    answered: self.answered.clone(),
                    request_id: self.request_id.as_str().map(str::to_owned),
                    line: with_key(&self.request_line, self.access_key_id.as_deref()),
                    granted_ticket: self.granted_ticket,
                    cors: self.error_cors().map_or_else(Vec::new, |cors| {
                        cors.headers(self.cors_origin)
                            .map(|(name, value)| (name.to_owned(), value.to_owned()))
                            .collect()
                    }),
                    holding: match &self.body {
                        _ if self.head_waits => Holding::Head,
                        Some(Body::Form(form)) => {
                            Holding::Form(form.waiting_charge().map(Rc::downgrade))
                        }
                        _ => Holding::Body,
                    },
                    head_request: self.head,
                });
        }
    }

    /// The stream holds nothing the tick need answer.
    pub(super) fn forget_silence(&self) {
        if let Some(filters) = &self.filters {
            filters.silent_holds.forget(self.context_id);
        }
    }

    /// One piece of a signed aws-chunked body: what goes on of it (re-signed in place, a held
    /// chunk completed, the end of the body when it ends).
    fn chunked_step(
        &mut self,
        input: &mut [u8],
        end_of_stream: bool,
    ) -> Result<BodyStep, Rejection> {
        // Counted where the request is (a standalone or edge filter): an origin filter
        // re-signs the chunks the edge verified, again for each attempt.
        let counted_here = !self.is_origin_filter();
        let Some(Body::Chunked(resigner)) = self.body.as_mut() else {
            return Ok(BodyStep::default());
        };
        let chunks_before = resigner.chunks();
        let result = resigner.feed(input).and_then(|release| {
            let last = if end_of_stream {
                resigner.finish()?
            } else {
                Vec::new()
            };
            Ok(BodyStep {
                lead: release.lead,
                prefix: release.prefix,
                range: release.range,
                last,
                wait: false,
            })
        });
        if counted_here {
            self.counters
                .chunks_resigned(resigner.chunks() - chunks_before);
        }
        result.map_err(|e| Rejection::from(e.s3_error()))
    }

    /// One piece of a browser's form. While the form's head is incomplete everything is held
    /// and the request waits; the piece that completes it verifies it, fixes `Content-Length`
    /// and lets the request go.
    fn form_step(&mut self, input: &[u8], end_of_stream: bool) -> Result<BodyStep, Rejection> {
        let Some(Body::Form(form)) = self.body.as_mut() else {
            return Ok(BodyStep::default());
        };
        let Some(filters) = self.filters.clone() else {
            return Err(Rejection::internal("the filter is not configured"));
        };
        let FilterKind::Single(gateway) = &filters.kind else {
            return Err(Rejection::internal(
                "a form reached a filter that is not standalone",
            ));
        };
        let now = host::unix_seconds()
            .map_err(|status| Rejection::internal(format!("cannot read the clock: {status:?}")))?;
        let fed = form.feed(input, gateway.config(), now);
        // Whether its file then fails in this piece or a later one, a form whose head verified
        // authenticated: counted (unless refused) and logged with its kind, as any request
        // refused in its body (the kind was missing when the piece that completed the head
        // also held the failure; a metrics audit, 2026-12-02).
        let verified = form.take_verified();
        let finished = (fed.is_ok() && end_of_stream).then(|| form.finish());
        let wait = form.head_pending() && !end_of_stream;
        if let Some(Verified {
            auth,
            access_key_id: key,
        }) = verified
        {
            let kind = match auth {
                // Forwarded unsigned, as `anonymous: forward` allows: counted as such (a
                // mutation run found the form's own kinds unused, 2026-12-02).
                PostAuth::Anonymous => AuthKind::Anonymous,
                PostAuth::SigV4 | PostAuth::SigV2 => AuthKind::PostPolicy,
            };
            self.uncounted = Some(kind);
            self.access_log().forwarded(kind, key.as_deref());
            self.access_key_id = key;
        }
        let release = fed?;
        let last = finished.transpose()?.unwrap_or_default();
        if let Some(change) = release.length_change.filter(|&change| change != 0) {
            set_content_length(change)?;
        }
        Ok(BodyStep {
            lead: Lead::default(),
            prefix: release.prefix,
            range: release.range,
            last,
            wait,
        })
    }

    /// Lets the head that waited for the body go with it (`Forward::head_waits`): with
    /// `content-length: 0` when the body ended with no byte, so that an HTTP/1 origin gets an
    /// empty body of that length rather than an empty chunked one.
    fn release_head(&mut self, no_byte: bool) -> Result<(), String> {
        self.head_waits = false;
        self.forget_silence();
        if no_byte {
            host::set_request_header("content-length", Some(b"0"))
                .map_err(|status| format!("cannot set the request's length: {status:?}"))?;
        }
        Ok(())
    }

    /// HTTP trailers: refused after any body the filter reads, and any at all on a request
    /// without one. An aws-chunked body ends inside the body; HTTP trailers after it would end
    /// the stream with the final chunk still held here, unverifiable. A form's file is sized
    /// and closed inside the body too.
    pub(super) fn judge_trailers(&mut self, trailers: usize) -> Action {
        if self.head_waits {
            // Trailers end a body that had no byte.
            if let Err(why) = self.release_head(true) {
                return self.internal_error(self.head, &why);
            }
        }
        match &self.body {
            Some(Body::Chunked(_)) => {
                self.refuse_body(Rejection::from(ChunkError::Truncated.s3_error()))
            }
            Some(Body::Form(_)) => self.refuse_body(post_policy::malformed(
                "the form ends in HTTP trailers, not in its closing boundary",
            )),
            // The body's last byte (or all of it) is still held here, its digest unchecked.
            Some(Body::Digest(_) | Body::Empty(_)) => self.refuse_body(trailers_refused()),
            // No signature covers HTTP trailers, and no S3 client sends them; an upstream over
            // HTTP/2 (or HTTP/1 with `enable_trailers`) would carry them to the origin, an
            // unsigned `x-amz-acl` among them (found by an attack run, 2026-12-01).
            None if trailers > 0 => self.refuse_body(trailers_refused()),
            None => Action::Continue,
        }
    }

    /// Stops a body that failed: the client gets the S3 error and the upstream request is
    /// reset (or never started), so the origin never completes the object.
    pub(super) fn refuse_body(&mut self, rejection: Rejection) -> Action {
        self.body = None;
        self.record_memory();
        // A form refused for its policy knows its key only from the rejection (a review found
        // such lines and access logs without it).
        let key = rejection
            .access_key_id
            .as_deref()
            .or(self.access_key_id.as_deref());
        self.access_log().access_key_id(key);
        let line = match self.request_line.as_str() {
            "" => "a request",
            line => line,
        };
        log::info!(
            "rejected {}: {}{}",
            with_key(line, key),
            rejection.error,
            self.request_id.logged()
        );
        self.log_detail(&rejection);
        self.send_error(self.head, &rejection.error)
    }
}

/// One piece of a body checked against its signed digest: object data goes on but for the
/// last byte that arrived, a document not at all, until the end, if the body matches.
fn digest_step(
    check: &mut BodyDigest,
    input: &[u8],
    end_of_stream: bool,
) -> Result<BodyStep, Rejection> {
    let release = check.feed(input).map_err(BodyError::rejection)?;
    let last = if end_of_stream {
        check.finish().map_err(BodyError::rejection)?
    } else {
        Vec::new()
    };
    Ok(BodyStep {
        lead: release.lead.into(),
        prefix: Vec::new(),
        range: release.range,
        last,
        wait: false,
    })
}

fn trailers_refused() -> Rejection {
    Rejection::new(
        S3ErrorCode::InvalidRequest,
        "HTTP trailers are not accepted: no signature covers them.",
    )
}

/// What goes on of one piece of a body: `lead`, `prefix` and `input[range]` in that order
/// in place of the piece, and `last` after them.
#[derive(Default)]
struct BodyStep {
    lead: Lead,
    prefix: Vec<u8>,
    range: std::ops::Range<usize>,
    last: Vec<u8>,
    /// Nothing goes on yet: the piece stays in the VM (Envoy's callback answers `Pause`).
    wait: bool,
}

impl BodyStep {
    /// Whether any of the body goes on.
    fn releases(&self) -> bool {
        !self.lead.is_empty()
            || !self.prefix.is_empty()
            || !self.range.is_empty()
            || !self.last.is_empty()
    }
}

/// The client's `Content-Length`, moved by `delta` (a re-signed form's head is longer or
/// shorter). The headers are still waiting, so the origin gets the right length.
fn set_content_length(delta: i64) -> Result<(), Rejection> {
    let internal = |why: &str| Rejection::internal(why);
    let current = host::request_header("content-length")
        .map_err(|_| internal("cannot read Content-Length"))?;
    let Some(current) = current else {
        // Chunked transfer encoding: nothing to fix.
        return Ok(());
    };
    let length = post_policy::content_length(&current, delta)
        .ok_or_else(|| internal("the form's new Content-Length is out of range"))?;
    host::set_request_header("content-length", Some(length.as_bytes()))
        .map_err(|_| internal("cannot set Content-Length"))
}
