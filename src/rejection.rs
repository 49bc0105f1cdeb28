//! A request the filter answers itself: the S3 error the client gets, and what the log line
//! says about it. Every layer that can refuse a request returns one.

use crate::s3_error::{S3Error, S3ErrorCode};
use std::ops::{Deref, DerefMut};

/// Boxed: a refusal is rare and large, and every `Result` that may carry one is then a word
/// wide, moved as one up the layers that pass it on.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection(Box<Refusal>);

/// What a `Rejection` holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
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
    #[cold]
    fn from(error: S3Error) -> Self {
        Rejection(Box::new(Refusal {
            error,
            access_key_id: None,
            detail: None,
        }))
    }
}

impl Rejection {
    /// The error the client gets, the rest let go.
    pub fn into_error(self) -> S3Error {
        self.0.error
    }
}

impl Deref for Rejection {
    type Target = Refusal;

    fn deref(&self) -> &Refusal {
        &self.0
    }
}

impl DerefMut for Rejection {
    fn deref_mut(&mut self) -> &mut Refusal {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key named by the layer that refused stays: the layers a refusal passes through name
    /// one only where none is. The reason of an internal error is the log's, not the client's.
    /// (cargo-mutants makes no viable mutant here: none of these types has a `Default`.)
    #[test]
    fn the_first_key_named_stays_and_the_detail_goes_to_the_log_only() {
        let refused = Rejection::new(S3ErrorCode::AccessDenied, "m")
            .for_key_of(None)
            .for_key("A")
            .for_key("B")
            .for_key_of(Some("C"));
        assert_eq!(refused.access_key_id.as_deref(), Some("A"));
        let internal = Rejection::internal("the origin's key is unset");
        assert_eq!(internal.error.code, S3ErrorCode::InternalError);
        assert_eq!(
            internal.detail.as_deref(),
            Some("the origin's key is unset")
        );
        assert!(!internal.into_error().to_string().contains("unset"));
    }
}
