//! The one random generator: PCG-64 MCG (`rand_pcg::Pcg64Mcg`, O'Neill 2014), named by its
//! algorithm so that a seed means the same run on every build (rand's `StdRng` may change).
//!
//! Each simulated instance draws from its own stream, derived from the layout seed and the
//! instance's stable id with SplitMix64. Adding or removing a node therefore leaves every other
//! node's draws unchanged.

use rand::SeedableRng as _;
use rand_pcg::Pcg64Mcg;

use super::hash::mix;

/// The generator type used everywhere in the core.
pub type SimRng = Pcg64Mcg;

/// Which of an instance's streams.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// Arrival gaps and think times of a client.
    Arrivals = 1,
    /// Keys, users and read/write of a client's requests.
    Content = 2,
    /// Service times of a server.
    Service = 3,
    /// Random choices of a balancer.
    Balance = 4,
}

/// A generator for one stream of one instance (`node`, `member`) under `seed`.
pub fn stream(seed: u64, node: u32, member: u32, which: Stream) -> SimRng {
    let s = mix(&[seed, u64::from(node), u64::from(member), which as u64]);
    let s2 = mix(&[s, 0x5eed]);
    Pcg64Mcg::from_seed(((u128::from(s) << 64) | u128::from(s2)).to_le_bytes())
}
