//! The data tier in the core: cache-aside reads and writes, read replicas with lag, stale reads
//! and failover, and shard routing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::layout::{KindTag, LagDist, NodeId, NodeKind, ReadFrom, ReplicationMode, ms_to_ns};

use super::ix::{CallIx, UnitIx};
use super::jobs::{CacheOp, JobKind};
use super::lb::LbSlot;
use super::queue::Ev;
use super::request::FailReason;
use super::rng::{SimRng, Stream, stream};
use super::unit::{self, Role};
use super::{CallState, Sim};

/// One replica of a replication group.
#[derive(Clone, Debug)]
pub(super) struct ReplicaLink {
    pub node: NodeId,
    pub mode: ReplicationMode,
    /// How long a write takes to reach the replica (it then queues there to be applied).
    pub lag_ns: f64,
    pub lag: LagDist,
    /// Every write up to this number is applied here.
    pub applied_seq: u64,
    /// Writes applied past `applied_seq` (applies on several workers can end out of order).
    applied_ahead: BTreeSet<u64>,
    /// Writes that reached the replica and wait there to be applied (lost if it crashes).
    received: BTreeSet<u64>,
}

impl ReplicaLink {
    fn has(&self, seq: u64) -> bool {
        seq <= self.applied_seq || self.applied_ahead.contains(&seq)
    }
}

/// The log keeps at most this many writes a replica has not applied; past it, the oldest is
/// dropped, and a replica that was down for that long re-syncs from there (a snapshot).
const LOG_MAX: usize = 1 << 20;

/// A group's per-key map is first pruned at this size.
const LATEST_PRUNE_MIN: usize = 4096;

/// A write some replica has not applied yet.
#[derive(Clone, Debug)]
struct WriteRec {
    seq: u64,
    commit_ns: u64,
    /// Acknowledged to the caller (an asynchronous write at once; a synchronous one when its
    /// synchronous replicas have applied it).
    acked: bool,
    /// Synchronous replicas (by index) that have yet to apply it, and the write call the
    /// primary holds until they have.
    sync_pending: Vec<usize>,
    waiting: Option<(CallIx, u32)>,
}

/// A primary and its read replicas.
#[derive(Clone, Debug)]
pub(super) struct ReplGroup {
    /// The database the layout names as primary: callers stay wired to it, and after a
    /// promotion their calls go to the group's current primary.
    pub origin: NodeId,
    /// The database holding the primary role now (a replica after a promotion).
    pub primary: NodeId,
    pub replicas: Vec<ReplicaLink>,
    /// When the primary died, if it is down and no replica is promoted yet.
    pub down_since: Option<u64>,
    pub promote_epoch: u32,
    /// Writes committed at the primary so far: write `n` is the n-th.
    last_seq: u64,
    /// Per key: the number of its latest write. A read at a replica that has not applied it
    /// is stale. Keys every replica has applied are pruned whenever the map has doubled.
    latest: BTreeMap<u32, u64>,
    prune_at: usize,
    /// Writes not yet applied everywhere, oldest first.
    log: VecDeque<WriteRec>,
    read_next: usize,
    rng: SimRng,
}

impl ReplGroup {
    /// Bytes of its replicas, per-key latest writes and unapplied log (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        use super::footprint::{btree, deque, vec};
        vec(&self.replicas, self.replicas.capacity())
            + btree::<u32, u64>(self.latest.len())
            + deque(&self.log)
            + self
                .log
                .iter()
                .map(|w| vec(&w.sync_pending, w.sync_pending.capacity()))
                .sum::<u64>()
    }

    /// Keys whose latest write the group remembers.
    pub(super) fn keys_held(&self) -> usize {
        self.latest.len()
    }

    /// The oldest write number every replica has applied.
    fn applied_everywhere(&self) -> u64 {
        self.replicas
            .iter()
            .map(|r| r.applied_seq)
            .min()
            .unwrap_or(self.last_seq)
    }

    /// The log entry of write `seq`, if the log still holds it.
    fn rec_mut(&mut self, seq: u64) -> Option<&mut WriteRec> {
        let first = self.log.front()?.seq;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.log.get_mut(i)
    }

    /// Drop from the log the writes every replica has applied (and beyond `LOG_MAX`, the
    /// oldest: a replica that missed them re-syncs).
    fn trim(&mut self) {
        let everywhere = self.applied_everywhere();
        while self
            .log
            .front()
            .is_some_and(|w| w.seq <= everywhere && w.sync_pending.is_empty())
            || self.log.len() > LOG_MAX
        {
            self.log.pop_front();
        }
        if let Some(first) = self.log.front().map(|w| w.seq) {
            for r in &mut self.replicas {
                if r.applied_seq + 1 < first {
                    r.applied_seq = first - 1;
                    r.applied_ahead.retain(|&s| s >= first);
                }
            }
        }
    }
}

