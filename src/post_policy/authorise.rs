//! The verdict on a form's head: verify its signature and policy, check every condition, and
//! write the head the origin gets.

use super::conditions;
use super::errors;
use super::fields::{base_name, BUCKET, FILENAME_VARIABLE, KEY};
use super::form_head::FormHead;
use super::policy::SizeRange;
use super::resign;
use super::verify::{self, Signer, Verdict};
use crate::bytes::{find_byte, find_bytes};
use crate::config::{Anonymous, Config};
use crate::rejection::Rejection;

/// How the form authenticated: a signed form counts as `post_policy`, an anonymous one as
/// `anonymous`, as any request forwarded unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostAuth {
    SigV4,
    SigV2,
    /// No signature: forwarded as `anonymous: forward` allows, for the origin to judge.
    Anonymous,
}

/// A form allowed through.
#[derive(Debug)]
pub struct Authorised {
    pub auth: PostAuth,
    /// The client's key, for log lines.
    pub access_key_id: Option<String>,
    /// What `content-length-range` allows the file.
    pub size: SizeRange,
    /// The head the origin gets, when it is not the client's.
    pub head: Option<Vec<u8>>,
}

/// Verifies the head of a form posted to `bucket` at `now` (Unix seconds).
pub fn authorise(
    config: &Config,
    form: &FormHead,
    bucket: &str,
    now: u64,
) -> Result<Authorised, Rejection> {
    let verdict = verify::verify(config, form, now)?;
    if let Err(refused) = key_stays_where_written(form) {
        return Err(match &verdict {
            Verdict::Signed(verified) => refused.for_key(verified.access_key_id()),
            Verdict::Anonymous => refused,
        });
    }
    let verified = match verdict {
        Verdict::Signed(verified) => verified,
        Verdict::Anonymous => {
            // Written as browsers write it for the origin too: an origin that reads a part's
            // headers otherwise might find the authentication fields this filter did not (Ceph
            // splits at every `;`: a review found `filename*` carrying `; name=signature`).
            let edits = form.normalising_edits();
            return match config.anonymous {
                Anonymous::Forward => Ok(Authorised {
                    auth: PostAuth::Anonymous,
                    access_key_id: None,
                    size: SizeRange::ANY,
                    head: (!edits.is_empty()).then(|| form.rewrite(&edits)),
                }),
                Anonymous::Reject => Err(errors::anonymous()),
            };
        }
    };
    let key = verified.access_key_id().to_owned();
    let size = conditions::check(
        &verified.policy,
        form,
        bucket,
        verify::exempt(&verified.signer),
    )
    .map_err(|r| r.for_key(&key))?;
    // S3 reads the bucket from the request; a form that names another one (the JavaScript
    // SDK sends a `bucket` field) is refused rather than left for an origin to read.
    if let Some(named) = form.value(BUCKET) {
        if named != bucket.as_bytes() {
            return Err(errors::invalid_argument(
                "The bucket field names another bucket than the one the form is posted to.",
                BUCKET,
                &String::from_utf8_lossy(named),
            )
            .for_key(&key));
        }
    }
    let mut edits = form.normalising_edits();
    edits.extend(resign::for_origin(config, &verified, now).map_err(|r| r.for_key(&key))?);
    let head = (!edits.is_empty()).then(|| form.rewrite(&edits));
    Ok(Authorised {
        auth: match verified.signer {
            Signer::V4 { .. } => PostAuth::SigV4,
            Signer::V2 => PostAuth::SigV2,
        },
        access_key_id: Some(key),
        size,
        head,
    })
}

