//! What log lines may show of a request: everything but credentials. A signature is a bearer
//! credential until it expires (an expired or skewed URL may still become, or have been,
//! valid), and a session token is one outright.

use percent_encoding::percent_decode;
use std::borrow::Cow;

/// Query parameters that are credentials: SigV4 and SigV2 signatures, session tokens, SSE-C
/// customer keys (a presigned URL may carry them), and what the STS and Swift logins the
/// filter refuses carry (an LDAP password, a web identity token, a TempURL signature: a review
/// found them logged, 2026-12-01).
const SECRET_QUERY_PARAMS: [&[u8]; 10] = [
    b"X-Amz-Signature",
    b"Signature",
    b"X-Amz-Security-Token",
    b"X-Amz-Server-Side-Encryption-Customer-Key",
    b"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key",
    b"LDAPPassword",
    b"WebIdentityToken",
    b"WebIdentityAccessToken",
    b"Token",
    b"temp_url_sig",
];
/// Headers that are credentials, as they appear in a canonical request or string to sign:
/// session tokens and SSE-C customer keys (whoever holds one reads the object), and Swift's.
const SECRET_HEADERS: [&str; 8] = [
    "authorization",
    "x-amz-security-token",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key",
    "x-auth-key",
    "x-auth-token",
    "x-storage-pass",
    "x-storage-token",
];
pub const MASK: &str = "*****";

/// Whether a header (or a form field of the same name) carries a credential.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// A raw or canonical query with the value of every parameter that carries a credential masked,
/// up to the next `&`: a credential's own, and one that holds a credential after a `;`, where
/// origins whose parser splits there read one (a review found a password logged so). A name is
/// compared as any origin may read it: decoded whole before its first `=` (Ceph's
/// `LDAPPassword%3Dpw`), without a `?` that opens the query.
pub fn query(raw_query: &[u8]) -> Vec<u8> {
    query_prefix(raw_query, usize::MAX)
}

/// [`query`] up to the first `&` after `enough` bytes of it: a log line shows only so much,
/// and masking all of a 56 KiB query of 28,000 parameters took a millisecond of an unsigned
/// request (an attack run, 2026-12-01).
pub fn query_prefix(raw_query: &[u8], enough: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw_query.len().min(enough));
    for (i, segment) in raw_query.split(|&b| b == b'&').enumerate() {
        if out.len() >= enough {
            break;
        }
        if i > 0 {
            out.push(b'&');
        }
        match secret_in(segment) {
            Some(name) => {
                out.extend_from_slice(&name);
                out.push(b'=');
                out.extend_from_slice(MASK.as_bytes());
            }
            None => out.extend_from_slice(segment),
        }
    }
    out
}

/// The name of `segment`, as an origin reads it, if the segment carries a credential, in itself
/// or in a part after a `;`, raw or escaped (a canonical query writes a `;` as `%3B`).
fn secret_in(segment: &[u8]) -> Option<Vec<u8>> {
    let decoded: Cow<'_, [u8]> = percent_decode(segment).into();
    let name = |part: &[u8]| -> Vec<u8> {
        let part = part.strip_prefix(b"?").unwrap_or(part);
        part.split(|&b| b == b'=')
            .next()
            .unwrap_or_default()
            .to_vec()
    };
    let secret = decoded.split(|&b| b == b';').any(|part| {
        let name = name(part);
        SECRET_QUERY_PARAMS
            .iter()
            .any(|secret| name.eq_ignore_ascii_case(secret))
    });
    // Decoded, and cut at the first `=`: a name sent as `Token%3D…` must not print its value.
    secret.then(|| name(decoded.split(|&b| b == b';').next().unwrap_or_default()))
}

/// `text` fit for one log line: control characters, line and paragraph separators and bidi
/// controls written escaped (`\u{2028}`), since some log viewers break or reorder lines at
/// them, so nothing a client sent can split a line or forge another; cut once `max` bytes are
/// written.
pub fn printable(text: &str, max: usize) -> Cow<'_, str> {
    printable_of(text, max, text.len())
}

