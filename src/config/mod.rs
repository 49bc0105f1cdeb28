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

mod fields;
mod legacy_env;
pub(crate) mod strict_json;

use crate::addressing::{
    is_valid_bucket, OriginAddressing, PublicDomain, PublicDomains, ORIGINS_OWN_BUCKETS,
};
use crate::error_cors::ErrorCors;
pub use crate::operations::OperationSet;
use crate::sigv4::credential::is_region_name;
use crate::sigv4::signing::Secret;
use crate::sort::sort_by;
use fields::{object, Fields};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::ops::RangeInclusive;

pub const DEFAULT_MAX_CLOCK_SKEW_SECONDS: u64 = 900;
/// The largest aws-chunked chunk held in the VM. The AWS SDKs send 64 KiB (Rust, JS, Go, C++)
/// to 128 KiB (Java) chunks and minio-go 64 KiB; 1 MiB leaves room for any of them and keeps
/// what one upload can pin down small.
pub const DEFAULT_MAX_CHUNK_SIZE_BYTES: u64 = 1024 * 1024;
const CHUNK_SIZE_LIMITS: RangeInclusive<u64> = 8 * 1024..=64 * 1024 * 1024;
/// What one VM (one Envoy worker) may hold of request bodies across all its streams (incomplete
/// chunks, documents awaiting their digest, form heads): 64 uploads at the largest default chunk
/// at once. The name is from when chunks were all it held.
pub const DEFAULT_CHUNK_MEMORY_BUDGET_BYTES: u64 = 64 * 1024 * 1024;
/// As long as AWS S3 is seen to wait for a silent upload before its `RequestTimeout`.
pub const DEFAULT_HELD_BODY_TIMEOUT_SECONDS: u64 = 20;
const HELD_BODY_TIMEOUT_LIMITS: RangeInclusive<u64> = 1..=600;
/// Envoy's V8 lets a VM grow to about 1 GiB (measured); what uploads may hold stays well below,
/// so the VM's own allocations (request heads, re-signing) always find room.
const MAX_CHUNK_MEMORY_BUDGET_BYTES: u64 = crate::memory_budget::MAX_HELD_IN_A_VM as u64;
/// Verified presigned requests each VM remembers (`presigned_cache`): at most 2 KiB each on
/// average, so 8 MiB by default.
pub const DEFAULT_PRESIGNED_CACHE_ENTRIES: usize = 4096;
const MAX_PRESIGNED_CACHE_ENTRIES: usize = 65_536;
/// A week, the longest a presigned URL may live: a larger skew would make expiry moot.
const MAX_CLOCK_SKEW_SECONDS: u64 = 604_800;

#[derive(Debug)]
pub struct Config {
    pub role: Role,
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
    /// Whether each request's auth kind, access key id and error code are written to Envoy's
    /// filter state for the access log. Off unless asked for: Envoy spends about 5,000
    /// instructions on each property it stores, 1.5% of a request through it.
    pub access_log_filter_state: bool,
    /// Whether the request headers may wait in the filter while the body reaches it: as the
    /// Envoy wasm filter's `allow_on_headers_stop_iteration` is set. Off unless asked for
    /// (every shipped Envoy configuration's standalone or edge filter asks; an origin filter
    /// gets heads the edge held): where Envoy's is not set (Istio's `WasmPlugin`, Envoy
    /// Gateway, a configuration written before the field) a head held for its body would wait
    /// for a body Envoy never passes on, until `held_body_timeout_seconds` answered it (a
    /// review, 2026-12-06).
    pub allow_on_headers_stop_iteration: bool,
    /// The largest chunk of a signed aws-chunked body; larger chunks are refused.
    pub max_chunk_size_bytes: u64,
    /// The most this VM holds of request bodies across all streams (incomplete chunks,
    /// documents awaiting their digest, form heads; `memory_budget`); past it, a request that
    /// needs to hold more is refused with 503 SlowDown.
    pub chunk_memory_budget_bytes: u64,
    /// How long a stream may hold body bytes in the VM without passing any on, beyond the
    /// time the bytes that arrive buy (`held_body`); past it the upload is refused.
    pub held_body_timeout_seconds: u64,
    /// How many verified presigned requests to remember, so that repeats (range requests on
    /// one URL) skip verification and re-signing; 0 remembers none.
    pub presigned_cache_entries: usize,
    /// The web pages that may read the filter's own refusals (CORS).
    pub error_cors_origins: ErrorCors,
    /// Bucket names refused in either style: where origins serve APIs of their own on the S3
    /// port (`ORIGINS_OWN_BUCKETS` by default).
    pub reserved_buckets: Vec<String>,
    /// S3 operations the origin does not implement, answered 501 by the filter: an origin
    /// runs an operation it does not know as another (`operations`).
    pub unsupported_operations: OperationSet,
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

/// Where the filter runs and what it does there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// In the listener's filter chain: verify the client's signature and re-sign for the one
    /// origin.
    #[default]
    Standalone,
    /// In the listener's filter chain, in front of several origins: verify only, and hand the
    /// verified request to the `Origin` filters in Envoy's filter state. Holds no origin key.
    Edge,
    /// In an origin cluster (an upstream filter): re-sign, for the origin that actually gets
    /// this attempt, what the edge verified. Holds no client secret, so it cannot verify and
    /// forwards nothing the edge did not hand over.
    Origin,
}

