//! The filter's configuration: parsed and validated once, in `on_configure`, into the typed
//! value every request borrows. Every error names the field at fault and never a secret.
//!
//! ```json
//! { "public_domains": ["s3.mydomain.com"],
//!   "origin_authority": "s3.example.com", "origin_region": "us-east-1",
//!   "credentials": [{ "access_key_id": "CLIENTKEY", "secret_access_key": "client-secret",
//!                     "origin_access_key_id": "ORIGINKEY",
//!                     "origin_secret_access_key_env": "ORIGIN_SECRET" }],
//!   "max_clock_skew_seconds": 900, "anonymous": "reject" }
//! ```
//! An empty configuration reads the environment variables of the Python proxy this replaces.

pub(crate) mod strict_json;

use crate::addressing::{OriginAddressing, PublicDomain, PublicDomains};
use crate::sigv4::signing::{Secret, SecretKey};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

pub const DEFAULT_MAX_CLOCK_SKEW_SECONDS: u64 = 900;
/// The largest aws-chunked chunk held in the VM. The AWS SDKs send 64 KiB (Rust, JS, Go, C++)
/// to 128 KiB (Java) chunks and minio-go 64 KiB; 1 MiB leaves room for any of them and keeps
/// what one upload can pin down small.
pub const DEFAULT_MAX_CHUNK_SIZE_BYTES: u64 = 1024 * 1024;
const CHUNK_SIZE_LIMITS: std::ops::RangeInclusive<u64> = 8 * 1024..=256 * 1024 * 1024;
/// What one VM (one Envoy worker) may hold of incomplete chunks across all its uploads: 64
/// uploads at the largest default chunk at once.
pub const DEFAULT_CHUNK_MEMORY_BUDGET_BYTES: u64 = 64 * 1024 * 1024;
/// A wasm32 VM addresses 4 GiB at most; its allocations must stay far below.
const MAX_CHUNK_MEMORY_BUDGET_BYTES: u64 = 1024 * 1024 * 1024;
/// A week, the longest a presigned URL may live: a larger skew would make expiry moot.
const MAX_CLOCK_SKEW_SECONDS: u64 = 604_800;

#[derive(Debug)]
pub struct Config {
    /// The host names clients reach the proxy by; requests for any other host are refused.
    pub public_domains: PublicDomains,
    /// The Host the origin expects, port included when not the default.
    pub origin_authority: String,
    /// The region to sign for at the origin; `None` keeps the client's.
    pub origin_region: Option<String>,
    pub credentials: Vec<CredentialPair>,
    pub max_clock_skew_seconds: u64,
    pub anonymous: Anonymous,
    /// How the origin wants buckets addressed.
    pub origin_addressing: OriginAddressing,
    /// What SigV2 requests are signed with at the origin.
    pub origin_signature_version: OriginSignatureVersion,
    pub log_level: LogLevel,
    /// The largest chunk of a signed aws-chunked body; larger chunks are refused.
    pub max_chunk_size_bytes: u64,
    /// The most this VM holds of incomplete chunks across all streams; past it, an upload
    /// that needs to hold a chunk is refused with 503 SlowDown.
    pub chunk_memory_budget_bytes: u64,
}

/// The most detailed log lines the filter emits (Envoy's `wasm` log level must allow them too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    /// Adds the canonical request behind each SignatureDoesNotMatch.
    Debug,
    /// One line per rejection.
    #[default]
    Info,
    Warn,
    Error,
}

/// The signature a SigV2 request carries to the origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OriginSignatureVersion {
    /// V2 stays V2 (same `Expires`); V4 stays V4.
    #[default]
    Same,
    /// V2 becomes V4, for origins that refuse V2 (AWS S3, Garage): a presigned URL gets an
    /// `X-Amz-Expires` that ends at the client's `Expires` (never later), header auth an
    /// `Authorization` with `UNSIGNED-PAYLOAD` over what the V2 signature covered.
    V4,
}

