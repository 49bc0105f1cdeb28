//! How a forwarded request authenticated: the label of its counter and log line.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    PresignedV4,
    HeaderV4,
    /// Header auth with a signed aws-chunked body, re-signed chunk by chunk.
    ChunkedV4,
    /// A SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature`).
    PresignedV2,
    /// `Authorization: AWS <key>:<signature>`.
    HeaderV2,
    /// A browser upload: POST Object with a signed policy, verified from the form.
    PostPolicy,
    /// A browser's CORS preflight, forwarded unsigned for the origin's CORS rules.
    Preflight,
    /// Unsigned, forwarded as allowed by `anonymous: forward`.
    Anonymous,
}

impl AuthKind {
    pub const ALL: [AuthKind; 8] = [
        AuthKind::PresignedV4,
        AuthKind::HeaderV4,
        AuthKind::ChunkedV4,
        AuthKind::PresignedV2,
        AuthKind::HeaderV2,
        AuthKind::PostPolicy,
        AuthKind::Preflight,
        AuthKind::Anonymous,
    ];

    /// Signed in the request's header or query (a form is signed in its body).
    pub fn signed_in_head(self) -> bool {
        match self {
            AuthKind::PresignedV4
            | AuthKind::HeaderV4
            | AuthKind::ChunkedV4
            | AuthKind::PresignedV2
            | AuthKind::HeaderV2 => true,
            AuthKind::PostPolicy | AuthKind::Preflight | AuthKind::Anonymous => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::PresignedV4 => "presigned_v4",
            AuthKind::HeaderV4 => "header_v4",
            AuthKind::ChunkedV4 => "chunked_v4",
            AuthKind::PresignedV2 => "presigned_v2",
            AuthKind::HeaderV2 => "header_v2",
            AuthKind::PostPolicy => "post_policy",
            AuthKind::Preflight => "cors_preflight",
            AuthKind::Anonymous => "anonymous",
        }
    }
}
