//! The POST policy: a base64 JSON document with an `expiration` and a list of `conditions`
//! (sigv4-HTTPPOSTConstructPolicy; HTTPPOSTForms for SigV2):
//!
//! ```json
//! { "expiration": "2015-12-30T12:00:00.000Z",
//!   "conditions": [ {"bucket": "sigv4examplebucket"},
//!                   ["starts-with", "$key", "user/user1/"],
//!                   ["eq", "$acl", "public-read"],
//!                   ["content-length-range", 1048576, 10485760] ] }
//! ```
//!
//! Parsing follows what S3 answers (400 `InvalidPolicyDocument`, "Invalid Policy: …"): strict
//! JSON (a repeated key is refused too: two readers could each take another copy), the two
//! members only, a simple condition with exactly one string-valued property, `eq` and
//! `starts-with` with three items, and `content-length-range` with whole numbers (S3 reads
//! `"5"` as 5 and refuses `512.0` as invalid JSON; a bound it cannot read fails the condition
//! with 403 instead). Operation and field names are case-insensitive, values are not.

use super::errors::invalid_policy;
use super::expiration;
use crate::config::strict_json;
use crate::redact;
use crate::rejection::Rejection;
use base64::Engine;
use serde_json::Value;

/// The parsed policy, and the document it came from (for the origin's copy).
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Unix seconds; the policy is valid through this second.
    pub expiration: u64,
    pub conditions: Vec<Condition>,
    document: Value,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `{"name": "value"}`, `["eq", "$name", "value"]` or `["starts-with", "$name", "prefix"]`.
    Match(Match),
    /// `["content-length-range", min, max]`, both inclusive.
    LengthRange(LengthRange),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    StartsWith,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub op: Op,
    /// The operation as written (`eq` for a simple condition).
    pub op_text: String,
    /// The field as written, `$` included (added for a simple condition).
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LengthRange {
    pub min: Bound,
    pub max: Bound,
    /// The three items as written, for the error message.
    written: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Bytes(u64),
    /// A string that is not a number: the condition can never hold.
    Unreadable,
}

/// The sizes a policy allows the file, both inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeRange {
    pub min: u64,
    pub max: u64,
}

impl SizeRange {
    pub const ANY: SizeRange = SizeRange {
        min: 0,
        max: u64::MAX,
    };
}

impl Match {
    /// The field the condition names: `name` without its `$`, or `None` when it has none (S3
    /// then fails the condition).
    pub fn field(&self) -> Option<&str> {
        self.name.strip_prefix('$')
    }

    /// As S3 prints it: `["eq", "$key", "user/a.txt"]`, but for a credential's value (an SSE-C
    /// customer key a policy pins), which the message would carry into the log (an attack run,
    /// 2026-12-01).
    pub fn render(&self) -> String {
        // Whatever its `$`s: a condition on `$$name` or a bare `name` never holds, and its value
        // is quoted all the same (a review).
        let secret = redact::is_secret_header(self.name.trim_start_matches('$'));
        render(&[
            Value::from(self.op_text.as_str()),
            Value::from(self.name.as_str()),
            Value::from(if secret { redact::MASK } else { &self.value }),
        ])
    }
}

impl LengthRange {
    pub fn render(&self) -> &str {
        &self.written
    }
}

