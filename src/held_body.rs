//! How long a stream may hold body bytes without passing any on. What a stream holds (an
//! incomplete signed chunk, a document until its digest matches, a browser form's fields until
//! its policy verifies) is charged to the VM's budget, so a hold that never ends keeps its
//! share from every other upload: a red team held the whole budget for as long as it cared,
//! sending one byte per stream every 25 s over one HTTP/2 connection, each stream's activity
//! resetting Envoy's idle timeouts (2026-12-02). A hold (bytes held, none going on) runs on
//! time its bytes buy: it starts with a grace, each piece that arrives buys time at the rate
//! the hold must keep (`required_rate`), and no hold may bank more than the grace ahead (less
//! at a faster rate: `ahead`). So its bytes must keep arriving at that rate, on average, with
//! a pause of at most the grace: a client that sends a nearly whole chunk or document at once
//! and then trickles (a second red team held the budget 276 s so) has a grace left, and to
//! keep holding must complete what it holds.
//!
//! The rate follows what the hold reserved, not what arrived, since the budget charges the
//! reservation: a hold must bring its reservation every `TURNOVER_SECONDS`, and never less
//! than `MIN_BYTES_PER_SECOND`. Holding any share of the budget then costs at least that
//! share every 64 s, whatever the holds' shapes: a fixed rate per stream let 16 documents,
//! each reserving 4 MiB for 2 MiB and a byte, hold 64 MiB for 463 KiB/s (a third red team,
//! 2026-12-02), where 64 chunks of 1 MiB cost 1 MiB/s.

/// The slowest rate at which a client's held bytes count as arriving: 16 KiB/s (128 kbit/s),
/// a 1 MiB chunk (the default largest) in 64 s.
pub const MIN_BYTES_PER_SECOND: u64 = 16 * 1024;

/// The time in which a hold reserving more than a 1 MiB chunk must bring what it reserved.
pub const TURNOVER_SECONDS: u64 = 64;

/// The rate, in bytes a second, at which a hold reserving `reserved` bytes must receive them.
pub fn required_rate(reserved: usize) -> u64 {
    let reserved = u64::try_from(reserved).unwrap_or(u64::MAX);
    MIN_BYTES_PER_SECOND.max(reserved / TURNOVER_SECONDS)
}

/// How far ahead of now a hold that must keep `rate` may bank: the grace, for a hold at the
/// slowest rate; for a faster one, what the grace at the slowest rate brings (a 4 MiB hold,
/// 64 KiB/s, banks 5 s of 20). A hold banks at most one grace's bytes at the slowest rate
/// whatever it reserved: a document ramping at its rate, then riding a whole grace at its
/// full reservation, held it a sixth longer than it paid for (a fourth red team, 2026-12-03).
fn ahead(grace_ms: u64, rate: u64) -> u64 {
    grace_ms.saturating_mul(MIN_BYTES_PER_SECOND) / rate.max(1)
}

/// Until when the stream's current hold may run, and what it held at the last piece.
#[derive(Debug, Default)]
pub struct HoldClock {
    deadline_ms: Option<u64>,
    held: usize,
}

/// A hold whose time ran out.
#[derive(Debug, PartialEq, Eq)]
pub struct Overdue {
    pub held: usize,
    /// How long past its deadline the piece that found it came.
    pub late_ms: u64,
}

impl HoldClock {
    /// After a piece of the body at `now_ms`: the stream holds `held` bytes, for which it
    /// reserved `reserved` (holding without reserving is no hold), and `released` says
    /// whether any went on (a chunk verified, a form's head, object data), which starts the
    /// hold again, with `grace_ms`. A piece past the deadline finds the hold overdue.
    pub fn observe(
        &mut self,
        held: usize,
        reserved: usize,
        released: bool,
        now_ms: u64,
        grace_ms: u64,
    ) -> Result<(), Overdue> {
        // A hold that takes nothing of the budget (object data's last byte, a form's file) is
        // not timed: its stream has gone on, bounded by Envoy as any upload's. An origin that
        // stops reading stops Envoy reading the client, and such a hold looked silent: a red
        // team's fast PutObject was refused when its origin stalled 20 s (2026-12-03).
        let held = if reserved == 0 { 0 } else { held };
        let arrived = held.saturating_sub(std::mem::replace(&mut self.held, held));
        if held == 0 {
            self.deadline_ms = None;
            return Ok(());
        }
        let fresh = now_ms.saturating_add(grace_ms);
        let deadline = match self.deadline_ms {
            Some(deadline) if !released => deadline,
            _ => {
                self.deadline_ms = Some(fresh);
                return Ok(());
            }
        };
        if now_ms > deadline {
            return Err(Overdue {
                held,
                late_ms: now_ms - deadline,
            });
        }
        let rate = required_rate(reserved.max(held));
        let bought = u64::try_from(arrived)
            .unwrap_or(u64::MAX)
            .saturating_mul(1000)
            / rate;
        self.deadline_ms = Some(
            deadline
                .saturating_add(bought)
                .min(now_ms.saturating_add(ahead(grace_ms, rate))),
        );
        Ok(())
    }

