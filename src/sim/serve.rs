//! Serving at the callee: a call arrives, waits in the queue for a worker, holds it while it
//! waits for a core and is served (or is relayed by a balancer or router after its latency),
//! and frees its worker when done. A server's own jobs (replicated writes, cache fills) take
//! the same queue, worker and core.

use super::ix::{CallIx, ReqIx, UnitIx};
use super::queue::Ev;
use super::request::FailReason;
use super::trace::What;
use super::unit::{self, Kept, Role, Task};
use super::{CallState, Sim};

impl Sim {
    /// A call reaches its callee.
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn deliver(&mut self, call: CallIx) {
        self.mq_delivered(call);
        let now = self.now_ns;
        let unit = self.calls[call].callee;
        let u = &mut self.units[unit];
        u.stats.calls += 1;
        if u.removed {
            return self.reject(call, FailReason::NodeRemoved);
        }
        if !u.alive {
            return self.reject(call, FailReason::NodeDown);
        }
        // One look at the role: a server (the common case) first, then the relays.
        let relay_ns = match &u.role {
            Role::Server { .. } => return self.arrive_at_server(call, unit, now),
            Role::Balancer(lb) => lb.latency_ns,
            Role::Router(r) => r.latency_ns,
            Role::Cdn(e) => e.latency_ns,
            Role::Entry(_) => {
                self.calls[call].state = CallState::Service;
                return self.entry_forward(call);
            }
            Role::Limiter(_) => return self.limiter_arrive(call),
            Role::Client(_) => return self.reject(call, FailReason::NoBackend),
            Role::Queue(_) => return self.mq_write(call, unit),
        };
        let done_at = now + relay_ns;
        let c = &mut self.calls[call];
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

    /// A call reaches a server that is up: a free worker starts it, else it queues (or is
    /// refused when the queue is full).
    /// Always inlined into `deliver`, its one caller.
    #[inline(always)]
    fn arrive_at_server(&mut self, call: CallIx, unit: UnitIx, now: u64) {
        let req = self.calls[call].req;
        // What the call finds, worked out only for a traced request.
        self.trace_decision(req, unit, |sim| {
            let u = &sim.units[unit];
            What::Arrived {
                queued: u.queue.len() as u32,
                busy: u.held,
                workers: u.workers,
            }
        });
        let u = &mut self.units[unit];
        let Role::Server { service, .. } = &u.role else {
            return;
        };
        if !self.calls[call].probe {
            let read = self.reqs[req].read;
            u.stats.demand_ns += service.mean_ns(read) * u.slow;
        }
        if u.held < u.workers {
            self.start(call, req);
        } else if u.queue_has_room() {
            u.queue_task(Task::Call(call, req), now);
            let c = &mut self.calls[call];
            c.state = CallState::Queued;
            c.queued_ns = now;
        } else {
            u.stats.queue_full += 1;
            self.reject(call, FailReason::QueueFull);
        }
    }

    /// A server gives a worker to a call and starts serving it.
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn start(&mut self, call: CallIx, req: ReqIx) {
        let now = self.now_ns;
        let c = &mut self.calls[call];
        debug_assert!(c.req == req, "a task's request is its call's");
        // Only a call taken from the worker queue is `Queued` here (it waits for a core later).
        let waited_ns = if c.state == CallState::Queued {
            now.saturating_sub(c.queued_ns)
        } else {
            0
        };
        let unit = c.callee;
        let u = &mut self.units[unit];
        u.stats.started += 1;
        u.stats.wait_ns += u128::from(waited_ns);
        if c.probe {
            // A deep probe holds a worker only to answer: no work, no lookups.
            u.hold(now);
            u.serve(now);
            c.state = CallState::Service;
            let ev = Ev::Done {
                call,
                epoch: c.epoch,
            };
            self.events.push(now, ev);
            return;
        }
        let r = &self.reqs[req];
        let (read, user_key, client, user, key) = (r.read, r.user_key, r.client, r.user, r.key);
        let counted = r.counted;
        let is_db = u.kind == crate::layout::KindTag::Database;
        let Role::Server { kept, .. } = &mut u.role else {
            return;
        };
        let mut local_hit = None;
        // An app server's own cache: a read it holds skips the shared cache and the database.
        if read && let Some(local) = &mut u.local_cache {
            let hit = local.get(u64::from(key), now);
            local_hit = Some(hit);
            c.skip_db = hit;
            if counted {
                if hit {
                    self.totals.local_cache_hits += 1;
                } else {
                    self.totals.local_cache_misses += 1;
                }
            }
        }
        // Sessions: does this server (or store) hold the user's session? A data cache: does
        // it hold the key?
        let session_store = match kept {
            Kept::LocalSessions(_) => Some(false),
            Kept::SessionStore(_) => Some(true),
            _ => None,
        };
        let (had_session, data_hit) = look_up_kept(kept, read, user_key, key, now);
        if let Some(hit) = data_hit {
            c.hit = hit;
            let t = &mut self.totals;
            if hit {
                t.interval_cache_hits += 1;
                t.cache_hits += u64::from(counted);
            } else {
                t.interval_cache_misses += 1;
                t.cache_misses += u64::from(counted);
            }
        }
        if is_db {
            if read {
                self.totals.interval_db_reads += 1;
            } else {
                self.totals.interval_db_writes += 1;
            }
        }
        debug_assert!(u.held < u.workers, "a call started with every worker held");
        u.hold(now);
        self.take_core(unit, Task::Call(call, req), read);
        if !had_session && let Role::Client(cs) = &mut self.units[client].role {
            // A user who had logged in before lost their session: logged out.
            if cs.log_in(user) && counted {
                self.totals.session_misses += 1;
            }
        }
        // Most requests are not traced: one check for the records below.
        let r = &self.reqs[req];
        if r.trace.is_none() || !r.live {
            return;
        }
        self.trace_decision(req, unit, |_| What::Started);
        // The trace's records of what this server looked up, in the order it looked.
        if let Some(hit) = local_hit {
            self.trace_decision(req, unit, |_| What::LocalCacheLookup { key, hit });
        }
        if let Some(store) = session_store {
            let found = had_session;
            self.trace_decision(req, unit, |_| What::Session { found, store });
        }
        if let Some(hit) = data_hit.filter(|_| read) {
            self.trace_decision(req, unit, |sim| What::CacheLookup {
                key,
                hit,
                keys_held: sim.cache_keys_held(unit),
            });
        }
        if is_db {
            self.trace_decision(req, unit, |_| What::Database { key, read });
        }
    }

    /// The callee finished its own work on a call.
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn done(&mut self, call: CallIx) {
        let now = self.now_ns;
        let unit = self.calls[call].callee;
        let u = &mut self.units[unit];
        match &mut u.role {
            Role::Balancer(_) => self.lb_forward(call),
            Role::Router(_) => self.router_forward(call),
            Role::Cdn(_) => self.cdn_forward(call),
            Role::Limiter(_) => self.limiter_forward(call),
            Role::Server { .. } => {
                u.unserve(now);
                if self.calls[call].probe {
                    return self.finish(call, None);
                }
                let is_db = u.kind == crate::layout::KindTag::Database;
                self.next_core(unit);
                // A synchronous write holds the worker until its replicas have it.
                if is_db && self.on_db_served(call) {
                    return;
                }
                self.proceed(call);
            }
            Role::Queue(_) => self.finish(call, None),
            Role::Entry(_) | Role::Client(_) => {}
        }
    }

    /// Give free workers to queued work, oldest first.
    ///
    /// Always inlined (see `take_core`).
    #[inline(always)]
    pub(super) fn drain_queue(&mut self, unit: UnitIx) {
        let now = self.now_ns;
        loop {
            let u = &mut self.units[unit];
            if u.held >= u.workers || !u.alive {
                return;
            }
            match u.take_task(now) {
                None => return,
                Some(Task::Call(next, req)) => self.start(next, req),
                Some(Task::Job(job)) => self.start_job(job),
            }
        }
    }

    /// Work that holds a worker asks for a core: served at once if one is free, else it waits.
    /// `read`: the work is a read (its service time is a read's).
    ///
    /// Always inlined: a few lines, on every call a server starts (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn take_core(&mut self, unit: UnitIx, work: Task, read: bool) {
        let u = &mut self.units[unit];
        if u.serving < u.cores {
            self.serve_on_core(unit, work, read);
        } else {
            u.cpu_queue.push_back(work);
            if let Task::Call(call, _) = work {
                self.calls[call].state = CallState::Queued;
            }
        }
    }

