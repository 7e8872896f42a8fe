//! Timeouts, retries with exponential backoff and jitter, and the wires' retry budgets.

use super::ix::{CallIx, PolicyIx, ReqIx, UnitIx};
use super::queue::Ev;
use super::request::FailReason;
use super::trace::What;
use super::unit::{self, Role};
use super::{CallState, Sim};

use rand::RngExt as _;

impl Sim {
    /// The caller stops waiting for a call: it fails with `timeout` at the caller, while the
    /// callee, unaware, goes on working on it (its reply will be dropped). The timeout covers
    /// the whole call, the reply's way back included: a reply still on the wire when it fires
    /// comes too late.
    pub(super) fn on_timeout(&mut self, call: CallIx, epoch: u32) {
        let c = &self.calls[call];
        if c.epoch != epoch || c.state == CallState::Free || c.orphaned {
            return;
        }
        let (parent, parent_epoch, req, policy) = (c.parent, c.parent_epoch, c.req, c.policy);
        let (probe, caller, callee) = (c.probe, c.caller, c.callee);
        self.calls[call].orphaned = true;
        if probe {
            // A deep probe unanswered within the health timeout fails.
            self.probe_verdict(caller, callee, false);
            return;
        }
        // The balancer stops counting the call now, even if its parent is gone already.
        self.release_lb(call);
        let Some(parent) = parent else {
            let client = self.reqs[req].client;
            self.trace_decision(req, client, |_| What::TimedOut { callee });
            self.client_failed(req, policy, FailReason::Timeout);
            return;
        };
        let p = &self.calls[parent];
        if p.epoch != parent_epoch || p.state != CallState::Waiting {
            return;
        }
        let caller = p.callee;
        self.trace_decision(req, caller, |_| What::TimedOut { callee });
        self.on_child_done(parent, caller, policy, Some(FailReason::Timeout));
    }

    /// Whether the wire `policy` allows one more retry after `attempt` attempts (and takes a
    /// token from its budget if so).
    pub(super) fn may_retry(&mut self, policy: PolicyIx, attempt: u8) -> bool {
        let p = &mut self.policies[policy];
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
    pub(super) fn backoff_ns(&mut self, policy: PolicyIx, attempt: u8, unit: UnitIx) -> u64 {
        let base = self.policies[policy].backoff_ns as f64;
        let cap = base * f64::from(1u32 << (attempt.saturating_sub(1).min(16)));
        let x: f64 = self.units[unit].rng.random();
        unit::ns(cap * x).max(1)
    }

    /// A call made by `parent` failed: retry it if the wire allows, else fail `parent`.
    pub(super) fn caller_failed(&mut self, parent: CallIx, policy: PolicyIx, reason: FailReason) {
        let p = &self.calls[parent];
        let (attempt, caller, req) = (p.attempt, p.callee, p.req);
        if !matches!(reason, FailReason::CallLimit | FailReason::RateLimited)
            && self.may_retry(policy, attempt)
        {
            let p = &mut self.calls[parent];
            p.attempt += 1;
            let epoch = p.epoch;
            if self.reqs[req].counted {
                self.totals.retries += 1;
            }
            let wait = self.backoff_ns(policy, attempt + 1, caller);
            self.trace_decision(req, caller, |_| What::Retry {
                attempt: attempt + 1,
                backoff_ns: wait,
                reason,
            });
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
    pub(super) fn client_failed(&mut self, req: ReqIx, policy: PolicyIx, reason: FailReason) {
        if self.mq_is_message(req) {
            return self.mq_replied(req, Some(reason));
        }
        let r = &self.reqs[req];
        if !r.live {
            return;
        }
        let (attempt, client) = (r.attempt, r.client);
        if !matches!(reason, FailReason::CallLimit | FailReason::RateLimited)
            && self.may_retry(policy, attempt)
        {
            let r = &mut self.reqs[req];
            r.attempt += 1;
            r.refs += 1;
            let id = r.id as u32;
            if r.counted {
                self.totals.retries += 1;
            }
            let wait = self.backoff_ns(policy, attempt + 1, client);
            self.trace_decision(req, client, |_| What::Retry {
                attempt: attempt + 1,
                backoff_ns: wait,
                reason,
            });
            self.events
                .push(self.now_ns + wait, Ev::ClientRetry { req, id });
        } else {
            self.finish_request(req, Some(reason));
        }
    }

    /// A retry's backoff is over: resend.
    pub(super) fn on_retry(&mut self, call: CallIx, epoch: u32) {
        let c = &self.calls[call];
        if c.epoch != epoch || c.state != CallState::Waiting {
            return;
        }
        let unit = c.callee;
        match &self.units[unit].role {
            Role::Balancer(_) => self.lb_forward(call),
            Role::Entry(_) => self.entry_forward(call),
            Role::Server { .. } => {
                let stage = self.calls[call].stage.saturating_sub(1) as usize;
                self.call_stage(call, stage);
            }
            Role::Router(_) => self.router_forward(call),
            Role::Cdn(_) => self.cdn_to_origin(call),
            Role::Limiter(_) => self.limiter_forward(call),
            Role::Client(_) | Role::Queue(_) => {}
        }
    }

    /// A client's retry backoff is over: resend the request.
    pub(super) fn on_client_retry(&mut self, req: ReqIx, id: u32) {
        let r = &self.reqs[req];
        let ours = r.id as u32 == id && r.live;
        if ours {
            self.send_top(req);
        }
        self.release_req(req);
    }
}
