//! The call lifecycle: request and call slots, a call crossing its wire, its reply travelling
//! back, and the caller taking the answer; plus the trace hops and decisions on the way.

use super::ix::{CallIx, PolicyIx, ReqIx, UnitIx};
use super::lb::LbSlot;
use super::queue::Ev;
use super::request::FailReason;
use super::trace::{Decision, Hop, What};
use super::unit::Role;
use super::{CallState, Req, Sim};
use crate::layout::KindTag;

impl Sim {
    /// Put a new request in a free slot (or a new one).
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn alloc_req(&mut self, r: Req) -> ReqIx {
        match self.free_reqs.pop() {
            Some(i) => {
                debug_assert_eq!(
                    self.reqs[i].refs, 0,
                    "a request slot reused while referred to"
                );
                self.reqs[i] = r;
                i
            }
            None => {
                self.reqs.push(r);
                ReqIx::at(self.reqs.len() - 1)
            }
        }
    }

    /// One reference to a request fewer (the client's wait, or a call's); the slot is free
    /// once none is left.
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn release_req(&mut self, req: ReqIx) {
        let r = &mut self.reqs[req];
        debug_assert!(r.refs > 0, "a request released more often than referred to");
        r.refs -= 1;
        if r.refs == 0 {
            self.free_reqs.push(req);
        }
    }

    /// Make a call of request `req` on behalf of `parent` (`None`: the client's own call).
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn alloc_call(
        &mut self,
        req: ReqIx,
        parent: Option<CallIx>,
        caller: UnitIx,
        callee: UnitIx,
        latency_ns: u64,
        policy: PolicyIx,
    ) -> CallIx {
        let r = &mut self.reqs[req];
        r.refs += 1;
        r.calls += 1;
        let (calls, attempt, counted) = (r.calls, r.attempt, r.counted);
        self.work.max_calls_per_request = self.work.max_calls_per_request.max(calls);
        let (parent_epoch, resent) = match parent {
            None => (0, attempt > 0),
            Some(parent) => {
                let p = &self.calls[parent];
                (p.epoch, p.resent || p.attempt > 0)
            }
        };
        if counted {
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
            orphaned: false,
            caller,
            callee,
            latency_ns,
            policy,
            stage: 0,
            attempt: 0,
            resent,
            lb: LbSlot::default(),
            lb_counted: false,
            hit: false,
            skip_db: false,
            probe: false,
            fail: None,
            queued_ns: 0,
        };
        match self.free_calls.pop() {
            Some(i) => {
                debug_assert_eq!(self.calls[i].state, CallState::Free, "a call slot in use");
                let epoch = self.calls[i].epoch;
                self.calls[i] = fresh(epoch);
                i
            }
            None => {
                // Call slots grow only when every slot is in use: past the limit, the run stops
                // after this event (the call is still made, so the state stays whole).
                if self.calls.len() as u64 >= self.limits.calls_in_flight {
                    let client = self.reqs[req].client;
                    let node = self.units[client].name.clone();
                    self.stop(
                        Some(node),
                        super::HaltCause::CallsInFlight {
                            max: self.limits.calls_in_flight,
                        },
                    );
                }
                self.calls.push(fresh(0));
                CallIx::at(self.calls.len() - 1)
            }
        }
    }

    /// The request has caused its most calls: the next one fails with `call_limit`. Checked
    /// before a node routes, so no balancer counts a call that is never made.
    pub(super) fn at_call_limit(&self, req: ReqIx) -> bool {
        self.reqs[req].calls >= self.limits.calls_per_request
    }

    /// The call has ended: its slot is free and it no longer holds its request.
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn free_call(&mut self, call: CallIx) {
        let c = &mut self.calls[call];
        debug_assert_ne!(c.state, CallState::Free, "a call released twice");
        c.state = CallState::Free;
        c.epoch = c.epoch.wrapping_add(1);
        let req = c.req;
        self.free_calls.push(call);
        self.release_req(req);
    }

