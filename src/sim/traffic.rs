//! Traffic: clients start their arrivals or users, follow ramps, issue requests and take
//! their answers (a closed-loop user then thinks and asks again).

use super::ix::{ReqIx, UnitIx};
use super::queue::Ev;
use super::request::FailReason;
use super::slowest::SlowRequest;
use super::trace::Trace;
use super::unit::{self, Role};
use super::{Outcome, Req, Sim};
use crate::layout::LoopMode;

impl Sim {
    /// Begin a client's arrivals (open loop) or its users' first think (closed loop).
    pub(super) fn start_traffic(&mut self, unit: UnitIx) {
        let u = &mut self.units[unit];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        match c.params.mode {
            LoopMode::Open => self.schedule_arrival(unit),
            LoopMode::Closed => {
                let users = c.params.users;
                for user in 0..users {
                    let u = &mut self.units[unit];
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
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn schedule_arrival(&mut self, unit: UnitIx) {
        let now = self.now_ns;
        let u = &mut self.units[unit];
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

    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn on_arrival(&mut self, unit: UnitIx, epoch: u32) {
        let u = &mut self.units[unit];
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

    pub(super) fn on_ramp(&mut self, unit: UnitIx, epoch: u32) {
        let now = self.now_ns;
        let u = &mut self.units[unit];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        let Some(ramp) = c.ramp else {
            return;
        };
        if c.ramp_epoch != epoch {
            return;
        }
        if now >= ramp.end_ns {
            c.qps = ramp.end_qps;
            c.ramp = None;
        } else {
            c.qps = ramp.qps_at(now);
            let next = (now + super::series::SAMPLE_NS).min(ramp.end_ns);
            self.events.push(next, Ev::Ramp { unit, epoch });
        }
        // Poisson arrivals are memoryless, so redrawing the next one at the new rate is exact.
        self.schedule_arrival(unit);
    }

    /// A client sends a new request from `user`.
    ///
    /// An arrival's whole path, so always inlined: each out-of-line step saves and restores six
    /// registers, which on mm4 cost more than the step's own work (callgrind).
    #[inline(always)]
    pub(super) fn issue(&mut self, client: UnitIx, user: u32) {
        let id = self.next_req_id;
        self.next_req_id += 1;
        let u = &mut self.units[client];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        let (key, read) = c.draw_content();
        let path = c.draw_path();
        let cacheable = super::cdn::draw_cacheable(c, read);
        let trace = self.traces.wants(id);
        let content = Content {
            user,
            user_key: c.user_key(user),
            key,
            read,
            path,
            cacheable,
        };
        self.launch(client, id, content, trace, false);
    }

    /// `send_request`: the client sends this request now, traced whatever the sampling. No
    /// random number is drawn, so the run's other requests see the same draws as without it.
    /// Returns the request's id.
    pub(super) fn issue_asked(
        &mut self,
        client: UnitIx,
        user: u32,
        key: u32,
        read: bool,
        path: Option<&str>,
    ) -> Result<u64, String> {
        let u = &mut self.units[client];
        let Role::Client(c) = &u.role else {
            return Err(format!("{} is not a client", u.name));
        };
        if !u.alive {
            return Err(format!("{} is down", u.name));
        }
        let (keys, users) = (c.params.keys, c.params.users);
        if key == 0 || key > keys {
            return Err(format!(
                "key {key} is not one of {}'s keys (1 to {keys})",
                u.name
            ));
        }
        if user >= users {
            return Err(format!(
                "user {user} is not below {}'s users ({users})",
                u.name
            ));
        }
        let path = match path {
            None => None,
            Some(p) => match c.params.paths.iter().position(|x| x.path == p) {
                Some(i) => Some(i as u16),
                None => return Err(format!("{} has no path {p}", u.name)),
            },
        };
        let id = self.next_req_id;
        self.next_req_id += 1;
        // The sampling countdown moves past this id as it would have anyway.
        self.traces.wants(id);
        // No draw: an asked read is cacheable whenever the client sends cacheable reads.
        let cacheable = read && c.params.cacheable_share > 0.0;
        let content = Content {
            user,
            user_key: c.user_key(user),
            key,
            read,
            path,
            cacheable,
        };
        self.launch(client, id, content, true, true);
        Ok(id)
    }

    /// Start request `id` from `client`: count it, open its trace if `traced`, and send its
    /// first call. `asked`: sent on purpose (`send_request`), its trace kept apart.
    ///
    /// Always inlined into `issue` (see there).
    #[inline(always)]
    fn launch(&mut self, client: UnitIx, id: u64, content: Content, traced: bool, asked: bool) {
        let now = self.now_ns;
        let counted = now >= self.warmup_ns;
        self.units[client].stats.calls += 1;
        if counted {
            self.totals.arrived += 1;
            self.totals.in_flight += 1;
        }
        self.totals.live_all += 1;
        let Content {
            user,
            user_key,
            key,
            read,
            path,
            cacheable,
        } = content;
        // Most requests are not traced: the record is made out of line.
        let trace = if traced {
            Some(self.open_trace(Trace {
                request_id: id,
                client,
                user,
                key,
                read,
                born_ns: now,
                end_ns: None,
                outcome: None,
                hops: Vec::new(),
                hops_until_ns: 0,
                decisions: Vec::new(),
                dropped: 0,
                asked,
            }))
        } else {
            None
        };
        let req = self.alloc_req(Req {
            id,
            client,
            user,
            user_key,
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
            asked,
            cacheable,
        });
        self.send_top(req);
    }

    /// Open a launched request's trace; out of line, as few requests are traced.
    #[cold]
    #[inline(never)]
    fn open_trace(&mut self, trace: Trace) -> u32 {
        self.traces.open(trace)
    }

    /// Send (or resend) a request's first call from its client.
    ///
    /// Always inlined (see `issue`).
    #[inline(always)]
    pub(super) fn send_top(&mut self, req: ReqIx) {
        if self.at_call_limit(req) {
            return self.finish_request(req, Some(FailReason::CallLimit));
        }
        let client = self.reqs[req].client;
        let u = &mut self.units[client];
        let Role::Client(c) = &mut u.role else {
            return;
        };
        // Clients spread over their wires' instances round-robin, as plain DNS does.
        let total = unit::target_count(&u.routes);
        let dest = if total == 0 {
            None
        } else {
            // The cursor is below `total` unless the routes shrank since: no division then.
            let i = if c.next_dest < total {
                c.next_dest
            } else {
                c.next_dest % total
            };
            c.next_dest = if i + 1 == total { 0 } else { i + 1 };
            unit::nth_target(&u.routes, i)
        };
        match dest {
            None => self.finish_request(req, Some(FailReason::NoBackend)),
            Some((to, latency_ns, policy)) => {
                let call = self.alloc_call(req, None, client, to, latency_ns, policy);
                self.send(call);
            }
        }
    }

    /// The client has its answer (or its failure).
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn finish_request(&mut self, req: ReqIx, fail: Option<FailReason>) {
        if self.mq_is_message(req) {
            return self.mq_replied(req, fail);
        }
        let now = self.now_ns;
        let r = &mut self.reqs[req];
        if !r.live {
            return;
        }
        r.live = false;
        let latency_ns = now - r.born_ns;
        let (born_ns, id) = (r.born_ns, r.id);
        let (client, user, counted, trace, read) = (r.client, r.user, r.counted, r.trace, r.read);
        let asked = r.asked;
        r.trace = None;
        self.totals.live_all -= 1;
        match fail {
            None => {
                self.totals.interval_completed += 1;
                self.totals.interval_latency.record(latency_ns / 1000);
                let slow = SlowRequest {
                    request_id: id,
                    latency_ns,
                };
                let t = &mut self.totals;
                if t.interval_slowest.is_none_or(|s| s.latency_ns < latency_ns) {
                    t.interval_slowest = Some(slow);
                }
                if counted {
                    self.totals.completed += 1;
                    self.totals.slowest.record(id, latency_ns);
                    self.totals.latency.record(latency_ns);
                    self.totals.latency_sum_ns += u128::from(latency_ns);
                }
            }
            Some(reason) => {
                self.totals.interval_failed += 1;
                if reason == FailReason::RateLimited {
                    self.totals.interval_rate_limited += 1;
                }
                if counted {
                    self.totals.failed += 1;
                    self.totals.failed_by[reason.index()] += 1;
                }
            }
        }
        if counted {
            self.totals.in_flight -= 1;
        }
        let cu = &mut self.units[client];
        if fail.is_some() {
            cu.stats.failed += 1;
        } else {
            cu.stats.served += 1;
        }
        if let Some(trace) = trace {
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
            && !asked
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
}

/// What a request asks for: whose, which key, read or write, and the path (if the client has
/// paths).
struct Content {
    user: u32,
    /// `ClientState::user_key` of `user`.
    user_key: u64,
    key: u32,
    read: bool,
    path: Option<u16>,
    cacheable: bool,
}
