//! Placement of keys on members: a consistent-hash ring with virtual nodes (Karger et al. 1997),
//! and plain modulo hashing to compare it with. Shared by the balancer, a cache cluster and a
//! shard router.
//!
//! Both take a key *hash* (already well mixed, e.g. from [`crate::sim::hash::mix`]) and return
//! the index of the owning member in the slice the placement was built from.

use super::hash::mix;

/// One point on the ring: where it sits and which member owns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Point {
    hash: u64,
    member: u32,
}

/// A consistent-hash ring: `vnodes` points per member, hashed from the member's stable key, the
/// point's index and a seed. A key belongs to the first point at or after its hash, wrapping.
///
/// Adding a member only adds points, so a key either keeps its owner or moves to the new
/// member; on average `1/(n+1)` of the keys move.
#[derive(Clone, Debug, Default)]
pub struct HashRing {
    /// Sorted by (hash, member), so that even a hash collision orders deterministically.
    points: Vec<Point>,
    members: usize,
}

impl HashRing {
    /// A ring over `members` (their stable keys, e.g. [`crate::sim::balance::Backend::key`]),
    /// with `vnodes` points each (at least one), placed under `seed`.
    pub fn new(members: &[u64], vnodes: u32, seed: u64) -> Self {
        // Balancer and router rings are small (check prices them); an allocation failure
        // leaves an empty ring, whose owner is `None` (calls fail with `no_backend`).
        Self::try_new(members, vnodes, seed).unwrap_or_default()
    }

    /// As [`HashRing::new`], but the points (members × vnodes, sizes a file controls) are
    /// reserved with `try_reserve`, so a ring too big for memory is an error, not an abort.
    pub fn try_new(members: &[u64], vnodes: u32, seed: u64) -> Result<Self, u64> {
        let vnodes = vnodes.max(1);
        let n = members.len() * vnodes as usize;
        let mut points = Vec::new();
        if points.try_reserve_exact(n).is_err() {
            return Err((n * std::mem::size_of::<Point>()) as u64);
        }
        for (member, &key) in members.iter().enumerate() {
            for v in 0..vnodes {
                points.push(Point {
                    hash: mix(&[seed, key, u64::from(v)]),
                    member: member as u32,
                });
            }
        }
        points.sort_unstable();
        Ok(HashRing {
            points,
            members: members.len(),
        })
    }

    /// Number of members the ring was built over.
    pub fn members(&self) -> usize {
        self.members
    }

    /// Bytes the ring's points take.
    pub fn bytes_reserved(&self) -> u64 {
        (self.points.capacity() * std::mem::size_of::<Point>()) as u64
    }

    /// Number of points on the ring (members × virtual nodes).
    pub fn points(&self) -> usize {
        self.points.len()
    }

    /// The member owning `key_hash`, or `None` for an empty ring.
    pub fn owner(&self, key_hash: u64) -> Option<usize> {
        let p = self.points.get(self.first_point(key_hash))?;
        Some(p.member as usize)
    }

    /// The members met walking clockwise from `key_hash`'s point, one per point, once round the
    /// ring (so a member appears `vnodes` times). Used to skip members that are down.
    pub fn walk(&self, key_hash: u64) -> impl Iterator<Item = usize> + '_ {
        let start = self.first_point(key_hash);
        let n = self.points.len();
        (0..n).map(move |k| self.points[(start + k) % n].member as usize)
    }

    /// Index of the first point at or after `key_hash`, wrapping to 0 past the top.
    fn first_point(&self, key_hash: u64) -> usize {
        let i = self.points.partition_point(|p| p.hash < key_hash);
        if i == self.points.len() { 0 } else { i }
    }
}

