//! The form the origin gets. Its signature covers only the policy, never the host, so with
//! the client's own key pair and region the form goes on byte for byte. Otherwise:
//!
//! - **SigV4**: a new policy, the client's with every `x-amz-credential` condition set to the
//!   origin's credential (origin key, the client's credential date, the origin region), signed
//!   with the origin's signing key; the `policy`, `x-amz-credential` and `x-amz-signature`
//!   values change. `x-amz-date` and the expiration stay, so the origin enforces the same
//!   deadline (but never more than a week after now: `cap_expiration`).
//! - **SigV2** (`origin_signature_version: same`): the same policy (its expiration brought
//!   within a week, if further), signed with the origin secret; `AWSAccessKeyId` and
//!   `signature` change (and `policy`, when its expiration does).
//! - **SigV2 upgraded** (`origin_signature_version: v4`): the policy gains the three
//!   conditions SigV4 requires (`x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, dated
//!   now, region the origin's or `us-east-1`), `AWSAccessKeyId` and `signature` go, and the
//!   four SigV4 fields come in before the file.
//!
//! Nothing the client did not sign is added: the origin's policy allows exactly what the
//! client's did, for the origin's key.

use super::expiration;
use super::fields::{
    self, AWS_ACCESS_KEY_ID, POLICY, SIGNATURE, X_AMZ_CREDENTIAL, X_AMZ_SIGNATURE,
};
use super::form_head::Edit;
use super::verify::{Signer, Verified};
use crate::config::{Config, CredentialPair, OriginSignatureVersion};
use crate::rejection::Rejection;
use crate::sigv2::signature::sign as sign_v2;
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::credential::{Credential, Scope};
use crate::sigv4::presigned::MAX_EXPIRES_SECONDS;
use crate::sigv4::signing::ALGORITHM;
use crate::verify::SERVICE;
use base64::Engine;
use serde_json::Value;

/// The region a SigV2 form is signed for when upgraded without an `origin_region`.
const DEFAULT_REGION: &str = "us-east-1";
/// The SigV4 fields an upgraded form gets, spelt as botocore spells them.
const NEW_ALGORITHM: &str = "x-amz-algorithm";
const NEW_CREDENTIAL: &str = "x-amz-credential";
const NEW_DATE: &str = "x-amz-date";
const NEW_SIGNATURE: &str = "x-amz-signature";

/// The changes the origin's form needs; none when the client's signature holds there.
pub fn for_origin(
    config: &Config,
    verified: &Verified<'_, '_>,
    now: u64,
) -> Result<Vec<Edit>, Rejection> {
    match (&verified.signer, config.origin_signature_version) {
        (Signer::V4 { credential }, _) => v4_form(config, verified, credential, now),
        (Signer::V2, OriginSignatureVersion::Same) => v2_form(verified, now),
        (Signer::V2, OriginSignatureVersion::V4) => v2_form_upgraded(config, verified, now),
    }
}

/// A SigV4 form: signed again when the origin's key pair or region differs.
fn v4_form(
    config: &Config,
    verified: &Verified<'_, '_>,
    credential: &Credential<'_>,
    now: u64,
) -> Result<Vec<Edit>, Rejection> {
    let pair = verified.pair;
    let region = config
        .origin_region
        .as_deref()
        .unwrap_or(credential.scope.region);
    if same_keys(pair) && region == credential.scope.region {
        return Ok(Vec::new());
    }
    let origin = Credential {
        access_key_id: &pair.origin().access_key_id,
        scope: Scope {
            date: credential.scope.date,
            region,
            service: SERVICE,
        },
    };
    let credential_text = origin.to_string();
    let mut document = verified.policy.document().clone();
    set_credential_conditions(&mut document, &credential_text);
    cap_expiration(&mut document, verified.policy.expiration, now);
    let (policy, signature) = signed_v4(pair, &origin.scope, &document)?;
    Ok(vec![
        Edit::Set {
            name: POLICY,
            value: policy.into_bytes(),
        },
        Edit::Set {
            name: X_AMZ_CREDENTIAL,
            value: credential_text.into_bytes(),
        },
        Edit::Set {
            name: X_AMZ_SIGNATURE,
            value: signature.into_bytes(),
        },
    ])
}