/// What to do with a request that carries no signature at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anonymous {
    /// Answer 403 AccessDenied.
    #[default]
    Reject,
    /// Forward it unsigned, with only the authority rewritten (public buckets).
    Forward,
}

/// A key pair clients sign with, and the pair the proxy signs with at the origin.
#[derive(Debug)]
pub struct CredentialPair {
    pub client: KeyPair,
    origin: Option<KeyPair>,
}

impl CredentialPair {
    pub fn origin(&self) -> &KeyPair {
        self.origin.as_ref().unwrap_or(&self.client)
    }
}

#[derive(Debug)]
pub struct KeyPair {
    pub access_key_id: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

impl ConfigError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Reads an environment variable of the VM (Envoy `vm_config.environment_variables`).
pub type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

impl Config {
    pub fn parse(json: &[u8], env: Env<'_>) -> Result<Config, ConfigError> {
        if json.iter().all(u8::is_ascii_whitespace) {
            return Self::from_legacy_env(env);
        }
        let mut top = match strict_json::parse(json) {
            Ok(Value::Object(map)) => Fields::new(map, ""),
            Ok(_) => return Err(ConfigError::new("configuration", "expected a JSON object")),
            Err(e) => return Err(ConfigError::new("configuration", e.to_string())),
        };
        let public_domains = public_domains(
            top.required::<Vec<String>>("public_domains")?,
            "public_domains",
        )?;
        let origin_authority = top.required::<String>("origin_authority")?;
        let origin_region = top.optional::<String>("origin_region")?;
        let max_clock_skew_seconds = top
            .optional::<u64>("max_clock_skew_seconds")?
            .unwrap_or(DEFAULT_MAX_CLOCK_SKEW_SECONDS);
        let anonymous = top.optional::<Anonymous>("anonymous")?.unwrap_or_default();
        let log_level = top.optional::<LogLevel>("log_level")?.unwrap_or_default();
        let origin_addressing = match top.optional::<String>("origin_addressing")?.as_deref() {
            None | Some("preserve") => OriginAddressing::Preserve,
            Some("path") => OriginAddressing::Path,
            Some("virtual") => OriginAddressing::Virtual,
            Some(other) => {
                return Err(ConfigError::new(
                    "origin_addressing",
                    format!("'{other}' is not one of preserve, path, virtual"),
                ))
            }
        };
        let origin_signature_version = top
            .optional::<OriginSignatureVersion>("origin_signature_version")?
            .unwrap_or_default();
        let max_chunk_size_bytes = top
            .optional::<u64>("max_chunk_size_bytes")?
            .unwrap_or(DEFAULT_MAX_CHUNK_SIZE_BYTES);
        if !CHUNK_SIZE_LIMITS.contains(&max_chunk_size_bytes) {
            return Err(ConfigError::new(
                "max_chunk_size_bytes",
                format!(
                    "must be between {} and {}",
                    CHUNK_SIZE_LIMITS.start(),
                    CHUNK_SIZE_LIMITS.end()
                ),
            ));
        }
        let chunk_memory_budget_bytes = top
            .optional::<u64>("chunk_memory_budget_bytes")?
            .unwrap_or(DEFAULT_CHUNK_MEMORY_BUDGET_BYTES);
        if !(max_chunk_size_bytes..=MAX_CHUNK_MEMORY_BUDGET_BYTES)
            .contains(&chunk_memory_budget_bytes)
        {
            return Err(ConfigError::new(
                "chunk_memory_budget_bytes",
                format!(
                    "must be between max_chunk_size_bytes ({max_chunk_size_bytes}) and {MAX_CHUNK_MEMORY_BUDGET_BYTES}"
                ),
            ));
        }
        let entries = top.required::<Vec<Value>>("credentials")?;
        top.no_others()?;

        let mut credentials = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let path = format!("credentials[{i}]");
            let Value::Object(map) = entry else {
                return Err(ConfigError::new(path, "expected an object"));
            };
            let mut c = Fields::new(map, &path);
            let client = c.key_pair("access_key_id", "secret_access_key", env)?;
            let origin = match c.optional::<String>("origin_access_key_id")? {
                Some(id) => Some(c.key_pair_with_id(
                    id,
                    "origin_access_key_id",
                    "origin_secret_access_key",
                    env,
                )?),
                None if c.has("origin_secret_access_key")
                    || c.has("origin_secret_access_key_env") =>
                {
                    return Err(ConfigError::new(
                        c.path("origin_access_key_id"),
                        "required when an origin secret is given",
                    ))
                }
                None => None,
            };
            c.no_others()?;
            credentials.push(CredentialPair { client, origin });
        }
        let config = Self::validated(
            public_domains,
            origin_authority,
            origin_region,
            credentials,
            max_clock_skew_seconds,
            anonymous,
            [
                "origin_authority",
                "origin_region",
                "credentials",
                "max_clock_skew_seconds",
            ],
        )?;
        if origin_addressing == OriginAddressing::Virtual && is_address(&config.origin_authority) {
            return Err(ConfigError::new(
                "origin_addressing",
                "virtual needs an origin_authority that is a host name, not an address",
            ));
        }
        Ok(Config {
            log_level,
            max_chunk_size_bytes,
            chunk_memory_budget_bytes,
            origin_addressing,
            origin_signature_version,
            ..config
        })
    }

