//! The rate limiter: a token bucket per client, per user or for everyone. A call takes a
//! token and goes on after the limiter's latency to the one node it forwards to; a call that
//! finds the bucket empty fails at once with `rate_limited`.
//!
//! The bucket is exact integer arithmetic on simulated time: a level in pico-tokens (10^-12 of
//! a token) gains `rate` in thousandths of a token per second for each nanosecond (10^-9 s x
//! 10^-3 token/s = 10^-12 token), capped at `burst` tokens. No floating point, so a bucket
//! refills the same on every machine and every tick length.

use std::collections::{BTreeMap, VecDeque};

use super::ix::{CallIx, UnitIx};
use super::queue::Ev;
use super::request::FailReason;
use super::trace::What;
use super::unit::{self, RECENT_SAMPLES, Role};
use super::{CallState, Sim};
use crate::layout::{LimitPer, LimiterParams, ms_to_ns};

/// One token, in the bucket's units (pico-tokens).
pub const TOKEN: u128 = 1_000_000_000_000;

/// Keyed buckets kept before full ones are forgotten (a full bucket is the same as none).
const PRUNE_MIN: usize = 1024;

/// One bucket: its level when last touched, and when that was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Pico-tokens.
    pub level: u128,
    pub at_ns: u64,
}

/// A bucket's rate and size in its own units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Thousandths of a token per second: pico-tokens gained per nanosecond.
    pub milli_per_s: u64,
    /// Pico-tokens the bucket holds at most.
    pub cap: u128,
}

impl Shape {
    /// The shape of a limiter's buckets (the rate rounded to a thousandth of a token per
    /// second; `check` keeps it at 0.001 or more).
    pub fn of(p: &LimiterParams) -> Shape {
        let milli = if p.rate_per_s.is_finite() && p.rate_per_s > 0.0 {
            (p.rate_per_s * 1000.0).round().min(u64::MAX as f64) as u64
        } else {
            0
        };
        Shape {
            milli_per_s: milli,
            cap: u128::from(p.burst.max(1)) * TOKEN,
        }
    }

    /// A fresh bucket: full.
    pub fn full(self, now_ns: u64) -> Bucket {
        Bucket {
            level: self.cap,
            at_ns: now_ns,
        }
    }

    /// The bucket's level at `now_ns`, refilled since it was last touched.
    pub fn level_at(self, b: Bucket, now_ns: u64) -> u128 {
        let dt = u128::from(now_ns.saturating_sub(b.at_ns));
        b.level
            .saturating_add(dt.saturating_mul(u128::from(self.milli_per_s)))
            .min(self.cap)
    }

    /// Refill `b` to `now_ns` and take a token if there is one: whether one was taken.
    pub fn take(self, b: &mut Bucket, now_ns: u64) -> bool {
        b.level = self.level_at(*b, now_ns);
        b.at_ns = now_ns;
        if b.level >= TOKEN {
            b.level -= TOKEN;
            true
        } else {
            false
        }
    }

    /// Nanoseconds until a bucket at `level` holds a whole token (0 when it does).
    pub fn ns_to_token(self, level: u128) -> u64 {
        if level >= TOKEN {
            return 0;
        }
        if self.milli_per_s == 0 {
            return u64::MAX;
        }
        let need = TOKEN - level;
        need.div_ceil(u128::from(self.milli_per_s))
            .min(u128::from(u64::MAX)) as u64
    }
}

/// What the limiter decided for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub admitted: bool,
    /// Whole tokens left in the call's bucket after it.
    pub tokens_left: u32,
    /// Time until the bucket next holds a token (0 when it still does).
    pub next_token_ns: u64,
}

/// A limiter instance: its buckets and what it let through.
#[derive(Clone, Debug)]
pub struct LimiterState {
    pub params: LimiterParams,
    pub shape: Shape,
    pub latency_ns: u64,
    /// Buckets by key (the client's node id, the user's key, or 0 for the one global bucket).
    buckets: BTreeMap<u64, Bucket>,
    /// Forget full buckets when there are more than this many.
    prune_at: usize,
    /// Calls admitted and rejected since counting started (the warm-up's end).
    pub admitted: u64,
    pub rejected: u64,
    /// The next instance of the wired node to forward to (a pool round-robin).
    next: usize,
    /// Every decision since the start (never reset), and their values at the last
    /// `RECENT_SAMPLES` + 1 series samples with their times, oldest first: the window's rates.
    admitted_all: u64,
    rejected_all: u64,
    recent: VecDeque<(u64, u64, u64)>,
}

