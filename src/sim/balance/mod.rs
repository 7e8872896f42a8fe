//! Load-balancing algorithms, one small file each behind one enum. Each pick explains itself
//! (`Why`), and the explanation is turned into words only for traced requests.
//!
//! Every algorithm sees the same thing: the backends as the balancer knows them (`Backend`:
//! stable identity, weight, requests in flight, healthy or not), and what it may know of the
//! request (`RequestView`: key and cookie only at L7). Unhealthy backends are never picked;
//! with none healthy, `pick` returns `None` and the request fails with `no_backend`.

mod consistent_hash;
mod least_conn;
mod maglev;
mod power_of_two;
mod random;
mod rendezvous;
mod round_robin;
mod sticky;
mod weighted_least_conn;
mod weighted_round_robin;

use super::ix::UnitIx;
use crate::layout::LbAlgorithm;

use super::rng::SimRng;

pub use consistent_hash::ConsistentHash;
pub use least_conn::LeastConnections;
pub use maglev::Maglev;
pub use power_of_two::PowerOfTwo;
pub use random::Random;
pub use rendezvous::Rendezvous;
pub use round_robin::RoundRobin;
pub use sticky::{Stickiness, StickyCookie, StickyIp};
pub use weighted_least_conn::WeightedLeastConnections;
pub use weighted_round_robin::WeightedRoundRobin;

/// A backend as the balancer sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backend {
    /// Instance index of the backend in the core.
    pub unit: UnitIx,
    /// Stable identity (a hash of node id and member): what rings and tables hash, so adding a
    /// backend leaves the others' points where they were.
    pub key: u64,
    /// Weight for weighted algorithms (from the wire), at least 1. The hashing algorithms place
    /// by key and ignore it.
    pub weight: u32,
    /// Requests (L7) or open connections (L4) the balancer has at this backend now.
    pub in_flight: u32,
    /// False once health checks mark it down.
    pub healthy: bool,
}

/// What the balancer may know of a request. Hashes, never raw strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestView {
    /// Hash of the request key (L7 only; 0 at L4).
    pub key: u64,
    /// Hash of the user's session cookie (L7 only; 0 at L4).
    pub user: u64,
    /// Hash of the client's address (always visible).
    pub client: u64,
}

/// Why a backend was chosen, formatted only when traced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Why {
    /// Round-robin: the next in turn after the previous pick.
    RoundRobin { previous: Option<UnitIx> },
    /// Random: uniformly among `of` healthy backends.
    Random { of: u32 },
    /// Smooth weighted round-robin: the highest running score; the chosen backend's weight and
    /// the healthy backends' total weight.
    WeightedRoundRobin { weight: u32, total_weight: u32 },
    /// Least-connections: the fewest in flight, shared by `tied` healthy backends (1: alone).
    LeastConnections { in_flight: u32, tied: u32 },
    /// Weighted least-connections: the lowest `in_flight / weight`.
    WeightedLeastConnections { in_flight: u32, weight: u32 },
    /// Power of two choices: the chosen one's in flight, and the other drawn (unit, in flight);
    /// `None` when only one backend was healthy.
    PowerOfTwo {
        in_flight: u32,
        other: Option<(UnitIx, u32)>,
    },
    /// Consistent hash: the request key, and how many points of unhealthy backends were passed.
    ConsistentHash { key: u64, skipped: u32 },
    /// Rendezvous: the request key scored highest on the chosen backend.
    Rendezvous { key: u64 },
    /// Maglev: the key's slot in the table, and how many further slots were probed because
    /// their backends were down.
    Maglev {
        key: u64,
        slot: u32,
        table_size: u32,
        walked: u32,
    },
    /// Sticky cookie: the user, and whether they stayed, are new, or moved.
    StickyCookie { user: u64, stickiness: Stickiness },
    /// Sticky by IP: the client address hash scored highest on the chosen backend.
    StickyIp { client: u64 },
}

