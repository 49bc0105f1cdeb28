//! What one VM may hold of request bodies across all its streams. A VM serves every stream of
//! its Envoy worker, and an allocation it cannot make kills it for all of them, so holding
//! bytes takes a reservation first and a request that would go over is refused instead.

use crate::client_net::ClientNet;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::{Rc, Weak};

/// A VM's budget; single-threaded, like the VM.
pub struct MemoryBudget {
    limit: usize,
    used: Cell<usize>,
    /// The most one access key may hold, so that one key (or a captured request of it,
    /// replayed on many connections) cannot take what the others need.
    per_owner: usize,
    /// The most the streams owned by `UNVERIFIED` may hold together.
    unverified: usize,
    owners: RefCell<Vec<(Rc<str>, usize)>>,
    /// The forms waiting for their fields under this budget and the others of its name.
    forms: Rc<WaitingRoom>,
    /// The plugin configuration's name it was made for (`named`), if known.
    lineage: Option<Rc<str>>,
}

/// The browser forms waiting for their fields under the configurations of one plugin name (or
/// under one budget without a name), one room for all: their unverified streams share one
/// share across the name, as a key's do, so a new configuration's forms must be able to take
/// back a replaced one's. With a room each, forms on connections opened before an update held
/// an eighth in every configuration still alive (a listener with an 8 MiB budget refused a
/// 6.5 MiB chunk), and counted across the name without it, they kept every new form out (red
/// teams, 2026-12-05).
#[derive(Default)]
struct WaitingRoom {
    /// The charges of forms waiting for their fields, oldest first (`charge_waiting`).
    waiting: RefCell<VecDeque<Weak<Waiting>>>,
    /// What each network's waiting forms weigh, in the order the networks began to wait
    /// (`take_back_waiting` takes from the heaviest).
    by_network: RefCell<Vec<NetworkWaiting>>,
    /// Charges taken back from forms whose streams have not yet ended: Envoy keeps the
    /// streams until the tick answers them, so they are counted here, out of the share and of
    /// the budget (the VM holds nothing for them), up to `took_back_allowance`. Given back
    /// at once and counted nowhere, they let a client reopening forms as fast as the tick
    /// answered keep 1,900 streams (147 MiB) on 20 connections (a red team, 2026-12-03).
    taken_back_bytes: Cell<usize>,
}

/// The owner of what streams hold before any key is known: the fields of browser forms, read
/// before their signature can be checked. Anyone can open such a stream and let it idle, so
/// together they get a share of their own (`MemoryBudget::shared`), and signed uploads keep
/// the rest. (Access key ids are printable: none is spelt so.)
pub const UNVERIFIED: &str = "\0unverified";

thread_local! {
    /// What every budget of this VM (one per filter configuration it runs: an edge's and its
    /// origin filters' share one VM) holds together: the VM's memory gauge. Each budget's own
    /// figure told only of itself, and the last to report won (an attack run found the gauge
    /// at 0 in `failover.yaml` while the edge's budget was full, 2026-12-01).
    static HELD_IN_THIS_VM: Cell<usize> = const { Cell::new(0) };
}

/// The most every budget of a VM may hold together. Each filter configuration the VM runs has
/// its own budget (listeners sharing a `vm_id`; an edge and its origin filters), each up to
/// this much, and their sum must leave the VM (about 1 GiB at most in Envoy's V8) room for its
/// own work (a configuration footgun hunt, 2026-12-01). When their limits add up to more,
/// each budget is scaled down to its share: a pool all could draw from would let one listener
/// take what another's uploads need (a review of the first version).
pub const MAX_HELD_IN_A_VM: usize = 256 * 1024 * 1024;

thread_local! {
    /// The budgets of this VM in the order they were made (alive or not: a dropped one is
    /// skipped, and pruned when the next is made).
    static BUDGETS_IN_THIS_VM: RefCell<Vec<Weak<MemoryBudget>>> = const { RefCell::new(Vec::new()) };
}

