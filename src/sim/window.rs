//! The recent window: what the last few seconds measured, for a summary that recovers after a
//! spike. A ring of the last `WINDOW_SAMPLES` 100 ms samples, each with the latency buckets
//! it used (a sparse `Tally`) and counters, and their running sum, one histogram: a sample
//! entering the window is added to the
//! sum and the one leaving it subtracted, so the window's p99 is a percentile of the window's
//! latencies (one merged histogram), not an average of per-sample percentiles.

use super::hist::{Hist, Tally};
use super::metrics;
use super::series::SAMPLE_NS;

/// Samples in the window: five seconds of simulated time.
pub const WINDOW_SAMPLES: usize = 50;
/// The window's length in simulated seconds.
pub const WINDOW_S: f64 = WINDOW_SAMPLES as f64 * SAMPLE_NS as f64 / 1e9;
/// Relative precision of the window's latency percentiles: the histogram keeps two
/// significant figures (a recorded value is off by at most 1/128 of itself, upwards), in whole
/// microseconds.
pub const LATENCY_PRECISION: f64 = 1.0 / 128.0;

/// What the recent window measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Recent {
    /// Simulated time the window covers: completions at or after `from_ns` and before `to_ns`
    /// (the last sample).
    pub from_ns: u64,
    pub to_ns: u64,
    /// Requests that completed or failed in the window (every request, warm-up or not).
    pub completed: u64,
    pub failed: u64,
    /// Of the failed, those a rate limiter refused (`rate_limited`), apart from overload.
    pub rate_limited: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Latency percentiles of the requests completed in the window, ms; `None` when none did.
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
}

impl Recent {
    /// The window's length in seconds (shorter than `WINDOW_S` at the start of a run).
    pub fn seconds(&self) -> f64 {
        (self.to_ns - self.from_ns) as f64 / 1e9
    }

    /// Failed over finished requests in the window (0 when none finished).
    pub fn failure_share(&self) -> f64 {
        let n = self.completed + self.failed;
        if n == 0 {
            0.0
        } else {
            self.failed as f64 / n as f64
        }
    }

    /// Cache lookups that hit over all lookups in the window; `None` without lookups.
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let n = self.cache_hits + self.cache_misses;
        (n > 0).then(|| self.cache_hits as f64 / n as f64)
    }

    /// Completed requests per second over the window.
    pub fn throughput_rps(&self) -> f64 {
        let s = self.seconds();
        if s > 0.0 {
            self.completed as f64 / s
        } else {
            0.0
        }
    }
}

/// One 100 ms sample's share of the window (`L`: a sample's latencies, sparse), or the sum of
/// the window's samples (`L`: a histogram).
#[derive(Clone, Debug)]
struct Slot<L> {
    /// Latencies in microseconds (`metrics::new_interval_histogram`'s buckets).
    latency: L,
    completed: u64,
    failed: u64,
    rate_limited: u64,
    cache_hits: u64,
    cache_misses: u64,
}

/// The sample counters a slot takes over.
#[derive(Clone, Copy, Debug, Default)]
pub struct SampleCounts {
    pub completed: u64,
    pub failed: u64,
    pub rate_limited: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

/// The ring of the last samples and their sum.
#[derive(Clone, Debug)]
pub struct RecentWindow {
    slots: Vec<Slot<Tally>>,
    /// The slot the next sample replaces once the ring is full.
    next: usize,
    sum: Slot<Hist>,
    /// Time of the last sample.
    last_ns: u64,
}

impl Default for RecentWindow {
    fn default() -> Self {
        RecentWindow {
            slots: Vec::new(),
            next: 0,
            sum: Slot {
                latency: metrics::new_interval_histogram(),
                completed: 0,
                failed: 0,
                rate_limited: 0,
                cache_hits: 0,
                cache_misses: 0,
            },
            last_ns: 0,
        }
    }
}

impl RecentWindow {
    /// Bytes of its slots' tallies and of the sum's histogram (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        use super::footprint::vec;
        vec(&self.slots, self.slots.capacity())
            + self
                .slots
                .iter()
                .map(|s| s.latency.heap_bytes())
                .sum::<u64>()
            + self.sum.latency.heap_bytes()
    }