/// A plugin configuration: one filter (standalone or edge), or the origins an origin filter
/// signs for, by the name the cluster's endpoints carry in their metadata.
#[derive(Debug)]
pub enum Plugin {
    Single(Config),
    Origins(Vec<(String, Config)>),
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

/// A key clients sign with, and the pair the proxy signs with at the origin.
#[derive(Debug)]
pub struct CredentialPair {
    pub client: ClientKey,
    origin: KeyPair,
    /// Whether the origin gets another key pair than the client's own.
    translated: bool,
}

impl CredentialPair {
    pub fn origin(&self) -> &KeyPair {
        &self.origin
    }

    /// Whether requests are signed at the origin with another key pair than the client's.
    pub fn translates(&self) -> bool {
        self.translated
    }

    /// A standalone filter's pair: the client's own key signs at the origin unless another
    /// pair is given (the client's own, written out as the origin's, is none other: RT117 saw
    /// it refused as a client holding an origin's secret).
    fn standalone(client: KeyPair, origin: Option<KeyPair>) -> Self {
        let origin = origin.filter(|origin| {
            origin.access_key_id != client.access_key_id
                || origin.secret.key().expose() != client.secret.key().expose()
        });
        let translated = origin.is_some();
        let origin = origin.unwrap_or_else(|| KeyPair {
            access_key_id: client.access_key_id.clone(),
            secret: Secret::new(client.secret.key().clone()),
        });
        CredentialPair {
            client: ClientKey {
                access_key_id: client.access_key_id,
                secret: Some(client.secret),
            },
            origin,
            translated,
        }
    }
}

/// A client's access key id, and its secret where the filter verifies (an origin filter has
/// none).
#[derive(Debug)]
pub struct ClientKey {
    pub access_key_id: String,
    pub secret: Option<Secret>,
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

impl Plugin {
    /// The plugin configuration Envoy hands the filter. An empty one reads the environment
    /// of the Python proxy this replaces.
    pub fn parse(json: &[u8], env: Env<'_>) -> Result<Plugin, ConfigError> {
        if json.iter().all(u8::is_ascii_whitespace) {
            return Config::from_legacy_env(env).map(Plugin::Single);
        }
        let mut top = object(json)?;
        match role(&mut top)? {
            Role::Origin => {
                let entries = top.required::<Vec<Value>>("origins")?;
                top.no_others()?;
                if entries.is_empty() {
                    return Err(ConfigError::new(
                        "origins",
                        "at least one origin is required",
                    ));
                }
                let mut origins: Vec<(String, Config)> = Vec::with_capacity(entries.len());
                for (i, entry) in entries.into_iter().enumerate() {
                    let path = format!("origins[{i}]");
                    let Value::Object(map) = entry else {
                        return Err(ConfigError::new(path, "expected an object"));
                    };
                    let mut fields = Fields::new(map, &path);
                    let name = fields.required::<String>("name")?;
                    if name.is_empty() || origins.iter().any(|(n, _)| *n == name) {
                        return Err(ConfigError::new(
                            fields.path("name"),
                            "must be given once and be unique",
                        ));
                    }
                    origins.push((name, Config::from_fields(fields, Role::Origin, env)?));
                }
                Ok(Plugin::Origins(origins))
            }
            role => Config::from_fields(top, role, env).map(Plugin::Single),
        }
    }
}

impl Config {
    /// A standalone or edge configuration (an origin filter's has several: `Plugin::parse`).
    pub fn parse(json: &[u8], env: Env<'_>) -> Result<Config, ConfigError> {
        match Plugin::parse(json, env)? {
            Plugin::Single(config) => Ok(config),
            Plugin::Origins(_) => Err(ConfigError::new(
                "role",
                "an origin filter's configuration has several origins: parse it as a Plugin",
            )),
        }
    }