/// Bytes reserved now by every budget of this VM.
pub fn held_in_this_vm() -> usize {
    HELD_IN_THIS_VM.with(Cell::get)
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Rc<Self> {
        Self::shared(limit, limit, limit)
    }

    /// A budget of which one access key may hold at most `per_owner`, and the streams not yet
    /// verified at most `unverified` together.
    pub fn shared(limit: usize, per_owner: usize, unverified: usize) -> Rc<Self> {
        Self::named(limit, per_owner, unverified, None)
    }

    /// A budget as `shared`, made for the plugin configuration named `lineage`: the
    /// configurations of one name are taken for one listener's. Envoy keeps a configuration a
    /// listener update replaced, with its budget, until the listener's drain time has passed
    /// (600 s by default), connections or not, and brings one back without configuring it
    /// again when an update rolls back to it, so it cannot tell which of a name's
    /// configurations serves. Counted each by its limit, every update shrank every budget of
    /// the VM for ten minutes; the rules tried after that fell to the red teams SECURITY.md
    /// (class 2) tells of. So the budgets of one name share one room (`in_lineage`) and one
    /// waiting room for forms (`WaitingRoom`), and weigh in the VM's others' shares once, by
    /// the largest limit among them (`weight_in`).
    pub fn named(
        limit: usize,
        per_owner: usize,
        unverified: usize,
        lineage: Option<&str>,
    ) -> Rc<Self> {
        let forms = lineage
            .and_then(|name| {
                BUDGETS_IN_THIS_VM.with(|budgets| {
                    let budgets = budgets.try_borrow().ok()?;
                    let mut live = budgets.iter().filter_map(Weak::upgrade);
                    let of_name = live.find(|b| b.lineage.as_deref() == Some(name))?;
                    Some(of_name.forms.clone())
                })
            })
            .unwrap_or_default();
        let budget = Rc::new(MemoryBudget {
            limit,
            used: Cell::new(0),
            per_owner: per_owner.min(limit),
            unverified: unverified.min(limit),
            owners: RefCell::new(Vec::new()),
            forms,
            lineage: lineage.map(Rc::from),
        });
        BUDGETS_IN_THIS_VM.with(|budgets| {
            if let Ok(mut budgets) = budgets.try_borrow_mut() {
                budgets.retain(|b| b.strong_count() > 0);
                budgets.push(Rc::downgrade(&budget));
            }
        });
        budget
    }

    /// What it weighs in the share of `asking`: nothing when `asking` is of its name (they
    /// share one room, bounded in `take`); else its limit when it is the first made of the
    /// largest limit among the live budgets of its name, nothing when another is. Its name
    /// holds at most the room of the largest (`in_lineage`), whichever of them serves: Envoy
    /// does not tell which, and one rolled back to serves again while the other drains.
    fn weight_in(&self, asking: &MemoryBudget, budgets: &[Weak<MemoryBudget>]) -> usize {
        if self.same_lineage(asking) {
            return 0;
        }
        let mut earlier = true;
        for other in budgets.iter().filter_map(Weak::upgrade) {
            if std::ptr::eq(&*other, self) {
                earlier = false;
            } else if other.same_lineage(self)
                && (other.limit > self.limit || (other.limit == self.limit && earlier))
            {
                return 0;
            }
        }
        self.limit
    }

    fn same_lineage(&self, other: &MemoryBudget) -> bool {
        self.lineage.is_some() && self.lineage == other.lineage
    }

    /// What the VM's other budgets of this one's name hold: all of them, and `owner`'s part.
    /// One listener's configurations hold no more than one of them may (a red team had two
    /// hold twice the limit), and a key no more than its share across them (holds kept open
    /// across updates added up to 240 MiB of one key of two); forms not yet verified too,
    /// which take back each other's across them (`WaitingRoom`). `None` when it cannot be
    /// told.
    fn in_lineage(&self, owner: Option<&str>) -> Option<(usize, usize)> {
        BUDGETS_IN_THIS_VM.with(|budgets| {
            let budgets = budgets.try_borrow().ok()?;
            let (mut all, mut owners_part) = (0usize, 0usize);
            for other in budgets.iter().filter_map(Weak::upgrade) {
                if std::ptr::eq(&*other, self) || !other.same_lineage(self) {
                    continue;
                }
                all = all.saturating_add(other.used.get());
                if let Some(owner) = owner {
                    let owners = other.owners.try_borrow().ok()?;
                    owners_part = owners_part.saturating_add(held_by(&owners, owner));
                }
            }
            Some((all, owners_part))
        })
    }

    /// Charges `bytes` to the unverified streams' share for a browser form from `from` whose
    /// request headers wait (in Envoy) for its fields. Past the share, waiting forms whose
    /// fields have not yet brought their charge are taken back (`Waiting::taken_back`): a form
    /// sends its fields right after its headers, so the newest form gets in whatever waits
    /// without paying. Charged by the share alone, forms sending nothing (a few bytes each
    /// over HTTP/2, headers compressed) kept every browser upload refused for 233 B/s (a red
    /// team, 2026-12-03). `None` when even that leaves no room.
    pub fn charge_waiting(
        self: &Rc<Self>,
        bytes: usize,
        from: Option<ClientNet>,
    ) -> Option<Rc<Waiting>> {
        let owner: Rc<str> = Rc::from(UNVERIFIED);
        while !self.take(Some(&owner), bytes) {
            if !self.make_room(bytes, Asking::NewForm(from, form_weight(bytes))) {
                return None;
            }
        }
        let charge = Rc::new(Waiting {
            budget: self.clone(),
            bytes,
            from,
            arrived: Cell::new(0),
            taken_back: Cell::new(false),
            taken_for: Cell::new(None),
        });
        self.forms.count(from, form_weight(bytes));
        if let Ok(mut waiting) = self.forms.waiting.try_borrow_mut() {
            // Those that ended or paid leave from the front, where the oldest are.
            while waiting
                .front()
                .is_some_and(|w| !Waiting::can_be_taken_back(w))
            {
                waiting.pop_front();
            }
            if waiting.len() >= 64 && waiting.len().is_power_of_two() {
                waiting.retain(Waiting::can_be_taken_back);
            }
            waiting.push_back(Rc::downgrade(&charge));
        }
        Some(charge)
    }

    /// When the unverified streams' share is what keeps `more` bytes of theirs out (not the
    /// budget as a whole, which signed uploads fill), takes back a waiting form's charge
    /// (`take_back_waiting`); whether it did.
    fn make_room(&self, more: usize, asking: Asking<'_>) -> bool {
        let share = self.unverified_share();
        let here = self
            .owners
            .try_borrow()
            .map_or(usize::MAX, |owners| held_by(&owners, UNVERIFIED));
        let Some((_, elsewhere)) = self.in_lineage(Some(UNVERIFIED)) else {
            return false;
        };
        let held = here.saturating_add(elsewhere);
        more <= share && held.saturating_add(more) > share && self.take_back_waiting(asking)
    }

    /// Takes back the charge of a form still waiting without having paid for it (never the
    /// asking form's own; under any configuration of the name, `WaitingRoom`), while what was
    /// taken back from streams not yet ended stays within `took_back_allowance`; whether it
    /// did. The form is the oldest unpaid one of the network whose waiting forms weigh the
    /// most (`heaviest_network`): a client flooding forms makes room with its own, and
    /// another's form whose fields come late is taken back only for a network waiting with
    /// less. Taking the oldest of all let one client cycling forms at 20 KB/s have every form
    /// refused whose fields came 0.2 s after its headers (a red team, 2026-12-03).
    fn take_back_waiting(&self, asking: Asking<'_>) -> bool {
        let room = &self.forms;
        let Some(network) = room.heaviest_network(asking) else {
            return false;
        };
        let Ok(mut waiting) = room.waiting.try_borrow_mut() else {
            return false;
        };
        waiting.retain(Waiting::can_be_taken_back);
        let own = asking.own();
        let Some((at, charge)) = waiting.iter().enumerate().find_map(|(at, w)| {
            let charge = w.upgrade()?;
            let taken = charge.from == network && !own.is_some_and(|own| Rc::ptr_eq(own, &charge));
            taken.then_some((at, charge))
        }) else {
            return false;
        };
        let taken_back_bytes = room.taken_back_bytes.get().saturating_add(charge.bytes);
        if taken_back_bytes > self.took_back_allowance() {
            return false;
        }
        // Forms whose network is not known share the whole allowance, as all forms did.
        let taker = asking.network().flatten();
        // (One form may go past the cap, whatever its charge.)
        if taker.is_some() && room.took_back(taker) >= self.took_back_cap() {
            return false;
        }
        waiting.remove(at);
        drop(waiting);
        // Taken back, it weighs for its network until its stream ends.
        room.settle(charge.from, 0, 1);
        if taker.is_some() {
            room.tally(taker, |n| {
                n.took_back = n.took_back.saturating_add(charge.bytes)
            });
            charge.taken_for.set(taker);
        }
        charge.taken_back.set(true);
        room.taken_back_bytes.set(taken_back_bytes);
        // Out of the forms' share and of the budget of its own configuration (maybe one this
        // one replaced), counted in `taken_back_bytes` until the stream ends (`Waiting::drop`).
        charge.budget.out_of_share(UNVERIFIED, charge.bytes);
        charge.budget.release(charge.bytes);
        true
    }

    /// The most the charges of forms taken back may come to while their streams last: the
    /// unverified share, and at least `TOOK_BACK_FLOOR`. Those streams are answered within
    /// a few milliseconds, so the allowance is spent by forms taken back faster than that;
    /// at the smallest budget the share held two forms of 64 KiB, which HTTP/2 sends in 30
    /// bytes (a header set indexed once), and three addresses taking back each other's at
    /// 600 a second kept half the browser uploads out (a red team, 2026-12-03).
    fn took_back_allowance(&self) -> usize {
        self.unverified_share().max(TOOK_BACK_FLOOR)
    }

    /// The most a network's forms may have taken back from streams not yet ended: a
    /// thirty-second of the share, but at least 64 KiB. Those streams last until the tick
    /// answers them, within one allowance for all networks (`took_back_allowance`), and when
    /// the tick answered 640 a second a single client opening forms faster than that, each
    /// taking back its own oldest, kept the allowance spent and every other client's forms
    /// refused at their headers (2 KB/s over HTTP/2 at the smallest budget, 19 KB/s at the
    /// default; a red team, 2026-12-03).
    fn took_back_cap(&self) -> usize {
        (self.unverified_share() / 32).max(64 * 1024)
    }

    /// Stops counting `bytes` against `owner`'s share (what it holds may still count).
    fn out_of_share(&self, owner: &str, bytes: usize) {
        if let Ok(mut owners) = self.owners.try_borrow_mut() {
            if let Some(at) = owners.iter().position(|(o, _)| &**o == owner) {
                owners[at].1 = owners[at].1.saturating_sub(bytes);
                if owners[at].1 == 0 {
                    owners.swap_remove(at);
                }
            }
        }
    }

    /// Whether forms taken back still hold their streams, waiting for the tick's answer.
    pub fn holds_taken_back(&self) -> bool {
        self.forms.taken_back_bytes.get() > 0
    }

    /// Bytes reserved now, across all streams.
    pub fn used(&self) -> usize {
        self.used.get()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// `bytes` of this budget's limits (the whole, a key's share, the unverified streams'),
    /// scaled down to this budget's share of `MAX_HELD_IN_A_VM` when its limit and what the
    /// VM's other budgets weigh in it (`weight_in`) add up to more.
    fn scaled(&self, bytes: usize) -> usize {
        scale(bytes, self.weighed_with_others())
    }

    /// What the unverified streams of its name may hold together: the smallest share among
    /// the name's live budgets, scaled. Anyone may send forms on connections opened under a
    /// configuration of a larger budget, still draining after an update or a rollback to a
    /// smaller one, and held to that configuration's share they kept 32 MiB under the 8 MiB
    /// budget of the one serving (a red team, 2026-12-05). Envoy does not tell which serves.
    fn unverified_share(&self) -> usize {
        let own = self.scaled(self.unverified);
        if self.lineage.is_none() {
            return own;
        }
        BUDGETS_IN_THIS_VM.with(|budgets| {
            let Ok(budgets) = budgets.try_borrow() else {
                return 0;
            };
            budgets
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|b| !std::ptr::eq(&**b, self) && b.same_lineage(self))
                .map(|b| b.scaled(b.unverified))
                .fold(own, usize::min)
        })
    }

    /// Its limit and what the VM's other budgets weigh in its share; `None` when it cannot be
    /// told.
    fn weighed_with_others(&self) -> Option<usize> {
        BUDGETS_IN_THIS_VM.with(|budgets| {
            let budgets = budgets.try_borrow().ok()?;
            let others = budgets.iter().filter_map(Weak::upgrade);
            Some(
                others
                    .filter(|b| !std::ptr::eq(&**b, self))
                    .fold(self.limit, |sum, b| {
                        sum.saturating_add(b.weight_in(self, &budgets))
                    }),
            )
        })
    }

    fn take(&self, owner: Option<&Rc<str>>, bytes: usize) -> bool {
        let Some((lineage_holds, owners_elsewhere)) = self.in_lineage(owner.map(|o| &**o)) else {
            return false;
        };
        let weighed = self.weighed_with_others();
        let total = match self.used.get().checked_add(bytes) {
            Some(total) if total.saturating_add(lineage_holds) <= scale(self.limit, weighed) => {
                total
            }
            _ => return false,
        };
        // Shares shrink when a budget is added (a listener, a configuration reloaded while the
        // old one drains) and the others keep what they hold: the VM's total stays bounded all
        // the same (a review of the shares).
        if held_in_this_vm().saturating_add(bytes) > MAX_HELD_IN_A_VM {
            return false;
        }
        if let Some(owner) = owner {
            let Ok(mut owners) = self.owners.try_borrow_mut() else {
                return false;
            };
            let at = match owners.iter().position(|(o, _)| o == owner) {
                Some(at) => at,
                None => {
                    owners.push((owner.clone(), 0));
                    owners.len() - 1
                }
            };
            let held = owners[at].1.saturating_add(bytes);
            let share = if &**owner == UNVERIFIED {
                self.unverified_share()
            } else {
                scale(self.per_owner, weighed)
            };
            if held.saturating_add(owners_elsewhere) > share {
                if owners[at].1 == 0 {
                    owners.swap_remove(at);
                }
                return false;
            }
            owners[at].1 = held;
        }
        self.used.set(total);
        HELD_IN_THIS_VM.with(|held| held.set(held.get().saturating_add(bytes)));
        true
    }

    fn give_back(&self, owner: Option<&str>, bytes: usize) {
        self.release(bytes);
        if let Some(owner) = owner {
            self.out_of_share(owner, bytes);
        }
    }

    /// Stops counting `bytes` in the budget (and the VM's total), not in any owner's share.
    fn release(&self, bytes: usize) {
        let used = self.used.get();
        let given = bytes.min(used);
        self.used.set(used - given);
        HELD_IN_THIS_VM.with(|held| held.set(held.get().saturating_sub(given)));
    }
}

