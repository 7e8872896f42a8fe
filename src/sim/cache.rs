//! Cache eviction structures: LRU in O(1) (a slab-backed doubly-linked list) and LFU in
//! O(log n) (an ordered set), with an optional time-to-live per entry and hit/miss counters.
//!
//! The cache holds keys only: the simulation needs to know whether a read hits, not the value.
//!
//! Finding a key's entry: request keys are dense, `1..=keys` drawn from a Zipf law with key 1
//! the hottest, so keys below [`DENSE_KEYS`] are looked up in a `Vec` indexed by the key (one
//! array read, no hashing, 4 bytes per key up to 4 MiB), and only rarer keys above it go to a
//! `BTreeMap` (O(log n), memory proportional to what is cached). A `HashMap` would be O(1) for
//! all keys but is banned in the core (hash-order iteration, seeded hashers).

use std::collections::{BTreeMap, BTreeSet};

/// Keys below this are indexed by a `Vec`; larger keys by a `BTreeMap`.
pub const DENSE_KEYS: u64 = 1 << 20;

super::ix::index_type!(
    /// An entry's place in the slab (`Option<Slot>` is four bytes: the dense index stays
    /// small).
    Slot => Entry
);

/// Which entry to evict when the cache is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Least recently used: the entry whose last get or put is oldest.
    #[default]
    Lru,
    /// Least frequently used: the entry with the fewest gets and puts since it was inserted,
    /// the least recently used of those. No ageing: a once-hot key stays until invalidated.
    Lfu,
}

/// Running totals since the cache was made (`flush` keeps them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Gets that found a live entry.
    pub hits: u64,
    /// Gets that found none, or an expired one.
    pub misses: u64,
    /// Entries pushed out to make room.
    pub evictions: u64,
    /// Entries found expired on a get and dropped (also counted as misses).
    pub expirations: u64,
}

impl CacheCounters {
    /// Hits over gets, 0 before the first get.
    pub fn hit_ratio(&self) -> f64 {
        let gets = self.hits + self.misses;
        if gets == 0 {
            0.0
        } else {
            self.hits as f64 / gets as f64
        }
    }
}

/// One cached key in the slab.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    /// Expiry time; `u64::MAX` when there is no TTL.
    expires_ns: u64,
    /// LRU list links (slab indices), towards the most and the least recently used.
    newer: Option<Slot>,
    older: Option<Slot>,
    /// LFU: uses so far, and the sequence number of the last use (the tie-break).
    uses: u64,
    last_use: u64,
}

/// A cache of up to `capacity` keys under one eviction policy.
#[derive(Clone, Debug)]
pub struct Cache {
    policy: Policy,
    capacity: u32,
    ttl_ns: Option<u64>,
    /// The slab: entries live at fixed indices until removed; `free` lists the holes.
    entries: Vec<Entry>,
    free: Vec<Slot>,
    /// Key -> slab index: dense keys by position, the rest in a map.
    dense: Vec<Option<Slot>>,
    sparse: BTreeMap<u64, Slot>,
    /// LRU list ends (slab indices): most and least recently used.
    newest: Option<Slot>,
    oldest: Option<Slot>,
    /// LFU order: (uses, last use, slab index); the first is the victim.
    by_use: BTreeSet<(u64, u64, Slot)>,
    /// Counts uses, to order LFU ties by recency.
    clock: u64,
    len: u32,
    counters: CacheCounters,
}