    /// A core came free: give it to the oldest work waiting for one (more cores after a
    /// resize: to as many as fit). Always inlined, as the plain path's other steps (see
    /// `Sim::issue`).
    #[inline(always)]
    pub(super) fn next_core(&mut self, unit: UnitIx) {
        loop {
            let u = &mut self.units[unit];
            if u.serving >= u.cores || !u.alive {
                return;
            }
            let Some(work) = u.cpu_queue.pop_front() else {
                return;
            };
            let read = match work {
                Task::Call(_, req) => self.reqs[req].read,
                Task::Job(job) => self.job_is_read(job),
            };
            self.serve_on_core(unit, work, read);
        }
    }

    /// Serve work on a free core. Its service time (a read's if `read`) is drawn now, slowed by
    /// the cores busy (USL, on a sized box) and by a slow-down fault.
    ///
    /// Always inlined (see `take_core`).
    #[inline(always)]
    fn serve_on_core(&mut self, unit: UnitIx, work: Task, read: bool) {
        let now = self.now_ns;
        let u = &mut self.units[unit];
        u.serve(now);
        let slowdown = u.slowdown(u.serving);
        let Role::Server { service, .. } = &u.role else {
            return;
        };
        let service_ns = service.sample_ns(read, &mut u.rng);
        let service_ns = if slowdown == 1.0 {
            service_ns
        } else {
            unit::ns(service_ns as f64 * slowdown)
        };
        match work {
            Task::Call(call, _) => {
                let c = &mut self.calls[call];
                c.state = CallState::Service;
                let ev = Ev::Done {
                    call,
                    epoch: c.epoch,
                };
                self.events.push(now + service_ns, ev);
            }
            Task::Job(job) => self.events.push(now + service_ns, Ev::JobDone { job }),
        }
    }
}

/// Look a call up in what a server keeps: (the user had a session here, or nothing is kept;
/// for a data cache, whether a read hit). A session store adds a missing session; the app
/// server fills a data cache after a miss (cache-aside).
fn look_up_kept(
    kept: &mut Kept,
    read: bool,
    user_key: u64,
    key: u32,
    now: u64,
) -> (bool, Option<bool>) {
    match kept {
        Kept::Nothing => (true, None),
        Kept::LocalSessions(set) => (!set.insert(user_key), None),
        Kept::SessionStore(cache) => {
            let hit = cache.get(user_key, now);
            if !hit {
                cache.put(user_key, now);
            }
            (hit, None)
        }
        Kept::DataCache(cache) => (true, Some(read && cache.get(u64::from(key), now))),
    }
}