    /// One configuration object, for a filter in `role`. Fields that do not belong to the
    /// role are refused, so the split between verifying and signing is visible in the file.
    fn from_fields(mut top: Fields<'_>, role: Role, env: Env<'_>) -> Result<Config, ConfigError> {
        let public_domains = public_domains(
            top.required::<Vec<String>>("public_domains")?
                .into_iter()
                .enumerate()
                .collect(),
            &top.path("public_domains"),
        )?;
        let origin_authority = match role {
            Role::Edge => {
                top.refuse(role, "origin_authority")?;
                String::new()
            }
            _ => top.required::<String>("origin_authority")?,
        };
        refuse_what_the_role_sets_elsewhere(&mut top, role)?;
        let origin_region = top.optional::<String>("origin_region")?;
        let max_clock_skew_seconds = top
            .optional::<u64>("max_clock_skew_seconds")?
            .unwrap_or(DEFAULT_MAX_CLOCK_SKEW_SECONDS);
        let anonymous = anonymous(&mut top, role)?;
        let log_level = top.optional::<LogLevel>("log_level")?.unwrap_or_default();
        let access_log_filter_state = top
            .optional::<bool>("access_log_filter_state")?
            .unwrap_or(false);
        let allow_on_headers_stop_iteration = top
            .optional::<bool>("allow_on_headers_stop_iteration")?
            .unwrap_or(false);
        let origin_addressing = origin_addressing(&mut top)?;
        let origin_signature_version = top
            .optional::<OriginSignatureVersion>("origin_signature_version")?
            .unwrap_or_default();
        let (max_chunk_size_bytes, chunk_memory_budget_bytes) = body_limits(&mut top)?;
        let held_body_timeout_seconds = held_body_timeout(&mut top)?;
        let presigned_cache_entries = presigned_cache_entries(&mut top)?;
        let reserved_buckets = reserved_buckets(&mut top)?;
        let unsupported_operations = unsupported_operations(&mut top)?;
        let error_cors_origins = error_cors_origins(&mut top)?;
        if role != Role::Edge && origin_authority.is_empty() {
            return Err(ConfigError::new(
                top.path("origin_authority"),
                "must not be empty",
            ));
        }
        let credentials_path = top.path("credentials");
        let entries = top.required::<Vec<Value>>("credentials")?;
        top.no_others()?;

        let credentials = credential_pairs(entries, &credentials_path, role, env)?;
        let config = Self::validated(
            Common {
                public_domains,
                origin_authority,
                origin_region,
                credentials,
                max_clock_skew_seconds,
                anonymous,
            },
            CommonNames {
                origin_authority: &top.path("origin_authority"),
                origin_region: &top.path("origin_region"),
                credentials: &credentials_path,
                max_clock_skew_seconds: &top.path("max_clock_skew_seconds"),
            },
        )?;
        check_addressing(origin_addressing, &config.origin_authority)
            .map_err(|r| ConfigError::new(top.path("origin_addressing"), r))?;
        check_key_shares(&config, max_chunk_size_bytes, chunk_memory_budget_bytes)
            .map_err(|r| ConfigError::new(top.path("chunk_memory_budget_bytes"), r))?;
        Ok(Config {
            role,
            log_level,
            access_log_filter_state,
            allow_on_headers_stop_iteration,
            max_chunk_size_bytes,
            chunk_memory_budget_bytes,
            held_body_timeout_seconds,
            presigned_cache_entries: match role {
                Role::Origin => 0,
                _ => presigned_cache_entries,
            },
            origin_addressing,
            origin_signature_version,
            error_cors_origins,
            // The edge refused what it reserves before it granted anything.
            reserved_buckets: match role {
                Role::Origin => Vec::new(),
                _ => reserved_buckets,
            },
            unsupported_operations: match role {
                Role::Origin => OperationSet::empty(),
                _ => unsupported_operations,
            },
            ..config
        })
    }

    /// The checks both sources share; `names` are how the source calls the fields.
    fn validated(common: Common, names: CommonNames<'_>) -> Result<Config, ConfigError> {
        if !common.origin_authority.is_empty() {
            check_authority(&common.origin_authority)
                .map_err(|r| ConfigError::new(names.origin_authority, r))?;
        }
        if let Some(region) = &common.origin_region {
            check_region(region).map_err(|r| ConfigError::new(names.origin_region, r))?;
        }
        check_credentials(&common.credentials, names.credentials)?;
        if common.max_clock_skew_seconds > MAX_CLOCK_SKEW_SECONDS {
            return Err(ConfigError::new(
                names.max_clock_skew_seconds,
                format!("must be at most {MAX_CLOCK_SKEW_SECONDS}"),
            ));
        }
        Ok(Config {
            role: Role::Standalone,
            public_domains: common.public_domains,
            origin_authority: common.origin_authority,
            origin_region: common.origin_region,
            credentials: common.credentials,
            max_clock_skew_seconds: common.max_clock_skew_seconds,
            anonymous: common.anonymous,
            origin_addressing: OriginAddressing::default(),
            origin_signature_version: OriginSignatureVersion::default(),
            log_level: LogLevel::default(),
            access_log_filter_state: false,
            allow_on_headers_stop_iteration: false,
            max_chunk_size_bytes: DEFAULT_MAX_CHUNK_SIZE_BYTES,
            chunk_memory_budget_bytes: DEFAULT_CHUNK_MEMORY_BUDGET_BYTES,
            held_body_timeout_seconds: DEFAULT_HELD_BODY_TIMEOUT_SECONDS,
            presigned_cache_entries: DEFAULT_PRESIGNED_CACHE_ENTRIES,
            error_cors_origins: ErrorCors::default(),
            reserved_buckets: default_reserved_buckets(),
            unsupported_operations: OperationSet::default(),
        })
    }