    /// Record a hop on the request's trace, if it is traced and still live. Most requests are
    /// not traced: that check is inlined at every hop, the record is made out of line. `req`
    /// is the call's request, which the caller already holds (checked in debug builds).
    #[inline]
    pub(super) fn trace_hop(&mut self, call: CallIx, req: ReqIx, reply: bool) {
        debug_assert!(
            self.calls[call].req == req,
            "a call's hop on its own request"
        );
        let r = &self.reqs[req];
        if let Some(slot) = r.trace.filter(|_| r.live) {
            self.record_hop(call, slot, reply);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_hop(&mut self, call: CallIx, slot: u32, reply: bool) {
        let c = &self.calls[call];
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
            call: (call.index() as u64) << 32 | u64::from(c.epoch),
        };
        if let Some(t) = self.traces.get_mut(slot) {
            if t.hops.len() < super::limits::TRACE_HOPS_MAX {
                t.hops_until_ns = t.hops_until_ns.max(hop.arrive_ns);
                t.hops.push(hop);
            } else {
                t.dropped += 1;
            }
        }
    }

    /// Record a decision on the request's trace, if it is traced and still live (`what` is
    /// only worked out then).
    #[inline]
    pub(super) fn trace_decision(
        &mut self,
        req: ReqIx,
        unit: UnitIx,
        what: impl FnOnce(&Sim) -> What,
    ) {
        let r = &self.reqs[req];
        if let Some(slot) = r.trace.filter(|_| r.live) {
            self.record_decision(slot, unit, what);
        }
    }

    #[cold]
    fn record_decision(&mut self, slot: u32, unit: UnitIx, what: impl FnOnce(&Sim) -> What) {
        // A full trace counts what it leaves out, without even working the record out.
        if let Some(t) = self.traces.get_mut(slot)
            && t.decisions.len() >= super::limits::TRACE_DECISIONS_MAX
        {
            t.dropped += 1;
            return;
        }
        let what = what(self);
        let at_ns = self.now_ns;
        if let Some(t) = self.traces.get_mut(slot) {
            t.decisions.push(Decision { at_ns, unit, what });
        }
    }

    /// Keys a data cache instance holds now (0 for anything else), for trace records.
    pub(super) fn cache_keys_held(&self, unit: UnitIx) -> u32 {
        match &self.units[unit].role {
            Role::Server {
                kept: super::unit::Kept::DataCache(cache),
                ..
            } => cache.len(),
            _ => 0,
        }
    }

    /// The keys a data cache will hold once a fill of a key it misses lands (the fill is a job
    /// the cache runs after its lookup time, so the trace records it when it is sent).
    pub(super) fn cache_keys_after_fill(&self, unit: UnitIx) -> u32 {
        match &self.units[unit].role {
            Role::Server {
                kept: super::unit::Kept::DataCache(cache),
                ..
            } => (cache.len() + 1).min(cache.capacity()),
            _ => 0,
        }
    }

    /// Put a call on its wire towards the callee, with its timeout if the wire has one.
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn send(&mut self, call: CallIx) {
        let c = &mut self.calls[call];
        c.state = CallState::Transit;
        let (epoch, policy, parent, req) = (c.epoch, c.policy, c.parent, c.req);
        let latency_ns = c.latency_ns;
        self.trace_hop(call, req, false);
        let p = &self.policies[policy];
        let (budget, timeout_ns) = (p.budget, p.timeout_ns);
        // A first attempt pays into its wire's retry budget; retries draw from it. Most wires
        // have no budget: whether this is a retry is only looked up for one that has.
        if budget > 0.0 {
            let is_retry = match parent {
                None => self.reqs[req].attempt > 0,
                Some(parent) => self.calls[parent].attempt > 0,
            };
            if !is_retry {
                let p = &mut self.policies[policy];
                p.tokens = (p.tokens + budget).min(super::RETRY_TOKENS_MAX);
            }
        }
        if timeout_ns > 0 {
            self.events
                .push(self.now_ns + timeout_ns, Ev::Timeout { call, epoch });
        }
        if latency_ns == 0 {
            self.deliver(call);
        } else if let Some(relay_ns) = self.merged_relay_ns(call) {
            self.send_relayed(call, relay_ns);
        } else {
            let ev = Ev::Deliver { call, epoch };
            self.events.push(self.now_ns + latency_ns, ev);
        }
    }

    /// Send a call's reply (or failure) back over its wire.
    ///
    /// Always inlined: a few lines on every reply (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn send_reply(&mut self, call: CallIx) {
        let c = &mut self.calls[call];
        c.state = CallState::Replying;
        let (req, epoch, latency_ns) = (c.req, c.epoch, c.latency_ns);
        self.trace_hop(call, req, true);
        if latency_ns == 0 {
            self.reply(call);
        } else {
            let ev = Ev::Reply { call, epoch };
            self.events.push(self.now_ns + latency_ns, ev);
        }
    }