/// A pick: the index into the backends slice, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pick {
    pub index: usize,
    pub why: Why,
}

/// A balancer's algorithm and its state.
#[derive(Clone, Debug)]
pub enum Balancer {
    RoundRobin(RoundRobin),
    WeightedRoundRobin(WeightedRoundRobin),
    Random(Random),
    LeastConnections(LeastConnections),
    WeightedLeastConnections(WeightedLeastConnections),
    PowerOfTwo(PowerOfTwo),
    ConsistentHash(ConsistentHash),
    Rendezvous(Rendezvous),
    Maglev(Maglev),
    StickyCookie(StickyCookie),
    StickyIp(StickyIp),
}

impl Balancer {
    /// A fresh balancer running `algorithm`. `virtual_nodes` is the ring's points per backend.
    /// Call `rebuild` with the backends before the first pick (the ring, table and weighted
    /// round-robin scores are built there; a pick that finds them sized for another backend
    /// count rebuilds them itself, but a same-sized change needs the explicit call).
    pub fn new(algorithm: LbAlgorithm, virtual_nodes: u32) -> Self {
        match algorithm {
            LbAlgorithm::RoundRobin => Balancer::RoundRobin(RoundRobin::default()),
            LbAlgorithm::WeightedRoundRobin => {
                Balancer::WeightedRoundRobin(WeightedRoundRobin::default())
            }
            LbAlgorithm::Random => Balancer::Random(Random),
            LbAlgorithm::LeastConnections => {
                Balancer::LeastConnections(LeastConnections::default())
            }
            LbAlgorithm::WeightedLeastConnections => {
                Balancer::WeightedLeastConnections(WeightedLeastConnections::default())
            }
            LbAlgorithm::PowerOfTwo => Balancer::PowerOfTwo(PowerOfTwo),
            LbAlgorithm::ConsistentHash => {
                Balancer::ConsistentHash(ConsistentHash::new(virtual_nodes))
            }
            LbAlgorithm::Rendezvous => Balancer::Rendezvous(Rendezvous),
            LbAlgorithm::Maglev => Balancer::Maglev(Maglev::default()),
            LbAlgorithm::StickyCookie => Balancer::StickyCookie(StickyCookie::default()),
            LbAlgorithm::StickyIp => Balancer::StickyIp(StickyIp),
        }
    }

    /// The algorithm this balancer runs.
    pub fn algorithm(&self) -> LbAlgorithm {
        match self {
            Balancer::RoundRobin(_) => LbAlgorithm::RoundRobin,
            Balancer::WeightedRoundRobin(_) => LbAlgorithm::WeightedRoundRobin,
            Balancer::Random(_) => LbAlgorithm::Random,
            Balancer::LeastConnections(_) => LbAlgorithm::LeastConnections,
            Balancer::WeightedLeastConnections(_) => LbAlgorithm::WeightedLeastConnections,
            Balancer::PowerOfTwo(_) => LbAlgorithm::PowerOfTwo,
            Balancer::ConsistentHash(_) => LbAlgorithm::ConsistentHash,
            Balancer::Rendezvous(_) => LbAlgorithm::Rendezvous,
            Balancer::Maglev(_) => LbAlgorithm::Maglev,
            Balancer::StickyCookie(_) => LbAlgorithm::StickyCookie,
            Balancer::StickyIp(_) => LbAlgorithm::StickyIp,
        }
    }

    /// The backend set changed (added, removed, reweighted): rebuild rings and tables.
    /// Health changes do not call this; `pick` skips unhealthy backends itself.
    pub fn rebuild(&mut self, backends: &[Backend]) {
        match self {
            Balancer::WeightedRoundRobin(b) => b.rebuild(backends),
            Balancer::ConsistentHash(b) => b.rebuild(backends),
            Balancer::Maglev(b) => b.rebuild(backends),
            // Cursors survive a change (an out-of-range cursor wraps); sticky sessions name
            // backends by key, so they survive too.
            Balancer::RoundRobin(_)
            | Balancer::Random(_)
            | Balancer::LeastConnections(_)
            | Balancer::WeightedLeastConnections(_)
            | Balancer::PowerOfTwo(_)
            | Balancer::Rendezvous(_)
            | Balancer::StickyCookie(_)
            | Balancer::StickyIp(_) => {}
        }
    }