    pub fn credential(&self, client_access_key_id: &str) -> Option<&CredentialPair> {
        self.credentials
            .iter()
            .find(|c| c.client.access_key_id == client_access_key_id)
    }
}

/// What both sources (the JSON configuration and the legacy variables) give alike, for
/// `Config::validated` to check alike.
struct Common {
    public_domains: PublicDomains,
    origin_authority: String,
    origin_region: Option<String>,
    credentials: Vec<CredentialPair>,
    max_clock_skew_seconds: u64,
    anonymous: Anonymous,
}

/// How a source calls the fields of `Common` its errors name.
struct CommonNames<'a> {
    origin_authority: &'a str,
    origin_region: &'a str,
    credentials: &'a str,
    max_clock_skew_seconds: &'a str,
}

fn role(top: &mut Fields<'_>) -> Result<Role, ConfigError> {
    match top.optional::<String>("role")?.as_deref() {
        None | Some("standalone") => Ok(Role::Standalone),
        Some("edge") => Ok(Role::Edge),
        Some("origin") => Ok(Role::Origin),
        Some(_) => Err(ConfigError::new(
            "role",
            "is not one of standalone, edge, origin",
        )),
    }
}
/// Fields an edge leaves to its origin filters, and an origin filter to its edge.
fn refuse_what_the_role_sets_elsewhere(
    top: &mut Fields<'_>,
    role: Role,
) -> Result<(), ConfigError> {
    let elsewhere: &[&str] = match role {
        Role::Edge => &[
            "origin_region",
            "origin_addressing",
            "origin_signature_version",
        ],
        // An origin filter holds chunks too (to re-sign each), so it may size its own budget.
        Role::Origin => &[
            "max_clock_skew_seconds",
            "anonymous",
            "max_chunk_size_bytes",
            "presigned_cache_entries",
            "error_cors_origins",
            "reserved_buckets",
            "unsupported_operations",
        ],
        Role::Standalone => &[],
    };
    for name in elsewhere {
        top.refuse(role, name)?;
    }
    Ok(())
}

/// `max_chunk_size_bytes` and `chunk_memory_budget_bytes`, each within its bounds.
fn body_limits(top: &mut Fields<'_>) -> Result<(u64, u64), ConfigError> {
    let max_chunk_size_bytes = bounded(
        top,
        "max_chunk_size_bytes",
        DEFAULT_MAX_CHUNK_SIZE_BYTES,
        CHUNK_SIZE_LIMITS,
    )?;
    let chunk_memory_budget_bytes = top
        .optional::<u64>("chunk_memory_budget_bytes")?
        .unwrap_or(DEFAULT_CHUNK_MEMORY_BUDGET_BYTES);
    if !(max_chunk_size_bytes..=MAX_CHUNK_MEMORY_BUDGET_BYTES).contains(&chunk_memory_budget_bytes)
    {
        return Err(ConfigError::new(
            top.path("chunk_memory_budget_bytes"),
            format!(
                "must be between max_chunk_size_bytes ({max_chunk_size_bytes}) and {MAX_CHUNK_MEMORY_BUDGET_BYTES}"
            ),
        ));
    }
    Ok((max_chunk_size_bytes, chunk_memory_budget_bytes))
}

fn anonymous(top: &mut Fields<'_>, role: Role) -> Result<Anonymous, ConfigError> {
    let anonymous = top.optional::<Anonymous>("anonymous")?.unwrap_or_default();
    if role == Role::Edge && anonymous == Anonymous::Forward {
        // The origin filters, which may not set it, would refuse what the edge let by.
        return Err(ConfigError::new(
            top.path("anonymous"),
            "an edge filter cannot let unsigned requests through: the origin filters re-sign only what the edge verified, and refuse the rest (serve public buckets from a standalone filter)",
        ));
    }
    Ok(anonymous)
}

fn origin_addressing(top: &mut Fields<'_>) -> Result<OriginAddressing, ConfigError> {
    let Some(name) = top.optional::<String>("origin_addressing")? else {
        return Ok(OriginAddressing::default());
    };
    addressing_named(&name).map_err(|r| ConfigError::new(top.path("origin_addressing"), r))
}

fn error_cors_origins(top: &mut Fields<'_>) -> Result<ErrorCors, ConfigError> {
    let Some(list) = top.optional::<Vec<String>>("error_cors_origins")? else {
        return Ok(ErrorCors::default());
    };
    ErrorCors::parse(list).map_err(|(i, why)| {
        ConfigError::new(format!("{}[{i}]", top.path("error_cors_origins")), why)
    })
}

fn held_body_timeout(top: &mut Fields<'_>) -> Result<u64, ConfigError> {
    bounded(
        top,
        "held_body_timeout_seconds",
        DEFAULT_HELD_BODY_TIMEOUT_SECONDS,
        HELD_BODY_TIMEOUT_LIMITS,
    )
}

/// The whole number `name`, `default` when absent, within `limits`.
fn bounded(
    top: &mut Fields<'_>,
    name: &str,
    default: u64,
    limits: RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let value = top.optional::<u64>(name)?.unwrap_or(default);
    if !limits.contains(&value) {
        return Err(ConfigError::new(
            top.path(name),
            format!("must be between {} and {}", limits.start(), limits.end()),
        ));
    }
    Ok(value)
}

fn presigned_cache_entries(top: &mut Fields<'_>) -> Result<usize, ConfigError> {
    let presigned_cache_entries = top
        .optional::<usize>("presigned_cache_entries")?
        .unwrap_or(DEFAULT_PRESIGNED_CACHE_ENTRIES);
    // The cache keeps two generations of entries / 2 each: one entry would be none.
    if presigned_cache_entries == 1 || presigned_cache_entries > MAX_PRESIGNED_CACHE_ENTRIES {
        return Err(ConfigError::new(
            top.path("presigned_cache_entries"),
            format!("must be 0 (no cache) or from 2 to {MAX_PRESIGNED_CACHE_ENTRIES}"),
        ));
    }
    Ok(presigned_cache_entries)
}

fn default_reserved_buckets() -> Vec<String> {
    ORIGINS_OWN_BUCKETS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// `reserved_buckets`: the list replaces the default, so an origin without those APIs may
/// serve buckets of those names (`[]` reserves none).
fn reserved_buckets(top: &mut Fields<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(names) = top.optional::<Vec<String>>("reserved_buckets")? else {
        return Ok(default_reserved_buckets());
    };
    let path = top.path("reserved_buckets");
    checked_reserved(names.iter().map(String::as_str).enumerate(), &path)
}

/// `unsupported_operations`: the list replaces the default (`[]` refuses none, for an origin
/// that serves them all, as AWS S3 does).
fn unsupported_operations(top: &mut Fields<'_>) -> Result<OperationSet, ConfigError> {
    let Some(names) = top.optional::<Vec<String>>("unsupported_operations")? else {
        return Ok(OperationSet::default());
    };
    OperationSet::of_names(names.iter().map(String::as_str).enumerate()).map_err(|(place, why)| {
        ConfigError::new(
            format!("{}[{place}]", top.path("unsupported_operations")),
            why,
        )
    })
}

/// Reserved bucket names, each with its place as written (which an error names): each a
/// bucket name, and each once (a repeat is a slip, two lists merged, and costs every request
/// a look).
fn checked_reserved<'n>(
    names: impl IntoIterator<Item = (usize, &'n str)>,
    path: &str,
) -> Result<Vec<String>, ConfigError> {
    let mut checked: Vec<String> = Vec::new();
    for (place, name) in names {
        let why = if !is_valid_bucket(name) {
            "is not a bucket name (3 to 63 of a-z, 0-9, '.' and '-')"
        } else if checked.iter().any(|earlier| earlier == name) {
            "repeats an earlier name"
        } else {
            checked.push(name.to_owned());
            continue;
        };
        return Err(ConfigError::new(format!("{path}[{place}]"), why));
    }
    Ok(checked)
}

fn credential_pairs(
    entries: Vec<Value>,
    credentials_path: &str,
    role: Role,
    env: Env<'_>,
) -> Result<Vec<CredentialPair>, ConfigError> {
    let mut credentials = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let path = format!("{credentials_path}[{i}]");
        let Value::Object(map) = entry else {
            return Err(ConfigError::new(path, "expected an object"));
        };
        credentials.push(credential_pair(Fields::new(map, &path), role, env)?);
    }
    Ok(credentials)
}

/// The key pairs, each against the others: at least one, no access key id twice, no two client
/// secrets that sign alike, and no client secret that signs as an origin key's.
/// `credentials_name` is how the source calls the list.
fn check_credentials(
    credentials: &[CredentialPair],
    credentials_name: &str,
) -> Result<(), ConfigError> {
    if credentials.is_empty() {
        return Err(ConfigError::new(
            credentials_name,
            "at least one key pair is required",
        ));
    }
    no_repeated_key_id(credentials, credentials_name)?;
    no_shared_client_secret(credentials, credentials_name)?;
    no_client_holds_an_origin_secret(credentials, credentials_name)
}

fn no_repeated_key_id(
    credentials: &[CredentialPair],
    credentials_name: &str,
) -> Result<(), ConfigError> {
    // Sorted, a repeat sits beside the first of its id, which keeps its place in the list.
    let mut ids: Vec<(&str, usize)> = credentials
        .iter()
        .enumerate()
        .map(|(i, pair)| (pair.client.access_key_id.as_str(), i))
        .collect();
    sort_by(&mut ids, |a, b| a.0.cmp(b.0));
    let mut repeat: Option<(usize, usize)> = None;
    let mut first = 0;
    for k in 1..ids.len() {
        if ids[k].0 != ids[k - 1].0 {
            first = k;
        } else if repeat.is_none_or(|(i, _)| ids[k].1 < i) {
            repeat = Some((ids[k].1, ids[first].1));
        }
    }
    match repeat {
        Some((i, j)) => Err(ConfigError::new(
            format!("{credentials_name}[{i}].access_key_id"),
            format!("repeats {credentials_name}[{j}].access_key_id"),
        )),
        None => Ok(()),
    }
}

/// The keys HMAC makes of a secret, for SigV2 (HMAC-SHA1 keyed with the secret) and SigV4
/// (HMAC-SHA256 keyed with `AWS4` and the secret): two secrets that make one key sign alike.
/// HMAC hashes a key longer than its block (64 bytes, for both hashes) and pads a shorter one
/// with zeros, so a secret of more than 64 bytes and its SHA-1 signed SigV2 alike, and passed
/// the comparison of the secrets as written (an attack run, 2026-12-06). A zero byte cannot
/// end a secret (no control characters), but may end a digest.
fn hmac_keys(secret: &[u8]) -> [Vec<u8>; 2] {
    fn hmac_key<D: sha2::Digest>(key: &[u8]) -> Vec<u8> {
        let mut key = if key.len() > 64 {
            D::digest(key).to_vec()
        } else {
            key.to_vec()
        };
        while key.last() == Some(&0) {
            key.pop();
        }
        key
    }
    [
        hmac_key::<sha1::Sha1>(secret),
        hmac_key::<sha2::Sha256>(&[b"AWS4", secret].concat()),
    ]
}

/// Secrets' HMAC keys by hash, each column sorted so that equal keys sit together, in the
/// order their pairs are listed: every VM checks a configuration as it loads it, and compared
/// pair by pair 10,000 keys took 0.66 s natively (a review, 2026-12-06).
struct KeyTable([Vec<(Vec<u8>, usize)>; 2]);

impl KeyTable {
    fn new<'s>(secrets: impl Iterator<Item = (usize, &'s [u8])>) -> Self {
        let mut columns: [Vec<(Vec<u8>, usize)>; 2] = Default::default();
        for (at, secret) in secrets {
            for (column, key) in columns.iter_mut().zip(hmac_keys(secret)) {
                column.push((key, at));
            }
        }
        for column in &mut columns {
            sort_by(column, |a, b| a.0.cmp(&b.0));
        }
        KeyTable(columns)
    }

    /// The first listed pair, of those `wanted`, whose secret makes one of `secret`'s keys.
    fn first(&self, secret: &[u8], wanted: impl Fn(usize) -> bool) -> Option<usize> {
        self.0
            .iter()
            .zip(hmac_keys(secret))
            .filter_map(|(column, key)| {
                let run = &column[column.partition_point(|(k, _)| *k < key)..];
                run.iter()
                    .take_while(|(k, _)| *k == key)
                    .map(|&(_, at)| at)
                    .find(|&at| wanted(at))
            })
            .min()
    }
}

