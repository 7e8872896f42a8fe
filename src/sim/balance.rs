//! Load-balancing algorithms, one small piece each behind one enum. Each pick explains itself,
//! and the explanation is written out only for traced requests.

use rand::RngExt as _;

use crate::layout::LbAlgorithm;

use super::rng::SimRng;

/// A backend as the balancer sees it.
#[derive(Clone, Copy, Debug)]
pub struct Backend {
    /// Instance index of the backend.
    pub unit: u32,
}

/// Why a backend was chosen, formatted only when traced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Why {
    /// Round-robin: the next in turn after the previous pick.
    RoundRobin { previous: Option<u32> },
    /// Random: uniformly among `of` backends.
    Random { of: u32 },
}

/// A balancer's algorithm and its state (the round-robin cursor).
#[derive(Clone, Debug)]
pub enum Balancer {
    RoundRobin { next: usize, last: Option<u32> },
    Random,
}

impl Balancer {
    /// A fresh balancer running `algorithm`.
    pub fn new(algorithm: LbAlgorithm) -> Self {
        match algorithm {
            LbAlgorithm::RoundRobin => Balancer::RoundRobin {
                next: 0,
                last: None,
            },
            LbAlgorithm::Random => Balancer::Random,
        }
    }

    /// The algorithm this balancer runs.
    pub fn algorithm(&self) -> LbAlgorithm {
        match self {
            Balancer::RoundRobin { .. } => LbAlgorithm::RoundRobin,
            Balancer::Random => LbAlgorithm::Random,
        }
    }

    /// Pick one of `backends` (an index into it), or `None` when there are none.
    pub fn pick(&mut self, backends: &[Backend], rng: &mut SimRng) -> Option<(usize, Why)> {
        if backends.is_empty() {
            return None;
        }
        let n = backends.len();
        match self {
            Balancer::RoundRobin { next, last } => {
                let i = *next % n;
                *next = (i + 1) % n;
                let why = Why::RoundRobin { previous: *last };
                *last = Some(backends[i].unit);
                Some((i, why))
            }
            Balancer::Random => {
                let i = rng.random_range(0..n);
                Some((i, Why::Random { of: n as u32 }))
            }
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
mod tests {
    use super::*;
    use crate::sim::rng::{Stream, stream};

    fn backends(n: u32) -> Vec<Backend> {
        (0..n).map(|unit| Backend { unit }).collect()
    }

    #[test]
    fn round_robin_cycles_in_order() {
        let mut b = Balancer::new(LbAlgorithm::RoundRobin);
        let mut rng = stream(1, 0, 0, Stream::Balance);
        let picks: Vec<usize> = (0..7)
            .filter_map(|_| b.pick(&backends(3), &mut rng).map(|p| p.0))
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn random_is_roughly_uniform() {
        let mut b = Balancer::new(LbAlgorithm::Random);
        let mut rng = stream(1, 0, 0, Stream::Balance);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            if let Some((i, _)) = b.pick(&backends(4), &mut rng) {
                counts[i] += 1;
            }
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn no_backends_no_pick() {
        let mut rng = stream(1, 0, 0, Stream::Balance);
        assert!(
            Balancer::new(LbAlgorithm::Random)
                .pick(&[], &mut rng)
                .is_none()
        );
    }
}