/// [`printable`] for the start of something `whole` bytes long, which the cut names.
pub fn printable_of(text: &str, max: usize, whole: usize) -> Cow<'_, str> {
    let unprintable = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    // Byte by byte first: printable ASCII needs no decoding to tell.
    if text.len() <= max && text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max) + 16);
    for c in text.chars() {
        // What is written counts, escapes included: a line of C1 controls or U+2028 grows
        // sixfold or threefold in escaping (a review, 2026-12-05).
        if out.len() >= max {
            out.push_str(&format!("…({whole} bytes)"));
            break;
        }
        if unprintable(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A log entry of several lines with every line after the first led by `  | `: a line of
/// it that the client wrote whole (a SigV2 string to sign is header values, one to a line)
/// could otherwise pass for a line of Envoy's own log (RT60, 2026-12-05).
pub fn continued_lines(entry: &str) -> Cow<'_, str> {
    if entry.contains('\n') {
        Cow::Owned(entry.replace('\n', CONTINUED))
    } else {
        Cow::Borrowed(entry)
    }
}

/// What leads each further line of a log entry (`continued_lines`).
const CONTINUED: &str = "\n  | ";

/// A SigV4 canonical request for a debug line: its query line and credential headers masked.
pub fn canonical_request(canonical: &[u8]) -> String {
    // Line 3 is the canonical query; header lines follow it.
    masked_lines(canonical, Some(2), 3)
}

/// A SigV4 string to sign for a debug line: nothing in it is a credential, but its scope and
/// hash lines come from the request.
pub fn string_to_sign_v4(string_to_sign: &[u8]) -> String {
    masked_lines(string_to_sign, None, usize::MAX)
}

/// A SigV2 string to sign for a debug line: credential headers masked (its `x-amz-*` lines
/// follow the method and the three standard lines).
pub fn string_to_sign_v2(string_to_sign: &[u8]) -> String {
    masked_lines(string_to_sign, None, 4)
}

/// How much of one line of a debug entry is logged: container runtimes split a longer line
/// into records of 16 KiB, the next one beginning with what the client wrote (RT62).
const DETAIL_LINE_MAX: usize = 4096;

/// `text` with the query on line `query_line` masked, and `name:value` lines of credential
/// headers from line `headers_from` on; each line `printable` (a review found header values
/// with line separators written raw into the debug detail, 2026-12-01) and cut.
fn masked_lines(text: &[u8], query_line: Option<usize>, headers_from: usize) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if Some(i) == query_line {
            let masked = String::from_utf8_lossy(&query(line.as_bytes())).into_owned();
            out.push_str(&printable(&masked, DETAIL_LINE_MAX));
            continue;
        }
        match line.split_once(':') {
            Some((name, _)) if i >= headers_from && SECRET_HEADERS.contains(&name) => {
                out.push_str(name);
                out.push(':');
                out.push_str(MASK);
            }
            _ => out.push_str(&printable(line, DETAIL_LINE_MAX)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_lines_cannot_be_split_or_forged_either() {
        let canonical = "PUT\n/b/k\u{2028}x\nX-Amz-Signature=s&a=\u{202e}\nx-amz-meta-a:v\u{85}w\nauthorization:secret\n";
        let logged = canonical_request(canonical.as_bytes());
        assert_eq!(
            logged,
            "PUT\n/b/k\\u{2028}x\nX-Amz-Signature=*****&a=\\u{202e}\nx-amz-meta-a:v\\u{85}w\nauthorization:*****\n"
        );
    }

    #[test]
    fn a_v4_string_to_sign_is_escaped_line_by_line() {
        let sts = "AWS4-HMAC-SHA256\n20261201T000000Z\n20261201/us\u{202e}/s3/aws4_request\nabc";
        assert_eq!(
            string_to_sign_v4(sts.as_bytes()),
            "AWS4-HMAC-SHA256\n20261201T000000Z\n20261201/us\\u{202e}/s3/aws4_request\nabc"
        );
    }

    #[test]
    fn an_entry_s_further_lines_are_led_so_none_passes_for_envoys_own() {
        let forged = "[2026-12-05 08:47:51.106][27685][info][wasm] forwarded GET /priv/secret.txt";
        let sts = format!("PUT\n\n{forged}\n{forged}\n");
        let entry = format!("string to sign:\n{}", string_to_sign_v2(sts.as_bytes()));
        let logged = continued_lines(&entry);
        assert!(logged.lines().skip(1).all(|line| line.starts_with("  | ")));
        assert_eq!(logged.lines().count(), 6);
        assert_eq!(continued_lines("one line"), "one line");
    }

    #[test]
    fn a_debug_line_is_cut_before_a_log_pipeline_would_split_it() {
        let long = format!(
            "GET\n/k\n\nx-amz-meta-a:{}[forged]\nhost:h\n",
            "A".repeat(20_000)
        );
        let logged = canonical_request(long.as_bytes());
        assert!(
            logged
                .lines()
                .all(|line| line.len() <= DETAIL_LINE_MAX + 32),
            "{logged}"
        );
        assert!(!logged.contains("[forged]"));
        let whole = "x-amz-meta-a:".len() + 20_000 + "[forged]".len();
        assert!(
            logged.contains(&format!("({whole} bytes)\nhost:h")),
            "{logged}"
        );
        // Escaped, a line grows: the cut counts what is written.
        for c in ['\u{85}', '\u{2028}', '\u{1}'] {
            let line = format!("x-amz-meta-a:{}", c.to_string().repeat(5_000));
            let logged = canonical_request(format!("GET\n/k\n\n{line}\n").as_bytes());
            assert!(
                logged.lines().all(|l| l.len() <= DETAIL_LINE_MAX + 32),
                "{c:?}"
            );
        }
    }

    /// Printable ASCII within the limit is logged as it is, not copied (cargo-mutants: the
    /// fast path's `||` made `&&` sent every line through the escaping loop, unnoticed).
    #[test]
    fn printable_ascii_is_borrowed_as_it_is() {
        assert!(matches!(printable("GET /b/k?x=1 a", 100), Cow::Borrowed(_)));
        assert!(matches!(printable("a\tb", 100), Cow::Owned(_)));
    }

    #[test]
    fn printable_escapes_and_cuts() {
        assert_eq!(printable("plain text", 100), "plain text");
        assert_eq!(printable("a\u{2029}b\tc", 100), "a\\u{2029}b\\u{9}c");
        assert_eq!(printable("ééé", 3), "éé…(6 bytes)");
    }

    #[test]
    fn masks_credential_parameters_in_any_case() {
        assert_eq!(
            query(b"a=1&X-Amz-Signature=abc&x-amz-security-token=t&Signature=s&&b"),
            b"a=1&X-Amz-Signature=*****&x-amz-security-token=*****&Signature=*****&&b".to_vec()
        );
        // The logins the filter refuses: an LDAP password, tokens, a TempURL signature.
        assert_eq!(
            query(b"Action=AssumeRoleWithLDAPIdentity&LDAPUsername=u&LDAPPassword=pw&WebIdentityToken=t&token=t&temp_url_sig=s"),
            b"Action=AssumeRoleWithLDAPIdentity&LDAPUsername=u&LDAPPassword=*****&WebIdentityToken=*****&token=*****&temp_url_sig=*****".to_vec()
        );
        // Also after a `;` (raw, or escaped as a canonical query writes it), spelt with
        // escapes, and whole when a value holds a `;`.
        assert_eq!(
            query(b"x=1;Action=A;LDAP%50assword=pw&a=b;WebIdentityAccessToken=t&c=1%3BToken%3Dt"),
            b"x=*****&a=*****&c=*****".to_vec()
        );
        assert_eq!(
            query(b"LDAPPassword=first;REST&X-Amz-Security-Token=tok;TOK&b"),
            b"LDAPPassword=*****&X-Amz-Security-Token=*****&b".to_vec()
        );
        // As Ceph reads a name: decoded before it is split at `=`, a leading `?` skipped.
        assert_eq!(
            query(b"?WebIdentityToken%3Djwt&temp_url_sig%3d00&x=WebIdentityToken%3Djwt"),
            b"WebIdentityToken=*****&temp_url_sig=*****&x=WebIdentityToken%3Djwt".to_vec()
        );
    }

    #[test]
    fn masks_the_canonical_query_and_token_header() {
        let canonical = "GET\n/b/k\nX-Amz-Credential=AK%2F20130524&X-Amz-Security-Token=SECRET%2Ftoken\nhost:h\nx-amz-security-token:SECRET\n\nhost;x-amz-security-token\nUNSIGNED-PAYLOAD";
        let logged = canonical_request(canonical.as_bytes());
        assert!(!logged.contains("SECRET"), "{logged}");
        assert!(logged.contains("X-Amz-Credential=AK%2F20130524&X-Amz-Security-Token=*****"));
        assert!(logged.contains("\nx-amz-security-token:*****\n"));
        assert!(logged.ends_with("\nhost;x-amz-security-token\nUNSIGNED-PAYLOAD"));
    }

    #[test]
    fn masks_sse_c_customer_keys() {
        let canonical = "PUT\n/b/k\nx-amz-server-side-encryption-customer-key=KEY1\nhost:h\nx-amz-server-side-encryption-customer-key:KEY2\nx-amz-server-side-encryption-customer-key-md5:md5\n\nhost\nUNSIGNED-PAYLOAD";
        let logged = canonical_request(canonical.as_bytes());
        assert!(
            !logged.contains("KEY1") && !logged.contains("KEY2"),
            "{logged}"
        );
        assert!(logged.contains("customer-key-md5:md5"));
        let sts = "PUT\n\n\n\nx-amz-copy-source-server-side-encryption-customer-key:KEY3\n/b/k";
        assert!(!string_to_sign_v2(sts.as_bytes()).contains("KEY3"));
    }

    #[test]
    fn masks_the_token_in_a_v2_string_to_sign() {
        let sts = "GET\n\ntext/plain\n\nx-amz-meta-a:1\nx-amz-security-token:SECRET\n/b/k?acl";
        assert_eq!(
            string_to_sign_v2(sts.as_bytes()),
            "GET\n\ntext/plain\n\nx-amz-meta-a:1\nx-amz-security-token:*****\n/b/k?acl"
        );
    }
}
