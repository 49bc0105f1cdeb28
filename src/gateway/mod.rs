//! The decision for one request: whether its host is served, which authentication it
//! attempts, whether that verifies, and the rewrite that carries it to the origin, or the S3
//! error that answers it. The schemes (SigV4 header and presigned, SigV2 header and presigned)
//! verify and re-sign in their own modules; this one dispatches, and runs once the checks that
//! hold for every kind of request: the host before verification, unsigned `x-amz-*` headers
//! after it.
//!
//! By role (`config::Role`): a standalone filter verifies and re-signs; an edge filter verifies
//! and hands a `Grant` on instead of re-signing; an origin filter re-signs from a grant
//! (`decide_granted`), checking everything but the signature and its clock, which the edge
//! checked.

use crate::addressing::{OriginTarget, Style, Target};
use crate::auth_kind::AuthKind;
use crate::aws_chunked::Chains;
use crate::aws_chunked::{ChunkedResigner, Trailer};
use crate::body_checks::{
    body_check_for, carries_a_body, decoded_content_length, document_digest, framing_check,
    framing_of, no_chunked_post, refuse_aws_chunked_v2, refuse_unsigned_streaming,
    signed_digest_v2, signed_digest_v4, unexpected_body, Document, MustBeEmpty,
};
use crate::body_digest::{BodyCheck, Expected, Framing};
use crate::config::{Anonymous, Config, OriginSignatureVersion, Role};
use crate::grant::{Grant, Proof};
use crate::memory_budget::MemoryBudget;
use crate::post_policy::{self, PostUpload};
use crate::presigned_cache::{self, Hit, PresignedCache};
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::S3ErrorCode::*;
use crate::sigv2::authorization::{AuthorizationV2, SCHEME as SIGV2_SCHEME};
use crate::sigv2::presigned::PresignedV2;
use crate::sigv4::authorization::{self, AuthorizationV4};
use crate::sigv4::payload::PayloadHash;
use crate::sigv4::presigned::{PresignedParams, PresignedV4};
use crate::sigv4::signature::Signature;
use crate::sigv4::signing::ALGORITHM;
use crate::unsigned_headers::{self, Covered};
use crate::verify::{self, Verified};
use crate::{redact, resign, resign_v2, router_directives, verify_v2};
use screen::{
    an_s3_method, answer_headers_printable, auth_param_spelt_otherwise, each_parameter_once,
    is_preflight, joins_several, no_answer_headers_chosen_unsigned, no_auth_param_spelt_otherwise,
    no_form_in_a_signed_post, no_origin_own_bucket, no_other_service, no_session_token,
    not_in_early_data, one_reading_of_the_copy_source, only_s3s_head,
    plain_upload_part_and_version, plain_uri,
};
use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;

mod screen;

const ECDSA_ALGORITHM: &[u8] = b"AWS4-ECDSA-P256-SHA256";

// A forward is nearly every request's decision: boxed, it would cost each an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Decision<'c> {
    Forward(Forward<'c>),
    Reject(Rejection),
}

/// The rewrite that turns the public request into the origin's.
pub struct Forward<'c> {
    pub kind: AuthKind,
    /// The new `:authority` (none from an edge filter: the origin filters set it).
    pub authority: Option<Cow<'c, str>>,
    /// The new `:path` (path and query), when it changes.
    pub path: Option<Vec<u8>>,
    /// Headers to set, replacing any of the same name: the new `Authorization`, and what a
    /// SigV2 request upgraded to SigV4 needs besides.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    /// For a signed aws-chunked body: what verifies and re-signs it as it streams.
    pub body: Option<Box<ChunkedResigner>>,
    /// For a browser upload: the form, verified and re-signed as it streams. The request
    /// headers wait until its head is verified (its `Content-Length` may change).
    pub form: Option<Box<PostUpload>>,
    /// For a body bound by a signed digest the origin might act before checking (a
    /// `Content-MD5` with an unsigned payload hash; a SHA-256 payload hash on a document):
    /// what it must hash to and how much of it waits, checked as it streams
    /// (`body_digest::BodyDigest`). Not for an aws-chunked body or a form.
    pub body_check: Option<BodyCheck>,
    /// For a body that must be empty although its head says nothing of it: why, its first byte
    /// refused before anything goes on (the head waits, here or at the edge filter that
    /// granted it). A signed `POST` typed as a form (`screen::no_form_in_a_signed_post`); a
    /// document S3 requires a digest of only when there is one, which comes without
    /// (`body_checks::Document::MustBeEmpty`).
    pub must_be_empty: Option<MustBeEmpty>,
    /// The request headers wait for the body's first byte or its end: the head says nothing of
    /// it (`Request::says_nothing_of_its_body`) and may wait (`Gateway::head_may_wait`: not a
    /// client's awaiting `100 Continue`; a form's head waits for its own), timed as a hold
    /// (`held_body_timeout_seconds`). Should the body end with none, `content-length: 0` goes
    /// with the head: Envoy would frame an empty chunked body for an HTTP/1 origin, which
    /// s3s-fs and Ceph answer 411.
    pub head_waits: bool,
    /// The client's access key id, for log lines.
    pub access_key_id: Option<&'c str>,
    /// From an edge filter: the verified request, for the origin filters (`Grant::encode`).
    pub grant: Option<Vec<u8>>,
    /// Headers to remove: the directives to Envoy's router the client sent
    /// (`router_directives`).
    pub remove: Vec<&'static str>,
}

