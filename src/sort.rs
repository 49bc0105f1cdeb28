//! One stable sort for the whole filter. The standard library's sorts are instantiated once per
//! element type and comparison, 4 to 5 KB of code each: 64 KB of the module for a dozen call
//! sites that sort a request's few headers, parameters or form fields. Here the sorting is
//! done once, over indices, through a `dyn` comparison; each call site adds only its
//! comparison and a permutation.
//!
//! O(n log n) whatever the input, as a request may carry thousands of parameters.

use std::cmp::Ordering;

/// Sorts `items` by `compare`, keeping equal items in their order.
pub(crate) fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    let n = items.len();
    if n < 2 {
        return;
    }
    let mut on_stack = [0; SMALL];
    let mut on_heap = Vec::new();
    let order = if n <= SMALL {
        &mut on_stack[..n]
    } else {
        on_heap.resize(n, 0);
        &mut on_heap[..]
    };
    let shared: &[T] = items;
    stable_order(order, &mut |a, b| compare(&shared[a], &shared[b]));
    permute(items, order);
}

/// Sorts `items` in their order, keeping equal items in their order.
pub(crate) fn sort<T: Ord>(items: &mut [T]) {
    sort_by(items, T::cmp);
}

/// Sorts `items` by `key`, keeping items of equal keys in their order.
pub(crate) fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Up to this many items sort by insertion, their order on the stack.
const SMALL: usize = 32;

/// Fills `order` with the indices `0..order.len()` in the stable order `compare` gives them.
fn stable_order(order: &mut [usize], compare: &mut dyn FnMut(usize, usize) -> Ordering) {
    for (i, slot) in order.iter_mut().enumerate() {
        *slot = i;
    }
    for run in order.chunks_mut(SMALL) {
        insertion_sort(run, compare);
    }
    if order.len() <= SMALL {
        return;
    }
    let mut scratch = vec![0; order.len()];
    let mut width = SMALL;
    let mut in_scratch = false;
    while width < order.len() {
        let (from, to) = if in_scratch {
            (&scratch[..], &mut *order)
        } else {
            (&*order, &mut scratch[..])
        };
        for (pair, out) in from.chunks(2 * width).zip(to.chunks_mut(2 * width)) {
            let (left, right) = pair.split_at(width.min(pair.len()));
            merge(left, right, out, compare);
        }
        in_scratch = !in_scratch;
        width *= 2;
    }
    if in_scratch {
        order.copy_from_slice(&scratch);
    }
}

fn insertion_sort(run: &mut [usize], compare: &mut dyn FnMut(usize, usize) -> Ordering) {
    for i in 1..run.len() {
        let item = run[i];
        let mut j = i;
        while j > 0 && compare(item, run[j - 1]) == Ordering::Less {
            run[j] = run[j - 1];
            j -= 1;
        }
        run[j] = item;
    }
}

/// Merges two sorted runs into `out`, taking from `left` on ties.
fn merge(
    left: &[usize],
    right: &[usize],
    out: &mut [usize],
    compare: &mut dyn FnMut(usize, usize) -> Ordering,
) {
    let (mut l, mut r) = (0, 0);
    for slot in out.iter_mut() {
        let take_left = match (left.get(l), right.get(r)) {
            (Some(&a), Some(&b)) => compare(b, a) != Ordering::Less,
            (Some(_), None) => true,
            _ => false,
        };
        if take_left {
            *slot = left[l];
            l += 1;
        } else {
            *slot = right[r];
            r += 1;
        }
    }
}

/// Moves each item to its place: the item at `order[i]` goes to `i`. `order` is spent.
fn permute<T>(items: &mut [T], order: &mut [usize]) {
    for start in 0..order.len() {
        // Each cycle of the permutation, once: a placed slot points at itself.
        let mut hole = start;
        while order[hole] != hole {
            let from = order[hole];
            order[hole] = hole;
            if from == start {
                break;
            }
            items.swap(hole, from);
            hole = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{sort, sort_by, sort_by_key};

    /// A small deterministic generator: the tests need many shapes, not secrecy.
    fn numbers(seed: u64, n: usize, range: u64) -> Vec<u64> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) % range
            })
            .collect()
    }

    #[test]
    fn it_sorts_as_the_standard_library_s_stable_sort() {
        for n in [0, 1, 2, 3, 31, 32, 33, 63, 64, 65, 100, 1000, 4097] {
            for (seed, range) in [(1, 3), (2, 50), (3, u64::MAX)] {
                // Pairs of (key, position): equal keys must keep their positions' order.
                let keyed: Vec<(u64, usize)> = numbers(seed + n as u64, n, range)
                    .into_iter()
                    .enumerate()
                    .map(|(i, k)| (k, i))
                    .collect();
                let mut ours = keyed.clone();
                sort_by_key(&mut ours, |&(k, _)| k);
                let mut std = keyed.clone();
                #[allow(clippy::disallowed_methods)] // the reference
                std.sort_by_key(|&(k, _)| k);
                assert_eq!(ours, std, "n={n} range={range}");
            }
        }
    }

    #[test]
    fn it_sorts_sorted_reversed_and_equal_items() {
        for n in [5, 40, 300] {
            let mut up: Vec<usize> = (0..n).collect();
            let mut down: Vec<usize> = (0..n).rev().collect();
            sort(&mut up);
            sort(&mut down);
            assert_eq!(up, down);
            assert!(up.is_sorted());
            let mut same = vec![7u8; n];
            sort(&mut same);
            assert_eq!(same, vec![7u8; n]);
        }
    }

    #[test]
    fn it_moves_owned_items() {
        let mut names: Vec<String> = ["x-amz-date", "host", "content-md5", "host"]
            .map(String::from)
            .to_vec();
        sort_by(&mut names, |a, b| b.cmp(a));
        assert_eq!(names, ["x-amz-date", "host", "host", "content-md5"]);
    }
}
