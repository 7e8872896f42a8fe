//! The simulation core: a deterministic discrete-event engine advanced in ticks.
//!
//! `Sim::new(&layout, config)` builds one instance ("unit") per client, balancer, database and
//! pool member; `tick()` runs every event inside the next tick at its exact nanosecond, so the
//! results do not depend on the tick length; `apply(command)` changes the running system at a
//! tick boundary, a scheduled or scripted command at its exact time inside its tick, and each
//! is recorded in the log; `metrics()`, `series()` and `traces()` read
//! what happened. The core does no I/O, reads no clock and iterates no hash map: the same layout,
//! seed and command log give bit-identical results, one tick at a time or a thousand at once.
//!
//! Requests travel as calls. A wire from A to B means A calls B and waits for the reply: a call
//! crosses the wire (its latency), waits in B's queue for a worker, waits for a core while
//! holding it, is served (its service time), then B makes its own downstream calls in wire order
//! while holding the worker, and finally the reply crosses the wire back. A failure travels back the same way and fails every caller above.

// The public modules are what the window, the report, the command line and the tests read:
// limits, measurements, series, traces, the named hashes and the USL sizing formula. The rest
// is the engine's inside, private to the crate.
mod autoscale;
mod balance;
mod cache;
mod calls;
mod cdn;
mod command;
mod data;
mod dist;
mod entry;
pub mod events;
mod footprint;
mod forward;
pub mod hash;
mod health;
mod hist;
mod ix;
mod jobs;
mod lb;
mod limiter;
pub use limiter::LimiterLive;
pub mod limits;
pub mod metrics;
mod mq;
mod queue;
mod relay;
mod request;
mod retry;
mod ring;
mod rng;
pub mod series;
mod serve;
pub mod sizing;
pub mod slowest;
pub mod trace;
mod traffic;
mod unit;
pub mod window;

use std::collections::BTreeMap;

use crate::layout::{self, Command, KindTag, Layout, NodeId, NodeKind, Problem};

pub use autoscale::AutoscaleReport;
pub use balance::{Stickiness, Why, explain};
pub use cdn::{CdnCounts, CdnMetrics};
pub use command::{CommandSource, LoggedCommand};
pub use data::{ReplicaLag, ShardMove, ShardShare};
pub use ix::UnitIx;
use ix::{CallIx, PolicyIx, ReqIx};
pub use limits::{Halt, HaltCause, Limits, Work};
pub use metrics::{LatencyMs, LimiterMetrics, Metrics, NodeMetrics, RequestCounts, UnitId};
pub use mq::{QueueCounts, QueueMetrics, QueueState};
pub use request::{FailReason, Outcome};
pub use series::Series;
pub use slowest::{SlowRequest, Slowest};
pub use trace::{Decision, Trace, TraceConfig, Traces, What};

use queue::{Ev, EventQueue};
use series::SAMPLE_NS;
use unit::{Role, Unit};

/// Most retry tokens a wire's budget saves up: a burst of this many retries is allowed at the
/// start of an outage, then retries are held to the budget's share of calls.
const RETRY_TOKENS_MAX: f64 = 10.0;

/// A wire's timeout and retry settings, and its retry budget's tokens.
#[derive(Clone, Debug, Default)]
struct WirePolicy {
    timeout_ns: u64,
    retries: u32,
    backoff_ns: u64,
    budget: f64,
    tokens: f64,
}

/// How to run a layout (what the command line and the window choose, not the file).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimConfig {
    /// Overrides the layout's seed.
    pub seed: Option<u64>,
    /// Requests arriving before this many simulated seconds are not counted, and per-node
    /// statistics restart then.
    pub warmup_s: f64,
    pub trace: TraceConfig,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Free,
    /// Crossing the wire to the callee.
    Transit,
    /// In the callee's queue.
    Queued,
    /// Being served (or, at a balancer, paying its latency).
    Service,
    /// Waiting on a downstream call.
    Waiting,
    /// The reply is crossing the wire back.
    Replying,
    /// Crossing the wire to a balancer and then paying its latency there, as one event
    /// (`relay.rs`).
    Relay,
}

/// One call of one request, from a caller instance to a callee instance.
///
/// One cache line each (64 bytes, aligned to 64): in an overloaded layout a call waits in a
/// long queue and its record has left the processor's caches by the time it is started or
/// answered, so each visit costs a memory load; unaligned, a record straddles two lines and
/// costs two.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Call {
    epoch: u32,
    state: CallState,
    req: ReqIx,
    /// The call this one was made for; `None` for a request's first call, from its client.
    parent: Option<CallIx>,
    parent_epoch: u32,
    /// Nobody waits for this call any more (it timed out, or its wire was removed): its reply
    /// is dropped.
    orphaned: bool,
    caller: UnitIx,
    callee: UnitIx,
    latency_ns: u64,
    /// The wire's timeout and retry policy.
    policy: PolicyIx,
    /// Next downstream route of an app server.
    stage: u16,
    /// Attempts of the current downstream call that have failed and been retried.
    attempt: u8,
    /// Made only because of a retry: it is one, or a call made on behalf of one (a resent
    /// request's calls further down).
    resent: bool,
    /// Where a balancer placed this call (to release its in-flight count).
    lb: lb::LbSlot,
    /// The balancer that placed this call counts it in flight at its backend until it is
    /// released (once: `release_lb`).
    lb_counted: bool,
    /// A cache lookup found the key.
    hit: bool,
    /// An app server had a cache hit: it skips the database.
    skip_db: bool,
    /// A balancer's deep health probe, not a request: it waits for a worker, does no work and
    /// calls nothing, and its answer (or timeout) is a health verdict.
    probe: bool,
    fail: Option<FailReason>,
    /// When it joined its callee's queue for a worker (its wait is counted when it starts);
    /// for a `Relay` call, when it reaches its balancer.
    queued_ns: u64,
}

