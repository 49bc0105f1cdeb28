//! A proxy-wasm filter that does as little as a filter can, chosen by its plugin
//! configuration (plain text):
//!
//! - `noop`: continue at once; what any proxy-wasm filter costs a request in Envoy.
//! - `crash`: trap (a Rust panic, `unreachable` in the VM) on a request that carries the
//!   header `x-probe-crash`; continue otherwise. The failure policy test uses it.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mode: Mode::Noop }) });
}}

#[derive(Clone, Copy)]
enum Mode {
    Noop,
    Crash,
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
        Some(Box::new(Stream { mode: self.mode }))
    }
}

struct Stream {
    mode: Mode,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if let Mode::Crash = self.mode {
            if self
                .get_http_request_header_bytes("x-probe-crash")
                .is_some()
            {
                panic!("the probe crashes, as asked");
            }
        }
        Action::Continue
    }
}
