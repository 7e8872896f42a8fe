//! Latency counts in hdrhistogram's bucket layout, cheaper to record, empty, merge and read.
//!
//! The core records every completed request twice (the run's histogram in ns and the 100 ms
//! sample's in us), moves the sample's counts into the recent window's sum (`window.rs`) ten
//! times a simulated second, keeping the buckets it used as a sparse `Tally`, and takes the
//! oldest sample's tally back out of the sum.
//! `hdrhistogram::Histogram` spends most of that on generality: a record checks for resizing
//! and keeps min and max values, a reset clears every bucket, and a merge or a percentile
//! walks every bucket. A `Hist` keeps the same buckets (lowest discernible value 1, the same
//! significant figures, so a value lands in the bucket it would land in there) plus the
//! lowest and highest bucket in use, and touches only that range. Its percentiles and maximum
//! are computed as hdrhistogram computes them from the same counts, so every reported figure
//! is unchanged; the tests check this against a `Histogram` fed the same values. It grows
//! past its initial range as hdrhistogram does with `auto(true)`, up to `u64::MAX`.

/// Buckets a percentile scan sums at once.
const CHUNK: usize = 8;

/// Counts of values in hdrhistogram's buckets for a lowest discernible value of 1.
#[derive(Clone, Debug)]
pub struct Hist {
    counts: Vec<u64>,
    total: u64,
    /// The lowest and highest bucket with a count; `lo > hi` when empty. Exact (not merely
    /// bounds): a merge or a percentile reads only `lo..=hi`, and `max` reads `hi`.
    lo: usize,
    hi: usize,
    /// log2 of half the sub-buckets of a bucket.
    half_mag: u32,
    /// Sub-buckets of a bucket, minus one: values below it fall in bucket 0.
    sub_mask: u64,
    /// 64 minus log2 of the sub-buckets of a bucket.
    lzc_base: u32,
}

/// The counts of one histogram's buckets in use, sparse: what `Hist::move_into` moved out,
/// so that `Hist::take_back` can take the same counts back out of the sum later.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// (bucket, count), ascending by bucket, no zero counts.
    buckets: Vec<(u32, u64)>,
    total: u64,
}

impl Tally {
    /// Bytes of its buckets (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        (self.buckets.capacity() * std::mem::size_of::<(u32, u64)>()) as u64
    }
}

impl Hist {
    /// Empty counts with `sigfig` significant figures (0 to 5, as hdrhistogram), with room for
    /// values up to `high` from the start (larger ones grow it).
    pub fn new(high: u64, sigfig: u8) -> Self {
        let sigfig = sigfig.min(5);
        // Single-unit resolution up to 2 x 10^sigfig, in a power-of-two number of sub-buckets.
        let largest = 2 * 10u64.pow(u32::from(sigfig));
        let mag = 64 - (largest - 1).leading_zeros();
        let mut h = Hist {
            counts: Vec::new(),
            total: 0,
            lo: usize::MAX,
            hi: 0,
            half_mag: mag - 1,
            sub_mask: (1u64 << mag) - 1,
            lzc_base: 64 - mag,
        };
        h.grow(h.index(high.max(1)));
        h
    }

    /// The bucket of `value` (at least 1): hdrhistogram's `index_for`.
    #[inline]
    fn index(&self, value: u64) -> usize {
        let bucket = self.lzc_base - (value | self.sub_mask).leading_zeros();
        let sub = (value >> bucket) as usize;
        (((bucket + 1) as usize) << self.half_mag) + sub - (1usize << self.half_mag)
    }

    /// The lowest value of bucket `index`, and log2 of its width: hdrhistogram's `value_for`.
    fn bucket_at(&self, index: usize) -> (u64, u32) {
        let half = 1usize << self.half_mag;
        let bucket = (index >> self.half_mag) as i64 - 1;
        let sub = (index & (half - 1)) + half;
        if bucket < 0 {
            ((sub - half) as u64, 0)
        } else {
            ((sub as u64) << bucket, bucket as u32)
        }
    }

    /// The highest value of bucket `index`: hdrhistogram's `highest_equivalent` of its lowest.
    fn highest_at(&self, index: usize) -> u64 {
        let (lowest, width_log2) = self.bucket_at(index);
        lowest.saturating_add(1u64 << width_log2) - 1
    }

    /// Room up to bucket `index`, in whole buckets as hdrhistogram resizes.
    #[cold]
    fn grow(&mut self, index: usize) {
        let half = 1usize << self.half_mag;
        let len = ((index >> self.half_mag) + 1) * half;
        if self.counts.is_empty() {
            // Zeroed by the allocator: pages no value reaches are never touched (an hour's
            // range is mostly buckets a run never uses), as with hdrhistogram.
            self.counts = vec![0; len];
        } else if len > self.counts.len() {
            self.counts.resize(len, 0);
        }
    }

