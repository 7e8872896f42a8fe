//! Load-balancing algorithms, one small file each behind one enum. Each pick explains itself
//! (`Why`), and the explanation is turned into words only for traced requests.
//!
//! Every algorithm sees the same thing: the backends as the balancer knows them (`Backend`:
//! stable identity, weight, requests in flight, healthy or not), and what it may know of the
//! request (`RequestView`: key and cookie only at L7). Unhealthy backends are never picked;
//! with none healthy, `pick` returns `None` and the request fails with `no_backend`.

mod random;
mod round_robin;

use crate::layout::LbAlgorithm;

use super::rng::SimRng;

pub use random::Random;
pub use round_robin::RoundRobin;

/// A backend as the balancer sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backend {
    /// Instance index of the backend in the core.
    pub unit: u32,
    /// Stable identity (a hash of node id and member): what rings and tables hash, so adding a
    /// backend leaves the others' points where they were.
    pub key: u64,
    /// Weight for weighted algorithms (from the wire), at least 1.
    pub weight: u32,
    /// Requests (L7) or open connections (L4) the balancer has at this backend now.
    pub in_flight: u32,
    /// False once health checks mark it down.
    pub healthy: bool,
}

/// What the balancer may know of a request. Hashes, never raw strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestView {
    /// Hash of the request key (L7 only; 0 at L4).
    pub key: u64,
    /// Hash of the user's session cookie (L7 only; 0 at L4).
    pub user: u64,
    /// Hash of the client's address (always visible).
    pub client: u64,
}

/// Why a backend was chosen, formatted only when traced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Why {
    /// Round-robin: the next in turn after the previous pick.
    RoundRobin { previous: Option<u32> },
    /// Random: uniformly among `of` healthy backends.
    Random { of: u32 },
}

/// A pick: the index into the backends slice, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pick {
    pub index: usize,
    pub why: Why,
}

/// A balancer's algorithm and its state.
#[derive(Clone, Debug)]
pub enum Balancer {
    RoundRobin(RoundRobin),
    Random(Random),
}

impl Balancer {
    /// A fresh balancer running `algorithm`. `virtual_nodes` is the ring's points per backend.
    pub fn new(algorithm: LbAlgorithm, _virtual_nodes: u32) -> Self {
        match algorithm {
            LbAlgorithm::Random => Balancer::Random(Random),
            // TODO(core): the other algorithms land in their own files.
            _ => Balancer::RoundRobin(RoundRobin::default()),
        }
    }

    /// The algorithm this balancer runs.
    pub fn algorithm(&self) -> LbAlgorithm {
        match self {
            Balancer::RoundRobin(_) => LbAlgorithm::RoundRobin,
            Balancer::Random(_) => LbAlgorithm::Random,
        }
    }

    /// The backend set changed (added, removed, reweighted): rebuild rings and tables.
    /// Health changes do not call this; `pick` skips unhealthy backends itself.
    pub fn rebuild(&mut self, _backends: &[Backend]) {}

    /// Pick one healthy backend, or `None` when there is none.
    pub fn pick(
        &mut self,
        backends: &[Backend],
        _req: &RequestView,
        rng: &mut SimRng,
    ) -> Option<Pick> {
        match self {
            Balancer::RoundRobin(b) => b.pick(backends),
            Balancer::Random(b) => b.pick(backends, rng),
        }
    }
}

/// A trace line for a pick, naming instances with `name`.
pub fn explain(why: Why, chosen: u32, name: &dyn Fn(u32) -> String) -> String {
    match why {
        Why::RoundRobin { previous: Some(p) } => {
            format!("round-robin: next after {} is {}", name(p), name(chosen))
        }
        Why::RoundRobin { previous: None } => {
            format!("round-robin: starts with {}", name(chosen))
        }
        Why::Random { of } => format!("random: {} drawn uniformly from {of}", name(chosen)),
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::Backend;

    /// `n` healthy backends of weight 1, idle.
    pub fn backends(n: u32) -> Vec<Backend> {
        (0..n)
            .map(|unit| Backend {
                unit,
                key: crate::sim::hash::mix(&[u64::from(unit), 0]),
                weight: 1,
                in_flight: 0,
                healthy: true,
            })
            .collect()
    }
}