impl WaitingRoom {
    /// The network that makes room for `asking`: of the other networks with an unpaid form
    /// to take back, the one whose waiting forms weigh the most, paid, unpaid or taken back
    /// and not yet ended (unseen, a client's paid forms let its newcomers take another's
    /// place), of equals the one waiting longest; but the asking form's own network when it
    /// weighs more (counted with a new form), with an unpaid form of its own to take back
    /// (never the asking form's), else none. So a few heavy forms from as many networks
    /// cannot take a lighter network's place (a red team filled the share with one 104 KiB
    /// form an address, from two addresses, 2026-12-03), nor can a client's fields, growing
    /// beside its paid forms (the next red team).
    fn heaviest_network(&self, asking: Asking<'_>) -> Option<Option<ClientNet>> {
        let networks = self.by_network.try_borrow().ok()?;
        let (asker, own) = (asking.network(), asking.own());
        let mut asker_weight = match asking {
            Asking::NewForm(_, weight) => weight,
            Asking::Fields(_) => 0,
        };
        let mut asker_takeable = false;
        let mut heaviest_other: Option<(Option<ClientNet>, usize)> = None;
        for n in networks.iter() {
            if asker == Some(n.network) {
                asker_weight = asker_weight.saturating_add(n.weight);
                let own_unpaid = own.is_some_and(|own| own.unpaid());
                asker_takeable = n.unpaid > usize::from(own_unpaid);
            } else if n.unpaid > 0 && heaviest_other.is_none_or(|(_, most)| n.weight > most) {
                heaviest_other = Some((n.network, n.weight));
            }
        }
        match heaviest_other {
            Some((network, most)) if asker_weight <= most => Some(network),
            _ => asker.filter(|_| asker_takeable),
        }
    }

    /// Counts a new waiting form for its network: `weight`, and one unpaid form.
    fn count(&self, network: Option<ClientNet>, weight: usize) {
        self.tally(network, |n| {
            n.weight = n.weight.saturating_add(weight);
            n.unpaid = n.unpaid.saturating_add(1);
        });
    }

    /// Stops counting `weight` and `unpaid` forms of a network's: a form paid (`0, 1`), was
    /// taken back (`0, 1`: it weighs until its stream ends) or ended (`weight`, and 1 if it
    /// had not paid).
    fn settle(&self, network: Option<ClientNet>, weight: usize, unpaid: usize) {
        self.tally(network, |n| {
            n.weight = n.weight.saturating_sub(weight);
            n.unpaid = n.unpaid.saturating_sub(unpaid);
        });
    }

    /// Changes `network`'s tally, added when absent and removed once it counts nothing (in
    /// place: the order is which began to wait first).
    fn tally(&self, network: Option<ClientNet>, change: impl FnOnce(&mut NetworkWaiting)) {
        let Ok(mut networks) = self.by_network.try_borrow_mut() else {
            return;
        };
        let at = match networks.iter().position(|n| n.network == network) {
            Some(at) => at,
            None => {
                networks.push(NetworkWaiting {
                    network,
                    weight: 0,
                    unpaid: 0,
                    took_back: 0,
                });
                networks.len() - 1
            }
        };
        change(&mut networks[at]);
        let n = &networks[at];
        if n.weight == 0 && n.unpaid == 0 && n.took_back == 0 {
            networks.remove(at);
        }
    }

    fn took_back(&self, network: Option<ClientNet>) -> usize {
        self.by_network.try_borrow().map_or(usize::MAX, |networks| {
            networks
                .iter()
                .find(|n| n.network == network)
                .map_or(0, |n| n.took_back)
        })
    }
}

/// What `owner` holds, in a budget's list of owners.
fn held_by(owners: &[(Rc<str>, usize)], owner: &str) -> usize {
    owners
        .iter()
        .find(|(o, _)| &**o == owner)
        .map_or(0, |(_, held)| *held)
}

/// `bytes` of a budget's limits, scaled down to its share of `MAX_HELD_IN_A_VM` when `weighed`
/// (its limit and what the VM's other budgets weigh in its share) is more; nothing when that
/// cannot be told.
fn scale(bytes: usize, weighed: Option<usize>) -> usize {
    let Some(sum) = weighed else {
        return 0;
    };
    if sum <= MAX_HELD_IN_A_VM {
        return bytes;
    }
    let share = bytes as u128 * MAX_HELD_IN_A_VM as u128 / sum as u128;
    usize::try_from(share).unwrap_or(bytes).min(bytes)
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemoryBudget({}/{})", self.used.get(), self.limit)
    }
}