impl<'c> Forward<'c> {
    /// A forward of `kind` to `authority` that changes nothing else.
    fn to(kind: AuthKind, authority: Option<Cow<'c, str>>) -> Self {
        Forward {
            kind,
            authority,
            path: None,
            headers: Vec::new(),
            body: None,
            form: None,
            body_check: None,
            must_be_empty: None,
            head_waits: false,
            access_key_id: None,
            grant: None,
            remove: Vec::new(),
        }
    }

    /// The value this forward sets for `name`, if it sets one.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }
}

impl fmt::Debug for Forward<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Forward")
            .field("kind", &self.kind)
            .field("authority", &self.authority)
            .field(
                "path",
                &self.path.as_deref().map(|p| {
                    let query = p.iter().position(|&b| b == b'?').unwrap_or(p.len());
                    String::from_utf8_lossy(&p[..query]).into_owned()
                }),
            )
            .field("headers", &headers)
            .field("body", &self.body.as_ref().map(|_| "aws-chunked"))
            .field("form", &self.form.as_ref().map(|_| "multipart/form-data"))
            .field("body_check", &self.body_check)
            .field("access_key_id", &self.access_key_id)
            .field("grant", &self.grant.as_ref().map(Vec::len))
            .field("remove", &self.remove)
            .finish()
    }
}

pub struct Gateway {
    config: Config,
    /// What bodies this VM holds (incomplete chunks, documents, form heads) may take
    /// (`chunk_memory_budget_bytes`, named when chunks were all it held); shared by every
    /// stream of this VM.
    body_memory: Rc<MemoryBudget>,
    /// Presigned requests this VM verified, for their repeats.
    presigned: PresignedCache,
}

/// A request's place, as the client addressed it and as the origin will get it.
struct Route<'r, 'c> {
    target: Target<'r>,
    origin: OriginTarget<'r, 'c>,
}

impl<'r, 'c> Route<'r, 'c> {
    /// A forward of `kind` to the origin's authority that changes nothing else.
    #[inline(always)]
    fn forward(&self, kind: AuthKind) -> Forward<'c> {
        Forward::to(kind, Some(self.origin.authority.clone()))
    }

    /// The origin's `:path` when it differs from the client's.
    fn restyled_path(&self, req: &Request<'_>) -> Option<Vec<u8>> {
        self.origin.restyled.then(|| {
            let mut path = self.origin.raw_path.to_vec();
            if req.has_query() {
                path.push(b'?');
                path.extend_from_slice(req.raw_query());
            }
            path
        })
    }
}

impl Gateway {
    pub fn new(config: Config) -> Self {
        let budget = memory_budget(&[&config], None);
        Self::with_budget(config, budget)
    }