    /// When the current hold runs out, if the stream holds anything.
    pub fn deadline_ms(&self) -> Option<u64> {
        self.deadline_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: u64 = 20_000;

    #[test]
    fn a_trickle_after_a_nearly_whole_chunk_has_a_grace_left() {
        // The red teams' streams: a chunk (or a document) short of its end at once, then a
        // byte every 10 s or every 25 s.
        for every in [10_000, 25_000] {
            let mut clock = HoldClock::default();
            let held = (1 << 20) - 5_000;
            assert_eq!(clock.observe(held, held, false, 1_000, GRACE), Ok(()));
            assert_eq!(clock.deadline_ms(), Some(21_000));
            let mut now = 1_000;
            let overdue = loop {
                now += every;
                if let Err(overdue) = clock.observe(held + 1, held + 1, false, now, GRACE) {
                    break overdue;
                }
            };
            assert!(now <= 31_000, "{every}: {now}");
            assert_eq!(overdue.held, held + 1);
        }
    }

    #[test]
    fn bytes_arriving_at_the_slowest_rate_keep_a_hold_going() {
        // 16 KiB a second, a piece every half second: never overdue, however long.
        let mut clock = HoldClock::default();
        let mut held = 0;
        for half_second in 1..=128 {
            held += 8 * 1024;
            assert_eq!(
                clock.observe(held, held, false, half_second * 500, GRACE),
                Ok(())
            );
        }
        // Its time never runs more than the grace ahead.
        assert_eq!(clock.deadline_ms(), Some(64_000 + 20_000));
        // Half that rate falls behind: overdue once the grace is spent (about 40 s).
        let mut clock = HoldClock::default();
        let mut held = 0;
        let overdue_at = (1..=400)
            .find(|half_second| {
                held += 4 * 1024;
                clock
                    .observe(held, held, false, half_second * 500, GRACE)
                    .is_err()
            })
            .unwrap();
        assert_eq!(overdue_at * 500, 40_500);
    }

    #[test]
    fn a_hold_pays_for_what_it_reserved_not_what_arrived() {
        // The third red team's documents: 2 MiB and a byte arrived, 4 MiB reserved, then
        // 17 KiB/s each. Sixteen held the 64 MiB budget for 463 KiB/s; now each must bring its
        // reservation every 64 s.
        let (arrived, reserved) = ((2 << 20) + 1, 4 << 20);
        assert_eq!(required_rate(reserved), 64 * 1024);
        let mut clock = HoldClock::default();
        let mut now = 0;
        let mut held = arrived;
        let overdue = loop {
            now += 1000;
            held += 17 * 1024;
            if let Err(overdue) = clock.observe(held, reserved, false, now, GRACE) {
                break overdue;
            }
        };
        assert!(now <= 30_000, "{now}");
        assert!(overdue.held < reserved);
        // At 64 KiB/s it holds until it is whole (and its digest checked), 32 s on.
        let mut clock = HoldClock::default();
        let mut held = arrived;
        for second in 0..32 {
            assert_eq!(
                clock.observe(held, reserved, false, second * 1000, GRACE),
                Ok(())
            );
            held += 64 * 1024;
        }
        // Whatever the holds' shapes, holding the budget costs at least a 64th of it a
        // second: 1 MiB/s for 64 MiB.
        let budget = 64u64 << 20;
        for reserved in [1 << 10, 64 << 10, 1 << 20, 2 << 20, 4 << 20, 64 << 20] {
            let streams = budget / reserved as u64;
            let cost = streams * required_rate(reserved);
            assert!(cost >= budget / TURNOVER_SECONDS, "{reserved}: {cost}");
        }
    }

    #[test]
    fn no_hold_banks_more_than_one_grace_at_the_slowest_rate() {
        // A first byte, then all but the end of a 1 MiB chunk at once: 64 s bought, the grace
        // kept (a mutation run found the cap untested natively, 2026-12-03).
        let mut clock = HoldClock::default();
        assert_eq!(clock.observe(1, 1, false, 0, GRACE), Ok(()));
        assert_eq!(clock.observe(1 << 20, 1 << 20, false, 100, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(), Some(100 + GRACE));
        // Reserving 4 MiB (64 KiB/s), a quarter of it: 320 KiB at 16 KiB/s.
        assert_eq!(clock.observe(2 << 20, 4 << 20, false, 200, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(), Some(200 + GRACE / 4));
    }

    #[test]
    fn a_document_ramping_at_its_rate_pays_for_its_last_grace() {
        // A fourth red team's document (2026-12-03): 4 MiB announced, its buffer doubling from
        // 4 KiB as it fills, every tenth of a second 6% more than its rate asks, one byte short
        // of the end, then silent. It held its reservation 76 s for what it brought.
        let length: usize = 4 << 20;
        let reserved = |held: usize| held.next_power_of_two().clamp(4096, length);
        let mut clock = HoldClock::default();
        let (mut held, mut now, mut reserved_ms) = (4096, 0u64, 0u128);
        assert_eq!(
            clock.observe(held, reserved(held), false, now, GRACE),
            Ok(())
        );
        loop {
            now += 100;
            reserved_ms += reserved(held) as u128 * 100;
            let next = held + (required_rate(reserved(held)) as usize / 10) * 106 / 100;
            held = next.min(length - 1);
            if clock
                .observe(held, reserved(held), false, now, GRACE)
                .is_err()
            {
                break;
            }
            if held == length - 1 {
                // Silent: the tick answers at the deadline.
                let deadline = clock.deadline_ms().unwrap();
                reserved_ms += reserved(held) as u128 * u128::from(deadline - now);
                break;
            }
        }
        let turnover_s = reserved_ms / 1000 / held as u128;
        assert!(turnover_s <= TURNOVER_SECONDS as u128, "{turnover_s} s");
    }

    /// An overdue piece tells how far past its deadline it came, for the log line that refuses
    /// it (cargo-mutants: the one late piece tested came 1 ms late, where `now / deadline` is 1
    /// as well).
    #[test]
    fn an_overdue_piece_tells_how_late_it_came() {
        let mut clock = HoldClock::default();
        assert_eq!(clock.observe(1000, 1000, false, 0, GRACE), Ok(()));
        assert_eq!(
            clock.observe(1000, 1000, false, GRACE + 5_000, GRACE),
            Err(Overdue {
                held: 1000,
                late_ms: 5_000
            })
        );
    }

    #[test]
    fn releasing_bytes_or_holding_none_starts_the_hold_again() {
        let mut clock = HoldClock::default();
        assert_eq!(clock.observe(1000, 1000, false, 0, GRACE), Ok(()));
        // A slow upload whose chunks complete within the grace is never overdue.
        for second in 1..1000 {
            assert_eq!(
                clock.observe(1000, 1000, true, second * 15_000, GRACE),
                Ok(())
            );
        }
        let late = clock.observe(1000, 1000, false, 14_985_000 + 20_001, GRACE);
        assert_eq!(
            late,
            Err(Overdue {
                held: 1000,
                late_ms: 1
            })
        );
        // Nothing held: nothing to time; the next hold starts when it does.
        assert_eq!(clock.observe(0, 0, false, 20_000_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(), None);
        assert_eq!(clock.observe(1, 1, false, 30_000_000, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(), Some(30_020_000));
        // A clock that went back is no hold's end.
        assert_eq!(clock.observe(1, 1, false, 0, GRACE), Ok(()));
        // A byte held for a digest, reserving nothing of the budget: no hold, however long.
        let mut clock = HoldClock::default();
        assert_eq!(clock.observe(1, 0, true, 0, GRACE), Ok(()));
        assert_eq!(clock.observe(1, 0, false, 10 * GRACE, GRACE), Ok(()));
        assert_eq!(clock.deadline_ms(), None);
    }
}
