//! What the filter tells Envoy's access log, and how it prints the key id a client claimed.

use super::host;
use crate::auth_kind::AuthKind;
use crate::s3_error::S3ErrorCode;
use std::borrow::Cow;

/// What Envoy's access log can say of a request, as filter state it reads with
/// `%FILTER_STATE(wasm.s3_resign.kind:PLAIN)%`, `…access_key_id…`, `…error_code…`: how the
/// request authenticated, the client's access key id and the S3 error code it was answered
/// with. Never a secret or a signature. Like metrics, these never fail a request. Written only
/// when the configuration asks (`access_log_filter_state`): Envoy executes about 5,000
/// instructions for each property it stores, 1.5% of a request through it.
#[derive(Clone, Copy, Default)]
pub struct AccessLog {
    pub enabled: bool,
}

impl AccessLog {
    const KIND: &'static str = "s3_resign.kind";
    const ACCESS_KEY_ID: &'static str = "s3_resign.access_key_id";
    const ERROR_CODE: &'static str = "s3_resign.error_code";

    pub fn forwarded(self, kind: AuthKind, access_key_id: Option<&str>) {
        self.set(Self::KIND, kind.as_str());
        self.access_key_id(access_key_id);
    }

    pub fn rejected(self, code: S3ErrorCode) {
        self.set(Self::ERROR_CODE, code.as_str());
    }

    /// The key id the client claimed, known or not, as log lines print it.
    pub fn access_key_id(self, access_key_id: Option<&str>) {
        match access_key_id {
            Some(id) if self.enabled => self.set(Self::ACCESS_KEY_ID, &printable_key_id(id)),
            _ => {}
        }
    }

    fn set(self, name: &str, value: &str) {
        if !self.enabled {
            return;
        }
        if let Err(status) = host::set_property(name, value.as_bytes()) {
            log::debug!("cannot set {name} for the access log: {status:?}");
        }
    }
}

/// The key id a client claimed, fit for a log line. It comes from the request (a presigned
/// credential is percent-decoded, so it can hold a line break), so anything but printable ASCII,
/// and `"` and `\`, becomes `?` and it is cut at 128 characters (AWS key ids have 16 to 128): a log
/// line cannot be split or forged through it.
pub fn printable_key_id(id: &str) -> Cow<'_, str> {
    const MAX_KEY_ID: usize = 128;
    let printable = |c: char| c.is_ascii_graphic() && c != '"' && c != '\\';
    // Byte by byte first: what is printable ASCII needs no UTF-8 decoding to tell.
    if id.len() <= MAX_KEY_ID && id.bytes().all(|b| printable(char::from(b))) {
        return Cow::Borrowed(id);
    }
    id.chars()
        .take(MAX_KEY_ID)
        .map(|c| if printable(c) { c } else { '?' })
        .collect()
}
