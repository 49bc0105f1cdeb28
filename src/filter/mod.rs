//! The proxy-wasm adapter: read the request head, ask the gateway, apply its rewrite or send
//! its error; then the stream's own work, which needs Envoy: its body as it comes, the heads
//! and bodies it holds and times, its counts. It decides nothing a request's bytes alone
//! decide (that is the gateway's), and it never panics: a failed host call answers the
//! request with an error instead of forwarding it (fail closed).

use crate::auth_kind::AuthKind;
use crate::config::{self, Config, Plugin, Role};
use crate::error_cors::{Allowed, ErrorCors};
use crate::gateway::{Decision, Forward, Gateway};
use crate::grant::Grant;
use crate::header_map;
use crate::held_body::HoldClock;
use crate::memory_budget::MemoryBudget;
use crate::origin_refusals::Ticket;
use crate::redact;
use crate::rejection::Rejection;
use crate::request::Request;
use crate::s3_error::{S3Error, S3ErrorCode};
use access_log::{printable_key_id, AccessLog};
use body::Body;
use counters::Counters;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel};
use request_id::RequestId;
use silent_holds::{SilentHolds, TickPeriod};
use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

mod access_log;
mod body;
mod counters;
mod host;
mod request_id;
mod silent_holds;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root {
            filters: None,
            counters: Rc::new(Counters::define()),
            tick: Rc::default(),
        })
    });
}}

/// Where the request's grant travels from the edge filter to the origin filters: Envoy filter
/// state `wasm.s3_resign.grant`, which filters write and clients cannot.
const GRANT_PROPERTY: &str = "s3_resign.grant";
/// Beside it, the edge stream's ticket, for the origin filters to mark a refusal on
/// (`origin_refusals`).
const TICKET_PROPERTY: &str = "s3_resign.ticket";
/// The endpoint metadata naming the origin an attempt goes to (`filter_metadata.s3_resign.origin`).
const ORIGIN_METADATA: [&str; 5] = [
    "xds",
    "upstream_host_metadata",
    "filter_metadata",
    "s3_resign",
    "origin",
];
/// What a re-signed request may have changed, put back as the client sent it before an origin
/// filter re-signs a grant (a retry starts again from the client's request).
const REWRITABLE: [&str; 5] = [
    ":authority",
    ":path",
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
];

/// What the plugin configuration made of this filter.
struct Filters {
    kind: FilterKind,
    /// Whether streams record their facts for the access log (`access_log_filter_state`).
    access_log: AccessLog,
    /// What every stream of this filter in this VM holds of request bodies.
    budget: Rc<MemoryBudget>,
    /// The time a stream's hold of body bytes starts with and may bank ahead (`held_body`):
    /// the longest its configurations allow.
    held_body_grace_ms: u64,
    /// Its streams' holds, for the root's tick to end those that fall silent.
    silent_holds: SilentHolds,
    /// The presigned cache's hits and misses already counted in the metrics.
    cache_reported: Cell<(u64, u64)>,
}

enum FilterKind {
    /// A standalone or edge filter (boxed: a `Gateway` is some 200 bytes, and the other
    /// variant a pointer and two lengths).
    Single(Box<Gateway>),
    /// An origin filter: a gateway per origin, by the name the endpoints carry.
    Origins(Vec<(String, Gateway)>),
}

