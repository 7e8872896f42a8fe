//! The rate limiter's parameters: a token bucket (`rate_per_s`, `burst`) kept per client, per
//! user or once for everyone, in front of what it forwards to.

use serde::{Deserialize, Serialize};

/// Whose requests share one bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitPer {
    /// One bucket per client node (its address).
    Client,
    /// One bucket per user of each client: the busiest users (Zipf activity) hit it first.
    #[default]
    User,
    /// One bucket for every request that reaches the limiter.
    Global,
}

/// A token-bucket rate limiter: each request takes a token; tokens refill at `rate_per_s` up
/// to `burst`; a request that finds no token fails at once with `rate_limited`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimiterParams {
    /// Tokens added per second to each bucket.
    pub rate_per_s: f64,
    /// Tokens a bucket holds at most (and starts with).
    pub burst: u32,
    pub per: LimitPer,
    /// Time the limiter adds to each request it lets through.
    pub latency_ms: f64,
}

impl Default for LimiterParams {
    fn default() -> Self {
        LimiterParams {
            rate_per_s: 10.0,
            burst: 20,
            per: LimitPer::User,
            latency_ms: 0.05,
        }
    }
}

/// The warning for a limiter wired to nothing.
pub const NO_DOWNSTREAM: &str =
    "the rate limiter forwards to nothing: the requests it admits fail with no_backend";

/// What the parameter table's ranges cannot say (they name a bad rate or burst by node and
/// field): a limiter forwards to one node, as a one-target balancer does, so a second wire
/// out is an error (put a balancer behind the limiter to spread).
pub fn check_limiter(outgoing: usize, err: &mut impl FnMut(String)) {
    if outgoing > 1 {
        err(format!(
            "a rate limiter forwards to one node, but this one is wired to {outgoing}: \
             put a load balancer behind it to spread"
        ));
    }
}