fn client_secret(pair: &CredentialPair) -> Option<&[u8]> {
    pair.client.secret.as_ref().map(|s| s.key().expose())
}

/// No signature but a presigned SigV4 URL's covers the access key id (SigV4's `Credential` in
/// the header, SigV2's `AWS id:` and `AWSAccessKeyId`, a SigV2 form's field): two key ids with
/// one secret let a request signed as one go as the other, with the other's origin key pair (a
/// configuration footgun hunt, 2026-12-01).
fn no_shared_client_secret(
    credentials: &[CredentialPair],
    credentials_name: &str,
) -> Result<(), ConfigError> {
    let secrets = || {
        credentials
            .iter()
            .enumerate()
            .filter_map(|(i, pair)| Some((i, client_secret(pair)?)))
    };
    let clients = KeyTable::new(secrets());
    for (i, secret) in secrets() {
        if let Some(j) = clients.first(secret, |j| j < i) {
            return Err(ConfigError::new(
                format!("{credentials_name}[{i}]"),
                format!("has a secret that signs as that of {credentials_name}[{j}] (the same secret, or one HMAC cannot tell from it: a secret of more than 64 bytes and its SHA-1): no signature but a presigned SigV4 URL's covers the access key id, so a request signed with one key would pass as the other; give each key a secret of its own"),
            ));
        }
    }
    Ok(())
}

