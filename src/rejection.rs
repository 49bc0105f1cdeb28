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
    #[cold]
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Self {
        Rejection::from(S3Error::new(code, message))
    }

    pub fn for_key(mut self, access_key_id: &str) -> Self {
        self.access_key_id
            .get_or_insert_with(|| access_key_id.to_owned());
        self
    }

    /// The filter cannot carry the request out (its configuration, a host call): the client
    /// gets S3's generic answer, and the operator the reason, logged as a warning.
    #[cold]
    pub fn internal(detail: impl Into<String>) -> Self {
        Rejection::new(
            S3ErrorCode::InternalError,
            "We encountered an internal error. Please try again.",
        )
        .with_log_detail(detail.into())
    }

    /// What only the log line gives (`detail`); `S3Error::with_detail` is what the client sees.
    pub fn with_log_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    /// `for_key` when the request claimed a key.
    pub fn for_key_of(self, access_key_id: Option<&str>) -> Self {
        match access_key_id {
            Some(key) => self.for_key(key),
            None => self,
        }
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