    /// Take one sample ending at `at_ns`. The sample's counts move into the window's sum, the
    /// buckets they used into the sample's slot, and `interval` comes back empty (no
    /// allocation once the ring is full and its tallies have grown to the samples' size).
    /// Adding and subtracting touch only the buckets in use (`hist.rs`), not the whole
    /// hour's range.
    pub(super) fn push(&mut self, at_ns: u64, interval: &mut Hist, counts: SampleCounts) {
        self.last_ns = at_ns;
        let slot = if self.slots.len() < WINDOW_SAMPLES {
            // Only while the ring fills: once full, slots are reused (a tally grows only when a
            // sample uses more buckets than its slot has held before).
            self.slots.push(Slot {
                latency: Tally::default(),
                completed: counts.completed,
                failed: counts.failed,
                rate_limited: counts.rate_limited,
                cache_hits: counts.cache_hits,
                cache_misses: counts.cache_misses,
            });
            let last = self.slots.len() - 1;
            &mut self.slots[last]
        } else {
            let i = self.next;
            self.next = (i + 1) % WINDOW_SAMPLES;
            let old = &mut self.slots[i];
            self.sum.completed -= old.completed;
            self.sum.failed -= old.failed;
            self.sum.rate_limited -= old.rate_limited;
            self.sum.cache_hits -= old.cache_hits;
            self.sum.cache_misses -= old.cache_misses;
            // The sum holds every slot's counts, so this takes away exactly what was added.
            self.sum.latency.take_back(&old.latency);
            old.completed = counts.completed;
            old.failed = counts.failed;
            old.rate_limited = counts.rate_limited;
            old.cache_hits = counts.cache_hits;
            old.cache_misses = counts.cache_misses;
            old
        };
        interval.move_into(&mut self.sum.latency, &mut slot.latency);
        let slot = &*slot;
        self.sum.completed += slot.completed;
        self.sum.failed += slot.failed;
        self.sum.rate_limited += slot.rate_limited;
        self.sum.cache_hits += slot.cache_hits;
        self.sum.cache_misses += slot.cache_misses;
    }

