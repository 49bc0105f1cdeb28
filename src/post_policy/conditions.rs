//! Whether a form satisfies its policy's conditions, as S3 matches them
//! (sigv4-HTTPPOSTConstructPolicy, "Condition Matching" and "Conditions"):
//!
//! - every condition holds: `eq` is byte equality, `starts-with` a prefix (`""` matches any
//!   value, but the field must be there: S3 fails a condition on an absent field), and a
//!   `Content-Type` value with commas is a list whose every item must match; `$bucket` is the
//!   bucket the request addresses; field names are case-insensitive, values are not;
//! - `${filename}` in `key` is replaced by the file's name (the part after the last `/` or `\`)
//!   before matching, by nothing when the file part has no `filename` ("If no file or file name
//!   is provided, the variable is replaced with an empty string"; S3 was seen keeping it as
//!   written then, so the origin's form gets `filename=""`). Another field holding
//!   `${filename}` must match both as written and as replaced, whichever way the origin reads
//!   it;
//! - every field but the exempt ones is named by a condition ("Extra input fields");
//! - `content-length-range` bounds are collected for the streamed file (both inclusive).
//!
//! A failed condition is 403 `AccessDenied` "Invalid according to Policy: Policy Condition
//! failed: [...]", printed as S3 prints it, simple conditions as `eq`.

use super::errors;
use super::fields::{self, FILENAME_VARIABLE};
use super::form_head::FormHead;
use super::policy::{Bound, Condition, Match, Op, Policy, SizeRange};
use crate::rejection::Rejection;
use std::borrow::Cow;

/// Checks every condition of `policy` against `form` posted to `bucket`; `exempt` lists the
/// fields that need no condition. The file's allowed sizes on success.
pub fn check(
    policy: &Policy,
    form: &FormHead,
    bucket: &str,
    exempt: &[&str],
) -> Result<SizeRange, Rejection> {
    let mut size = SizeRange::ANY;
    for condition in &policy.conditions {
        match condition {
            Condition::Match(m) => {
                if !holds(m, form, bucket) {
                    return Err(errors::condition_failed(&m.render()));
                }
            }
            Condition::LengthRange(range) => match (range.min, range.max) {
                (Bound::Bytes(min), Bound::Bytes(max)) => {
                    size.min = size.min.max(min);
                    size.max = size.max.min(max);
                }
                _ => return Err(errors::condition_failed(range.render())),
            },
        }
    }
    // Sorted once, not scanned per field: a thousand conditions over hundreds of fields took
    // milliseconds so.
    let mut named: Vec<String> = policy
        .matches()
        .filter_map(|m| m.field().map(str::to_ascii_lowercase))
        .collect();
    crate::sort::sort(&mut named);
    let extra: Vec<&str> = form
        .fields()
        .map(|(name, _)| name)
        .filter(|name| !fields::is_exempt(name, exempt))
        .filter(|name| named.binary_search(&name.to_ascii_lowercase()).is_err())
        .collect();
    if !extra.is_empty() {
        return Err(errors::extra_fields(&extra));
    }
    Ok(size)
}

fn holds(m: &Match, form: &FormHead, bucket: &str) -> bool {
    let Some(field) = m.field() else {
        return false;
    };
    if fields::is(field, fields::BUCKET) {
        return matches(m, field, bucket.as_bytes());
    }
    let Some(value) = form.value(field) else {
        return false;
    };
    let expanded = expand(value, form.filename());
    if fields::is(field, fields::KEY) {
        return matches(m, field, &expanded);
    }
    matches(m, field, value) && matches(m, field, &expanded)
}

fn matches(m: &Match, field: &str, value: &[u8]) -> bool {
    let wanted = m.value.as_bytes();
    match m.op {
        Op::Eq => value == wanted,
        // "Content-Types values for a starts-with condition that include commas are
        // interpreted as lists. Each value in the list must meet the condition".
        Op::StartsWith if fields::is(field, fields::CONTENT_TYPE) => value
            .split(|&b| b == b',')
            .all(|item| item.starts_with(wanted)),
        Op::StartsWith => value.starts_with(wanted),
    }
}