/// What the window shows of a limiter: its rates over the last second and its buckets now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimiterLive {
    pub per: LimitPer,
    pub admitted_per_s: f64,
    pub rejected_per_s: f64,
    /// Buckets kept now, those without a whole token, and the lowest fill (0 to 1).
    pub buckets: u64,
    pub empty_buckets: u64,
    pub lowest_fill: f64,
}

impl LimiterState {
    pub fn new(p: &LimiterParams) -> Self {
        LimiterState {
            params: p.clone(),
            shape: Shape::of(p),
            latency_ns: ms_to_ns(p.latency_ms),
            buckets: BTreeMap::new(),
            prune_at: PRUNE_MIN,
            admitted: 0,
            rejected: 0,
            next: 0,
            admitted_all: 0,
            rejected_all: 0,
            recent: VecDeque::new(),
        }
    }

    /// Take changed parameters: a new shape or a new keying starts every bucket afresh (full).
    pub fn set_params(&mut self, p: &LimiterParams) {
        if Shape::of(p) != self.shape || p.per != self.params.per {
            self.buckets.clear();
            self.prune_at = PRUNE_MIN;
        }
        self.shape = Shape::of(p);
        self.latency_ns = ms_to_ns(p.latency_ms);
        self.params = p.clone();
    }

    /// Start counting afresh (end of the warm-up); the buckets keep their levels.
    pub fn reset_counts(&mut self) {
        self.admitted = 0;
        self.rejected = 0;
    }

    /// A call with bucket key `key` arrives at `now_ns`: take a token or refuse it.
    pub fn decide(&mut self, key: u64, now_ns: u64) -> Verdict {
        let shape = self.shape;
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.prune_at {
            self.prune(now_ns);
        }
        let b = self
            .buckets
            .entry(key)
            .or_insert_with(|| shape.full(now_ns));
        let admitted = shape.take(b, now_ns);
        if admitted {
            self.admitted += 1;
            self.admitted_all += 1;
        } else {
            self.rejected += 1;
            self.rejected_all += 1;
        }
        Verdict {
            admitted,
            tokens_left: (b.level / TOKEN).min(u128::from(u32::MAX)) as u32,
            next_token_ns: shape.ns_to_token(b.level),
        }
    }

    /// Forget the buckets that have refilled to full (the same as a fresh one), so the map
    /// holds only recently busy keys; the threshold doubles with what stays.
    fn prune(&mut self, now_ns: u64) {
        let shape = self.shape;
        self.buckets
            .retain(|_, b| shape.level_at(*b, now_ns) < shape.cap);
        self.prune_at = (self.buckets.len() * 2).max(PRUNE_MIN);
    }

    /// The buckets now: (buckets kept, of them those without a whole token, the lowest fill
    /// over kept buckets from 0 to 1; 1 when none is kept, as every bucket is full).
    pub fn fill_at(&self, now_ns: u64) -> (u64, u64, f64) {
        let shape = self.shape;
        let mut empty = 0;
        let mut lowest = shape.cap;
        for b in self.buckets.values() {
            let l = shape.level_at(*b, now_ns);
            if l < TOKEN {
                empty += 1;
            }
            lowest = lowest.min(l);
        }
        let fill = if shape.cap > 0 {
            lowest as f64 / shape.cap as f64
        } else {
            0.0
        };
        (self.buckets.len() as u64, empty, fill)
    }

    /// A series sample at `now_ns`: keep the counters for the window's rates.
    pub fn sample(&mut self, now_ns: u64) {
        if self.recent.len() > RECENT_SAMPLES {
            self.recent.pop_front();
        }
        self.recent
            .push_back((now_ns, self.admitted_all, self.rejected_all));
    }

    /// The rates over the samples kept (about the last second) and the buckets at `now_ns`.
    pub fn live(&self, now_ns: u64) -> LimiterLive {
        let (buckets, empty_buckets, lowest_fill) = self.fill_at(now_ns);
        let (admitted_per_s, rejected_per_s) = match (self.recent.front(), self.recent.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                let s = (b.0 - a.0) as f64 / 1e9;
                ((b.1 - a.1) as f64 / s, (b.2 - a.2) as f64 / s)
            }
            _ => (0.0, 0.0),
        };
        LimiterLive {
            per: self.params.per,
            admitted_per_s,
            rejected_per_s,
            buckets,
            empty_buckets,
            lowest_fill,
        }
    }

    /// Bytes of the bucket map (`footprint.rs`).
    pub fn heap_bytes(&self) -> u64 {
        (self.buckets.len() * (std::mem::size_of::<(u64, Bucket)>() + 16)) as u64
    }
}

