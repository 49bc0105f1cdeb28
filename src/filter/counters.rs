//! The filter's counters and gauges in Envoy (names and tags in `crate::metrics`).

use super::host;
use crate::auth_kind::AuthKind;
use crate::gateway::Gateway;
use crate::memory_budget;
use crate::metrics;
use crate::s3_error::S3ErrorCode;
use proxy_wasm::types::MetricType;
use std::cell::Cell;

/// The VM's counter ids (see `metrics`), in `AuthKind::ALL` and `S3ErrorCode::ALL` order.
/// A counter that could not be defined is skipped: metrics never fail a request.
pub struct Counters {
    requests: Vec<Option<u32>>,
    rejections: Vec<Option<u32>>,
    config_ok: Option<u32>,
    config_invalid: Option<u32>,
    chunks: Option<u32>,
    cache_hits: Option<u32>,
    cache_misses: Option<u32>,
    held_bytes: Option<u32>,
    vm_memory: Option<u32>,
}

impl Counters {
    pub fn define() -> Self {
        let define = |name: String| host::define_metric(MetricType::Counter, &name).ok();
        let gauge = |name: &str| host::define_metric(MetricType::Gauge, name).ok();
        Counters {
            requests: AuthKind::ALL
                .iter()
                .map(|k| define(metrics::requests(*k)))
                .collect(),
            rejections: S3ErrorCode::ALL
                .iter()
                .map(|c| define(metrics::rejections(*c)))
                .collect(),
            config_ok: define(metrics::config_reloads(true)),
            config_invalid: define(metrics::config_reloads(false)),
            chunks: define(metrics::CHUNKS.to_owned()),
            cache_hits: define(metrics::presigned_cache(true)),
            cache_misses: define(metrics::presigned_cache(false)),
            held_bytes: gauge(metrics::HELD_BYTES),
            vm_memory: gauge(metrics::VM_MEMORY),
        }
    }

    /// The memory gauges, after anything that may have changed them: what every budget of
    /// the VM holds, and the VM's memory. Every worker's VM shares Envoy's gauges, so each adds
    /// the change since it last reported and the gauges are the sums over the VMs; set to the
    /// VM's own value, they showed whichever VM reported last (a walk-through with two
    /// workers, 2026-12-01).
    ///
    /// A change is remembered as reported only once the host took it, so that a failed call
    /// is made up for by the next rather than leaving the sums off for good (RV118).
    pub fn memory(&self) {
        let now = [memory_budget::held_in_this_vm() as u64, vm_memory_bytes()];
        REPORTED.with(|reported| {
            let mut told = reported.get();
            for (gauge, (told, now)) in [self.held_bytes, self.vm_memory]
                .into_iter()
                .zip(told.iter_mut().zip(now))
            {
                if adjust(gauge, *told, now) {
                    *told = now;
                }
            }
            reported.set(told);
        });
    }

    /// The cache lookups a gateway made since `seen`, its counts when last reported.
    pub fn presigned_cache(&self, gateway: &Gateway, seen: &Cell<(u64, u64)>) {
        let (hits, misses) = gateway.presigned_cache_stats();
        let (seen_hits, seen_misses) = seen.replace((hits, misses));
        add(self.cache_hits, hits.saturating_sub(seen_hits));
        add(self.cache_misses, misses.saturating_sub(seen_misses));
    }

    pub fn forwarded(&self, kind: AuthKind) {
        let at = AuthKind::ALL.iter().position(|k| *k == kind);
        increment(at.and_then(|i| self.requests.get(i)).copied().flatten());
    }

    pub fn rejected(&self, code: S3ErrorCode) {
        let at = S3ErrorCode::ALL.iter().position(|c| *c == code);
        increment(at.and_then(|i| self.rejections.get(i)).copied().flatten());
    }

    pub fn configured(&self, valid: bool) {
        increment(if valid {
            self.config_ok
        } else {
            self.config_invalid
        });
    }

    pub fn chunks_resigned(&self, n: u64) {
        add(self.chunks, n);
    }
}

thread_local! {
    /// What this VM last added to the memory gauges (held bytes, linear memory): one VM may
    /// run several filter configurations, each with its `Counters`, and must add its change once.
    static REPORTED: Cell<[u64; 2]> = const { Cell::new([0, 0]) };
}

/// Moves a gauge shared by every VM by this VM's change from `before` to `now`; whether the
/// gauge now counts `now`.
fn adjust(id: Option<u32>, before: u64, now: u64) -> bool {
    let delta = i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX);
    match id {
        _ if delta == 0 => true,
        Some(id) => host::increment_metric(id, delta).is_ok(),
        None => false,
    }
}

/// In `u64`: 65,536 pages (4 GiB) would wrap a 32-bit `usize` to 0.
fn vm_memory_bytes() -> u64 {
    const WASM_PAGE: u64 = 64 * 1024;
    core::arch::wasm32::memory_size(0) as u64 * WASM_PAGE
}

fn increment(id: Option<u32>) {
    add(id, 1);
}

fn add(id: Option<u32>, n: u64) {
    if let (Some(id), Ok(n)) = (id, i64::try_from(n)) {
        if n > 0 {
            let _ = host::increment_metric(id, n);
        }
    }
}