/// `value` with every `${filename}` replaced by the file's base name.
pub fn expand<'v>(value: &'v [u8], filename: &[u8]) -> Cow<'v, [u8]> {
    if !value
        .windows(FILENAME_VARIABLE.len())
        .any(|w| w == FILENAME_VARIABLE)
    {
        return Cow::Borrowed(value);
    }
    let base = fields::base_name(filename);
    let mut out = Vec::with_capacity(value.len() + base.len());
    let mut rest = value;
    while let Some(at) = rest
        .windows(FILENAME_VARIABLE.len())
        .position(|w| w == FILENAME_VARIABLE)
    {
        out.extend_from_slice(rest.get(..at).unwrap_or_default());
        out.extend_from_slice(base);
        rest = rest.get(at + FILENAME_VARIABLE.len()..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_budget::MemoryBudget;
    use crate::post_policy::boundary::Boundary;
    use crate::post_policy::form_head::{HeadParser, Progress};
    use crate::s3_error::S3ErrorCode;

    fn form(fields: &[(&str, &str)], filename: Option<&str>) -> FormHead {
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--B\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str("--B\r\nContent-Disposition: form-data; name=\"file\"");
        if let Some(filename) = filename {
            body.push_str(&format!("; filename=\"{filename}\""));
        }
        body.push_str("\r\n\r\n");
        let mut p = HeadParser::new(
            Boundary::new(b"B").unwrap(),
            1 << 16,
            MemoryBudget::new(1 << 20),
        );
        assert!(matches!(
            p.push(body.as_bytes()),
            Ok(Progress::Complete { .. })
        ));
        p.into_head().unwrap()
    }

    fn policy(conditions: &str) -> Policy {
        Policy::from_json(
            format!(r#"{{"expiration": "2026-01-01T00:00:00Z", "conditions": {conditions}}}"#)
                .as_bytes(),
        )
        .unwrap()
    }

    fn outcome(
        conditions: &str,
        fields: &[(&str, &str)],
        filename: Option<&str>,
    ) -> Result<SizeRange, String> {
        check(
            &policy(conditions),
            &form(fields, filename),
            "photos",
            &fields::EXEMPT_V4,
        )
        .map_err(|r| {
            assert_eq!(r.error.code, S3ErrorCode::AccessDenied);
            r.into_error().message
        })
    }

    #[test]
    fn the_documented_matching_rules() {
        let ok = |c: &str, f: &[(&str, &str)]| outcome(c, f, Some("a.jpg")).is_ok();
        // Exact matches, both spellings, names in any case, values in exact case.
        assert!(ok(r#"[{"acl": "public-read"}]"#, &[("acl", "public-read")]));
        assert!(ok(
            r#"[["eq", "$ACL", "public-read"]]"#,
            &[("Acl", "public-read")]
        ));
        assert!(!ok(
            r#"[{"acl": "public-read"}]"#,
            &[("acl", "Public-Read")]
        ));
        // starts-with, and "" for anything, but not for an absent field.
        assert!(ok(
            r#"[["starts-with", "$key", "user/"]]"#,
            &[("key", "user/a")]
        ));
        assert!(!ok(
            r#"[["starts-with", "$key", "user/"]]"#,
            &[("key", "users")]
        ));
        assert!(ok(
            r#"[["starts-with", "$x-amz-meta-tag", ""], {"key": "k"}]"#,
            &[("key", "k"), ("x-amz-meta-tag", "")]
        ));
        assert!(!ok(
            r#"[["starts-with", "$x-amz-meta-tag", ""], {"key": "k"}]"#,
            &[("key", "k")]
        ));
        // Content-Type lists.
        let image = r#"[["starts-with", "$Content-Type", "image/"]]"#;
        assert!(ok(
            image,
            &[("Content-Type", "image/jpg,image/png,image/gif")]
        ));
        assert!(!ok(image, &[("Content-Type", "image/jpg,text/plain")]));
        assert!(ok(
            r#"[["starts-with", "$x-amz-meta-a", "x"]]"#,
            &[("x-amz-meta-a", "x,y")]
        ));
        // $bucket is the request's bucket.
        assert!(ok(r#"[{"bucket": "photos"}]"#, &[]));
        assert!(!ok(r#"[{"bucket": "other"}]"#, &[]));
        assert!(ok(r#"[["starts-with", "$bucket", "pho"]]"#, &[]));
        // A name without $ never matches.
        assert!(!ok(r#"[["eq", "acl", "private"]]"#, &[("acl", "private")]));
    }

    #[test]
    fn messages_name_the_failed_condition_and_the_extra_fields() {
        assert_eq!(
            outcome(r#"[{"key": "a"}]"#, &[("key", "b")], None).unwrap_err(),
            r#"Invalid according to Policy: Policy Condition failed: ["eq", "$key", "a"]"#
        );
        assert_eq!(
            outcome(
                r#"[["starts-with", "$Content-Disposition", "filename=\"x"]]"#,
                &[("Content-Disposition", "y")],
                None
            )
            .unwrap_err(),
            r#"Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Disposition", "filename=\"x"]"#
        );
        assert_eq!(
            outcome(
                r#"[{"key": "a"}]"#,
                &[
                    ("key", "a"),
                    ("Zeta", "1"),
                    ("x-ignore-a", "1"),
                    ("alpha", "2"),
                    ("X-Amz-Signature", "s"),
                    ("policy", "p")
                ],
                None
            )
            .unwrap_err(),
            "Invalid according to Policy: Extra input fields: Zeta, alpha"
        );
    }

    #[test]
    fn ranges_intersect_and_unreadable_ones_fail() {
        assert_eq!(
            outcome(
                r#"[["content-length-range", 1, 100], ["content-length-range", "10", 1000]]"#,
                &[],
                None
            ),
            Ok(SizeRange { min: 10, max: 100 })
        );
        assert_eq!(outcome("[]", &[], None), Ok(SizeRange::ANY));
        assert_eq!(
            outcome(r#"[["content-length-range", "test", "10"]]"#, &[], None).unwrap_err(),
            r#"Invalid according to Policy: Policy Condition failed: ["content-length-range", "test", "10"]"#
        );
    }

    #[test]
    fn filename_is_substituted_in_key() {
        let prefix = r#"[["starts-with", "$key", "user/eric/"]]"#;
        let exact = r#"[{"key": "user/eric/MyPicture.jpg"}]"#;
        let key = [("key", "user/eric/${filename}")];
        assert!(outcome(prefix, &key, Some("MyPicture.jpg")).is_ok());
        assert!(outcome(exact, &key, Some("MyPicture.jpg")).is_ok());
        assert!(outcome(exact, &key, Some("photos/MyPicture.jpg")).is_ok());
        assert!(outcome(exact, &key, Some("Other.jpg")).is_err());
        // No filename parameter: nothing, as for an empty one (the origin gets filename="").
        assert!(outcome(exact, &key, None).is_err());
        assert!(outcome(r#"[{"key": "user/eric/${filename}"}]"#, &key, None).is_err());
        assert!(outcome(r#"[{"key": "user/eric/"}]"#, &key, None).is_ok());
        assert!(outcome(r#"[{"key": "user/eric/"}]"#, &key, Some("")).is_ok());
        // Another field must match however the origin reads it.
        let meta = r#"[["starts-with", "$x-amz-meta-name", "user/x"]]"#;
        assert!(outcome(
            meta,
            &[("x-amz-meta-name", "user/${filename}")],
            Some("x.txt")
        )
        .is_err());
        assert!(outcome(
            r#"[["starts-with", "$x-amz-meta-name", "user/"]]"#,
            &[("x-amz-meta-name", "user/${filename}")],
            Some("x.txt")
        )
        .is_ok());
    }

    #[test]
    fn expands_every_occurrence() {
        assert_eq!(
            &*expand(b"${filename}/${filename}", b"a/b.txt"),
            b"b.txt/b.txt"
        );
        assert_eq!(&*expand(b"${filename", b"a"), b"${filename");
        assert_eq!(&*expand(b"x", b"a"), b"x");
        assert_eq!(&*expand(b"x${filename}y", b""), b"xy");
        assert_eq!(&*expand(b"x${filename}", b"dir/"), b"x");
        // Old browsers sent a Windows path (the form parser now refuses backslashes).
        assert_eq!(&*expand(b"${filename}", b"C:\\Pictures\\a.jpg"), b"a.jpg");
    }
}
