//! The verdict on a form's head: verify its signature and policy, check every condition, and
//! write the head the origin gets.

use super::conditions;
use super::errors;
use super::fields::BUCKET;
use super::form_head::FormHead;
use super::policy::SizeRange;
use super::resign;
use super::verify::{self, Signer, Verdict};
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
    let verified = match verify::verify(config, form, now)? {
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