struct Root {
    filters: Option<Rc<Filters>>,
    counters: Rc<Counters>,
    /// The tick's period now (`silent_holds`), which streams may hasten.
    tick: Rc<TickPeriod>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let json = match host::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(json) => json.unwrap_or_default(),
            Err(status) => {
                log::error!("cannot read the plugin configuration: {status:?}");
                self.counters.configured(false);
                return false;
            }
        };
        match Plugin::parse(&json, &|name| std::env::var(name).ok()) {
            Ok(plugin) => {
                // A listener update makes the configuration anew under the filter's name: the
                // one it replaces stays until its drain time has passed.
                let name = match host::get_property(&["plugin_name"]) {
                    Ok(Some(name)) => Some(String::from_utf8_lossy(&name).into_owned()),
                    _ => {
                        log::warn!("cannot read the plugin's name: a configuration this one replaces keeps its share of the VM's memory until Envoy drops it");
                        None
                    }
                };
                let filters = Rc::new(filters_of(plugin, name.as_deref()));
                self.filters = Some(filters);
                if let Err(status) = self.tick.set(silent_holds::TICK_MS) {
                    log::warn!("cannot set a tick: silent held bodies and waiting heads wait for Envoy's idle timeout ({status:?})");
                }
                self.counters.configured(true);
                true
            }
            Err(e) => {
                log::error!("invalid configuration: {e}");
                self.counters.configured(false);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        let Some(filters) = &self.filters else {
            return;
        };
        let Ok(now_ms) = host::unix_millis() else {
            return;
        };
        let backlog =
            filters
                .silent_holds
                .answer_overdue(now_ms, &self.counters, filters.access_log);
        // Forms taken back are answered within the short period too (a stream taking one back
        // starts it): until then they hold their streams, and what their networks may take
        // back (`MemoryBudget::took_back_cap`).
        let tick_ms = if backlog || filters.budget.holds_taken_back() {
            silent_holds::SHORT_TICK_MS
        } else {
            silent_holds::TICK_MS
        };
        // (On failure the next tick comes at the period before, and tries again.)
        let _ = self.tick.set(tick_ms);
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Only VMs that serve streams report, and each stream reports what the last one left
        // (the presigned cache grows on GETs too). Not in `on_configure`: for every listener
        // update Envoy configures a VM on the main thread and ends it without deleting its
        // root context, so its report stayed in the summed gauge for good (1.2 MB a push; a
        // red team on state, 2026-12-02). No host call unless the memory changed.
        self.counters.memory();
        Some(Box::new(Stream {
            filters: self.filters.clone(),
            counters: self.counters.clone(),
            tick: self.tick.clone(),
            body: None,
            hold: HoldClock::default(),
            head: false,
            request_line: String::new(),
            access_key_id: None,
            request_id: RequestId::default(),
            cors_origin: None,
            answered: Rc::default(),
            context_id,
            uncounted: None,
            edge_ticket: None,
            granted_ticket: None,
            head_waits: false,
        }))
    }
}

/// The gateways of a configuration, sharing one memory budget, with the log line that says
/// what was configured.
fn filters_of(plugin: Plugin, name: Option<&str>) -> Filters {
    let configs: Vec<&Config> = match &plugin {
        Plugin::Single(config) => vec![config],
        Plugin::Origins(origins) => origins.iter().map(|(_, c)| c).collect(),
    };
    let level = configs
        .iter()
        .map(|c| c.log_level)
        .min()
        .unwrap_or_default();
    proxy_wasm::set_log_level(log_level(level));
    let budget = crate::gateway::memory_budget(&configs, name);
    let budget_bytes = budget.limit();
    let held_body_grace_ms = configs
        .iter()
        .map(|c| c.held_body_timeout_seconds.saturating_mul(1000))
        .max()
        .unwrap_or(config::DEFAULT_HELD_BODY_TIMEOUT_SECONDS * 1000);
    let access_log = AccessLog {
        enabled: configs.iter().any(|c| c.access_log_filter_state),
    };
    for config in &configs {
        let domains: Vec<String> = config
            .public_domains
            .iter()
            .map(|d| d.to_string())
            .collect();
        let domains = domains.join(", ");
        let keys = config.credentials.len();
        match config.role {
            Role::Standalone => log::info!(
                "configured: serving {domains}, origin {}, {keys} key pair(s), anonymous requests {:?}, chunk memory budget {budget_bytes} bytes",
                config.origin_authority,
                config.anonymous,
            ),
            Role::Edge => log::info!(
                "configured as the edge: serving {domains}, {keys} client key(s), anonymous requests {:?}, chunk memory budget {budget_bytes} bytes; the origin filters re-sign",
                config.anonymous,
            ),
            Role::Origin => log::info!(
                "configured as an origin filter: origin {}, {keys} key pair(s), for requests the edge verified",
                config.origin_authority,
            ),
        }
    }
    let kind = match plugin {
        Plugin::Single(config) => {
            FilterKind::Single(Box::new(Gateway::with_budget(config, budget.clone())))
        }
        Plugin::Origins(origins) => FilterKind::Origins(
            origins
                .into_iter()
                .map(|(name, config)| (name, Gateway::with_budget(config, budget.clone())))
                .collect(),
        ),
    };
    Filters {
        kind,
        access_log,
        budget,
        held_body_grace_ms,
        silent_holds: SilentHolds::default(),
        cache_reported: Cell::default(),
    }
}