/// A SigV2 form, signed with the origin's key pair when it differs.
fn v2_form(verified: &Verified<'_, '_>, now: u64) -> Result<Vec<Edit>, Rejection> {
    let pair = verified.pair;
    if same_keys(pair) {
        return Ok(Vec::new());
    }
    let origin = pair.origin();
    let mut document = verified.policy.document().clone();
    let mut edits = Vec::new();
    let signature = if cap_expiration(&mut document, verified.policy.expiration, now) {
        let policy = encode(&document)?;
        let signature = sign_v2(origin.secret.key(), policy.as_bytes());
        edits.push(Edit::Set {
            name: POLICY,
            value: policy.into_bytes(),
        });
        signature
    } else {
        sign_v2(origin.secret.key(), verified.policy_text)
    };
    edits.push(Edit::Set {
        name: AWS_ACCESS_KEY_ID,
        value: origin.access_key_id.clone().into_bytes(),
    });
    edits.push(Edit::Set {
        name: SIGNATURE,
        value: signature.to_base64().into_bytes(),
    });
    Ok(edits)
}

/// A SigV2 form made a SigV4 one, for origins that refuse SigV2: dated now, its policy
/// carrying the SigV4 fields as conditions.
fn v2_form_upgraded(
    config: &Config,
    verified: &Verified<'_, '_>,
    now: u64,
) -> Result<Vec<Edit>, Rejection> {
    let pair = verified.pair;
    let date = AmzDate::from_unix_seconds(now);
    let date_stamp = date.date_stamp();
    let date_text = date.to_string();
    let origin = Credential {
        access_key_id: &pair.origin().access_key_id,
        scope: Scope {
            date: &date_stamp,
            region: config.origin_region.as_deref().unwrap_or(DEFAULT_REGION),
            service: SERVICE,
        },
    };
    let credential_text = origin.to_string();
    let mut document = verified.policy.document().clone();
    cap_expiration(&mut document, verified.policy.expiration, now);
    if let Some(Value::Array(conditions)) = document.get_mut("conditions") {
        for (name, value) in [
            (NEW_ALGORITHM, ALGORITHM),
            (NEW_CREDENTIAL, credential_text.as_str()),
            (NEW_DATE, date_text.as_str()),
        ] {
            conditions.push(serde_json::json!({ name: value }));
        }
    }
    let (policy, signature) = signed_v4(pair, &origin.scope, &document)?;
    Ok(vec![
        Edit::Remove {
            name: AWS_ACCESS_KEY_ID,
        },
        Edit::Remove { name: SIGNATURE },
        // A SigV2 form may carry its own `x-amz-date` field (it marks no SigV4 form):
        // the origin would get two (an attack run found it, 2026-12-01).
        Edit::Remove { name: NEW_DATE },
        Edit::Set {
            name: POLICY,
            value: policy.into_bytes(),
        },
        Edit::Add {
            name: NEW_ALGORITHM,
            value: ALGORITHM.as_bytes().to_vec(),
        },
        Edit::Add {
            name: NEW_CREDENTIAL,
            value: credential_text.into_bytes(),
        },
        Edit::Add {
            name: NEW_DATE,
            value: date_text.into_bytes(),
        },
        Edit::Add {
            name: NEW_SIGNATURE,
            value: signature.into_bytes(),
        },
    ])
}

/// Sets the expiration of a policy the origin's key signs to a week after `now` at most, as
/// long as a SigV4 URL may live: S3 bounds no policy, and the origin-signed copy of one a
/// client key wrote for ten years would work at the origin that long, after the client key is
/// gone (a review, 2026-12-01). Whether it changed.
fn cap_expiration(document: &mut Value, expiration: u64, now: u64) -> bool {
    let latest = now.saturating_add(MAX_EXPIRES_SECONDS.into());
    let Some(map) = document.as_object_mut().filter(|_| expiration > latest) else {
        return false;
    };
    map.insert(
        "expiration".to_owned(),
        Value::from(expiration::format(latest)),
    );
    true
}