/// How far a replica is behind its primary, now.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaLag {
    pub primary: String,
    pub replica: String,
    pub alive: bool,
    /// Writes committed at the primary that the replica has not applied.
    pub writes_behind: u64,
    /// Age of the oldest write it has not applied, ms (0 when it has them all).
    pub lag_ms: f64,
}

/// A change of shard count and how many keys it moved.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardMove {
    pub router: String,
    pub at_s: f64,
    pub shards_before: usize,
    pub shards_after: usize,
    /// Share of keys now owned by another shard, over the client's key space.
    pub moved_share: f64,
}

/// What one shard's death makes unavailable: the share of the client's key space a shard
/// owns now. While it is down (and until a replica is promoted, if it has one), every request
/// for those keys fails.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardShare {
    pub router: NodeId,
    pub shard: NodeId,
    /// Share of the keys the router places on this shard, 0 to 1.
    pub keys_share: f64,
}

/// Keys sampled to measure shares of the key space: every key up to this many, evenly spread
/// beyond.
const KEY_SAMPLES_MAX: u32 = 100_000;

impl Sim {
    // ----- Replication -----

    /// Build the replication groups from the layout's links.
    pub(super) fn build_replication(&mut self) {
        let mut groups: Vec<ReplGroup> = Vec::new();
        for r in &self.layout.replication {
            let gi = match groups.iter().position(|g| g.primary == r.primary) {
                Some(i) => i,
                None => {
                    groups.push(ReplGroup {
                        origin: r.primary,
                        primary: r.primary,
                        replicas: Vec::new(),
                        down_since: None,
                        promote_epoch: 0,
                        last_seq: 0,
                        latest: BTreeMap::new(),
                        prune_at: LATEST_PRUNE_MIN,
                        log: VecDeque::new(),
                        read_next: 0,
                        rng: stream(self.seed, r.primary.0, 0xffff, Stream::Service),
                    });
                    groups.len() - 1
                }
            };
            groups[gi].replicas.push(ReplicaLink {
                node: r.replica,
                mode: r.mode,
                lag_ns: r.lag_ms * 1e6,
                lag: r.lag,
                applied_seq: 0,
                applied_ahead: BTreeSet::new(),
                received: BTreeSet::new(),
            });
        }
        self.repl = groups;
    }

    /// The replication group `node` belongs to, and its replica index (`None`: the primary,
    /// or the original primary that callers are wired to).
    fn repl_role(&self, node: NodeId) -> Option<(usize, Option<usize>)> {
        for (gi, g) in self.repl.iter().enumerate() {
            if g.primary == node || g.origin == node {
                return Some((gi, None));
            }
            if let Some(ri) = g.replicas.iter().position(|r| r.node == node) {
                return Some((gi, Some(ri)));
            }
        }
        None
    }

    fn first_unit(&self, node: NodeId) -> Option<UnitIx> {
        self.unit_index.get(&(node, 0)).copied()
    }

    fn is_up(&self, unit: UnitIx) -> bool {
        let u = &self.units[unit];
        u.alive && !u.removed
    }

