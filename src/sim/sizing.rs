//! Vertical scaling: one instance family's size ladder (vCPUs, memory, on-demand price), and
//! how much more a bigger box serves by the Universal Scalability Law.
//!
//! Scaling up is simple (no new code paths) but sub-linear and bounded: price grows in step
//! with vCPUs while throughput grows less, so throughput per dollar falls at every step, and
//! the top of the ladder is a hard ceiling. Past it only scaling out helps.

/// Where the ladder's figures come from.
///
/// The figures are those given in the data-tier issue; they agree with the page's pattern for
/// this family (price exactly $0.0504 per vCPU-hour, 4 GiB per vCPU). The date they were read
/// from the page was not recorded with them. TODO(algo): re-read the page and record the date in
/// [`PRICES_READ`].
pub const SOURCE: &str = "AWS EC2 On-Demand Pricing page (https://aws.amazon.com/ec2/pricing/on-demand/), \
     m7i family, us-east-1 (N. Virginia), Linux, On-Demand, USD per hour";

/// When the prices were read from [`SOURCE`].
pub const PRICES_READ: &str = "not recorded (figures as given in the data-tier issue)";

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

/// A size of the m7i family, smallest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Size {
    /// m7i.large: 2 vCPU, 8 GiB.
    #[default]
    Large,
    /// m7i.xlarge: 4 vCPU, 16 GiB.
    XLarge,
    /// m7i.2xlarge: 8 vCPU, 32 GiB.
    X2Large,
    /// m7i.4xlarge: 16 vCPU, 64 GiB.
    X4Large,
    /// m7i.8xlarge: 32 vCPU, 128 GiB.
    X8Large,
    /// m7i.12xlarge: 48 vCPU, 192 GiB.
    X12Large,
    /// m7i.16xlarge: 64 vCPU, 256 GiB.
    X16Large,
    /// m7i.24xlarge: 96 vCPU, 384 GiB.
    X24Large,
    /// m7i.48xlarge: 192 vCPU, 768 GiB.
    X48Large,
}

/// One rung of the ladder.
struct Spec {
    name: &'static str,
    vcpus: u32,
    memory_gib: u32,
    usd_per_hour: f64,
}

/// The ladder, in `Size` order. See [`SOURCE`].
const LADDER: [Spec; 9] = [
    spec("m7i.large", 2, 8, 0.1008),
    spec("m7i.xlarge", 4, 16, 0.2016),
    spec("m7i.2xlarge", 8, 32, 0.4032),
    spec("m7i.4xlarge", 16, 64, 0.8064),
    spec("m7i.8xlarge", 32, 128, 1.6128),
    spec("m7i.12xlarge", 48, 192, 2.4192),
    spec("m7i.16xlarge", 64, 256, 3.2256),
    spec("m7i.24xlarge", 96, 384, 4.8384),
    spec("m7i.48xlarge", 192, 768, 9.6768),
];

const fn spec(name: &'static str, vcpus: u32, memory_gib: u32, usd_per_hour: f64) -> Spec {
    Spec {
        name,
        vcpus,
        memory_gib,
        usd_per_hour,
    }
}

impl Size {
    /// Every size, smallest first.
    pub const ALL: [Size; 9] = [
        Size::Large,
        Size::XLarge,
        Size::X2Large,
        Size::X4Large,
        Size::X8Large,
        Size::X12Large,
        Size::X16Large,
        Size::X24Large,
        Size::X48Large,
    ];

    /// The bottom of the ladder, the unit `capacity_factor` is measured in.
    pub const SMALLEST: Size = Size::Large;

    /// The top of the ladder: vertical scaling stops here.
    pub const LARGEST: Size = Size::X48Large;

    fn spec(self) -> &'static Spec {
        &LADDER[self as usize]
    }

    /// The instance type's name, e.g. "m7i.large".
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Virtual CPUs (hyperthreads).
    pub fn vcpus(self) -> u32 {
        self.spec().vcpus
    }

    /// Memory in GiB.
    pub fn memory_gib(self) -> u32 {
        self.spec().memory_gib
    }

    /// On-demand price in US dollars per hour (see [`SOURCE`]).
    pub fn usd_per_hour(self) -> f64 {
        self.spec().usd_per_hour
    }

    /// How many times the smallest size's throughput this size serves: USL throughput at this
    /// size's vCPUs over USL throughput at the smallest size's. The core models a bigger box by
    /// dividing a server's service times by this factor, keeping its worker count: throughput
    /// scales by the factor exactly, and no rounding of workers distorts it.
    pub fn capacity_factor(self) -> f64 {
        usl_throughput(f64::from(self.vcpus())) / usl_throughput(f64::from(Size::SMALLEST.vcpus()))
    }

    /// The next size up, `None` at the top.
    pub fn next_up(self) -> Option<Size> {
        Size::ALL.get(self as usize + 1).copied()
    }

    /// The next size down, `None` at the bottom.
    pub fn next_down(self) -> Option<Size> {
        (self as usize).checked_sub(1).map(|i| Size::ALL[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::balance::test_util::show;

    #[test]
    fn the_ladder_is_consistent() {
        for (i, s) in Size::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i);
            assert!(s.name().starts_with("m7i."));
            assert_eq!(s.memory_gib(), 4 * s.vcpus(), "{}", s.name());
            // m7i is priced per vCPU: a typo in the table breaks this.
            let per_vcpu = s.usd_per_hour() / f64::from(s.vcpus());
            assert!((per_vcpu - 0.0504).abs() < 1e-9, "{}: {per_vcpu}", s.name());
        }
        let mut walked = vec![Size::SMALLEST];
        while let Some(up) = walked.last().and_then(|s| s.next_up()) {
            walked.push(up);
        }
        assert_eq!(walked, Size::ALL);
        assert_eq!(Size::LARGEST.next_up(), None);
        assert_eq!(Size::SMALLEST.next_down(), None);
        assert_eq!(Size::LARGEST.next_down(), Some(Size::X24Large));
        assert_eq!(Size::SMALLEST.capacity_factor(), 1.0);
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
                s.capacity_factor(),
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