// A field that pushes a record past one line doubles its size: make that a decision.
const _: () = assert!(std::mem::size_of::<Call>() == 64 && std::mem::size_of::<Req>() == 64);

impl Call {
    /// The call waiting for this one's answer: none for a request's first call (its client
    /// waits) or for an orphan (nobody waits).
    fn caller_call(&self) -> Option<CallIx> {
        if self.orphaned { None } else { self.parent }
    }

    /// A request's first call, which its client still waits for.
    fn client_waits(&self) -> bool {
        self.parent.is_none() && !self.orphaned && !self.probe
    }
}

/// One client request (a slot reused once no call refers to it). One cache line each, as
/// [`Call`].
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Req {
    id: u64,
    client: UnitIx,
    user: u32,
    /// The user's identity across the run (client node and user): session cookie and address.
    user_key: u64,
    key: u32,
    /// Index into the client's paths, if it has any.
    path: Option<u16>,
    read: bool,
    born_ns: u64,
    counted: bool,
    /// False once the client has its answer.
    live: bool,
    /// The client's wait plus every call still referring to this slot.
    refs: u32,
    /// Its trace's slot, while it is traced and the trace is open.
    trace: Option<u32>,
    /// Client-level attempts that failed and were retried.
    attempt: u8,
    /// Calls this request has caused so far (bounded by `Limits::calls_per_request`).
    calls: u32,
    /// Sent on purpose (`send_request`): its user's closed loop does not go on from it.
    asked: bool,
    /// A read a CDN edge may cache (the client's `cacheable_share`).
    cacheable: bool,
}

/// Run-wide counters.
#[derive(Clone, Debug)]
struct Totals {
    arrived: u64,
    completed: u64,
    failed: u64,
    in_flight: u64,
    failed_by: [u64; FailReason::ALL.len()],
    calls: u64,
    /// Calls that would have been made without any retry.
    first_calls: u64,
    /// Retries (calls resent after a failure or timeout), after the warm-up.
    retries: u64,
    session_misses: u64,
    sessions_lost: u64,
    /// Keys that died with a data cache or an app server's local cache.
    cache_keys_lost: u64,
    stale_reads: u64,
    writes_lost: u64,
    promotions: u64,
    cache_hits: u64,
    cache_misses: u64,
    local_cache_hits: u64,
    local_cache_misses: u64,
    latency: hist::Hist,
    latency_sum_ns: u128,
    /// All live requests, counted or not.
    live_all: u64,
    /// Since the last series sample, every request's latency in us (`new_interval_histogram`).
    interval_latency: hist::Hist,
    interval_completed: u64,
    interval_failed: u64,
    /// Of them, failed with `rate_limited`.
    interval_rate_limited: u64,
    interval_cache_hits: u64,
    interval_cache_misses: u64,
    interval_db_reads: u64,
    interval_db_writes: u64,
    /// The slowest completed request since the last series sample.
    interval_slowest: Option<SlowRequest>,
    /// The slowest counted completed requests of the run.
    slowest: Slowest,
}

impl Totals {
    fn new() -> Self {
        Totals {
            arrived: 0,
            completed: 0,
            failed: 0,
            in_flight: 0,
            failed_by: [0; FailReason::ALL.len()],
            calls: 0,
            first_calls: 0,
            retries: 0,
            session_misses: 0,
            sessions_lost: 0,
            cache_keys_lost: 0,
            stale_reads: 0,
            writes_lost: 0,
            promotions: 0,
            cache_hits: 0,
            cache_misses: 0,
            local_cache_hits: 0,
            local_cache_misses: 0,
            latency: metrics::new_histogram(),
            latency_sum_ns: 0,
            live_all: 0,
            interval_latency: metrics::new_interval_histogram(),
            interval_completed: 0,
            interval_failed: 0,
            interval_rate_limited: 0,
            interval_cache_hits: 0,
            interval_cache_misses: 0,
            interval_db_reads: 0,
            interval_db_writes: 0,
            interval_slowest: None,
            slowest: Slowest::default(),
        }
    }
}

/// A deterministic simulation of one layout. `Clone + Send`: fork it, or run replicas in
/// parallel.
#[derive(Clone, Debug)]
pub struct Sim {
    layout: Layout,
    seed: u64,
    tick_ns: u64,
    tick: u64,
    now_ns: u64,
    warmup_ns: u64,
    warmup_done: bool,
    next_sample_ns: u64,
    events: EventQueue,
    units: Vec<Unit>,
    unit_index: BTreeMap<(NodeId, u32), UnitIx>,
    /// Wire policies, append-only; index 0 is "no timeout, no retries".
    policies: Vec<WirePolicy>,
    policy_index: BTreeMap<(NodeId, NodeId), PolicyIx>,
    calls: Vec<Call>,
    free_calls: Vec<CallIx>,
    reqs: Vec<Req>,
    free_reqs: Vec<ReqIx>,
    next_req_id: u64,
    totals: Totals,
    series: Series,
    /// The last few seconds, for the summary (`window.rs`).
    recent: window::RecentWindow,
    traces: Traces,
    log: Vec<LoggedCommand>,
    /// Commands waiting for their tick, keyed (tick, source, order): at one tick, user commands
    /// come before scripted ones, as they do live (the window applies between ticks). A map, so
    /// scheduling 100,000 scripted commands costs a logarithm each, not a shift of the rest.
    /// Commands queued for their exact time: (at_ns, source, order queued).
    pending: BTreeMap<(u64, CommandSource, u64), Command>,
    pending_seq: u64,
    /// Scripted commands the running system refused, and events worth a line (promotions).
    notes: Vec<String>,
    repl: Vec<data::ReplGroup>,
    /// Servers' own jobs (replicated writes, cache fills) in flight, and the free slots.
    jobs: Vec<jobs::Job>,
    free_jobs: Vec<u32>,
    autoscalers: Vec<autoscale::Autoscaler>,
    shard_moves: Vec<data::ShardMove>,
    /// The event stream, oldest first, at most `events::EVENTS_MAX` (`events.rs`).
    timeline: Vec<events::Event>,
    /// Per instance: how many balancers' health checks have it marked down.
    marked_by: Vec<u32>,
    /// Each cache cluster's key placement, built once per route rebuild and shared by every
    /// caller's route (`unit::Route::placement`).
    placements: BTreeMap<NodeId, std::sync::Arc<unit::KeyPlacement>>,
    limits: Limits,
    /// Why the run stopped, once it has: `tick()` then does nothing.
    halt: Option<Halt>,
    work: Work,
    /// `work.events` when the current tick began.
    tick_start_events: u64,
    /// The most `work.events` may reach in this tick without crossing a limit (per tick or
    /// per run): an event's limit check is one comparison.
    events_ok_until: u64,
    /// The time of the current run of events at one instant.
    instant_ns: u64,
    /// `work.events` before that run's first event.
    instant_start_events: u64,
    /// Event-heap size after the last compaction (stale events are dropped when it doubles).
    compact_at: usize,
    /// The message queues and the messages on their way to each consumer (`mq.rs`).
    mq: mq::MqIndex,
}

