//! Every host call the filter makes, raw: the SDK's wrappers panic (killing the VM for every
//! stream of its worker) on a status they do not expect, copy every header to read the map,
//! and allocate twice to set a property. These return the status instead, and the caller fails
//! closed (or, for metrics, goes on without them). The SDK's dispatcher and logger, which the
//! filter cannot avoid, still panic if the host breaks the ABI itself (an unknown context id,
//! a failed log call).

use crate::client_net::ClientNet;
use proxy_wasm::types::{BufferType, MapType, MetricType};
use std::fmt;

/// A status other than Ok from the host.
#[derive(Clone, Copy)]
pub struct Status(u32);

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host status {}", self.0)
    }
}

#[allow(clashing_extern_declarations)]
#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
    ) -> u32;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_define_metric(
        metric_type: MetricType,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: BufferType,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        buffer_type: BufferType,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details_data: *const u8,
        details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
}

/// The ABI's `NotFound`.
const NOT_FOUND: u32 = 1;

fn ok(status: u32) -> Result<(), Status> {
    match status {
        0 => Ok(()),
        status => Err(Status(status)),
    }
}

/// Takes what the host returned through a pair of out-parameters: `None` for nothing.
///
/// # Safety
/// `data` is null, or the host's allocation of `size` bytes, made through this module's
/// `proxy_on_memory_allocate` (the SDK's: a boxed slice of exactly `size` bytes), so it is
/// owned here and freed as a vector of that capacity, as the SDK itself does.
unsafe fn returned(status: u32, data: *mut u8, size: usize) -> Result<Option<Vec<u8>>, Status> {
    match status {
        0 if data.is_null() => Ok(None),
        0 => Ok(Some(unsafe { Vec::from_raw_parts(data, size, size) })),
        NOT_FOUND => Ok(None),
        status => Err(Status(status)),
    }
}

/// Up to `max_size` bytes of a buffer from `start`.
pub fn get_buffer(
    buffer_type: BufferType,
    start: usize,
    max_size: usize,
) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    // SAFETY: the host writes the out-parameters during the call (see `returned`).
    unsafe {
        let status = proxy_get_buffer_bytes(buffer_type, start, max_size, &mut data, &mut size);
        returned(status, data, size)
    }
}

/// Replaces `size` bytes of a buffer from `start` with `value` (`size` 0 inserts).
pub fn set_buffer(
    buffer_type: BufferType,
    start: usize,
    size: usize,
    value: &[u8],
) -> Result<(), Status> {
    // SAFETY: the host reads `value` during the call.
    ok(unsafe { proxy_set_buffer_bytes(buffer_type, start, size, value.as_ptr(), value.len()) })
}

/// One request header's value (repeats joined by the host), if it is there.
pub fn request_header(name: &str) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    // SAFETY: as in `get_buffer`.
    unsafe {
        let status = proxy_get_header_map_value(
            MapType::HttpRequestHeaders,
            name.as_ptr(),
            name.len(),
            &mut data,
            &mut size,
        );
        returned(status, data, size)
    }
}

/// A property by its path, whose segments the ABI separates with NUL.
pub fn get_property(path: &[&str]) -> Result<Option<Vec<u8>>, Status> {
    let serialized = path.join("\0");
    let (mut data, mut size): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    // SAFETY: as in `get_buffer`.
    unsafe {
        let status =
            proxy_get_property(serialized.as_ptr(), serialized.len(), &mut data, &mut size);
        returned(status, data, size)
    }
}

/// The network of the request's client: Envoy's `source.address`, the peer of the downstream
/// connection, or the address the connection manager takes from `X-Forwarded-For` where its
/// configuration trusts that header.
pub fn client_net() -> Option<ClientNet> {
    let address = get_property(&["source", "address"]).ok()??;
    ClientNet::parse(&address)
}

/// Whether the request came over HTTP/1.x (Envoy's `request.protocol`); `None` when Envoy
/// does not say.
pub fn request_is_http1() -> Option<bool> {
    let protocol = get_property(&["request", "protocol"]).ok()??;
    Some(protocol.starts_with(b"HTTP/1"))
}