    /// Pick one healthy backend, or `None` when there is none. Allocates nothing, except a
    /// sticky-cookie balancer remembering a new user.
    pub fn pick(
        &mut self,
        backends: &[Backend],
        req: &RequestView,
        rng: &mut SimRng,
    ) -> Option<Pick> {
        match self {
            Balancer::RoundRobin(b) => b.pick(backends),
            Balancer::WeightedRoundRobin(b) => b.pick(backends),
            Balancer::Random(b) => b.pick(backends, rng),
            Balancer::LeastConnections(b) => b.pick(backends),
            Balancer::WeightedLeastConnections(b) => b.pick(backends),
            Balancer::PowerOfTwo(b) => b.pick(backends, rng),
            Balancer::ConsistentHash(b) => b.pick(backends, req.key),
            Balancer::Rendezvous(b) => b.pick(backends, req.key),
            Balancer::Maglev(b) => b.pick(backends, req.key),
            Balancer::StickyCookie(b) => b.pick(backends, req.user),
            Balancer::StickyIp(b) => b.pick(backends, req.client),
        }
    }
}

/// A hash shortened for a trace line: its top 16 bits in hex, then an ellipsis ("8f3a…").
fn short(hash: u64) -> String {
    format!("{:04x}\u{2026}", hash >> 48)
}