    /// The database instance a call for `node` goes to: writes to the group's primary (even a
    /// dead one: writes fail until a replica is promoted), reads as the primary's `reads`
    /// setting says, skipping replicas that are down.
    pub(super) fn resolve_db(
        &mut self,
        node: NodeId,
        first: Option<UnitIx>,
        read: bool,
    ) -> Option<UnitIx> {
        if self.repl.is_empty() {
            return first;
        }
        let Some((gi, replica)) = self.repl_role(node) else {
            return first;
        };
        if replica.is_some() {
            // Wired straight to a replica: it serves what it is sent.
            return first;
        }
        let (primary, origin) = (self.repl[gi].primary, self.repl[gi].origin);
        if !read {
            return self.first_unit(primary);
        }
        // The read setting of the primary the layout wires to, before and after a promotion.
        let reads = match self.layout.node(origin).map(|n| &n.kind) {
            Some(NodeKind::Database(p)) => p.reads,
            _ => ReadFrom::Primary,
        };
        let mut candidates: Vec<UnitIx> = Vec::new();
        if reads != ReadFrom::Replicas {
            candidates.extend(self.first_unit(primary));
        }
        if reads != ReadFrom::Primary {
            for r in &self.repl[gi].replicas {
                if let Some(u) = self.first_unit(r.node)
                    && self.is_up(u)
                {
                    candidates.push(u);
                }
            }
        }
        if candidates.is_empty() {
            return self.first_unit(primary);
        }
        let g = &mut self.repl[gi];
        let i = g.read_next % candidates.len();
        g.read_next = g.read_next.wrapping_add(1);
        Some(candidates[i])
    }

    /// A database instance finished serving a call: send writes to the replicas, catch stale
    /// reads, and hold a synchronous write until its replicas have applied it. Returns true
    /// when the call is held (the caller must not finish it yet).
    pub(super) fn on_db_served(&mut self, call: CallIx) -> bool {
        let now = self.now_ns;
        let c = &self.calls[call];
        let (unit, req, epoch) = (c.callee, c.req, c.epoch);
        let r = &self.reqs[req];
        let (read, key, counted) = (r.read, r.key, r.counted);
        let node = self.units[unit].node;
        let Some((gi, replica)) = self.repl_role(node) else {
            return false;
        };
        let g = &mut self.repl[gi];
        if read {
            if let Some(ri) = replica
                && g.latest
                    .get(&key)
                    .is_some_and(|&seq| g.replicas.get(ri).is_some_and(|r| !r.has(seq)))
                && counted
            {
                self.totals.stale_reads += 1;
            }
            return false;
        }
        if replica.is_some() || g.primary != node || g.replicas.is_empty() {
            return false;
        }
        // A write at the primary: it travels to each live replica (its lag), which applies it
        // as a job of its own (a worker, a core, its write service time).
        g.last_seq += 1;
        let seq = g.last_seq;
        let mut sends: Vec<(UnitIx, u64)> = Vec::with_capacity(g.replicas.len());
        let mut sync_pending = Vec::new();
        for (ri, link) in g.replicas.iter().enumerate() {
            let lag = match link.lag {
                LagDist::Constant => link.lag_ns,
                LagDist::Exponential => {
                    let e = super::dist::exp1(&mut g.rng);
                    e * link.lag_ns
                }
            };
            let Some(u) = self.unit_index.get(&(link.node, 0)).copied() else {
                continue;
            };
            let up = self.units[u].alive && !self.units[u].removed;
            if up {
                sends.push((u, unit::ns(lag)));
                if link.mode == ReplicationMode::Sync {
                    sync_pending.push(ri);
                }
            }
        }
        let held = !sync_pending.is_empty();
        g.latest.insert(key, seq);
        if g.latest.len() >= g.prune_at {
            let everywhere = g.applied_everywhere();
            g.latest.retain(|_, &mut s| s > everywhere);
            g.prune_at = (g.latest.len() * 2).max(LATEST_PRUNE_MIN);
        }
        g.log.push_back(WriteRec {
            seq,
            commit_ns: now,
            acked: !held,
            sync_pending,
            waiting: held.then_some((call, epoch)),
        });
        g.trim();
        let replica_nodes: Vec<NodeId> = g.replicas.iter().map(|r| r.node).collect();
        for (u, delay) in sends {
            let replica = self.units[u].node;
            debug_assert!(replica_nodes.contains(&replica));
            self.send_job(
                u,
                JobKind::Apply {
                    group: gi as u32,
                    replica,
                    seq,
                },
                delay,
            );
        }
        held
    }

    /// Replica `replica` of group `group` has applied write `seq`: it may release a
    /// synchronous write the primary holds.
    pub(super) fn on_replica_applied(&mut self, group: u32, replica: NodeId, seq: u64) {
        let now = self.now_ns;
        let Some(g) = self.repl.get_mut(group as usize) else {
            return;
        };
        let Some(ri) = g.replicas.iter().position(|r| r.node == replica) else {
            return;
        };
        let link = &mut g.replicas[ri];
        link.received.remove(&seq);
        if link.has(seq) {
            return;
        }
        link.applied_ahead.insert(seq);
        while link.applied_ahead.remove(&(link.applied_seq + 1)) {
            link.applied_seq += 1;
        }
        let mut release = None;
        if let Some(rec) = g.rec_mut(seq) {
            rec.sync_pending.retain(|&i| i != ri);
            if rec.sync_pending.is_empty() && !rec.acked {
                rec.acked = true;
                release = rec.waiting.take();
            }
        }
        g.trim();
        if let Some((call, epoch)) = release {
            self.events.push(now, Ev::Replicated { call, epoch });
        }
    }

