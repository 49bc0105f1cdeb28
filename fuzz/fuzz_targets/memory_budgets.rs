//! The memory budgets of one VM (`src/memory_budget.rs`) under any sequence of configurations
//! made and dropped and of reservations made, resized and dropped, against the rule as README
//! (*Held uploads: memory and time*) and SECURITY.md (class 2) state it, written here again
//! from that text: five red teams in a row beat the rule's previous versions (2026-12-05).
//!
//! The rule: a budget's limits are scaled down to its share of the VM's 256 MiB when its limit
//! and what the VM's other budgets weigh in it add up to more; budgets of one plugin name weigh
//! nothing in each other's shares, and in other budgets' shares once, by the largest limit among
//! the live ones; a budget without a name weighs its limit. A reservation grows when what its
//! name's budgets hold together stays within the asking budget's scaled limit, the VM's total
//! within 256 MiB, and its owner's holdings within the owner's scaled share, counted across the
//! name's budgets (a key's share is the asking budget's; the unverified streams' the smallest
//! among the name's live budgets).
//!
//! Browser forms waiting for their fields are charged in the unverified streams' share, and
//! past it take back the unpaid forms of any budget of their name (one waiting room a name).
//!
//! Invariants: every growth is granted exactly when the rule grants it; a form let in leaves
//! its name's unverified streams within the asking budget's scaled share, and takes back only
//! unpaid forms of its name; the rooms the names may hold add up to no more than the VM's;
//! the VM's gauge is what the reservations and the forms not taken back hold, and 0 once they
//! are gone.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use s3_resign::client_net::ClientNet;
use s3_resign::memory_budget::{
    held_in_this_vm, MemoryBudget, Reservation, Waiting, MAX_HELD_IN_A_VM, UNVERIFIED,
};
use std::rc::{Rc, Weak};

/// Limits come in 64ths of the VM's room, so that scaling happens often; reservations in
/// 1024ths.
const LIMIT_UNIT: usize = MAX_HELD_IN_A_VM / 64;
const BYTES_UNIT: usize = MAX_HELD_IN_A_VM / 1024;
const NAMES: [&str; 3] = ["edge", "internal", "other"];
const KEYS: [&str; 2] = ["KEY1", "KEY2"];

#[derive(Arbitrary, Debug)]
enum Op {
    /// A configuration loaded: its budget (limit, a key's share, the unverified streams').
    Make {
        limit: u8,
        per_owner: u8,
        unverified: u8,
        name: u8,
    },
    /// A configuration dropped by Envoy: its budget lives on while streams hold it.
    Forget {
        budget: u8,
    },
    /// A stream begins holding under a budget, for an owner or none.
    Reserve {
        budget: u8,
        owner: u8,
    },
    Resize {
        reservation: u8,
        bytes: u16,
    },
    End {
        reservation: u8,
    },
    /// A browser form's head waits for its fields under a budget, from one of a few networks.
    Form {
        budget: u8,
        bytes: u8,
        network: u8,
    },
    /// A waiting form's fields bring its charge.
    Pay {
        form: u8,
    },
    EndForm {
        form: u8,
    },
}

struct Budget {
    handle: Option<Rc<MemoryBudget>>,
    alive: Weak<MemoryBudget>,
    limit: usize,
    per_owner: usize,
    unverified: usize,
    name: Option<&'static str>,
}

struct Held {
    budget: usize,
    owner: Option<&'static str>,
    reservation: Reservation,
}

struct Form {
    budget: usize,
    charge: Rc<Waiting>,
    paid: bool,
}

struct Model {
    budgets: Vec<Budget>,
    held: Vec<Held>,
    forms: Vec<Form>,
}

