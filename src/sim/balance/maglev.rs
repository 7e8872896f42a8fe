//! Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
//! Balancer", NSDI 2016, §3.4): each backend fills a prime-sized lookup table in turn along its
//! own permutation (offset and skip from two hashes of its key), so backends own near-equal
//! shares of slots and a key's slot is one modulo away.

use super::{Backend, Pick, Why};
use crate::sim::hash::{mix, splitmix64};

/// The table size, the paper's default (a prime). It must not change with the backend count:
/// a new size would move nearly every key.
const TABLE_SIZE: u64 = 65_537;

/// Slots per backend at least: the paper keeps the table much larger than the backend count so
/// that backends own near-equal shares. Past 655 backends the table grows beyond `TABLE_SIZE`.
const SLOTS_PER_BACKEND: u64 = 100;

/// Re-hashed probes tried before scanning the table for a healthy owner. With a share `h` of
/// slots healthy, all of them miss with probability `(1 - h)^64`: about 1e-3 at h = 0.1.
const MAX_PROBES: u32 = 64;

/// A Maglev balancer: its lookup table over the current backends.
#[derive(Clone, Debug, Default)]
pub struct Maglev {
    /// Backend index owning each slot; the length is the prime table size (empty when there are
    /// no backends).
    table: Vec<u32>,
    members: usize,
}

impl Maglev {
    /// Fill the lookup table afresh (the paper's `Populate`, on structural change only).
    pub fn rebuild(&mut self, backends: &[Backend]) {
        self.members = backends.len();
        self.table = populate(backends);
    }

    /// The owner of `key`'s slot; if it is down, the owner of the key's next probe slot, and so
    /// on: a down backend's keys spread over the others in proportion to their slots.
    pub fn pick(&mut self, backends: &[Backend], key: u64) -> Option<Pick> {
        if self.members != backends.len() {
            // A missed `rebuild`: recover rather than index out of bounds.
            self.rebuild(backends);
        }
        if !backends.iter().any(|b| b.healthy) {
            return None;
        }
        let size = self.table.len() as u64;
        let slot = (splitmix64(key) % size) as usize;
        // Probing re-hashed slots rather than the next slot along: neighbouring slots are not
        // independent in the filled table, so the next slot along favours some backends.
        let mut probe = slot;
        for walked in 0..MAX_PROBES {
            let index = self.table[probe] as usize;
            if backends[index].healthy {
                return Some(Pick {
                    index,
                    why: Why::Maglev {
                        key,
                        slot: slot as u32,
                        table_size: size as u32,
                        walked,
                    },
                });
            }
            probe = (mix(&[key, u64::from(walked) + 1]) % size) as usize;
        }
        // Nearly every slot's owner is down: take the first healthy owner along the table.
        (0..self.table.len())
            .map(|k| self.table[(probe + k) % self.table.len()] as usize)
            .find(|&index| backends[index].healthy)
            .map(|index| Pick {
                index,
                why: Why::Maglev {
                    key,
                    slot: slot as u32,
                    table_size: size as u32,
                    walked: MAX_PROBES,
                },
            })
    }
}

/// The lookup table for `backends`: backend `i` claims the next free slot of its permutation
/// `(offset_i + j · skip_i) mod M` in turn until every slot is taken. Every backend gets
/// ⌊M/n⌋ or ⌈M/n⌉ slots.
fn populate(backends: &[Backend]) -> Vec<u32> {
    let n = backends.len();
    if n == 0 {
        return Vec::new();
    }
    let size = smallest_prime_at_least((SLOTS_PER_BACKEND * n as u64).max(TABLE_SIZE));
    let perm: Vec<(u64, u64)> = backends
        .iter()
        .map(|b| {
            let offset = mix(&[b.key, 1]) % size;
            let skip = mix(&[b.key, 2]) % (size - 1) + 1;
            (offset, skip)
        })
        .collect();
    let mut next = vec![0u64; n];
    let mut table = vec![u32::MAX; size as usize];
    let mut filled = 0u64;
    // Each backend's permutation visits every slot once (skip < M, M prime), so each turn
    // ends; the whole fill takes about M·ln M probes.
    'fill: loop {
        for (i, &(offset, skip)) in perm.iter().enumerate() {
            let mut slot = ((offset + next[i] * skip) % size) as usize;
            while table[slot] != u32::MAX {
                next[i] += 1;
                slot = ((offset + next[i] * skip) % size) as usize;
            }
            table[slot] = i as u32;
            next[i] += 1;
            filled += 1;
            if filled == size {
                break 'fill;
            }
        }
    }
    table
}

/// The smallest prime `≥ at_least` (and ≥ 2), by trial division: table sizes are small.
fn smallest_prime_at_least(at_least: u64) -> u64 {
    let is_prime = |m: u64| {
        m >= 2
            && (2..)
                .take_while(|d| d * d <= m)
                .all(|d| !m.is_multiple_of(d))
    };
    let mut m = at_least.max(2);
    while !is_prime(m) {
        m += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;

    #[test]
    fn table_is_prime_and_shared_near_equally() {
        assert_eq!(smallest_prime_at_least(500), 503);
        assert_eq!(smallest_prime_at_least(65_537), 65_537);
        let list = backends(5);
        let table = populate(&list);
        assert_eq!(table.len(), 65_537);
        for i in 0..5u32 {
            let n = table.iter().filter(|&&o| o == i).count();
            assert!((13_107..=13_108).contains(&n), "backend {i} owns {n} slots");
        }
        assert_eq!(populate(&backends(700)).len(), 70_001);
    }

    #[test]
    fn removing_a_backend_disturbs_few_other_slots() {
        // Slots that were not the removed backend's mostly keep their owner (the paper's
        // Figure 12 measures a few per cent of disruption at this table size).
        let list = backends(10);
        let before = populate(&list);
        let after = populate(&list[..9]);
        let (mut kept, mut total) = (0u32, 0u32);
        for (&x, &y) in before.iter().zip(&after) {
            if x != 9 {
                total += 1;
                kept += u32::from(x == y);
            }
        }
        let kept_share = f64::from(kept) / f64::from(total);
        assert!(kept_share > 0.9, "{kept}/{total} kept");
    }

    #[test]
    fn walks_past_the_unhealthy_and_none_with_none_healthy() {
        let mut list = backends(4);
        let mut b = Maglev::default();
        b.rebuild(&list);
        list[2].healthy = false;
        let mut spread = [0u32; 4];
        for k in 0..8_000u64 {
            let Some(p) = b.pick(&list, k) else {
                panic!("healthy backends exist");
            };
            spread[p.index] += 1;
        }
        assert_eq!(spread[2], 0);
        for i in [0, 1, 3] {
            assert!((2_500..2_830).contains(&spread[i]), "{spread:?}");
        }
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(b.pick(&list, 1).is_none());
        // One healthy backend of 700: most keys exhaust their probes and scan the table.
        let mut many = backends(700);
        many.iter_mut().skip(1).for_each(|b| b.healthy = false);
        let mut b = Maglev::default();
        b.rebuild(&many);
        for k in 0..100u64 {
            assert_eq!(b.pick(&many, k).map(|p| p.index), Some(0));
        }
        assert!(Maglev::default().pick(&[], 1).is_none());
    }
}
