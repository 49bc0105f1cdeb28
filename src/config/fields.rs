//! One JSON object's fields, taken one by one so that every error names its field (with its
//! path, `credentials[0].secret_access_key`) and never quotes a value: it may be a secret.

use super::{check_access_key_id, strict_json, ConfigError, Env, KeyPair, Role};
use crate::sigv4::signing::{Secret, SecretKey};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The fields of one JSON object, taken one by one so that each error names its field.
pub(super) struct Fields<'p> {
    map: Map<String, Value>,
    prefix: &'p str,
}

impl<'p> Fields<'p> {
    pub(super) fn new(map: Map<String, Value>, prefix: &'p str) -> Self {
        Fields { map, prefix }
    }

    pub(super) fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    pub(super) fn optional<T: DeserializeOwned>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let found = kind_of(&value);
                serde_json::from_value(value).map(Some).map_err(|e| {
                    // serde quotes the value it could not take: that can be a secret.
                    let why = e.to_string();
                    let why = match why.split_once(", expected ") {
                        Some((given, expected)) => {
                            // serde names the kind of a nested value it refused (`invalid
                            // type: integer `5``): that kind, without the value.
                            let found = given
                                .strip_prefix("invalid type: ")
                                .and_then(|kind| kind.split([' ', ',']).next())
                                .unwrap_or(found);
                            format!("expected {expected}, found {found}")
                        }
                        None => why,
                    };
                    ConfigError::new(self.path(name), why)
                })
            }
        }
    }

    pub(super) fn required<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, ConfigError> {
        self.optional(name)?
            .ok_or_else(|| ConfigError::new(self.path(name), "is required"))
    }

    /// A field that does not belong in a filter of `role`.
    pub(super) fn refuse(&self, role: Role, name: &str) -> Result<(), ConfigError> {
        if !self.map.contains_key(name) {
            return Ok(());
        }
        let why = match role {
            Role::Edge => "an edge filter only verifies; this belongs to the origin filters",
            Role::Origin => "an origin filter only re-signs what the edge verified; this belongs to the edge filter",
            Role::Standalone => "not allowed here",
        };
        Err(ConfigError::new(self.path(name), why))
    }

    pub(super) fn no_others(&self) -> Result<(), ConfigError> {
        match self.map.keys().next() {
            Some(unknown) => Err(ConfigError::new(self.path(unknown), "unknown field")),
            None => Ok(()),
        }
    }

    pub(super) fn key_pair(
        &mut self,
        id: &str,
        secret: &str,
        env: Env<'_>,
    ) -> Result<KeyPair, ConfigError> {
        let access_key_id = self.required::<String>(id)?;
        self.key_pair_with_id(access_key_id, id, secret, env)
    }

    /// The secret comes inline (`<secret>`) or from the VM environment (`<secret>_env`).
    pub(super) fn key_pair_with_id(
        &mut self,
        access_key_id: String,
        id: &str,
        secret: &str,
        env: Env<'_>,
    ) -> Result<KeyPair, ConfigError> {
        check_access_key_id(&access_key_id).map_err(|r| ConfigError::new(self.path(id), r))?;
        let secret_env = format!("{secret}_env");
        let value = match (
            self.optional::<String>(secret)?,
            self.optional::<String>(&secret_env)?,
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    self.path(secret),
                    format!("give either {secret} or {secret_env}, not both"),
                ))
            }
            (Some(inline), None) => inline,
            (None, Some(var)) => env(&var).filter(|v| !v.is_empty()).ok_or_else(|| {
                ConfigError::new(
                    self.path(&secret_env),
                    // Not named: a secret pasted here by mistake would be logged (a review).
                    "the environment variable it names is not set in the VM",
                )
            })?,
            (None, None) => {
                return Err(ConfigError::new(
                    self.path(secret),
                    format!("{secret} or {secret_env} is required"),
                ))
            }
        };
        super::check_secret(&value).map_err(|r| ConfigError::new(self.path(secret), r))?;
        Ok(KeyPair {
            access_key_id,
            secret: Secret::new(SecretKey::new(value)),
        })
    }
}

/// The top-level JSON object.
pub(super) fn object(json: &[u8]) -> Result<Fields<'static>, ConfigError> {
    match strict_json::parse(json) {
        Ok(Value::Object(map)) => Ok(Fields::new(map, "")),
        Ok(_) => Err(ConfigError::new("configuration", "expected a JSON object")),
        Err(e) => Err(ConfigError::new("configuration", e.to_string())),
    }
}
/// What a JSON value is, for an error that must not quote it.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