/// Modulo hashing: member `key_hash mod n`, or `None` when `n` is 0. Changing `n` moves almost
/// every key (`n/(n+1)` of them when one member is added), which is what rings avoid.
pub fn modulo_owner(key_hash: u64, n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    Some((key_hash % n as u64) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::show;

    const BACKENDS: usize = 10;
    const VNODES: u32 = 200;
    const KEYS: u64 = 100_000;
    const SEEDS: u64 = 20;

    fn member_keys(n: usize) -> Vec<u64> {
        (0..n as u64).map(|m| mix(&[0x6d65_6d62, m])).collect()
    }

    fn key_hash(seed: u64, k: u64) -> u64 {
        mix(&[0x006b_6579, seed, k])
    }

    /// Per seed: share of keys moved by adding an eleventh backend, whether all moved keys
    /// went to it, and busiest/mean load on the ten-backend ring.
    fn one_seed(seed: u64) -> (f64, bool, f64) {
        let keys = member_keys(BACKENDS + 1);
        let before = HashRing::new(&keys[..BACKENDS], VNODES, seed);
        let after = HashRing::new(&keys, VNODES, seed);
        let mut moved = 0u64;
        let mut all_to_new = true;
        let mut load = [0u64; BACKENDS];
        for k in 0..KEYS {
            let h = key_hash(seed, k);
            let (Some(a), Some(b)) = (before.owner(h), after.owner(h)) else {
                panic!("rings are not empty");
            };
            load[a] += 1;
            if a != b {
                moved += 1;
                all_to_new &= b == BACKENDS;
            }
        }
        let mean = KEYS as f64 / BACKENDS as f64;
        let max = load.iter().copied().max().unwrap_or(0) as f64;
        (moved as f64 / KEYS as f64, all_to_new, max / mean)
    }

    /// A backend's share of the keys, relative to the mean 1/N: its share of the ring is the
    /// sum of its V arcs among N V random points, Beta(V, (N - 1) V), relative sd
    /// sqrt((1 - 1/N) / (N V + 1) * N) ~ sqrt((1 - 1/N) / V); the keys' draw adds binomial noise,
    /// relative sd sqrt((1 - 1/N) / (KEYS / N)).
    fn share_relative_sd(n: usize) -> f64 {
        let (n, v) = (n as f64, f64::from(VNODES));
        let ring = (1.0 - 1.0 / n) * n / (n * v + 1.0);
        let keys = (1.0 - 1.0 / n) / (KEYS as f64 / n);
        (ring + keys).sqrt()
    }

    #[test]
    fn consistent_hashing_moves_one_eleventh_to_the_new_backend_and_stays_balanced() {
        // Busiest/mean: allowed 5 relative sd above 1 (with 10 backends x 20 seeds, the chance
        // that any share crosses it is below 200 x 3e-7).
        let max_allowed = 1.0 + 5.0 * share_relative_sd(BACKENDS);
        // The moved share is the new backend's share, mean 1/11, relative sd as above; over
        // 20 seeds its mean has 1/sqrt(20) of that. Allowed: 5 standard errors.
        let moved_allowed = 5.0 * share_relative_sd(BACKENDS + 1) / 11.0 / (SEEDS as f64).sqrt();
        let mut moved_sum = 0.0;
        let mut worst = 0.0f64;
        for seed in 0..SEEDS {
            let (moved, all_to_new, max_over_mean) = one_seed(seed);
            assert!(all_to_new, "seed {seed}: a key moved between old backends");
            moved_sum += moved;
            worst = worst.max(max_over_mean);
            assert!(
                max_over_mean < max_allowed,
                "seed {seed}: busiest/mean = {max_over_mean:.3} (allowed {max_allowed:.3})"
            );
        }
        let mean_moved = moved_sum / SEEDS as f64;
        show(&format!(
            "ring: {BACKENDS} backends x {VNODES} vnodes, {KEYS} keys, {SEEDS} seeds: \
             mean moved share {mean_moved:.4} (1/11 = {:.4}, error {:+.4}, allowed {moved_allowed:.4}), \
             worst busiest/mean {worst:.3} (allowed {max_allowed:.3})",
            1.0 / 11.0,
            mean_moved - 1.0 / 11.0
        ));
        assert!(
            (mean_moved - 1.0 / 11.0).abs() < moved_allowed,
            "{mean_moved}"
        );
    }

    #[test]
    fn modulo_hashing_moves_ten_elevenths() {
        let mut moved_sum = 0.0;
        for seed in 0..SEEDS {
            let moved = (0..KEYS)
                .filter(|&k| {
                    let h = key_hash(seed, k);
                    modulo_owner(h, BACKENDS) != modulo_owner(h, BACKENDS + 1)
                })
                .count();
            moved_sum += moved as f64 / KEYS as f64;
        }
        let mean_moved = moved_sum / SEEDS as f64;
        show(&format!(
            "modulo: mean moved share {mean_moved:.4} (10/11 = {:.4})",
            10.0 / 11.0
        ));
        assert!((mean_moved - 10.0 / 11.0).abs() < 0.01, "{mean_moved}");
    }

    #[test]
    fn owner_wraps_and_walk_visits_every_point_once() {
        let ring = HashRing::new(&member_keys(3), 4, 1);
        assert_eq!(ring.points(), 12);
        assert_eq!(ring.members(), 3);
        // Past the last point the key wraps to the first.
        assert_eq!(ring.owner(u64::MAX), ring.owner(0));
        let walked: Vec<usize> = ring.walk(12345).collect();
        assert_eq!(walked.len(), 12);
        assert_eq!(Some(walked[0]), ring.owner(12345));
        for m in 0..3 {
            assert_eq!(walked.iter().filter(|&&w| w == m).count(), 4);
        }
        assert_eq!(HashRing::new(&[], 10, 0).owner(1), None);
        assert_eq!(modulo_owner(7, 0), None);
        assert_eq!(modulo_owner(7, 5), Some(2));
    }
}