/// No client may hold an origin key's secret: it could sign for the origin itself, around
/// every check of the filter's (a tenants' attack run, 2026-12-01). Unless the origin key is
/// the client's own pair, passed through for its requests: then it is the same key, whoever
/// else's requests the origin gets signed with it.
fn no_client_holds_an_origin_secret(
    credentials: &[CredentialPair],
    credentials_name: &str,
) -> Result<(), ConfigError> {
    let origins = KeyTable::new(
        credentials
            .iter()
            .enumerate()
            .map(|(j, pair)| (j, pair.origin.secret.key().expose())),
    );
    for (i, pair) in credentials.iter().enumerate() {
        let Some(secret) = client_secret(pair) else {
            continue;
        };
        let passed_through = |j: usize| {
            !pair.translates() && credentials[j].origin.access_key_id == pair.client.access_key_id
        };
        if let Some(j) = origins.first(secret, |j| !passed_through(j)) {
            let whose = if i == j {
                "its own origin key".to_owned()
            } else {
                format!("the origin key of {credentials_name}[{j}]")
            };
            return Err(ConfigError::new(
                format!("{credentials_name}[{i}]"),
                format!("has a secret that signs as that of {whose} (the same secret, or one HMAC cannot tell from it: a secret of more than 64 bytes and its SHA-1): whoever holds this client key could sign for the origin itself; give it a secret of its own"),
            ));
        }
    }
    Ok(())
}