    /// A gateway whose held bodies draw on `budget`, shared with others of the same VM.
    pub fn with_budget(config: Config, budget: Rc<MemoryBudget>) -> Self {
        Gateway {
            presigned: PresignedCache::new(config.presigned_cache_entries),
            config,
            body_memory: budget,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Repeated presigned requests served from the cache, and those verified from scratch.
    pub fn presigned_cache_stats(&self) -> (u64, u64) {
        self.presigned.stats()
    }

    /// Bytes of bodies this VM holds now, across all streams.
    pub fn body_memory_used(&self) -> usize {
        self.body_memory.used()
    }

    /// Decides one request, as a standalone or edge filter. `now` is the current Unix time in
    /// seconds.
    pub fn decide(&self, req: &Request<'_>, now: u64) -> Decision<'_> {
        if self.config.role == Role::Origin {
            return Decision::Reject(verify::no_client_secret());
        }
        match self.forward(req, now, Proof::Signature) {
            Ok(forward) => Decision::Forward(forward),
            Err(rejection) => Decision::Reject(rejection),
        }
    }

    /// Decides a request an edge filter verified, as an origin filter: the same checks at the
    /// time of verification, the signature taken as checked, the rewrite for this origin.
    /// `req` is the grant's request (`Grant::request`) as this stream carries it: whether it
    /// ends with its head is the stream's to tell, which the grant does not (RT120).
    pub fn decide_granted<'c>(&'c self, grant: &Grant, req: &Request<'_>) -> Decision<'c> {
        match self.forward(req, grant.now, Proof::Granted(grant)) {
            Ok(forward) => Decision::Forward(forward),
            Err(rejection) => Decision::Reject(rejection),
        }
    }

    /// Whether the request's head may wait in the filter for a body it says nothing of
    /// (`Request::says_nothing_of_its_body`): Envoy lets it stop on headers
    /// (`allow_on_headers_stop_iteration`), and the client does not wait for a `100 Continue`
    /// before it sends the body (Envoy passes `Expect` on only with `proxy_100_continue`, for
    /// the origin to answer: a review saw uploads stall until the client's own timeout,
    /// 2026-12-06).
    fn head_may_wait(&self, req: &Request<'_>) -> bool {
        self.config.allow_on_headers_stop_iteration
            && req.says_nothing_of_its_body()
            && !req.expects_continue()
    }

    /// Whether this filter writes the origin's signature (an edge filter does not).
    fn signs(&self) -> bool {
        self.config.role != Role::Edge
    }

    fn forward<'c>(
        &'c self,
        req: &Request<'_>,
        now: u64,
        proof: Proof<'_>,
    ) -> Result<Forward<'c>, Rejection> {
        an_s3_method(req)?;
        not_in_early_data(req)?;
        let route = match self.route(req) {
            Ok(route) => route,
            // The edge served this host and bucket: this filter's `public_domains` differ.
            Err(_) if proof != Proof::Signature => return Err(host_read_otherwise()),
            Err(rejection) => return Err(rejection),
        };
        if let Proof::Granted(grant) = proof {
            if !grant.read_as(route.target.style) {
                return Err(host_read_otherwise());
            }
        }
        let (mut forward, covered) = self.authenticate(req, &route, now, proof)?;
        let head_may_wait = self.head_may_wait(req);
        let checks = Checks {
            reserved: &self.config.reserved_buckets,
            // An edge filter held the head of what it granted until the body was judged.
            // (`head_may_wait` already asked whether the head says nothing of its body.)
            judged_as_it_comes: head_may_wait
                || (matches!(proof, Proof::Granted(_)) && req.says_nothing_of_its_body()),
        };
        authenticated_checks(req, &route.target, &mut forward, &covered, &checks)
            .map_err(|r| r.for_key_of(forward.access_key_id))?;
        // A form's head waits for the form's own head (`PostUpload`).
        forward.head_waits = head_may_wait && forward.form.is_none();
        // Removed from what goes on; one the client signed would then fail at the origin.
        forward.remove = router_directives::present(req.headers.iter().map(|h| h.0));
        if let Some(signed) = forward
            .remove
            .iter()
            .find(|name| covered.lists(name.as_bytes()))
        {
            return Err(router_directives::signed(signed).for_key_of(forward.access_key_id));
        }
        if !self.signs() {
            forward.authority = None;
            forward.path = None;
            forward.headers.clear();
            let max_chunk = self.config.max_chunk_size_bytes;
            forward.grant = Some(Grant::of(req, now, route.target.style, max_chunk).encode());
        }
        Ok(forward)
    }

    /// The host must be one this proxy serves; the bucket it names (or the path names) is
    /// where the origin's request goes too.
    fn route<'r>(&self, req: &Request<'r>) -> Result<Route<'r, '_>, Rejection> {
        let style: Style<'r> = self
            .config
            .public_domains
            .style(req.authority)
            .ok_or_else(|| self.host_not_served(req.authority))?;
        let target = Target::parse(style, req.raw_path()).map_err(|bad| {
            Rejection::new(
                InvalidBucketName,
                format!("The specified bucket is not valid: '{}'.", bad.0),
            )
        })?;
        no_origin_own_bucket(&target, &self.config.reserved_buckets)?;
        if target.key_starts_with_a_slash() {
            return Err(Rejection::new(
                InvalidArgument,
                "Object keys that begin with '/' are not accepted: origins read them differently.",
            ));
        }
        let origin = target.at_origin(
            req.raw_path(),
            &self.config.origin_authority,
            self.config.origin_addressing,
        );
        Ok(Route { target, origin })
    }

    /// Quotes no host, the one refused going to the log only: an upstream filter sees a
    /// retry with the head it rewrote, and the origin's address is not the client's to learn,
    /// not even by an answer that differs when a guess names it (RT60, 2026-12-05).
    #[cold]
    fn host_not_served(&self, authority: &[u8]) -> Rejection {
        Rejection::new(
            InvalidRequest,
            "This endpoint does not serve the host the request names.",
        )
        .with_log_detail(format!(
            "host not served: '{}'",
            redact::printable(&String::from_utf8_lossy(authority), 256)
        ))
    }

