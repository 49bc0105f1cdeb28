//! Streams that hold body bytes, or a head waiting for its body, and have fallen silent.
//! `held_body` is asked at each piece of a body; a stream that sends nothing more is never
//! asked again and keeps its bytes until Envoy's idle timeout (300 s on the shipped routes).
//! Each stream holding bytes or a head leaves its deadline here, and the root's tick answers
//! the ones past it, as their own body callback would have: 400 `RequestTimeout`, the upstream
//! request reset, the bytes given back when Envoy deletes the stream.

use super::access_log::AccessLog;
use super::counters::Counters;
use super::{host, Counts};
use crate::memory_budget::Waiting;
use crate::origin_refusals::Ticket;
use crate::post_policy::over_budget;
use crate::s3_error::{S3Error, S3ErrorCode};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

/// How often the root looks: a silent hold ends this long after its deadline.
pub const TICK_MS: u32 = 250;

/// How often while more are overdue than a tick answers, or forms taken back wait for their
/// answer: a backlog of silent holds keeps its bytes until answered (a red team queued 6,000,
/// answered 64 a second, 2026-12-02), and forms taken back keep their streams and what their
/// networks may take back (at 25 ms, 640 answers a second, six addresses rotating bodiless
/// HTTP/2 forms at 9 KB/s kept 48 of 73 browser uploads out at the smallest budget; a red
/// team, 2026-12-03). Up to 16,000 answers a second. Ticking every millisecond costs an idle
/// Envoy about 6% of a core (0.5% at 250 ms; measured), so the short period lasts only while
/// some are due or wait.
pub const SHORT_TICK_MS: u32 = 1;

/// The root's tick period, shared with its streams: a stream that takes a form back hastens
/// the tick at once (a form taken back holds its stream until the tick answers it). 0 until
/// first set.
#[derive(Default)]
pub struct TickPeriod(Cell<u32>);

impl TickPeriod {
    /// Has the root tick every `period_ms` from now, unless it already does: Envoy restarts
    /// the timer at every call, so a call each time a stream took a form back, more often
    /// than the period, would keep the tick from ever coming.
    pub fn set(&self, period_ms: u32) -> Result<(), host::Status> {
        if self.0.get() != period_ms {
            host::set_tick_period(period_ms)?;
            self.0.set(period_ms);
        }
        Ok(())
    }
}

/// The most holds one tick answers. Envoy sends each answer once the tick returns, and each
/// ends a stream whose deletion enters the VM, inside which the next answer is sent: the
/// calls nest one deep per answer, and a red team's 300 silent forms due at once overflowed
/// V8's stack (every other stream of the worker got 503; 2026-12-02).
const MAX_ANSWERS_PER_TICK: usize = 16;

/// The error a hold past its deadline gets, from a body callback or from the tick.
pub fn request_timeout() -> S3Error {
    S3Error::new(
        S3ErrorCode::RequestTimeout,
        "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
    )
}

/// What the tick needs to answer a stream it cannot call.
pub struct Hold {
    pub context_id: u32,
    pub deadline_ms: u64,
    /// The stream's own flag: once set, nothing of the request goes on.
    pub answered: Rc<Cell<bool>>,
    pub request_id: Option<String>,
    /// `METHOD path (key)` for the log line.
    pub line: String,
    pub granted_ticket: Option<Ticket>,
    /// The CORS headers the stream's refusals carry (`error_cors_origins`).
    pub cors: Vec<(String, String)>,
    pub holding: Holding,
    /// The request is a `HEAD` (a head that waits for its body may be one).
    pub head_request: bool,
}

/// What a stream holds while it waits: what its answer says.
pub enum Holding {
    /// Body bytes, none going on.
    Body,
    /// A browser form's fields, with its charge for its waiting headers: taken back for a
    /// newer form, the form is refused at once (503 `SlowDown`), whatever its deadline.
    Form(Option<Weak<Waiting>>),
    /// The request headers, for a body none of which has come (`Forward::head_waits`).
    Head,
}

impl Hold {
    fn taken_back(&self) -> bool {
        match &self.holding {
            Holding::Form(waiting) => waiting
                .as_ref()
                .and_then(Weak::upgrade)
                .is_some_and(|w| w.taken_back()),
            Holding::Body | Holding::Head => false,
        }
    }

    fn due(&self, now_ms: u64) -> bool {
        self.deadline_ms < now_ms || self.taken_back()
    }
}

/// The holds of one filter configuration's streams in this VM.
#[derive(Default)]
pub struct SilentHolds(RefCell<Vec<Hold>>);

impl SilentHolds {
    /// Sets the deadline of `context_id`'s hold (`make` describes a new one). What a hold holds
    /// changes only through `forget`: a head let go forgets its hold before its body's starts.
    pub fn track(&self, context_id: u32, deadline_ms: u64, make: impl FnOnce() -> Hold) {
        let Ok(mut holds) = self.0.try_borrow_mut() else {
            return;
        };
        match holds.iter_mut().find(|h| h.context_id == context_id) {
            Some(hold) => hold.deadline_ms = deadline_ms,
            None => holds.push(Hold {
                deadline_ms,
                ..make()
            }),
        }
    }

    /// The stream holds nothing now, or is gone.
    pub fn forget(&self, context_id: u32) {
        if let Ok(mut holds) = self.0.try_borrow_mut() {
            holds.retain(|h| h.context_id != context_id);
        }
    }

    /// Answers holds past their deadline at `now_ms`, up to `MAX_ANSWERS_PER_TICK`; the rest
    /// wait for the next tick. Whether any are left overdue.
    pub fn answer_overdue(&self, now_ms: u64, counters: &Counters, access_log: AccessLog) -> bool {
        let Ok(mut holds) = self.0.try_borrow_mut() else {
            return false;
        };
        let mut overdue = Vec::new();
        let mut at = 0;
        while at < holds.len() && overdue.len() < MAX_ANSWERS_PER_TICK {
            if holds[at].due(now_ms) {
                overdue.push(holds.swap_remove(at));
            } else {
                at += 1;
            }
        }
        let backlog = holds[at..].iter().any(|h| h.due(now_ms));
        drop(holds);
        for hold in overdue {
            answer(&hold, counters, access_log);
        }
        backlog
    }
}

fn answer(hold: &Hold, counters: &Counters, access_log: AccessLog) {
    if hold.answered.get() {
        return;
    }
    // The stream is gone when Envoy no longer knows its context.
    if host::set_effective_context(hold.context_id).is_err() {
        return;
    }
    let (error, why) = if hold.taken_back() {
        (
            over_budget().into_error(),
            "its waiting form made room for a newer one",
        )
    } else if matches!(hold.holding, Holding::Head) {
        // Also where Envoy never passes the body on: its `allow_on_headers_stop_iteration`
        // off, the filter's on (a review, 2026-12-06).
        (
            request_timeout(),
            "its head waited for a body that never reached the filter",
        )
    } else {
        (request_timeout(), "its held body fell silent")
    };
    let request_id = hold.request_id.as_deref();
    log::info!(
        "rejected {}: {error}; {why}{}",
        hold.line,
        request_id.map_or_else(String::new, |id| format!("; request id {id}"))
    );
    let cors: Vec<(&str, &str)> = hold
        .cors
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let counts = Counts {
        counters,
        granted_ticket: hold.granted_ticket,
        access_log,
    };
    super::answer(
        &hold.answered,
        counts,
        &error,
        hold.head_request,
        request_id,
        &cors,
    );
}
