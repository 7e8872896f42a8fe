//! The simulation core: a deterministic discrete-event engine advanced in ticks.
//!
//! `Sim::new(&layout, config)` builds one instance ("unit") per client, balancer, database and
//! pool member; `tick()` runs every event inside the next tick at its exact nanosecond, so the
//! results do not depend on the tick length; `apply(command)` changes the running system at a
//! tick boundary and records the command in the log; `metrics()`, `series()` and `traces()` read
//! what happened. The core does no I/O, reads no clock and iterates no hash map: the same layout,
//! seed and command log give bit-identical results, one tick at a time or a thousand at once.
//!
//! Requests travel as calls. A wire from A to B means A calls B and waits for the reply: a call
//! crosses the wire (its latency), waits in B's queue for a worker, is served (its service time),
//! then B makes its own downstream calls in wire order while holding the worker, and finally the
//! reply crosses the wire back. A failure travels back the same way and fails every caller above.

pub mod balance;
mod command;
pub mod hash;
pub mod metrics;
pub mod queue;
pub mod request;
pub mod rng;
pub mod series;
pub mod trace;
pub mod unit;

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::layout::{self, Command, KindTag, Layout, LoopMode, NodeId, NodeKind, Problem};

pub use command::{CommandSource, LoggedCommand};
pub use metrics::{LatencyMs, Metrics, NodeMetrics, RequestCounts, UnitId};
pub use request::{FailReason, Outcome};
pub use series::Series;
pub use trace::{Trace, TraceConfig, Traces};

use balance::explain;
use queue::{Ev, EventQueue};
use series::SAMPLE_NS;
use trace::{Decision, Hop, NO_TRACE};
use unit::{Role, Unit};

/// "None" in a slot field.
const NONE: u32 = u32::MAX;
/// The parent of a top-level call whose client stopped waiting (its wire was removed).
const ORPHAN: u32 = u32::MAX - 1;

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
}

/// One call of one request, from a caller instance to a callee instance.
#[derive(Clone, Debug)]
struct Call {
    epoch: u32,
    state: CallState,
    req: u32,
    parent: u32,
    parent_epoch: u32,
    caller: u32,
    callee: u32,
    latency_ns: u64,
    /// Next downstream route of an app server.
    stage: u16,
    fail: Option<FailReason>,
}

/// One client request (a slot reused once no call refers to it).
#[derive(Clone, Debug)]
struct Req {
    client: u32,
    user: u32,
    read: bool,
    born_ns: u64,
    counted: bool,
    /// False once the client has its answer.
    live: bool,
    /// The client's wait plus every call still referring to this slot.
    refs: u32,
    trace: u32,
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
    latency: Histogram<u64>,
    latency_sum_ns: u128,
    /// All live requests, counted or not.
    live_all: u64,
    /// Since the last series sample, every request.
    interval_latency: Histogram<u64>,
    interval_completed: u64,
    interval_failed: u64,
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
    unit_index: BTreeMap<(NodeId, u32), u32>,
    calls: Vec<Call>,
    free_calls: Vec<u32>,
    reqs: Vec<Req>,
    free_reqs: Vec<u32>,
    next_req_id: u64,
    totals: Totals,
    series: Series,
    traces: Traces,
    log: Vec<LoggedCommand>,
    /// Commands waiting for their tick: (tick, order, command, source).
    pending: Vec<(u64, u64, Command, CommandSource)>,
    pending_seq: u64,
    /// Scripted commands the running system refused, with why.
    notes: Vec<String>,
}