    fn authenticate<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        now: u64,
        proof: Proof<'_>,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        let mut authorization = req.values("authorization");
        let header = authorization.next();
        if authorization.next().is_some() || header.is_some_and(joins_several) {
            return Err(Rejection::new(
                InvalidArgument,
                "Only one Authorization header may be sent.",
            ));
        }
        if header.is_none() && is_preflight(req) {
            // Unsigned by nature, even for a presigned URL (the browser asks before it sends
            // the signed request): the origin answers it from the bucket's CORS rules. It goes
            // with no query (nothing but the path matters to CORS, and no signature of the
            // client's should reach the origin) and no `x-amz-*` header.
            let forward = Forward {
                path: Some(route.origin.raw_path.to_vec()),
                ..route.forward(AuthKind::Preflight)
            };
            return Ok((forward, Covered::Listed(String::new())));
        }
        let cache_key = self.presigned_cache_key(req, header, proof);
        if let Some(key) = &cache_key {
            let request = presigned_cache::Lookup {
                method: req.method,
                authority: req.authority,
                path: req.path(),
                headers: &req.headers,
                now: now as i64,
            };
            if let Some(hit) = self.presigned.get(key, &request) {
                return self.repeated_presigned(route, hit);
            }
        }
        let v4_query = PresignedParams::of(req.params().iter().copied());
        let v2_query = v4_query.sigv2;
        let mechanisms =
            u8::from(header.is_some()) + u8::from(v4_query.present()) + u8::from(v2_query);
        if mechanisms > 0 {
            no_other_service(req, &route.target, &self.config.unsupported_operations)?;
            if let Some(name) = v4_query.spelt_otherwise {
                return Err(auth_param_spelt_otherwise(name));
            }
        }
        if mechanisms > 1 {
            return Err(Rejection::new(
                InvalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
            ));
        }
        if let Some(value) = header {
            return self.header_auth(req, route, value, now, proof);
        }
        if v4_query.present() {
            return self.presigned_v4(req, route, &v4_query, now, proof, cache_key);
        }
        if v2_query {
            return self.presigned_v2(req, route, now, proof);
        }
        no_auth_param_spelt_otherwise(req)?;
        if let Some(boundary) = post_policy::recognise(req, &route.target)? {
            return self.browser_upload(req, route, boundary);
        }
        self.anonymous(req, route)
    }

    /// A request that carries no authentication, as `anonymous` says: forwarded unsigned
    /// (after the screens an anonymous request gets) or refused.
    fn anonymous<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        if self.config.anonymous == Anonymous::Reject {
            return Err(Rejection::new(
                AccessDenied,
                "Anonymous requests are not allowed; sign the request with AWS Signature Version 4.",
            ));
        }
        no_other_service(req, &route.target, &self.config.unsupported_operations)?;
        no_answer_headers_chosen_unsigned(req)?;
        let forward = Forward {
            path: route.restyled_path(req),
            ..route.forward(AuthKind::Anonymous)
        };
        Ok((forward, Covered::Nothing))
    }

    /// A POST Object form: its authentication is in the body, verified as it streams.
    fn browser_upload<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        boundary: post_policy::Boundary,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        if self.config.role != Role::Standalone {
            return Err(Rejection::new(
                NotImplemented,
                "Browser uploads (POST Object) are served by a standalone filter, not across edge and origin filters.",
            ));
        }
        // Refused before it asks for room to wait: it would take another's waiting form back
        // for nothing.
        if req.ends_with_head() {
            return Err(post_policy::no_body());
        }
        let bucket = route.target.bucket.as_deref().unwrap_or_default();
        let mut upload = PostUpload::new(
            boundary,
            bucket,
            post_policy::DEFAULT_MAX_HEAD_BYTES,
            self.body_memory.clone(),
        );
        upload.wait_with_headers(req)?;
        let forward = Forward {
            path: route.restyled_path(req),
            form: Some(Box::new(upload)),
            ..route.forward(AuthKind::PostPolicy)
        };
        Ok((forward, post_policy::covered_headers()))
    }

    fn header_auth<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        value: &[u8],
        now: u64,
        proof: Proof<'_>,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        match authorization::scheme(value) {
            scheme if scheme == ALGORITHM.as_bytes() => {
                self.header_v4(req, route, value, now, proof)
            }
            SIGV2_SCHEME => self.header_v2(req, route, value, now, proof),
            ECDSA_ALGORITHM => Err(sigv4a_unsupported()),
            _ => Err(Rejection::new(
                InvalidArgument,
                "Unsupported Authorization Type",
            )),
        }
    }

    fn header_v4<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        value: &[u8],
        now: u64,
        proof: Proof<'_>,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        let value = std::str::from_utf8(value).map_err(|_| header_malformed("it is not UTF-8"))?;
        let auth = AuthorizationV4::parse(value).map_err(header_malformed)?;
        let key = auth.credential.access_key_id;
        let mut verified = verify::header_auth(&self.config, req, &auth, now, proof)
            .map_err(|r| r.for_key(key))?;
        let covered = Covered::Listed(verified.canonical.signed_headers().to_owned());
        let resigned = self
            .signs()
            .then(|| resign::header_auth(&self.config, &mut verified, &route.origin));
        let origin_seed = resigned.as_ref().map(|r| &r.signature);
        let body = self
            .chunked_body(req, &verified, &auth, origin_seed, proof)
            .map_err(|r| r.for_key(key))?;
        let kind = if body.is_some() {
            AuthKind::ChunkedV4
        } else {
            AuthKind::HeaderV4
        };
        let framing = framing_of(req).map_err(|r| r.for_key(key))?;
        let body_check = body_check_for(req, &route.target, framing, || match verified.payload {
            // The SDKs' uploads over HTTPS: s3s-fs stores the object before it compares a
            // digest, Garage compares the unsigned trailer's CRC instead of a signed checksum
            // (a review, 2026-12-01); the digest is over the decoded data.
            PayloadHash::Unsigned | PayloadHash::StreamingUnsignedTrailer => {
                signed_digest_v4(&verified, req, &route.target)
            }
            // Not every origin checks it (SeaweedFS does not), and some act on a document
            // before they do (see `body_digest`).
            PayloadHash::Sha256(hex) => Ok(Expected::sha256_hex(hex)),
            // Signed chunks are checked here as they stream.
            _ => Ok(None),
        })
        .map_err(|r| r.for_key(key))?;
        let forward = Forward {
            path: route.restyled_path(req),
            headers: resigned
                .map(|r| vec![("authorization", r.authorization.into_bytes())])
                .unwrap_or_default(),
            body,
            body_check,
            access_key_id: Some(&verified.pair.client.access_key_id),
            ..route.forward(kind)
        };
        Ok((forward, covered))
    }

    /// For `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, the re-signer of the body.
    fn chunked_body(
        &self,
        req: &Request<'_>,
        verified: &Verified<'_, '_>,
        auth: &AuthorizationV4<'_>,
        origin_seed: Option<&Signature>,
        proof: Proof<'_>,
    ) -> Result<Option<Box<ChunkedResigner>>, Rejection> {
        let trailer = match verified.payload {
            PayloadHash::StreamingSigned => Trailer::None,
            PayloadHash::StreamingSignedTrailer => Trailer::Signed,
            _ => return Ok(None),
        };
        // The filter refuses any other body on these methods at the head or its first byte; a
        // signed one would be re-signed and let through (a review found it, 2026-12-01).
        if !carries_a_body(req.method) {
            return Err(unexpected_body());
        }
        let decoded_length = decoded_content_length(req)?;
        let chains = match resign::chunk_chains(
            verified,
            &auth.signature,
            origin_seed.map(|seed| (&self.config, seed)),
        ) {
            (Some(client), Some(origin)) => Chains::VerifyAndSign { client, origin },
            (Some(client), None) => Chains::Verify { client },
            (None, Some(origin)) => Chains::Sign { origin },
            // Neither the secret to verify nor a signature to write: nothing may pass.
            (None, None) => return Err(verify::no_client_secret()),
        };
        // An origin filter meets only chunks the edge let through, by the edge's limit.
        let max_chunk_size_bytes = match proof {
            Proof::Signature => self.config.max_chunk_size_bytes,
            Proof::Granted(grant) => grant.max_chunk_size_bytes,
        };
        let mut resigner = ChunkedResigner::new(
            chains,
            trailer,
            max_chunk_size_bytes,
            decoded_length,
            self.body_memory.clone(),
        )
        .for_key(&verified.pair.client.access_key_id);
        if trailer == Trailer::Signed {
            let announced = req
                .single("x-amz-trailer")
                .map_err(|_| Rejection::new(InvalidArgument, "x-amz-trailer is repeated"))?;
            resigner = resigner.announcing(announced.unwrap_or_default());
        }
        Ok(Some(Box::new(resigner)))
    }

    fn presigned_v4<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        params: &PresignedParams,
        now: u64,
        proof: Proof<'_>,
        cache_key: Option<presigned_cache::Key>,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        presigned_algorithm(params)?;
        let url = params
            .parse()
            .map_err(|e| Rejection::new(AuthorizationQueryParametersError, e.to_string()))?;
        let key = url.credential.access_key_id;
        let mut verified =
            verify::presigned(&self.config, req, &url, now, proof).map_err(|r| r.for_key(key))?;
        let covered = Covered::Listed(verified.canonical.signed_headers().to_owned());
        // Before the cache takes the URL: a repeat is forwarded with the same check.
        let body_check = body_check_for(req, &route.target, Framing::Plain, || {
            signed_digest_v4(&verified, req, &route.target)
        })
        .map_err(|r| r.for_key(key))?;
        let path = self
            .signs()
            .then(|| resign::presigned(&self.config, &mut verified, &route.origin, req));
        // Not a URL whose signed `Transfer-Encoding` Envoy consumed: whether a repeat has a body
        // (`verify::framed_body_follows`) is not in the key.
        if let Some(key) = cache_key.filter(|_| !verified.canonical.framing_consumed()) {
            self.remember_presigned(key, req, &url, &verified, path.as_deref(), body_check);
        }
        let forward = Forward {
            path,
            body_check,
            access_key_id: Some(&verified.pair.client.access_key_id),
            ..route.forward(AuthKind::PresignedV4)
        };
        Ok((forward, covered))
    }

    /// Offers a verified presigned URL to the cache, valid from its date (less the skew
    /// allowed) to its expiry, with everything a repeat must match.
    fn remember_presigned(
        &self,
        key: presigned_cache::Key,
        req: &Request<'_>,
        url: &PresignedV4<'_>,
        verified: &Verified<'_, '_>,
        path: Option<&[u8]>,
        body_check: Option<BodyCheck>,
    ) {
        let signed_at = url.date.unix_seconds();
        let skew = i64::try_from(self.config.max_clock_skew_seconds).unwrap_or(i64::MAX);
        let credential = self
            .config
            .credentials
            .iter()
            .position(|pair| std::ptr::eq(pair, verified.pair));
        if let Some(credential) = credential {
            let entry = || presigned_cache::Entry {
                texts: presigned_cache::Texts::new(
                    (req.method, req.authority, req.path()),
                    verified.canonical.signed_headers(),
                    path,
                ),
                valid: signed_at.saturating_sub(skew)..signed_at + i64::from(url.expires),
                signed: verified
                    .canonical
                    .headers()
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), value.to_vec()))
                    .collect(),
                credential,
                body_check,
            };
            self.presigned.offer(key, entry);
        }
    }

    /// The cache key of a request that may repeat a verified presigned URL: one verified by
    /// this filter (not granted), with a SigV4 signature in its query and no other.
    fn presigned_cache_key(
        &self,
        req: &Request<'_>,
        authorization: Option<&[u8]>,
        proof: Proof<'_>,
    ) -> Option<presigned_cache::Key> {
        let candidate =
            self.presigned.enabled() && proof == Proof::Signature && authorization.is_none();
        candidate
            .then(|| presigned_cache::Key::of(req.raw_query()))
            .flatten()
    }

    /// A request that repeats, byte for byte in everything signed, a presigned URL this filter
    /// verified and that has not expired: forwarded with the rewrite computed then.
    fn repeated_presigned<'c>(
        &'c self,
        route: &Route<'_, 'c>,
        hit: Hit,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        let pair = self
            .config
            .credentials
            .get(hit.credential)
            .ok_or_else(verify::no_client_secret)?;
        let forward = Forward {
            path: hit.path,
            body_check: hit.body_check,
            access_key_id: Some(&pair.client.access_key_id),
            ..route.forward(AuthKind::PresignedV4)
        };
        Ok((forward, Covered::Listed(hit.signed_list)))
    }

    fn header_v2<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        value: &[u8],
        now: u64,
        proof: Proof<'_>,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        let auth = AuthorizationV2::parse(value).map_err(header_malformed)?;
        let key = auth.access_key_id;
        let verified = verify_v2::header_auth(&self.config, req, &route.target, &auth, now, proof)
            .map_err(|r| r.for_key(key))?;
        self.forward_v2(req, route, verified, AuthKind::HeaderV2, now)
    }

    fn presigned_v2<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        now: u64,
        proof: Proof<'_>,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        let url = PresignedV2::parse(req.raw_query())
            .map_err(|e| Rejection::new(AccessDenied, e.to_string()))?;
        let verified = verify_v2::presigned(&self.config, req, &route.target, &url, now, proof)
            .map_err(|r| r.for_key(&url.access_key_id))?;
        self.forward_v2(req, route, verified, AuthKind::PresignedV2, now)
    }

    fn forward_v2<'c>(
        &'c self,
        req: &Request<'_>,
        route: &Route<'_, 'c>,
        verified: verify_v2::VerifiedV2<'_, 'c>,
        kind: AuthKind,
        now: u64,
    ) -> Result<(Forward<'c>, Covered), Rejection> {
        refuse_aws_chunked_v2(req).map_err(|r| r.for_key(&verified.pair.client.access_key_id))?;
        // SigV2 has no payload hash of its own: what binds the body is a digest among what it
        // signs.
        let body_check = body_check_for(req, &route.target, Framing::Plain, || {
            signed_digest_v2(req, &route.target, verified.content_md5)
        })
        .map_err(|r| r.for_key(&verified.pair.client.access_key_id))?;
        let rewrite = match self.config.origin_signature_version {
            _ if !self.signs() => resign_v2::Rewrite::default(),
            OriginSignatureVersion::Same => {
                resign_v2::same(req, &verified, &route.target, &route.origin, now)
            }
            OriginSignatureVersion::V4 => {
                resign_v2::to_v4(&self.config, req, &verified, &route.origin, now).map_err(
                    |_| {
                        Rejection::new(
                            InvalidArgument,
                            "The request carries a header that Signature Version 4 cannot sign.",
                        )
                    },
                )?
            }
        };
        let forward = Forward {
            path: rewrite.path,
            headers: rewrite.headers,
            body_check,
            access_key_id: Some(&verified.pair.client.access_key_id),
            ..route.forward(kind)
        };
        Ok((forward, Covered::AllAmz))
    }
}

