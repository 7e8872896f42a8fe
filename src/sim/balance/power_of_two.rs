//! Power of two choices (Mitzenmacher 2001): draw two distinct healthy backends at random and
//! send to the one with fewer in flight. Nearly as good as least-connections, with no global scan
//! needed in a real balancer.

use rand::RngExt as _;

use super::{Backend, Pick, Why};
use crate::sim::rng::SimRng;

/// The power-of-two-choices balancer (stateless; draws from the balancer's own stream).
#[derive(Clone, Copy, Debug, Default)]
pub struct PowerOfTwo;

impl PowerOfTwo {
    /// The less loaded of two distinct healthy backends drawn uniformly (the first drawn on a
    /// tie); the only healthy one when there is one.
    pub fn pick(&mut self, backends: &[Backend], rng: &mut SimRng) -> Option<Pick> {
        let healthy = backends.iter().filter(|b| b.healthy).count();
        if healthy == 0 {
            return None;
        }
        if healthy == 1 {
            let index = nth_healthy(backends, 0)?;
            let why = Why::PowerOfTwo {
                in_flight: backends[index].in_flight,
                other: None,
            };
            return Some(Pick { index, why });
        }
        let first = rng.random_range(0..healthy);
        // Draw from the others: shift past `first` so the two are distinct and uniform.
        let mut second = rng.random_range(0..healthy - 1);
        if second >= first {
            second += 1;
        }
        let a = nth_healthy(backends, first)?;
        let b = nth_healthy(backends, second)?;
        let (index, other) = if backends[b].in_flight < backends[a].in_flight {
            (b, a)
        } else {
            (a, b)
        };
        let why = Why::PowerOfTwo {
            in_flight: backends[index].in_flight,
            other: Some((backends[other].unit, backends[other].in_flight)),
        };
        Some(Pick { index, why })
    }
}

/// Index of the `k`-th healthy backend, counting from 0.
fn nth_healthy(backends: &[Backend], k: usize) -> Option<usize> {
    backends
        .iter()
        .enumerate()
        .filter(|(_, b)| b.healthy)
        .nth(k)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;
    use crate::sim::rng::{Stream, stream};

    #[test]
    fn picks_the_lower_of_two_distinct_backends() {
        let mut rng = stream(3, 0, 0, Stream::Balance);
        let mut list = backends(8);
        for (i, b) in list.iter_mut().enumerate() {
            b.in_flight = i as u32;
        }
        let mut counts = [0u32; 8];
        for _ in 0..28_000 {
            let Some(p) = PowerOfTwo.pick(&list, &mut rng) else {
                panic!("healthy backends exist");
            };
            let Why::PowerOfTwo {
                in_flight,
                other: Some((other, other_in_flight)),
            } = p.why
            else {
                panic!("two were drawn: {:?}", p.why);
            };
            assert_ne!(other, list[p.index].unit, "the two draws are distinct");
            assert!(in_flight <= other_in_flight);
            counts[p.index] += 1;
        }
        // Backend i wins when it is drawn with one of the 7 - i more loaded ones: of the 28
        // unordered pairs, 7 - i, so 1000 × (7 - i) times; the most loaded never wins.
        for (i, &c) in counts.iter().enumerate() {
            let want = 1000.0 * (7 - i) as f64;
            assert!((f64::from(c) - want).abs() < 250.0, "{counts:?}");
        }
    }

    #[test]
    fn one_healthy_is_picked_and_none_healthy_gives_none() {
        let mut rng = stream(3, 0, 0, Stream::Balance);
        let mut list = backends(3);
        list[0].healthy = false;
        list[2].healthy = false;
        assert_eq!(PowerOfTwo.pick(&list, &mut rng).map(|p| p.index), Some(1));
        list[1].healthy = false;
        assert!(PowerOfTwo.pick(&list, &mut rng).is_none());
    }
}