    /// A replicated write reaches replica `replica`: false when it never left the primary
    /// (the primary died while it was on its way: an asynchronous write is lost) or is
    /// already applied there.
    pub(super) fn apply_received(&mut self, group: u32, replica: NodeId, seq: u64) -> bool {
        let Some(g) = self.repl.get_mut(group as usize) else {
            return false;
        };
        if g.down_since.is_some() {
            return false;
        }
        let Some(link) = g.replicas.iter_mut().find(|r| r.node == replica) else {
            return false;
        };
        if link.has(seq) {
            return false;
        }
        link.received.insert(seq);
        true
    }

    /// How far each replica is behind its primary, in group and link order.
    pub fn replica_lags(&self) -> Vec<ReplicaLag> {
        let now = self.now_ns;
        let mut out = Vec::new();
        for g in &self.repl {
            for r in &g.replicas {
                let behind = g.last_seq.saturating_sub(r.applied_seq)
                    - r.applied_ahead
                        .iter()
                        .filter(|&&s| s > r.applied_seq)
                        .count() as u64;
                let oldest = g
                    .log
                    .iter()
                    .find(|w| !r.has(w.seq))
                    .map_or(now, |w| w.commit_ns);
                let alive = self
                    .unit_index
                    .get(&(r.node, 0))
                    .is_some_and(|&u| self.units[u].alive);
                out.push(ReplicaLag {
                    primary: self.layout.name_of(g.primary),
                    replica: self.layout.name_of(r.node),
                    alive,
                    writes_behind: behind,
                    lag_ms: if behind > 0 {
                        now.saturating_sub(oldest) as f64 / 1e6
                    } else {
                        0.0
                    },
                });
            }
        }
        out
    }

    /// A synchronous write's replicas have it: the primary acknowledges.
    pub(super) fn on_replicated(&mut self, call: CallIx, epoch: u32) {
        if self.call_is(call, epoch, CallState::Service) {
            self.proceed(call);
        }
    }

    /// The instance `unit` died: if it is a group's primary, a promotion is scheduled; if it
    /// is a replica, the primary stops waiting for it (its applies stop until it is back).
    pub(super) fn on_db_killed(&mut self, unit: UnitIx) {
        let now = self.now_ns;
        let node = self.units[unit].node;
        if let Some((gi, Some(ri))) = self.repl_role(node) {
            // What it had received but not applied is lost with it (sent again on revival).
            self.repl[gi].replicas[ri].received.clear();
            let mut release = Vec::new();
            for rec in &mut self.repl[gi].log {
                let before = rec.sync_pending.len();
                rec.sync_pending.retain(|&i| i != ri);
                if before > 0 && rec.sync_pending.is_empty() && !rec.acked {
                    rec.acked = true;
                    release.extend(rec.waiting.take());
                }
            }
            for (call, epoch) in release {
                self.events.push(now, Ev::Replicated { call, epoch });
            }
            return;
        }
        let Some((gi, None)) = self.repl_role(node) else {
            return;
        };
        // A deposed primary dying again changes nothing: only the current primary's death
        // calls for a promotion.
        if self.repl[gi].primary != node {
            return;
        }
        let delay = match self.layout.node(node).map(|n| &n.kind) {
            Some(NodeKind::Database(p)) => ms_to_ns(p.promotion_delay_ms),
            _ => 0,
        };
        let g = &mut self.repl[gi];
        g.down_since = Some(now);
        g.promote_epoch = g.promote_epoch.wrapping_add(1);
        let epoch = g.promote_epoch;
        self.events.push(
            now + delay,
            Ev::Promote {
                group: gi as u32,
                epoch,
            },
        );
    }