impl Sim {
    /// A rate limiter instance's rates over the last second and its buckets now (`None` for
    /// any other instance).
    pub fn limiter_live(&self, unit: UnitIx) -> Option<LimiterLive> {
        match &self.units.get(unit.index())?.role {
            Role::Limiter(l) => Some(l.live(self.now_ns)),
            _ => None,
        }
    }

    /// A call reaches a rate limiter: take a token from its bucket, or fail it at once.
    pub(super) fn limiter_arrive(&mut self, call: CallIx) {
        let now = self.now_ns;
        let (req, unit) = (self.calls[call].req, self.calls[call].callee);
        let r = &self.reqs[req];
        let (user_key, client) = (r.user_key, r.client);
        let client_node = u64::from(self.units[client].node.0);
        let Role::Limiter(l) = &mut self.units[unit].role else {
            return;
        };
        let key = match l.params.per {
            LimitPer::Client => client_node,
            LimitPer::User => user_key,
            LimitPer::Global => 0,
        };
        let v = l.decide(key, now);
        let latency_ns = l.latency_ns;
        self.trace_decision(req, unit, |_| What::RateLimit {
            admitted: v.admitted,
            tokens_left: v.tokens_left,
            next_token_ns: v.next_token_ns,
        });
        if !v.admitted {
            return self.reject(call, FailReason::RateLimited);
        }
        let c = &mut self.calls[call];
        c.state = CallState::Service;
        if latency_ns == 0 {
            self.limiter_forward(call);
        } else {
            let ev = Ev::Done {
                call,
                epoch: c.epoch,
            };
            self.events.push(now + latency_ns, ev);
        }
    }

    /// An admitted call goes on to the node the limiter is wired to (its instances in turn).
    pub(super) fn limiter_forward(&mut self, call: CallIx) {
        let Some((unit, _)) = self.forwarding(call) else {
            return;
        };
        let u = &mut self.units[unit];
        let Role::Limiter(l) = &mut u.role else {
            return;
        };
        let n = unit::target_count(&u.routes);
        let target = if n == 0 {
            None
        } else {
            let i = l.next % n;
            l.next = (i + 1) % n;
            unit::nth_target(&u.routes, i)
        };
        let Some((to, lat, policy)) = target else {
            return self.finish(call, Some(FailReason::NoBackend));
        };
        self.call_down(call, to, lat, policy, super::lb::LbSlot::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(rate: f64, burst: u32) -> Shape {
        Shape::of(&LimiterParams {
            rate_per_s: rate,
            burst,
            ..LimiterParams::default()
        })
    }

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_one_per_refill() {
        let s = shape(10.0, 3);
        let mut b = s.full(0);
        let passed = (0..5).filter(|_| s.take(&mut b, 0)).count();
        assert_eq!(passed, 3, "a burst of 3 from a full bucket, then empty");
        // 10 tokens/s: one token every 100 ms.
        assert!(!s.take(&mut b, 99_999_999));
        assert!(s.take(&mut b, 100_000_000));
        assert_eq!(s.ns_to_token(b.level), 100_000_000);
    }

    #[test]
    fn a_quiet_bucket_refills_only_to_its_burst() {
        let s = shape(1000.0, 2);
        let mut b = s.full(0);
        assert!(s.take(&mut b, 0) && s.take(&mut b, 0));
        assert_eq!(s.level_at(b, 3_600_000_000_000), 2 * TOKEN);
    }

    #[test]
    fn full_buckets_are_forgotten_when_many() {
        let mut l = LimiterState::new(&LimiterParams {
            rate_per_s: 1.0,
            burst: 1,
            ..LimiterParams::default()
        });
        for k in 0..PRUNE_MIN as u64 {
            assert!(l.decide(k, 0).admitted);
        }
        // Two seconds later every bucket is full again: the next new key prunes them all.
        assert!(l.decide(u64::MAX, 2_000_000_000).admitted);
        assert_eq!(l.fill_at(2_000_000_000).0, 1);
    }
}