/// What one network's waiting forms weigh (`WaitingRoom::heaviest_network`).
struct NetworkWaiting {
    network: Option<ClientNet>,
    /// Its waiting forms' weights (`form_weight`), paid or not: what it holds of the share.
    weight: usize,
    /// How many of them have not paid, and may be taken back.
    unpaid: usize,
    /// The charges of other forms taken back for this network's, while their streams last
    /// (`MemoryBudget::took_back_cap`).
    took_back: usize,
}

/// A waiting form weighs its charge in steps of `FORM_WEIGHT_STEP`: a browser's form (12 KiB
/// for its stream, its headers and cookies) weighs one, whatever its cookies, and a client
/// cannot fill the share with a few heavy forms each from a network weighing one. Weighed in
/// bytes, a browser's long cookies made its network the heaviest (a review, 2026-12-03);
/// counted in forms, two addresses sending 104 KiB forms did (a red team, the same day).
fn form_weight(bytes: usize) -> usize {
    bytes.div_ceil(FORM_WEIGHT_STEP).max(1)
}

const FORM_WEIGHT_STEP: usize = 32 * 1024;

/// What forms taken back may come to at the smallest budgets (`took_back_allowance`): 2 MiB
/// of Envoy's memory a worker, for streams about to end; about 140 browser forms, or 20 of
/// the heaviest Envoy lets in.
const TOOK_BACK_FLOOR: usize = 2 * 1024 * 1024;

/// Who asks for room in the unverified streams' share.
#[derive(Clone, Copy)]
enum Asking<'a> {
    /// A new form, from its network, and its weight.
    NewForm(Option<ClientNet>, usize),
    /// A form's fields, arriving (with the form's own charge, if it has one).
    Fields(Option<&'a Rc<Waiting>>),
}

impl<'a> Asking<'a> {
    /// The asking form's own charge, never taken back for it.
    fn own(self) -> Option<&'a Rc<Waiting>> {
        match self {
            Asking::Fields(own) => own,
            Asking::NewForm(..) => None,
        }
    }

    /// The asking network, when there is one (fields of a form with no charge have none).
    fn network(self) -> Option<Option<ClientNet>> {
        match self {
            Asking::NewForm(from, _) => Some(from),
            Asking::Fields(own) => own.map(|own| own.from),
        }
    }
}

/// What a browser form waiting for its fields is charged for its request headers
/// (`MemoryBudget::charge_waiting`), given back when dropped, unless taken back first.
pub struct Waiting {
    budget: Rc<MemoryBudget>,
    bytes: usize,
    /// Where the form comes from, for the oldest of the heaviest network to make room.
    from: Option<ClientNet>,
    /// Bytes of the form's body that arrived: once they reach its charge, it has paid.
    arrived: Cell<usize>,
    taken_back: Cell<bool>,
    /// The network this form was taken back for, when known.
    taken_for: Cell<Option<ClientNet>>,
}

impl Waiting {
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The form's body has brought `arrived` bytes.
    pub fn arrived(&self, arrived: usize) {
        let unpaid = self.unpaid();
        self.arrived.set(self.arrived.get().max(arrived));
        if unpaid && !self.unpaid() {
            self.budget.forms.settle(self.from, 0, 1);
        }
    }

    /// The charge was taken back for a newer form: the form is to be refused.
    pub fn taken_back(&self) -> bool {
        self.taken_back.get()
    }

    fn unpaid(&self) -> bool {
        !self.taken_back.get() && self.arrived.get() < self.bytes
    }

    fn can_be_taken_back(charge: &Weak<Waiting>) -> bool {
        charge.upgrade().is_some_and(|c| c.unpaid())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let unpaid = usize::from(self.unpaid());
        let room = &self.budget.forms;
        room.settle(self.from, form_weight(self.bytes), unpaid);
        if let Some(taker) = self.taken_for.get() {
            let bytes = self.bytes;
            room.tally(Some(taker), |n| {
                n.took_back = n.took_back.saturating_sub(bytes)
            });
        }
        if self.taken_back.get() {
            // Out of the share and the budget already (`take_back_waiting`).
            room.taken_back_bytes
                .set(room.taken_back_bytes.get().saturating_sub(self.bytes));
        } else {
            self.budget.give_back(Some(UNVERIFIED), self.bytes);
        }
    }
}

/// One stream's share of the budget, given back when it is dropped.
pub struct Reservation {
    budget: Rc<MemoryBudget>,
    owner: Option<Rc<str>>,
    bytes: usize,
}

impl Reservation {
    pub fn new(budget: Rc<MemoryBudget>) -> Self {
        Reservation {
            budget,
            owner: None,
            bytes: 0,
        }
    }

    /// Counts what this reservation holds against `access_key_id`'s share too. Set before
    /// anything is reserved.
    pub fn owned_by(mut self, access_key_id: &str) -> Self {
        self.set_owner(access_key_id);
        self
    }