    /// The primary came back before its replacement was promoted: nothing changes. A replica
    /// came back: the primary sends it every write it has not applied, and it catches up.
    pub(super) fn on_db_revived(&mut self, unit: UnitIx) {
        let node = self.units[unit].node;
        if let Some((gi, Some(ri))) = self.repl_role(node) {
            let g = &mut self.repl[gi];
            let link = &g.replicas[ri];
            let missing: Vec<u64> = g
                .log
                .iter()
                .map(|w| w.seq)
                .filter(|&s| !link.has(s))
                .collect();
            let mut sends = Vec::with_capacity(missing.len());
            for seq in missing {
                let lag = match link.lag {
                    LagDist::Constant => link.lag_ns,
                    LagDist::Exponential => {
                        let e = super::dist::exp1(&mut g.rng);
                        e * link.lag_ns
                    }
                };
                sends.push((seq, unit::ns(lag)));
            }
            for (seq, delay) in sends {
                self.send_job(
                    unit,
                    JobKind::Apply {
                        group: gi as u32,
                        replica: node,
                        seq,
                    },
                    delay,
                );
            }
            return;
        }
        if let Some((gi, None)) = self.repl_role(node)
            && self.repl[gi].primary == node
        {
            let g = &mut self.repl[gi];
            g.down_since = None;
            g.promote_epoch = g.promote_epoch.wrapping_add(1);
        }
    }

    /// Promote the first live replica of a group whose primary is still down. With
    /// asynchronous replication, the acknowledged writes it never received are lost.
    pub(super) fn on_promote(&mut self, group: u32, epoch: u32) {
        let gi = group as usize;
        let Some(g) = self.repl.get(gi) else {
            return;
        };
        if g.promote_epoch != epoch {
            return;
        }
        let Some(died) = g.down_since else {
            return;
        };
        let pick = g.replicas.iter().position(|r| {
            self.first_unit(r.node).is_some_and(|u| {
                let u = &self.units[u];
                u.alive && !u.removed
            })
        });
        let Some(ri) = pick else {
            return;
        };
        let counted = self.now_ns >= self.warmup_ns;
        let g = &mut self.repl[gi];
        // Acknowledged writes that never reached the promoted replica are lost (what it had
        // received, it applies before it takes writes).
        let link = &g.replicas[ri];
        let lost = g
            .log
            .iter()
            .filter(|w| {
                w.commit_ns <= died
                    && w.acked
                    && !link.has(w.seq)
                    && !link.received.contains(&w.seq)
            })
            .count() as u64;
        let link = g.replicas.remove(ri);
        g.primary = link.node;
        g.down_since = None;
        g.log.clear();
        g.latest.clear();
        // The others re-sync from the new primary: they have everything it has.
        let last = g.last_seq;
        for l in &mut g.replicas {
            l.applied_seq = last;
            l.applied_ahead.clear();
            l.received.clear();
        }
        if counted {
            self.totals.writes_lost += lost;
        }
        self.totals.promotions += 1;
        self.record_node_event(super::events::EventKind::Promotion, link.node, None);
        self.notes.push(format!(
            "{:.3} s: {} promoted to primary; {lost} acknowledged writes lost",
            self.now_ns as f64 / 1e9,
            self.layout.name_of(link.node)
        ));
    }

    // ----- Cache-aside -----

    /// After the database answered an app server: fill the cache on a read miss; invalidate or
    /// update it on a write.
    pub(super) fn touch_cache_after_db(&mut self, app_call: CallIx) {
        let now = self.now_ns;
        let c = &self.calls[app_call];
        let (unit, req) = (c.callee, c.req);
        let r = &self.reqs[req];
        let (read, key) = (r.read, r.key);
        // The app server's own cache: fill it on a read, drop its copy on a write (other
        // servers' copies go stale until they are evicted: the cost of local caches).
        if let Some(local) = &mut self.units[unit].local_cache {
            if read {
                local.put(u64::from(key), now);
            } else {
                local.invalidate(u64::from(key));
            }
        }
        let Some(route) = self.units[unit]
            .routes
            .iter()
            .find(|r| r.to_kind == KindTag::Cache)
        else {
            return;
        };
        let Some(placement) = &route.placement else {
            return;
        };
        let Some(i) = placement.member(key, route.units.len()) else {
            return;
        };
        let member = route.units[i];
        let latency_ns = route.latency_ns;
        // The fill or invalidation is a call to the cache that takes its lookup time and a
        // worker there; the app server sends it and answers without waiting for it. A read
        // fills; a write updates or drops the key as the cache's node says.
        let op = if read || route.cache_updates {
            CacheOp::Put
        } else {
            CacheOp::Invalidate
        };
        self.send_job(member, JobKind::Cache { key, op }, latency_ns);
        self.trace_decision(req, unit, |sim| match read {
            true => super::trace::What::CacheFill {
                cache: member,
                key,
                keys_held: sim.cache_keys_after_fill(member),
            },
            false => super::trace::What::CacheWrite {
                cache: member,
                key,
                updated: matches!(op, CacheOp::Put),
            },
        });
    }