fn sigv4a_unsupported() -> Rejection {
    Rejection::new(
        NotImplemented,
        "Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported.",
    )
}

fn header_malformed(why: impl fmt::Display) -> Rejection {
    Rejection::new(
        AuthorizationHeaderMalformed,
        format!("The authorization header is malformed; {why}"),
    )
}

/// A presigned URL's `X-Amz-Algorithm`: SigV4's, or refused as S3 refuses each other value.
fn presigned_algorithm(params: &PresignedParams) -> Result<(), Rejection> {
    match params.algorithm.as_deref() {
        Some(algorithm) if algorithm == ALGORITHM.as_bytes() => Ok(()),
        Some(ECDSA_ALGORITHM) => Err(sigv4a_unsupported()),
        Some(_) => Err(Rejection::new(
            AuthorizationQueryParametersError,
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        )),
        None => Err(Rejection::new(
            AuthorizationQueryParametersError,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )),
    }
}

/// An origin filter found the host naming another bucket (or none) than the edge filter found:
/// their `public_domains` differ, and which reading the client signed, nothing says.
fn host_read_otherwise() -> Rejection {
    Rejection::internal(
        "the edge filter read the host's bucket otherwise: give the edge and origin filters the same public_domains",
    )
}

/// The memory budget for held bodies that the gateways of one filter share: the largest they
/// configure, of which one access key may hold half when there are several keys to share it.
pub fn memory_budget(configs: &[&Config], lineage: Option<&str>) -> Rc<MemoryBudget> {
    let limit = configs
        .iter()
        .map(|c| c.chunk_memory_budget_bytes)
        .max()
        .map_or(0, |bytes| usize::try_from(bytes).unwrap_or(usize::MAX));
    let keys = configs
        .iter()
        .map(|c| c.credentials.len())
        .max()
        .unwrap_or(0);
    let per_key = if keys > 1 { limit / 2 } else { limit };
    // Form fields held before their signature is checked: an eighth, or room for two forms'
    // fields at their longest if more, so that idle, unsigned forms cannot starve signed
    // uploads.
    let unverified = (limit / 8).max(limit.min(2 * post_policy::DEFAULT_MAX_HEAD_BYTES));
    MemoryBudget::named(limit, per_key, unverified, lineage)
}

