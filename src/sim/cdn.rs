//! A CDN edge cache: the node between clients and the entry tier (an entry, a balancer or an
//! app server: the origin). A call reaches the edge, which takes its `latency_ms` to look at
//! it; a cacheable read whose key the edge holds is answered there (an edge hit) and never
//! reaches the origin; a cacheable read it does not hold (a miss) is passed to the origin and
//! the origin's answer fills the edge on its way back; writes and uncacheable reads are passed
//! on untouched (forwarded). The edge spreads what it passes on over its wires' instances in
//! turn, as a client does.
//!
//! Which reads are cacheable is the client's `cacheable_share`, drawn per request when the
//! request is made (`traffic.rs`), so a layout without it draws nothing more. Writes do not
//! invalidate the edge: a CDN serves what it holds until its TTL runs out.

use super::Sim;
use super::cache::{Cache, Policy};
use super::ix::{CallIx, UnitIx};
use super::lb::LbSlot;
use super::request::FailReason;
use super::trace::What;
use super::unit::{self, ClientState, Role};
use crate::layout::{CdnParams, Eviction, NodeId, ms_to_ns, s_to_ns};
use rand::RngExt as _;

/// What one edge counted, for requests counted after the warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CdnCounts {
    /// Cacheable reads answered at the edge.
    pub hits: u64,
    /// Cacheable reads the edge did not hold: passed to the origin, then filled.
    pub misses: u64,
    /// Writes and uncacheable reads passed to the origin untouched.
    pub forwarded: u64,
    /// Of the forwarded, the reads (the rest are writes).
    pub forwarded_reads: u64,
}

/// An edge's settings, its cache of objects (keys), its cursor over the origin's instances
/// and its counters.
#[derive(Clone, Debug)]
pub struct CdnState {
    pub params: CdnParams,
    pub latency_ns: u64,
    pub cache: Cache,
    /// Round-robin cursor over the instances behind the edge's wires.
    next: usize,
    pub counts: CdnCounts,
}

impl CdnState {
    /// A cold edge with these settings.
    pub fn new(p: &CdnParams) -> Self {
        CdnState {
            params: p.clone(),
            latency_ns: ms_to_ns(p.latency_ms),
            cache: edge_cache(p),
            next: 0,
            counts: CdnCounts::default(),
        }
    }

    /// Take changed settings: a new capacity, eviction or TTL starts the edge cold (the
    /// objects it held were filled under the old ones); a new latency keeps what it holds.
    pub fn set_params(&mut self, p: &CdnParams) {
        let same = p.capacity == self.params.capacity
            && p.eviction == self.params.eviction
            && p.ttl_s == self.params.ttl_s;
        if !same {
            self.cache = edge_cache(p);
        }
        self.latency_ns = ms_to_ns(p.latency_ms);
        self.params = p.clone();
    }

    /// Bytes of its cache (`footprint.rs`).
    pub fn heap_bytes(&self) -> u64 {
        std::mem::size_of::<CdnState>() as u64 + self.cache.heap_bytes()
    }
}

fn ttl_of(p: &CdnParams) -> Option<u64> {
    let ttl = s_to_ns(p.ttl_s);
    (ttl > 0).then_some(ttl)
}

fn edge_cache(p: &CdnParams) -> Cache {
    let policy = match p.eviction {
        Eviction::Lru => Policy::Lru,
        Eviction::Lfu => Policy::Lfu,
    };
    Cache::new(policy, p.capacity, ttl_of(p))
}

/// One edge's figures, read by `Sim::cdn_metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct CdnMetrics {
    pub node: NodeId,
    pub name: String,
    pub counts: CdnCounts,
    /// Hits over cacheable reads (hits and misses), 0 before the first.
    pub hit_ratio: f64,
    /// Calls the edge sent to the origin (misses and forwarded), per measured second.
    pub origin_rps: f64,
    /// Requests that reached the edge, per measured second.
    pub edge_rps: f64,
    /// Objects held now, and evicted since the edge started.
    pub objects: u32,
    pub evictions: u64,
}

impl CdnMetrics {
    /// Calls the edge sent to the origin.
    pub fn origin_calls(&self) -> u64 {
        self.counts.misses + self.counts.forwarded
    }
}

