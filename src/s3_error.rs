//! The errors the filter answers itself, in the form S3 clients parse:
//! `<Error><Code/><Message/></Error>` with the status S3 uses for the code.

use std::fmt;

/// The methods S3 serves: `MethodNotAllowed` answers any other, naming these in `Allow`.
pub const S3_METHODS: [&str; 6] = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"];
/// `S3_METHODS` as `Allow` lists them.
pub const S3_METHODS_ALLOWED: &str = "GET, HEAD, PUT, POST, DELETE, OPTIONS";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S3ErrorCode {
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    EntityTooLarge,
    EntityTooSmall,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidDigest,
    InvalidPolicyDocument,
    InvalidRequest,
    /// A session token (`x-amz-security-token`): this endpoint has long-term keys only.
    InvalidToken,
    InvalidURI,
    MalformedPOSTRequest,
    MaxMessageLengthExceeded,
    /// S3 documents `MaxPostPreDataLengthExceededError` in its table of codes but answers
    /// `MaxPostPreDataLengthExceeded` (without `Error`) on the wire; clients see the latter.
    MaxPostPreDataLengthExceeded,
    MethodNotAllowed,
    MissingContentLength,
    NotImplemented,
    RequestTimeout,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SlowDown,
    /// Not S3's: HTTP's 425 (RFC 8470) for a request sent in TLS early data.
    TooEarly,
    XAmzContentSHA256Mismatch,
}