    pub fn set_owner(&mut self, access_key_id: &str) {
        // Bytes taken before would be released against a share they were never counted in.
        debug_assert_eq!(
            self.bytes, 0,
            "the owner is set before anything is reserved"
        );
        if self.bytes == 0 {
            self.owner = Some(Rc::from(access_key_id));
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn budget(&self) -> &Rc<MemoryBudget> {
        &self.budget
    }

    /// `resize`, taking back the charges of waiting forms that have not paid (but `own`'s) when
    /// the budget cannot cover the increase: bytes that arrived come before charges for bytes
    /// that never came.
    pub fn resize_taking_back(&mut self, bytes: usize, own: Option<&Rc<Waiting>>) -> bool {
        while !self.resize(bytes) {
            let more = bytes.saturating_sub(self.bytes);
            if !self.budget.make_room(more, Asking::Fields(own)) {
                return false;
            }
        }
        true
    }

    /// Makes the reservation `bytes` in all; `false` (and unchanged) when the budget cannot
    /// cover the increase.
    pub fn resize(&mut self, bytes: usize) -> bool {
        if bytes > self.bytes {
            if !self.budget.take(self.owner.as_ref(), bytes - self.bytes) {
                return false;
            }
        } else {
            self.budget
                .give_back(self.owner.as_deref(), self.bytes - bytes);
        }
        self.bytes = bytes;
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.owner.as_deref(), self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    /// A budget made for the plugin configuration named `name`.
    fn named(limit: usize, name: &str) -> Rc<MemoryBudget> {
        MemoryBudget::named(limit, limit, limit, Some(name))
    }

    /// Everything was given back, and no network is counted.
    fn assert_all_given_back(budget: &MemoryBudget) {
        assert_eq!(budget.used(), 0);
        assert!(budget.forms.by_network.borrow().is_empty());
        assert!(!budget.holds_taken_back());
        // (Each test runs on a thread of its own, with a VM total of its own.)
        assert_eq!(held_in_this_vm(), 0);
    }

    #[test]
    fn the_vm_gauge_counts_every_budget_of_the_vm() {
        let before = held_in_this_vm();
        let (edge, origin) = (MemoryBudget::new(100), MemoryBudget::new(100));
        let mut a = Reservation::new(edge.clone());
        let mut b = Reservation::new(origin.clone());
        assert!(a.resize(30) && b.resize(50));
        assert_eq!(held_in_this_vm(), before + 80);
        assert!(a.resize(10));
        drop(b);
        assert_eq!(held_in_this_vm(), before + 10);
        drop(a);
        assert_eq!(held_in_this_vm(), before);
    }

    #[test]
    fn the_budgets_of_a_vm_hold_no_more_than_it_can_spare_together() {
        // Three listeners sharing a VM: one with the largest budget, two with half of it.
        let half = MAX_HELD_IN_A_VM / 2;
        let budgets = [
            MemoryBudget::new(MAX_HELD_IN_A_VM),
            MemoryBudget::new(half),
            MemoryBudget::new(half),
        ];
        let mut held: Vec<Reservation> = budgets
            .iter()
            .map(|b| Reservation::new(b.clone()))
            .collect();
        // Each keeps its share of the VM's room, whatever the others hold.
        assert!(held[0].resize(MAX_HELD_IN_A_VM / 2));
        assert!(!held[0].resize(MAX_HELD_IN_A_VM / 2 + 1));
        assert!(held[1].resize(MAX_HELD_IN_A_VM / 4));
        assert!(held[2].resize(MAX_HELD_IN_A_VM / 4));
        assert!(!held[2].resize(MAX_HELD_IN_A_VM / 4 + 1));
        // A configuration gone (its budget dropped), the others have their whole limits again.
        drop(held.remove(0));
        let [first, ..] = budgets;
        drop(first);
        assert!(held[0].resize(half));
    }

    #[test]
    fn budgets_added_while_others_hold_leave_the_vm_total_bounded() {
        let first = MemoryBudget::new(MAX_HELD_IN_A_VM);
        let mut held = Reservation::new(first.clone());
        assert!(held.resize(MAX_HELD_IN_A_VM));
        // A listener added (or a configuration reloaded) while the first budget is full.
        let second = MemoryBudget::new(MAX_HELD_IN_A_VM);
        assert!(!Reservation::new(second.clone()).resize(1));
        drop(held);
        assert!(Reservation::new(second).resize(MAX_HELD_IN_A_VM / 2));
    }

    /// Envoy keeps a configuration a listener update replaced until the listener's drain time
    /// has passed, with no connection left (a red team, 2026-12-05): a budget made for the same
    /// name shares the older's room, and the name weighs in other listeners' shares once.
    #[test]
    fn a_replaced_budget_shares_its_names_room() {
        let old = named(MAX_HELD_IN_A_VM, "s3-resign");
        let mut old_held = Reservation::new(old.clone());
        assert!(old_held.resize(10));
        // Another listener's budget (another name) shares the VM's room by its limit.
        let other = named(MAX_HELD_IN_A_VM, "internal");
        let unnamed = MemoryBudget::new(MAX_HELD_IN_A_VM);
        assert!(!Reservation::new(unnamed.clone()).resize(MAX_HELD_IN_A_VM / 3 + 1));
        drop(unnamed);
        let new = named(MAX_HELD_IN_A_VM, "s3-resign");
        let mut held = Reservation::new(new.clone());
        // The other listener's weighs its limit: half of the room is their name's, and what
        // the replaced one holds counts in it.
        let share = MAX_HELD_IN_A_VM / 2;
        assert!(held.resize(share - 10) && !held.resize(share - 9));
        // In the other listener's share, the name weighs one limit: half is the other's.
        let mut others = Reservation::new(other.clone());
        assert!(others.resize(share) && !others.resize(share + 1));
        drop((others, other));
        // What the old one holds is still its own, and the VM's room is bounded.
        assert!(!held.resize(MAX_HELD_IN_A_VM - 9) && held.resize(MAX_HELD_IN_A_VM - 10));
        assert!(!old_held.resize(11));
        drop(old_held);
        assert!(held.resize(MAX_HELD_IN_A_VM));
        drop(held);
        assert_all_given_back(&new);
        assert_all_given_back(&old);
    }

    /// An update rolling back to a configuration still draining brings it back without
    /// configuring it again, still marked replaced (a red team, 2026-12-05): the budgets of one
    /// name share the room as a pool, so the one serving again has all of it that the other
    /// does not hold.
    #[test]
    fn a_configuration_rolled_back_to_has_the_room_its_name_does_not_hold() {
        let first = named(MAX_HELD_IN_A_VM, "s3-resign");
        let second = named(MAX_HELD_IN_A_VM, "s3-resign");
        let mut back = Reservation::new(first.clone());
        assert!(back.resize(MAX_HELD_IN_A_VM));
        assert!(!Reservation::new(second.clone()).resize(1));
        assert!(back.resize(MAX_HELD_IN_A_VM - 100));
        assert!(Reservation::new(second.clone()).resize(100));
        drop(back);
        assert_all_given_back(&first);
        assert_all_given_back(&second);
    }

    /// A name weighs in other names' shares by the largest limit among its live budgets,
    /// whichever serves. Marked replaced for good, a configuration rolled back to (which Envoy
    /// does not configure again) weighed what it held once the other had drained; weighed so
    /// while a later one of a smaller limit drained, it left another listener 230 MiB of 256
    /// and its own 48 MiB chunk was refused (red teams, 2026-12-05).
    #[test]
    fn a_name_weighs_its_largest_live_limit_in_other_names_shares() {
        const HALF: usize = MAX_HELD_IN_A_VM / 2;
        let first = named(MAX_HELD_IN_A_VM, "x");
        let second = named(MAX_HELD_IN_A_VM, "x");
        let y = named(MAX_HELD_IN_A_VM, "y");
        let mut held = Reservation::new(y.clone());
        assert!(held.resize(HALF) && !held.resize(HALF + 1));
        drop(second);
        assert!(!held.resize(HALF + 1));
        // Updated to a smaller limit, then rolled back while that one drains: the first
        // serves again, with the room it had.
        let smaller = named(MAX_HELD_IN_A_VM / 16, "x");
        assert!(!held.resize(HALF + 1));
        let mut back = Reservation::new(first.clone());
        assert!(back.resize(HALF) && !back.resize(HALF + 1));
        assert!(!Reservation::new(smaller.clone()).resize(1));
        drop(back);
        // Once the larger is gone, the smaller weighs: the other listener has the rest.
        drop(first);
        let room = (MAX_HELD_IN_A_VM as u128 * 16 / 17) as usize;
        assert!(held.resize(room) && !held.resize(room + 1));
        drop(held);
        assert_all_given_back(&smaller);
    }

    /// The forms of a name's configurations wait in one room: one share for them all, and a
    /// new configuration's forms take back a replaced one's that have not paid. With a share
    /// each, forms waiting under a replaced configuration held an eighth of the listener's
    /// room beside the new one's, and a listener with an 8 MiB budget refused a 6.5 MiB chunk;
    /// counted across the name with a room each, they kept every new form out (red teams,
    /// 2026-12-05).
    #[test]
    fn forms_of_a_names_configurations_wait_in_one_room() {
        const FORM: usize = 10 * KIB;
        let configuration = || {
            MemoryBudget::named(
                MAX_HELD_IN_A_VM / 2,
                MAX_HELD_IN_A_VM / 4,
                10 * FORM,
                Some("s3-resign"),
            )
        };
        let net = |last: u8| Some(ClientNet::V4([192, 0, 2, last]));
        let (flood, browser) = (net(1), net(2));
        // Forms on connections opened before an update fill the share.
        let old = configuration();
        let mut flooded: Vec<_> = (0..10)
            .map(|_| old.charge_waiting(FORM, flood).unwrap())
            .collect();
        let new = configuration();
        // A form under the new configuration takes back the oldest of the flood's.
        let form = new.charge_waiting(FORM, browser).unwrap();
        assert!(flooded[0].taken_back() && !form.taken_back());
        assert_eq!((old.used(), new.used()), (9 * FORM, FORM));
        assert!(old.holds_taken_back() && new.holds_taken_back());
        flooded.remove(0);
        assert!(!new.holds_taken_back());
        // So do its fields, growing past the share the configurations hold together.
        let mut fields = Reservation::new(new.clone()).owned_by(UNVERIFIED);
        assert!(fields.resize_taking_back(2 * FORM, Some(&form)));
        assert_eq!(flooded.iter().filter(|f| f.taken_back()).count(), 2);
        flooded.retain(|f| !f.taken_back());
        // And the flood's newcomers under the old configuration make room with its own.
        let newcomer = old.charge_waiting(FORM, flood).unwrap();
        assert!(flooded[0].taken_back() && !form.taken_back());
        flooded.retain(|f| !f.taken_back());
        // Forms that paid stay, whichever configuration they wait under: the share is full.
        for paid in flooded.iter().chain([&newcomer, &form]) {
            paid.arrived(FORM);
        }
        assert!(new.charge_waiting(FORM, browser).is_none());
        assert!(old.charge_waiting(FORM, flood).is_none());
        drop((flooded, newcomer, form, fields));
        assert_all_given_back(&old);
        assert_all_given_back(&new);
    }

    /// The forms of a name hold the smallest unverified share among its live budgets: forms
    /// on connections opened under a larger configuration, still draining, held its eighth,
    /// four times the whole budget of the one serving (a red team, 2026-12-05).
    #[test]
    fn a_names_forms_hold_the_smallest_share_among_its_configurations() {
        const MIB: usize = 1024 * KIB;
        let configuration =
            |limit: usize| MemoryBudget::named(limit, limit, limit / 8, Some("s3-resign"));
        let serving = configuration(8 * MIB);
        let replaced = configuration(256 * MIB);
        let mut forms = Reservation::new(replaced.clone()).owned_by(UNVERIFIED);
        assert!(!forms.resize(MIB + 1) && forms.resize(MIB));
        let mut chunk = Reservation::new(serving.clone()).owned_by("KEY");
        assert!(chunk.resize(7 * MIB));
        // And what forms may take back, of every configuration's forms (a network's cap
        // included): at the smallest share's.
        assert_eq!(replaced.took_back_allowance(), TOOK_BACK_FLOOR);
        assert_eq!(replaced.took_back_cap(), 64 * KIB);
        drop(chunk);
        // Once the smaller is gone, the larger's share is the name's.
        drop(serving);
        assert!(forms.resize(32 * MIB) && !forms.resize(32 * MIB + 1));
        drop(forms);
        assert_all_given_back(&replaced);
    }

    /// A key's share is of what it holds across the configurations of one name: holds kept
    /// open across updates added up to 240 MiB of one key of two (a red team, 2026-12-05).
    #[test]
    fn a_key_holds_its_share_across_the_configurations_of_one_name() {
        const QUARTER: usize = MAX_HELD_IN_A_VM / 4;
        let budgets: Vec<_> = (0..3)
            .map(|_| MemoryBudget::named(MAX_HELD_IN_A_VM / 2, QUARTER, 1024, Some("s3-resign")))
            .collect();
        let mut a = Reservation::new(budgets[0].clone()).owned_by("A");
        assert!(a.resize(QUARTER / 2));
        let mut b = Reservation::new(budgets[1].clone()).owned_by("A");
        assert!(!b.resize(QUARTER / 2 + 1) && b.resize(QUARTER / 2));
        assert!(!Reservation::new(budgets[2].clone()).owned_by("A").resize(1));
        // Another key keeps its own share.
        assert!(Reservation::new(budgets[2].clone())
            .owned_by("B")
            .resize(QUARTER));
        drop(a);
        assert!(Reservation::new(budgets[2].clone())
            .owned_by("A")
            .resize(QUARTER / 2));
        drop(b);
        for budget in &budgets {
            assert_all_given_back(budget);
        }
    }

    #[test]
    fn a_scaled_down_budget_keeps_its_shares_in_proportion() {
        let budget = MemoryBudget::shared(MAX_HELD_IN_A_VM, MAX_HELD_IN_A_VM / 2, 1024);
        let _other = MemoryBudget::new(MAX_HELD_IN_A_VM);
        // Half the VM's room is this budget's, a quarter one key's, and 512 bytes the
        // unverified streams'.
        let mut a = Reservation::new(budget.clone()).owned_by("A");
        assert!(!a.resize(MAX_HELD_IN_A_VM / 4 + 1));
        assert!(a.resize(MAX_HELD_IN_A_VM / 4));
        let mut form = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(!form.resize(513) && form.resize(512));
    }

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

    #[test]
    fn one_key_cannot_take_the_others_share() {
        let budget = MemoryBudget::shared(100, 50, 100);
        let mut a1 = Reservation::new(budget.clone()).owned_by("A");
        let mut a2 = Reservation::new(budget.clone()).owned_by("A");
        let mut b = Reservation::new(budget.clone()).owned_by("B");
        assert!(a1.resize(30));
        assert!(!a2.resize(21), "A's share is 50");
        assert!(a2.resize(20));
        assert!(b.resize(50));
        assert_eq!(budget.used(), 100);
        drop(a1);
        assert!(a2.resize(50));
        drop((a2, b));
        assert_eq!(budget.used(), 0);
        assert!(budget.owners.borrow().is_empty());
    }

    #[test]
    fn waiting_forms_that_have_not_paid_make_room_for_newer_ones() {
        let budget = MemoryBudget::shared(800, 800, 100);
        let first = budget.charge_waiting(40, None).unwrap();
        let second = budget.charge_waiting(40, None).unwrap();
        // The second's fields bring its charge: paid, it stays.
        second.arrived(40);
        let third = budget.charge_waiting(40, None).unwrap();
        assert!(first.taken_back() && !second.taken_back() && !third.taken_back());
        // Taken back, the first is out of the share and the budget (Envoy holds its stream
        // until the tick answers it).
        assert_eq!(budget.used(), 80);
        assert!(budget.holds_taken_back());
        drop(first);
        assert!(!budget.holds_taken_back());
        assert_eq!(budget.used(), 80);
        // Nothing left to take back but what paid and the asker's own: refused.
        let mut fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(!fields.resize_taking_back(21, Some(&third)));
        assert!(!third.taken_back());
        assert!(budget.charge_waiting(61, None).is_none());
        // Fields that arrived come before a charge for bytes that never came.
        assert!(fields.resize_taking_back(60, None));
        assert!(third.taken_back());
        drop((second, third, fields));
        assert_eq!(budget.used(), 0);
        assert!(budget.owners.borrow().is_empty());
        assert!(budget.forms.by_network.borrow().is_empty());
        // A plain resize (signed uploads') takes nothing back.
        let mut signed = Reservation::new(budget.clone()).owned_by("A");
        assert!(signed.resize(750));
        let waiting = budget.charge_waiting(50, None).unwrap();
        assert!(!Reservation::new(budget.clone()).owned_by("B").resize(1));
        assert!(!waiting.taken_back());
        // Nor does a form when the budget is full but the forms' share is not: what it would
        // free is not what keeps it out.
        assert!(budget.charge_waiting(10, None).is_none());
        let mut fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(!fields.resize_taking_back(10, None));
        assert!(!waiting.taken_back());
        // Nor for a charge larger than the whole share.
        drop(signed);
        assert!(budget.charge_waiting(101, None).is_none());
        assert!(!waiting.taken_back());
    }

    #[test]
    fn forms_taken_back_count_outside_the_budget_up_to_their_allowance() {
        // A share of 128 KiB, two forms of 64 KiB, and the allowance's floor of 2 MiB: 32.
        let budget = MemoryBudget::shared(1 << 20, 1 << 20, 128 * KIB);
        let net = |n: u8| Some(ClientNet::V4([198, 51, 100, n]));
        let mut waiting: Vec<_> = (0..34)
            .map(|n| budget.charge_waiting(64 * KIB, net(n)).unwrap())
            .collect();
        // Each newcomer took back another network's form: Envoy holds those streams until
        // the tick answers them, the VM nothing.
        assert_eq!(waiting.iter().filter(|w| w.taken_back()).count(), 32);
        assert_eq!(budget.used(), 128 * KIB);
        let mut signed = Reservation::new(budget.clone()).owned_by("A");
        assert!(signed.resize((1 << 20) - 128 * KIB));
        // Past the allowance, a newcomer waits for their ends.
        assert!(budget.charge_waiting(64 * KIB, net(100)).is_none());
        drop(waiting.remove(0));
        waiting.push(budget.charge_waiting(64 * KIB, net(100)).unwrap());
        assert_eq!(waiting.iter().filter(|w| w.taken_back()).count(), 32);
        drop((waiting, signed));
        assert_all_given_back(&budget);
        // Past 2 MiB, the share: 4 MiB of forms of 64 KiB, 64.
        let budget = MemoryBudget::shared(64 << 20, 64 << 20, 4 << 20);
        let net = |n: u8| Some(ClientNet::V4([198, 51, 101, n]));
        let waiting: Vec<_> = (0..128)
            .map(|n| budget.charge_waiting(64 * KIB, net(n)).unwrap())
            .collect();
        assert_eq!(waiting.iter().filter(|w| w.taken_back()).count(), 64);
        assert!(budget.charge_waiting(64 * KIB, net(200)).is_none());
        drop(waiting);
        assert_all_given_back(&budget);
    }

    #[test]
    fn the_network_waiting_with_the_most_makes_room_with_its_own_oldest() {
        // Room for five forms of 20.
        let budget = MemoryBudget::shared(1000, 1000, 100);
        let net = |last: u8| Some(ClientNet::V4([192, 0, 2, last]));
        let (flood, late, third) = (
            net(1),
            net(2),
            Some(ClientNet::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 1])),
        );
        let wait = |from| budget.charge_waiting(20, from).unwrap();
        // The oldest form is another network's, whose fields come late.
        let slow = wait(late);
        let mut flooded: Vec<_> = (0..4).map(|_| wait(flood)).collect();
        // Each newcomer of the flood takes back the flood's own oldest, never the other's
        // (those taken back are answered, and end).
        for _ in 0..10 {
            let oldest = Rc::clone(&flooded[0]);
            flooded.push(wait(flood));
            assert!(oldest.taken_back() && !slow.taken_back());
            flooded.retain(|f| !f.taken_back());
            assert_eq!(flooded.len(), 4);
        }
        // A third network's newcomer takes back the flood's oldest too.
        let other = wait(third);
        assert!(flooded[0].taken_back() && !slow.taken_back());
        flooded.retain(|f| !f.taken_back());
        // A newcomer counts with its network: with two of the flood's left, the third
        // network's second newcomer makes its network three against the flood's two, and its
        // own oldest makes room. Uncounted, a tie, the flood (waiting longer) would.
        drop(flooded.remove(0));
        let mate = wait(third);
        assert!(!slow.taken_back() && flooded.iter().all(|f| !f.taken_back()));
        let newest = wait(third);
        assert!(
            other.taken_back() && !slow.taken_back() && !mate.taken_back() && !newest.taken_back()
        );
        assert!(flooded.iter().all(|f| !f.taken_back()));
        drop(other);
        // A form's fields count for no one: two forms each, and the network waiting longer
        // makes room (the flood, which began before the third).
        let mut fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(fields.resize_taking_back(20, Some(&newest)));
        assert!(flooded[0].taken_back() && !mate.taken_back() && !newest.taken_back());
        drop(flooded.remove(0));
        // They never take back their own form's charge: the late form's fields, its
        // network's only form, take the heaviest other network's oldest.
        let mut slow_fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(slow_fields.resize_taking_back(20, Some(&slow)));
        assert!(mate.taken_back() && !slow.taken_back() && !newest.taken_back());
        drop((mate, slow_fields, fields));
        // Counted in forms, not bytes: a browser's form with long headers is one form.
        let heavy = budget.charge_waiting(40, net(3)).unwrap();
        assert!(!heavy.taken_back());
        // Networks that stopped waiting leave the order in place: the late network's form
        // ends, and of the flood, the third and the heavy form's network, one form each, the
        // flood began first and makes room.
        drop(slow);
        let [fourth, fifth] = [net(4), net(5)].map(wait);
        assert!(flooded[0].taken_back() && !newest.taken_back() && !heavy.taken_back());
        assert!(!fourth.taken_back() && !fifth.taken_back());
        drop(flooded);
        drop((newest, heavy, fourth, fifth));
        assert!(budget.forms.by_network.borrow().is_empty());
        // A form's fields, its network's only form, take the next network's oldest that has
        // not paid (the late network began first, then `a`'s, whose oldest has paid).
        let (a, b, c) = (net(10), net(11), net(12));
        let slow = wait(late);
        let [paid, b_first, a_unpaid, c_first] = [a, b, a, c].map(wait);
        paid.arrived(20);
        let mut fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(fields.resize_taking_back(20, Some(&slow)));
        assert!(a_unpaid.taken_back());
        assert!(
            !paid.taken_back()
                && !slow.taken_back()
                && !b_first.taken_back()
                && !c_first.taken_back()
        );
        drop((slow, paid, b_first, a_unpaid, c_first, fields));
        assert_all_given_back(&budget);
    }

    #[test]
    fn heavy_forms_and_forms_that_paid_take_no_lighter_networks_place() {
        let budget = MemoryBudget::shared(4096 * KIB, 4096 * KIB, 256 * KIB);
        let net = |last: u8| Some(ClientNet::V4([198, 51, 100, last]));
        let (late, a, b, c) = (net(1), net(2), net(3), net(4));
        // A browser's form (weighing one), then forms of 104 KiB (four) from two networks:
        // each newcomer takes another heavy network's place, never the lighter one's.
        let slow = budget.charge_waiting(14 * KIB, late).unwrap();
        let heavy = |from| budget.charge_waiting(104 * KIB, from);
        let mut flood = vec![heavy(a).unwrap(), heavy(b).unwrap()];
        for from in [a, b].repeat(5) {
            flood.push(heavy(from).unwrap());
            assert!(!slow.taken_back());
            flood.retain(|f| !f.taken_back());
            assert_eq!(flood.len(), 2);
        }
        // A third network's newcomer, as heavy: one of theirs.
        flood.push(heavy(c).unwrap());
        assert!(!slow.taken_back());
        flood.retain(|f| !f.taken_back());
        drop(flood);
        // Forms that paid weigh all the same: a network whose forms paid and fill the share
        // gets no room for its newcomer from a lighter network's form.
        let paid: Vec<_> = (0..5)
            .map(|_| budget.charge_waiting(45 * KIB, a).unwrap())
            .collect();
        for form in &paid {
            form.arrived(45 * KIB);
        }
        assert!(budget.charge_waiting(45 * KIB, a).is_none());
        assert!(budget.charge_waiting(20 * KIB, a).is_none());
        // Nor does a heavier newcomer from elsewhere; one weighing as little makes room.
        assert!(budget.charge_waiting(45 * KIB, b).is_none());
        assert!(!slow.taken_back());
        let light = budget.charge_waiting(20 * KIB, b).unwrap();
        assert!(slow.taken_back() && !light.taken_back());
        drop((slow, paid, light));
        assert_all_given_back(&budget);
    }

    #[test]
    fn a_network_takes_back_no_more_than_its_part_while_those_streams_last() {
        // A share of 4 MiB: a network may have taken back 128 KiB (and one form past it).
        let budget = MemoryBudget::shared(64 << 20, 64 << 20, 4 << 20);
        let net = |last: u8| Some(ClientNet::V4([203, 0, 113, last]));
        let (flood, browser) = (net(1), net(2));
        let mut waiting: Vec<_> = (0..256)
            .map(|_| budget.charge_waiting(16 * KIB, flood).unwrap())
            .collect();
        // The flood's newcomers take back its own oldest, whose streams the tick has not yet
        // answered: eight (128 KiB), then they are refused.
        for _ in 0..8 {
            waiting.push(budget.charge_waiting(16 * KIB, flood).unwrap());
        }
        assert!(budget.charge_waiting(16 * KIB, flood).is_none());
        assert_eq!(waiting.iter().filter(|w| w.taken_back()).count(), 8);
        // Another network's newcomers still get in.
        let first = budget.charge_waiting(16 * KIB, browser).unwrap();
        assert_eq!(waiting.iter().filter(|w| w.taken_back()).count(), 9);
        // Once the streams taken back end, the flood may take back again.
        waiting.retain(|w| !w.taken_back());
        waiting.push(budget.charge_waiting(16 * KIB, flood).unwrap());
        assert_eq!(waiting.iter().filter(|w| w.taken_back()).count(), 1);
        drop((waiting, first));
        assert_all_given_back(&budget);
    }

    #[test]
    fn fields_take_room_only_from_networks_weighing_as_much_as_their_own() {
        let budget = MemoryBudget::shared(4096 * KIB, 4096 * KIB, 256 * KIB);
        let net = |last: u8| Some(ClientNet::V4([192, 0, 2, last]));
        let (late, a, b) = (net(1), net(2), net(3));
        let slow = budget.charge_waiting(14 * KIB, late).unwrap();
        // Two forms of one network that paid (weighing two), the second's fields growing.
        let wait_paid = |from| {
            let form = budget.charge_waiting(14 * KIB, from).unwrap();
            form.arrived(14 * KIB);
            form
        };
        let (first, second) = (wait_paid(a), wait_paid(a));
        let mut first_fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(first_fields.resize_taking_back(100 * KIB, Some(&first)));
        let mut fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(fields.resize_taking_back(114 * KIB, Some(&second)));
        assert!(!fields.resize_taking_back(128 * KIB, Some(&second)));
        assert!(!slow.taken_back());
        // A network's single form weighs no more than the late one's: its fields, bytes that
        // came, take the place of a charge for bytes that never did.
        drop((first, first_fields));
        let lone = wait_paid(b);
        let mut lone_fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(lone_fields.resize_taking_back(110 * KIB, Some(&lone)));
        assert!(slow.taken_back());
        drop((slow, second, fields, lone, lone_fields));
        assert_all_given_back(&budget);
    }

    #[test]
    fn unverified_streams_keep_to_their_share() {
        let budget = MemoryBudget::shared(800, 800, 100);
        let mut heads: Vec<Reservation> = (0..3)
            .map(|_| Reservation::new(budget.clone()).owned_by(UNVERIFIED))
            .collect();
        assert!(heads[0].resize(60));
        assert!(heads[1].resize(40));
        assert!(!heads[2].resize(1), "their share is taken");
        let mut signed = Reservation::new(budget.clone()).owned_by("A");
        assert!(signed.resize(700));
        drop(heads);
        assert_eq!(budget.used(), 700);
    }

    /// A reservation tells what it holds: the held-body clock times a hold by it
    /// (`held_body`), and a hold that reserved nothing is no hold.
    #[test]
    fn a_reservation_tells_what_it_holds() {
        let budget = MemoryBudget::new(100);
        let mut held = Reservation::new(budget.clone()).owned_by("A");
        assert!(held.resize(60));
        assert_eq!(held.bytes(), 60);
        assert!(!held.resize(101));
        assert_eq!(held.bytes(), 60);
        assert!(held.resize(20));
        assert_eq!(held.bytes(), 20);
    }

    /// A reservation kept at its size stays when the shares shrank under it (a budget added
    /// to the VM): nothing more is asked of the budget.
    #[test]
    fn a_reservation_kept_at_its_size_stays_when_shares_shrink() {
        let first = MemoryBudget::new(MAX_HELD_IN_A_VM);
        let mut held = Reservation::new(first.clone()).owned_by("A");
        assert!(held.resize(MAX_HELD_IN_A_VM));
        let second = MemoryBudget::new(MAX_HELD_IN_A_VM);
        assert!(held.resize(MAX_HELD_IN_A_VM) && !held.resize(MAX_HELD_IN_A_VM + 1));
        assert!(held.resize(MAX_HELD_IN_A_VM / 4));
        drop((held, second));
        assert_all_given_back(&first);
    }

    /// The VM's list of budgets keeps only the live ones once the next is made: every
    /// configuration update makes one, and a dead entry keeps its allocation.
    #[test]
    fn budgets_gone_leave_the_vms_list() {
        for _ in 0..10 {
            drop(MemoryBudget::new(100));
        }
        let _live = MemoryBudget::new(100);
        assert_eq!(BUDGETS_IN_THIS_VM.with_borrow(Vec::len), 1);
    }

    /// Forms that paid or ended leave the waiting list even while older forms wait unpaid
    /// at its front: a client sending forms that pay at once, behind 64 that never do, keeps
    /// it at no more than twice those waiting.
    #[test]
    fn forms_that_paid_leave_the_waiting_list_behind_unpaid_ones() {
        let budget = MemoryBudget::shared(1 << 20, 1 << 20, 1 << 20);
        let slow: Vec<_> = (0..64)
            .map(|_| budget.charge_waiting(10, None).unwrap())
            .collect();
        for _ in 0..1000 {
            budget.charge_waiting(10, None).unwrap().arrived(10);
        }
        assert!(budget.forms.waiting.borrow().len() <= 128);
        drop(slow);
        assert_all_given_back(&budget);
    }

    /// A form refused because signed uploads fill the budget takes nothing back, even when it
    /// would fill the forms' share exactly.
    #[test]
    fn a_form_filling_the_share_exactly_takes_nothing_back_from_a_full_budget() {
        let budget = MemoryBudget::shared(800, 800, 100);
        let mut signed = Reservation::new(budget.clone()).owned_by("A");
        assert!(signed.resize(750));
        let waiting = budget.charge_waiting(50, None).unwrap();
        assert!(budget.charge_waiting(50, None).is_none());
        let mut fields = Reservation::new(budget.clone()).owned_by(UNVERIFIED);
        assert!(!fields.resize_taking_back(50, None));
        assert!(!waiting.taken_back());
        drop((waiting, fields, signed));
        assert_all_given_back(&budget);
    }

    /// Another name's smaller share for forms (another listener's) is not this name's, nor is
    /// an unnamed budget's.
    #[test]
    fn a_names_forms_share_is_not_another_names() {
        let x = MemoryBudget::named(1000, 1000, 100, Some("x"));
        let _y = MemoryBudget::named(1000, 1000, 10, Some("y"));
        let _unnamed = MemoryBudget::shared(1000, 1000, 10);
        let mut forms = Reservation::new(x.clone()).owned_by(UNVERIFIED);
        assert!(forms.resize(100) && !forms.resize(101));
    }

    /// A form's fields arriving after it paid (in several pieces) leave its network's other
    /// unpaid forms counted: they still make room for another network's newcomer.
    #[test]
    fn fields_arriving_after_a_form_paid_leave_its_networks_unpaid_forms_counted() {
        let budget = MemoryBudget::shared(1000, 1000, 40);
        let net = |last: u8| Some(ClientNet::V4([192, 0, 2, last]));
        let (a, b) = (net(1), net(2));
        let paid = budget.charge_waiting(20, a).unwrap();
        let unpaid = budget.charge_waiting(20, a).unwrap();
        for arrived in [20, 30, 40] {
            paid.arrived(arrived);
        }
        let newcomer = budget.charge_waiting(20, b).unwrap();
        assert!(unpaid.taken_back() && !paid.taken_back() && !newcomer.taken_back());
        drop((paid, unpaid, newcomer));
        assert_all_given_back(&budget);
    }
}
