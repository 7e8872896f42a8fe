//! The data tier in the core: cache-aside reads and writes, read replicas with lag, stale reads
//! and failover, and shard routing.

use std::collections::{BTreeMap, VecDeque};

use rand_distr::{Distribution as _, Exp1};

use crate::layout::{
    KindTag, LagDist, NodeId, NodeKind, OnWrite, ReadFrom, ReplicationMode, ms_to_ns,
};

use super::ix::{CallIx, UnitIx};
use super::lb::LbSlot;
use super::queue::Ev;
use super::request::FailReason;
use super::rng::{SimRng, Stream, stream};
use super::unit::{self, Kept, Role};
use super::{CallState, Sim};

/// One replica of a replication group.
#[derive(Clone, Debug)]
pub(super) struct ReplicaLink {
    pub node: NodeId,
    pub mode: ReplicationMode,
    pub lag_ns: f64,
    pub lag: LagDist,
    /// When this replica will have applied everything written so far (applies are in order).
    pub applied_through_ns: u64,
}

/// A replication group's per-key map is first pruned at this size.
const LATEST_PRUNE_MIN: usize = 4096;

/// A write the replicas may not all have yet.
#[derive(Clone, Debug)]
struct WriteRec {
    commit_ns: u64,
    /// When each replica applies it, in `replicas` order.
    apply_ns: Vec<u64>,
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
    /// Per key: when each replica applies its latest write. Keys every replica has applied
    /// are pruned (they can no longer give a stale read) whenever the map has doubled.
    latest: BTreeMap<u32, Vec<u64>>,
    /// Size of `latest` at which it is next pruned.
    prune_at: usize,
    /// Writes not yet applied everywhere, oldest first.
    log: VecDeque<WriteRec>,
    read_next: usize,
    rng: SimRng,
}

impl ReplGroup {
    /// Keys whose latest write the group remembers.
    pub(super) fn keys_held(&self) -> usize {
        self.latest.len()
    }
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
                applied_through_ns: 0,
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
    pub(super) fn resolve_db(&mut self, node: NodeId, read: bool) -> Option<UnitIx> {
        let Some((gi, replica)) = self.repl_role(node) else {
            return self.first_unit(node);
        };
        if replica.is_some() {
            // Wired straight to a replica: it serves what it is sent.
            return self.first_unit(node);
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

    /// A database instance finished serving a call: record writes for the replicas, catch
    /// stale reads, and hold a synchronous write until its replicas have it. Returns true when
    /// the call is held (the caller must not finish it yet).
    pub(super) fn on_db_served(&mut self, call: CallIx) -> bool {
        let now = self.now_ns;
        let c = &self.calls[call];
        let (unit, req) = (c.callee, c.req);
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
                    .is_some_and(|a| a.get(ri).is_some_and(|&t| t > now))
                && counted
            {
                self.totals.stale_reads += 1;
            }
            return false;
        }
        if replica.is_some() || g.primary != node {
            return false;
        }
        // A write at the primary: each replica applies it after its lag, in order.
        let mut apply_ns = Vec::with_capacity(g.replicas.len());
        let mut sync_until = now;
        for link in &mut g.replicas {
            let lag = match link.lag {
                LagDist::Constant => link.lag_ns,
                LagDist::Exponential => {
                    let e: f64 = Exp1.sample(&mut g.rng);
                    e * link.lag_ns
                }
            };
            let at = (now + unit::ns(lag)).max(link.applied_through_ns);
            link.applied_through_ns = at;
            apply_ns.push(at);
            if link.mode == ReplicationMode::Sync {
                sync_until = sync_until.max(at);
            }
        }
        if g.replicas.is_empty() {
            return false;
        }
        g.latest.insert(key, apply_ns.clone());
        if g.latest.len() >= g.prune_at {
            g.latest.retain(|_, a| a.iter().any(|&t| t > now));
            g.prune_at = (g.latest.len() * 2).max(LATEST_PRUNE_MIN);
        }
        g.log.push_back(WriteRec {
            commit_ns: sync_until,
            apply_ns,
        });
        while g
            .log
            .front()
            .is_some_and(|w| w.apply_ns.iter().all(|&a| a <= now))
        {
            g.log.pop_front();
        }
        if sync_until > now {
            let epoch = self.calls[call].epoch;
            self.events.push(sync_until, Ev::Replicated { call, epoch });
            return true;
        }
        false
    }

    /// A synchronous write's replicas have it: the primary acknowledges.
    pub(super) fn on_replicated(&mut self, call: CallIx, epoch: u32) {
        if self.call_is(call, epoch, CallState::Service) {
            self.proceed(call);
        }
    }

    /// The instance `unit` died: if it is a group's primary, a promotion is scheduled.
    pub(super) fn on_db_killed(&mut self, unit: UnitIx) {
        let now = self.now_ns;
        let node = self.units[unit].node;
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

    /// The primary came back before its replacement was promoted: nothing changes.
    pub(super) fn on_db_revived(&mut self, unit: UnitIx) {
        let node = self.units[unit].node;
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
        let lost = g
            .log
            .iter()
            .filter(|w| w.commit_ns <= died && w.apply_ns.get(ri).is_some_and(|&a| a > died))
            .count() as u64;
        let link = g.replicas.remove(ri);
        g.primary = link.node;
        g.down_since = None;
        g.log.clear();
        g.latest.clear();
        for l in &mut g.replicas {
            l.applied_through_ns = l.applied_through_ns.max(self.now_ns);
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
        let on_write = match self.layout.node(route.to_node).map(|n| &n.kind) {
            Some(NodeKind::Cache(p)) => p.on_write,
            _ => OnWrite::Invalidate,
        };
        let m = &mut self.units[member];
        if !m.alive || m.removed {
            return;
        }
        if let Role::Server {
            kept: Kept::DataCache(cache),
            ..
        } = &mut m.role
        {
            if read {
                cache.put(u64::from(key), now);
            } else {
                match on_write {
                    OnWrite::Invalidate => {
                        cache.invalidate(u64::from(key));
                    }
                    OnWrite::Update => cache.put(u64::from(key), now),
                }
            }
            self.trace_decision(req, unit, |sim| match read {
                true => super::trace::What::CacheFill {
                    cache: member,
                    key,
                    keys_held: sim.cache_keys_held(member),
                },
                false => super::trace::What::CacheWrite {
                    cache: member,
                    key,
                    updated: on_write == OnWrite::Update,
                },
            });
        }
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
        let (lat, policy) = (route.latency_ns, route.policy);
        let Some(to) = self.resolve_db(shard_node, read) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        self.trace_decision(req, unit, |_| super::trace::What::Sharded { to, key });
        self.call_down(call, to, lat, policy, LbSlot::default());
    }

    /// A router's shards changed: install them and report how many keys moved.
    pub(super) fn set_router_shards(&mut self, unit: UnitIx, shards: Vec<NodeId>) {
        let now = self.now_ns;
        let keys = self
            .units
            .iter()
            .filter_map(|u| match &u.role {
                Role::Client(c) => Some(c.params.keys),
                _ => None,
            })
            .max()
            .unwrap_or(1);
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
        let samples = keys.min(100_000);
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
}