impl Cache {
    /// Bytes of its slab, free list, key index and LFU order (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        use super::footprint::{btree, vec};
        vec(&self.entries, self.entries.capacity())
            + vec(&self.free, self.free.capacity())
            + vec(&self.dense, self.dense.capacity())
            + btree::<u64, Slot>(self.sparse.len())
            + btree::<(u64, u64, Slot), ()>(self.by_use.len())
    }

    /// An empty cache holding up to `capacity` keys (0 caches nothing), evicting by `policy`;
    /// with `ttl_ns`, an entry expires that long after its last put.
    pub fn new(policy: Policy, capacity: u32, ttl_ns: Option<u64>) -> Self {
        Cache {
            policy,
            capacity,
            ttl_ns,
            entries: Vec::new(),
            free: Vec::new(),
            dense: Vec::new(),
            sparse: BTreeMap::new(),
            newest: None,
            oldest: None,
            by_use: BTreeSet::new(),
            clock: 0,
            len: 0,
            counters: CacheCounters::default(),
        }
    }

    /// The eviction policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Most keys held at once.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// How long an entry lives after its put (`None`: until evicted).
    pub fn ttl_ns(&self) -> Option<u64> {
        self.ttl_ns
    }

    /// A new time to live, from `now_ns`: entries put from now on live that long, and a held
    /// entry expires by then at the latest (as if it had just been put), so a shorter TTL
    /// takes hold at once rather than when the entries held forever are evicted.
    pub fn set_ttl_ns(&mut self, ttl_ns: Option<u64>, now_ns: u64) {
        if self.ttl_ns == ttl_ns {
            return;
        }
        self.ttl_ns = ttl_ns;
        if let Some(ttl) = ttl_ns {
            let latest = now_ns.saturating_add(ttl);
            for e in &mut self.entries {
                e.expires_ns = e.expires_ns.min(latest);
            }
        }
    }

    /// Keys held now (expired ones count until a get finds them).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hits, misses, evictions and expirations so far.
    pub fn counters(&self) -> CacheCounters {
        self.counters
    }

    /// Look `key` up at `now_ns`: true on a hit (which counts as a use), false on a miss. An
    /// expired entry is dropped and is a miss.
    pub fn get(&mut self, key: u64, now_ns: u64) -> bool {
        let Some(slot) = self.slot_of(key) else {
            self.counters.misses += 1;
            return false;
        };
        if now_ns >= self.entries[slot].expires_ns {
            self.remove(slot);
            self.counters.expirations += 1;
            self.counters.misses += 1;
            return false;
        }
        self.touch(slot);
        self.counters.hits += 1;
        true
    }

    /// Store `key` at `now_ns` (after a miss, or on a write), evicting one entry if full. An
    /// existing entry is renewed: its TTL restarts and it counts as a use.
    pub fn put(&mut self, key: u64, now_ns: u64) {
        if self.capacity == 0 {
            return;
        }
        let expires_ns = self
            .ttl_ns
            .map_or(u64::MAX, |ttl| now_ns.saturating_add(ttl));
        if let Some(slot) = self.slot_of(key) {
            self.entries[slot].expires_ns = expires_ns;
            self.touch(slot);
            return;
        }
        if self.len >= self.capacity {
            self.evict();
        }
        self.clock += 1;
        let entry = Entry {
            key,
            expires_ns,
            newer: None,
            older: None,
            uses: 1,
            last_use: self.clock,
        };
        let slot = if let Some(slot) = self.free.pop() {
            self.entries[slot] = entry;
            slot
        } else {
            self.entries.push(entry);
            Slot::at(self.entries.len() - 1)
        };
        self.set_slot(key, slot);
        self.len += 1;
        match self.policy {
            Policy::Lru => self.link_newest(slot),
            Policy::Lfu => {
                self.by_use.insert((1, self.clock, slot));
            }
        }
    }

    /// Drop `key` (a write elsewhere made it stale); true if it was held.
    pub fn invalidate(&mut self, key: u64) -> bool {
        let Some(slot) = self.slot_of(key) else {
            return false;
        };
        self.remove(slot);
        true
    }

    /// Drop every key (a restart, or a deliberate flush). Counters are kept.
    pub fn flush(&mut self) {
        self.entries.clear();
        self.free.clear();
        self.dense.clear();
        self.sparse.clear();
        self.by_use.clear();
        self.newest = None;
        self.oldest = None;
        self.len = 0;
    }

    /// Record a use of a held entry.
    fn touch(&mut self, slot: Slot) {
        self.clock += 1;
        match self.policy {
            Policy::Lru => {
                self.unlink(slot);
                self.link_newest(slot);
            }
            Policy::Lfu => {
                let e = &mut self.entries[slot];
                self.by_use.remove(&(e.uses, e.last_use, slot));
                e.uses += 1;
                e.last_use = self.clock;
                self.by_use.insert((e.uses, e.last_use, slot));
            }
        }
    }

    /// Push out the policy's victim.
    fn evict(&mut self) {
        let victim = match self.policy {
            Policy::Lru => self.oldest,
            Policy::Lfu => self.by_use.first().map(|&(_, _, slot)| slot),
        };
        if let Some(victim) = victim {
            self.remove(victim);
            self.counters.evictions += 1;
        }
    }

    /// Take a held entry out of the index, the policy's order and the slab.
    fn remove(&mut self, slot: Slot) {
        let e = self.entries[slot];
        match self.policy {
            Policy::Lru => self.unlink(slot),
            Policy::Lfu => {
                self.by_use.remove(&(e.uses, e.last_use, slot));
            }
        }
        self.clear_slot(e.key);
        self.free.push(slot);
        self.len -= 1;
    }

    /// Put `slot` at the most recently used end of the LRU list.
    fn link_newest(&mut self, slot: Slot) {
        let old_newest = self.newest;
        let e = &mut self.entries[slot];
        e.newer = None;
        e.older = old_newest;
        match old_newest {
            None => self.oldest = Some(slot),
            Some(n) => self.entries[n].newer = Some(slot),
        }
        self.newest = Some(slot);
    }

    /// Take `slot` out of the LRU list, joining its neighbours.
    fn unlink(&mut self, slot: Slot) {
        let Entry { newer, older, .. } = self.entries[slot];
        match newer {
            None => self.newest = older,
            Some(n) => self.entries[n].older = older,
        }
        match older {
            None => self.oldest = newer,
            Some(o) => self.entries[o].newer = newer,
        }
    }

    /// The slab index holding `key`, if any.
    fn slot_of(&self, key: u64) -> Option<Slot> {
        if key < DENSE_KEYS {
            self.dense.get(key as usize).copied().flatten()
        } else {
            self.sparse.get(&key).copied()
        }
    }

    fn set_slot(&mut self, key: u64, slot: Slot) {
        if key < DENSE_KEYS {
            let i = key as usize;
            if i >= self.dense.len() {
                // Grows to the largest dense key seen, at most `DENSE_KEYS` entries.
                self.dense.resize(i + 1, None);
            }
            self.dense[i] = Some(slot);
        } else {
            self.sparse.insert(key, slot);
        }
    }

    fn clear_slot(&mut self, key: u64) {
        if key < DENSE_KEYS {
            if let Some(s) = self.dense.get_mut(key as usize) {
                *s = None;
            }
        } else {
            self.sparse.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt as _;
    use rand_distr::Zipf;

    use super::*;
    use crate::sim::balance::test_util::show;
    use crate::sim::rng::{Stream, stream};

    /// The keys held, least recently (LRU) or least frequently (LFU) used first.
    fn victims_in_order(c: &Cache) -> Vec<u64> {
        match c.policy {
            Policy::Lru => {
                let mut out = Vec::new();
                let mut s = c.oldest;
                while let Some(slot) = s {
                    out.push(c.entries[slot].key);
                    s = c.entries[slot].newer;
                }
                out
            }
            Policy::Lfu => c.by_use.iter().map(|&(_, _, s)| c.entries[s].key).collect(),
        }
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut c = Cache::new(Policy::Lru, 3, None);
        for k in [1, 2, 3] {
            c.put(k, 0);
        }
        assert!(c.get(1, 0));
        c.put(4, 0);
        assert_eq!(victims_in_order(&c), vec![3, 1, 4]);
        assert!(!c.get(2, 0), "2 was the least recently used");
        c.put(3, 0);
        assert_eq!(victims_in_order(&c), vec![1, 4, 3]);
        assert_eq!(c.len(), 3);
        assert_eq!(
            c.counters(),
            CacheCounters {
                hits: 1,
                misses: 1,
                evictions: 1,
                expirations: 0
            }
        );
    }

    #[test]
    fn lfu_evicts_the_least_frequently_used_then_the_oldest() {
        let mut c = Cache::new(Policy::Lfu, 3, None);
        for k in [1, 2, 3] {
            c.put(k, 0);
        }
        assert!(c.get(1, 0));
        assert!(c.get(1, 0));
        assert!(c.get(3, 0));
        // Uses: 1 -> 3, 2 -> 1, 3 -> 2.
        c.put(4, 0);
        assert!(!c.get(2, 0));
        assert_eq!(victims_in_order(&c), vec![4, 3, 1]);
        c.put(5, 0);
        assert_eq!(
            victims_in_order(&c),
            vec![5, 3, 1],
            "4 was least used, then oldest"
        );
        assert_eq!(c.counters().evictions, 2);
    }

    #[test]
    fn entries_expire_on_get_after_their_ttl() {
        for policy in [Policy::Lru, Policy::Lfu] {
            let mut c = Cache::new(policy, 10, Some(100));
            c.put(7, 1_000);
            assert!(c.get(7, 1_099));
            assert!(!c.get(7, 1_100), "expires at put + ttl");
            assert_eq!(c.len(), 0);
            c.put(7, 2_000);
            c.put(7, 2_050); // renewed
            assert!(c.get(7, 2_149));
            assert_eq!(c.counters().expirations, 1);
            assert_eq!(c.counters().misses, 1);
        }
    }

    #[test]
    fn invalidate_flush_sparse_keys_and_zero_capacity() {
        for policy in [Policy::Lru, Policy::Lfu] {
            let mut c = Cache::new(policy, 4, None);
            let big = DENSE_KEYS + 12_345;
            for k in [1, big, 3] {
                c.put(k, 0);
            }
            assert!(c.get(big, 0));
            assert!(c.invalidate(big));
            assert!(!c.invalidate(big));
            assert!(!c.get(big, 0));
            assert_eq!(victims_in_order(&c).len(), 2);
            // The freed slab slot is reused.
            c.put(big + 1, 0);
            assert_eq!(c.entries.len(), 3);
            c.flush();
            assert!(c.is_empty());
            assert!(!c.get(1, 0));
            c.put(1, 0);
            assert!(c.get(1, 0));
            let mut none = Cache::new(policy, 0, None);
            none.put(1, 0);
            assert!(!none.get(1, 0));
            assert_eq!(none.len(), 0);
        }
    }

    /// Che's approximation (Che, Tung and Wang 2002) of the LRU hit ratio under independent
    /// requests with popularities `p`: the characteristic time `T` solves
    /// `Σ (1 − e^(−p_i T)) = C`, and the hit ratio is `Σ p_i (1 − e^(−p_i T))`.
    fn che_hit_ratio(p: &[f64], capacity: f64) -> f64 {
        let filled = |t: f64| p.iter().map(|&pi| 1.0 - (-pi * t).exp()).sum::<f64>();
        let mut hi = 1.0;
        while filled(hi) < capacity {
            hi *= 2.0;
        }
        let mut lo = 0.0;
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if filled(mid) < capacity {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let t = 0.5 * (lo + hi);
        p.iter().map(|&pi| pi * (1.0 - (-pi * t).exp())).sum()
    }

    #[test]
    fn lru_hit_ratio_under_zipf_matches_che_within_two_points() {
        const KEYS: usize = 10_000;
        const WARMUP: u32 = 100_000;
        const MEASURED: u32 = 400_000;
        const SEEDS: [u64; 3] = [11, 22, 33];
        let mut worst = 0.0f64;
        let mut lines = String::new();
        for alpha in [0.8, 1.0] {
            let weights: Vec<f64> = (1..=KEYS).map(|i| (i as f64).powf(-alpha)).collect();
            let total: f64 = weights.iter().sum();
            let p: Vec<f64> = weights.iter().map(|w| w / total).collect();
            let Ok(zipf) = Zipf::new(KEYS as f64, alpha) else {
                panic!("valid Zipf parameters");
            };
            for capacity in [100u32, 1_000] {
                let predicted = che_hit_ratio(&p, f64::from(capacity));
                for seed in SEEDS {
                    let mut rng = stream(seed, 0, 0, Stream::Content);
                    let mut c = Cache::new(Policy::Lru, capacity, None);
                    let mut request = |c: &mut Cache| {
                        let key = rng.sample(zipf) as u64;
                        if !c.get(key, 0) {
                            c.put(key, 0);
                        }
                    };
                    for _ in 0..WARMUP {
                        request(&mut c);
                    }
                    let before = c.counters();
                    for _ in 0..MEASURED {
                        request(&mut c);
                    }
                    let measured = (c.counters().hits - before.hits) as f64 / f64::from(MEASURED);
                    let error_points = 100.0 * (measured - predicted);
                    worst = worst.max(error_points.abs());
                    lines.push_str(&format!(
                        "LRU Zipf alpha {alpha:.1} capacity {capacity} seed {seed}: measured \
                         {measured:.4}, Che {predicted:.4}, error {error_points:+.2} points\n"
                    ));
                    assert!(error_points.abs() < 2.0, "{measured} vs {predicted}");
                }
            }
        }
        show(&format!("{lines}LRU vs Che: worst error {worst:.2} points"));
    }
}
