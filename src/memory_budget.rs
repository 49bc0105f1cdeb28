//! What one VM may hold of request bodies across all its streams. A VM serves every stream of
//! its Envoy worker, and an allocation it cannot make kills it for all of them, so holding
//! bytes takes a reservation first and a request that would go over is refused instead.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

/// A VM's budget; single-threaded, like the VM.
pub struct MemoryBudget {
    limit: usize,
    used: Cell<usize>,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Rc<Self> {
        Rc::new(MemoryBudget {
            limit,
            used: Cell::new(0),
        })
    }

    /// Bytes reserved now, across all streams.
    pub fn used(&self) -> usize {
        self.used.get()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    fn take(&self, bytes: usize) -> bool {
        match self.used.get().checked_add(bytes) {
            Some(total) if total <= self.limit => {
                self.used.set(total);
                true
            }
            _ => false,
        }
    }

    fn give_back(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemoryBudget({}/{})", self.used.get(), self.limit)
    }
}

/// One stream's share of the budget, given back when it is dropped.
pub struct Reservation {
    budget: Rc<MemoryBudget>,
    bytes: usize,
}

impl Reservation {
    pub fn new(budget: Rc<MemoryBudget>) -> Self {
        Reservation { budget, bytes: 0 }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Makes the reservation `bytes` in all; `false` (and unchanged) when the budget cannot
    /// cover the increase.
    pub fn resize(&mut self, bytes: usize) -> bool {
        if bytes > self.bytes {
            if !self.budget.take(bytes - self.bytes) {
                return false;
            }
        } else {
            self.budget.give_back(self.bytes - bytes);
        }
        self.bytes = bytes;
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_give_back() {
        let budget = MemoryBudget::new(100);
        let mut a = Reservation::new(budget.clone());
        let mut b = Reservation::new(budget.clone());
        assert!(a.resize(60));
        assert!(!b.resize(41));
        assert_eq!(b.bytes(), 0);
        assert!(b.resize(40));
        assert_eq!(budget.used(), 100);
        assert!(a.resize(10));
        assert!(b.resize(90));
        drop(a);
        assert_eq!(budget.used(), 90);
        drop(b);
        assert_eq!(budget.used(), 0);
        assert!(!Reservation::new(budget.clone()).resize(usize::MAX));
    }
}