/// A form's key must not begin with `/` (or `\`) nor hold a `.` or `..` segment (between `/`
/// or `\`), as written or with `${filename}` replaced. S3 keeps such a key as it is, inside the
/// prefix a policy's `starts-with` allows; an origin that stores keys as files resolves it
/// (s3s-fs wrote `uploads/../../other-bucket/x` into another bucket, and a key naming a path
/// from its root anywhere under it: attack runs, 2026-12-04). A presigned URL's or a signed
/// request's key is its signer's choice (and one beginning with `/` is refused there too); a
/// form's is its poster's. Nor may it hold a NUL, as a request's path may not hold `%00`.
fn key_stays_where_written(form: &FormHead) -> Result<(), Rejection> {
    let Some(key) = form.value(KEY) else {
        return Ok(());
    };
    let expanded = conditions::expand(key, form.filename());
    let leaves = |key: &[u8]| {
        matches!(key.first(), Some(b'/' | b'\\'))
            || key
                .split(|&b| b == b'/' || b == b'\\')
                .any(|segment| matches!(segment, b"." | b".."))
    };
    if leaves(key) || leaves(&expanded) {
        return Err(errors::invalid_argument(
            "A form's key must not begin with '/' or hold a '.' or '..' segment, which origins \
             storing keys as files resolve outside the prefix its policy allows.",
            KEY,
            &String::from_utf8_lossy(&expanded),
        ));
    }
    // Ceph reads a file name only up to a `;`, quotes and all (its disposition parser splits
    // at every one): `uploads/${filename}` of `a;b.txt` was stored as `uploads/"a`, a key the
    // filter never checked (an attack run, 2026-12-06). Only a key that takes the name is
    // concerned; a file of such a name uploads under a key of its own.
    if find_bytes(key, FILENAME_VARIABLE).is_some()
        && find_byte(base_name(form.filename()), b';').is_some()
    {
        return Err(errors::invalid_argument(
            "A form's key takes the file's name (${filename}), which holds ';', where origins end the name differently: rename the file, or give the key without ${filename}.",
            KEY,
            &String::from_utf8_lossy(&expanded),
        ));
    }
    // As a path holding `%00` is refused (`plain_uri`): s3s-fs answers such a key 500, Garage
    // stores it, Ceph fails it (a review, 2026-12-05).
    if expanded.contains(&0) {
        return Err(errors::invalid_argument(
            "A form's key must not hold a NUL, which origins read differently.",
            KEY,
            &String::from_utf8_lossy(&expanded),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post_policy::test_forms::{
        self, head, head_with_parts, v4_fields, v4_policy, with, BUCKET, DATE, NOW,
    };
    use crate::s3_error::S3ErrorCode;

    /// The JavaScript SDK's `bucket` field must name the bucket posted to: the policy's
    /// `$bucket` is the request's, so only this check stops a form naming another one from
    /// reaching an origin that reads the field.
    #[test]
    fn a_bucket_field_names_the_bucket_posted_to() {
        let config = test_forms::config("reject");
        let signed = v4_fields(&v4_policy("a"), DATE, "s3");
        let form = head(&with(&[("key", "a"), ("bucket", BUCKET)], &signed));
        assert!(authorise(&config, &form, BUCKET, NOW).is_ok());
        let form = head(&with(&[("key", "a"), ("bucket", "other")], &signed));
        let refused = authorise(&config, &form, BUCKET, NOW).unwrap_err();
        assert_eq!(refused.error.code, S3ErrorCode::InvalidArgument);
    }

    /// A key with a `.` or `..` segment or a leading `/`, as written or as `${filename}` fills
    /// it, is refused, signed or anonymous: an origin storing keys as files would resolve it
    /// (attack runs, 2026-12-04); so is one holding a NUL. Dots elsewhere are a key like any
    /// other.
    #[test]
    fn a_form_s_key_has_no_dot_segment_nor_a_leading_slash() {
        let disposition = |name: &str| format!("Content-Disposition: form-data; name=\"{name}\"");
        let form = |key: &str, filename: &str, signed: bool| {
            let policy_key = key.replace('\\', "\\\\").replace('\0', "\\u0000");
            let fields = v4_fields(&v4_policy(&policy_key), DATE, "s3");
            let mut parts = vec![(disposition("key"), key.to_owned())];
            if signed {
                parts.extend(fields.iter().map(|(n, v)| (disposition(n), v.clone())));
            }
            let parts: Vec<(&str, &str)> = parts
                .iter()
                .map(|(h, v)| (h.as_str(), v.as_str()))
                .collect();
            test_forms::head_with_file(&parts, filename)
        };
        let config = test_forms::config("forward");
        for signed in [true, false] {
            for (key, filename) in [
                ("uploads/../evil.txt", "a.txt"),
                ("uploads/./a", "a.txt"),
                ("uploads/..", "a.txt"),
                ("../x", "a.txt"),
                ("uploads\\..\\x", "a.txt"),
                ("uploads/${filename}/x", ".."),
                ("uploads/${filename}", "."),
                ("/srv/data/other/evil.txt", "a.txt"),
                ("\\srv\\other", "a.txt"),
                // A NUL (a review, 2026-12-05; a file name holding one is refused with its part's header).
                ("uploads/a\u{0}b", "a.txt"),
                // Ceph ends a file name at a `;` (an attack run, 2026-12-06).
                ("uploads/${filename}", "a;b.txt"),
                ("${filename}", ";"),
                ("uploads/${filename}", "files/report.pdf;.exe"),
            ] {
                let refused =
                    authorise(&config, &form(key, filename, signed), BUCKET, NOW).expect_err(key);
                assert_eq!(refused.error.code, S3ErrorCode::InvalidArgument, "{key}");
            }
            for key in ["uploads/..x", "uploads/x..", "uploads/.hidden", "a...b/c"] {
                let passed = authorise(&config, &form(key, "a.txt", signed), BUCKET, NOW);
                assert!(passed.is_ok(), "{key}: {passed:?}");
            }
            // A `;` in a name no key takes, or before the base name, is the file's own (signed,
            // the test's policy names the key as written, which `${filename}` never matches).
            let own = [
                ("uploads/fixed", "a;b.txt"),
                ("uploads/${filename}", "d;x/a.txt"),
            ];
            for (key, filename) in own.into_iter().take(if signed { 1 } else { 2 }) {
                let passed = authorise(&config, &form(key, filename, signed), BUCKET, NOW);
                assert!(passed.is_ok(), "{key} {filename}: {passed:?}");
            }
        }
    }

    /// A form as browsers write it passes untouched (no head of the filter's); one whose
    /// field carries a `filename` reaches the origin without it, signed or anonymous, since
    /// origins that take the first part with a `filename` for the file would store the field.
    #[test]
    fn only_forms_written_otherwise_get_a_new_head() {
        let config = test_forms::config("forward");
        let signed = v4_fields(&v4_policy("a"), DATE, "s3");
        let signed: Vec<(&str, &str)> = with(&[("key", "a")], &signed);
        let anonymous = [("key", "a")];
        for fields in [&signed[..], &anonymous] {
            let plain = authorise(&config, &head(fields), BUCKET, NOW).unwrap();
            assert_eq!(plain.head, None);
            let disposition = |name: &str| {
                if name == "key" {
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"k\"")
                } else {
                    format!("Content-Disposition: form-data; name=\"{name}\"")
                }
            };
            let parts: Vec<(String, &str)> =
                fields.iter().map(|(n, v)| (disposition(n), *v)).collect();
            let parts: Vec<(&str, &str)> = parts.iter().map(|(h, v)| (h.as_str(), *v)).collect();
            let written_otherwise = head_with_parts(&parts);
            let out = authorise(&config, &written_otherwise, BUCKET, NOW)
                .unwrap()
                .head
                .expect("a new head");
            assert_eq!(out, head(fields).bytes());
        }
    }
}