    /// `PUBLIC_DOMAINS` (comma-separated), `ORIGIN_DOMAIN`, `AWS_REGION`, `CLIENT_ACCESS_KEY`/`CLIENT_SECRET_KEY` (or the single
    /// pair `AWS_ACCESS_KEY`/`AWS_SECRET_KEY`) and optionally `ORIGIN_ACCESS_KEY`/
    /// `ORIGIN_SECRET_KEY`.
    fn from_legacy_env(env: Env<'_>) -> Result<Config, ConfigError> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let origin_authority = var("ORIGIN_DOMAIN").ok_or_else(|| {
            ConfigError::new(
                "ORIGIN_DOMAIN",
                "the configuration is empty, so the environment must name the origin",
            )
        })?;
        let domains = var("PUBLIC_DOMAINS").ok_or_else(|| {
            ConfigError::new(
                "PUBLIC_DOMAINS",
                "is not set: name the host(s) clients use, e.g. s3.mydomain.com",
            )
        })?;
        let public_domains = public_domains(
            domains
                .split(',')
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .collect(),
            "PUBLIC_DOMAINS",
        )?;
        let pair = |id: &str, secret: &str| match (var(id), var(secret)) {
            (Some(id), Some(secret)) => Ok(Some(KeyPair {
                access_key_id: id,
                secret: Secret::new(SecretKey::new(secret)),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::new(secret, "is not set")),
            (None, Some(_)) => Err(ConfigError::new(id, "is not set")),
        };
        let client = match pair("CLIENT_ACCESS_KEY", "CLIENT_SECRET_KEY")? {
            Some(client) => client,
            None => pair("AWS_ACCESS_KEY", "AWS_SECRET_KEY")?.ok_or_else(|| {
                ConfigError::new(
                    "CLIENT_ACCESS_KEY",
                    "set CLIENT_ACCESS_KEY/CLIENT_SECRET_KEY or AWS_ACCESS_KEY/AWS_SECRET_KEY",
                )
            })?,
        };
        let origin = pair("ORIGIN_ACCESS_KEY", "ORIGIN_SECRET_KEY")?;
        Self::validated(
            public_domains,
            origin_authority,
            var("AWS_REGION"),
            vec![CredentialPair { client, origin }],
            DEFAULT_MAX_CLOCK_SKEW_SECONDS,
            Anonymous::Reject,
            [
                "ORIGIN_DOMAIN",
                "AWS_REGION",
                "CLIENT_ACCESS_KEY",
                "max_clock_skew_seconds",
            ],
        )
    }

    /// The checks both sources share; `names` are how the source calls the fields.
    #[allow(clippy::too_many_arguments)]
    fn validated(
        public_domains: PublicDomains,
        origin_authority: String,
        origin_region: Option<String>,
        credentials: Vec<CredentialPair>,
        max_clock_skew_seconds: u64,
        anonymous: Anonymous,
        [authority_name, region_name, credentials_name, skew_name]: [&str; 4],
    ) -> Result<Config, ConfigError> {
        check_authority(&origin_authority).map_err(|r| ConfigError::new(authority_name, r))?;
        if let Some(region) = &origin_region {
            check_region(region).map_err(|r| ConfigError::new(region_name, r))?;
        }
        if credentials.is_empty() {
            return Err(ConfigError::new(
                credentials_name,
                "at least one key pair is required",
            ));
        }
        for (i, pair) in credentials.iter().enumerate() {
            if let Some(j) = credentials[..i]
                .iter()
                .position(|p| p.client.access_key_id == pair.client.access_key_id)
            {
                return Err(ConfigError::new(
                    format!("{credentials_name}[{i}].access_key_id"),
                    format!("repeats credentials[{j}].access_key_id"),
                ));
            }
        }
        if max_clock_skew_seconds > MAX_CLOCK_SKEW_SECONDS {
            return Err(ConfigError::new(
                skew_name,
                format!("must be at most {MAX_CLOCK_SKEW_SECONDS}"),
            ));
        }
        Ok(Config {
            public_domains,
            origin_authority,
            origin_region,
            credentials,
            max_clock_skew_seconds,
            anonymous,
            origin_addressing: OriginAddressing::default(),
            origin_signature_version: OriginSignatureVersion::default(),
            log_level: LogLevel::default(),
            max_chunk_size_bytes: DEFAULT_MAX_CHUNK_SIZE_BYTES,
            chunk_memory_budget_bytes: DEFAULT_CHUNK_MEMORY_BUDGET_BYTES,
        })
    }

    pub fn credential(&self, client_access_key_id: &str) -> Option<&CredentialPair> {
        self.credentials
            .iter()
            .find(|c| c.client.access_key_id == client_access_key_id)
    }
}

