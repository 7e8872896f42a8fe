//! Round-robin: each healthy backend in turn.

use super::{Backend, Pick, Why};
use crate::sim::UnitIx;

/// The cursor of a round-robin balancer.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    next: usize,
    last: Option<UnitIx>,
}

impl RoundRobin {
    /// The next healthy backend at or after the cursor.
    pub fn pick(&mut self, backends: &[Backend]) -> Option<Pick> {
        let n = backends.len();
        let index = (0..n)
            .map(|k| (self.next + k) % n)
            .find(|&i| backends[i].healthy)?;
        self.next = (index + 1) % n;
        let why = Why::RoundRobin {
            previous: self.last,
        };
        self.last = Some(backends[index].unit);
        Some(Pick { index, why })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::backends;

    #[test]
    fn cycles_in_order_and_skips_the_unhealthy() {
        let mut b = RoundRobin::default();
        let mut list = backends(3);
        let picks: Vec<usize> = (0..7)
            .filter_map(|_| b.pick(&list).map(|p| p.index))
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2, 0]);
        list[2].healthy = false;
        let picks: Vec<usize> = (0..4)
            .filter_map(|_| b.pick(&list).map(|p| p.index))
            .collect();
        assert_eq!(picks, vec![1, 0, 1, 0]);
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(b.pick(&list).is_none());
    }
}
