//! How long a stream may hold body bytes without passing any on. What a stream holds (an
//! incomplete signed chunk, a document until its digest matches, a browser form's fields until
//! its policy verifies) is charged to the VM's budget, so a hold that never ends keeps its
//! share from every other upload: a red team held the whole budget for as long as it cared,
//! sending one byte per stream every 25 s over one HTTP/2 connection, each stream's activity
//! resetting Envoy's idle timeouts (2026-12-02). A hold must end (bytes go on) within a grace
//! plus the time its bytes take at a slow client's rate; what it holds is then what a client
//! keeps sending, and holding the budget costs about as many bytes per grace period.

/// The slowest rate at which a client's held bytes count as arriving: 16 KiB/s (128 kbit/s),
/// a 1 MiB chunk (the default largest) in 64 s beyond the grace.
pub const MIN_BYTES_PER_SECOND: u64 = 16 * 1024;

/// When the stream's current hold began, in milliseconds.
#[derive(Debug, Default)]
pub struct HoldClock {
    since_ms: Option<u64>,
}

/// A hold that outlasted its allowance.
#[derive(Debug, PartialEq, Eq)]
pub struct Overdue {
    pub held: usize,
    pub elapsed_ms: u64,
}

impl HoldClock {
    /// After a piece of the body at `now_ms`: the stream holds `held` bytes, and `released`
    /// says whether any went on (a chunk verified, a form's head, object data), which starts
    /// the hold again. A hold longer than `allowance_ms` is overdue.
    pub fn observe(
        &mut self,
        held: usize,
        released: bool,
        now_ms: u64,
        grace_ms: u64,
    ) -> Result<(), Overdue> {
        if held == 0 {
            self.since_ms = None;
            return Ok(());
        }
        let since = match self.since_ms {
            Some(since) if !released => since,
            _ => *self.since_ms.insert(now_ms),
        };
        let elapsed_ms = now_ms.saturating_sub(since);
        if elapsed_ms > allowance_ms(held, grace_ms) {
            return Err(Overdue { held, elapsed_ms });
        }
        Ok(())
    }

    /// When the current hold of `held` bytes becomes overdue, if the stream holds any.
    pub fn deadline_ms(&self, held: usize, grace_ms: u64) -> Option<u64> {
        let since = self.since_ms?;
        (held > 0).then(|| since.saturating_add(allowance_ms(held, grace_ms)))
    }
}

/// How long `held` bytes may wait: the grace, and a second per `MIN_BYTES_PER_SECOND`.
pub fn allowance_ms(held: usize, grace_ms: u64) -> u64 {
    let held = u64::try_from(held).unwrap_or(u64::MAX);
    grace_ms.saturating_add(held.saturating_mul(1000) / MIN_BYTES_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: u64 = 20_000;

    #[test]
    fn a_hold_may_last_the_grace_and_the_time_its_bytes_take_at_the_slowest_rate() {
        assert_eq!(allowance_ms(0, GRACE), 20_000);
        assert_eq!(allowance_ms(16 * 1024, GRACE), 21_000);
        assert_eq!(allowance_ms(1 << 20, GRACE), 84_000);
        assert_eq!(allowance_ms(usize::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn a_trickle_that_releases_nothing_is_overdue() {
        // The red team's stream: a chunk short of its end, then a byte every 25 s.
        let mut clock = HoldClock::default();
        let held = (1 << 20) - 5_000;
        assert_eq!(clock.observe(held, false, 1_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(held, GRACE), Some(1_000 + 83_694));
        let mut now = 1_000;
        let mut held = held;
        let overdue = loop {
            now += 25_000;
            held += 1;
            if let Err(overdue) = clock.observe(held, false, now, GRACE) {
                break overdue;
            }
        };
        assert_eq!(overdue.elapsed_ms, 100_000);
        assert_eq!(overdue.held, held);
    }

    #[test]
    fn releasing_bytes_or_holding_none_starts_the_hold_again() {
        let mut clock = HoldClock::default();
        assert_eq!(clock.observe(1000, false, 0, GRACE), Ok(()));
        // A slow upload whose chunks complete within their allowance is never overdue.
        for second in 1..1000 {
            assert_eq!(clock.observe(1000, true, second * 15_000, GRACE), Ok(()));
        }
        assert!(clock
            .observe(1000, false, 15_000_000 + 20_061, GRACE)
            .is_err());
        // Nothing held: nothing to time; the next hold starts when it does.
        assert_eq!(clock.observe(0, false, 20_000_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(1, GRACE), None);
        assert_eq!(clock.observe(1, false, 30_000_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(1, GRACE), Some(30_020_000));
        // A clock that went back is no hold's end.
        assert_eq!(clock.observe(1, false, 0, GRACE), Ok(()));
    }
}