/// What `authenticated_checks` goes by besides the request.
struct Checks<'a> {
    /// The bucket names origins keep for themselves (`Config::reserved_buckets`).
    reserved: &'a [String],
    /// The head says nothing of its body and waits for it (here, or at the edge filter that
    /// granted it): a body that must be empty is judged as it comes, not refused with the head.
    judged_as_it_comes: bool,
}

/// What every request is asked once authenticated, and the check its body gets where S3
/// requires a digest the signature does not cover (`document_digest`): after authentication,
/// so that a repeat of a cached presigned URL is asked too, with its own `Content-MD5`.
fn authenticated_checks(
    req: &Request<'_>,
    target: &Target<'_>,
    forward: &mut Forward<'_>,
    covered: &Covered,
    checks: &Checks<'_>,
) -> Result<(), Rejection> {
    plain_uri(req)?;
    each_parameter_once(req)?;
    answer_headers_printable(req)?;
    only_s3s_head(req, target)?;
    plain_upload_part_and_version(req)?;
    one_reading_of_the_copy_source(req, checks.reserved)?;
    no_chunked_post(req)?;
    if forward.kind.signed_in_head() {
        forward.must_be_empty = no_form_in_a_signed_post(req, checks.judged_as_it_comes)?;
    }
    // A signed chunk chain binds its body as a signed digest does.
    if forward.kind.signed_in_head()
        && forward.kind != AuthKind::ChunkedV4
        && forward.body_check.is_none()
    {
        match document_digest(req, checks.judged_as_it_comes)? {
            Some(Document::Check(check)) => forward.body_check = Some(check),
            // A form-typed `POST ?metadataTable` keeps the form's refusal: the first found.
            Some(Document::MustBeEmpty) => {
                forward
                    .must_be_empty
                    .get_or_insert(MustBeEmpty::DocumentWithoutDigest);
            }
            None => {}
        }
    }
    if forward.kind == AuthKind::PresignedV4 && forward.body_check.is_some() {
        refuse_unsigned_streaming(req)?;
    }
    // The framing alone, last: it binds nothing, and stood for a digest once (red team 23).
    if forward.body_check.is_none() && forward.body.is_none() && forward.form.is_none() {
        forward.body_check = framing_check(req, target)?;
    }
    unsigned_headers::check(req, covered)?;
    no_session_token(req)
}