impl Sim {
    /// Build a simulation of `layout`. Refuses a layout with errors (see `layout::check`).
    pub fn new(layout: &Layout, config: SimConfig) -> Result<Sim, Vec<Problem>> {
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
            calls: Vec::new(),
            free_calls: Vec::new(),
            reqs: Vec::new(),
            free_reqs: Vec::new(),
            next_req_id: 0,
            totals: Totals {
                arrived: 0,
                completed: 0,
                failed: 0,
                in_flight: 0,
                failed_by: [0; FailReason::ALL.len()],
                calls: 0,
                latency: metrics::new_histogram(),
                latency_sum_ns: 0,
                live_all: 0,
                interval_latency: metrics::new_histogram(),
                interval_completed: 0,
                interval_failed: 0,
            },
            series: Series::default(),
            traces: Traces::new(config.trace),
            log: Vec::new(),
            pending: Vec::new(),
            pending_seq: 0,
            notes: Vec::new(),
        };
        let nodes = sim.layout.nodes.clone();
        for node in &nodes {
            sim.add_units(node.id, &node.kind, &node.name, 0);
        }
        sim.rebuild_routes();
        for i in 0..sim.units.len() as u32 {
            sim.start_traffic(i);
        }
        let script = sim.layout.script.clone();
        for s in script {
            let at_ns = layout::s_to_ns(s.at_s);
            let tick = at_ns.div_ceil(sim.tick_ns);
            sim.schedule(tick, s.command, CommandSource::Script);
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
            sim.schedule(entry.tick, entry.command.clone(), CommandSource::User);
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

    /// The sampled request traces.
    pub fn traces(&self) -> &Traces {
        &self.traces
    }

    /// Number of instances ever created (indexes stay valid for the whole run).
    pub fn unit_count(&self) -> usize {
        self.units.len()
    }

    /// The instance at `index`: id, name, kind, up, removed.
    pub fn unit_info(&self, index: u32) -> Option<UnitInfo<'_>> {
        self.units.get(index as usize).map(|u| UnitInfo {
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
                Role::Balancer { last_pick, .. } => *last_pick,
                _ => None,
            },
        })
    }

    /// The index of instance `id`, if it exists.
    pub fn unit_index(&self, id: UnitId) -> Option<u32> {
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

    /// Everything measured so far.
    pub fn metrics(&self) -> Metrics {
        let now = self.now_ns;
        let measured_ns = now.saturating_sub(if self.warmup_done {
            self.warmup_ns.min(now)
        } else {
            now
        });
        let measured_s = measured_ns as f64 / 1e9;
        let mut nodes: Vec<NodeMetrics> = self
            .units
            .iter()
            .filter(|u| !u.removed)
            .map(|u| node_metrics(u, now))
            .collect();
        nodes.sort_by_key(|n| n.id);
        let failures = FailReason::ALL
            .iter()
            .map(|&r| (r, self.totals.failed_by[r.index()]))
            .filter(|&(_, n)| n > 0)
            .collect();
        Metrics {
            seed: self.seed,
            simulated_s: now as f64 / 1e9,
            measured_s,
            requests: self.counts(),
            failures,
            calls: self.totals.calls,
            throughput_rps: if measured_s > 0.0 {
                self.totals.completed as f64 / measured_s
            } else {
                0.0
            },
            latency_ms: metrics::latency_summary(&self.totals.latency, self.totals.latency_sum_ns),
            nodes,
        }
    }

    // ----- Advancing -----

    /// Run one tick: apply the commands due now, then every event inside the tick.
    pub fn tick(&mut self) {
        self.apply_due();
        let end = self.now_ns + self.tick_ns;
        self.run_until(end);
        self.now_ns = end;
        self.tick += 1;
        debug_assert_eq!(
            self.totals.arrived,
            self.totals.completed + self.totals.failed + self.totals.in_flight,
            "conservation"
        );
    }

    /// Run `n` ticks.
    pub fn run_ticks(&mut self, n: u64) {
        for _ in 0..n {
            self.tick();
        }
    }

    /// Run until at least `seconds` of simulated time have passed in total.
    pub fn run_until_s(&mut self, seconds: f64) {
        let target = layout::s_to_ns(seconds);
        while self.now_ns < target {
            self.tick();
        }
    }

    fn run_until(&mut self, end: u64) {
        loop {
            let boundary = if self.warmup_done {
                self.next_sample_ns
            } else {
                self.next_sample_ns.min(self.warmup_ns)
            };
            let next = self.events.peek_time().filter(|&t| t < end);
            match next {
                Some(t) if t < boundary => {
                    let Some((t, ev)) = self.events.pop() else {
                        break;
                    };
                    self.now_ns = t;
                    self.handle(ev);
                }
                _ if boundary < end => self.boundary(boundary),
                _ => break,
            }
        }
    }

    /// A series sample and/or the end of the warm-up, at `at_ns`.
    fn boundary(&mut self, at_ns: u64) {
        self.now_ns = at_ns;
        if at_ns == self.next_sample_ns {
            self.sample();
            self.next_sample_ns += SAMPLE_NS;
        }
        if !self.warmup_done && at_ns >= self.warmup_ns {
            self.warmup_done = true;
            for u in &mut self.units {
                u.reset_stats(at_ns);
            }
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival { unit, epoch } => self.on_arrival(unit, epoch),
            Ev::Think { unit, user } => {
                let u = &mut self.units[unit as usize];
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
                if self.call_is(call, epoch, CallState::Transit) {
                    self.deliver(call);
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
        }
    }

    fn call_is(&self, call: u32, epoch: u32, state: CallState) -> bool {
        let c = &self.calls[call as usize];
        c.epoch == epoch && c.state == state
    }

    // ----- Traffic -----

    /// Begin a client's arrivals (open loop) or its users' first think (closed loop).
    fn start_traffic(&mut self, unit: u32) {
        let u = &mut self.units[unit as usize];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        match c.params.mode {
            LoopMode::Open => self.schedule_arrival(unit),
            LoopMode::Closed => {
                let users = c.params.users;
                for user in 0..users {
                    let u = &mut self.units[unit as usize];
                    let Role::Client(c) = &mut u.role else {
                        return;
                    };
                    // A user still thinking or waiting (a revive, more users) keeps going.
                    if !c.activate(user) {
                        continue;
                    }
                    let think = c.think_ns(&mut u.rng);
                    self.events
                        .push(self.now_ns + think, Ev::Think { unit, user });
                }
            }
        }
    }

    /// Schedule the next open-loop arrival of a client at its current rate.
    fn schedule_arrival(&mut self, unit: u32) {
        let now = self.now_ns;
        let u = &mut self.units[unit as usize];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        c.arrival_epoch = c.arrival_epoch.wrapping_add(1);
        c.arrival_pending = false;
        if let Some(gap) = c.gap_ns(&mut u.rng) {
            c.arrival_pending = true;
            let epoch = c.arrival_epoch;
            self.events.push(now + gap, Ev::Arrival { unit, epoch });
        }
    }

    fn on_arrival(&mut self, unit: u32, epoch: u32) {
        let u = &mut self.units[unit as usize];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        if c.arrival_epoch != epoch || !u.alive || u.removed {
            return;
        }
        let user = c.draw_user();
        self.issue(unit, user);
        self.schedule_arrival(unit);
    }

    fn on_ramp(&mut self, unit: u32, epoch: u32) {
        let now = self.now_ns;
        let u = &mut self.units[unit as usize];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        let Some((t0, q0, t1, q1)) = c.ramp else {
            return;
        };
        if c.ramp_epoch != epoch {
            return;
        }
        if now >= t1 {
            c.qps = q1;
            c.ramp = None;
        } else {
            let f = (now - t0) as f64 / (t1 - t0) as f64;
            c.qps = q0 + (q1 - q0) * f;
            self.events
                .push((now + SAMPLE_NS).min(t1), Ev::Ramp { unit, epoch });
        }
        // Poisson arrivals are memoryless, so redrawing the next one at the new rate is exact.
        self.schedule_arrival(unit);
    }

    /// A client sends a new request from `user`.
    fn issue(&mut self, client: u32, user: u32) {
        let now = self.now_ns;
        let id = self.next_req_id;
        self.next_req_id += 1;
        let counted = now >= self.warmup_ns;
        let u = &mut self.units[client as usize];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        let (key, read) = c.draw_content();
        // Pick the destination: clients spread over their wires' instances round-robin, as
        // plain DNS does.
        let total: usize = u.routes.iter().map(|r| r.units.len()).sum();
        let dest = if total == 0 {
            None
        } else {
            let mut i = c.next_dest % total;
            c.next_dest = (c.next_dest + 1) % total;
            let mut found = None;
            for r in &u.routes {
                if i < r.units.len() {
                    found = Some((r.units[i], r.latency_ns));
                    break;
                }
                i -= r.units.len();
            }
            found
        };
        u.stats.calls += 1;
        if counted {
            self.totals.arrived += 1;
            self.totals.in_flight += 1;
        }
        self.totals.live_all += 1;
        let trace = if self.traces.wants(id) {
            self.traces.open(Trace {
                request_id: id,
                client,
                user,
                key,
                read,
                born_ns: now,
                end_ns: None,
                outcome: None,
                hops: Vec::new(),
                decisions: Vec::new(),
            })
        } else {
            NO_TRACE
        };
        let req = self.alloc_req(Req {
            client,
            user,
            read,
            born_ns: now,
            counted,
            live: true,
            refs: 1,
            trace,
        });
        match dest {
            None => self.finish_request(req, Some(FailReason::NoBackend)),
            Some((to, latency_ns)) => {
                let call = self.alloc_call(req, NONE, client, to, latency_ns);
                self.send(call);
            }
        }
    }

    /// The client has its answer (or its failure).
    fn finish_request(&mut self, req: u32, fail: Option<FailReason>) {
        let now = self.now_ns;
        let r = &mut self.reqs[req as usize];
        r.live = false;
        let latency_ns = now - r.born_ns;
        let (client, user, counted, trace, read) = (r.client, r.user, r.counted, r.trace, r.read);
        r.trace = NO_TRACE;
        self.totals.live_all -= 1;
        match fail {
            None => {
                self.totals.interval_completed += 1;
                self.totals
                    .interval_latency
                    .saturating_record(latency_ns.max(1));
                if counted {
                    self.totals.completed += 1;
                    self.totals.latency.saturating_record(latency_ns.max(1));
                    self.totals.latency_sum_ns += u128::from(latency_ns);
                }
            }
            Some(reason) => {
                self.totals.interval_failed += 1;
                if counted {
                    self.totals.failed += 1;
                    self.totals.failed_by[reason.index()] += 1;
                }
            }
        }
        if counted {
            self.totals.in_flight -= 1;
        }
        let cu = &mut self.units[client as usize];
        if fail.is_some() {
            cu.stats.failed += 1;
        } else {
            cu.stats.served += 1;
        }
        if trace != NO_TRACE {
            let outcome = match fail {
                Some(r) => Outcome::Failed(r),
                None if read => Outcome::Read,
                None => Outcome::Write,
            };
            self.traces.close(trace, now, outcome);
        }
        // A closed-loop user thinks, then asks again.
        if let Role::Client(c) = &mut cu.role
            && c.params.mode == LoopMode::Closed
        {
            if cu.alive && !cu.removed && user < c.params.users {
                let think = c.think_ns(&mut cu.rng);
                self.events
                    .push(now + think, Ev::Think { unit: client, user });
            } else {
                c.deactivate(user);
            }
        }
        self.release_req(req);
    }

    // ----- Calls -----

    fn alloc_req(&mut self, r: Req) -> u32 {
        match self.free_reqs.pop() {
            Some(i) => {
                self.reqs[i as usize] = r;
                i
            }
            None => {
                self.reqs.push(r);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    fn release_req(&mut self, req: u32) {
        let r = &mut self.reqs[req as usize];
        r.refs -= 1;
        if r.refs == 0 {
            self.free_reqs.push(req);
        }
    }

    fn alloc_call(&mut self, req: u32, parent: u32, caller: u32, callee: u32, lat: u64) -> u32 {
        self.reqs[req as usize].refs += 1;
        let parent_epoch = if parent == NONE {
            0
        } else {
            self.calls[parent as usize].epoch
        };
        if self.reqs[req as usize].counted {
            self.totals.calls += 1;
        }
        let fresh = |epoch: u32| Call {
            epoch,
            state: CallState::Transit,
            req,
            parent,
            parent_epoch,
            caller,
            callee,
            latency_ns: lat,
            stage: 0,
            fail: None,
        };
        match self.free_calls.pop() {
            Some(i) => {
                let epoch = self.calls[i as usize].epoch;
                self.calls[i as usize] = fresh(epoch);
                i
            }
            None => {
                self.calls.push(fresh(0));
                (self.calls.len() - 1) as u32
            }
        }
    }

    fn free_call(&mut self, call: u32) {
        let c = &mut self.calls[call as usize];
        c.state = CallState::Free;
        c.epoch = c.epoch.wrapping_add(1);
        let req = c.req;
        self.free_calls.push(call);
        self.release_req(req);
    }

    /// Record a hop on the request's trace, if it is traced and still live.
    fn trace_hop(&mut self, call: u32, reply: bool) {
        let c = &self.calls[call as usize];
        let r = &self.reqs[c.req as usize];
        if r.trace == NO_TRACE || !r.live {
            return;
        }
        let (from, to) = if reply {
            (c.callee, c.caller)
        } else {
            (c.caller, c.callee)
        };
        let hop = Hop {
            from,
            to,
            depart_ns: self.now_ns,
            arrive_ns: self.now_ns + c.latency_ns,
            reply,
            failed: reply && c.fail.is_some(),
        };
        if let Some(t) = self.traces.get_mut(r.trace) {
            t.hops.push(hop);
        }
    }

    fn trace_decision(&mut self, req: u32, unit: u32, text: impl FnOnce(&Sim) -> String) {
        let r = &self.reqs[req as usize];
        if r.trace == NO_TRACE || !r.live {
            return;
        }
        let slot = r.trace;
        let text = text(self);
        let at_ns = self.now_ns;
        if let Some(t) = self.traces.get_mut(slot) {
            t.decisions.push(Decision { at_ns, unit, text });
        }
    }

    /// Put a call on its wire towards the callee.
    fn send(&mut self, call: u32) {
        self.trace_hop(call, false);
        let c = &mut self.calls[call as usize];
        c.state = CallState::Transit;
        if c.latency_ns == 0 {
            self.deliver(call);
        } else {
            let ev = Ev::Deliver {
                call,
                epoch: c.epoch,
            };
            self.events.push(self.now_ns + c.latency_ns, ev);
        }
    }

    /// Send a call's reply (or failure) back over its wire.
    fn send_reply(&mut self, call: u32) {
        self.calls[call as usize].state = CallState::Replying;
        self.trace_hop(call, true);
        let c = &self.calls[call as usize];
        if c.latency_ns == 0 {
            self.reply(call);
        } else {
            let ev = Ev::Reply {
                call,
                epoch: c.epoch,
            };
            self.events.push(self.now_ns + c.latency_ns, ev);
        }
    }

    /// The callee refuses or drops a call that holds no worker there.
    fn reject(&mut self, call: u32, reason: FailReason) {
        let c = &mut self.calls[call as usize];
        c.fail.get_or_insert(reason);
        self.units[c.callee as usize].stats.failed += 1;
        self.send_reply(call);
    }

    /// A call reaches its callee.
    fn deliver(&mut self, call: u32) {
        let now = self.now_ns;
        let (unit, read) = {
            let c = &self.calls[call as usize];
            (c.callee, self.reqs[c.req as usize].read)
        };
        let u = &mut self.units[unit as usize];
        u.stats.calls += 1;
        if u.removed {
            return self.reject(call, FailReason::NodeRemoved);
        }
        if !u.alive {
            return self.reject(call, FailReason::NodeDown);
        }
        match &u.role {
            Role::Balancer { latency_ns, .. } => {
                let done_at = now + latency_ns;
                let c = &mut self.calls[call as usize];
                c.state = CallState::Service;
                let ev = Ev::Done {
                    call,
                    epoch: c.epoch,
                };
                self.events.push(done_at, ev);
            }
            Role::Server { service } => {
                u.stats.demand_ns += service.mean_ns(read) * u.slow;
                if u.held < u.workers {
                    self.start(call);
                } else if (u.queue.len() as u64) < u64::from(u.queue_capacity) {
                    u.integrate(now);
                    u.queue.push_back(call);
                    u.stats.max_queue = u.stats.max_queue.max(u.queue.len() as u32);
                    self.calls[call as usize].state = CallState::Queued;
                } else {
                    self.reject(call, FailReason::QueueFull);
                }
            }
            Role::Client(_) => self.reject(call, FailReason::NoBackend),
        }
    }

    /// A server gives a worker to a call and starts serving it.
    fn start(&mut self, call: u32) {
        let now = self.now_ns;
        let c = &mut self.calls[call as usize];
        let read = self.reqs[c.req as usize].read;
        let u = &mut self.units[c.callee as usize];
        let Role::Server { service } = &u.role else {
            return;
        };
        let service_ns = service.sample_ns(read, &mut u.rng);
        let service_ns = if u.slow == 1.0 {
            service_ns
        } else {
            (service_ns as f64 * u.slow).round() as u64
        };
        u.integrate(now);
        u.held += 1;
        u.serving += 1;
        c.state = CallState::Service;
        let ev = Ev::Done {
            call,
            epoch: c.epoch,
        };
        self.events.push(now + service_ns, ev);
    }

    /// The callee finished its own work on a call.
    fn done(&mut self, call: u32) {
        let now = self.now_ns;
        let unit = self.calls[call as usize].callee;
        let u = &mut self.units[unit as usize];
        match &mut u.role {
            Role::Balancer {
                balancer,
                backends,
                backend_latency_ns,
                last_pick,
                ..
            } => {
                let view = balance::RequestView::default();
                let Some(balance::Pick { index: i, why }) =
                    balancer.pick(backends, &view, &mut u.rng)
                else {
                    return self.reject(call, FailReason::NoBackend);
                };
                let to = backends[i].unit;
                let lat = backend_latency_ns[i];
                *last_pick = Some(to);
                let req = self.calls[call as usize].req;
                self.trace_decision(req, unit, |sim| {
                    explain(why, to, &|i| sim.units[i as usize].name.clone())
                });
                self.calls[call as usize].state = CallState::Waiting;
                let child = self.alloc_call(req, call, unit, to, lat);
                self.send(child);
            }
            Role::Server { .. } => {
                u.integrate(now);
                u.serving -= 1;
                self.proceed(call);
            }
            Role::Client(_) => {}
        }
    }

    /// An app server makes its next downstream call, or answers when it has made them all.
    fn proceed(&mut self, call: u32) {
        let (unit, stage, req) = {
            let c = &self.calls[call as usize];
            (c.callee, c.stage as usize, c.req)
        };
        let u = &mut self.units[unit as usize];
        let Some(route) = u.routes.get_mut(stage) else {
            return self.finish(call, None);
        };
        if route.units.is_empty() {
            return self.finish(call, Some(FailReason::NoBackend));
        }
        let i = route.next % route.units.len();
        route.next = (i + 1) % route.units.len();
        let (to, lat) = (route.units[i], route.latency_ns);
        let c = &mut self.calls[call as usize];
        c.stage += 1;
        c.state = CallState::Waiting;
        let child = self.alloc_call(req, call, unit, to, lat);
        self.send(child);
    }

    /// A call is finished at its callee: free the worker, take the next queued call, reply.
    fn finish(&mut self, call: u32, fail: Option<FailReason>) {
        let now = self.now_ns;
        let c = &mut self.calls[call as usize];
        if let Some(f) = fail {
            c.fail.get_or_insert(f);
        }
        let failed = c.fail.is_some();
        let unit = c.callee;
        let u = &mut self.units[unit as usize];
        if failed {
            u.stats.failed += 1;
        } else {
            u.stats.served += 1;
        }
        if let Role::Server { .. } = u.role {
            u.integrate(now);
            u.held -= 1;
            self.drain_queue(unit);
        }
        self.send_reply(call);
    }

    /// A reply reaches the caller.
    fn reply(&mut self, call: u32) {
        let (parent, parent_epoch, req, fail) = {
            let c = &self.calls[call as usize];
            (c.parent, c.parent_epoch, c.req, c.fail)
        };
        if parent == NONE {
            self.finish_request(req, fail);
            self.free_call(call);
            return;
        }
        self.free_call(call);
        if parent == ORPHAN {
            return;
        }
        let p = &self.calls[parent as usize];
        if p.epoch != parent_epoch || p.state != CallState::Waiting {
            // The caller gave up on this call (it failed or was killed meanwhile).
            return;
        }
        let is_balancer = matches!(self.units[p.callee as usize].role, Role::Balancer { .. });
        match fail {
            Some(reason) => self.finish(parent, Some(reason)),
            None if is_balancer => self.finish(parent, None),
            None => self.proceed(parent),
        }
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
        let q = |h: &Histogram<u64>, x: f64| {
            if h.is_empty() {
                0.0
            } else {
                (h.value_at_quantile(x) as f64 / 1e6) as f32
            }
        };
        s.latency_p50_ms.push(q(&t.interval_latency, 0.50));
        s.latency_p95_ms.push(q(&t.interval_latency, 0.95));
        s.latency_p99_ms.push(q(&t.interval_latency, 0.99));
        s.in_flight.push(t.live_all as f32);
        t.interval_latency.reset();
        t.interval_completed = 0;
        t.interval_failed = 0;
        while s.units.len() < self.units.len() {
            s.add_unit();
        }
        for (u, us) in self.units.iter_mut().zip(s.units.iter_mut()) {
            u.integrate(now);
            let cpu = u.stats.cpu_area - u.sampled_cpu_area;
            let cap = u.stats.capacity_area - u.sampled_capacity_area;
            us.cpu_utilization.push(if cap > 0 {
                (cpu as f64 / cap as f64) as f32
            } else {
                0.0
            });
            us.queue.push(u.queue.len() as f32);
            us.served_per_s
                .push(((u.stats.served - u.sampled_served) as f64 / interval_s) as f32);
            us.up.push(if u.alive && !u.removed { 1.0 } else { 0.0 });
            u.sampled_cpu_area = u.stats.cpu_area;
            u.sampled_capacity_area = u.stats.capacity_area;
            u.sampled_served = u.stats.served;
        }
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
                // A member that was removed comes back as a fresh server.
                let old_stats = self.units[i as usize].stats.clone();
                let mut u = Unit::new(self.seed, node, member, unit_name, kind, self.now_ns);
                u.stats = old_stats;
                u.integrate(self.now_ns);
                self.units[i as usize] = u;
                continue;
            }
            let u = Unit::new(self.seed, node, member, unit_name, kind, self.now_ns);
            self.units.push(u);
            self.series.add_unit();
            self.unit_index
                .insert((node, member), (self.units.len() - 1) as u32);
        }
    }

    /// The live instances of a node, by member index.
    fn members(&self, node: NodeId) -> Vec<u32> {
        self.unit_index
            .range((node, 0)..=(node, u32::MAX))
            .map(|(_, &i)| i)
            .filter(|&i| !self.units[i as usize].removed)
            .collect()
    }

    /// Recompute every instance's downstream routes from the layout's wires, keeping cursors.
    fn rebuild_routes(&mut self) {
        let mut by_node: BTreeMap<NodeId, Vec<unit::Route>> = BTreeMap::new();
        for w in &self.layout.wires {
            if self.layout.node(w.to).is_none() {
                continue;
            }
            by_node.entry(w.from).or_default().push(unit::Route {
                to_node: w.to,
                units: self.members(w.to),
                latency_ns: layout::ms_to_ns(w.latency_ms),
                weight: w.weight,
                next: 0,
            });
        }
        let ids: Vec<(u64, u64)> = self
            .units
            .iter()
            .map(|u| (u64::from(u.node.0), u64::from(u.member)))
            .collect();
        for u in &mut self.units {
            let mut routes = by_node.get(&u.node).cloned().unwrap_or_default();
            for r in &mut routes {
                if let Some(old) = u.routes.iter().find(|o| o.to_node == r.to_node) {
                    r.next = old.next;
                }
            }
            if let Role::Balancer {
                backends,
                backend_latency_ns,
                ..
            } = &mut u.role
            {
                backends.clear();
                backend_latency_ns.clear();
                for r in &routes {
                    for &unit in &r.units {
                        backends.push(balance::Backend {
                            unit,
                            key: hash::mix(&[ids[unit as usize].0, ids[unit as usize].1]),
                            weight: r.weight.max(1),
                            in_flight: 0,
                            healthy: true,
                        });
                        backend_latency_ns.push(r.latency_ns);
                    }
                }
            }
            u.routes = routes;
        }
    }
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
    pub last_pick: Option<u32>,
}

fn node_metrics(u: &Unit, now: u64) -> NodeMetrics {
    let mut u2 = u.clone();
    u2.integrate(now);
    let s = &u2.stats;
    let ratio = |a: u128, b: u128| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let span = u128::from(now.saturating_sub(s.since_ns));
    let offered_load = if s.capacity_area > 0 {
        s.demand_ns / s.capacity_area as f64
    } else {
        0.0
    };
    NodeMetrics {
        id: UnitId {
            node: u.node,
            member: u.member,
        },
        name: u.name.clone(),
        kind: u.kind,
        alive: u.alive,
        calls: s.calls,
        served: s.served,
        failed: s.failed,
        cpu_utilization: ratio(s.cpu_area, s.capacity_area),
        worker_utilization: ratio(s.held_area, s.capacity_area),
        mean_queue: ratio(s.queue_area, span),
        max_queue: s.max_queue,
        offered_load,
        unstable: matches!(u.role, Role::Server { .. }) && offered_load >= 1.0,
        queue_now: u.queue.len() as u32,
        workers: u.workers,
    }
}
