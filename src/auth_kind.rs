//! How a forwarded request authenticated: the label of its counter and log line.

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
