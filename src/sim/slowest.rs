//! The slowest requests of a run, by id: a bounded top list over the whole run and the
//! slowest one of each series sample. A trace samples a fraction of requests and a point of the
//! latency plot is a percentile, not a request; these ids let a replay of the run trace exactly
//! the requests worth looking at (`Traces::pick`). Recording costs a comparison per request
//! and allocates nothing after the list is made.

/// Requests kept in the run's top list.
pub const SLOWEST_MAX: usize = 32;

/// One completed request and its latency as its client measured it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlowRequest {
    pub request_id: u64,
    /// From leaving the client to the answer reaching it, ns.
    pub latency_ns: u64,
}

/// The slowest completed requests, slowest first; of equally slow ones the earliest is kept.
#[derive(Clone, Debug)]
pub struct Slowest {
    top: Vec<SlowRequest>,
}

impl Default for Slowest {
    fn default() -> Self {
        Slowest {
            top: Vec::with_capacity(SLOWEST_MAX),
        }
    }
}

impl Slowest {
    /// Count a completed request.
    #[inline]
    pub fn record(&mut self, request_id: u64, latency_ns: u64) {
        if self.top.len() == SLOWEST_MAX
            && self.top.last().is_some_and(|s| s.latency_ns >= latency_ns)
        {
            return;
        }
        self.insert(SlowRequest {
            request_id,
            latency_ns,
        });
    }

    #[cold]
    fn insert(&mut self, s: SlowRequest) {
        let at = self.top.partition_point(|t| t.latency_ns >= s.latency_ns);
        if self.top.len() == SLOWEST_MAX {
            self.top.pop();
        }
        self.top.insert(at, s);
    }

    /// Slowest first, at most [`SLOWEST_MAX`].
    pub fn list(&self) -> &[SlowRequest] {
        &self.top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_slowest_in_order_and_the_earliest_of_a_tie() {
        let mut s = Slowest::default();
        // Latencies 0, 7, 14, ... (mod 101): a permutation of 0..101.
        for id in 0..101u64 {
            s.record(id, (id * 7) % 101);
        }
        s.record(500, 100); // as slow as the slowest: the earlier one stays first
        let lat: Vec<u64> = s.list().iter().map(|r| r.latency_ns).collect();
        let want: Vec<u64> = std::iter::once(100)
            .chain((69..=100).rev())
            .take(SLOWEST_MAX)
            .collect();
        assert_eq!(lat, want);
        assert_eq!(s.list()[0].request_id, 72); // 72 * 7 = 504 = 4 * 101 + 100
        assert_eq!(s.list()[1].request_id, 500);
    }
}