fn log_level(level: config::LogLevel) -> LogLevel {
    match level {
        config::LogLevel::Trace => LogLevel::Trace,
        config::LogLevel::Debug => LogLevel::Debug,
        config::LogLevel::Info => LogLevel::Info,
        config::LogLevel::Warn => LogLevel::Warn,
        config::LogLevel::Error => LogLevel::Error,
    }
}

struct Stream {
    filters: Option<Rc<Filters>>,
    counters: Rc<Counters>,
    tick: Rc<TickPeriod>,
    /// What verifies and re-signs the body, while it streams.
    body: Option<Body>,
    /// Until when the body may hold bytes with none going on (`held_body`).
    hold: HoldClock,
    /// The request is a `HEAD` (its answers carry no body).
    head: bool,
    /// `METHOD path` and the key id the request claims, for the log line of a body refused
    /// mid-stream, when the head is gone.
    request_line: String,
    access_key_id: Option<String>,
    /// Envoy's id of the request, for every answer, also one given once the head has gone on.
    request_id: RequestId,
    /// The request's `Origin`, when its page may read the filter's refusals (CORS).
    cors_origin: Option<Allowed>,
    /// The filter answered the request itself: nothing of it may go on, whatever Envoy calls
    /// next (with `allow_on_headers_stop_iteration`, a `Continue` from a body callback would
    /// release the headers held back).
    answered: Rc<Cell<bool>>,
    /// Envoy's id of the stream, by which the root's tick answers it (`silent_holds`).
    context_id: u32,
    /// How the request authenticated, counted in `s3_resign_requests_total` once all of it
    /// has gone on, or its stream ended: a body refused on the way is a rejection only.
    uncounted: Option<AuthKind>,
    /// The edge filter granted the request to origin filters, which may refuse its attempts
    /// until its stream ends: only then is it counted (`origin_refusals`).
    edge_ticket: Option<Ticket>,
    /// An origin filter's: the ticket of the edge stream that granted the request.
    granted_ticket: Option<Ticket>,
    /// The request headers wait for the body's first byte or its end (`Forward::head_waits`).
    head_waits: bool,
}

impl Context for Stream {}