    /// Count one value; 0 counts as 1, the lowest discernible value. Always inlined: twice a
    /// request, and a call's register saves cost as much as the count.
    #[inline(always)]
    pub fn record(&mut self, value: u64) {
        let i = self.index(value.max(1));
        if i >= self.counts.len() {
            self.grow(i);
        }
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.total += 1;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Bytes of its buckets (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        (self.counts.capacity() * std::mem::size_of::<u64>()) as u64
    }

    /// Move every count into `sum` (same significant figures), write the buckets it used to
    /// `tally`, and leave this histogram empty for the next sample, in one pass over the
    /// buckets in use: a 100 ms sample entering the recent window (`window.rs`). The tally
    /// holds a sample's few dozen buckets in a few hundred bytes where a histogram of the
    /// hour's range holds 25 kB, so fifty of them cost little to keep and to copy into a
    /// snapshot, and a run's memory does not creep up as rare slow requests touch new pages
    /// of fifty histograms.
    pub fn move_into(&mut self, sum: &mut Hist, tally: &mut Tally) {
        debug_assert_eq!(self.half_mag, sum.half_mag);
        tally.buckets.clear();
        tally.total = self.total;
        if self.is_empty() {
            return;
        }
        if self.hi >= sum.counts.len() {
            sum.grow(self.hi);
        }
        let (lo, hi) = (self.lo, self.hi);
        let part = &mut self.counts[lo..=hi];
        for (s, c) in sum.counts[lo..=hi].iter_mut().zip(&*part) {
            *s += c;
        }
        for (i, c) in part.iter_mut().enumerate() {
            if *c > 0 {
                tally.buckets.push(((lo + i) as u32, *c));
                *c = 0;
            }
        }
        sum.total += self.total;
        sum.lo = sum.lo.min(lo);
        sum.hi = sum.hi.max(hi);
        (self.total, self.lo, self.hi) = (0, usize::MAX, 0);
    }

    /// Take back a tally that `move_into` added (its counts are in `self`): the recent
    /// window's oldest sample leaving the sum.
    pub fn take_back(&mut self, tally: &Tally) {
        if tally.total == 0 {
            return;
        }
        for &(i, n) in &tally.buckets {
            if let Some(c) = self.counts.get_mut(i as usize) {
                debug_assert!(*c >= n, "taking back counts that were not added");
                *c = c.saturating_sub(n);
            }
        }
        self.total = self.total.saturating_sub(tally.total);
        if self.total == 0 {
            (self.lo, self.hi) = (usize::MAX, 0);
            return;
        }
        // Keep the range exact: move its ends in past buckets just emptied.
        while self.counts[self.lo] == 0 {
            self.lo += 1;
        }
        while self.counts[self.hi] == 0 {
            self.hi -= 1;
        }
    }

    /// The values at ascending `quantiles` (0 to 1): what hdrhistogram's `value_at_quantile`
    /// returns for each, in one pass over the buckets in use; all 0 when empty.
    pub fn values_at<const N: usize>(&self, quantiles: [f64; N]) -> [u64; N] {
        let mut out = [0; N];
        if self.is_empty() {
            return out;
        }
        let mut seen = 0u64;
        let mut at = self.lo;
        let mut next = self.lo;
        for (slot, q) in out.iter_mut().zip(quantiles) {
            let q = q.clamp(0.0, 1.0);
            let target = ((q * self.total as f64).ceil() as u64).max(1);
            while seen < target && next <= self.hi {
                // Whole chunks that stay below the target at once (their sum vectorises),
                // then bucket by bucket: the same bucket is reached as one by one.
                if let Some(chunk) = self.counts.get(next..next + CHUNK)
                    && next + CHUNK <= self.hi
                {
                    let sum: u64 = chunk.iter().sum();
                    if seen + sum < target {
                        seen += sum;
                        next += CHUNK;
                        continue;
                    }
                }
                seen += self.counts[next];
                at = next;
                next += 1;
            }
            *slot = if q == 0.0 {
                self.bucket_at(at).0
            } else {
                self.highest_at(at)
            };
        }
        out
    }

    /// The highest value counted, as hdrhistogram's `max` (the top of its bucket); 0 when
    /// empty. One difference: hdrhistogram reads a recorded `u64::MAX` back as itself, this
    /// as `u64::MAX - 1`, the top of the bucket like any other value there (584 years in ns,
    /// which simulated time cannot reach).
    pub fn max(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.highest_at(self.hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use hdrhistogram::Histogram;

    use super::*;

    /// The reference: hdrhistogram as the core used it, growing past `high`.
    fn reference(high: u64, sigfig: u8) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, high, sigfig).unwrap_or_else(|e| panic!("{e}"));
        h.auto(true);
        h
    }

    const QUANTILES: [f64; 9] = [0.0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];

    /// Every quantile, the maximum and the count agree with hdrhistogram's.
    fn same(h: &Hist, r: &Histogram<u64>) {
        assert_eq!(h.len(), r.len());
        assert_eq!(h.is_empty(), r.is_empty());
        if r.is_empty() {
            assert_eq!(h.values_at(QUANTILES), [0; 9]);
            return;
        }
        let want: Vec<u64> = QUANTILES.iter().map(|&q| r.value_at_quantile(q)).collect();
        assert_eq!(h.values_at(QUANTILES).to_vec(), want);
        for &q in &QUANTILES {
            assert_eq!(h.values_at([q]), [r.value_at_quantile(q)], "q {q}");
        }
        assert_eq!(h.max(), r.max());
    }

    /// A deterministic spread of values over many orders of magnitude (xorshift, then a
    /// random number of bits kept).
    fn values(n: usize, seed: u64) -> Vec<u64> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let bits = (x >> 58) as u32; // 0 to 63
                x >> (64 - bits.max(1))
            })
            .collect()
    }

    #[test]
    fn quantiles_and_max_match_hdrhistogram_for_both_configurations() {
        for (high, sigfig) in [(3_600_000_000, 2), (3_600_000_000_000, 3), (1000, 1)] {
            for seed in [1, 7, 42] {
                let mut h = Hist::new(high, sigfig);
                let mut r = reference(high, sigfig);
                for v in values(5000, seed) {
                    h.record(v);
                    r.record(v.max(1)).unwrap_or_else(|e| panic!("{e}"));
                }
                same(&h, &r);
            }
        }
    }

    #[test]
    fn extremes_the_bounds_and_past_them() {
        for (high, sigfig) in [(3_600_000_000, 2), (3_600_000_000_000, 3)] {
            let mut h = Hist::new(high, sigfig);
            let mut r = reference(high, sigfig);
            same(&h, &r);
            // The lowest value (0 counts as 1), the configured top, and values that grow
            // the histogram, up to the top bucket a u64 reaches (see `max` on u64::MAX).
            for v in [
                0,
                1,
                2,
                high - 1,
                high,
                high + 1,
                10 * high,
                u64::MAX / 3,
                u64::MAX - 1,
            ] {
                h.record(v);
                r.record(v.max(1)).unwrap_or_else(|e| panic!("{e}"));
                same(&h, &r);
            }
        }
    }

    #[test]
    fn one_value_and_ties() {
        let mut h = Hist::new(3_600_000_000, 2);
        let mut r = reference(3_600_000_000, 2);
        h.record(12_345);
        r.record(12_345).unwrap_or_else(|e| panic!("{e}"));
        same(&h, &r);
        for _ in 0..99 {
            h.record(255);
            r.record(255).unwrap_or_else(|e| panic!("{e}"));
        }
        same(&h, &r);
    }

    #[test]
    fn move_into_and_take_back_match_hdrhistogram() {
        let (high, sigfig) = (3_600_000_000, 2);
        let parts: Vec<Vec<u64>> = (0..6).map(|k| values(300 * k, 11 + k as u64)).collect();
        let mut sum = Hist::new(high, sigfig);
        let mut ref_sum = reference(high, sigfig);
        // One histogram reused for every part, as the core reuses its sample's.
        let mut h = Hist::new(high, sigfig);
        let mut tallies = Vec::new();
        for p in &parts {
            let mut r = reference(high, sigfig);
            for &v in p {
                h.record(v);
                r.record(v.max(1)).unwrap_or_else(|e| panic!("{e}"));
            }
            same(&h, &r);
            let mut tally = Tally::default();
            h.move_into(&mut sum, &mut tally);
            same(&h, &reference(high, sigfig));
            ref_sum.add(&r).unwrap_or_else(|e| panic!("{e}"));
            same(&sum, &ref_sum);
            tallies.push((tally, r));
        }
        // Take the parts back again, largest first (the empty one, parts[0], last).
        for (tally, r) in tallies.iter().rev() {
            sum.take_back(tally);
            ref_sum.subtract(r).unwrap_or_else(|e| panic!("{e}"));
            same(&sum, &ref_sum);
        }
        assert!(sum.is_empty());
        // The reused histogram counts afresh, with nothing left of before.
        let mut r = reference(high, sigfig);
        for v in [5, 5, 900_000] {
            h.record(v);
            r.record(v).unwrap_or_else(|e| panic!("{e}"));
        }
        same(&h, &r);
    }

    #[test]
    fn an_empty_part_changes_nothing() {
        let (high, sigfig) = (3_600_000_000, 2);
        let mut sum = Hist::new(high, sigfig);
        let (mut empty, mut part) = (Hist::new(high, sigfig), Hist::new(high, sigfig));
        let (mut empty_tally, mut tally) = (Tally::default(), Tally::default());
        part.record(70);
        part.move_into(&mut sum, &mut tally);
        empty.move_into(&mut sum, &mut empty_tally);
        assert_eq!((sum.len(), sum.max()), (1, 70));
        sum.take_back(&empty_tally);
        assert_eq!((sum.len(), sum.max()), (1, 70));
        sum.take_back(&tally);
        assert!(sum.is_empty());
        assert_eq!(sum.max(), 0);
        assert_eq!(sum.values_at([0.5]), [0]);
    }
}
