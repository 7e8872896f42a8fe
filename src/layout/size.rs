//! The size ladder of server-like nodes: one general-purpose instance family, with vCPUs,
//! memory and on-demand price per size. How much a bigger box serves is the simulation's
//! business (`sim::sizing`, the Universal Scalability Law); here are only the facts a user
//! picks from and pays for.

use serde::{Deserialize, Serialize};

/// Where the ladder's figures come from.
///
/// AWS prices m7i per vCPU: $0.0504 per vCPU-hour on demand in us-east-1 for Linux, the same at
/// every size, with 4 GiB per vCPU; these are the prices AWS has listed since the family
/// launched (August 2023). They were written down from that public page, not re-read here:
/// this workplace has no web access, so [`PRICES_READ`] says what is and is not known. A unit
/// test checks every row against the per-vCPU price, so a typo cannot slip in.
pub const SOURCE: &str = "AWS EC2 On-Demand Pricing page (https://aws.amazon.com/ec2/pricing/on-demand/), \
     m7i family, us-east-1 (N. Virginia), Linux, On-Demand, USD per hour";

/// When the prices were read from [`SOURCE`].
pub const PRICES_READ: &str = "prices as listed since the m7i launch (August 2023); \
     not re-read from the live page in this build (no web access)";

/// A size of the m7i family, smallest first.
///
/// In files: `large`, `xlarge`, `xlarge_2` (m7i.2xlarge), `xlarge_4`, … `xlarge_48`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Size {
    /// m7i.large: 2 vCPU, 8 GiB.
    #[default]
    #[serde(rename = "large")]
    Large,
    /// m7i.xlarge: 4 vCPU, 16 GiB.
    #[serde(rename = "xlarge")]
    XLarge,
    /// m7i.2xlarge: 8 vCPU, 32 GiB.
    #[serde(rename = "xlarge_2")]
    X2Large,
    /// m7i.4xlarge: 16 vCPU, 64 GiB.
    #[serde(rename = "xlarge_4")]
    X4Large,
    /// m7i.8xlarge: 32 vCPU, 128 GiB.
    #[serde(rename = "xlarge_8")]
    X8Large,
    /// m7i.12xlarge: 48 vCPU, 192 GiB.
    #[serde(rename = "xlarge_12")]
    X12Large,
    /// m7i.16xlarge: 64 vCPU, 256 GiB.
    #[serde(rename = "xlarge_16")]
    X16Large,
    /// m7i.24xlarge: 96 vCPU, 384 GiB.
    #[serde(rename = "xlarge_24")]
    X24Large,
    /// m7i.48xlarge: 192 vCPU, 768 GiB.
    #[serde(rename = "xlarge_48")]
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

    /// The name as written in files, e.g. `xlarge_2`.
    pub fn file_name(self) -> &'static str {
        match self {
            Size::Large => "large",
            Size::XLarge => "xlarge",
            Size::X2Large => "xlarge_2",
            Size::X4Large => "xlarge_4",
            Size::X8Large => "xlarge_8",
            Size::X12Large => "xlarge_12",
            Size::X16Large => "xlarge_16",
            Size::X24Large => "xlarge_24",
            Size::X48Large => "xlarge_48",
        }
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
    }
}