/// The event heap is first compacted (stale timeouts and replies dropped) at this size.
const COMPACT_MIN: usize = 1 << 16;

impl Sim {
    /// Build a simulation of `layout`. Refuses a layout with errors (see `layout::check`).
    pub fn new(layout: &Layout, config: SimConfig) -> Result<Sim, Vec<Problem>> {
        Sim::new_limited(layout, config, Limits::default())
    }

    /// Build a simulation that enforces `limits` (tests lower them to reach them quickly).
    pub fn new_limited(
        layout: &Layout,
        config: SimConfig,
        limits: Limits,
    ) -> Result<Sim, Vec<Problem>> {
        let errors: Vec<Problem> = layout::check(layout)
            .into_iter()
            .filter(|p| p.severity == layout::Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let seed = config.seed.unwrap_or(layout.seed);
        let mut sim = Sim {
            layout: layout.clone(),
            seed,
            tick_ns: layout.tick_ns(),
            tick: 0,
            now_ns: 0,
            warmup_ns: layout::s_to_ns(config.warmup_s),
            warmup_done: config.warmup_s <= 0.0,
            next_sample_ns: SAMPLE_NS,
            events: EventQueue::default(),
            units: Vec::new(),
            unit_index: BTreeMap::new(),
            policies: vec![WirePolicy::default()],
            policy_index: BTreeMap::new(),
            calls: Vec::new(),
            free_calls: Vec::new(),
            reqs: Vec::new(),
            free_reqs: Vec::new(),
            next_req_id: 0,
            totals: Totals::new(),
            series: Series::default(),
            recent: window::RecentWindow::default(),
            traces: Traces::new(config.trace),
            log: Vec::new(),
            pending: BTreeMap::new(),
            pending_seq: 0,
            notes: Vec::new(),
            repl: Vec::new(),
            jobs: Vec::new(),
            free_jobs: Vec::new(),
            autoscalers: Vec::new(),
            shard_moves: Vec::new(),
            timeline: Vec::new(),
            marked_by: Vec::new(),
            placements: BTreeMap::new(),
            limits,
            halt: None,
            work: Work::default(),
            tick_start_events: 0,
            events_ok_until: 0,
            instant_ns: 0,
            instant_start_events: 0,
            compact_at: COMPACT_MIN,
            mq: mq::MqIndex::default(),
        };
        let nodes = sim.layout.nodes.clone();
        for node in &nodes {
            sim.add_units(node.id, &node.kind, &node.name, 0);
        }
        sim.build_replication();
        sim.rebuild_routes();
        for i in 0..sim.units.len() {
            sim.start_unit(UnitIx::at(i));
        }
        sim.build_autoscalers();
        // A structure the file sizes could not be reserved: the layout cannot run.
        if let Some(halt) = sim.halt.take() {
            return Err(vec![Problem {
                severity: layout::Severity::Error,
                node: None,
                place: halt.node.clone().unwrap_or_else(|| "layout".into()),
                message: halt.cause.to_string().trim_start_matches(": ").to_string(),
            }]);
        }
        let script = sim.layout.script.clone();
        for s in script {
            sim.schedule_at_ns(layout::s_to_ns(s.at_s), s.command, CommandSource::Script);
        }
        Ok(sim)
    }

    /// Build a simulation and schedule a recorded command log on it, to replay a run.
    pub fn replay(
        layout: &Layout,
        config: SimConfig,
        log: &[LoggedCommand],
    ) -> Result<Sim, Vec<Problem>> {
        let mut sim = Sim::new(layout, config)?;
        for entry in log.iter().filter(|e| e.source == CommandSource::User) {
            sim.schedule_at_ns(entry.at_ns, entry.command.clone(), CommandSource::User);
        }
        Ok(sim)
    }

    // ----- Reading -----

    /// The layout as the running system has it (commands included).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The seed in use.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Ticks run so far.
    pub fn ticks(&self) -> u64 {
        self.tick
    }

    /// Simulated time, ns.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// The tick length, ns.
    pub fn tick_ns(&self) -> u64 {
        self.tick_ns
    }

    /// Every command applied so far, with its tick.
    pub fn command_log(&self) -> &[LoggedCommand] {
        &self.log
    }

    /// Scripted commands the running system refused, with why.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The time series sampled every 100 ms.
    pub fn series(&self) -> &Series {
        &self.series
    }

    /// What the last few seconds measured (`window::WINDOW_S`), for a summary that recovers
    /// after a spike.
    pub fn recent(&self) -> window::Recent {
        self.recent.recent()
    }

    /// The sampled request traces.
    pub fn traces(&self) -> &Traces {
        &self.traces
    }

    /// The slowest requests completed after the warm-up, slowest first (at most
    /// `slowest::SLOWEST_MAX`), by id and latency as their clients measured it.
    pub fn slowest(&self) -> &[SlowRequest] {
        self.totals.slowest.list()
    }

    /// Trace these request ids too, whatever the sampling (see `Traces::pick`): call it on a
    /// fresh core, before the requests are issued. Changes no result.
    pub fn trace_ids(&mut self, ids: &[u64]) {
        self.traces.pick(ids);
    }

    /// Number of instances ever created (indexes stay valid for the whole run).
    pub fn unit_count(&self) -> usize {
        self.units.len()
    }

    /// Every instance ever created, in index order (a removed one keeps its index).
    pub fn unit_ixs(&self) -> impl Iterator<Item = UnitIx> + use<> {
        (0..self.units.len()).map(UnitIx::at)
    }

    /// The instance at `index`: id, name, kind, up, removed.
    pub fn unit_info(&self, index: UnitIx) -> Option<UnitInfo<'_>> {
        self.units.get(index.index()).map(|u| UnitInfo {
            id: UnitId {
                node: u.node,
                member: u.member,
            },
            name: &u.name,
            kind: u.kind,
            alive: u.alive,
            removed: u.removed,
            queue_len: u.queue.len() as u32,
            busy_workers: u.held,
            workers: u.workers,
            last_pick: match &u.role {
                Role::Balancer(lb) => lb.last_pick,
                _ => None,
            },
            marked_down: self.marked_down(index),
            saturated: recent_saturation(u),
        })
    }