impl Model {
    fn live(&self) -> impl Iterator<Item = (usize, &Budget)> {
        self.budgets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.alive.strong_count() > 0)
    }

    fn same_name(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.budgets[a], &self.budgets[b]);
        a.name.is_some() && a.name == b.name
    }

    /// Budget `at`'s limit and what the others weigh in its share.
    fn weighed(&self, at: usize) -> usize {
        let mut sum = self.budgets[at].limit;
        let mut names_counted: Vec<&str> = Vec::new();
        for (i, b) in self.live() {
            if i == at || self.same_name(i, at) {
                continue;
            }
            match b.name {
                None => sum += b.limit,
                Some(name) if !names_counted.contains(&name) => {
                    names_counted.push(name);
                    sum += self
                        .live()
                        .filter(|(_, o)| o.name == Some(name))
                        .map(|(_, o)| o.limit)
                        .max()
                        .unwrap_or(0);
                }
                Some(_) => {}
            }
        }
        sum
    }

    fn room(&self, at: usize, bytes: usize) -> usize {
        let weighed = self.weighed(at);
        if weighed <= MAX_HELD_IN_A_VM {
            return bytes;
        }
        ((bytes as u128 * MAX_HELD_IN_A_VM as u128 / weighed as u128) as usize).min(bytes)
    }

    fn holds(&self, at: usize, owner: Option<&str>) -> usize {
        let reserved: usize = self
            .held
            .iter()
            .filter(|h| h.budget == at && (owner.is_none() || h.owner == owner))
            .map(|h| h.reservation.bytes())
            .sum();
        let waiting = if owner.is_none() || owner == Some(UNVERIFIED) {
            self.forms_charged(|f| f.budget == at)
        } else {
            0
        };
        reserved + waiting
    }

    /// What the forms `which` picks hold, those taken back aside.
    fn forms_charged(&self, which: impl Fn(&Form) -> bool) -> usize {
        self.forms
            .iter()
            .filter(|f| which(f) && !f.charge.taken_back())
            .map(|f| f.charge.bytes())
            .sum()
    }

    fn total(&self) -> usize {
        self.held
            .iter()
            .map(|h| h.reservation.bytes())
            .sum::<usize>()
            + self.forms_charged(|_| true)
    }

    /// What the unverified streams of budget `at`'s name may hold: the smallest scaled share
    /// among its live budgets.
    fn unverified_share(&self, at: usize) -> usize {
        self.live()
            .filter(|(i, _)| *i == at || self.same_name(*i, at))
            .map(|(i, b)| self.room(i, b.unverified.min(b.limit)))
            .min()
            .unwrap_or(0)
    }

    /// What the unverified streams of budget `at` and of the live others of its name hold.
    fn unverified_of_name(&self, at: usize) -> usize {
        self.live()
            .filter(|(i, _)| *i == at || self.same_name(*i, at))
            .map(|(i, _)| self.holds(i, Some(UNVERIFIED)))
            .sum()
    }

    /// Whether the rule lets reservation `r` grow by `more`.
    fn grants(&self, r: usize, more: usize) -> bool {
        let Held {
            budget: at, owner, ..
        } = self.held[r];
        let b = &self.budgets[at];
        let name_holds: usize = self
            .live()
            .filter(|(i, _)| *i != at && self.same_name(*i, at))
            .map(|(i, _)| self.holds(i, None))
            .sum();
        if self.holds(at, None) + more + name_holds > self.room(at, b.limit) {
            return false;
        }
        if self.total() + more > MAX_HELD_IN_A_VM {
            return false;
        }
        let Some(owner) = owner else {
            return true;
        };
        let share = if owner == UNVERIFIED {
            self.unverified_share(at)
        } else {
            self.room(at, b.per_owner.min(b.limit))
        };
        let elsewhere: usize = self
            .live()
            .filter(|(i, _)| *i != at && self.same_name(*i, at))
            .map(|(i, _)| self.holds(i, Some(owner)))
            .sum();
        self.holds(at, Some(owner)) + more + elsewhere <= share
    }

    /// What each name (and each budget without one) may hold at most, together.
    fn rooms_add_up(&self) -> usize {
        let mut sum = 0;
        let mut names_counted: Vec<&str> = Vec::new();
        for (i, b) in self.live() {
            match b.name {
                None => sum += self.room(i, b.limit),
                Some(name) if !names_counted.contains(&name) => {
                    names_counted.push(name);
                    sum += self
                        .live()
                        .filter(|(_, o)| o.name == Some(name))
                        .map(|(j, o)| self.room(j, o.limit))
                        .max()
                        .unwrap_or(0);
                }
                Some(_) => {}
            }
        }
        sum
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut m = Model {
        budgets: Vec::new(),
        held: Vec::new(),
        forms: Vec::new(),
    };
    for op in ops.into_iter().take(200) {
        match op {
            Op::Make {
                limit,
                per_owner,
                unverified,
                name,
            } => {
                let unit = |n: u8| (usize::from(n) % 80 + 1) * LIMIT_UNIT;
                let name = NAMES.get(usize::from(name) % 4).copied();
                let (limit, per_owner, unverified) =
                    (unit(limit), unit(per_owner), unit(unverified));
                let budget = MemoryBudget::named(limit, per_owner, unverified, name);
                m.budgets.push(Budget {
                    alive: Rc::downgrade(&budget),
                    handle: Some(budget),
                    limit,
                    per_owner,
                    unverified,
                    name,
                });
            }
            Op::Forget { budget } => {
                if let Some(b) = m.budgets.get_mut(usize::from(budget)) {
                    b.handle = None;
                }
            }
            Op::Reserve { budget, owner } => {
                let at = usize::from(budget);
                let Some(handle) = m.budgets.get(at).and_then(|b| b.handle.clone()) else {
                    continue;
                };
                let owner = match owner % 4 {
                    0 => None,
                    1 => Some(UNVERIFIED),
                    k => Some(KEYS[usize::from(k) - 2]),
                };
                let mut reservation = Reservation::new(handle);
                if let Some(owner) = owner {
                    reservation.set_owner(owner);
                }
                m.held.push(Held {
                    budget: at,
                    owner,
                    reservation,
                });
            }
            Op::Resize { reservation, bytes } => {
                let r = usize::from(reservation);
                if r >= m.held.len() {
                    continue;
                }
                let bytes = usize::from(bytes) * BYTES_UNIT;
                let now = m.held[r].reservation.bytes();
                let expected = bytes <= now || m.grants(r, bytes - now);
                let granted = m.held[r].reservation.resize(bytes);
                assert_eq!(
                    granted, expected,
                    "resize {now} -> {bytes} of reservation {r}"
                );
                assert_eq!(
                    m.held[r].reservation.bytes(),
                    if granted { bytes } else { now }
                );
            }
            Op::End { reservation } => {
                let r = usize::from(reservation);
                if r < m.held.len() {
                    m.held.swap_remove(r);
                }
            }
            Op::Form {
                budget,
                bytes,
                network,
            } => {
                let at = usize::from(budget);
                let Some(handle) = m.budgets.get(at).and_then(|b| b.handle.clone()) else {
                    continue;
                };
                let from = match network % 4 {
                    0 => None,
                    n => Some(ClientNet::V4([192, 0, 2, n])),
                };
                let bytes = (usize::from(bytes) % 16 + 1) * BYTES_UNIT / 4;
                let before: Vec<bool> = m.forms.iter().map(|f| f.charge.taken_back()).collect();
                let charge = handle.charge_waiting(bytes, from);
                for (f, was) in m.forms.iter().zip(before) {
                    if f.charge.taken_back() && !was {
                        assert!(!f.paid, "a form that paid was taken back");
                        assert!(
                            f.budget == at || m.same_name(f.budget, at),
                            "a form of another name was taken back"
                        );
                    }
                }
                if let Some(charge) = charge {
                    m.forms.push(Form {
                        budget: at,
                        charge,
                        paid: false,
                    });
                    assert!(
                        m.unverified_of_name(at) <= m.unverified_share(at),
                        "the name's forms past the share"
                    );
                }
            }
            Op::Pay { form } => {
                if let Some(f) = m.forms.get_mut(usize::from(form)) {
                    f.charge.arrived(f.charge.bytes());
                    f.paid = !f.charge.taken_back();
                }
            }
            Op::EndForm { form } => {
                let f = usize::from(form);
                if f < m.forms.len() {
                    m.forms.swap_remove(f);
                }
            }
        }
        assert_eq!(held_in_this_vm(), m.total(), "the VM's gauge");
        assert!(m.total() <= MAX_HELD_IN_A_VM);
        assert!(
            m.rooms_add_up() <= MAX_HELD_IN_A_VM,
            "the names' rooms overlap"
        );
    }
    drop(m);
    assert_eq!(held_in_this_vm(), 0, "held memory leaked");
});
