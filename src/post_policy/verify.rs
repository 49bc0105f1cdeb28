//! Who signed the form, and whether the signature over its policy holds.
//!
//! - **SigV4** (sigv4-authentication-HTTPPOST): `x-amz-algorithm` = `AWS4-HMAC-SHA256`,
//!   `x-amz-credential` = `<key>/<date>/<region>/s3/aws4_request`, `x-amz-date`, and
//!   `x-amz-signature` = hex HMAC-SHA256 under the credential's signing key of the `policy`
//!   field exactly as sent (the base64 text, not the JSON).
//! - **SigV2** (HTTPPOSTForms, "Constructing a Signature"): `AWSAccessKeyId`, and `signature` =
//!   base64 HMAC-SHA1 under the secret of the same base64 text.
//! - A form with neither is anonymous: S3 ignores its policy and treats it as an unsigned
//!   request (403 on a private bucket).
//!
//! The order of the checks is S3's: the fields a scheme needs (400 `InvalidArgument`, naming
//! the first one missing), the key (403 `InvalidAccessKeyId`), the signature over the policy
//! text as received (403 `SignatureDoesNotMatch`: a policy cut short is a bad signature, not a
//! bad document), then the policy document (400 `InvalidPolicyDocument`) and its expiration
//! (403). Signatures are compared in constant time.

use super::errors;
use super::fields::{
    self, AWS_ACCESS_KEY_ID, KEY, POLICY, SESSION_TOKEN, SIGNATURE, X_AMZ_ALGORITHM,
    X_AMZ_CREDENTIAL, X_AMZ_DATE, X_AMZ_SIGNATURE,
};
use super::form_head::FormHead;
use super::policy::Policy;
use crate::config::{Config, CredentialPair};
use crate::rejection::Rejection;
use crate::s3_error::S3ErrorCode;
use crate::sigv2::signature::{sign as sign_v2, SignatureV2};
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::credential::Credential;
use crate::sigv4::signature::Signature;
use crate::sigv4::signing::ALGORITHM;
use crate::verify::SERVICE;

const ECDSA_ALGORITHM: &str = "AWS4-ECDSA-P256-SHA256";

/// How the form was signed.
#[derive(Debug)]
pub enum Signer<'h> {
    V4 { credential: Credential<'h> },
    V2,
}

/// A signed form whose signature holds and whose policy is readable and unexpired.
#[derive(Debug)]
pub struct Verified<'h, 'c> {
    pub signer: Signer<'h>,
    pub pair: &'c CredentialPair,
    /// The `policy` field as sent: what was signed.
    pub policy_text: &'h [u8],
    pub policy: Policy,
}

impl Verified<'_, '_> {
    pub fn access_key_id(&self) -> &str {
        &self.pair.client.access_key_id
    }
}

#[derive(Debug)]
pub enum Verdict<'h, 'c> {
    /// No signature at all.
    Anonymous,
    Signed(Verified<'h, 'c>),
}