    /// What a balancer counts in flight at each of its backends (calls at L7, open connections
    /// at L4): the load least-connections and power of two see. Backends in several groups are
    /// listed once per group. Empty for an instance that is not a balancer.
    pub fn balancer_in_flight(&self, balancer: UnitIx) -> Vec<(UnitIx, u32)> {
        match self.units.get(balancer.index()).map(|u| &u.role) {
            Some(Role::Balancer(lb)) => lb
                .groups
                .iter()
                .flat_map(|g| g.backends.iter().map(|b| (b.unit, b.in_flight)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The index of instance `id`, if it exists.
    pub fn unit_index(&self, id: UnitId) -> Option<UnitIx> {
        self.unit_index.get(&(id.node, id.member)).copied()
    }

    /// The current request counters.
    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            arrived: self.totals.arrived,
            completed: self.totals.completed,
            failed: self.totals.failed,
            in_flight: self.totals.in_flight,
        }
    }

    /// Pending events (for tests and the window's diagnostics).
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    // ----- Advancing -----

    /// Run one tick: apply the commands due now, then every event inside the tick. Does
    /// nothing once the run has stopped (see [`Sim::halted`]).
    pub fn tick(&mut self) {
        if self.halt.is_some() {
            return;
        }
        if self.tick >= self.limits.run_ticks {
            self.stop(
                None,
                HaltCause::RunTicks {
                    max: self.limits.run_ticks,
                },
            );
            return;
        }
        self.apply_due();
        if self.halt.is_some() {
            return;
        }
        let end = self.now_ns + self.tick_ns;
        self.tick_start_events = self.work.events;
        self.events_ok_until = (self.work.events)
            .saturating_add(self.limits.events_per_tick)
            .min(self.limits.run_events);
        if !self.run_until(end) {
            return;
        }
        let tick_events = self.work.events - self.tick_start_events;
        self.work.max_events_per_tick = self.work.max_events_per_tick.max(tick_events);
        self.now_ns = end;
        self.tick += 1;
        debug_assert_eq!(
            self.totals.arrived,
            self.totals.completed + self.totals.failed + self.totals.in_flight,
            "conservation"
        );
    }

    /// Run `n` ticks (stretches without events in one step each).
    pub fn run_ticks(&mut self, n: u64) {
        let mut left = n;
        while left > 0 && self.halt.is_none() {
            left -= self.skip_idle(left);
            if left > 0 {
                self.tick();
                left -= 1;
            }
        }
    }

    /// Run until at least `seconds` of simulated time have passed in total (or the run stops).
    pub fn run_until_s(&mut self, seconds: f64) {
        let target = layout::s_to_ns(seconds);
        while self.now_ns < target && self.halt.is_none() {
            let left = (target - self.now_ns).div_ceil(self.tick_ns);
            if self.skip_idle(left) == 0 {
                self.tick();
            }
        }
    }

    /// Skip up to `max` ticks in which nothing happens (no event, series sample, end of warm-up
    /// or command falls in them) in one step; returns how many were skipped. The result is
    /// exactly that of ticking through them one by one.
    pub fn skip_idle(&mut self, max: u64) -> u64 {
        if self.halt.is_some() {
            return 0;
        }
        let mut next_ns = self.next_sample_ns;
        if !self.warmup_done {
            next_ns = next_ns.min(self.warmup_ns);
        }
        if let Some(t) = self.events.peek_time() {
            next_ns = next_ns.min(t);
        }
        if let Some(t) = self.next_command_ns() {
            next_ns = next_ns.min(t);
        }
        let k = (next_ns.saturating_sub(self.now_ns) / self.tick_ns)
            .min(max)
            .min(self.limits.run_ticks.saturating_sub(self.tick));
        self.tick += k;
        self.now_ns += k * self.tick_ns;
        self.work.ticks_skipped += k;
        k
    }

    /// Why the run stopped, if it has. A stopped run keeps every figure up to the stop.
    pub fn halted(&self) -> Option<&Halt> {
        self.halt.as_ref()
    }

    /// The limits this run enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Deterministic counts of the work done so far.
    pub fn work(&self) -> Work {
        let mut w = self.work;
        w.replication_keys = self.repl.iter().map(|g| g.keys_held() as u64).sum();
        w.bytes_reserved = (self.events.heap_bytes()
            + self.calls.capacity() * std::mem::size_of::<Call>()
            + self.reqs.capacity() * std::mem::size_of::<Req>()
            + self.free_calls.capacity() * 4
            + self.free_reqs.capacity() * 4) as u64
            + self.placement_bytes();
        w
    }

    /// Bytes of every distinct key placement the instances' routes hold (a placement shared by
    /// several routes counts once; a copy per route would count per copy).
    fn placement_bytes(&self) -> u64 {
        let mut seen: Vec<&std::sync::Arc<unit::KeyPlacement>> = Vec::new();
        let mut bytes = 0;
        for p in self
            .units
            .iter()
            .flat_map(|u| u.routes.iter())
            .filter_map(|r| r.placement.as_ref())
        {
            if !seen.iter().any(|s| std::sync::Arc::ptr_eq(s, p)) {
                seen.push(p);
                bytes += p.bytes_reserved();
            }
        }
        bytes
    }

    /// Stop the run (the first cause wins).
    pub(super) fn stop(&mut self, node: Option<String>, cause: HaltCause) {
        if self.halt.is_none() {
            self.halt = Some(Halt {
                at_ns: self.now_ns,
                tick: self.tick,
                node,
                cause,
            });
        }
    }

    /// Handle every event before `end`; false when the run stopped on the way.
    fn run_until(&mut self, end: u64) -> bool {
        loop {
            let boundary = if self.warmup_done {
                self.next_sample_ns
            } else {
                self.next_sample_ns.min(self.warmup_ns)
            };
            let mut limit = boundary.min(end);
            // A command due inside the tick applies at its exact time: the events before it
            // first, then the command, then the events of its instant and after.
            let command_due = self.next_command_ns().filter(|&c| c < limit);
            if let Some(c) = command_due {
                limit = c.max(self.now_ns);
            }
            while let Some((t, ev)) = self.events.pop_before(limit) {
                self.now_ns = t;
                if !self.count_event(t, ev) {
                    return false;
                }
                self.handle(ev);
                if self.halt.is_some() {
                    return false;
                }
            }
            if command_due.is_some() {
                self.now_ns = limit;
                self.apply_due();
                if self.halt.is_some() {
                    return false;
                }
            } else if boundary < end {
                self.boundary(boundary);
            } else {
                return true;
            }
        }
    }

    /// Count one event against the limits; false (and the run stopped) when it crosses one.
    /// The event that crosses is not handled, so the state stays consistent.
    ///
    /// Always inlined into the event loop: the common case is a count and two comparisons.
    #[inline(always)]
    fn count_event(&mut self, t: u64, ev: Ev) -> bool {
        if t != self.instant_ns {
            self.instant_ns = t;
            self.instant_start_events = self.work.events;
        }
        self.work.events += 1;
        if self.work.events <= self.events_ok_until {
            return true;
        }
        self.cross_event_limit(t, ev)
    }

    /// `count_event` past `events_ok_until`: which limit the event crosses, and the stop.
    #[cold]
    #[inline(never)]
    fn cross_event_limit(&mut self, t: u64, ev: Ev) -> bool {
        let max = self.limits.events_per_tick;
        let tick_events = self.work.events - self.tick_start_events;
        let instant_events = self.work.events - self.instant_start_events;
        let cause = if tick_events > max {
            if instant_events > max / 2 {
                HaltCause::TimeStopped { events: max }
            } else {
                HaltCause::TickTooBusy {
                    events: max,
                    tick_ns: self.tick_ns,
                }
            }
        } else if self.work.events > self.limits.run_events {
            HaltCause::RunEvents {
                max: self.limits.run_events,
            }
        } else {
            // Not reached while `tick()` sets the bound before its events; kept so that a
            // bound out of step with the limits can only let an event through.
            return true;
        };
        let node = self.event_node(ev).map(|u| self.units[u].name.clone());
        // Put the event back so that what is pending stays true.
        self.events.push(t, ev);
        self.stop(node, cause);
        false
    }

    /// The instance an event is about: for a call, the client of its request (the node a
    /// zero-time loop starts from); otherwise the instance itself.
    fn event_node(&self, ev: Ev) -> Option<UnitIx> {
        match ev {
            Ev::Arrival { unit, .. }
            | Ev::Think { unit, .. }
            | Ev::Ramp { unit, .. }
            | Ev::Probe { unit }
            | Ev::ProbeFail { unit, .. }
            | Ev::EntryCheck { unit }
            | Ev::Ready { unit } => Some(unit),
            Ev::Deliver { call, .. }
            | Ev::Done { call, .. }
            | Ev::Reply { call, .. }
            | Ev::Timeout { call, .. }
            | Ev::Retry { call, .. }
            | Ev::Replicated { call, .. } => {
                let c = self.calls.get(call.index())?;
                self.reqs.get(c.req.index()).map(|r| r.client)
            }
            Ev::ClientRetry { req, .. } => self.reqs.get(req.index()).map(|r| r.client),
            Ev::Promote { .. } | Ev::Autoscale { .. } => None,
            Ev::JobArrive { job } | Ev::JobDone { job } => {
                self.jobs.get(job as usize).map(|j| j.unit())
            }
        }
    }

    /// A series sample and/or the end of the warm-up, at `at_ns`.
    fn boundary(&mut self, at_ns: u64) {
        self.now_ns = at_ns;
        let pending = self.events.len();
        self.work.max_events_pending = self.work.max_events_pending.max(pending as u64);
        if pending > self.compact_at {
            self.compact_events();
        }
        if at_ns == self.next_sample_ns {
            self.sample();
            self.next_sample_ns += SAMPLE_NS;
        }
        if !self.warmup_done && at_ns >= self.warmup_ns {
            self.warmup_done = true;
            for u in &mut self.units {
                u.reset_stats(at_ns);
            }
            self.autoscalers_reset();
        }
    }

    /// Always inlined into its one caller, the event loop: its register saves were 8 instructions
    /// an event.
    #[inline(always)]
    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival { unit, epoch } => self.on_arrival(unit, epoch),
            Ev::Think { unit, user } => {
                let u = &mut self.units[unit];
                let Role::Client(c) = &mut u.role else {
                    return;
                };
                if u.alive && !u.removed && user < c.params.users {
                    self.issue(unit, user);
                } else {
                    c.deactivate(user);
                }
            }
            Ev::Deliver { call, epoch } => {
                let c = &self.calls[call];
                if c.epoch == epoch {
                    match c.state {
                        CallState::Transit => self.deliver(call),
                        CallState::Relay => self.relay(call),
                        _ => {}
                    }
                }
            }
            Ev::Done { call, epoch } => {
                if self.call_is(call, epoch, CallState::Service) {
                    self.done(call);
                }
            }
            Ev::Reply { call, epoch } => {
                if self.call_is(call, epoch, CallState::Replying) {
                    self.reply(call);
                }
            }
            Ev::Ramp { unit, epoch } => self.on_ramp(unit, epoch),
            Ev::Timeout { call, epoch } => self.on_timeout(call, epoch),
            Ev::Retry { call, epoch } => self.on_retry(call, epoch),
            Ev::ClientRetry { req, id } => self.on_client_retry(req, id),
            Ev::Probe { unit } => self.on_probe(unit),
            Ev::ProbeFail { unit, backend } => self.on_probe_fail(unit, backend),
            Ev::EntryCheck { unit } => self.on_entry_check(unit),
            Ev::Promote { group, epoch } => self.on_promote(group, epoch),
            Ev::Replicated { call, epoch } => self.on_replicated(call, epoch),
            Ev::Ready { unit } => self.on_ready(unit),
            Ev::Autoscale { index } => self.on_autoscale(index),
            Ev::JobArrive { job } => self.on_job_arrive(job),
            Ev::JobDone { job } => self.on_job_done(job),
        }
    }