/// The fields of one JSON object, taken one by one so that each error names its field.
struct Fields<'p> {
    map: Map<String, Value>,
    prefix: &'p str,
}

impl<'p> Fields<'p> {
    fn new(map: Map<String, Value>, prefix: &'p str) -> Self {
        Fields { map, prefix }
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    fn optional<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, ConfigError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| ConfigError::new(self.path(name), e.to_string())),
        }
    }

    fn required<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, ConfigError> {
        self.optional(name)?
            .ok_or_else(|| ConfigError::new(self.path(name), "is required"))
    }

    fn no_others(&self) -> Result<(), ConfigError> {
        match self.map.keys().next() {
            Some(unknown) => Err(ConfigError::new(self.path(unknown), "unknown field")),
            None => Ok(()),
        }
    }

    fn key_pair(&mut self, id: &str, secret: &str, env: Env<'_>) -> Result<KeyPair, ConfigError> {
        let access_key_id = self.required::<String>(id)?;
        self.key_pair_with_id(access_key_id, id, secret, env)
    }

    /// The secret comes inline (`<secret>`) or from the VM environment (`<secret>_env`).
    fn key_pair_with_id(
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
                    format!("the environment variable {var} is not set in the VM"),
                )
            })?,
            (None, None) => {
                return Err(ConfigError::new(
                    self.path(secret),
                    format!("{secret} or {secret_env} is required"),
                ))
            }
        };
        if value.trim().is_empty() {
            return Err(ConfigError::new(
                self.path(secret),
                "must not be empty or white space",
            ));
        }
        Ok(KeyPair {
            access_key_id,
            secret: Secret::new(SecretKey::new(value)),
        })
    }
}

