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

/// How the form authenticated: the label of its counter and log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostAuth {
    SigV4,
    SigV2,
    /// No signature: forwarded as `anonymous: forward` allows, for the origin to judge.
    Anonymous,
}

impl PostAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            PostAuth::SigV4 => "post_policy_v4",
            PostAuth::SigV2 => "post_policy_v2",
            PostAuth::Anonymous => "post_anonymous",
        }
    }
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
