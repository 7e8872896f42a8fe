//! A few thousand random small layouts, think times, latencies and service times including
//! zeros, each run to a fixed simulated time: every one either is refused by `check` or runs
//! to the end without stopping, and its deterministic work counts stay inside what the file
//! allows. Nothing here reads the wall clock.
//!
//! The layouts come from PCG-64 MCG with seeds fixed before the test was first run.

use rand::RngExt as _;
use rand::SeedableRng as _;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;
use tierlab::layout::{self, Severity, limits as file_limits};
use tierlab::sim::limits::MIN_TURNAROUND_NS;
use tierlab::sim::{Sim, SimConfig, TraceConfig, Work};

/// Seeds of the generator, one batch each (fixed in advance, never tuned).
const SEEDS: [u64; 4] = [0x7a11, 0x2b0b, 0xd00d, 0x5eed];
const LAYOUTS_PER_SEED: usize = 600;
/// Simulated time each layout runs.
const RUN_NS: u64 = 10_000_000;

fn pick<T: Copy>(rng: &mut Pcg64Mcg, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

/// A random layout: one or two clients, maybe a balancer, a pool, maybe a cache and a
/// database, and maybe a second layer behind a balancer the pool calls.
pub fn random_layout(rng: &mut Pcg64Mcg) -> (String, u64, f64) {
    let mut nodes = Vec::new();
    let mut wires = Vec::new();
    let zeros_ms = [0.0, 0.0, 0.001, 0.1, 2.0];
    let mut closed_users = 0u64;
    let mut open_qps = 0.0;
    let wire = |rng: &mut Pcg64Mcg, from: u32, to: u32| {
        format!(
            "(from: {from}, to: {to}, latency_ms: {}, retries: {}, timeout_ms: {}, backoff_ms: {})",
            pick(rng, &zeros_ms),
            pick(rng, &[0, 0, 1, 3, 10]),
            pick(rng, &[0.0, 0.0, 1.0, 50.0]),
            pick(rng, &[0.0, 0.1, 1.0]),
        )
    };
    let clients = rng.random_range(1..=2u32);
    let has_lb = rng.random_bool(0.6);
    let (lb, app, cache, db, lb2, app2) = (10, 11, 12, 13, 14, 15);
    for c in 0..clients {
        if rng.random_bool(0.5) {
            let users = pick(rng, &[1u64, 2, 5]);
            closed_users += users;
            nodes.push(format!(
                r#"(id: {c}, name: "c{c}", kind: client(mode: closed, users: {users}, think_ms: {}))"#,
                pick(rng, &zeros_ms)
            ));
        } else {
            let qps = pick(rng, &[0.0, 10.0, 1000.0, 20000.0]);
            open_qps += qps;
            nodes.push(format!(
                r#"(id: {c}, name: "c{c}", kind: client(qps: {qps}))"#
            ));
        }
        let to = if has_lb { lb } else { app };
        wires.push(wire(rng, c, to));
    }
    if has_lb {
        nodes.push(format!(
            r#"(id: {lb}, name: "lb", kind: load_balancer(latency_ms: {}, algorithm: {}))"#,
            pick(rng, &zeros_ms),
            pick(
                rng,
                &[
                    "round_robin",
                    "least_connections",
                    "consistent_hash",
                    "random"
                ]
            )
        ));
        wires.push(wire(rng, lb, app));
    }
    let server = |rng: &mut Pcg64Mcg, id: u32, name: &str| {
        format!(
            r#"(id: {id}, name: "{name}", kind: app_server(count: {}, workers: {}, queue_capacity: {}, service_ms: {}))"#,
            pick(rng, &[1, 2, 3]),
            pick(rng, &[1, 2, 8]),
            pick(rng, &[0, 1, 10, 1000]),
            pick(rng, &zeros_ms),
        )
    };
    nodes.push(server(rng, app, "app"));
    if rng.random_bool(0.4) {
        nodes.push(format!(
            r#"(id: {cache}, name: "cache", kind: cache(count: {}, hit_ms: {}, capacity_entries: 100))"#,
            pick(rng, &[1, 2, 4]),
            pick(rng, &zeros_ms)
        ));
        wires.push(wire(rng, app, cache));
    }
    if rng.random_bool(0.6) {
        nodes.push(format!(
            r#"(id: {db}, name: "db", kind: database(read_ms: {}, write_ms: {}, queue_capacity: {}))"#,
            pick(rng, &zeros_ms),
            pick(rng, &zeros_ms),
            pick(rng, &[0, 10, 1000])
        ));
        wires.push(wire(rng, app, db));
    }
    if rng.random_bool(0.3) {
        nodes.push(format!(
            r#"(id: {lb2}, name: "lb2", kind: load_balancer(latency_ms: 0))"#
        ));
        nodes.push(server(rng, app2, "app2"));
        wires.push(wire(rng, app, lb2));
        wires.push(wire(rng, lb2, app2));
    }
    let text = format!(
        "(tick_ms: {}, nodes: [{}], wires: [{}])",
        pick(rng, &[0.01, 1.0, 5.0]),
        nodes.join(",\n"),
        wires.join(",\n")
    );
    (text, closed_users, open_qps)
}

/// What one layout did: refused, or its work counts.
#[derive(Debug, PartialEq)]
enum Outcome {
    Refused,
    Ran(Work, u64),
}

fn run_one(text: &str, closed_users: u64, open_qps: f64) -> Outcome {
    let l = match layout::from_ron(text) {
        Ok(l) => l,
        Err(e) => panic!("generated layout does not load: {e}\n{text}"),
    };
    if layout::check(&l)
        .iter()
        .any(|p| p.severity == Severity::Error)
    {
        return Outcome::Refused;
    }
    let config = SimConfig {
        trace: TraceConfig {
            every: 7,
            capacity: 16,
            keep_ns: 0,
        },
        ..SimConfig::default()
    };
    let mut s = match Sim::new(&l, config) {
        Ok(s) => s,
        Err(p) => panic!("check passed but the core refused: {p:?}\n{text}"),
    };
    s.run_until_s(RUN_NS as f64 / 1e9);
    if let Some(h) = s.halted() {
        panic!("{h}\n{text}");
    }
    assert_eq!(s.now_ns(), RUN_NS, "{text}");
    let w = s.work();
    // The core never makes more calls for one request than the file's worst case allows.
    let worst = file_limits::worst_calls(&l).map_or(0.0, |w| w.calls);
    assert!(
        f64::from(w.max_calls_per_request) <= worst,
        "{} calls > worst case {worst}\n{text}",
        w.max_calls_per_request
    );
    // Without open-loop traffic, each closed-loop user sends at most one request per minimum
    // turnaround, however fast its answers come back.
    let c = s.counts();
    if open_qps == 0.0 {
        assert!(
            c.arrived <= closed_users * (RUN_NS / MIN_TURNAROUND_NS + 1),
            "{c:?}\n{text}"
        );
    }
    // What the core reserved stays within check's estimate plus a fixed base (series, slots
    // for the requests a 10 ms run can hold).
    let estimate: u64 = file_limits::memory_estimate(&l)
        .iter()
        .map(|m| m.bytes)
        .sum();
    assert!(
        w.bytes_reserved <= estimate + (64 << 20),
        "{} bytes reserved, estimate {estimate}\n{text}",
        w.bytes_reserved
    );
    Outcome::Ran(w, c.arrived)
}

#[test]
fn thousands_of_random_small_layouts_run_to_the_end_within_their_limits() {
    let cases: Vec<(String, u64, f64)> = SEEDS
        .iter()
        .flat_map(|&seed| {
            let mut rng = Pcg64Mcg::seed_from_u64(seed);
            (0..LAYOUTS_PER_SEED)
                .map(|_| random_layout(&mut rng))
                .collect::<Vec<_>>()
        })
        .collect();
    let outcomes: Vec<Outcome> = cases
        .par_iter()
        .map(|(text, users, qps)| run_one(text, *users, *qps))
        .collect();
    let ran: Vec<&Work> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Ran(w, _) => Some(w),
            Outcome::Refused => None,
        })
        .collect();
    // Most generated layouts are valid; a few have (say) retries that multiply past the limit.
    assert!(
        ran.len() * 10 >= cases.len() * 9,
        "{} of {} ran",
        ran.len(),
        cases.len()
    );
    // Zero think over zero-time paths is common here; no tick came near the stop.
    let busiest = ran.iter().map(|w| w.max_events_per_tick).max().unwrap_or(0);
    assert!(
        busiest < tierlab::sim::limits::EVENTS_PER_TICK_MAX / 4,
        "{busiest}"
    );
    // Deterministic: the same layouts give the same work counts again.
    for (i, (text, users, qps)) in cases.iter().enumerate().step_by(50) {
        assert_eq!(run_one(text, *users, *qps), outcomes[i], "{text}");
    }
}