fn public_domains(list: Vec<String>, field: &str) -> Result<PublicDomains, ConfigError> {
    if list.is_empty() {
        return Err(ConfigError::new(
            field,
            "at least one host name is required",
        ));
    }
    let mut domains: Vec<PublicDomain> = Vec::with_capacity(list.len());
    for (i, text) in list.iter().enumerate() {
        let domain = PublicDomain::parse(text)
            .map_err(|e| ConfigError::new(format!("{field}[{i}]"), e.0))?;
        if domains.contains(&domain) {
            return Err(ConfigError::new(format!("{field}[{i}]"), "is listed twice"));
        }
        domains.push(domain);
    }
    Ok(PublicDomains::new(domains))
}

fn check_authority(authority: &str) -> Result<(), String> {
    if authority.contains("://") {
        return Err(format!(
            "expected host[:port], not a URL: drop the scheme from '{authority}'"
        ));
    }
    let invalid = || format!("'{authority}' is not a valid host[:port]");
    // "[v6]:port" or "name:port"; the port is optional.
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest.split_once(']').ok_or_else(invalid)?;
            if v6.is_empty()
                || !v6
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(invalid());
            }
            match after {
                "" => (v6, None),
                _ => (v6, Some(after.strip_prefix(':').ok_or_else(invalid)?)),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_char = |b: u8| b.is_ascii_alphanumeric() || b"-._".contains(&b);
    if host.is_empty() || (!authority.starts_with('[') && !host.bytes().all(host_char)) {
        return Err(invalid());
    }
    if let Some(port) = port {
        port.parse::<u16>()
            .ok()
            .filter(|&p| p != 0 && !port.starts_with('+'))
            .ok_or_else(|| format!("'{port}' is not a valid port"))?;
    }
    Ok(())
}

/// An IP literal (`10.0.0.1:9000`, `[::1]`): no bucket can be put in front of it.
fn is_address(authority: &str) -> bool {
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    authority.starts_with('[') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn check_region(region: &str) -> Result<(), String> {
    let ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("'{region}' is not a region name"))
    }
}