/// When Envoy deletes the stream: the request's count (an edge ticket's, the forwarded one unless
/// its head never went on), the held bytes of a stream that ended while its body was held given
/// back to the VM's budget, and its silent hold forgotten. Not in `on_log`: the module does not
/// export it, so that Envoy need not enter the VM once more for every request (`UNUSED_CALLBACKS`
/// in the Makefile).
impl Drop for Stream {
    fn drop(&mut self) {
        // An origin filter refused the last attempt and counted it: a rejection only.
        if self.edge_ticket.take().is_some_and(Ticket::close) {
            self.uncounted = None;
        }
        // A request whose stream ended before its body did (the origin answered first, or the
        // client went away) was forwarded all the same, unless its head never went on (a
        // review counted 300 abandoned held heads as forwarded, 2026-12-06).
        if self.head_waits {
            self.uncounted = None;
        }
        self.count_forwarded();
        if self.body.take().is_some() {
            self.record_memory();
        }
        self.forget_silence();
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        if self.is_origin_filter() {
            // First: any refusal of this attempt, however early, is the request's count.
            self.granted_ticket = granted_ticket();
        }
        let serialized = match host::request_headers() {
            Ok(serialized) => serialized,
            Err(status) => {
                let why = format!("cannot read the request headers: {status:?}");
                return self.internal_error(false, &why);
            }
        };
        let Some(pairs) = header_map::pairs(&serialized) else {
            return self.internal_error(false, "the host sent a malformed header map");
        };
        self.request_id = RequestId::of(&pairs);
        if let Some(cors) = self.error_cors().filter(|cors| !cors.is_empty()) {
            self.cors_origin = only_origin(&pairs).and_then(|origin| cors.allows(origin));
        }
        let req = match Request::from_headers(pairs) {
            Ok(req) => req
                .with_client_net(host::client_net)
                .ending_with_head(end_of_stream),
            Err(missing) => {
                log::info!(
                    "rejected a request without {}{}",
                    missing.0,
                    self.request_id.logged()
                );
                let error = S3Error::new(
                    S3ErrorCode::InvalidRequest,
                    format!("The request has no valid {} header.", missing.0),
                );
                return self.send_error(false, &error);
            }
        };
        let Some(filters) = self.filters.clone() else {
            return self.internal_error(is_head(&req), "the filter is not configured");
        };
        self.head = is_head(&req);
        match &filters.kind {
            FilterKind::Single(gateway) => {
                let Ok(now) = host::unix_seconds() else {
                    return self.internal_error(self.head, "cannot read the clock");
                };
                let decision = gateway.decide(&req, now);
                self.counters
                    .presigned_cache(gateway, &filters.cache_reported);
                let action = self.carry_out(&req, decision, None, end_of_stream);
                self.hasten_answers();
                action
            }
            FilterKind::Origins(origins) => {
                let grant = match granted() {
                    Ok(grant) => grant,
                    Err(why) => return self.internal_error(self.head, &why),
                };
                let gateway = match origin_of(origins) {
                    Ok(Some(gateway)) => gateway,
                    Ok(None) => {
                        let why = "the endpoint's metadata names no configured origin (filter_metadata.s3_resign.origin)";
                        return self.internal_error(self.head, why);
                    }
                    Err(status) => {
                        let why = format!("cannot read the endpoint's metadata: {status:?}");
                        return self.internal_error(self.head, &why);
                    }
                };
                let req = grant.request().ending_with_head(end_of_stream);
                let decision = gateway.decide_granted(&grant, &req);
                self.carry_out(&req, decision, Some(&grant), end_of_stream)
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.answered.get() {
            return Action::Pause;
        }
        let action = self.resign_body(body_size, end_of_stream);
        if end_of_stream {
            self.count_forwarded();
        }
        self.hasten_answers();
        action
    }

    fn on_http_request_trailers(&mut self, trailers: usize) -> Action {
        if self.answered.get() {
            return Action::Pause;
        }
        let action = self.judge_trailers(trailers);
        self.count_forwarded();
        action
    }
}

impl Stream {
    /// Forms taken back (by this stream or another) hold their streams until the tick answers
    /// them: within the short period from now, not in what is left of the long one (a burst
    /// of forms fitted in it). Asked after each callback that may have taken one back, a
    /// form's head or a piece of its fields, whatever became of the request: refused at once
    /// (a form that ends with its head, over budget), it may have taken one back all the same.
    fn hasten_answers(&self) {
        if let Some(filters) = &self.filters {
            if filters.budget.holds_taken_back() {
                let _ = self.tick.set(silent_holds::SHORT_TICK_MS);
            }
        }
    }

    /// Counts the request as forwarded, once, unless the filter refused it (an edge's, when
    /// its stream ends).
    fn count_forwarded(&mut self) {
        if self.edge_ticket.is_some() {
            return;
        }
        if let Some(kind) = self.uncounted.take() {
            if !self.answered.get() {
                self.counters.forwarded(kind);
            }
        }
    }

    /// Applies the decision on `req` (under `grant`, the grant's request: the client's as the
    /// edge verified it): the rewrite (after putting back what an earlier attempt changed, for
    /// a grant) and the grant for the origin filters, or the error.
    fn carry_out(
        &mut self,
        req: &Request<'_>,
        decision: Decision<'_>,
        grant: Option<&Grant>,
        end_of_stream: bool,
    ) -> Action {
        let mut forward = match decision {
            Decision::Forward(forward) => forward,
            Decision::Reject(rejection) => return self.reject(req, &rejection),
        };
        self.edge_ticket = forward.grant.is_some().then(Ticket::open);
        let applied = grant
            .map_or(Ok(()), |_| restore(req))
            .and_then(|()| apply(&forward, self.edge_ticket));
        if let Err(status) = applied {
            let why = format!("cannot rewrite the request: {status:?}");
            return self.internal_error(self.head, &why);
        }
        if forward.form.is_some()
            || forward.body.is_some()
            || forward.body_check.is_some()
            || forward.must_be_empty.is_some()
            || forward.head_waits
        {
            // For the log line of a body refused mid-stream, when the head is gone, or of a
            // head that waited for its body in vain.
            self.describe(req, forward.access_key_id);
        }
        if let Some(form) = forward.form.take() {
            // Counted and logged once the form's head says who signed it.
            return self.hold_form(form);
        }
        let body = match self.body_to_read(req, &mut forward, end_of_stream) {
            Ok(body) => body,
            Err(rejection) => return self.refuse_body(rejection),
        };
        self.access_log()
            .forwarded(forward.kind, forward.access_key_id);
        // Counted where the request was decided: an origin filter carries out the edge's
        // decision, once per attempt, and tells the edge when a later attempt goes on after
        // it refused one.
        if grant.is_none() {
            self.uncounted = Some(forward.kind);
            if end_of_stream {
                self.count_forwarded();
            }
        } else if let Some(ticket) = self.granted_ticket {
            ticket.forwarded();
        }
        self.body = body;
        self.head_waits = forward.head_waits;
        if self.head_waits {
            if let Err(rejection) = self.time_the_waiting_head() {
                return self.refuse_body(rejection);
            }
            return Action::Pause;
        }
        Action::Continue
    }

    /// Remembers what a log line says of the request, for a body refused once the head is gone.
    fn describe(&mut self, req: &Request<'_>, access_key_id: Option<&str>) {
        self.request_line = request_line(req);
        self.access_key_id = access_key_id.map(str::to_owned);
    }

    /// What this filter records for the access log (nothing where no configuration loaded).
    fn access_log(&self) -> AccessLog {
        self.filters
            .as_ref()
            .map(|f| f.access_log)
            .unwrap_or_default()
    }

    /// Whether this filter re-signs for the origins after an edge filter (`role: origin`).
    fn is_origin_filter(&self) -> bool {
        matches!(
            self.filters.as_deref().map(|f| &f.kind),
            Some(FilterKind::Origins(_))
        )
    }

    /// Which pages may read this filter's refusals (a standalone or edge filter's).
    fn error_cors(&self) -> Option<&ErrorCors> {
        match &self.filters.as_deref()?.kind {
            FilterKind::Single(gateway) => Some(&gateway.config().error_cors_origins),
            FilterKind::Origins(_) => None,
        }
    }

    fn record_memory(&self) {
        self.counters.memory();
    }

    fn reject(&self, req: &Request<'_>, rejection: &Rejection) -> Action {
        self.access_log()
            .access_key_id(rejection.access_key_id.as_deref());
        let described = with_key(&request_line(req), rejection.access_key_id.as_deref());
        log::info!(
            "rejected {described}: {}{}",
            rejection.error,
            self.request_id.logged()
        );
        self.log_detail(rejection);
        self.send_error(is_head(req), &rejection.error)
    }

    /// What only the log gives of a refusal, led by the request id: the detail spans lines,
    /// and with several workers the lines of requests interleave.
    fn log_detail(&self, rejection: &Rejection) {
        let id = self.request_id.as_str().unwrap_or("-");
        // Led line by line only when it is written: a client may have many refused.
        match rejection.detail.as_deref() {
            // The filter's configuration, not the client, is at fault: the operator must see it.
            Some(detail) if rejection.error.code == S3ErrorCode::InternalError => {
                log::warn!("request id {id}: {}", redact::continued_lines(detail))
            }
            Some(detail) => log::debug!("request id {id}: {}", redact::continued_lines(detail)),
            None => {}
        }
    }

    fn internal_error(&self, head: bool, why: &str) -> Action {
        log::error!("{why}; the request is refused{}", self.request_id.logged());
        self.send_error(head, &Rejection::internal(why).error)
    }

    /// Answers the request with `error`; it is not forwarded.
    fn send_error(&self, head: bool, error: &S3Error) -> Action {
        let cors: Vec<(&str, &str)> = self
            .error_cors()
            .map(|cors| cors.headers(self.cors_origin).collect())
            .unwrap_or_default();
        let counts = Counts {
            counters: &self.counters,
            granted_ticket: self.granted_ticket,
            access_log: self.access_log(),
        };
        answer(
            &self.answered,
            counts,
            error,
            head,
            self.request_id.as_str(),
            &cors,
        );
        Action::Pause
    }
}

/// Where a refusal is counted: the metrics, the edge's ticket (an origin filter's), the
/// access log.
struct Counts<'c> {
    counters: &'c Counters,
    granted_ticket: Option<Ticket>,
    access_log: AccessLog,
}

/// Answers the stream with `error`, from one of its callbacks or from the root's tick
/// (`silent_holds`): nothing of the request goes on from now (`answered`), and an answer
/// while the request streams resets the upstream request.
fn answer(
    answered: &Cell<bool>,
    counts: Counts<'_>,
    error: &S3Error,
    head: bool,
    request_id: Option<&str>,
    cors: &[(&str, &str)],
) {
    answered.set(true);
    counts.counters.rejected(error.code);
    if let Some(ticket) = counts.granted_ticket {
        // The edge counted nothing yet: this refusal is the request's count.
        ticket.refused();
    }
    counts.access_log.rejected(error.code);
    let body = error.xml_body(request_id);
    // `no-store`: a cache in front of Envoy must not keep, for a URL, a refusal one request's
    // own headers caused and answer others with it (RT60, 2026-12-05).
    let mut headers = vec![
        ("content-type", "application/xml"),
        ("cache-control", "no-store"),
    ];
    if let Some(id) = request_id {
        headers.push(("x-amz-request-id", id));
    }
    headers.extend_from_slice(cors);
    if let Some(methods) = error.allow() {
        headers.push(("allow", methods));
    }
    let body = if head { &[][..] } else { body.as_bytes() };
    if let Err(status) = host::send_local_response(error.code.status(), &headers, body) {
        // Nothing was forwarded; Envoy times the stream out.
        log::error!("cannot send the error response: {status:?}");
    }
}

/// The request's `Origin`, when it has one (a browser sends one; two are no browser's).
fn only_origin<'h>(headers: &[(&[u8], &'h [u8])]) -> Option<&'h [u8]> {
    let mut origins = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(b"origin"))
        .map(|&(_, value)| value);
    let first = origins.next()?;
    origins.next().is_none().then_some(first)
}