/// Whether a new request is a read a CDN edge may cache: drawn from the client's content
/// stream only when it sends cacheable reads at all, so a client without them draws exactly
/// what it drew before CDNs existed.
pub(super) fn draw_cacheable(c: &mut ClientState, read: bool) -> bool {
    let share = c.params.cacheable_share;
    if !read || share <= 0.0 {
        return false;
    }
    c.content_rng.random::<f64>() < share
}

impl Sim {
    /// The edge has looked at the call (its latency is over): answer a cacheable read it
    /// holds, or pass the call to the origin.
    pub(super) fn cdn_forward(&mut self, call: CallIx) {
        let now = self.now_ns;
        let c = &self.calls[call];
        let (unit, req) = (c.callee, c.req);
        let r = &self.reqs[req];
        let (key, read, cacheable, counted) = (r.key, r.read, r.cacheable, r.counted);
        let Role::Cdn(edge) = &mut self.units[unit].role else {
            return;
        };
        if read && cacheable {
            let hit = edge.cache.get(u64::from(key), now);
            let k = &mut edge.counts;
            if counted {
                if hit {
                    k.hits += 1;
                } else {
                    k.misses += 1;
                }
            }
            let objects = edge.cache.len();
            if hit {
                self.trace_decision(req, unit, |_| What::EdgeHit { key, objects });
                return self.finish(call, None);
            }
            self.trace_decision(req, unit, |_| What::EdgeMiss { key, objects });
        } else {
            if counted {
                edge.counts.forwarded += 1;
                edge.counts.forwarded_reads += u64::from(read);
            }
            self.trace_decision(req, unit, |_| What::EdgeForwarded { read });
        }
        self.cdn_to_origin(call);
    }

    /// Pass the call on to the next of the origin's instances (a first attempt or a retry).
    pub(super) fn cdn_to_origin(&mut self, call: CallIx) {
        let Some((unit, _)) = self.forwarding(call) else {
            return;
        };
        let u = &mut self.units[unit];
        let Role::Cdn(edge) = &mut u.role else {
            return;
        };
        let n = unit::target_count(&u.routes);
        if n == 0 {
            return self.finish(call, Some(FailReason::NoBackend));
        }
        let i = edge.next % n;
        edge.next = (i + 1) % n;
        let Some((to, lat, policy)) = unit::nth_target(&u.routes, i) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        self.call_down(call, to, lat, policy, LbSlot::default());
    }

    /// The origin answered the edge's call `parent` (at edge `unit`): a cacheable read fills
    /// the edge with its key.
    pub(super) fn cdn_filled(&mut self, parent: CallIx, unit: UnitIx) {
        let now = self.now_ns;
        let r = &self.reqs[self.calls[parent].req];
        if !(r.read && r.cacheable) {
            return;
        }
        let key = r.key;
        if let Role::Cdn(edge) = &mut self.units[unit].role {
            edge.cache.put(u64::from(key), now);
        }
    }

    /// Every edge's figures, by instance order (empty without a CDN).
    pub fn cdn_metrics(&self) -> Vec<CdnMetrics> {
        let measured_s = self.metrics_measured_s();
        let per_s = |n: u64| {
            if measured_s > 0.0 {
                n as f64 / measured_s
            } else {
                0.0
            }
        };
        self.units
            .iter()
            .filter(|u| !u.removed)
            .filter_map(|u| match &u.role {
                Role::Cdn(edge) => Some((u, edge)),
                _ => None,
            })
            .map(|(u, edge)| {
                let k = edge.counts;
                let lookups = k.hits + k.misses;
                CdnMetrics {
                    node: u.node,
                    name: u.name.clone(),
                    counts: k,
                    hit_ratio: if lookups > 0 {
                        k.hits as f64 / lookups as f64
                    } else {
                        0.0
                    },
                    origin_rps: per_s(k.misses + k.forwarded),
                    edge_rps: per_s(k.hits + k.misses + k.forwarded),
                    objects: edge.cache.len(),
                    evictions: edge.cache.counters().evictions,
                }
            })
            .collect()
    }

    /// Simulated seconds since the warm-up ended (what the report's rates are over).
    fn metrics_measured_s(&self) -> f64 {
        let now = self.now_ns;
        let since = if self.warmup_done {
            self.warmup_ns.min(now)
        } else {
            now
        };
        now.saturating_sub(since) as f64 / 1e9
    }
}
