//! Random: a healthy backend drawn uniformly.

use rand::RngExt as _;

use super::{Backend, Pick, Why};
use crate::sim::rng::SimRng;

/// The random balancer (stateless; draws from the balancer's own stream).
#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

impl Random {
    /// A uniformly drawn healthy backend.
    pub fn pick(&mut self, backends: &[Backend], rng: &mut SimRng) -> Option<Pick> {
        let healthy = backends.iter().filter(|b| b.healthy).count();
        if healthy == 0 {
            return None;
        }
        let k = rng.random_range(0..healthy);
        let index = backends
            .iter()
            .enumerate()
            .filter(|(_, b)| b.healthy)
            .nth(k)
            .map(|(i, _)| i)?;
        Some(Pick {
            index,
            why: Why::Random { of: healthy as u32 },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;
    use crate::sim::rng::{Stream, stream};

    #[test]
    fn roughly_uniform() {
        let mut rng = stream(1, 0, 0, Stream::Balance);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            if let Some(p) = Random.pick(&backends(4), &mut rng) {
                counts[p.index] += 1;
            }
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