/// Answers the request from the filter: Envoy sends `status`, `headers` and `body` and
/// ends (or resets) the stream.
pub fn send_local_response(
    status: u32,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), Status> {
    // The ABI's header map: a count, each pair's two lengths, then each name and value
    // followed by a NUL (all lengths little-endian u32).
    let length = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    let mut map = Vec::with_capacity(
        4 + headers.len() * 10
            + headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>(),
    );
    map.extend_from_slice(&length(headers.len()));
    for (name, value) in headers {
        map.extend_from_slice(&length(name.len()));
        map.extend_from_slice(&length(value.len()));
    }
    for (name, value) in headers {
        for part in [name.as_bytes(), value.as_bytes()] {
            map.extend_from_slice(part);
            map.push(0);
        }
    }
    // SAFETY: the host reads the given byte ranges during the call.
    ok(unsafe {
        proxy_send_local_response(
            status,
            std::ptr::null(),
            0,
            body.as_ptr(),
            body.len(),
            map.as_ptr(),
            map.len(),
            -1,
        )
    })
}

pub fn define_metric(metric_type: MetricType, name: &str) -> Result<u32, Status> {
    let mut id = 0;
    // SAFETY: the host reads `name` and writes the id during the call.
    ok(unsafe { proxy_define_metric(metric_type, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// The request headers, serialised (see `header_map`).
pub fn request_headers() -> Result<Vec<u8>, Status> {
    let (mut data, mut size): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    // SAFETY: as in `get_buffer`. Unlike a buffer, the map is never missing: any status
    // but Ok is an error.
    unsafe {
        let status = proxy_get_header_map_pairs(MapType::HttpRequestHeaders, &mut data, &mut size);
        ok(status)?;
        Ok(returned(status, data, size)?.unwrap_or_default())
    }
}

/// Sets (replaces) a request header, or removes it (`None`).
pub fn set_request_header(name: &str, value: Option<&[u8]>) -> Result<(), Status> {
    let map = MapType::HttpRequestHeaders;
    // SAFETY: the host reads the given byte ranges during the call; they outlive it.
    ok(unsafe {
        match value {
            Some(value) => proxy_replace_header_map_value(
                map,
                name.as_ptr(),
                name.len(),
                value.as_ptr(),
                value.len(),
            ),
            None => proxy_remove_header_map_value(map, name.as_ptr(), name.len()),
        }
    })
}

/// The host's clock, in whole seconds since the Unix epoch.
pub fn unix_seconds() -> Result<u64, Status> {
    Ok(unix_nanos()? / 1_000_000_000)
}

/// The host's clock, in milliseconds since the Unix epoch.
pub fn unix_millis() -> Result<u64, Status> {
    Ok(unix_nanos()? / 1_000_000)
}

fn unix_nanos() -> Result<u64, Status> {
    let mut nanos: u64 = 0;
    // SAFETY: the host writes the time into the out-parameter during the call.
    ok(unsafe { proxy_get_current_time_nanoseconds(&mut nanos) })?;
    Ok(nanos)
}

/// Makes the stream (or root) `context_id` the one the host calls that follow act on: a root's
/// tick answering a stream. Fails when the host no longer knows it.
pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
    // SAFETY: plain values only.
    ok(unsafe { proxy_set_effective_context(context_id) })
}

/// Has the host call the root's `on_tick` every `period_ms` milliseconds.
pub fn set_tick_period(period_ms: u32) -> Result<(), Status> {
    // SAFETY: plain values only.
    ok(unsafe { proxy_set_tick_period_milliseconds(period_ms) })
}

pub fn increment_metric(id: u32, offset: i64) -> Result<(), Status> {
    // SAFETY: plain values only.
    ok(unsafe { proxy_increment_metric(id, offset) })
}

/// Sets the filter-state property `name` (one path segment).
pub fn set_property(name: &str, value: &[u8]) -> Result<(), Status> {
    // SAFETY: as above.
    ok(unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}