    /// Drop events that would do nothing when they fire: timeouts, deliveries, replies and
    /// retries of calls that have ended since (their slot's epoch moved on). A wire with a
    /// long timeout leaves one such event per call, which would otherwise pile up in the heap
    /// for the whole timeout. Runs when the heap has doubled since the last compaction, so its
    /// cost per event stays constant.
    fn compact_events(&mut self) {
        let calls = &self.calls;
        self.events.retain(|ev| match *ev {
            Ev::Timeout { call, epoch }
            | Ev::Deliver { call, epoch }
            | Ev::Done { call, epoch }
            | Ev::Reply { call, epoch }
            | Ev::Retry { call, epoch }
            | Ev::Replicated { call, epoch } => calls
                .get(call.index())
                .is_some_and(|c| c.epoch == epoch && c.state != CallState::Free),
            _ => true,
        });
        self.compact_at = (self.events.len() * 2).max(COMPACT_MIN);
    }

    /// Start what a new instance does by itself: traffic, health probes, heartbeats.
    fn start_unit(&mut self, unit: UnitIx) {
        match self.units[unit].kind {
            KindTag::Client => self.start_traffic(unit),
            KindTag::LoadBalancer => self.start_probes(unit),
            KindTag::Entry => self.start_entry_checks(unit),
            _ => {}
        }
    }

