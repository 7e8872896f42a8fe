//! Time series sampled every 100 ms of simulated time, in fixed-size ring buffers: memory does
//! not grow with the length of a run.

use super::slowest::SlowRequest;

/// Simulated time between two samples.
pub const SAMPLE_NS: u64 = 100_000_000;
/// Samples kept per series: five minutes of simulated time.
pub const SERIES_CAPACITY: usize = 3000;

/// A ring buffer of the last `SERIES_CAPACITY` values (numbers to plot unless said).
#[derive(Clone, Debug)]
pub struct Ring<T = f32> {
    buf: Vec<T>,
    /// Index of the oldest value once the buffer is full.
    head: usize,
    /// Values ever pushed.
    pushed: u64,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            buf: Vec::new(),
            head: 0,
            pushed: 0,
        }
    }
}

impl<T: Copy> Ring<T> {
    /// Bytes of its buffer (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        (self.buf.capacity() * std::mem::size_of::<T>()) as u64
    }

    /// Append a value, dropping the oldest when full. The first value takes the whole ring's
    /// room at once, so a ring in use is its fixed size from the start: a long run uses no more
    /// memory than a short one (and no doubling overshoots the capacity), while a series that
    /// is never written costs nothing.
    pub fn push(&mut self, v: T) {
        if self.buf.len() < SERIES_CAPACITY {
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(SERIES_CAPACITY);
            }
            self.buf.push(v);
        } else {
            self.buf[self.head] = v;
            self.head = (self.head + 1) % SERIES_CAPACITY;
        }
        self.pushed += 1;
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Values ever pushed (held or dropped).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// The held values, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let (a, b) = self.buf.split_at(self.head);
        b.iter().chain(a.iter()).copied()
    }

    /// The newest value.
    pub fn last(&self) -> Option<T> {
        if self.buf.is_empty() {
            None
        } else {
            let i = (self.head + self.buf.len() - 1) % self.buf.len();
            Some(self.buf[i])
        }
    }
}

/// One instance's series.
#[derive(Clone, Debug, Default)]
pub struct UnitSeries {
    /// CPU utilization over the interval, 0 to 1.
    pub cpu_utilization: Ring,
    /// Queue length at the sample.
    pub queue: Ring,
    /// Calls served per second over the interval.
    pub served_per_s: Ring,
    /// Calls that reached the instance (a client: requests it sent) per second over the interval.
    pub calls_per_s: Ring,
    /// Calls that failed per second over the interval (a client: its requests that failed).
    pub failed_per_s: Ring,
    /// 1 when up, 0 when down.
    pub up: Ring,
}

/// All series of a run. Every ring holds values for the same sample times, `time_s`.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Simulated time of each sample, in seconds.
    pub time_s: Ring,
    pub throughput_rps: Ring,
    pub failures_per_s: Ring,
    pub latency_p50_ms: Ring,
    pub latency_p95_ms: Ring,
    pub latency_p99_ms: Ring,
    pub in_flight: Ring,
    /// Cache lookups that hit over all lookups in the interval (0 when there were none).
    pub cache_hit_ratio: Ring,
    pub db_reads_per_s: Ring,
    pub db_writes_per_s: Ring,
    /// Sessions lost since the warm-up, at the sample (a running total).
    pub sessions_lost: Ring,
    /// Session misses since the warm-up, at the sample (a running total).
    pub session_misses: Ring,
    /// The slowest request completed in the interval, if any completed: the request behind
    /// the latency points of this sample (`sim::slowest`).
    pub slowest_request: Ring<Option<SlowRequest>>,
    /// Per instance, indexed like the core's instances.
    pub units: Vec<UnitSeries>,
}

impl Series {
    /// Series for a new instance, padded with zeros so it lines up with `time_s`.
    pub fn add_unit(&mut self) {
        let mut u = UnitSeries::default();
        for _ in 0..self.time_s.len() {
            u.cpu_utilization.push(0.0);
            u.queue.push(0.0);
            u.served_per_s.push(0.0);
            u.calls_per_s.push(0.0);
            u.failed_per_s.push(0.0);
            u.up.push(0.0);
        }
        self.units.push(u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_values_in_order() {
        let mut r = Ring::default();
        for i in 0..(SERIES_CAPACITY + 5) {
            r.push(i as f32);
        }
        assert_eq!(r.len(), SERIES_CAPACITY);
        assert_eq!(r.iter().next(), Some(5.0));
        assert_eq!(r.last(), Some((SERIES_CAPACITY + 4) as f32));
        assert_eq!(r.pushed(), (SERIES_CAPACITY + 5) as u64);
    }
}