pub fn verify<'h, 'c>(
    config: &'c Config,
    form: &'h FormHead,
    now: u64,
) -> Result<Verdict<'h, 'c>, Rejection> {
    // Two values for one name are two readings: S3 joins them with commas for the policy,
    // an origin may take either one.
    if let Some(name) = form.repeated() {
        return Err(errors::invalid_argument(
            format!("The form field '{name}' is sent more than once; send each field once."),
            name,
            "",
        ));
    }
    let v4 = [X_AMZ_ALGORITHM, X_AMZ_CREDENTIAL, X_AMZ_SIGNATURE]
        .iter()
        .any(|f| form.has(f));
    let v2 = [AWS_ACCESS_KEY_ID, SIGNATURE].iter().any(|f| form.has(f));
    if v4 && v2 {
        return Err(Rejection::new(
            S3ErrorCode::InvalidArgument,
            "Only one auth mechanism allowed; send either the X-Amz-* fields (Signature Version 4) or AWSAccessKeyId and Signature (Signature Version 2).",
        ));
    }
    // Before the signature: a form whose file comes first has no fields at all, and "sign the
    // policy" would send its author looking for a signing bug (a walk-through, 2026-12-01).
    if !form.has(KEY) {
        return Err(errors::missing_field(KEY));
    }
    if !v4 && !v2 {
        return Ok(Verdict::Anonymous);
    }
    let verified = if v4 {
        v4_form(config, form)?
    } else {
        v2_form(config, form)?
    };
    // Expired from the second it names on, as Ceph and MinIO count it (and a URL's expiry).
    if now >= verified.policy.expiration {
        return Err(errors::expired().for_key(verified.access_key_id()));
    }
    // A session token would go on with the form, beside the origin's key (as a header's or a
    // URL's would: `gateway::screen::no_session_token`).
    if form.has(SESSION_TOKEN) {
        return Err(Rejection::new(
            S3ErrorCode::InvalidToken,
            "Session tokens (the x-amz-security-token field) are not accepted: sign the policy with a long-term key pair of this endpoint, without a token.",
        )
        .for_key(verified.access_key_id()));
    }
    Ok(Verdict::Signed(verified))
}

fn required<'h>(form: &'h FormHead, name: &str) -> Result<&'h [u8], Rejection> {
    form.value(name).ok_or_else(|| errors::missing_field(name))
}

fn text<'h>(value: &'h [u8], name: &str) -> Result<&'h str, Rejection> {
    std::str::from_utf8(value).map_err(|_| {
        errors::invalid_argument(
            format!("{name} is not UTF-8."),
            name,
            &String::from_utf8_lossy(value),
        )
    })
}

fn v4_form<'h, 'c>(config: &'c Config, form: &'h FormHead) -> Result<Verified<'h, 'c>, Rejection> {
    let algorithm = required(form, X_AMZ_ALGORITHM)?;
    let credential_text = required(form, X_AMZ_CREDENTIAL)?;
    let date_text = required(form, X_AMZ_DATE)?;
    let signature = required(form, X_AMZ_SIGNATURE)?;
    let policy_text = required(form, POLICY)?;
    match algorithm {
        a if a == ALGORITHM.as_bytes() => {}
        a if a == ECDSA_ALGORITHM.as_bytes() => {
            return Err(Rejection::new(
                S3ErrorCode::NotImplemented,
                "Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported.",
            ))
        }
        other => {
            return Err(errors::invalid_argument(
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
                X_AMZ_ALGORITHM,
                &String::from_utf8_lossy(other),
            ))
        }
    }
    let credential_text = text(credential_text, X_AMZ_CREDENTIAL)?;
    let bad_credential =
        |why: String| errors::invalid_argument(why, X_AMZ_CREDENTIAL, credential_text);
    let credential =
        Credential::parse(credential_text).map_err(|e| bad_credential(e.to_string()))?;
    if credential.scope.service != SERVICE {
        return Err(bad_credential(format!(
            "the credential is scoped to the service '{}'; expected 's3'",
            credential.scope.service
        )));
    }
    let date = AmzDate::parse(date_text).map_err(|_| {
        errors::invalid_argument(
            "X-Amz-Date must be formatted via ISO8601 Long format",
            X_AMZ_DATE,
            &String::from_utf8_lossy(date_text),
        )
    })?;
    if credential.scope.date != date.date_stamp() {
        return Err(bad_credential(format!(
            "the credential date {} is not the date of X-Amz-Date {date}",
            credential.scope.date
        )));
    }
    let pair = config
        .credential(credential.access_key_id)
        .ok_or_else(|| errors::unknown_key(credential.access_key_id))?;
    let secret = pair
        .client
        .secret
        .as_ref()
        .ok_or_else(crate::verify::no_client_secret)?;
    let expected = secret.signing_key(&credential.scope).sign(policy_text);
    let holds = Signature::from_hex(signature).is_ok_and(|claimed| expected.verifies(&claimed));
    if !holds {
        return Err(errors::signature_mismatch(credential.access_key_id));
    }
    let policy = Policy::parse(policy_text).map_err(|r| r.for_key(credential.access_key_id))?;
    Ok(Verified {
        signer: Signer::V4 { credential },
        pair,
        policy_text,
        policy,
    })
}

