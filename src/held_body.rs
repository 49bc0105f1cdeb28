//! How long a stream may hold body bytes without passing any on. What a stream holds (an
//! incomplete signed chunk, a document until its digest matches, a browser form's fields until
//! its policy verifies) is charged to the VM's budget, so a hold that never ends keeps its
//! share from every other upload: a red team held the whole budget for as long as it cared,
//! sending one byte per stream every 25 s over one HTTP/2 connection, each stream's activity
//! resetting Envoy's idle timeouts (2026-12-02). A hold must end (bytes go on) within a grace
//! plus the time its bytes take at a slow client's rate, and may not go silent (no piece
//! arriving) for longer than the grace: what it holds is then what a client keeps sending
//! (a second red team held the budget 276 s with documents sent at once, then nothing).

/// The slowest rate at which a client's held bytes count as arriving: 16 KiB/s (128 kbit/s),
/// a 1 MiB chunk (the default largest) in 64 s beyond the grace.
pub const MIN_BYTES_PER_SECOND: u64 = 16 * 1024;

/// When the stream's current hold began, and when its last piece arrived, in milliseconds.
#[derive(Debug, Default)]
pub struct HoldClock {
    since_ms: Option<u64>,
    last_piece_ms: u64,
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
    /// the hold again. A hold longer than `allowance_ms`, or one whose client was silent
    /// longer than the grace before this piece, is overdue.
    pub fn observe(
        &mut self,
        held: usize,
        released: bool,
        now_ms: u64,
        grace_ms: u64,
    ) -> Result<(), Overdue> {
        let silent_ms = now_ms.saturating_sub(self.last_piece_ms);
        self.last_piece_ms = now_ms;
        let held_before = self.since_ms.is_some();
        if held == 0 {
            self.since_ms = None;
            return Ok(());
        }
        let since = match self.since_ms {
            Some(since) if !released => since,
            _ => *self.since_ms.insert(now_ms),
        };
        let elapsed_ms = now_ms.saturating_sub(since);
        let fell_silent = held_before && !released && silent_ms > grace_ms;
        if fell_silent || elapsed_ms > allowance_ms(held, grace_ms) {
            return Err(Overdue { held, elapsed_ms });
        }
        Ok(())
    }

    /// When the current hold of `held` bytes becomes overdue, if the stream holds any: at the
    /// end of its allowance, or a grace after its last piece if no other comes.
    pub fn deadline_ms(&self, held: usize, grace_ms: u64) -> Option<u64> {
        let since = self.since_ms?;
        let silent = self.last_piece_ms.saturating_add(grace_ms);
        (held > 0).then(|| {
            since
                .saturating_add(allowance_ms(held, grace_ms))
                .min(silent)
        })
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
        // The red team's stream: a chunk short of its end, then a byte every 25 s: the first
        // byte comes after 25 s of silence.
        let mut clock = HoldClock::default();
        let held = (1 << 20) - 5_000;
        assert_eq!(clock.observe(held, false, 1_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(held, GRACE), Some(21_000));
        let overdue = clock.observe(held + 1, false, 26_000, GRACE).unwrap_err();
        assert_eq!(overdue.elapsed_ms, 25_000);
        // A byte every 10 s: past the allowance (83.7 s for the chunk) all the same.
        let mut clock = HoldClock::default();
        assert_eq!(clock.observe(held, false, 1_000, GRACE), Ok(()));
        let mut now = 1_000;
        let overdue = loop {
            now += 10_000;
            if let Err(overdue) = clock.observe(held, false, now, GRACE) {
                break overdue;
            }
        };
        assert_eq!(overdue.elapsed_ms, 90_000);
    }

    #[test]
    fn a_hold_sent_at_once_and_then_nothing_ends_a_grace_later() {
        // A second red team's documents: 4 MiB at once, then silence, held for 276 s.
        let mut clock = HoldClock::default();
        let held = 4 << 20;
        assert_eq!(clock.observe(held, false, 1_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(held, GRACE), Some(21_000));
        // Pieces keep it going, to the end of its allowance.
        assert_eq!(clock.observe(held + 1, false, 15_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(held + 1, GRACE), Some(35_000));
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
