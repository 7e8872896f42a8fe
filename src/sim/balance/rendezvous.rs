//! Rendezvous (highest random weight) hashing (Thaler and Ravishankar 1998): every healthy
//! backend scores `mix(key, backend.key)` and the highest score wins. Removing a backend moves
//! only its own keys, with no ring or table to keep.

use super::{Backend, Pick, Why};
use crate::sim::hash::mix;

/// The rendezvous balancer (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct Rendezvous;

impl Rendezvous {
    /// The healthy backend scoring highest for `key` (a request key hash).
    pub fn pick(&mut self, backends: &[Backend], key: u64) -> Option<Pick> {
        let index = highest_score(backends, key)?;
        Some(Pick {
            index,
            why: Why::Rendezvous { key },
        })
    }
}

/// The healthy backend with the highest `mix(key, backend.key)`, the first of equals. Shared with
/// sticky-by-IP, which runs it on the client's address.
pub(super) fn highest_score(backends: &[Backend], key: u64) -> Option<usize> {
    let mut best: Option<(u64, usize)> = None;
    for (i, b) in backends.iter().enumerate() {
        if !b.healthy {
            continue;
        }
        let score = mix(&[key, b.key]);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;

    #[test]
    fn spreads_keys_and_a_down_backend_moves_only_its_own() {
        let mut list = backends(5);
        let owners: Vec<usize> = (0..10_000u64)
            .filter_map(|k| Rendezvous.pick(&list, mix(&[k])).map(|p| p.index))
            .collect();
        for i in 0..5 {
            let n = owners.iter().filter(|&&o| o == i).count();
            assert!((1_800..2_200).contains(&n), "backend {i} got {n}");
        }
        list[2].healthy = false;
        for (k, &was) in owners.iter().enumerate() {
            let Some(now) = Rendezvous.pick(&list, mix(&[k as u64])) else {
                panic!("healthy backends exist");
            };
            if was != 2 {
                assert_eq!(now.index, was, "key {k} moved off a healthy backend");
            } else {
                assert_ne!(now.index, 2);
            }
        }
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(Rendezvous.pick(&list, 1).is_none());
    }
}
