//! A request the filter answers itself: the S3 error the client gets, and what the log line
//! says about it. Every layer that can refuse a request returns one.

use crate::s3_error::{S3Error, S3ErrorCode};

#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub error: S3Error,
    /// The key id the client claimed, for the log line.
    pub access_key_id: Option<String>,
    /// What a user needs to debug a mismatch (the canonical request and string to sign the
    /// filter computed, credentials masked): for debug logs only, never for the client.
    pub detail: Option<String>,
}

impl Rejection {
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Self {
        Rejection::from(S3Error::new(code, message))
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

impl From<S3Error> for Rejection {
    fn from(error: S3Error) -> Self {
        Rejection {
            error,
            access_key_id: None,
            detail: None,
        }
    }
}