/// The grant of this request, from the edge filter.
fn granted() -> Result<Grant, String> {
    match host::get_property(&[GRANT_PROPERTY]) {
        Ok(Some(bytes)) => Grant::decode(&bytes)
            .map_err(|_| "the edge filter's grant cannot be read (different versions?)".to_owned()),
        Ok(None) => Err("no grant: no edge filter verified this request before the origin filter (check the filter chain)".to_owned()),
        Err(status) => Err(format!("cannot read the grant: {status:?}")),
    }
}

/// The ticket of the edge stream that granted this request; none from an edge of another
/// version (the count is then the edge's and the refusal's both, as before tickets).
fn granted_ticket() -> Option<Ticket> {
    let bytes = host::get_property(&[TICKET_PROPERTY]).ok()??;
    Ticket::from_bytes(&bytes)
}

/// The origin this attempt goes to: the one the endpoint's metadata names. An endpoint naming
/// none, or one not configured here (a backup dropped from `origins` while the cluster still
/// lists it), gets no origin's signature, even where only one is configured: it could replay
/// it at that origin (RT117, RV119).
fn origin_of(origins: &[(String, Gateway)]) -> Result<Option<&Gateway>, host::Status> {
    let name = host::get_property(&ORIGIN_METADATA)?;
    Ok(name.and_then(|name| {
        origins
            .iter()
            .find(|(n, _)| n.as_bytes() == name.as_slice())
            .map(|(_, gateway)| gateway)
    }))
}

