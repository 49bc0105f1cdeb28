//! The decision for one request: whether its host is served, which authentication it
//! attempts, whether that verifies, and the rewrite that carries it to the origin, or the S3
//! error that answers it. Checks that hold for every kind of request run here, once: the
//! host before verification, unsigned `x-amz-*` headers after it.

use crate::addressing::Style;
use crate::auth_kind::AuthKind;
use crate::aws_chunked::{ChunkedResigner, Trailer};
use crate::config::{Anonymous, Config};
use crate::memory_budget::MemoryBudget;
use crate::rejection::Rejection;
use crate::request::Request;
use crate::resign;
use crate::s3_error::S3ErrorCode::*;
use crate::sigv4::authorization::{self, AuthorizationV4};
use crate::sigv4::payload::PayloadHash;
use crate::sigv4::presigned::PresignedParams;
use crate::sigv4::signature::Signature;
use crate::sigv4::signing::ALGORITHM;
use crate::unsigned_headers::{self, Covered};
use crate::verify::{self, Verified};
use std::fmt;
use std::rc::Rc;

const ECDSA_ALGORITHM: &[u8] = b"AWS4-ECDSA-P256-SHA256";
const SIGV2_UNSUPPORTED: &str = "Signature Version 2 is not supported; sign with Signature Version 4 (AWS4-HMAC-SHA256). boto3 presigns with SigV2 unless its client has Config(signature_version='s3v4').";

#[derive(Debug)]
pub enum Decision<'c> {
    Forward(Forward<'c>),
    Reject(Rejection),
}

/// The rewrite that turns the public request into the origin's.
pub struct Forward<'c> {
    pub kind: AuthKind,
    /// The new `:authority`.
    pub authority: &'c str,
    /// The new `:path`, when the query carries the signature.
    pub path: Option<Vec<u8>>,
    /// The new `Authorization` header.
    pub authorization: Option<String>,
    /// For a signed aws-chunked body: what verifies and re-signs it as it streams.
    pub body: Option<Box<ChunkedResigner>>,
    /// The client's access key id, for log lines.
    pub access_key_id: Option<&'c str>,
}

impl fmt::Debug for Forward<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forward")
            .field("kind", &self.kind)
            .field("authority", &self.authority)
            .field("path", &self.path.as_deref().map(String::from_utf8_lossy))
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "*****"),
            )
            .field("body", &self.body.as_ref().map(|_| "aws-chunked"))
            .field("access_key_id", &self.access_key_id)
            .finish()
    }
}

pub struct Gateway {
    config: Config,
    /// Shared by every stream of this VM.
    chunk_memory: Rc<MemoryBudget>,
}

