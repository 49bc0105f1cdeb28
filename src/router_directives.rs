//! Request headers Envoy's router takes as instructions: how often to retry and on what, how
//! long to wait, whether to hedge, which host to pick. Envoy removes them from a client it
//! counts as external, but honours them from one it counts as internal
//! (`internal_address_config`; Envoys before 1.36 could count any private address when it is
//! unset):
//! a signed request carrying them went to the backup origin, re-signed with the backup's key,
//! after the primary refused it, and a signed `POST` ran at both origins (two red teams,
//! 2026-12-02). They are orders to the proxy, not part of an S3 request, so no client may steer
//! the router with them: the filter removes them from every request it lets through, whoever
//! Envoy thinks sent it, and refuses a request that signed one (400 `InvalidArgument`), which
//! would otherwise fail at the origin.
//!
//! Envoy's other `x-envoy-*` request headers stay: a front Envoy or Istio sets them (attempt
//! counts, peer metadata, tracing) and the router only reports them.

use crate::rejection::Rejection;
use crate::s3_error::S3ErrorCode::InvalidArgument;

/// The router's directives, as Envoy's router documentation lists them, and the original
/// destination cluster's host header.
const DIRECTIVES: [&str; 13] = [
    "x-envoy-expected-rq-timeout-ms",
    "x-envoy-hedge-on-per-try-timeout",
    "x-envoy-max-retries",
    "x-envoy-original-dst-host",
    "x-envoy-retriable-header-names",
    "x-envoy-retriable-status-codes",
    "x-envoy-retry-grpc-on",
    "x-envoy-retry-on",
    "x-envoy-upstream-alt-stat-name",
    "x-envoy-upstream-rq-per-try-timeout-ms",
    "x-envoy-upstream-rq-timeout-alt-response",
    "x-envoy-upstream-rq-timeout-ms",
    "x-envoy-upstream-stream-duration-ms",
];

/// A directive the client signed: it is no part of the S3 request, and removed, it would fail
/// the origin's check of the signature.
pub fn signed(name: &str) -> Rejection {
    Rejection::new(
        InvalidArgument,
        format!("The header {name} is an instruction to the proxy, not part of the request: it cannot be signed."),
    )
}

/// The directives among `names` (in lower case, as Envoy delivers them), each once.
pub fn present<'h>(names: impl IntoIterator<Item = &'h [u8]>) -> Vec<&'static str> {
    let mut found = Vec::new();
    for name in names {
        if !name.starts_with(b"x-envoy-") {
            continue;
        }
        if let Some(&directive) = DIRECTIVES.iter().find(|d| d.as_bytes() == name) {
            if !found.contains(&directive) {
                found.push(directive);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(names: &[&str]) -> Vec<&'static str> {
        present(names.iter().map(|n| n.as_bytes()))
    }

    #[test]
    fn finds_each_directive_once() {
        assert_eq!(
            of(&[
                "x-envoy-retry-on",
                "range",
                "x-envoy-max-retries",
                "x-envoy-retry-on"
            ]),
            ["x-envoy-retry-on", "x-envoy-max-retries"]
        );
        for directive in DIRECTIVES {
            assert_eq!(of(&[directive]), [directive]);
        }
    }

    #[test]
    fn leaves_what_the_router_only_reports() {
        assert!(of(&[
            "x-envoy-attempt-count",
            "x-envoy-peer-metadata",
            "x-envoy-decorator-operation",
            "x-envoy-external-address",
            "x-envoy-retry-onx",
            "x-amz-date",
        ])
        .is_empty());
    }

    #[test]
    fn the_list_is_sorted_lower_case_and_in_envoys_namespace() {
        assert!(DIRECTIVES.windows(2).all(|w| w[0] < w[1]));
        assert!(DIRECTIVES
            .iter()
            .all(|d| d.starts_with("x-envoy-") && !d.bytes().any(|b| b.is_ascii_uppercase())));
    }
}