/// With several keys one may hold half the budget (`gateway::memory_budget`), and a chunk is
/// held whole with its CRLF: a half smaller than that refused every upload of full-sized
/// chunks with 503 (a review, 2026-12-01).
fn check_key_shares(config: &Config, max_chunk: u64, budget: u64) -> Result<(), String> {
    if config.credentials.len() > 1 && budget / 2 < max_chunk.saturating_add(2) {
        return Err(format!(
            "must hold two chunks of max_chunk_size_bytes ({max_chunk}) when several keys share it: one key may hold half"
        ));
    }
    Ok(())
}

/// One `credentials` entry. A standalone filter verifies with the client secret and signs with
/// the origin pair (the client's own when none is given); an edge filter holds the client
/// secret only; an origin filter the origin pair only, found by the client's key id.
fn credential_pair(
    mut c: Fields<'_>,
    role: Role,
    env: Env<'_>,
) -> Result<CredentialPair, ConfigError> {
    let origin_fields = [
        "origin_access_key_id",
        "origin_secret_access_key",
        "origin_secret_access_key_env",
    ];
    let pair = match role {
        Role::Standalone | Role::Edge => {
            if role == Role::Edge {
                for name in origin_fields {
                    c.refuse(role, name)?;
                }
            }
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
            CredentialPair::standalone(client, origin)
        }
        Role::Origin => {
            for name in ["secret_access_key", "secret_access_key_env"] {
                c.refuse(role, name)?;
            }
            let client_id = c.required::<String>("access_key_id")?;
            check_access_key_id(&client_id)
                .map_err(|r| ConfigError::new(c.path("access_key_id"), r))?;
            let origin_id = c.required::<String>("origin_access_key_id")?;
            let origin = c.key_pair_with_id(
                origin_id,
                "origin_access_key_id",
                "origin_secret_access_key",
                env,
            )?;
            CredentialPair {
                client: ClientKey {
                    access_key_id: client_id,
                    secret: None,
                },
                origin,
                translated: true,
            }
        }
    };
    c.no_others()?;
    Ok(pair)
}

