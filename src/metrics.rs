//! The filter's counters, as Envoy exports them (`/stats`, `/stats/prometheus`).
//!
//! Tags are encoded in the metric name the way Istio's own metrics are (`tag=.=value;.;name`),
//! so the same tag-extraction rule serves Envoy (`stats_tags` in envoy/envoy.yaml) and Istio
//! (`extraStatTags`): Prometheus then shows `s3_resign_requests_total{kind="presigned_v4"}`.

use crate::gateway::AuthKind;
use crate::s3_error::S3ErrorCode;

pub const REQUESTS: &str = "s3_resign_requests_total";
pub const REJECTIONS: &str = "s3_resign_rejections_total";
pub const CONFIG_RELOADS: &str = "s3_resign_config_reloads_total";
pub const CHUNKS: &str = "s3_resign_chunks_resigned_total";

/// Every counter the filter defines, with its tag; defined up front so that all of them show
/// (at zero) from the start.
pub fn all() -> Vec<String> {
    let mut names: Vec<String> = AuthKind::ALL.iter().map(|k| requests(*k)).collect();
    names.extend(S3ErrorCode::ALL.iter().map(|c| rejections(*c)));
    names.push(config_reloads(true));
    names.push(config_reloads(false));
    names.push(CHUNKS.to_owned());
    names
}

/// Requests forwarded to the origin, by how they authenticated.
pub fn requests(kind: AuthKind) -> String {
    tagged(REQUESTS, "kind", kind.as_str())
}

/// Requests the filter answered itself, by S3 error code.
pub fn rejections(code: S3ErrorCode) -> String {
    tagged(REJECTIONS, "code", code.as_str())
}

/// Chunks of signed aws-chunked bodies verified and re-signed (`CHUNKS`, untagged).
///
/// Configurations loaded (by each VM: the main thread's and one per worker).
pub fn config_reloads(valid: bool) -> String {
    tagged(
        CONFIG_RELOADS,
        "result",
        if valid { "ok" } else { "invalid" },
    )
}

fn tagged(name: &str, tag: &str, value: &str) -> String {
    format!("{tag}=.={value};.;{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_tag_in_istio_form() {
        assert_eq!(
            requests(AuthKind::PresignedV4),
            "kind=.=presigned_v4;.;s3_resign_requests_total"
        );
        assert_eq!(
            rejections(S3ErrorCode::SignatureDoesNotMatch),
            "code=.=SignatureDoesNotMatch;.;s3_resign_rejections_total"
        );
        let all = all();
        assert_eq!(all.len(), AuthKind::ALL.len() + S3ErrorCode::ALL.len() + 3);
        assert!(all
            .iter()
            .all(|n| n.starts_with("s3_resign_") || n.contains(";.;s3_resign_")));
    }
}