impl Policy {
    /// Decodes and parses the `policy` field as sent.
    pub fn parse(encoded: &[u8]) -> Result<Policy, Rejection> {
        let json = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| invalid_policy("invalid Base64 encoding."))?;
        Self::from_json(&json)
    }

    pub fn from_json(json: &[u8]) -> Result<Policy, Rejection> {
        let document = strict_json::parse(json).map_err(|_| invalid_json())?;
        let Value::Object(top) = &document else {
            return Err(invalid_json());
        };
        if let Some(other) = top
            .keys()
            .find(|k| k.as_str() != "expiration" && k.as_str() != "conditions")
        {
            return Err(invalid_policy(&format!(
                "Unexpected: '{}'",
                other.to_lowercase()
            )));
        }
        let expiration = match top.get("expiration") {
            None => return Err(invalid_policy("Policy missing expiration.")),
            Some(Value::String(text)) => expiration::parse(text)
                .ok_or_else(|| invalid_policy(&format!("Invalid 'expiration' value: '{text}'")))?,
            Some(other) => {
                return Err(invalid_policy(&format!(
                    "Invalid 'expiration' value: '{other}'"
                )))
            }
        };
        let conditions = match top.get("conditions") {
            None => return Err(invalid_policy("Policy missing conditions.")),
            Some(Value::Array(items)) => {
                items.iter().map(condition).collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => {
                return Err(invalid_policy(
                    "Invalid 'conditions' value: must be a List.",
                ))
            }
        };
        Ok(Policy {
            expiration,
            conditions,
            document,
        })
    }

    /// The JSON document as the client signed it (parsed).
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Each `Match` condition.
    pub fn matches(&self) -> impl Iterator<Item = &Match> {
        self.conditions.iter().filter_map(|c| match c {
            Condition::Match(m) => Some(m),
            Condition::LengthRange(_) => None,
        })
    }
}

fn invalid_json() -> Rejection {
    invalid_policy("Invalid JSON.")
}

fn condition(value: &Value) -> Result<Condition, Rejection> {
    match value {
        Value::Object(map) => {
            let mut properties = map.iter();
            let (Some((name, value)), None) = (properties.next(), properties.next()) else {
                return Err(invalid_policy(
                    "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
                ));
            };
            match value {
                Value::String(value) => Ok(Condition::Match(Match {
                    op: Op::Eq,
                    op_text: "eq".to_owned(),
                    name: format!("${name}"),
                    value: value.clone(),
                })),
                Value::Null => Err(invalid_json()),
                _ => Err(invalid_policy(
                    "Invalid Simple-Condition: value must be a string.",
                )),
            }
        }
        Value::Array(items) => {
            let Some(Value::String(op_text)) = items.first() else {
                return Err(invalid_policy(
                    "Invalid Condition: missing operation identifier.",
                ));
            };
            let op = if op_text.eq_ignore_ascii_case("eq") {
                Op::Eq
            } else if op_text.eq_ignore_ascii_case("starts-with") {
                Op::StartsWith
            } else if op_text.eq_ignore_ascii_case("content-length-range") {
                return length_range(items, op_text);
            } else {
                return Err(invalid_policy(&format!(
                    "Invalid Condition: unknown operation '{op_text}'."
                )));
            };
            let [_, Value::String(name), Value::String(value)] = items.as_slice() else {
                return Err(if items.len() == 3 {
                    invalid_json()
                } else {
                    invalid_policy(&format!("Invalid {op_text}: wrong number of arguments."))
                });
            };
            Ok(Condition::Match(Match {
                op,
                op_text: op_text.clone(),
                name: name.clone(),
                value: value.clone(),
            }))
        }
        _ => Err(invalid_policy(
            "Invalid condition test: must be a List or Object.",
        )),
    }
}

fn length_range(items: &[Value], op_text: &str) -> Result<Condition, Rejection> {
    let [_, min, max] = items else {
        return Err(invalid_policy(&format!(
            "Invalid {op_text}: wrong number of arguments."
        )));
    };
    Ok(Condition::LengthRange(LengthRange {
        min: bound(min)?,
        max: bound(max)?,
        written: render(items),
    }))
}

fn bound(value: &Value) -> Result<Bound, Rejection> {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(bytes), _) => Ok(Bound::Bytes(bytes)),
            (None, Some(_)) => Err(invalid_policy(
                "Invalid content-length-range: the bounds must not be negative.",
            )),
            (None, None) => Err(invalid_json()),
        },
        Value::String(text) => {
            let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            Ok(match text.parse::<u64>() {
                Ok(bytes) if digits => Bound::Bytes(bytes),
                _ => Bound::Unreadable,
            })
        }
        _ => Err(invalid_json()),
    }
}

