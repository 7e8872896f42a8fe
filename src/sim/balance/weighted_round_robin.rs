//! Smooth weighted round-robin, exactly as nginx does it: every pick, each healthy backend's
//! score grows by its weight; the highest score wins and gives back the total of the weights.

use super::{Backend, Pick, Why};

/// The running scores of a smooth weighted round-robin balancer, one per backend.
#[derive(Clone, Debug, Default)]
pub struct WeightedRoundRobin {
    /// nginx's `current_weight`, parallel to the backends slice.
    current: Vec<i64>,
}

impl WeightedRoundRobin {
    /// The backend set changed: start every score again from zero, as nginx does on reload.
    pub fn rebuild(&mut self, backends: &[Backend]) {
        self.current.clear();
        self.current.resize(backends.len(), 0);
    }

    /// The healthy backend with the highest score after adding each one's weight (the first of
    /// equals, as in nginx's `ngx_http_upstream_get_peer`).
    pub fn pick(&mut self, backends: &[Backend]) -> Option<Pick> {
        if self.current.len() != backends.len() {
            // A missed `rebuild`: recover rather than index out of bounds.
            self.rebuild(backends);
        }
        let mut total: i64 = 0;
        let mut best: Option<usize> = None;
        for (i, b) in backends.iter().enumerate() {
            if !b.healthy {
                continue;
            }
            let weight = i64::from(b.weight.max(1));
            self.current[i] += weight;
            total += weight;
            if best.is_none_or(|j| self.current[i] > self.current[j]) {
                best = Some(i);
            }
        }
        let index = best?;
        self.current[index] -= total;
        Some(Pick {
            index,
            why: Why::WeightedRoundRobin {
                weight: backends[index].weight.max(1),
                total_weight: total as u32,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::{backends, show};

    fn weighted(weights: &[u32]) -> Vec<Backend> {
        let mut list = backends(weights.len() as u32);
        for (b, &w) in list.iter_mut().zip(weights) {
            b.weight = w;
        }
        list
    }

    #[test]
    fn weights_5_1_1_give_the_nginx_sequence() {
        let list = weighted(&[5, 1, 1]);
        let mut b = WeightedRoundRobin::default();
        b.rebuild(&list);
        let names: String = (0..14)
            .filter_map(|_| b.pick(&list))
            .map(|p| char::from(b'a' + p.index as u8))
            .collect();
        // nginx's comment in ngx_http_upstream_round_robin.c: { a, a, b, a, c, a, a }.
        assert_eq!(names, "aabacaaaabacaa");
    }

    #[test]
    fn splits_requests_in_proportion_to_the_weights_within_one_percent() {
        let weights = [7, 3, 1, 5, 2];
        let list = weighted(&weights);
        let total: u32 = weights.iter().sum();
        let mut b = WeightedRoundRobin::default();
        b.rebuild(&list);
        let picks = 100_003u32;
        let mut counts = [0u32; 5];
        for _ in 0..picks {
            if let Some(p) = b.pick(&list) {
                counts[p.index] += 1;
            }
        }
        let mut worst = 0.0f64;
        for (c, w) in counts.iter().zip(weights) {
            let share = f64::from(*c) / f64::from(picks);
            let want = f64::from(w) / f64::from(total);
            worst = worst.max((share / want - 1.0).abs());
        }
        show(&format!(
            "weighted round-robin {weights:?}: {counts:?}, worst relative error {worst:.5}"
        ));
        assert!(worst < 0.01, "{counts:?}");
    }

    #[test]
    fn skips_the_unhealthy_and_returns_none_with_none_healthy() {
        let mut list = weighted(&[5, 1, 1]);
        let mut b = WeightedRoundRobin::default();
        b.rebuild(&list);
        list[0].healthy = false;
        let picks: Vec<usize> = (0..4)
            .filter_map(|_| b.pick(&list).map(|p| p.index))
            .collect();
        assert_eq!(picks, vec![1, 2, 1, 2]);
        list.iter_mut().for_each(|b| b.healthy = false);
        assert!(b.pick(&list).is_none());
    }

    #[test]
    fn recovers_from_a_missed_rebuild() {
        let mut b = WeightedRoundRobin::default();
        assert_eq!(b.pick(&weighted(&[1, 2])).map(|p| p.index), Some(1));
    }
}
