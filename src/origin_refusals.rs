//! The requests whose last attempt an origin filter refused, for the edge filter of the same
//! request to count them once: the origin filter counts the refusal, and the edge, when its
//! stream ends, does not count the request as forwarded as well. Both filters share the VM
//! (one `vm_id`) and run the request on one worker, so its thread is where they meet; Envoy's
//! request id (`x-request-id`) names the request.

use std::cell::RefCell;
use std::collections::VecDeque;

/// The most refusals remembered: an origin filter with no edge before it (a misconfigured
/// chain) refuses every request, and no edge ever takes them. Each edge takes its own when
/// its stream ends, so a VM has at most its streams in flight here.
const MAX_REMEMBERED: usize = 1024;

thread_local! {
    static REFUSED: RefCell<VecDeque<String>> = const { RefCell::new(VecDeque::new()) };
}

/// An origin filter refused an attempt of the request.
pub fn refused(request_id: Option<&str>) {
    let Some(id) = request_id else { return };
    REFUSED.with_borrow_mut(|refused| {
        if !refused.iter().any(|r| r == id) {
            if refused.len() == MAX_REMEMBERED {
                refused.pop_front();
            }
            refused.push_back(id.to_owned());
        }
    });
}

/// An origin filter forwarded an attempt of the request (after an earlier one was refused,
/// the request went on after all). Nothing but a length check while no refusal is remembered.
pub fn forwarded(request_id: Option<&str>) {
    take(request_id);
}

/// Whether an origin filter refused the request's last attempt; forgets it.
pub fn take(request_id: Option<&str>) -> bool {
    let Some(id) = request_id else { return false };
    REFUSED.with_borrow_mut(|refused| {
        if refused.is_empty() {
            return false;
        }
        match refused.iter().position(|r| r == id) {
            Some(at) => refused.remove(at).is_some(),
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_taken_once_and_a_later_forward_clears_it() {
        refused(Some("a"));
        refused(Some("b"));
        assert!(take(Some("a")));
        assert!(!take(Some("a")));
        forwarded(Some("b"));
        assert!(!take(Some("b")));
        refused(None);
        assert!(!take(None));
    }

    #[test]
    fn refusals_no_edge_takes_are_bounded() {
        for i in 0..MAX_REMEMBERED + 10 {
            refused(Some(&i.to_string()));
        }
        REFUSED.with_borrow(|r| assert_eq!(r.len(), MAX_REMEMBERED));
        assert!(!take(Some("0")));
        assert!(take(Some(&(MAX_REMEMBERED + 9).to_string())));
        REFUSED.with_borrow_mut(VecDeque::clear);
    }
}