impl Gateway {
    pub fn new(config: Config) -> Self {
        let budget = usize::try_from(config.chunk_memory_budget_bytes).unwrap_or(usize::MAX);
        Gateway {
            config,
            chunk_memory: MemoryBudget::new(budget),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes of incomplete chunks this VM holds now, across all streams.
    pub fn chunk_memory_used(&self) -> usize {
        self.chunk_memory.used()
    }

    /// Decides one request. `now` is the current Unix time in seconds.
    pub fn decide(&self, req: &Request<'_>, now: u64) -> Decision<'_> {
        match self.forward(req, now) {
            Ok(forward) => Decision::Forward(forward),
            Err(rejection) => Decision::Reject(rejection),
        }
    }

    fn forward(&self, req: &Request<'_>, now: u64) -> Result<Forward<'_>, Rejection> {
        match self.config.public_domains.style(req.authority) {
            Some(Style::Path) => {}
            Some(Style::Virtual { .. }) => {
                return Err(Rejection::new(
                    NotImplemented,
                    "Virtual-hosted-style requests (the bucket in the host name) are not supported; address the bucket in the path.",
                ))
            }
            None => {
                return Err(Rejection::new(
                    InvalidRequest,
                    format!(
                        "This endpoint does not serve the host '{}'.",
                        String::from_utf8_lossy(req.authority)
                    ),
                ))
            }
        }
        let (forward, covered) = self.authenticate(req, now)?;
        unsigned_headers::check(req, &covered).map_err(|r| match forward.access_key_id {
            Some(key) => r.for_key(key),
            None => r,
        })?;
        Ok(forward)
    }

    fn authenticate(
        &self,
        req: &Request<'_>,
        now: u64,
    ) -> Result<(Forward<'_>, Covered), Rejection> {
        let mut authorization = req.values("authorization");
        let header = authorization.next();
        if authorization.next().is_some() || header.is_some_and(joins_several) {
            return Err(Rejection::new(
                InvalidArgument,
                "Only one Authorization header may be sent.",
            ));
        }
        let presigned = PresignedParams::extract(req.raw_query());

        match (header, presigned.present() || presigned.sigv2) {
            (Some(_), true) => Err(Rejection::new(
                InvalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
            )),
            (Some(value), false) => self.header_auth(req, value, now),
            (None, true) if presigned.present() => self.presigned(req, &presigned, now),
            (None, true) => Err(Rejection::new(NotImplemented, SIGV2_UNSUPPORTED)),
            (None, false) => match self.config.anonymous {
                Anonymous::Forward => Ok((
                    Forward {
                        kind: AuthKind::Anonymous,
                        authority: &self.config.origin_authority,
                        path: None,
                        authorization: None,
                        body: None,
                        access_key_id: None,
                    },
                    Covered::Nothing,
                )),
                Anonymous::Reject => Err(Rejection::new(
                    AccessDenied,
                    "Anonymous requests are not allowed; sign the request with AWS Signature Version 4.",
                )),
            },
        }
    }

    fn header_auth(
        &self,
        req: &Request<'_>,
        value: &[u8],
        now: u64,
    ) -> Result<(Forward<'_>, Covered), Rejection> {
        match authorization::scheme(value) {
            scheme if scheme == ALGORITHM.as_bytes() => {}
            scheme if scheme == ECDSA_ALGORITHM => {
                return Err(Rejection::new(
                    NotImplemented,
                    "Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported.",
                ))
            }
            b"AWS" => return Err(Rejection::new(NotImplemented, SIGV2_UNSUPPORTED)),
            _ => {
                return Err(Rejection::new(
                    InvalidArgument,
                    "Unsupported Authorization Type",
                ))
            }
        }
        let malformed = |why: String| {
            Rejection::new(
                AuthorizationHeaderMalformed,
                format!("The authorization header is malformed; {why}"),
            )
        };
        let value = std::str::from_utf8(value).map_err(|_| malformed("it is not UTF-8".into()))?;
        let auth = AuthorizationV4::parse(value).map_err(|e| malformed(e.to_string()))?;
        let key = auth.credential.access_key_id;
        let verified =
            verify::header_auth(&self.config, req, &auth, now).map_err(|r| r.for_key(key))?;
        let resigned = resign::header_auth(&self.config, &verified);
        let body = self
            .chunked_body(req, &verified, &auth, &resigned.signature)
            .map_err(|r| r.for_key(key))?;
        let forward = Forward {
            kind: if body.is_some() {
                AuthKind::ChunkedV4
            } else {
                AuthKind::HeaderV4
            },
            authority: &self.config.origin_authority,
            path: None,
            authorization: Some(resigned.authorization),
            body,
            access_key_id: Some(&verified.pair.client.access_key_id),
        };
        Ok((
            forward,
            Covered::Listed(verified.canonical.signed_headers().to_owned()),
        ))
    }

    /// For `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, the re-signer of the body.
    fn chunked_body(
        &self,
        req: &Request<'_>,
        verified: &Verified<'_, '_>,
        auth: &AuthorizationV4<'_>,
        origin_seed: &Signature,
    ) -> Result<Option<Box<ChunkedResigner>>, Rejection> {
        let trailer = match verified.payload {
            PayloadHash::StreamingSigned => Trailer::None,
            PayloadHash::StreamingSignedTrailer => Trailer::Signed,
            _ => return Ok(None),
        };
        let decoded_length = req
            .single("x-amz-decoded-content-length")
            .ok()
            .flatten()
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok())
            .ok_or_else(|| {
                Rejection::new(
                    MissingContentLength,
                    "A signed aws-chunked body needs a valid x-amz-decoded-content-length header.",
                )
            })?;
        let (client, origin) =
            resign::chunk_chains(&self.config, verified, &auth.signature, origin_seed);
        Ok(Some(Box::new(ChunkedResigner::new(
            client,
            origin,
            trailer,
            self.config.max_chunk_size_bytes,
            decoded_length,
            self.chunk_memory.clone(),
        ))))
    }

    fn presigned(
        &self,
        req: &Request<'_>,
        params: &PresignedParams,
        now: u64,
    ) -> Result<(Forward<'_>, Covered), Rejection> {
        match params.algorithm.as_deref().map(str::as_bytes) {
            Some(algorithm) if algorithm == ALGORITHM.as_bytes() => {}
            Some(ECDSA_ALGORITHM) => {
                return Err(Rejection::new(
                    NotImplemented,
                    "Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported.",
                ))
            }
            Some(_) => {
                return Err(Rejection::new(
                    AuthorizationQueryParametersError,
                    "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
                ))
            }
            None => {
                return Err(Rejection::new(
                    AuthorizationQueryParametersError,
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
                ))
            }
        }
        let url = params
            .parse()
            .map_err(|e| Rejection::new(AuthorizationQueryParametersError, e.to_string()))?;
        let key = url.credential.access_key_id;
        let mut verified =
            verify::presigned(&self.config, req, &url, now).map_err(|r| r.for_key(key))?;
        let covered = Covered::Listed(verified.canonical.signed_headers().to_owned());
        let forward = Forward {
            kind: AuthKind::PresignedV4,
            authority: &self.config.origin_authority,
            path: Some(resign::presigned(
                &self.config,
                &mut verified,
                req.raw_path(),
                req.raw_query(),
            )),
            authorization: None,
            body: None,
            access_key_id: Some(&verified.pair.client.access_key_id),
        };
        Ok((forward, covered))
    }
}

/// Envoy joins repeated `Authorization` headers with `,` into one value: a second scheme
/// after a comma is the trace of a second header.
fn joins_several(value: &[u8]) -> bool {
    value.split(|&b| b == b',').skip(1).any(|part| {
        let part = part.trim_ascii_start();
        [ALGORITHM.as_bytes(), ECDSA_ALGORITHM, b"AWS"]
            .iter()
            .any(|scheme| part.starts_with(scheme) && part.get(scheme.len()) == Some(&b' '))
    })
}