/// `["a", "b", 1]`: JSON items joined by `, `, as S3 prints a condition.
fn render(items: &[Value]) -> String {
    let items: Vec<String> = items.iter().map(Value::to_string).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3_error::S3ErrorCode;

    fn policy(conditions: &str) -> Result<Policy, Rejection> {
        Policy::from_json(
            format!(r#"{{"expiration": "2026-11-29T12:00:00.000Z", "conditions": {conditions}}}"#)
                .as_bytes(),
        )
    }

    fn message(result: Result<Policy, Rejection>) -> String {
        let rejection = result.unwrap_err();
        assert_eq!(rejection.error.code, S3ErrorCode::InvalidPolicyDocument);
        rejection.into_error().message
    }

    #[test]
    fn reads_every_condition_form() {
        let p = policy(
            r#"[{"bucket": "b"}, ["starts-with", "$key", "user/"], ["EQ", "$Content-Type", "image/png"],
                ["Starts-With", "$x-amz-meta-tag", ""], ["content-length-range", 1, "10"],
                ["eq", "acl", "private"]]"#,
        )
        .unwrap();
        assert_eq!(p.expiration, 1_795_953_600);
        assert_eq!(p.conditions.len(), 6);
        let matches: Vec<(Op, Option<&str>, &str)> = p
            .matches()
            .map(|m| (m.op, m.field(), m.value.as_str()))
            .collect();
        assert_eq!(
            matches,
            [
                (Op::Eq, Some("bucket"), "b"),
                (Op::StartsWith, Some("key"), "user/"),
                (Op::Eq, Some("Content-Type"), "image/png"),
                (Op::StartsWith, Some("x-amz-meta-tag"), ""),
                (Op::Eq, None, "private"),
            ]
        );
        let Condition::LengthRange(range) = &p.conditions[4] else {
            panic!("not a range")
        };
        assert_eq!((range.min, range.max), (Bound::Bytes(1), Bound::Bytes(10)));
        assert_eq!(range.render(), r#"["content-length-range", 1, "10"]"#);
        assert_eq!(
            p.matches().next().unwrap().render(),
            r#"["eq", "$bucket", "b"]"#
        );
        assert_eq!(
            p.matches().nth(2).unwrap().render(),
            r#"["EQ", "$Content-Type", "image/png"]"#
        );
        // A customer key the policy pins is not written out: the message reaches the log.
        let p = policy(
            r#"[{"X-Amz-Server-Side-Encryption-Customer-Key": "S0VZ"}, ["starts-with", "$x-amz-security-token", "t"], ["eq", "x-amz-security-token", "u"], {"$$x-amz-server-side-encryption-customer-key": "v"}]"#,
        )
        .unwrap();
        let rendered: Vec<String> = p.matches().map(Match::render).collect();
        assert_eq!(
            rendered,
            [
                r#"["eq", "$X-Amz-Server-Side-Encryption-Customer-Key", "*****"]"#,
                r#"["starts-with", "$x-amz-security-token", "*****"]"#,
                r#"["eq", "x-amz-security-token", "*****"]"#,
                r#"["eq", "$$$x-amz-server-side-encryption-customer-key", "*****"]"#
            ]
        );
    }

    /// The document is kept as parsed: the origin's copy of the policy is written from it
    /// (made `null`, only the re-signing integration tests noticed).
    #[test]
    fn keeps_the_document_it_read() {
        let p = policy(r#"[{"key": "a"}, ["content-length-range", 1, 2]]"#).unwrap();
        assert_eq!(
            p.document(),
            &serde_json::json!({
                "expiration": "2026-11-29T12:00:00.000Z",
                "conditions": [{"key": "a"}, ["content-length-range", 1, 2]]
            })
        );
    }

    #[test]
    fn unreadable_bounds_fail_later_and_numbers_that_are_not_whole_are_invalid() {
        let p = policy(r#"[["content-length-range", "test", "10"]]"#).unwrap();
        let Condition::LengthRange(range) = &p.conditions[0] else {
            panic!()
        };
        assert_eq!(range.min, Bound::Unreadable);
        for bound in [
            r#""-1""#,
            r#""+1""#,
            r#""1.0""#,
            r#""""#,
            r#""99999999999999999999""#,
        ] {
            let p = policy(&format!(r#"[["content-length-range", {bound}, 10]]"#)).unwrap();
            assert!(
                matches!(&p.conditions[0], Condition::LengthRange(r) if r.min == Bound::Unreadable),
                "{bound}"
            );
        }
        assert_eq!(
            message(policy(r#"[["content-length-range", 0, 512.0]]"#)),
            "Invalid Policy: Invalid JSON."
        );
        assert!(message(policy(r#"[["content-length-range", -1, 0]]"#)).contains("negative"));
        assert_eq!(
            message(policy(r#"[["content-length-range", 0]]"#)),
            "Invalid Policy: Invalid content-length-range: wrong number of arguments."
        );
    }

    #[test]
    fn refuses_documents_s3_refuses_with_its_words() {
        let cases = [
            (r#"{"expiration": "2026-11-29T12:00:00Z"}"#, "Invalid Policy: Policy missing conditions."),
            (r#"{"conditions": []}"#, "Invalid Policy: Policy missing expiration."),
            (r#"{"EXPIRATION": "2026-11-29T12:00:00Z", "conditions": []}"#, "Invalid Policy: Unexpected: 'expiration'"),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [], "Statement": []}"#, "Invalid Policy: Unexpected: 'statement'"),
            (r#"{"expiration": "2026-11-29 12:00:00 UTC", "conditions": []}"#, "Invalid Policy: Invalid 'expiration' value: '2026-11-29 12:00:00 UTC'"),
            (r#"{"expiration": 5, "conditions": []}"#, "Invalid Policy: Invalid 'expiration' value: '5'"),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": {}}"#, "Invalid Policy: Invalid 'conditions' value: must be a List."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [{}]}"#, "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [{"a": "1", "b": "2"}]}"#, "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [{"Content-Length": 6199034}]}"#, "Invalid Policy: Invalid Simple-Condition: value must be a string."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [{"success_action_redirect": null}]}"#, "Invalid Policy: Invalid JSON."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [[]]}"#, "Invalid Policy: Invalid Condition: missing operation identifier."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [["in", "$key", "a"]]}"#, "Invalid Policy: Invalid Condition: unknown operation 'in'."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [["eq", "$key"]]}"#, "Invalid Policy: Invalid eq: wrong number of arguments."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [["starts-with", "$key", 1]]}"#, "Invalid Policy: Invalid JSON."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": ["key"]}"#, "Invalid Policy: Invalid condition test: must be a List or Object."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [], "conditions": []}"#, "Invalid Policy: Invalid JSON."),
            (r#"{"expiration": "2026-11-29T12:00:00Z", "conditions": [["starts-with", "$key", "a"],]}"#, "Invalid Policy: Invalid JSON."),
            (r#"[]"#, "Invalid Policy: Invalid JSON."),
            ("\u{feff}{}", "Invalid Policy: Invalid JSON."),
        ];
        for (json, want) in cases {
            assert_eq!(message(Policy::from_json(json.as_bytes())), want, "{json}");
        }
        assert_eq!(
            message(Policy::parse(b"eyJ9")),
            "Invalid Policy: Invalid JSON."
        );
        assert_eq!(
            message(Policy::parse(b"not base64!")),
            "Invalid Policy: invalid Base64 encoding."
        );
        assert_eq!(
            message(Policy::parse(b"e30")),
            "Invalid Policy: invalid Base64 encoding."
        );
    }
}