    /// The callee refuses or drops a call that holds no worker there.
    pub(super) fn reject(&mut self, call: CallIx, reason: FailReason) {
        let c = &mut self.calls[call];
        c.fail.get_or_insert(reason);
        self.units[c.callee].stats.failed += 1;
        let (req, unit) = (c.req, c.callee);
        self.trace_decision(req, unit, |_| What::Failed { reason });
        self.send_reply(call);
    }

    /// A call is finished at its callee: free the worker, take the next queued call, reply.
    pub(super) fn finish(&mut self, call: CallIx, fail: Option<FailReason>) {
        let now = self.now_ns;
        let c = &mut self.calls[call];
        if let Some(f) = fail {
            c.fail.get_or_insert(f);
        }
        let failed = c.fail.is_some();
        let unit = c.callee;
        if let Some(reason) = fail {
            let req = c.req;
            self.trace_decision(req, unit, |_| What::Failed { reason });
        }
        let u = &mut self.units[unit];
        if failed {
            u.stats.failed += 1;
        } else {
            u.stats.served += 1;
        }
        if let Role::Server { .. } = u.role {
            u.unhold(now);
            self.drain_queue(unit);
            if self.units[unit].draining {
                self.retire_if_idle(unit);
            }
        }
        self.mq_finished(call);
        self.send_reply(call);
    }

    /// The balancer that placed `call` stops counting it in flight at its backend: exactly
    /// once per call, whichever comes first of its answer and its timeout, and whether or not
    /// the call's parent is still waiting for it (an orphan still occupied the backend, and a
    /// count never released would be phantom load for least-connections and power of two).
    #[inline]
    pub(super) fn release_lb(&mut self, call: CallIx) {
        if self.calls[call].lb_counted {
            self.release_lb_count(call);
        }
    }

    fn release_lb_count(&mut self, call: CallIx) {
        let c = &mut self.calls[call];
        c.lb_counted = false;
        let (lb, caller, callee) = (c.lb, c.caller, c.callee);
        if let Role::Balancer(state) = &mut self.units[caller].role {
            state.release(lb.group, lb.index, callee, lb.generation);
        }
    }

    /// A reply reaches the caller.
    /// Always inlined, as the plain path's other steps (see `Sim::issue`).
    #[inline(always)]
    pub(super) fn reply(&mut self, call: CallIx) {
        self.release_lb(call);
        let c = &self.calls[call];
        let (orphaned, parent, parent_epoch, req, fail, policy, callee, hit) = (
            c.orphaned,
            c.parent,
            c.parent_epoch,
            c.req,
            c.fail,
            c.policy,
            c.callee,
            c.hit,
        );
        let (probe, caller) = (c.probe, c.caller);
        self.free_call(call);
        if orphaned {
            return;
        }
        if probe {
            self.probe_verdict(caller, callee, fail.is_none());
            return;
        }
        let Some(parent) = parent else {
            match fail {
                None => self.finish_request(req, None),
                Some(reason) => self.client_failed(req, policy, reason),
            }
            return;
        };
        let p = &self.calls[parent];
        if p.epoch != parent_epoch || p.state != CallState::Waiting {
            // The caller gave up on this call (it failed or was killed meanwhile); a
            // balancer's count of it is released above.
            return;
        }
        let caller = p.callee;
        if fail.is_none() && matches!(self.units[caller].role, Role::Cdn(_)) {
            self.cdn_filled(parent, caller);
        }
        if fail.is_none() {
            match self.units[callee].kind {
                KindTag::Cache if hit => {
                    self.calls[parent].skip_db = true;
                    // The app server keeps a copy in its own cache, if it has one.
                    let key = self.reqs[req].key;
                    let now = self.now_ns;
                    if let Some(local) = &mut self.units[caller].local_cache {
                        local.put(u64::from(key), now);
                    }
                }
                KindTag::Database | KindTag::ShardRouter
                    if matches!(self.units[caller].role, Role::Server { .. }) =>
                {
                    self.touch_cache_after_db(parent)
                }
                _ => {}
            }
        }
        self.on_child_done(parent, caller, policy, fail);
    }

    /// The caller `parent` (at instance `caller`) has the answer of its call (a balancer's
    /// count of that call is already released: `release_lb`).
    pub(super) fn on_child_done(
        &mut self,
        parent: CallIx,
        caller: UnitIx,
        policy: PolicyIx,
        fail: Option<FailReason>,
    ) {
        let is_server = match &mut self.units[caller].role {
            Role::Balancer(state) => {
                if fail == Some(FailReason::NodeDown) {
                    state.drop_connection(self.reqs[self.calls[parent].req].user_key);
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
}