    fn call_is(&self, call: CallIx, epoch: u32, state: CallState) -> bool {
        let c = &self.calls[call];
        c.epoch == epoch && c.state == state
    }

    // ----- Series -----

    fn sample(&mut self) {
        let now = self.now_ns;
        let interval_s = SAMPLE_NS as f64 / 1e9;
        let s = &mut self.series;
        let t = &mut self.totals;
        s.time_s.push((now as f64 / 1e9) as f32);
        s.throughput_rps
            .push((t.interval_completed as f64 / interval_s) as f32);
        s.failures_per_s
            .push((t.interval_failed as f64 / interval_s) as f32);
        // Empty: all three 0.
        let q = t
            .interval_latency
            .values_at([0.50, 0.95, 0.99])
            .map(|us| (us as f64 / 1e3) as f32);
        s.latency_p50_ms.push(q[0]);
        s.latency_p95_ms.push(q[1]);
        s.latency_p99_ms.push(q[2]);
        s.in_flight.push(t.live_all as f32);
        let lookups = t.interval_cache_hits + t.interval_cache_misses;
        s.cache_hit_ratio.push(if lookups > 0 {
            (t.interval_cache_hits as f64 / lookups as f64) as f32
        } else {
            0.0
        });
        s.db_reads_per_s
            .push((t.interval_db_reads as f64 / interval_s) as f32);
        s.db_writes_per_s
            .push((t.interval_db_writes as f64 / interval_s) as f32);
        s.sessions_lost.push(t.sessions_lost as f32);
        s.session_misses.push(t.session_misses as f32);
        s.slowest_request.push(t.interval_slowest.take());
        let counts = window::SampleCounts {
            completed: t.interval_completed,
            failed: t.interval_failed,
            rate_limited: t.interval_rate_limited,
            cache_hits: t.interval_cache_hits,
            cache_misses: t.interval_cache_misses,
        };
        // Hands back the reused slot's histogram, already empty.
        self.recent.push(now, &mut t.interval_latency, counts);
        t.interval_cache_hits = 0;
        t.interval_cache_misses = 0;
        t.interval_db_reads = 0;
        t.interval_db_writes = 0;
        t.interval_completed = 0;
        t.interval_failed = 0;
        t.interval_rate_limited = 0;
        while s.units.len() < self.units.len() {
            s.add_unit();
        }
        for (u, us) in self.units.iter_mut().zip(s.units.iter_mut()) {
            let areas = u.areas_at(now);
            let cpu = areas.cpu - u.sampled_cpu_area;
            let cap = areas.cores - u.sampled_cores_area;
            us.cpu_utilization.push(if cap > 0 {
                (cpu as f64 / cap as f64) as f32
            } else {
                0.0
            });
            us.queue.push(u.queue.len() as f32);
            us.served_per_s
                .push(((u.stats.served - u.sampled_served) as f64 / interval_s) as f32);
            let (calls, failed) = u.sampled_calls_failed;
            us.calls_per_s
                .push(((u.stats.calls - calls) as f64 / interval_s) as f32);
            us.failed_per_s
                .push(((u.stats.failed - failed) as f64 / interval_s) as f32);
            u.sampled_calls_failed = (u.stats.calls, u.stats.failed);
            us.up.push(if u.alive && !u.removed { 1.0 } else { 0.0 });
            u.sampled_cpu_area = areas.cpu;
            u.sampled_cores_area = areas.cores;
            if let Role::Limiter(l) = &mut u.role {
                l.sample(now);
            }
            if matches!(u.role, Role::Server { .. }) {
                if u.recent_sat.len() > unit::RECENT_SAMPLES {
                    u.recent_sat.pop_front();
                }
                u.recent_sat.push_back(unit::SatSample::of(u, &areas));
            }
            u.sampled_served = u.stats.served;
        }
        self.mq_sample();
    }

