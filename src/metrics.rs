//! The filter's counters, as Envoy exports them (`/stats`, `/stats/prometheus`).
//!
//! Tags are encoded in the metric name the way Istio's own metrics are (`tag=.=value;.;name`),
//! so the same tag-extraction rule serves Envoy (`stats_tags` in envoy/envoy.yaml) and Istio
//! (`extraStatTags`): Prometheus then shows `s3_resign_requests_total{kind="presigned_v4"}`.

use crate::auth_kind::AuthKind;
use crate::s3_error::S3ErrorCode;

pub const REQUESTS: &str = "s3_resign_requests_total";
pub const REJECTIONS: &str = "s3_resign_rejections_total";
pub const CONFIG_RELOADS: &str = "s3_resign_config_reloads_total";
pub const PRESIGNED_CACHE: &str = "s3_resign_presigned_cache_lookups_total";
/// Chunks of signed aws-chunked bodies verified and re-signed (untagged).
pub const CHUNKS: &str = "s3_resign_chunks_resigned_total";
/// Gauge: bytes of bodies held now, summed over the VMs (each adds its own change), every
/// budget of each together (an edge filter's and its origin filters'): against
/// `chunk_memory_budget_bytes` per VM.
pub const HELD_BYTES: &str = "s3_resign_chunk_memory_held_bytes";
/// Gauge: the VMs' linear memory, summed over them (each grows, never shrinks): what the
/// filter costs the workers.
pub const VM_MEMORY: &str = "s3_resign_vm_memory_bytes";

/// Requests forwarded to the origin, by how they authenticated.
pub fn requests(kind: AuthKind) -> String {
    tagged(REQUESTS, "kind", kind.as_str())
}

/// Requests the filter answered itself, by S3 error code.
pub fn rejections(code: S3ErrorCode) -> String {
    tagged(REJECTIONS, "code", code.as_str())
}

/// Configurations loaded (by each VM: the main thread's and one per worker).
pub fn config_reloads(valid: bool) -> String {
    tagged(
        CONFIG_RELOADS,
        "result",
        if valid { "ok" } else { "invalid" },
    )
}

/// Presigned requests looked up in the cache of verified ones: `hit` (forwarded as verified
/// before) or `miss` (verified from scratch).
pub fn presigned_cache(hit: bool) -> String {
    tagged(PRESIGNED_CACHE, "result", if hit { "hit" } else { "miss" })
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
        assert_eq!(
            config_reloads(false),
            "result=.=invalid;.;s3_resign_config_reloads_total"
        );
    }

    /// Every counter the filter defines has its name, and a name of its own: two that came
    /// out the same would be one counter in Envoy (hits and misses summed), and a name other
    /// than the documented one is missing from `/stats` and the dashboard.
    #[test]
    fn every_counter_has_its_own_name() {
        assert_eq!(
            presigned_cache(true),
            "result=.=hit;.;s3_resign_presigned_cache_lookups_total"
        );
        assert_eq!(
            presigned_cache(false),
            "result=.=miss;.;s3_resign_presigned_cache_lookups_total"
        );
        assert_eq!(
            config_reloads(true),
            "result=.=ok;.;s3_resign_config_reloads_total"
        );
        let mut names: Vec<String> = AuthKind::ALL.iter().map(|k| requests(*k)).collect();
        names.extend(S3ErrorCode::ALL.iter().map(|c| rejections(*c)));
        names.extend([true, false].map(config_reloads));
        names.extend([true, false].map(presigned_cache));
        names.push(CHUNKS.to_owned());
        let count = names.len();
        crate::sort::sort(&mut names);
        names.dedup();
        assert_eq!(names.len(), count, "a name defined twice");
    }
}