/// Puts back the headers a re-signed attempt may have changed, as the client sent them.
fn restore(original: &Request<'_>) -> Result<(), host::Status> {
    for name in REWRITABLE {
        let value = match name {
            ":authority" => Some(original.authority),
            ":path" => Some(original.path()),
            _ => original.values(name).next(),
        };
        host::set_request_header(name, value)?;
    }
    Ok(())
}

fn apply(forward: &Forward<'_>, ticket: Option<Ticket>) -> Result<(), host::Status> {
    let set = |name: &str, value: &[u8]| host::set_request_header(name, Some(value));
    if let Some(authority) = &forward.authority {
        set(":authority", authority.as_bytes())?;
    }
    if let Some(grant) = &forward.grant {
        host::set_property(GRANT_PROPERTY, grant)?;
    }
    if let Some(ticket) = ticket {
        host::set_property(TICKET_PROPERTY, &ticket.to_bytes())?;
    }
    if let Some(path) = &forward.path {
        set(":path", path)?;
    }
    for (name, value) in &forward.headers {
        set(name, value)?;
    }
    for name in &forward.remove {
        host::set_request_header(name, None)?;
    }
    Ok(())
}

/// `METHOD path`: what a log line says of a request, its credentials masked.
fn request_line(req: &Request<'_>) -> String {
    format!(
        "{} {}",
        redact::printable(&String::from_utf8_lossy(req.method), 32),
        req.loggable_path(),
    )
}

/// `… (access key …)`: the key id a request claimed, printable (see `printable_key_id`).
fn with_key(line: &str, access_key_id: Option<&str>) -> String {
    let key = access_key_id.map_or(Cow::Borrowed("-"), printable_key_id);
    format!("{line} (access key {key})")
}

fn is_head(req: &Request<'_>) -> bool {
    req.method == b"HEAD"
}