    // ----- Structure -----

    /// Create the instances of a node (one, or `count` pool members from `first_member`).
    fn add_units(&mut self, node: NodeId, kind: &NodeKind, name: &str, first_member: u32) {
        let count = kind.count();
        for member in first_member..count {
            let unit_name = if kind.tag() == KindTag::AppServer && count > 1 {
                format!("{name}[{member}]")
            } else {
                name.to_string()
            };
            if let Some(&i) = self.unit_index.get(&(node, member)) {
                // A member still draining is taken back as it is: it keeps its queue and the
                // calls it holds (replacing it would lose them and their workers' counts).
                if self.units[i].draining && !self.units[i].removed {
                    let u = &mut self.units[i];
                    u.draining = false;
                    u.set_params(kind, self.now_ns);
                    continue;
                }
                // A member that was removed comes back as a fresh server.
                let u = Unit::new(self.seed, node, member, unit_name, kind, self.now_ns)
                    .replacing(&self.units[i], self.now_ns);
                self.units[i] = u;
                continue;
            }
            let u = Unit::new(self.seed, node, member, unit_name, kind, self.now_ns);
            self.units.push(u);
            self.series.add_unit();
            self.unit_index
                .insert((node, member), UnitIx::at(self.units.len() - 1));
        }
    }

    /// The instances of a node in rotation (not removed, booted, not draining), by member.
    fn members(&self, node: NodeId) -> Vec<UnitIx> {
        let now = self.now_ns;
        self.unit_index
            .range((node, 0)..=(node, u32::MAX))
            .map(|(_, &i)| i)
            .filter(|&i| {
                let u = &self.units[i];
                !u.removed && !u.draining && u.ready_ns <= now
            })
            .collect()
    }

    /// Recompute every instance's downstream routes from the layout's wires, keeping cursors.
    fn rebuild_routes(&mut self) {
        let mut by_node = self.wire_routes();
        let placements = self.cache_placements(&by_node);
        // An app server looks the session up first, then makes its other calls in wire order,
        // with a cache before the database it fronts (cache-aside).
        for routes in by_node.values_mut() {
            routes.sort_by_key(|r| match r.to_kind {
                KindTag::SessionStore => 0,
                KindTag::Cache => 1,
                _ => 2,
            });
            for r in routes.iter_mut() {
                r.placement = placements.get(&r.to_node).cloned();
            }
        }
        self.placements = placements;
        self.install_router_shards(&by_node);
        let keys: Vec<u64> = self
            .units
            .iter()
            .map(|u| hash::mix(&[u64::from(u.node.0), u64::from(u.member)]))
            .collect();
        for u in &mut self.units {
            let mut routes = by_node.get(&u.node).cloned().unwrap_or_default();
            for r in &mut routes {
                if let Some(old) = u.routes.iter().find(|o| o.to_node == r.to_node) {
                    r.next = old.next;
                }
            }
            if let Role::Balancer(lb) = &mut u.role {
                let groups = lb::build_groups(&lb.params, &routes, &keys);
                lb.set_groups(groups);
            }
            if let Role::Entry(e) = &mut u.role {
                e.set_targets(routes.iter().map(|r| r.units.len()).sum());
            }
            u.routes = routes;
        }
        self.mq_rebuild();
    }