#[cfg(test)]
mod tests {
    use super::{joins_several, memory_budget};
    use crate::config::Config;
    use crate::memory_budget::{Reservation, UNVERIFIED};

    #[test]
    fn idle_unsigned_forms_cannot_take_what_signed_uploads_need() {
        let json = r#"{"public_domains":["p"],"origin_authority":"o","credentials":[
            {"access_key_id":"A","secret_access_key":"a"},{"access_key_id":"B","secret_access_key":"b"}]}"#;
        let config = Config::parse(json.as_bytes(), &|_| None).unwrap();
        let budget = memory_budget(&[&config], None);
        let limit = budget.limit();
        let mut forms = Vec::new();
        loop {
            let mut form = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
            if !form.resize(32 * 1024) {
                break;
            }
            forms.push(form);
        }
        assert_eq!(forms.len() * 32 * 1024, limit / 8);
        let mut signed = Reservation::new(budget.clone()).owned_by("A");
        assert!(signed.resize(limit / 2));
        // With two keys, one takes half: the rest is the other's.
        let mut more = Reservation::new(budget.clone()).owned_by("A");
        assert!(!more.resize(1));
        let mut other = Reservation::new(budget.clone()).owned_by("B");
        assert!(other.resize(limit / 2 - limit / 8));
    }

    /// One key may take the whole budget; the unverified forms of a small budget still get
    /// room for two forms' fields (cargo-mutants: only two keys and the default 64 MiB, where an
    /// eighth is the larger, were tested).
    #[test]
    fn one_key_takes_the_whole_budget_and_small_budgets_room_for_two_forms() {
        let config = |budget: usize| {
            let json = format!(
                r#"{{"public_domains":["p"],"origin_authority":"o","max_chunk_size_bytes":8192,
                "chunk_memory_budget_bytes":{budget},
                "credentials":[{{"access_key_id":"A","secret_access_key":"a"}}]}}"#
            );
            Config::parse(json.as_bytes(), &|_| None).unwrap()
        };
        let budget = memory_budget(&[&config(1 << 20)], None);
        let mut all = Reservation::new(budget.clone()).owned_by("A");
        assert!(all.resize(budget.limit()));
        drop(all);
        // 512 KiB: an eighth is 64 KiB, one form's fields at their longest; two fit.
        let budget = memory_budget(&[&config(512 << 10)], None);
        let mut forms = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(forms.resize(2 * crate::post_policy::DEFAULT_MAX_HEAD_BYTES));
        assert!(!forms.resize(2 * crate::post_policy::DEFAULT_MAX_HEAD_BYTES + 1));
    }

    #[test]
    fn a_second_scheme_after_a_comma_is_a_second_header() {
        let v4 = "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range, Signature=00";
        assert!(!joins_several(v4.as_bytes()));
        assert!(!joins_several(b"AWS AK:c2ln"));
        assert!(!joins_several(b""));
        for second in [
            "AWS4-HMAC-SHA256 Credential=x",
            "AWS AK:c2ln",
            "AWS4-ECDSA-P256-SHA256 x",
        ] {
            assert!(
                joins_several(format!("{v4},{second}").as_bytes()),
                "{second}"
            );
            assert!(
                joins_several(format!("{v4},  {second}").as_bytes()),
                "{second}"
            );
        }
        // A scheme's name without its space is not one.
        assert!(!joins_several(format!("{v4}, AWS4-HMAC-SHA256").as_bytes()));
        assert!(!joins_several(format!("{v4}, AWSx").as_bytes()));
        // Wherever the commas fall in the blocks the scan takes, and however many share one.
        for pad in 0..40 {
            let lead = "x".repeat(pad);
            assert!(
                joins_several(format!("{lead},a,, AWS AK:c2ln").as_bytes()),
                "{pad}"
            );
            assert!(
                joins_several(format!("{lead},AWS AK:c2ln").as_bytes()),
                "{pad}"
            );
            assert!(
                !joins_several(format!("{lead},a,,AWS4x, AWS").as_bytes()),
                "{pad}"
            );
        }
    }
}