/// Whether the origin gets the client's own key pair.
fn same_keys(pair: &CredentialPair) -> bool {
    !pair.translates()
}

/// Every condition on `x-amz-credential`, in either form, now names `credential`.
fn set_credential_conditions(document: &mut Value, credential: &str) {
    let Some(Value::Array(conditions)) = document.get_mut("conditions") else {
        return;
    };
    for condition in conditions {
        match condition {
            Value::Object(map) => {
                for (name, value) in map.iter_mut() {
                    if fields::is(name, X_AMZ_CREDENTIAL) {
                        *value = Value::from(credential);
                    }
                }
            }
            Value::Array(items) => {
                let names_credential = matches!(
                    items.get(1),
                    Some(Value::String(name))
                        if name.strip_prefix('$').is_some_and(|n| fields::is(n, X_AMZ_CREDENTIAL))
                );
                if names_credential {
                    if let Some(value) = items.get_mut(2) {
                        *value = Value::from(credential);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The document as the form's `policy` field, and its SigV4 signature with the origin key.
fn signed_v4(
    pair: &CredentialPair,
    scope: &Scope<'_>,
    document: &Value,
) -> Result<(String, String), Rejection> {
    let policy = encode(document)?;
    let signature = pair
        .origin()
        .secret
        .signing_key(scope)
        .sign(policy.as_bytes())
        .to_hex();
    Ok((policy, signature))
}

/// The base64 of the document's JSON.
fn encode(document: &Value) -> Result<String, Rejection> {
    let json = serde_json::to_vec(document)
        .map_err(|e| Rejection::internal(format!("cannot write the origin's policy: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_conditions_are_replaced_in_both_forms_and_nothing_else() {
        let mut document = serde_json::json!({
            "expiration": "2026-01-01T00:00:00Z",
            "conditions": [
                {"X-Amz-Credential": "CK/20260101/us-east-1/s3/aws4_request"},
                ["eq", "$x-amz-credential", "CK/20260101/us-east-1/s3/aws4_request"],
                ["starts-with", "$X-AMZ-CREDENTIAL", "CK/"],
                ["eq", "x-amz-credential", "unchanged: no $"],
                {"key": "CK/20260101/us-east-1/s3/aws4_request"},
                ["content-length-range", 1, 2],
            ]
        });
        set_credential_conditions(&mut document, "OK/20260101/eu-west-3/s3/aws4_request");
        assert_eq!(
            document["conditions"],
            serde_json::json!([
                {"X-Amz-Credential": "OK/20260101/eu-west-3/s3/aws4_request"},
                ["eq", "$x-amz-credential", "OK/20260101/eu-west-3/s3/aws4_request"],
                ["starts-with", "$X-AMZ-CREDENTIAL", "OK/20260101/eu-west-3/s3/aws4_request"],
                ["eq", "x-amz-credential", "unchanged: no $"],
                {"key": "CK/20260101/us-east-1/s3/aws4_request"},
                ["content-length-range", 1, 2],
            ])
        );
    }

    #[test]
    fn an_expiration_past_a_week_from_now_is_brought_to_it_and_no_other() {
        let now = 1_795_953_600; // 2026-11-29T12:00:00Z
        let week = now + 604_800;
        let written = "2036-11-29T12:00:00.000Z";
        for (expiration, capped) in [(now + 600, false), (week, false), (week + 1, true)] {
            let mut document = serde_json::json!({"expiration": written, "conditions": []});
            assert_eq!(
                cap_expiration(&mut document, expiration, now),
                capped,
                "{expiration}"
            );
            let want = if capped {
                "2026-12-06T12:00:00.000Z"
            } else {
                written
            };
            assert_eq!(document["expiration"], want, "{expiration}");
        }
    }
}
