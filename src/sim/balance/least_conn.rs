//! Least-connections balancing: pick the backend with the fewest requests in flight; among
//! equals, the first at or after the one following the last pick, so ties rotate.

use super::{Backend, Pick, Why};

/// Where the tie-breaking scan starts.
#[derive(Clone, Debug, Default)]
pub struct LeastConnections {
    next: usize,
}

impl LeastConnections {
    /// The healthy backend with the fewest in flight.
    pub fn pick(&mut self, backends: &[Backend]) -> Option<Pick> {
        let index = scan_min(backends, self.next, |a, b| a.in_flight < b.in_flight)?;
        self.next = (index + 1) % backends.len();
        let in_flight = backends[index].in_flight;
        let tied = backends
            .iter()
            .filter(|b| b.healthy && b.in_flight == in_flight)
            .count() as u32;
        Some(Pick {
            index,
            why: Why::LeastConnections { in_flight, tied },
        })
    }
}

/// The healthy backend that no other beats under `better`, scanning from `start` and wrapping,
/// so that among equals the first met wins. Shared with weighted least-connections.
pub(super) fn scan_min(
    backends: &[Backend],
    start: usize,
    better: impl Fn(&Backend, &Backend) -> bool,
) -> Option<usize> {
    let n = backends.len();
    let mut best: Option<usize> = None;
    for k in 0..n {
        let i = (start + k) % n;
        if backends[i].healthy && best.is_none_or(|j| better(&backends[i], &backends[j])) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;

    #[test]
    fn picks_the_least_loaded() {
        let mut list = backends(4);
        for (b, n) in list.iter_mut().zip([3, 1, 4, 2]) {
            b.in_flight = n;
        }
        let mut b = LeastConnections::default();
        let p = b.pick(&list);
        assert_eq!(
            p,
            Some(Pick {
                index: 1,
                why: Why::LeastConnections {
                    in_flight: 1,
                    tied: 1
                }
            })
        );
    }

    #[test]
    fn ties_rotate() {
        let list = backends(3);
        let mut b = LeastConnections::default();
        let picks: Vec<usize> = (0..6)
            .filter_map(|_| b.pick(&list).map(|p| p.index))
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn skips_the_unhealthy_and_returns_none_with_none_healthy() {
        let mut list = backends(3);
        list[1].in_flight = 5;
        list[0].healthy = false;
        let mut b = LeastConnections::default();
        assert_eq!(b.pick(&list).map(|p| p.index), Some(2));
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(b.pick(&list).is_none());
        assert!(b.pick(&[]).is_none());
    }
}
