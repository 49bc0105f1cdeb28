//! A configuration from the environment the Python proxy read, for an empty plugin
//! configuration (the container image configures the filter this way).

use super::{
    addressing_named, check_access_key_id, check_addressing, check_secret, checked_reserved,
    default_reserved_buckets, public_domains, Anonymous, Common, CommonNames, Config, ConfigError,
    CredentialPair, Env, KeyPair, LogLevel, OperationSet, OriginAddressing, OriginSignatureVersion,
    DEFAULT_MAX_CLOCK_SKEW_SECONDS,
};
use crate::error_cors::ErrorCors;
use crate::sigv4::signing::{Secret, SecretKey};

impl Config {
    /// `PUBLIC_DOMAINS` (comma-separated), `ORIGIN_DOMAIN`, `AWS_REGION`,
    /// `CLIENT_ACCESS_KEY`/`CLIENT_SECRET_KEY` (or the single pair `AWS_ACCESS_KEY`/
    /// `AWS_SECRET_KEY`) and optionally `ORIGIN_ACCESS_KEY`/`ORIGIN_SECRET_KEY`, `LOG_LEVEL`,
    /// `ORIGIN_ADDRESSING`, `ORIGIN_SIGNATURE_VERSION`, `ERROR_CORS_ORIGINS`,
    /// `RESERVED_BUCKETS` and `UNSUPPORTED_OPERATIONS`.
    pub(super) fn from_legacy_env(env: Env<'_>) -> Result<Config, ConfigError> {
        let var = |name: &str| legacy_var(env, name);
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
                .enumerate()
                .filter(|(_, d)| !d.is_empty())
                .collect(),
            "PUBLIC_DOMAINS",
        )?;
        let (client, client_secret) =
            match legacy_pair(env, "CLIENT_ACCESS_KEY", "CLIENT_SECRET_KEY")? {
                Some(client) => (client, "CLIENT_SECRET_KEY"),
                None => (
                    legacy_pair(env, "AWS_ACCESS_KEY", "AWS_SECRET_KEY")?.ok_or_else(|| {
                        ConfigError::new(
                        "CLIENT_ACCESS_KEY",
                        "set CLIENT_ACCESS_KEY/CLIENT_SECRET_KEY or AWS_ACCESS_KEY/AWS_SECRET_KEY",
                    )
                    })?,
                    "AWS_SECRET_KEY",
                ),
            };
        let origin = legacy_pair(env, "ORIGIN_ACCESS_KEY", "ORIGIN_SECRET_KEY")?;
        let config = Self::validated(
            Common {
                public_domains,
                origin_authority,
                origin_region: var("AWS_REGION"),
                credentials: vec![CredentialPair::standalone(client, origin)],
                max_clock_skew_seconds: DEFAULT_MAX_CLOCK_SKEW_SECONDS,
                anonymous: Anonymous::Reject,
            },
            CommonNames {
                origin_authority: "ORIGIN_DOMAIN",
                origin_region: "AWS_REGION",
                credentials: "CLIENT_ACCESS_KEY",
                max_clock_skew_seconds: "max_clock_skew_seconds",
            },
        )
        // One pair: a key pair's error names the variable, not a place in a list (RT117).
        .map_err(|e| match e.field.as_str() {
            "CLIENT_ACCESS_KEY[0]" => ConfigError::new(client_secret, e.reason),
            _ => e,
        })?;
        let origin_addressing = var("ORIGIN_ADDRESSING")
            .map_or(Ok(OriginAddressing::default()), |name| {
                addressing_named(&name)
            })
            .and_then(|addressing| {
                check_addressing(addressing, &config.origin_authority).map(|()| addressing)
            })
            .map_err(|r| ConfigError::new("ORIGIN_ADDRESSING", r))?;
        Ok(Config {
            log_level: legacy_log_level(env)?,
            origin_addressing,
            origin_signature_version: legacy_signature_version(env)?,
            error_cors_origins: legacy_error_cors(env)?,
            reserved_buckets: legacy_reserved_buckets(env)?,
            unsupported_operations: legacy_unsupported_operations(env)?,
            // The container image, which configures the filter this way, logs them, and its
            // Envoy lets the filter stop on headers.
            access_log_filter_state: true,
            allow_on_headers_stop_iteration: true,
            ..config
        })
    }
}