    /// Every caller's routes, one per wire in wire order, without key placements yet.
    fn wire_routes(&mut self) -> BTreeMap<NodeId, Vec<unit::Route>> {
        let mut by_node: BTreeMap<NodeId, Vec<unit::Route>> = BTreeMap::new();
        let wires = self.layout.wires.clone();
        // Kinds by id, built once: a lookup per wire in the node list would be quadratic. With
        // each its cache's write setting (false for anything but a cache that updates).
        let kinds: BTreeMap<NodeId, (KindTag, bool)> = (self.layout.nodes.iter())
            .map(|n| {
                let update =
                    matches!(&n.kind, NodeKind::Cache(p) if p.on_write == layout::OnWrite::Update);
                (n.id, (n.kind.tag(), update))
            })
            .collect();
        for w in &wires {
            let Some(&(to_kind, cache_updates)) = kinds.get(&w.to) else {
                continue;
            };
            let policy = self.policy_for(w);
            by_node.entry(w.from).or_default().push(unit::Route {
                to_node: w.to,
                units: self.members(w.to),
                latency_ns: layout::ms_to_ns(w.latency_ms),
                weight: w.weight,
                policy,
                to_kind,
                placement: None,
                next: 0,
                first: self.unit_index.get(&(w.to, 0)).copied(),
                cache_updates,
            });
        }
        by_node
    }

    /// One key placement per cache cluster, shared by all its callers (and all their pool
    /// members, which clone the routes). A ring that cannot be reserved stops the run.
    fn cache_placements(
        &mut self,
        by_node: &BTreeMap<NodeId, Vec<unit::Route>>,
    ) -> BTreeMap<NodeId, std::sync::Arc<unit::KeyPlacement>> {
        let mut placements = BTreeMap::new();
        for r in by_node.values().flatten() {
            if placements.contains_key(&r.to_node) || r.to_kind != KindTag::Cache {
                continue;
            }
            let Some(NodeKind::Cache(p)) = self.layout.node(r.to_node).map(|n| &n.kind) else {
                continue;
            };
            let keys: Vec<u64> = r
                .units
                .iter()
                .map(|&u| {
                    let u = &self.units[u];
                    hash::mix(&[u64::from(u.node.0), u64::from(u.member)])
                })
                .collect();
            match unit::KeyPlacement::new(p.placement, &keys, p.virtual_nodes) {
                Ok(placement) => {
                    placements.insert(r.to_node, std::sync::Arc::new(placement));
                }
                Err(bytes) => {
                    let name = self.layout.name_of(r.to_node);
                    self.stop(
                        Some(name),
                        HaltCause::Reserve {
                            what: "the cache cluster's hash ring",
                            bytes,
                        },
                    );
                }
            }
        }
        placements
    }

    /// Shard routers: their shards are the databases they are wired to, in wire order.
    fn install_router_shards(&mut self, by_node: &BTreeMap<NodeId, Vec<unit::Route>>) {
        let routers: Vec<(UnitIx, Vec<NodeId>)> = self
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.kind == KindTag::ShardRouter && !u.removed)
            .map(|(i, u)| {
                let shards = by_node
                    .get(&u.node)
                    .map(|rs| rs.iter().map(|r| r.to_node).collect())
                    .unwrap_or_default();
                (UnitIx::at(i), shards)
            })
            .collect();
        for (unit, shards) in routers {
            self.set_router_shards(unit, shards);
        }
    }

    /// The policy slot of a wire: created on first sight, updated in place after.
    fn policy_for(&mut self, w: &layout::Wire) -> PolicyIx {
        let fresh = WirePolicy {
            timeout_ns: layout::ms_to_ns(w.timeout_ms),
            retries: w.retries,
            backoff_ns: layout::ms_to_ns(w.backoff_ms),
            budget: w.retry_budget,
            tokens: RETRY_TOKENS_MAX,
        };
        match self.policy_index.get(&(w.from, w.to)) {
            Some(&i) => {
                let p = &mut self.policies[i];
                let tokens = p.tokens;
                *p = WirePolicy { tokens, ..fresh };
                i
            }
            None => {
                self.policies.push(fresh);
                let i = PolicyIx::at(self.policies.len() - 1);
                self.policy_index.insert((w.from, w.to), i);
                i
            }
        }
    }
}

/// A server's saturation over the last second of series samples: the same rule as the run's
/// (`metrics::saturation`), on the counters' change since the oldest sample kept.
fn recent_saturation(u: &Unit) -> Option<metrics::Resource> {
    let (Some(first), Some(last)) = (u.recent_sat.front(), u.recent_sat.back()) else {
        return None;
    };
    let alive = last.alive_ns.saturating_sub(first.alive_ns);
    if alive == 0 {
        return None;
    }
    let share = |a: u128, b: u128| a.saturating_sub(b) as f64 / alive as f64;
    metrics::saturation(
        share(last.all_busy_ns, first.all_busy_ns),
        share(last.all_held_ns, first.all_held_ns),
        i64::from(last.backlog) - i64::from(first.backlog),
        last.calls.saturating_sub(first.calls),
        last.refused.saturating_sub(first.refused),
    )
    .1
}

/// What the window and reports need to know about one instance.
#[derive(Clone, Copy, Debug)]
pub struct UnitInfo<'a> {
    pub id: UnitId,
    pub name: &'a str,
    pub kind: KindTag,
    pub alive: bool,
    pub removed: bool,
    pub queue_len: u32,
    pub busy_workers: u32,
    pub workers: u32,
    /// A balancer's latest pick (an instance index).
    pub last_pick: Option<UnitIx>,
    /// A balancer's health checks have marked it down.
    pub marked_down: bool,
    /// A server's saturated resource over the last second of samples (`metrics::saturation`).
    pub saturated: Option<metrics::Resource>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check`'s memory estimate prices a call in flight at `CALL_BYTES`: its slot, its place
    /// in a queue and one pending event must fit.
    #[test]
    fn the_memory_estimate_prices_a_call_at_least_at_its_size() {
        let real =
            std::mem::size_of::<Call>() + std::mem::size_of::<unit::Task>() + queue::ENTRY_BYTES;
        assert!(
            real as u64 <= layout::limits::CALL_BYTES,
            "a call takes {real} bytes"
        );
    }
}