fn v2_form<'h, 'c>(config: &'c Config, form: &'h FormHead) -> Result<Verified<'h, 'c>, Rejection> {
    let access_key_id = required(form, AWS_ACCESS_KEY_ID)?;
    let signature = required(form, SIGNATURE)?;
    let policy_text = required(form, POLICY)?;
    let access_key_id = text(access_key_id, AWS_ACCESS_KEY_ID)?;
    let pair = config
        .credential(access_key_id)
        .ok_or_else(|| errors::unknown_key(access_key_id))?;
    let secret = pair
        .client
        .secret
        .as_ref()
        .ok_or_else(crate::verify::no_client_secret)?;
    let expected = sign_v2(secret.key(), policy_text);
    let holds =
        SignatureV2::from_base64(signature).is_ok_and(|claimed| expected.verifies(&claimed));
    if !holds {
        return Err(errors::signature_mismatch(access_key_id));
    }
    let policy = Policy::parse(policy_text).map_err(|r| r.for_key(access_key_id))?;
    Ok(Verified {
        signer: Signer::V2,
        pair,
        policy_text,
        policy,
    })
}

/// The fields a policy need not cover under `signer`'s scheme.
pub fn exempt(signer: &Signer<'_>) -> &'static [&'static str] {
    match signer {
        Signer::V4 { .. } => &fields::EXEMPT_V4,
        Signer::V2 => &fields::EXEMPT_V2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post_policy::test_forms::{
        self, head, v2_fields, v4_fields, v4_policy, with, DATE, KEY, NOW,
    };

    fn outcome(fields: &[(&str, &str)], now: u64) -> Result<&'static str, (S3ErrorCode, String)> {
        let config = test_forms::config("forward");
        let form = head(fields);
        match verify(&config, &form, now) {
            Ok(Verdict::Anonymous) => Ok("anonymous"),
            Ok(Verdict::Signed(v)) => {
                assert_eq!(v.access_key_id(), KEY);
                assert_eq!(v.policy_text, form.value(POLICY).unwrap());
                Ok(match v.signer {
                    Signer::V4 { .. } => "v4",
                    Signer::V2 => "v2",
                })
            }
            Err(r) => Err((r.error.code, r.into_error().message)),
        }
    }

    fn code(fields: &[(&str, &str)]) -> S3ErrorCode {
        outcome(fields, NOW).unwrap_err().0
    }

    /// A form posted the second before its expiration's holds, one posted in that second is
    /// expired, as Ceph and MinIO count it (the policy here expires a second after `NOW`; a
    /// mutated comparison once passed every unit test).
    #[test]
    fn a_policy_holds_until_its_expirations_second() {
        let v4 = v4_fields(&v4_policy("a"), DATE, "s3");
        let v2 = v2_fields(&v4_policy("a"));
        for signed in [&v4, &v2] {
            let fields = with(&[("key", "a")], signed);
            assert!(outcome(&fields, NOW - 1).is_ok());
            assert!(outcome(&fields, NOW).is_ok());
            assert_eq!(
                outcome(&fields, NOW + 1),
                Err((
                    S3ErrorCode::AccessDenied,
                    "Invalid according to Policy: Policy expired.".to_owned()
                ))
            );
        }
    }

    /// Which scheme a form uses is decided by any one of its fields, both at once are refused,
    /// neither is anonymous; a `key` is needed either way.
    #[test]
    fn one_scheme_at_a_time_and_none_is_anonymous() {
        let v4 = v4_fields(&v4_policy("a"), DATE, "s3");
        let v2 = v2_fields(&v4_policy("a"));
        assert_eq!(outcome(&with(&[("key", "a")], &v4), NOW), Ok("v4"));
        assert_eq!(outcome(&with(&[("key", "a")], &v2), NOW), Ok("v2"));
        assert_eq!(outcome(&[("key", "a"), ("acl", "x")], NOW), Ok("anonymous"));
        let both: Vec<(String, String)> = v4.iter().chain(&v2[..1]).cloned().collect();
        assert_eq!(
            code(&with(&[("key", "a")], &both)),
            S3ErrorCode::InvalidArgument
        );
        // One field of a scheme is that scheme, the others then missing.
        for lone in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"] {
            let (code, message) = outcome(&[("key", "a"), (lone, "x")], NOW).unwrap_err();
            assert_eq!(code, S3ErrorCode::InvalidArgument, "{lone}");
            assert!(message.contains("must contain a field named"), "{message}");
        }
        for lone in ["AWSAccessKeyId", "Signature"] {
            assert_eq!(
                code(&[("key", "a"), (lone, "x")]),
                S3ErrorCode::InvalidArgument,
                "{lone}"
            );
        }
        // No key: named before the signature is looked at, signed or not.
        for fields in [&v4[..], &v2[..], &[]] {
            let (code, message) = outcome(&with(&[], fields), NOW).unwrap_err();
            assert_eq!(code, S3ErrorCode::InvalidArgument);
            assert!(message.contains("'key'"), "{message}");
        }
    }

    /// Each SigV4 field is read for what it says: the algorithm, the credential's service and
    /// date, the signature; a SigV2 signature likewise.
    #[test]
    fn a_signature_holds_for_its_own_algorithm_scope_and_policy_only() {
        let policy = v4_policy("a");
        let set = |fields: &[(String, String)], name: &str, value: &str| -> Vec<(String, String)> {
            fields
                .iter()
                .map(|(n, v)| {
                    (
                        n.clone(),
                        if n == name {
                            value.to_owned()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect()
        };
        let v4 = v4_fields(&policy, DATE, "s3");
        let refused = |fields: &[(String, String)]| code(&with(&[("key", "a")], fields));
        assert_eq!(
            refused(&set(&v4, "X-Amz-Algorithm", "AWS4-HMAC-SHA1")),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            refused(&set(&v4, "X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256")),
            S3ErrorCode::NotImplemented
        );
        // Signed as it claims, but for another service, or dated another day than X-Amz-Date.
        assert_eq!(
            refused(&v4_fields(&policy, DATE, "iam")),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            refused(&set(&v4, "X-Amz-Date", "20261130T120000Z")),
            S3ErrorCode::InvalidArgument
        );
        let other = v4_fields(&v4_policy("b"), DATE, "s3");
        let signature = &other[4].1;
        assert_eq!(
            refused(&set(&v4, "X-Amz-Signature", signature)),
            S3ErrorCode::SignatureDoesNotMatch
        );
        let v2 = v2_fields(&policy);
        let other = v2_fields(&v4_policy("b"));
        assert_eq!(
            refused(&set(&v2, "Signature", &other[2].1)),
            S3ErrorCode::SignatureDoesNotMatch
        );
    }

    /// What a policy need not name differs by scheme: a SigV2 form's `AWSAccessKeyId` is not
    /// a SigV4 form's to send unnamed.
    #[test]
    fn each_scheme_has_its_own_exempt_fields() {
        let config = test_forms::config("forward");
        let v4 = v4_fields(&v4_policy("a"), DATE, "s3");
        let form = head(&with(&[("key", "a")], &v4));
        let Ok(Verdict::Signed(v)) = verify(&config, &form, NOW) else {
            panic!("not signed")
        };
        assert_eq!(exempt(&v.signer), &fields::EXEMPT_V4);
        let v2 = v2_fields(&v4_policy("a"));
        let form = head(&with(&[("key", "a")], &v2));
        let Ok(Verdict::Signed(v)) = verify(&config, &form, NOW) else {
            panic!("not signed")
        };
        assert_eq!(exempt(&v.signer), &fields::EXEMPT_V2);
    }
}