/// A trace line for a pick, naming instances with `name`.
pub fn explain(why: Why, chosen: UnitIx, name: &dyn Fn(UnitIx) -> String) -> String {
    let to = name(chosen);
    match why {
        Why::RoundRobin { previous: Some(p) } => {
            format!("round-robin: next after {} is {to}", name(p))
        }
        Why::RoundRobin { previous: None } => format!("round-robin: starts with {to}"),
        Why::Random { of } => format!("random: {to} drawn uniformly from {of}"),
        Why::WeightedRoundRobin {
            weight,
            total_weight,
        } => format!(
            "weighted round-robin: {to} has the highest running score (weight {weight} of {total_weight})"
        ),
        Why::LeastConnections { in_flight, tied: 1 } => {
            format!("least-connections: {to} has {in_flight} in flight, the fewest")
        }
        Why::LeastConnections { in_flight, tied } => format!(
            "least-connections: {to} has {in_flight} in flight, the fewest (tied with {} others, taken in turn)",
            tied - 1
        ),
        Why::WeightedLeastConnections { in_flight, weight } => format!(
            "weighted least-connections: {to} has {in_flight} in flight for weight {weight}, the lowest ratio"
        ),
        Why::PowerOfTwo {
            in_flight,
            other: Some((other, other_in_flight)),
        } => format!(
            "power of two: {to} ({in_flight} in flight) over {} ({other_in_flight})",
            name(other)
        ),
        Why::PowerOfTwo {
            in_flight,
            other: None,
        } => format!("power of two: {to} ({in_flight} in flight) is the only healthy backend"),
        Why::ConsistentHash { key, skipped: 0 } => {
            format!("consistent hash: key {} lands on {to}'s point", short(key))
        }
        Why::ConsistentHash { key, skipped } => format!(
            "consistent hash: key {} lands on {to}'s point after passing {skipped} of unhealthy backends",
            short(key)
        ),
        Why::Rendezvous { key } => {
            format!("rendezvous: key {} scores highest on {to}", short(key))
        }
        Why::Maglev {
            key,
            slot,
            table_size,
            walked: 0,
        } => format!(
            "maglev: key {} maps to slot {slot} of {table_size}, owned by {to}",
            short(key)
        ),
        Why::Maglev {
            key,
            slot,
            table_size,
            walked,
        } => format!(
            "maglev: key {} maps to slot {slot} of {table_size}, whose backend is down; probe {walked} finds {to}",
            short(key)
        ),
        Why::StickyCookie { user, stickiness } => {
            let user = short(user);
            match stickiness {
                Stickiness::Stays => format!("sticky cookie: user {user} stays on {to}"),
                Stickiness::New => {
                    format!("sticky cookie: new user {user} assigned {to} in turn")
                }
                Stickiness::Moved => {
                    format!("sticky cookie: user {user}'s server is gone or down, moved to {to}")
                }
            }
        }
        Why::StickyIp { client } => {
            format!("sticky IP: client {} hashes to {to}", short(client))
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::io::Write as _;

    use super::Backend;

    /// Show a measured figure in the test output. Written to stderr directly rather than with
    /// `eprintln!`, which libtest would capture and hide for passing tests; test builds only,
    /// the core itself still prints nothing.
    pub fn show(line: &str) {
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    /// `n` healthy backends of weight 1, idle.
    pub fn backends(n: u32) -> Vec<Backend> {
        use crate::sim::UnitIx;
        (0..n)
            .map(|unit| Backend {
                unit: UnitIx::at(unit as usize),
                key: crate::sim::hash::mix(&[u64::from(unit), 0]),
                weight: 1,
                in_flight: 0,
                healthy: true,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::backends;
    use super::*;
    use crate::sim::rng::{Stream, stream};

    fn name(unit: UnitIx) -> String {
        format!("app[{unit}]")
    }

    #[test]
    fn every_algorithm_round_trips_and_picks_only_the_healthy() {
        let mut rng = stream(5, 0, 0, Stream::Balance);
        let mut list = backends(5);
        list[3].healthy = false;
        for algorithm in LbAlgorithm::ALL {
            let mut b = Balancer::new(algorithm, 50);
            assert_eq!(b.algorithm(), algorithm);
            b.rebuild(&list);
            for k in 0..200u64 {
                let req = RequestView {
                    key: k,
                    user: k % 7,
                    client: k % 11,
                };
                let Some(p) = b.pick(&list, &req, &mut rng) else {
                    panic!("{algorithm:?} found no backend");
                };
                assert!(list[p.index].healthy, "{algorithm:?} picked a down backend");
                assert!(!explain(p.why, list[p.index].unit, &name).is_empty());
            }
            let down: Vec<Backend> = list
                .iter()
                .map(|&b| Backend {
                    healthy: false,
                    ..b
                })
                .collect();
            assert!(b.pick(&down, &RequestView::default(), &mut rng).is_none());
            assert!(b.pick(&[], &RequestView::default(), &mut rng).is_none());
        }
    }

    #[test]
    fn explanations_read_well() {
        let cases = [
            (
                Why::LeastConnections {
                    in_flight: 1,
                    tied: 1,
                },
                2,
                "least-connections: app[2] has 1 in flight, the fewest",
            ),
            (
                Why::PowerOfTwo {
                    in_flight: 2,
                    other: Some((UnitIx::at(7), 5)),
                },
                3,
                "power of two: app[3] (2 in flight) over app[7] (5)",
            ),
            (
                Why::ConsistentHash {
                    key: 0x8f3a_0000_0000_0001,
                    skipped: 0,
                },
                1,
                "consistent hash: key 8f3a\u{2026} lands on app[1]'s point",
            ),
            (
                Why::StickyCookie {
                    user: 0x002a_0000_0000_0000,
                    stickiness: Stickiness::Stays,
                },
                0,
                "sticky cookie: user 002a\u{2026} stays on app[0]",
            ),
        ];
        for (why, chosen, want) in cases {
            assert_eq!(explain(why, UnitIx::at(chosen), &name), want);
        }
    }
}
