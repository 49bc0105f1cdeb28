//! The requests whose last attempt an origin filter refused, for the edge filter of the same
//! request to count them once: the origin filter counts the refusal, and the edge, when its
//! stream ends, does not count the request as forwarded as well. Both filters share the VM
//! (one `vm_id`) and run the request on one worker, so its thread is where they meet.
//!
//! The edge opens a ticket for each request it grants, hands its number to the origin filters
//! beside the grant (filter state, which clients cannot write) and closes it when its stream
//! ends: what is held is exactly the edge's live streams, and an origin filter marks only a
//! ticket that is open. A red team (2026-12-02) broke the design before it, a bounded list of
//! refusals keyed by `x-request-id`: refused streams of several HTTP/2 connections, all
//! refused in one event-loop pass before Envoy deleted any edge stream, pushed the oldest out
//! (those requests then counted as forwarded as well), and an id the client chose (kept by
//! `preserve_external_request_id`) could be one the filter does not hold, or another
//! request's. Numbers are the VM's own: filters in VMs of different `vm_id`s never meet here.

use std::cell::{Cell, RefCell};

thread_local! {
    /// Each open ticket, and whether an origin filter refused its request's last attempt, in
    /// the order of their numbers (opened in that order): as many as the edge's streams in
    /// flight, so a sorted list is all the map it needs.
    static OPEN: RefCell<Vec<(u64, bool)>> = const { RefCell::new(Vec::new()) };
    static NEXT: Cell<u64> = const { Cell::new(0) };
}

fn find(open: &[(u64, bool)], number: u64) -> Option<usize> {
    open.binary_search_by_key(&number, |&(n, _)| n).ok()
}

/// An edge stream's request, granted to origin filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

impl Ticket {
    /// The edge granted a request: its ticket, open until `close`.
    pub fn open() -> Ticket {
        let number = NEXT.get();
        NEXT.set(number.wrapping_add(1));
        // A u64 counted from 0 does not wrap: the list stays sorted by pushing.
        OPEN.with_borrow_mut(|open| open.push((number, false)));
        Ticket(number)
    }

    /// The ticket as the origin filters read it.
    pub fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Ticket> {
        Some(Ticket(u64::from_be_bytes(bytes.try_into().ok()?)))
    }

    /// An origin filter refused an attempt of the request.
    pub fn refused(self) {
        self.mark(true);
    }

    /// An origin filter forwarded an attempt of the request (after an earlier one was refused,
    /// the request went on after all).
    pub fn forwarded(self) {
        self.mark(false);
    }

    fn mark(self, refused: bool) {
        OPEN.with_borrow_mut(|open| {
            if let Some((_, mark)) = find(open, self.0).and_then(|at| open.get_mut(at)) {
                *mark = refused;
            }
        });
    }

    /// The edge's stream ends: whether an origin filter refused the request's last attempt.
    pub fn close(self) -> bool {
        OPEN.with_borrow_mut(|open| find(open, self.0).is_some_and(|at| open.remove(at).1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_tickets() -> usize {
        OPEN.with_borrow(Vec::len)
    }

    #[test]
    fn the_last_attempt_decides_and_a_ticket_closes_once() {
        let (a, b) = (Ticket::open(), Ticket::open());
        a.refused();
        b.refused();
        b.forwarded();
        assert!(a.close());
        assert!(!a.close());
        assert!(!b.close());
        assert_eq!(Ticket::from_bytes(&a.to_bytes()), Some(a));
        assert_eq!(Ticket::from_bytes(&[0; 7]), None);
    }

    /// A ticket reaches the origin filters as its own number: read back as another (the
    /// first of the VM's, say), an origin filter's refusal would be counted for another
    /// request, and this one counted as forwarded.
    #[test]
    fn each_ticket_reads_back_as_itself() {
        let tickets: Vec<Ticket> = (0..3).map(|_| Ticket::open()).collect();
        for ticket in &tickets {
            assert_eq!(Ticket::from_bytes(&ticket.to_bytes()), Some(*ticket));
        }
        assert_ne!(tickets[1].to_bytes(), tickets[2].to_bytes());
        tickets[2].refused();
        assert!(!tickets[0].close() && !tickets[1].close() && tickets[2].close());
    }

    #[test]
    fn nothing_is_evicted_and_nothing_is_kept_without_an_edge() {
        // Refusals of tickets no edge opened (an origin filter with no edge before it, or a
        // number from another VM) leave nothing behind.
        for number in 1_000_000..1_005_000 {
            Ticket(number).refused();
        }
        assert_eq!(open_tickets(), 0);
        // A burst of requests, all refused before any edge stream ends: every refusal is kept.
        let tickets: Vec<Ticket> = (0..5000).map(|_| Ticket::open()).collect();
        tickets.iter().for_each(|t| t.refused());
        assert!(tickets.iter().all(|t| t.close()));
        assert_eq!(open_tickets(), 0);
    }
}