/// The host names `list` gives, each with its place in the list as written (an error names it
/// so).
fn public_domains(list: Vec<(usize, String)>, field: &str) -> Result<PublicDomains, ConfigError> {
    let mut domains: Vec<PublicDomain> = Vec::new();
    let mut places = Vec::new();
    for (i, text) in list {
        let domain = PublicDomain::parse(&text)
            .map_err(|e| ConfigError::new(format!("{field}[{i}]"), e.0))?;
        if domains.contains(&domain) {
            return Err(ConfigError::new(format!("{field}[{i}]"), "is listed twice"));
        }
        for (&j, other) in places.iter().zip(&domains) {
            let clash = domain.bucket_host_under(other).is_some()
                || other.bucket_host_under(&domain).is_some();
            if clash {
                return Err(ConfigError::new(
                    format!("{field}[{i}]"),
                    format!(
                        "one of it and {field}[{j}] is the host of a bucket under the other (virtual-hosted): a request signed for that host could mean either; serve one of the two"
                    ),
                ));
            }
        }
        domains.push(domain);
        places.push(i);
    }
    if domains.is_empty() {
        return Err(ConfigError::new(
            field,
            "at least one host name is required",
        ));
    }
    Ok(PublicDomains::new(domains))
}

/// Errors of the checks below quote no value: a secret pasted into the wrong field (an access
/// key id swapped with its secret, a URL with `user:password@`) would be logged (a review found
/// one, 2026-12-01).
fn check_authority(authority: &str) -> Result<(), String> {
    if authority.contains("://") {
        return Err("expected host[:port], not a URL: drop the scheme".to_owned());
    }
    let invalid = || "is not a valid host[:port]".to_owned();
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
    // No empty label (`origin.`, `.origin`, `a..b`): Garage matches its root domain label by
    // label, so `bucket.origin.` was no virtual-hosted name to it, and it read the request
    // path-style, the key's first segment as the bucket (an attack run, 2026-12-01).
    let name = !authority.starts_with('[');
    if host.is_empty()
        || (name && !host.bytes().all(host_char))
        || (name && host.split('.').any(str::is_empty))
    {
        return Err(invalid());
    }
    if let Some(port) = port {
        port.parse::<u16>()
            .ok()
            .filter(|&p| p != 0 && !port.starts_with('+'))
            .ok_or_else(|| "has no valid port (1 to 65535)".to_owned())?;
    }
    Ok(())
}

fn addressing_named(name: &str) -> Result<OriginAddressing, String> {
    match name {
        "path" => Ok(OriginAddressing::Path),
        "virtual" => Ok(OriginAddressing::Virtual),
        "preserve" => Ok(OriginAddressing::Preserve),
        _ => Err("is not one of path, virtual, preserve".to_owned()),
    }
}

/// No bucket can be put in front of an address.
fn check_addressing(addressing: OriginAddressing, origin_authority: &str) -> Result<(), String> {
    if addressing == OriginAddressing::Virtual && crate::addressing::is_ip_literal(origin_authority)
    {
        return Err(
            "virtual needs an origin authority that is a host name, not an address".to_owned(),
        );
    }
    // MinIO matches `bkt.<host>` to `MINIO_DOMAIN` as written, case and all, and reads a host
    // that does not match path-style: with `Origin.test` against `origin.test`, a DeleteObject
    // of `bkt/victim` ran as the DeleteBucket of `victim` (an attack run on MinIO's router,
    // 2026-12-06). Lower-casing the name would only move the trap to a `MINIO_DOMAIN` in
    // upper case (a review): both are to be written in lower case.
    if addressing != OriginAddressing::Path
        && origin_authority.bytes().any(|b| b.is_ascii_uppercase())
    {
        return Err(
            "virtual and preserve need the origin authority in lower case: MinIO matches a bucket's host to MINIO_DOMAIN as written and reads any other path-style, so write both in lower case".to_owned(),
        );
    }
    Ok(())
}

fn check_region(region: &str) -> Result<(), String> {
    if is_region_name(region) {
        Ok(())
    } else {
        Err("is not a region name (printable ASCII without '/', ',' or '=')".to_owned())
    }
}

fn check_secret(secret: &str) -> Result<(), String> {
    if secret.trim().is_empty() {
        return Err("must not be empty or white space".to_owned());
    }
    // HMAC pads a key with zero bytes: `k` and `k\0` sign alike, and two keys differing so
    // would pass the check that no two client keys share a secret (a review, 2026-12-01).
    if secret.chars().any(char::is_control) {
        return Err("must not hold control characters".to_owned());
    }
    Ok(())
}

fn check_access_key_id(id: &str) -> Result<(), String> {
    // It travels inside `Credential=a/b/c`, between `,` separators, and before the `:` of
    // SigV2's `AWS id:signature`: those may not occur.
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/,=:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(
            "is not a valid access key id (printable ASCII without '/', ',', '=' or ':')"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests;
