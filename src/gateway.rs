//! The decision for one request: which authentication it attempts, whether it verifies, and
//! the rewrite that carries it to the origin, or the S3 error that answers it.

use crate::aws_chunked::{ChunkedResigner, Trailer};
use crate::config::{Anonymous, Config};
use crate::request::Request;
use crate::resign;
use crate::s3_error::S3Error;
use crate::s3_error::S3ErrorCode::{self, *};
use crate::sigv4::authorization::{self, AuthorizationV4};
use crate::sigv4::payload::PayloadHash;
use crate::sigv4::presigned::PresignedParams;
use crate::sigv4::signature::Signature;
use crate::sigv4::signing::ALGORITHM;
use crate::verify::{self, Verified};
use std::fmt;

const ECDSA_ALGORITHM: &[u8] = b"AWS4-ECDSA-P256-SHA256";
const SIGV2_UNSUPPORTED: &str = "Signature Version 2 is not supported; sign with Signature Version 4 (AWS4-HMAC-SHA256). boto3 presigns with SigV2 unless its client has Config(signature_version='s3v4').";

/// How the request authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    PresignedV4,
    HeaderV4,
    /// Header auth with a signed aws-chunked body, re-signed chunk by chunk.
    ChunkedV4,
    /// Unsigned, forwarded as allowed by `anonymous: forward`.
    Anonymous,
}

impl AuthKind {
    pub const ALL: [AuthKind; 4] = [
        AuthKind::PresignedV4,
        AuthKind::HeaderV4,
        AuthKind::ChunkedV4,
        AuthKind::Anonymous,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::PresignedV4 => "presigned_v4",
            AuthKind::HeaderV4 => "header_v4",
            AuthKind::ChunkedV4 => "chunked_v4",
            AuthKind::Anonymous => "anonymous",
        }
    }
}

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

/// A request the filter answers itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub error: S3Error,
    /// The key id the client claimed, for the log line.
    pub access_key_id: Option<String>,
    /// What a user needs to debug a mismatch (the canonical request and string to sign the
    /// filter computed): for debug logs only, never for the client.
    pub detail: Option<String>,
}

impl Rejection {
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Self {
        Rejection {
            error: S3Error::new(code, message),
            access_key_id: None,
            detail: None,
        }
    }

    pub fn for_key(mut self, access_key_id: &str) -> Self {
        self.access_key_id
            .get_or_insert_with(|| access_key_id.to_owned());
        self
    }

    pub fn with_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }
}

pub struct Gateway {
    config: Config,
}

impl Gateway {
    pub fn new(config: Config) -> Self {
        Gateway { config }
    }

    /// Decides one request. `now` is the current Unix time in seconds.
    pub fn decide(&self, req: &Request<'_>, now: u64) -> Decision<'_> {
        match self.authenticate(req, now) {
            Ok(forward) => Decision::Forward(forward),
            Err(rejection) => Decision::Reject(rejection),
        }
    }

    fn authenticate(&self, req: &Request<'_>, now: u64) -> Result<Forward<'_>, Rejection> {
        let mut authorization = req.values("authorization");
        let header = authorization.next();
        if authorization.next().is_some() {
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
                Anonymous::Forward => Ok(Forward {
                    kind: AuthKind::Anonymous,
                    authority: &self.config.origin_authority,
                    path: None,
                    authorization: None,
                    body: None,
                    access_key_id: None,
                }),
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
    ) -> Result<Forward<'_>, Rejection> {
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
        Ok(Forward {
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
        })
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
        ))))
    }

    fn presigned(
        &self,
        req: &Request<'_>,
        params: &PresignedParams,
        now: u64,
    ) -> Result<Forward<'_>, Rejection> {
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
        Ok(Forward {
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
        })
    }
}
