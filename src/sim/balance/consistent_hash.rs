//! Consistent hashing on the request key: a ring with `virtual_nodes` points per backend
//! ([`crate::sim::ring::HashRing`]); a key goes to the owner of the first point clockwise from
//! its hash, walking on past points of unhealthy backends.

use super::{Backend, Pick, Why};
use crate::sim::hash::splitmix64;
use crate::sim::ring::HashRing;

/// The seed the balancer's ring is placed under: fixed, so a backend's points depend only on its
/// key and every balancer in a layout agrees on placement.
const RING_SEED: u64 = 0;

/// A consistent-hash balancer: its ring over the current backends.
#[derive(Clone, Debug)]
pub struct ConsistentHash {
    virtual_nodes: u32,
    ring: HashRing,
}

impl ConsistentHash {
    /// An empty ring with `virtual_nodes` points per backend, filled by `rebuild`.
    pub fn new(virtual_nodes: u32) -> Self {
        ConsistentHash {
            virtual_nodes: virtual_nodes.max(1),
            ring: HashRing::default(),
        }
    }

    /// Place the backends' points afresh (one allocation, on structural change only).
    pub fn rebuild(&mut self, backends: &[Backend]) {
        let keys: Vec<u64> = backends.iter().map(|b| b.key).collect();
        self.ring = HashRing::new(&keys, self.virtual_nodes, RING_SEED);
    }

    /// The first healthy backend clockwise from `key`'s hash.
    pub fn pick(&mut self, backends: &[Backend], key: u64) -> Option<Pick> {
        if self.ring.members() != backends.len() {
            // A missed `rebuild`: recover rather than index out of bounds.
            self.rebuild(backends);
        }
        if !backends.iter().any(|b| b.healthy) {
            return None;
        }
        // Request keys may be small integers; mix once more so they spread round the ring.
        let point = splitmix64(key);
        let (skipped, index) = self
            .ring
            .walk(point)
            .enumerate()
            .find(|&(_, index)| backends[index].healthy)?;
        Some(Pick {
            index,
            why: Why::ConsistentHash {
                key,
                skipped: skipped as u32,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;

    #[test]
    fn same_key_same_backend_and_a_down_backend_moves_only_its_keys() {
        let mut list = backends(4);
        let mut b = ConsistentHash::new(100);
        b.rebuild(&list);
        let owners: Vec<usize> = (0..4_000u64)
            .filter_map(|k| b.pick(&list, k).map(|p| p.index))
            .collect();
        assert_eq!(owners.len(), 4_000);
        for i in 0..4 {
            let n = owners.iter().filter(|&&o| o == i).count();
            assert!((700..1_300).contains(&n), "backend {i} got {n}");
        }
        list[1].healthy = false;
        for (k, &was) in owners.iter().enumerate() {
            let Some(p) = b.pick(&list, k as u64) else {
                panic!("healthy backends exist");
            };
            if was == 1 {
                assert_ne!(p.index, 1);
                assert!(matches!(p.why, Why::ConsistentHash { skipped, .. } if skipped > 0));
            } else {
                assert_eq!(p.index, was, "key {k} moved off a healthy backend");
            }
        }
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(b.pick(&list, 7).is_none());
    }

    #[test]
    fn recovers_from_a_missed_rebuild() {
        let list = backends(3);
        let mut b = ConsistentHash::new(10);
        assert!(b.pick(&list, 1).is_some());
        assert!(ConsistentHash::new(10).pick(&[], 1).is_none());
    }
}
