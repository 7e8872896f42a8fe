//! How a request moves: clients issue it, calls cross wires, servers queue and serve them,
//! balancers and entries route them, and replies (or failures) travel back. Timeouts, retries
//! with backoff and budgets, health probes and sessions live here too.

use super::balance::{self, RequestView};
use super::hash::mix;
use super::queue::Ev;
use super::request::FailReason;
use super::trace::{Decision, Hop, NO_TRACE, Trace};
use super::unit::{self, NO_PATH, Role, SessionKeeping};
use super::{CallState, NONE, ORPHAN, Outcome, Req, Sim};
use crate::layout::{KindTag, Layer, LoopMode};

use rand::RngExt as _;

/// Per-call routing facts a balancer needs back when the call ends.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LbSlot {
    pub group: u16,
    pub index: u16,
    pub generation: u32,
}

impl Sim {
    // ----- Traffic -----

    /// Begin a client's arrivals (open loop) or its users' first think (closed loop).
    pub(super) fn start_traffic(&mut self, unit: u32) {
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
    pub(super) fn schedule_arrival(&mut self, unit: u32) {
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

    pub(super) fn on_arrival(&mut self, unit: u32, epoch: u32) {
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

    pub(super) fn on_ramp(&mut self, unit: u32, epoch: u32) {
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
            let next = (now + super::series::SAMPLE_NS).min(t1);
            self.events.push(next, Ev::Ramp { unit, epoch });
        }
        // Poisson arrivals are memoryless, so redrawing the next one at the new rate is exact.
        self.schedule_arrival(unit);
    }

    /// A client sends a new request from `user`.
    pub(super) fn issue(&mut self, client: u32, user: u32) {
        let now = self.now_ns;
        let id = self.next_req_id;
        self.next_req_id += 1;
        let counted = now >= self.warmup_ns;
        let node = self.units[client as usize].node;
        let u = &mut self.units[client as usize];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        let (key, read) = c.draw_content();
        let path = c.draw_path();
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
                dropped: 0,
            })
        } else {
            NO_TRACE
        };
        let req = self.alloc_req(Req {
            id,
            client,
            user,
            user_key: mix(&[u64::from(node.0), u64::from(user)]),
            key,
            path,
            read,
            born_ns: now,
            counted,
            live: true,
            refs: 1,
            trace,
            attempt: 0,
            calls: 0,
        });
        self.send_top(req);
    }

    /// Send (or resend) a request's first call from its client.
    fn send_top(&mut self, req: u32) {
        if self.at_call_limit(req) {
            return self.finish_request(req, Some(FailReason::CallLimit));
        }
        let client = self.reqs[req as usize].client;
        let u = &mut self.units[client as usize];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        // Clients spread over their wires' instances round-robin, as plain DNS does.
        let total = unit::target_count(&u.routes);
        let dest = if total == 0 {
            None
        } else {
            let i = c.next_dest % total;
            c.next_dest = (c.next_dest + 1) % total;
            unit::nth_target(&u.routes, i)
        };
        match dest {
            None => self.finish_request(req, Some(FailReason::NoBackend)),
            Some((to, latency_ns, policy)) => {
                let call = self.alloc_call(req, NONE, client, to, latency_ns, policy);
                self.send(call);
            }
        }
    }

    /// The client has its answer (or its failure).
    pub(super) fn finish_request(&mut self, req: u32, fail: Option<FailReason>) {
        let now = self.now_ns;
        let r = &mut self.reqs[req as usize];
        if !r.live {
            return;
        }
        r.live = false;
        let latency_ns = now - r.born_ns;
        let born_ns = r.born_ns;
        let (client, user, counted, trace, read) = (r.client, r.user, r.counted, r.trace, r.read);
        r.trace = NO_TRACE;
        self.totals.live_all -= 1;
        match fail {
            None => {
                self.totals.interval_completed += 1;
                super::metrics::record(&mut self.totals.interval_latency, latency_ns / 1000);
                if counted {
                    self.totals.completed += 1;
                    super::metrics::record(&mut self.totals.latency, latency_ns);
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
                // The user's next request leaves at least MIN_TURNAROUND_NS after this one
                // did, so a loop with zero think time over a path that answers in zero time
                // (no backend, a full zero-length queue, a dead node) still moves time on.
                let at = (now + think).max(born_ns + super::limits::MIN_TURNAROUND_NS);
                self.events.push(at, Ev::Think { unit: client, user });
            } else {
                c.deactivate(user);
            }
        }
        self.release_req(req);
    }

    // ----- Slots -----

    pub(super) fn alloc_req(&mut self, r: Req) -> u32 {
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

    pub(super) fn release_req(&mut self, req: u32) {
        let r = &mut self.reqs[req as usize];
        r.refs -= 1;
        if r.refs == 0 {
            self.free_reqs.push(req);
        }
    }

    pub(super) fn alloc_call(
        &mut self,
        req: u32,
        parent: u32,
        caller: u32,
        callee: u32,
        latency_ns: u64,
        policy: u32,
    ) -> u32 {
        let r = &mut self.reqs[req as usize];
        r.refs += 1;
        r.calls += 1;
        self.work.max_calls_per_request = self.work.max_calls_per_request.max(r.calls);
        let (parent_epoch, resent) = if parent == NONE {
            (0, self.reqs[req as usize].attempt > 0)
        } else {
            let p = &self.calls[parent as usize];
            (p.epoch, p.resent || p.attempt > 0)
        };
        if self.reqs[req as usize].counted {
            self.totals.calls += 1;
            if !resent {
                self.totals.first_calls += 1;
            }
        }
        let fresh = |epoch: u32| super::Call {
            epoch,
            state: CallState::Transit,
            req,
            parent,
            parent_epoch,
            caller,
            callee,
            latency_ns,
            policy,
            stage: 0,
            attempt: 0,
            resent,
            lb: LbSlot::default(),
            hit: false,
            skip_db: false,
            fail: None,
        };
        match self.free_calls.pop() {
            Some(i) => {
                let epoch = self.calls[i as usize].epoch;
                self.calls[i as usize] = fresh(epoch);
                i
            }
            None => {
                // Call slots grow only when every slot is in use: past the limit, the run stops
                // after this event (the call is still made, so the state stays whole).
                if self.calls.len() as u64 >= self.limits.calls_in_flight {
                    let client = self.reqs[req as usize].client;
                    let node = self.units[client as usize].name.clone();
                    self.stop(
                        Some(node),
                        super::HaltCause::CallsInFlight {
                            max: self.limits.calls_in_flight,
                        },
                    );
                }
                self.calls.push(fresh(0));
                (self.calls.len() - 1) as u32
            }
        }
    }

    /// The request has caused its most calls: the next one fails with `call_limit`. Checked
    /// before a node routes, so no balancer counts a call that is never made.
    pub(super) fn at_call_limit(&self, req: u32) -> bool {
        self.reqs[req as usize].calls >= self.limits.calls_per_request
    }

    pub(super) fn free_call(&mut self, call: u32) {
        let c = &mut self.calls[call as usize];
        c.state = CallState::Free;
        c.epoch = c.epoch.wrapping_add(1);
        let req = c.req;
        self.free_calls.push(call);
        self.release_req(req);
    }

    // ----- Traces -----

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
            if t.hops.len() < super::limits::TRACE_HOPS_MAX {
                t.hops.push(hop);
            } else {
                t.dropped += 1;
            }
        }
    }

    fn trace_decision(&mut self, req: u32, unit: u32, text: impl FnOnce(&Sim) -> String) {
        let r = &self.reqs[req as usize];
        if r.trace == NO_TRACE || !r.live {
            return;
        }
        let slot = r.trace;
        // A full trace counts what it leaves out, without even writing the text.
        if let Some(t) = self.traces.get_mut(slot)
            && t.decisions.len() >= super::limits::TRACE_DECISIONS_MAX
        {
            t.dropped += 1;
            return;
        }
        let text = text(self);
        let at_ns = self.now_ns;
        if let Some(t) = self.traces.get_mut(slot) {
            t.decisions.push(Decision { at_ns, unit, text });
        }
    }

    // ----- Calls -----

    /// Put a call on its wire towards the callee, with its timeout if the wire has one.
    pub(super) fn send(&mut self, call: u32) {
        self.trace_hop(call, false);
        let c = &mut self.calls[call as usize];
        c.state = CallState::Transit;
        let (epoch, policy, parent, req) = (c.epoch, c.policy, c.parent, c.req);
        // A first attempt pays into its wire's retry budget; retries draw from it.
        let is_retry = if parent == NONE {
            self.reqs[req as usize].attempt > 0
        } else {
            self.calls[parent as usize].attempt > 0
        };
        let p = &mut self.policies[policy as usize];
        if !is_retry && p.budget > 0.0 {
            p.tokens = (p.tokens + p.budget).min(super::RETRY_TOKENS_MAX);
        }
        let timeout_ns = p.timeout_ns;
        if timeout_ns > 0 {
            self.events
                .push(self.now_ns + timeout_ns, Ev::Timeout { call, epoch });
        }
        let c = &self.calls[call as usize];
        if c.latency_ns == 0 {
            self.deliver(call);
        } else {
            let ev = Ev::Deliver { call, epoch };
            self.events.push(self.now_ns + c.latency_ns, ev);
        }
    }

    /// Send a call's reply (or failure) back over its wire.
    pub(super) fn send_reply(&mut self, call: u32) {
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
    pub(super) fn reject(&mut self, call: u32, reason: FailReason) {
        let c = &mut self.calls[call as usize];
        c.fail.get_or_insert(reason);
        self.units[c.callee as usize].stats.failed += 1;
        self.send_reply(call);
    }

    /// A call reaches its callee.
    pub(super) fn deliver(&mut self, call: u32) {
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
        let relay_latency = match &u.role {
            Role::Balancer(lb) => Some(lb.latency_ns),
            Role::Router(r) => Some(r.latency_ns),
            _ => None,
        };
        match &u.role {
            Role::Balancer(_) | Role::Router(_) => {
                let done_at = now + relay_latency.unwrap_or(0);
                let c = &mut self.calls[call as usize];
                c.state = CallState::Service;
                let ev = Ev::Done {
                    call,
                    epoch: c.epoch,
                };
                if done_at == now {
                    self.done(call);
                } else {
                    self.events.push(done_at, ev);
                }
            }
            Role::Entry(_) => {
                self.calls[call as usize].state = CallState::Service;
                self.entry_forward(call);
            }
            Role::Server { service, .. } => {
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
    pub(super) fn start(&mut self, call: u32) {
        let now = self.now_ns;
        let c = &mut self.calls[call as usize];
        let req = c.req;
        let r = &self.reqs[req as usize];
        let (read, user_key, client, user, key) = (r.read, r.user_key, r.client, r.user, r.key);
        let counted = r.counted;
        let u = &mut self.units[c.callee as usize];
        let is_db = u.kind == crate::layout::KindTag::Database;
        let Role::Server { service, sessions } = &mut u.role else {
            return;
        };
        let service_ns = service.sample_ns(read, &mut u.rng);
        let service_ns = if u.slow == 1.0 {
            service_ns
        } else {
            unit::ns(service_ns as f64 * u.slow)
        };
        // An app server's own cache: a read it holds skips the shared cache and the database.
        if read && let Some(local) = &mut u.local_cache {
            let hit = local.get(u64::from(key), now);
            c.skip_db = hit;
            if counted {
                if hit {
                    self.totals.local_cache_hits += 1;
                } else {
                    self.totals.local_cache_misses += 1;
                }
            }
        }
        // Sessions: does this server (or store) hold the user's session?
        let had_session = match sessions {
            SessionKeeping::None => true,
            SessionKeeping::Local(set) => !set.insert(user_key),
            SessionKeeping::Store(cache) => {
                let hit = cache.get(user_key, now);
                if !hit {
                    cache.put(user_key, now);
                }
                hit
            }
            SessionKeeping::Data(cache) => {
                // A data cache: the lookup hits or misses; the app server fills it on a miss.
                let hit = read && cache.get(u64::from(key), now);
                c.hit = hit;
                if hit {
                    self.totals.interval_cache_hits += 1;
                    if counted {
                        self.totals.cache_hits += 1;
                    }
                } else {
                    self.totals.interval_cache_misses += 1;
                    if counted {
                        self.totals.cache_misses += 1;
                    }
                }
                true
            }
        };
        if is_db {
            if read {
                self.totals.interval_db_reads += 1;
            } else {
                self.totals.interval_db_writes += 1;
            }
        }
        u.integrate(now);
        u.held += 1;
        u.serving += 1;
        c.state = CallState::Service;
        let ev = Ev::Done {
            call,
            epoch: c.epoch,
        };
        self.events.push(now + service_ns, ev);
        if !had_session && let Role::Client(cs) = &mut self.units[client as usize].role {
            // A user who had logged in before lost their session: logged out.
            if cs.log_in(user) && self.reqs[req as usize].counted {
                self.totals.session_misses += 1;
            }
        }
    }

    /// The callee finished its own work on a call.
    pub(super) fn done(&mut self, call: u32) {
        let now = self.now_ns;
        let unit = self.calls[call as usize].callee;
        let u = &mut self.units[unit as usize];
        match &mut u.role {
            Role::Balancer(_) => self.lb_forward(call),
            Role::Router(_) => self.router_forward(call),
            Role::Server { .. } => {
                u.integrate(now);
                u.serving -= 1;
                let is_db = u.kind == crate::layout::KindTag::Database;
                // A synchronous write holds the worker until its replicas have it.
                if is_db && self.on_db_served(call) {
                    return;
                }
                self.proceed(call);
            }
            Role::Entry(_) | Role::Client(_) => {}
        }
    }

    /// A balancer routes the call to a backend.
    fn lb_forward(&mut self, call: u32) {
        let now = self.now_ns;
        let (unit, req) = {
            let c = &self.calls[call as usize];
            (c.callee, c.req)
        };
        if self.at_call_limit(req) {
            return self.finish(call, Some(FailReason::CallLimit));
        }
        let r = &self.reqs[req as usize];
        let (key, user_key, path_index, client) = (r.key, r.user_key, r.path, r.client);
        let Role::Balancer(lb) = &self.units[unit as usize].role else {
            return;
        };
        let l7 = lb.params.layer == Layer::L7;
        // The group is chosen while the client's path is borrowed, so no path is copied.
        let path = if l7 && path_index != NO_PATH && !lb.params.path_rules.is_empty() {
            match &self.units[client as usize].role {
                Role::Client(c) => c.path(path_index),
                _ => None,
            }
        } else {
            None
        };
        let Some(gi) = lb.group_for(path) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let view = RequestView {
            key: if l7 { mix(&[u64::from(key)]) } else { 0 },
            user: if l7 { user_key } else { 0 },
            client: user_key,
        };
        let u = &mut self.units[unit as usize];
        let Role::Balancer(lb) = &mut u.role else {
            return;
        };
        let Some(route) = lb.route_in(gi, &view, now, &mut u.rng) else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        let g = &lb.groups[route.group as usize];
        let lat = g.latency_ns[route.index as usize];
        let policy = g.policy[route.index as usize];
        let slot = LbSlot {
            group: route.group,
            index: route.index,
            generation: lb.generation,
        };
        if !route.reused_connection {
            let why = route.why;
            let to = route.unit;
            self.trace_decision(req, unit, |sim| {
                balance::explain(why, to, &|i| sim.units[i as usize].name.clone())
            });
        }
        self.calls[call as usize].state = CallState::Waiting;
        let child = self.alloc_call(req, call, unit, route.unit, lat, policy);
        self.calls[child as usize].lb = slot;
        self.send(child);
    }

    /// An entry (floating IP or DNS) passes the call to one of its balancers.
    fn entry_forward(&mut self, call: u32) {
        let now = self.now_ns;
        let (unit, req) = {
            let c = &self.calls[call as usize];
            (c.callee, c.req)
        };
        if self.at_call_limit(req) {
            return self.finish(call, Some(FailReason::CallLimit));
        }
        let client = self.reqs[req as usize].user_key;
        let u = &mut self.units[unit as usize];
        let Role::Entry(e) = &mut u.role else {
            return;
        };
        let n = unit::target_count(&u.routes);
        let Some((to, lat, policy)) = e
            .target(client, n, now)
            .and_then(|i| unit::nth_target(&u.routes, i))
        else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        self.calls[call as usize].state = CallState::Waiting;
        let child = self.alloc_call(req, call, unit, to, lat, policy);
        self.send(child);
    }

    /// An app server makes its next downstream call, or answers when it has made them all.
    pub(super) fn proceed(&mut self, call: u32) {
        let c = &self.calls[call as usize];
        let (mut stage, unit, skip_db) = (c.stage as usize, c.callee, c.skip_db);
        let read = self.reqs[c.req as usize].read;
        let routes = &self.units[unit as usize].routes;
        // Cache-aside: a write does not read the cache; a cache hit does not read the database.
        while let Some(r) = routes.get(stage) {
            let skip = match r.to_kind {
                KindTag::Cache => !read || skip_db,
                KindTag::Database | KindTag::ShardRouter => skip_db,
                _ => false,
            };
            if !skip {
                break;
            }
            stage += 1;
        }
        self.calls[call as usize].stage = stage as u16;
        if stage >= routes.len() {
            return self.finish(call, None);
        }
        let c = &mut self.calls[call as usize];
        c.stage += 1;
        c.attempt = 0;
        self.call_stage(call, stage);
    }

    /// Make the downstream call of route `stage` (a first attempt or a retry).
    fn call_stage(&mut self, call: u32, stage: usize) {
        let (unit, req) = {
            let c = &self.calls[call as usize];
            (c.callee, c.req)
        };
        if self.at_call_limit(req) {
            return self.finish(call, Some(FailReason::CallLimit));
        }
        let u = &mut self.units[unit as usize];
        let Some(route) = u.routes.get_mut(stage) else {
            return self.finish(call, None);
        };
        if route.units.is_empty() {
            return self.finish(call, Some(FailReason::NoBackend));
        }
        let (lat, policy, to_kind, to_node) =
            (route.latency_ns, route.policy, route.to_kind, route.to_node);
        let r = &self.reqs[req as usize];
        let (key, read) = (r.key, r.read);
        let to = match (to_kind, &route.placement) {
            // A cache cluster: the member owning the key.
            (KindTag::Cache, Some(p)) => p
                .member(key, route.units.len())
                .map(|i| route.units[i])
                .unwrap_or(route.units[0]),
            // A database: writes to the primary, reads as it spreads them.
            (KindTag::Database, _) => match self.resolve_db(to_node, read) {
                Some(u) => u,
                None => return self.finish(call, Some(FailReason::NoBackend)),
            },
            _ => {
                let i = route.next % route.units.len();
                route.next = (i + 1) % route.units.len();
                route.units[i]
            }
        };
        self.calls[call as usize].state = CallState::Waiting;
        let child = self.alloc_call(req, call, unit, to, lat, policy);
        self.send(child);
    }

    /// Give free workers to queued calls, oldest first.
    pub(super) fn drain_queue(&mut self, unit: u32) {
        let now = self.now_ns;
        loop {
            let u = &mut self.units[unit as usize];
            if u.held >= u.workers || !u.alive {
                return;
            }
            u.integrate(now);
            let Some(next) = u.queue.pop_front() else {
                return;
            };
            self.start(next);
        }
    }

    /// A call is finished at its callee: free the worker, take the next queued call, reply.
    pub(super) fn finish(&mut self, call: u32, fail: Option<FailReason>) {
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
            if self.units[unit as usize].draining {
                self.retire_if_idle(unit);
            }
        }
        self.send_reply(call);
    }

    /// A reply reaches the caller.
    pub(super) fn reply(&mut self, call: u32) {
        let c = &self.calls[call as usize];
        let (parent, parent_epoch, req, fail, policy, callee, lb, hit, from) = (
            c.parent,
            c.parent_epoch,
            c.req,
            c.fail,
            c.policy,
            c.callee,
            c.lb,
            c.hit,
            c.caller,
        );
        self.free_call(call);
        if parent == ORPHAN {
            return;
        }
        if parent == NONE {
            match fail {
                None => self.finish_request(req, None),
                Some(reason) => self.client_failed(req, policy, reason),
            }
            return;
        }
        let p = &self.calls[parent as usize];
        if p.epoch != parent_epoch || p.state != CallState::Waiting {
            // The caller gave up on this call (it failed or was killed meanwhile). A balancer
            // still counted it in flight at the backend: release it, or least-connections and
            // power of two would see that backend busier for the rest of the run.
            if let Role::Balancer(state) = &mut self.units[from as usize].role {
                state.release(lb.group, lb.index, callee, lb.generation);
            }
            return;
        }
        let caller = p.callee;
        if fail.is_none() {
            match self.units[callee as usize].kind {
                KindTag::Cache if hit => {
                    self.calls[parent as usize].skip_db = true;
                    // The app server keeps a copy in its own cache, if it has one.
                    let key = self.reqs[req as usize].key;
                    let now = self.now_ns;
                    if let Some(local) = &mut self.units[caller as usize].local_cache {
                        local.put(u64::from(key), now);
                    }
                }
                KindTag::Database | KindTag::ShardRouter
                    if matches!(self.units[caller as usize].role, Role::Server { .. }) =>
                {
                    self.touch_cache_after_db(parent)
                }
                _ => {}
            }
        }
        self.on_child_done(parent, caller, callee, lb, policy, fail);
    }

    /// The caller `parent` (at instance `caller`) has the answer of its call to `callee`.
    fn on_child_done(
        &mut self,
        parent: u32,
        caller: u32,
        callee: u32,
        lb: LbSlot,
        policy: u32,
        fail: Option<FailReason>,
    ) {
        let user_key = self.reqs[self.calls[parent as usize].req as usize].user_key;
        let is_server = match &mut self.units[caller as usize].role {
            Role::Balancer(state) => {
                state.release(lb.group, lb.index, callee, lb.generation);
                if fail == Some(FailReason::NodeDown) {
                    state.drop_connection(user_key);
                }
                false
            }
            Role::Server { .. } => true,
            _ => false,
        };
        match fail {
            Some(reason) => self.caller_failed(parent, policy, reason),
            None if is_server => self.proceed(parent),
            None => self.finish(parent, None),
        }
    }

    // ----- Timeouts and retries -----

    /// The caller stops waiting for a call: it fails with `timeout` at the caller, while the
    /// callee, unaware, goes on working on it (its reply will be dropped).
    pub(super) fn on_timeout(&mut self, call: u32, epoch: u32) {
        let c = &self.calls[call as usize];
        if c.epoch != epoch
            || !matches!(
                c.state,
                CallState::Transit | CallState::Queued | CallState::Service | CallState::Waiting
            )
            || c.parent == ORPHAN
        {
            return;
        }
        let (parent, parent_epoch, req, policy, callee, lb) =
            (c.parent, c.parent_epoch, c.req, c.policy, c.callee, c.lb);
        self.calls[call as usize].parent = ORPHAN;
        if parent == NONE {
            self.client_failed(req, policy, FailReason::Timeout);
            return;
        }
        let p = &self.calls[parent as usize];
        if p.epoch != parent_epoch || p.state != CallState::Waiting {
            return;
        }
        let caller = p.callee;
        self.on_child_done(
            parent,
            caller,
            callee,
            lb,
            policy,
            Some(FailReason::Timeout),
        );
    }

    /// Whether the wire `policy` allows one more retry after `attempt` attempts (and takes a
    /// token from its budget if so).
    fn may_retry(&mut self, policy: u32, attempt: u8) -> bool {
        let p = &mut self.policies[policy as usize];
        if u32::from(attempt) >= p.retries {
            return false;
        }
        if p.budget > 0.0 {
            if p.tokens < 1.0 {
                return false;
            }
            p.tokens -= 1.0;
        }
        true
    }

    /// Backoff before retry number `attempt` (1-based): exponential, with full jitter.
    fn backoff_ns(&mut self, policy: u32, attempt: u8, unit: u32) -> u64 {
        let base = self.policies[policy as usize].backoff_ns as f64;
        let cap = base * f64::from(1u32 << (attempt.saturating_sub(1).min(16)));
        let x: f64 = self.units[unit as usize].rng.random();
        unit::ns(cap * x).max(1)
    }

    /// A call made by `parent` failed: retry it if the wire allows, else fail `parent`.
    fn caller_failed(&mut self, parent: u32, policy: u32, reason: FailReason) {
        let p = &self.calls[parent as usize];
        let (attempt, caller, req) = (p.attempt, p.callee, p.req);
        if reason != FailReason::CallLimit && self.may_retry(policy, attempt) {
            let p = &mut self.calls[parent as usize];
            p.attempt += 1;
            let epoch = p.epoch;
            if self.reqs[req as usize].counted {
                self.totals.retries += 1;
            }
            let wait = self.backoff_ns(policy, attempt + 1, caller);
            self.events.push(
                self.now_ns + wait,
                Ev::Retry {
                    call: parent,
                    epoch,
                },
            );
        } else {
            self.finish(parent, Some(reason));
        }
    }

    /// A client's request failed on its first wire: retry if allowed, else it has failed.
    fn client_failed(&mut self, req: u32, policy: u32, reason: FailReason) {
        let r = &self.reqs[req as usize];
        if !r.live {
            return;
        }
        let (attempt, client) = (r.attempt, r.client);
        if reason != FailReason::CallLimit && self.may_retry(policy, attempt) {
            let r = &mut self.reqs[req as usize];
            r.attempt += 1;
            r.refs += 1;
            let id = r.id as u32;
            if r.counted {
                self.totals.retries += 1;
            }
            let wait = self.backoff_ns(policy, attempt + 1, client);
            self.events
                .push(self.now_ns + wait, Ev::ClientRetry { req, id });
        } else {
            self.finish_request(req, Some(reason));
        }
    }

    /// A retry's backoff is over: resend.
    pub(super) fn on_retry(&mut self, call: u32, epoch: u32) {
        let c = &self.calls[call as usize];
        if c.epoch != epoch || c.state != CallState::Waiting {
            return;
        }
        let unit = c.callee;
        match &self.units[unit as usize].role {
            Role::Balancer(_) => self.lb_forward(call),
            Role::Entry(_) => self.entry_forward(call),
            Role::Server { .. } => {
                let stage = self.calls[call as usize].stage.saturating_sub(1) as usize;
                self.call_stage(call, stage);
            }
            Role::Router(_) => self.router_forward(call),
            Role::Client(_) => {}
        }
    }

    /// A client's retry backoff is over: resend the request.
    pub(super) fn on_client_retry(&mut self, req: u32, id: u32) {
        let r = &self.reqs[req as usize];
        let ours = r.id as u32 == id && r.live;
        if ours {
            self.send_top(req);
        }
        self.release_req(req);
    }

    // ----- Health -----

    /// A balancer probes each backend: an instance that is up answers at once; a dead one
    /// fails after the probe timeout.
    pub(super) fn on_probe(&mut self, lb_unit: u32) {
        let now = self.now_ns;
        let Role::Balancer(lb) = &self.units[lb_unit as usize].role else {
            return;
        };
        if !lb.params.health_checks {
            return;
        }
        let interval = crate::layout::ms_to_ns(lb.params.health_interval_ms).max(1);
        let timeout = crate::layout::ms_to_ns(lb.params.health_timeout_ms);
        let backends = lb.backend_units();
        if self.units[lb_unit as usize].alive {
            for b in backends {
                let up = self.units[b as usize].alive && !self.units[b as usize].removed;
                if up {
                    if let Role::Balancer(lb) = &mut self.units[lb_unit as usize].role
                        && lb.probe_result(b, true)
                    {
                        self.count_mark(b, false);
                        self.log_state(b, super::metrics::StateChange::MarkedUp, Some(lb_unit));
                    }
                } else {
                    self.events.push(
                        now + timeout,
                        Ev::ProbeFail {
                            unit: lb_unit,
                            backend: b,
                        },
                    );
                }
            }
        }
        self.events
            .push(now + interval, Ev::Probe { unit: lb_unit });
    }

    pub(super) fn on_probe_fail(&mut self, lb_unit: u32, backend: u32) {
        if let Role::Balancer(lb) = &mut self.units[lb_unit as usize].role
            && lb.probe_result(backend, false)
        {
            self.count_mark(backend, true);
            self.log_state(
                backend,
                super::metrics::StateChange::MarkedDown,
                Some(lb_unit),
            );
        }
    }

    /// Schedule the first health probe of a balancer, at a phase of its own so balancers do not
    /// probe in lockstep.
    pub(super) fn start_probes(&mut self, lb_unit: u32) {
        let u = &self.units[lb_unit as usize];
        let Role::Balancer(lb) = &u.role else {
            return;
        };
        if !lb.params.health_checks {
            return;
        }
        let interval = crate::layout::ms_to_ns(lb.params.health_interval_ms).max(1);
        let phase = mix(&[u64::from(u.node.0), u64::from(u.member)]) % interval;
        self.events
            .push(self.now_ns + phase, Ev::Probe { unit: lb_unit });
    }

    /// Heartbeats (floating IP) or DNS health checks of an entry.
    pub(super) fn on_entry_check(&mut self, entry: u32) {
        let now = self.now_ns;
        let u = &self.units[entry as usize];
        let up: Vec<bool> = u
            .routes
            .iter()
            .flat_map(|r| r.units.iter())
            .map(|&x| self.units[x as usize].alive && !self.units[x as usize].removed)
            .collect();
        let Role::Entry(e) = &mut self.units[entry as usize].role else {
            return;
        };
        e.set_targets(up.len());
        e.check(&up);
        let interval = e.check_interval_ns();
        if interval > 0 {
            self.events
                .push(now + interval, Ev::EntryCheck { unit: entry });
        }
    }

    /// Schedule an entry's first check.
    pub(super) fn start_entry_checks(&mut self, entry: u32) {
        let Role::Entry(e) = &self.units[entry as usize].role else {
            return;
        };
        let interval = e.check_interval_ns();
        if interval > 0 {
            self.events
                .push(self.now_ns + interval, Ev::EntryCheck { unit: entry });
        }
    }

    /// Whether any balancer has marked `unit` down (kept as a count per instance, updated when
    /// a health verdict flips, so the window can ask for every node on every frame).
    pub(super) fn marked_down(&self, unit: u32) -> bool {
        self.marked_by.get(unit as usize).is_some_and(|&n| n > 0)
    }

    /// A balancer's verdict on `unit` flipped to `down` (true) or back up.
    fn count_mark(&mut self, unit: u32, down: bool) {
        let i = unit as usize;
        if self.marked_by.len() <= i {
            self.marked_by.resize(i + 1, 0);
        }
        let n = &mut self.marked_by[i];
        *n = if down { *n + 1 } else { n.saturating_sub(1) };
    }
}
