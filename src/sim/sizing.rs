//! Vertical scaling in the core: a bigger box has more cores, not faster ones, and the cores
//! slow each other down by the Universal Scalability Law (Gunther). The ladder itself (vCPUs,
//! memory, prices) is in `layout::size`.
//!
//! A sized server's requests queue for its vCPUs. With `c` cores busy, each runs at
//! `X(c)/c` of one core's speed, so one request alone is served in its full service time on
//! every size, and with every core busy the box serves `X(N)` cores' worth: the throughput
//! ceiling follows USL. Scaling up is simple but sub-linear and bounded: price grows in step
//! with vCPUs while throughput grows less, so throughput per dollar falls at every step, and
//! the top of the ladder is a hard ceiling. Past it only scaling out helps.

pub use crate::layout::Size;

/// USL contention σ: the share of work that serialises (locks, a shared queue, the allocator).
/// 2 % is a well-behaved stateless application server.
pub const USL_CONTENTION: f64 = 0.02;

/// USL coherency κ: the cost of keeping cores' views consistent (cache-line traffic, which grows
/// with pairs of cores). Chosen so that throughput peaks at `sqrt((1 − σ)/κ)` ≈ 221 vCPUs, just
/// past the ladder's 192: every step up still adds capacity, but the last doubling of cost adds
/// about 11 % and no bigger box would add more than 1 %. (κ = 0.0005 would peak at 44 vCPUs
/// and make the top four sizes slower than the 12xlarge.)
pub const USL_COHERENCY: f64 = 0.000_02;

/// Throughput of `cores` relative to one core, by the Universal Scalability Law (Gunther 1993):
/// `X(N) = N / (1 + σ(N − 1) + κ N (N − 1))`.
pub fn usl_throughput(cores: f64) -> f64 {
    cores / (1.0 + USL_CONTENTION * (cores - 1.0) + USL_COHERENCY * cores * (cores - 1.0))
}

/// The core count at which USL throughput peaks, `sqrt((1 − σ)/κ)`.
pub fn usl_peak_cores() -> f64 {
    ((1.0 - USL_CONTENTION) / USL_COHERENCY).sqrt()
}

/// How much longer a service takes when it starts with `busy` cores busy (itself included):
/// `busy / X(busy)`, the inverse of one core's share of USL throughput. 1 for one core alone.
/// The speed is fixed when the service starts (the core does not re-time a service when
/// other cores start or finish), which is exact at low load and at saturation.
pub fn core_slowdown(busy: u32) -> f64 {
    let c = f64::from(busy.max(1));
    c / usl_throughput(c)
}

/// How many times the smallest size's throughput ceiling `size` has: USL throughput at its
/// vCPUs over USL throughput at the smallest size's.
pub fn capacity_factor(size: Size) -> f64 {
    usl_throughput(f64::from(size.vcpus())) / usl_throughput(f64::from(Size::SMALLEST.vcpus()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::show;

    #[test]
    fn the_smallest_size_is_the_unit_and_one_core_alone_runs_at_full_speed() {
        assert_eq!(capacity_factor(Size::SMALLEST), 1.0);
        assert_eq!(core_slowdown(1), 1.0);
        assert!(core_slowdown(2) > 1.0);
    }

    #[test]
    fn throughput_per_dollar_falls_at_every_step_and_the_top_is_a_ceiling() {
        let mut table =
            String::from("size          vCPU  GiB    $/h      X(N)  factor  X per $/h\n");
        let mut last: Option<(f64, f64)> = None;
        for s in Size::ALL {
            let x = usl_throughput(f64::from(s.vcpus()));
            let per_dollar = x / s.usd_per_hour();
            table.push_str(&format!(
                "{:<13} {:>4} {:>4} {:>7.4} {:>8.2} {:>7.2} {:>10.1}\n",
                s.name(),
                s.vcpus(),
                s.memory_gib(),
                s.usd_per_hour(),
                x,
                capacity_factor(s),
                per_dollar
            ));
            if let Some((last_x, last_per_dollar)) = last {
                assert!(x > last_x, "{}: a step up never loses capacity", s.name());
                assert!(
                    per_dollar < last_per_dollar,
                    "{}: per dollar falls",
                    s.name()
                );
            }
            last = Some((x, per_dollar));
        }
        let top = usl_throughput(f64::from(Size::LARGEST.vcpus()));
        let below = usl_throughput(f64::from(Size::X24Large.vcpus()));
        let peak_cores = usl_peak_cores();
        let peak = usl_throughput(peak_cores);
        show(&format!(
            "{table}USL sigma {USL_CONTENTION}, kappa {USL_COHERENCY}: peak at {peak_cores:.0} vCPUs; \
             top step adds {:.1} % for 2x the price; peak is {:.2} % above the top",
            100.0 * (top / below - 1.0),
            100.0 * (peak / top - 1.0)
        ));
        // Flattening: doubling the price at the top buys little.
        assert!(top / below < 1.15);
        // The ceiling: the peak sits just past the top, and a hypothetical box twice the
        // largest would serve less than the largest.
        assert!(peak_cores > f64::from(Size::LARGEST.vcpus()));
        assert!(peak / top < 1.01);
        assert!(usl_throughput(2.0 * f64::from(Size::LARGEST.vcpus())) < top);
    }
}