    // ----- Shards -----

    /// A shard router sends the call to the shard owning its key.
    pub(super) fn router_forward(&mut self, call: CallIx) {
        let Some((unit, req)) = self.forwarding(call) else {
            return;
        };
        let r = &self.reqs[req];
        let (key, read, client) = (r.key, r.read, r.client);
        let keys = match &self.units[client].role {
            Role::Client(c) => c.params.keys,
            _ => 1,
        };
        let Role::Router(router) = &self.units[unit].role else {
            return;
        };
        let Some(shard) = router.shard_of(key, keys) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let shard_node = router.shards[shard];
        let Some(route) = self.units[unit]
            .routes
            .iter()
            .find(|r| r.to_node == shard_node)
        else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let (lat, policy, first) = (route.latency_ns, route.policy, route.first);
        let Some(to) = self.resolve_db(shard_node, first, read) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        self.trace_decision(req, unit, |_| super::trace::What::Sharded { to, key });
        self.call_down(call, to, lat, policy, LbSlot::default());
    }

    /// The largest key space of the clients (the keys a router places).
    fn client_keys(&self) -> u32 {
        self.units
            .iter()
            .filter_map(|u| match &u.role {
                Role::Client(c) => Some(c.params.keys),
                _ => None,
            })
            .max()
            .unwrap_or(1)
    }

    /// A router's shards changed: install them and report how many keys moved.
    pub(super) fn set_router_shards(&mut self, unit: UnitIx, shards: Vec<NodeId>) {
        let now = self.now_ns;
        let keys = self.client_keys();
        let name = self.units[unit].name.clone();
        let Role::Router(router) = &mut self.units[unit].role else {
            return;
        };
        if router.shards == shards {
            return;
        }
        let before = (**router).clone();
        **router = unit::RouterState::new(&before.params, shards);
        if before.shards.is_empty() {
            return;
        }
        // Sample the key space (every key up to 100,000; evenly spread beyond).
        let samples = keys.min(KEY_SAMPLES_MAX);
        let step = (keys / samples).max(1);
        let mut moved = 0u64;
        for i in 0..samples {
            let key = 1 + i * step;
            let a = before.shard_of(key, keys).map(|s| before.shards[s]);
            let b = router.shard_of(key, keys).map(|s| router.shards[s]);
            if a != b {
                moved += 1;
            }
        }
        self.shard_moves.push(ShardMove {
            router: name,
            at_s: now as f64 / 1e9,
            shards_before: before.shards.len(),
            shards_after: router.shards.len(),
            moved_share: moved as f64 / f64::from(samples),
        });
    }

    /// Changes of shard count so far and the keys they moved.
    pub fn shard_moves(&self) -> &[ShardMove] {
        &self.shard_moves
    }

    /// For every shard router and each of its shards now, the share of the key space the
    /// shard owns: what the shard's death makes unavailable. Routers in layout order, shards
    /// in the router's order.
    pub fn shard_shares(&self) -> Vec<ShardShare> {
        let keys = self.client_keys();
        let samples = keys.min(KEY_SAMPLES_MAX);
        let step = (keys / samples).max(1);
        let mut out = Vec::new();
        for u in &self.units {
            let Role::Router(router) = &u.role else {
                continue;
            };
            if u.member != 0 || router.shards.is_empty() {
                continue;
            }
            let mut owned = vec![0u64; router.shards.len()];
            for i in 0..samples {
                if let Some(s) = router.shard_of(1 + i * step, keys) {
                    owned[s] += 1;
                }
            }
            for (s, n) in router.shards.iter().zip(owned) {
                out.push(ShardShare {
                    router: u.node,
                    shard: *s,
                    keys_share: n as f64 / f64::from(samples),
                });
            }
        }
        out
    }
}