fn check_access_key_id(id: &str) -> Result<(), String> {
    // It travels inside `Credential=a/b/c`, between `,` separators: those may not occur.
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/,=".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("'{id}' is not a valid access key id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(json: &str) -> Result<Config, ConfigError> {
        Config::parse(json.as_bytes(), &no_env)
    }

    fn field_of(json: &str) -> String {
        parse(json).unwrap_err().field
    }

    const MINIMAL: &str = r#"{"public_domains":["s3.mydomain.com"],"origin_authority":"s3.example.com","credentials":[{"access_key_id":"AK","secret_access_key":"s"}]}"#;

    #[test]
    fn minimal_configuration_gets_the_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.origin_authority, "s3.example.com");
        assert_eq!(c.origin_region, None);
        assert_eq!(c.max_clock_skew_seconds, 900);
        assert_eq!(c.anonymous, Anonymous::Reject);
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c.origin_addressing, OriginAddressing::Preserve);
        assert_eq!(c.origin_signature_version, OriginSignatureVersion::Same);
        assert_eq!(c.max_chunk_size_bytes, 1024 * 1024);
        assert_eq!(c.chunk_memory_budget_bytes, 64 * 1024 * 1024);
        let pair = c.credential("AK").unwrap();
        assert_eq!(pair.origin().access_key_id, "AK");
        assert!(c.credential("ak").is_none());
    }

    #[test]
    fn full_configuration_with_secrets_from_the_environment() {
        let env = |name: &str| (name == "ORIGIN_SECRET").then(|| "os".to_owned());
        let json = r#"{
            "public_domains": ["s3.mydomain.com", "localhost:10000"],
            "origin_authority": "127.0.0.1:9000", "origin_region": "eu-west-3",
            "credentials": [
              {"access_key_id": "CK", "secret_access_key": "cs",
               "origin_access_key_id": "OK", "origin_secret_access_key_env": "ORIGIN_SECRET"},
              {"access_key_id": "CK2", "secret_access_key": "cs2"}
            ],
            "max_clock_skew_seconds": 60, "anonymous": "forward", "log_level": "debug",
            "max_chunk_size_bytes": 65536, "chunk_memory_budget_bytes": 1048576 }"#;
        let c = Config::parse(json.as_bytes(), &env).unwrap();
        let domains: Vec<String> = c.public_domains.iter().map(|d| d.to_string()).collect();
        assert_eq!(domains, ["s3.mydomain.com", "localhost:10000"]);
        assert_eq!(c.max_chunk_size_bytes, 65536);
        assert_eq!(c.chunk_memory_budget_bytes, 1048576);
        assert_eq!(c.origin_region.as_deref(), Some("eu-west-3"));
        assert_eq!(c.credential("CK").unwrap().origin().access_key_id, "OK");
        assert_eq!(c.credential("CK2").unwrap().origin().access_key_id, "CK2");
        assert_eq!(c.max_clock_skew_seconds, 60);
        assert_eq!(c.anonymous, Anonymous::Forward);
        assert_eq!(c.log_level, LogLevel::Debug);
    }

    #[test]
    fn errors_name_the_field() {
        let with = |extra: &str| MINIMAL.replacen('{', &format!("{{{extra},"), 1);
        assert_eq!(field_of("[]"), "configuration");
        assert_eq!(field_of("{"), "configuration");
        assert_eq!(field_of(r#"{"credentials":[]}"#), "public_domains");
        assert_eq!(
            field_of(r#"{"public_domains":["p"],"credentials":[]}"#),
            "origin_authority"
        );
        for (domains, field) in [
            ("[]", "public_domains"),
            ("\"p\"", "public_domains"),
            ("[\"https://p\"]", "public_domains[0]"),
            ("[\"p\",\"p:\"]", "public_domains[1]"),
            ("[\"p\",\"P\"]", "public_domains[1]"),
        ] {
            assert_eq!(
                field_of(&MINIMAL.replace("[\"s3.mydomain.com\"]", domains)),
                field,
                "{domains}"
            );
        }
        assert_eq!(
            field_of(&with(r#""origin_region":"a","origin_region":"b""#)),
            "configuration"
        );
        assert_eq!(
            field_of(&with(r#""chunk_memory_budget_bytes":1000"#)),
            "chunk_memory_budget_bytes"
        );
        assert_eq!(field_of(&with(r#""bogus":1"#)), "bogus");
        assert_eq!(
            field_of(&with(r#""max_clock_skew_seconds":"x""#)),
            "max_clock_skew_seconds"
        );
        assert_eq!(
            field_of(&with(r#""max_clock_skew_seconds":-1"#)),
            "max_clock_skew_seconds"
        );
        assert_eq!(
            field_of(&with(r#""max_clock_skew_seconds":9999999"#)),
            "max_clock_skew_seconds"
        );
        assert_eq!(field_of(&with(r#""anonymous":"allow""#)), "anonymous");
        assert_eq!(
            field_of(&with(r#""origin_addressing":"vhost""#)),
            "origin_addressing"
        );
        assert_eq!(
            field_of(&with(r#""origin_signature_version":"v3""#)),
            "origin_signature_version"
        );
        assert_eq!(
            field_of(
                &with(r#""origin_addressing":"virtual""#)
                    .replace("s3.example.com", "10.0.0.1:9000")
            ),
            "origin_addressing"
        );
        let v = parse(&with(
            r#""origin_addressing":"virtual","origin_signature_version":"v4""#,
        ))
        .unwrap();
        assert_eq!(v.origin_addressing, OriginAddressing::Virtual);
        assert_eq!(v.origin_signature_version, OriginSignatureVersion::V4);
        assert_eq!(field_of(&with(r#""log_level":"verbose""#)), "log_level");
        assert_eq!(
            field_of(&with(r#""max_chunk_size_bytes":1024"#)),
            "max_chunk_size_bytes"
        );
        let small = parse(&with(r#""max_chunk_size_bytes":65536"#)).unwrap();
        assert_eq!(small.max_chunk_size_bytes, 65536);
        assert_eq!(
            field_of(&with(r#""origin_region":"us east""#)),
            "origin_region"
        );
        assert_eq!(
            field_of(&MINIMAL.replace("s3.example.com", "https://s3.example.com")),
            "origin_authority"
        );
        for bad in [
            "", "a b", "a/b", "h:0", "h:99999", "h:x", "h:1:2", "[::1", "[::1]x", "[]:1", "@h",
        ] {
            assert_eq!(
                field_of(&MINIMAL.replace("s3.example.com", bad)),
                "origin_authority",
                "{bad}"
            );
        }
        for good in [
            "h",
            "h:1",
            "10.0.0.1:9000",
            "[::1]",
            "[::1]:9000",
            "minio_1",
        ] {
            assert!(
                parse(&MINIMAL.replace("s3.example.com", good)).is_ok(),
                "{good}"
            );
        }
        let cred = |c: &str| {
            format!(
                r#"{{"public_domains":["p"],"origin_authority":"h","credentials":[{{"access_key_id":"A","secret_access_key":"s"}},{c}]}}"#
            )
        };
        assert_eq!(
            field_of(r#"{"public_domains":["p"],"origin_authority":"h","credentials":[]}"#),
            "credentials"
        );
        assert_eq!(field_of(&cred("1")), "credentials[1]");
        assert_eq!(
            field_of(&cred(r#"{"secret_access_key":"s"}"#)),
            "credentials[1].access_key_id"
        );
        assert_eq!(
            field_of(&cred(r#"{"access_key_id":"a/b","secret_access_key":"s"}"#)),
            "credentials[1].access_key_id"
        );
        assert_eq!(
            field_of(&cred(r#"{"access_key_id":"B"}"#)),
            "credentials[1].secret_access_key"
        );
        for blank in ["", " ", "\\t\\n"] {
            assert_eq!(
                field_of(&cred(&format!(
                    r#"{{"access_key_id":"B","secret_access_key":"{blank}"}}"#
                ))),
                "credentials[1].secret_access_key",
                "{blank:?}"
            );
        }
        assert_eq!(
            field_of(&cred(
                r#"{"access_key_id":"B","secret_access_key":"s","secret_access_key":"t"}"#
            )),
            "configuration"
        );
        assert_eq!(
            field_of(&cred(
                r#"{"access_key_id":"B","secret_access_key":"s","secret_access_key_env":"X"}"#
            )),
            "credentials[1].secret_access_key"
        );
        assert_eq!(
            field_of(&cred(
                r#"{"access_key_id":"B","secret_access_key_env":"UNSET"}"#
            )),
            "credentials[1].secret_access_key_env"
        );
        assert_eq!(
            field_of(&cred(r#"{"access_key_id":"A","secret_access_key":"s"}"#)),
            "credentials[1].access_key_id"
        );
        assert_eq!(
            field_of(&cred(
                r#"{"access_key_id":"B","secret_access_key":"s","origin_secret_access_key":"o"}"#
            )),
            "credentials[1].origin_access_key_id"
        );
        assert_eq!(
            field_of(&cred(
                r#"{"access_key_id":"B","secret_access_key":"s","origin_access_key_id":"O"}"#
            )),
            "credentials[1].origin_secret_access_key"
        );
        assert_eq!(
            field_of(&cred(
                r#"{"access_key_id":"B","secret_access_key":"s","extra":1}"#
            )),
            "credentials[1].extra"
        );
    }

    #[test]
    fn errors_never_carry_secrets() {
        let json = r#"{"public_domains":["p"],"origin_authority":"h","credentials":[{"access_key_id":"A","secret_access_key":"TOPSECRET","secret_access_key_env":"X"}]}"#;
        let err = parse(json).unwrap_err().to_string();
        assert!(!err.contains("TOPSECRET"), "{err}");
        let ok = parse(r#"{"public_domains":["p"],"origin_authority":"h","credentials":[{"access_key_id":"A","secret_access_key":"TOPSECRET"}]}"#).unwrap();
        assert!(!format!("{ok:?}").contains("TOPSECRET"));
    }

    #[test]
    fn empty_configuration_reads_the_legacy_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let env = vars(&[
            ("PUBLIC_DOMAINS", "s3.mydomain.com, s3.other.org:8443"),
            ("ORIGIN_DOMAIN", "s3.example.com"),
            ("AWS_REGION", "eu-central-1"),
            ("CLIENT_ACCESS_KEY", "CK"),
            ("CLIENT_SECRET_KEY", "cs"),
            ("ORIGIN_ACCESS_KEY", "OK"),
            ("ORIGIN_SECRET_KEY", "os"),
        ]);
        let c = Config::parse(b"  \n", &env).unwrap();
        assert_eq!(c.origin_authority, "s3.example.com");
        assert_eq!(c.origin_region.as_deref(), Some("eu-central-1"));
        assert_eq!(c.credential("CK").unwrap().origin().access_key_id, "OK");
        assert_eq!(c.public_domains.iter().count(), 2);

        let env = vars(&[
            ("PUBLIC_DOMAINS", "s3.mydomain.com"),
            ("ORIGIN_DOMAIN", "s3.example.com"),
            ("AWS_ACCESS_KEY", "AK"),
            ("AWS_SECRET_KEY", "as"),
        ]);
        let c = Config::parse(b"", &env).unwrap();
        assert_eq!(c.credential("AK").unwrap().origin().access_key_id, "AK");
        assert_eq!(c.origin_region, None);

        assert_eq!(
            Config::parse(b"", &no_env).unwrap_err().field,
            "ORIGIN_DOMAIN"
        );
        let env = vars(&[("ORIGIN_DOMAIN", "h")]);
        assert_eq!(
            Config::parse(b"", &env).unwrap_err().field,
            "PUBLIC_DOMAINS"
        );
        let env = vars(&[("ORIGIN_DOMAIN", "h"), ("PUBLIC_DOMAINS", "a, http://b")]);
        assert_eq!(
            Config::parse(b"", &env).unwrap_err().field,
            "PUBLIC_DOMAINS[1]"
        );
        let env = vars(&[("ORIGIN_DOMAIN", "h"), ("PUBLIC_DOMAINS", "p")]);
        assert_eq!(
            Config::parse(b"", &env).unwrap_err().field,
            "CLIENT_ACCESS_KEY"
        );
        let env = vars(&[
            ("ORIGIN_DOMAIN", "h"),
            ("PUBLIC_DOMAINS", "p"),
            ("CLIENT_ACCESS_KEY", "CK"),
        ]);
        assert_eq!(
            Config::parse(b"", &env).unwrap_err().field,
            "CLIENT_SECRET_KEY"
        );
        let env = vars(&[
            ("ORIGIN_DOMAIN", "h"),
            ("PUBLIC_DOMAINS", "p"),
            ("AWS_ACCESS_KEY", "A"),
            ("AWS_SECRET_KEY", "s"),
            ("ORIGIN_SECRET_KEY", "x"),
        ]);
        assert_eq!(
            Config::parse(b"", &env).unwrap_err().field,
            "ORIGIN_ACCESS_KEY"
        );
    }
}