    /// What the window holds.
    pub fn recent(&self) -> Recent {
        let h = &self.sum.latency;
        let [p50, p99] = h.values_at([0.50, 0.99]);
        let ms = |us: u64| (!h.is_empty()).then(|| us as f64 / 1e3);
        Recent {
            from_ns: self
                .last_ns
                .saturating_sub(self.slots.len() as u64 * SAMPLE_NS),
            to_ns: self.last_ns,
            completed: self.sum.completed,
            failed: self.sum.failed,
            rate_limited: self.sum.rate_limited,
            cache_hits: self.sum.cache_hits,
            cache_misses: self.sum.cache_misses,
            latency_p50_ms: ms(p50),
            latency_p99_ms: ms(p99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: &mut RecentWindow, at_ns: u64, latencies_us: &[u64]) {
        let mut h = metrics::new_interval_histogram();
        for &v in latencies_us {
            h.record(v);
        }
        let counts = SampleCounts {
            completed: latencies_us.len() as u64,
            ..SampleCounts::default()
        };
        w.push(at_ns, &mut h, counts);
        assert!(h.is_empty(), "the sample's histogram moved into the window");
    }

    fn p99(w: &RecentWindow) -> f64 {
        w.recent().latency_p99_ms.unwrap_or_else(|| panic!("a p99"))
    }

    #[test]
    fn a_spike_leaves_the_window_after_its_length() {
        let mut w = RecentWindow::default();
        let mut t = 0;
        // One sample of 100 slow requests, then normal ones.
        t += SAMPLE_NS;
        sample(&mut w, t, &[800_000; 100]);
        for _ in 1..WINDOW_SAMPLES {
            t += SAMPLE_NS;
            sample(&mut w, t, &[2_000; 10]);
        }
        // 100 of 590 are slow: p99 is slow.
        assert!(p99(&w) > 790.0);
        t += SAMPLE_NS;
        sample(&mut w, t, &[2_000; 10]);
        let r = w.recent();
        assert_eq!(r.completed, 500);
        assert!(
            (r.latency_p99_ms.unwrap_or_else(|| panic!("a p99")) - 2.0).abs()
                < 2.0 * LATENCY_PRECISION
        );
        assert_eq!(r.seconds(), WINDOW_S);
    }

    #[test]
    fn the_p99_is_of_the_merged_window_not_a_mean_of_samples() {
        let mut w = RecentWindow::default();
        // Ten samples; in one of them, 6 of 10 requests take 100 ms; the rest take 1 ms.
        for k in 1..=10u64 {
            let lat: Vec<u64> = if k == 3 {
                vec![
                    100_000, 100_000, 100_000, 100_000, 100_000, 100_000, 1_000, 1_000, 1_000,
                    1_000,
                ]
            } else {
                vec![1_000; 10]
            };
            sample(&mut w, k * SAMPLE_NS, &lat);
        }
        // 6 slow of 100: the 99th value is slow. A mean of sample p99s would be ~10.9 ms.
        let p99 = p99(&w);
        assert!((p99 - 100.0).abs() <= 100.0 * LATENCY_PRECISION, "{p99}");
        assert_eq!(w.recent().seconds(), 1.0);
    }

    #[test]
    fn an_empty_window_has_no_latency() {
        let mut w = RecentWindow::default();
        sample(&mut w, SAMPLE_NS, &[]);
        assert_eq!(w.recent().latency_p99_ms, None);
        assert_eq!(w.recent().cache_hit_ratio(), None);
    }

    #[test]
    fn the_window_reads_what_one_histogram_of_its_last_samples_reads() {
        // Independent reference: a plain hdrhistogram of the same configuration, rebuilt from
        // the values of the last WINDOW_SAMPLES samples after every push.
        let reference = |samples: &[Vec<u64>]| {
            let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 2)
                .unwrap_or_else(|e| panic!("{e}"));
            h.auto(true);
            let from = samples.len().saturating_sub(WINDOW_SAMPLES);
            for &v in samples[from..].iter().flatten() {
                h.record(v.max(1)).unwrap_or_else(|e| panic!("{e}"));
            }
            h
        };
        let mut w = RecentWindow::default();
        let mut samples: Vec<Vec<u64>> = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for k in 1..=3 * WINDOW_SAMPLES as u64 {
            // Empty samples, in short runs and in one longer than the window (which empties
            // out entirely), single values at the extremes (0, 1, an hour, past an hour) and
            // spreads over six decades.
            let lat: Vec<u64> = match k % 40 {
                _ if (60..=115).contains(&k) => vec![],
                0..=4 => vec![],
                5 => vec![0],
                6 => vec![3_600_000_000, 1],
                7 => vec![10_000_000_000],
                _ => (0..(k % 13) * 7)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x % 10u64.pow(1 + (x >> 61) as u32 % 6)
                    })
                    .collect(),
            };
            sample(&mut w, k * SAMPLE_NS, &lat);
            samples.push(lat);
            let r = reference(&samples);
            let got = w.recent();
            let want = |q: f64| (!r.is_empty()).then(|| r.value_at_quantile(q) as f64 / 1e3);
            assert_eq!(got.latency_p50_ms, want(0.50), "sample {k}");
            assert_eq!(got.latency_p99_ms, want(0.99), "sample {k}");
            assert_eq!(got.completed, r.len(), "sample {k}");
        }
    }
}
