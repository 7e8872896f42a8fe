//! Weighted least-connections: pick the backend with the fewest requests in flight per unit of
//! weight, comparing `a/wa < b/wb` as `a·wb < b·wa` so no division rounds; ties rotate.

use super::least_conn::scan_min;
use super::{Backend, Pick, Why};

/// Where the tie-breaking scan starts.
#[derive(Clone, Debug, Default)]
pub struct WeightedLeastConnections {
    next: usize,
}

impl WeightedLeastConnections {
    /// The healthy backend with the lowest in-flight-to-weight ratio.
    pub fn pick(&mut self, backends: &[Backend]) -> Option<Pick> {
        let index = scan_min(backends, self.next, lower_ratio)?;
        self.next = (index + 1) % backends.len();
        let b = backends[index];
        Some(Pick {
            index,
            why: Why::WeightedLeastConnections {
                in_flight: b.in_flight,
                weight: b.weight.max(1),
            },
        })
    }
}

/// Whether `a` has strictly fewer in flight per unit of weight than `b`.
fn lower_ratio(a: &Backend, b: &Backend) -> bool {
    let lhs = u64::from(a.in_flight) * u64::from(b.weight.max(1));
    let rhs = u64::from(b.in_flight) * u64::from(a.weight.max(1));
    lhs < rhs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;

    #[test]
    fn picks_the_lowest_ratio_not_the_fewest() {
        let mut list = backends(3);
        // 4/4 = 1.0, 2/1 = 2.0, 3/2 = 1.5: the heavy backend wins despite more in flight.
        for (b, (n, w)) in list.iter_mut().zip([(4, 4), (2, 1), (3, 2)]) {
            b.in_flight = n;
            b.weight = w;
        }
        let mut b = WeightedLeastConnections::default();
        assert_eq!(
            b.pick(&list),
            Some(Pick {
                index: 0,
                why: Why::WeightedLeastConnections {
                    in_flight: 4,
                    weight: 4
                }
            })
        );
    }

    #[test]
    fn equal_ratios_rotate_and_the_unhealthy_are_skipped() {
        let mut list = backends(3);
        for (b, (n, w)) in list.iter_mut().zip([(2, 2), (1, 1), (3, 3)]) {
            b.in_flight = n;
            b.weight = w;
        }
        let mut b = WeightedLeastConnections::default();
        let picks: Vec<usize> = (0..4)
            .filter_map(|_| b.pick(&list).map(|p| p.index))
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0]);
        list[1].healthy = false;
        list[0].in_flight = 9;
        assert_eq!(b.pick(&list).map(|p| p.index), Some(2));
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(b.pick(&list).is_none());
    }
}