/// A variable of the Python proxy's environment; set but empty counts as unset.
fn legacy_var(env: Env<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

/// A key pair from two variables of the Python proxy's environment, checked as a JSON
/// configuration's key pairs are; `None` when neither is set.
fn legacy_pair(
    env: Env<'_>,
    id_name: &str,
    secret_name: &str,
) -> Result<Option<KeyPair>, ConfigError> {
    match (legacy_var(env, id_name), legacy_var(env, secret_name)) {
        (Some(id), Some(secret)) => {
            check_access_key_id(&id).map_err(|r| ConfigError::new(id_name, r))?;
            check_secret(&secret).map_err(|r| ConfigError::new(secret_name, r))?;
            Ok(Some(KeyPair {
                access_key_id: id,
                secret: Secret::new(SecretKey::new(secret)),
            }))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::new(secret_name, "is not set")),
        (None, Some(_)) => Err(ConfigError::new(id_name, "is not set")),
    }
}

fn legacy_log_level(env: Env<'_>) -> Result<LogLevel, ConfigError> {
    Ok(match legacy_var(env, "LOG_LEVEL").as_deref() {
        None => LogLevel::default(),
        Some("trace") => LogLevel::Trace,
        Some("debug") => LogLevel::Debug,
        Some("info") => LogLevel::Info,
        Some("warn") => LogLevel::Warn,
        Some("error") => LogLevel::Error,
        Some(_) => {
            return Err(ConfigError::new(
                "LOG_LEVEL",
                "must be trace, debug, info, warn or error",
            ))
        }
    })
}

/// `RESERVED_BUCKETS`, comma-separated, as `reserved_buckets` (unset or empty, the default);
/// an error names the entry by its place as written. A value of only blanks and commas (a
/// template's stray space) is refused: read as no name, it would reserve none (a red team,
/// 2026-12-04).
fn legacy_reserved_buckets(env: Env<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(value) = legacy_var(env, "RESERVED_BUCKETS") else {
        return Ok(default_reserved_buckets());
    };
    let names = comma_separated(
        &value,
        "RESERVED_BUCKETS",
        "names no bucket: unset it for the default",
    )?;
    checked_reserved(names, "RESERVED_BUCKETS")
}

/// A comma-separated list's entries, trimmed, each with its place as written (empty entries
/// counted, then skipped). A value of only blanks and commas (a template's stray space) is
/// refused with `names_none`: read as no entry, it would list none.
fn comma_separated<'v>(
    value: &'v str,
    variable: &'static str,
    names_none: &'static str,
) -> Result<impl Iterator<Item = (usize, &'v str)>, ConfigError> {
    if value.split(',').all(|name| name.trim().is_empty()) {
        return Err(ConfigError::new(variable, names_none));
    }
    Ok(value
        .split(',')
        .map(str::trim)
        .enumerate()
        .filter(|(_, name)| !name.is_empty()))
}

/// `UNSUPPORTED_OPERATIONS`, comma-separated, as `unsupported_operations` (unset or empty,
/// the default; `none`, none: a variable cannot be an empty list); an error names the entry
/// by its place as written.
fn legacy_unsupported_operations(env: Env<'_>) -> Result<OperationSet, ConfigError> {
    let Some(value) = legacy_var(env, "UNSUPPORTED_OPERATIONS") else {
        return Ok(OperationSet::default());
    };
    if value.trim() == "none" {
        return Ok(OperationSet::empty());
    }
    let names = comma_separated(
        &value,
        "UNSUPPORTED_OPERATIONS",
        "names no operation: unset it for the default, or say none",
    )?;
    OperationSet::of_names(names)
        .map_err(|(place, why)| ConfigError::new(format!("UNSUPPORTED_OPERATIONS[{place}]"), why))
}

/// `ERROR_CORS_ORIGINS`, comma-separated, as `error_cors_origins`.
/// Empty entries (a trailing comma) are skipped; an error names the entry by its place in the
/// variable as written.
fn legacy_error_cors(env: Env<'_>) -> Result<ErrorCors, ConfigError> {
    let value = legacy_var(env, "ERROR_CORS_ORIGINS").unwrap_or_default();
    let (places, list): (Vec<usize>, Vec<String>) = value
        .split(',')
        .map(str::trim)
        .enumerate()
        .filter(|(_, origin)| !origin.is_empty())
        .map(|(place, origin)| (place, origin.to_owned()))
        .unzip();
    ErrorCors::parse(list).map_err(|(i, why)| {
        let place = places.get(i).copied().unwrap_or(i);
        ConfigError::new(format!("ERROR_CORS_ORIGINS[{place}]"), why)
    })
}

fn legacy_signature_version(env: Env<'_>) -> Result<OriginSignatureVersion, ConfigError> {
    match legacy_var(env, "ORIGIN_SIGNATURE_VERSION").as_deref() {
        None | Some("same") => Ok(OriginSignatureVersion::Same),
        Some("v4") => Ok(OriginSignatureVersion::V4),
        Some(_) => Err(ConfigError::new(
            "ORIGIN_SIGNATURE_VERSION",
            "must be same or v4",
        )),
    }
}
