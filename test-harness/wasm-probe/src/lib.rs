//! Proxy-wasm filters that do as little as a filter can, chosen by their plugin configuration
//! (plain text). They are the yardsticks of the benchmarks and the crash of the failure-policy
//! test, never a part of the product.
//!
//! - `noop`: continue at once; what any proxy-wasm filter costs a request in Envoy.
//! - `least-work`: only what verifying and re-signing a request cannot avoid: read `:method`,
//!   `:path`, `:authority` and `x-amz-date`; hash two canonical requests (one for the public
//!   host, one for the origin) and sign two strings to sign with keys derived once; rewrite
//!   `:authority` and `:path`. No parsing, no checks, no allocation it can do without.
//! - `hash-body`: SHA-256 over every byte of the request body, nothing else: the ceiling of
//!   any filter that verifies signed aws-chunked uploads.
//! - `crash`: trap (a Rust panic, `unreachable` in the VM) on a request that carries the
//!   header `x-probe-crash`; continue otherwise.

use hmac::{Hmac, KeyInit, Mac};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};
use sha2::{Digest, Sha256};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mode: Mode::Noop }) });
}}

const ORIGIN: &[u8] = b"origin.example:9000";
const SCOPE: &[u8] = b"20261129/us-east-1/s3/aws4_request";

#[derive(Clone)]
enum Mode {
    Noop,
    LeastWork(Rc<Keys>),
    HashBody,
    Crash,
}

/// The two signing keys, derived once (as the filter caches them).
struct Keys {
    client: Hmac<Sha256>,
    origin: Hmac<Sha256>,
}

fn signing_key(secret: &[u8]) -> Hmac<Sha256> {
    let mut key = [b"AWS4".as_slice(), secret].concat();
    for part in [&b"20261129"[..], b"us-east-1", b"s3", b"aws4_request"] {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
        mac.update(part);
        key = mac.finalize().into_bytes().to_vec();
    }
    <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap_or_else(|_| unreachable!())
}

struct Root {
    mode: Mode,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        self.mode = match config.trim_ascii() {
            b"" | b"noop" => Mode::Noop,
            b"least-work" => Mode::LeastWork(Rc::new(Keys {
                client: signing_key(b"client-secret"),
                origin: signing_key(b"origin-secret"),
            })),
            b"hash-body" => Mode::HashBody,
            b"crash" => Mode::Crash,
            other => {
                log::error!("unknown probe mode {}", String::from_utf8_lossy(other));
                return false;
            }
        };
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            mode: self.mode.clone(),
            body: Sha256::new(),
        }))
    }
}

struct Stream {
    mode: Mode,
    body: Sha256,
}

impl Context for Stream {}

fn header(name: &str) -> Vec<u8> {
    hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The canonical request of a GET signed over host and x-amz-date, and its signature.
fn sign(key: &Hmac<Sha256>, method: &[u8], path: &[u8], host: &[u8], date: &[u8]) -> [u8; 32] {
    let mut canonical = Sha256::new();
    for part in [
        method,
        b"\n",
        path,
        b"\n\nhost:",
        host,
        b"\nx-amz-date:",
        date,
        b"\n\nhost;x-amz-date\nUNSIGNED-PAYLOAD",
    ] {
        canonical.update(part);
    }
    let hash = canonical.finalize();
    let mut hex = [0u8; 64];
    for (i, b) in hash.iter().enumerate() {
        hex[2 * i] = b"0123456789abcdef"[usize::from(b >> 4)];
        hex[2 * i + 1] = b"0123456789abcdef"[usize::from(b & 15)];
    }
    let mut mac = key.clone();
    for part in [&b"AWS4-HMAC-SHA256\n"[..], date, b"\n", SCOPE, b"\n", &hex] {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        match &self.mode {
            Mode::Noop | Mode::HashBody => {}
            Mode::Crash => {
                if self
                    .get_http_request_header_bytes("x-probe-crash")
                    .is_some()
                {
                    panic!("the probe crashes, as asked");
                }
            }
            Mode::LeastWork(keys) => {
                let (method, path) = (header(":method"), header(":path"));
                let (host, date) = (header(":authority"), header("x-amz-date"));
                let client = sign(&keys.client, &method, &path, &host, &date);
                let origin = sign(&keys.origin, &method, &path, ORIGIN, &date);
                // Keep the results alive: a probe that skipped them would measure nothing.
                let path = if client[0] == origin[0] {
                    &path[..]
                } else {
                    &path[..path.len()]
                };
                let _ = hostcalls::set_map_value_bytes(
                    MapType::HttpRequestHeaders,
                    ":authority",
                    Some(ORIGIN),
                );
                let _ = hostcalls::set_map_value_bytes(
                    MapType::HttpRequestHeaders,
                    ":path",
                    Some(path),
                );
            }
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, size: usize, _end_of_stream: bool) -> Action {
        if let Mode::HashBody = self.mode {
            if let Ok(Some(bytes)) = hostcalls::get_buffer(BufferType::HttpRequestBody, 0, size) {
                self.body.update(&bytes);
            }
        }
        Action::Continue
    }
}