impl S3ErrorCode {
    pub const ALL: [S3ErrorCode; 28] = [
        S3ErrorCode::AccessDenied,
        S3ErrorCode::AuthorizationHeaderMalformed,
        S3ErrorCode::AuthorizationQueryParametersError,
        S3ErrorCode::BadDigest,
        S3ErrorCode::EntityTooLarge,
        S3ErrorCode::EntityTooSmall,
        S3ErrorCode::IncompleteBody,
        S3ErrorCode::InternalError,
        S3ErrorCode::InvalidAccessKeyId,
        S3ErrorCode::InvalidArgument,
        S3ErrorCode::InvalidBucketName,
        S3ErrorCode::InvalidDigest,
        S3ErrorCode::InvalidPolicyDocument,
        S3ErrorCode::InvalidRequest,
        S3ErrorCode::InvalidToken,
        S3ErrorCode::InvalidURI,
        S3ErrorCode::MalformedPOSTRequest,
        S3ErrorCode::MaxMessageLengthExceeded,
        S3ErrorCode::MaxPostPreDataLengthExceeded,
        S3ErrorCode::MethodNotAllowed,
        S3ErrorCode::MissingContentLength,
        S3ErrorCode::NotImplemented,
        S3ErrorCode::RequestTimeout,
        S3ErrorCode::RequestTimeTooSkewed,
        S3ErrorCode::SignatureDoesNotMatch,
        S3ErrorCode::SlowDown,
        S3ErrorCode::TooEarly,
        S3ErrorCode::XAmzContentSHA256Mismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            S3ErrorCode::AccessDenied => "AccessDenied",
            S3ErrorCode::AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            S3ErrorCode::AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            S3ErrorCode::BadDigest => "BadDigest",
            S3ErrorCode::EntityTooLarge => "EntityTooLarge",
            S3ErrorCode::EntityTooSmall => "EntityTooSmall",
            S3ErrorCode::IncompleteBody => "IncompleteBody",
            S3ErrorCode::InternalError => "InternalError",
            S3ErrorCode::InvalidAccessKeyId => "InvalidAccessKeyId",
            S3ErrorCode::InvalidArgument => "InvalidArgument",
            S3ErrorCode::InvalidBucketName => "InvalidBucketName",
            S3ErrorCode::InvalidDigest => "InvalidDigest",
            S3ErrorCode::InvalidPolicyDocument => "InvalidPolicyDocument",
            S3ErrorCode::InvalidRequest => "InvalidRequest",
            S3ErrorCode::InvalidToken => "InvalidToken",
            S3ErrorCode::InvalidURI => "InvalidURI",
            S3ErrorCode::MalformedPOSTRequest => "MalformedPOSTRequest",
            S3ErrorCode::MaxMessageLengthExceeded => "MaxMessageLengthExceeded",
            S3ErrorCode::MaxPostPreDataLengthExceeded => "MaxPostPreDataLengthExceeded",
            S3ErrorCode::MethodNotAllowed => "MethodNotAllowed",
            S3ErrorCode::MissingContentLength => "MissingContentLength",
            S3ErrorCode::NotImplemented => "NotImplemented",
            S3ErrorCode::RequestTimeout => "RequestTimeout",
            S3ErrorCode::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            S3ErrorCode::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            S3ErrorCode::SlowDown => "SlowDown",
            S3ErrorCode::TooEarly => "TooEarly",
            S3ErrorCode::XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
        }
    }

    pub fn status(self) -> u32 {
        match self {
            S3ErrorCode::AuthorizationHeaderMalformed
            | S3ErrorCode::AuthorizationQueryParametersError
            | S3ErrorCode::BadDigest
            | S3ErrorCode::EntityTooLarge
            | S3ErrorCode::EntityTooSmall
            | S3ErrorCode::IncompleteBody
            | S3ErrorCode::InvalidArgument
            | S3ErrorCode::InvalidBucketName
            | S3ErrorCode::InvalidDigest
            | S3ErrorCode::InvalidPolicyDocument
            | S3ErrorCode::InvalidRequest
            | S3ErrorCode::InvalidToken
            | S3ErrorCode::InvalidURI
            | S3ErrorCode::MalformedPOSTRequest
            | S3ErrorCode::MaxMessageLengthExceeded
            | S3ErrorCode::MaxPostPreDataLengthExceeded
            | S3ErrorCode::RequestTimeout
            | S3ErrorCode::XAmzContentSHA256Mismatch => 400,
            S3ErrorCode::AccessDenied
            | S3ErrorCode::InvalidAccessKeyId
            | S3ErrorCode::RequestTimeTooSkewed
            | S3ErrorCode::SignatureDoesNotMatch => 403,
            S3ErrorCode::MethodNotAllowed => 405,
            S3ErrorCode::MissingContentLength => 411,
            S3ErrorCode::TooEarly => 425,
            S3ErrorCode::InternalError => 500,
            S3ErrorCode::NotImplemented => 501,
            S3ErrorCode::SlowDown => 503,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Error {
    pub code: S3ErrorCode,
    /// Sent to the client: says what was wrong, never a secret or a valid signature.
    pub message: String,
    /// Elements S3 adds after `<Message>` for some codes (`HeadersNotSigned`), in order.
    pub details: Vec<(&'static str, String)>,
}

impl S3Error {
    #[cold]
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Self {
        S3Error {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The `Allow` header of a `MethodNotAllowed`: the methods the resource serves, GET alone
    /// for the service.
    pub fn allow(&self) -> Option<&'static str> {
        let of_service = || {
            self.details
                .iter()
                .any(|(e, t)| *e == "ResourceType" && t == "SERVICE")
        };
        (self.code == S3ErrorCode::MethodNotAllowed).then(|| {
            if of_service() {
                "GET"
            } else {
                S3_METHODS_ALLOWED
            }
        })
    }

    #[cold]
    pub fn with_detail(mut self, element: &'static str, text: impl Into<String>) -> Self {
        self.details.push((element, text.into()));
        self
    }

    /// The XML body; `request_id` is Envoy's `x-request-id`, which ties the answer to the
    /// access log.
    pub fn xml_body(&self, request_id: Option<&str>) -> String {
        let mut body = String::with_capacity(160 + self.message.len());
        body.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        body.push_str(self.code.as_str());
        body.push_str("</Code><Message>");
        escape_xml(&mut body, &self.message);
        body.push_str("</Message>");
        for (element, text) in &self.details {
            push_element(&mut body, element, text);
        }
        if let Some(id) = request_id {
            push_element(&mut body, "RequestId", id);
        }
        body.push_str("</Error>");
        body
    }
}

/// The most of a message a log line shows.
const MAX_LOGGED_MESSAGE: usize = 2048;

/// For the log line: messages can quote the request (a credential's service, a policy's
/// text), so control characters are written escaped and no request can split or forge a line.
impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cut too: a message may quote a request's host or header, up to Envoy's limits.
        let message = crate::redact::printable(&self.message, MAX_LOGGED_MESSAGE);
        write!(f, "{}: {message}", self.code.as_str())
    }
}

fn push_element(out: &mut String, element: &str, text: &str) {
    out.push('<');
    out.push_str(element);
    out.push('>');
    escape_xml(out, text);
    out.push_str("</");
    out.push_str(element);
    out.push('>');
}

fn escape_xml(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped, nor U+FFFE and
            // U+FFFF.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_cannot_be_split_by_a_message() {
        let e = S3Error::new(
            S3ErrorCode::InvalidArgument,
            "service 's3\n[info] forged\r\u{85}\u{2028}\u{202e}'",
        );
        assert_eq!(
            e.to_string(),
            "InvalidArgument: service 's3\\u{a}[info] forged\\u{d}\\u{85}\\u{2028}\\u{202e}'"
        );
    }

    /// `Allow` comes with a MethodNotAllowed alone: GET for the service, every S3 method for
    /// anything else (cargo-mutants: the service's test with `&&` made `||`, or `==` made `!=`,
    /// and `allow` made to answer `None`, unnoticed by the unit tests).
    #[test]
    fn allow_names_get_for_the_service_alone() {
        let refused = |resource: &str| {
            S3Error::new(S3ErrorCode::MethodNotAllowed, "m")
                .with_detail("Method", "PUT")
                .with_detail("ResourceType", resource)
        };
        assert_eq!(refused("SERVICE").allow(), Some("GET"));
        assert_eq!(refused("OBJECT").allow(), Some(S3_METHODS_ALLOWED));
        let method_only =
            S3Error::new(S3ErrorCode::MethodNotAllowed, "m").with_detail("Method", "SERVICE");
        assert_eq!(method_only.allow(), Some(S3_METHODS_ALLOWED));
        let denied =
            S3Error::new(S3ErrorCode::AccessDenied, "m").with_detail("ResourceType", "SERVICE");
        assert_eq!(denied.allow(), None);
    }

    #[test]
    fn allow_lists_the_s3_methods() {
        assert_eq!(S3_METHODS_ALLOWED, S3_METHODS.join(", "));
    }

    #[test]
    fn statuses_follow_s3() {
        use S3ErrorCode::*;
        let table = [
            (SignatureDoesNotMatch, 403),
            (InvalidAccessKeyId, 403),
            (AccessDenied, 403),
            (RequestTimeTooSkewed, 403),
            (RequestTimeout, 400),
            (AuthorizationQueryParametersError, 400),
            (AuthorizationHeaderMalformed, 400),
            (InvalidArgument, 400),
            (InvalidBucketName, 400),
            (InvalidRequest, 400),
            (InvalidToken, 400),
            (IncompleteBody, 400),
            (BadDigest, 400),
            (InvalidDigest, 400),
            (EntityTooLarge, 400),
            (EntityTooSmall, 400),
            (InvalidPolicyDocument, 400),
            (InvalidURI, 400),
            (MalformedPOSTRequest, 400),
            (MaxPostPreDataLengthExceeded, 400),
            (MaxMessageLengthExceeded, 400),
            (XAmzContentSHA256Mismatch, 400),
            (MethodNotAllowed, 405),
            (MissingContentLength, 411),
            (TooEarly, 425),
            (NotImplemented, 501),
            (InternalError, 500),
            (SlowDown, 503),
        ];
        for (code, status) in table {
            assert_eq!(code.status(), status, "{code:?}");
            assert_eq!(format!("{code:?}"), code.as_str());
        }
        // Every code has its row, and `ALL` lists every code once.
        assert_eq!(table.len(), S3ErrorCode::ALL.len());
        for code in S3ErrorCode::ALL {
            assert_eq!(
                table.iter().filter(|(c, _)| *c == code).count(),
                1,
                "{code:?}"
            );
        }
    }

    #[test]
    fn body_is_escaped_xml() {
        let e = S3Error::new(S3ErrorCode::SignatureDoesNotMatch, "a<b & 'c'\u{1}\u{FFFF}");
        assert_eq!(
            e.xml_body(Some("id\"1")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>a&lt;b &amp; &apos;c&apos;\u{FFFD}\u{FFFD}</Message><RequestId>id&quot;1</RequestId></Error>"
        );
        assert!(!e.xml_body(None).contains("RequestId"));
        let unsigned = S3Error::new(S3ErrorCode::AccessDenied, "m")
            .with_detail("HeadersNotSigned", "x-amz-acl, x-amz-meta-a");
        assert_eq!(
            unsigned.xml_body(Some("r")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>m</Message><HeadersNotSigned>x-amz-acl, x-amz-meta-a</HeadersNotSigned><RequestId>r</RequestId></Error>"
        );
    }
}
