//! Rewind and branch (`study::rewind`): seeking back replays the original run bit for bit, a
//! branch differs only after its change, and the snapshots stay within their memory budget.

use tierlab::layout::{Command, Layout, NodeId, Target};
use tierlab::sim::{Sim, SimConfig, TraceConfig};
use tierlab::study::rewind::{Timeline, log_before};

use crate::check;

fn shipped(name: &str) -> Layout {
    let path = check::repo(&format!("saves/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    check::parse(&text)
}

fn node(layout: &Layout, name: &str) -> NodeId {
    layout
        .nodes
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name}"))
        .id
}

/// Traced like the window's run (every 50th request), so the traces are part of what must
/// replay identically.
fn sim(layout: &Layout) -> Sim {
    let config = SimConfig {
        seed: Some(5),
        warmup_s: 0.0,
        trace: TraceConfig {
            every: 50,
            capacity: 2000,
            keep_ns: 0,
        },
    };
    Sim::new(layout, config).unwrap_or_else(|e| panic!("runs: {e:?}"))
}

/// Everything the window shows of a run: the metrics, every series (as bits), the traces and
/// the event stream.
fn fingerprint(sim: &Sim) -> String {
    let s = sim.series();
    let mut rings = vec![
        &s.time_s,
        &s.throughput_rps,
        &s.failures_per_s,
        &s.latency_p50_ms,
        &s.latency_p99_ms,
        &s.in_flight,
        &s.cache_hit_ratio,
        &s.db_reads_per_s,
    ];
    for u in &s.units {
        rings.extend([&u.cpu_utilization, &u.queue, &u.served_per_s, &u.up]);
    }
    let bits: Vec<Vec<u32>> = rings
        .iter()
        .map(|r| r.iter().map(f32::to_bits).collect())
        .collect();
    format!(
        "{:?}\n{bits:?}\n{:?}\n{:?}\n{:?}",
        sim.metrics(),
        sim.traces().done,
        sim.events(),
        sim.now_ns()
    )
}

/// The samples of `sim`'s p99 series, as (time, bits).
fn p99(sim: &Sim) -> Vec<(f32, u32)> {
    let s = sim.series();
    s.time_s
        .iter()
        .zip(s.latency_p99_ms.iter())
        .map(|(t, v)| (t, v.to_bits()))
        .collect()
}

/// The original run of cache-aside for 40 s, advanced in uneven steps the way frames do, with
/// the user's commands at 12 s (more traffic) and 20.5 s (the cache killed), and a snapshot
/// taken whenever one is due. Returns the run and its state as it passed `t_ns`.
fn original(layout: &Layout, timeline: &mut Timeline, t_ns: u64) -> (Sim, String) {
    let client = node(layout, "client");
    let cache = node(layout, "cache");
    let mut sim = sim(layout);
    let mut at_t = None;
    let mut step = 0u64;
    while sim.now_ns() < 40_000_000_000 {
        timeline.record(&sim);
        if sim.now_ns() == t_ns {
            at_t = Some(fingerprint(&sim));
        }
        let now_ms = sim.now_ns() / 1_000_000;
        if now_ms == 12_000 {
            let qps = Command::SetQps {
                node: client,
                qps: 4500.0,
            };
            sim.apply(qps).unwrap_or_else(|e| panic!("{e}"));
        }
        if now_ms == 20_500 {
            let kill = Command::Kill(Target::node(cache));
            sim.apply(kill).unwrap_or_else(|e| panic!("{e}"));
        }
        // 11, 17, 23, 29, 35 ms, ...: frames do not line up with the snapshots; a step ends
        // early at the command times and at t.
        step += 1;
        let stop_ms = [12_000, 20_500, t_ns / 1_000_000, 40_000]
            .into_iter()
            .filter(|&s| s > now_ms)
            .min()
            .unwrap_or(40_000);
        sim.run_ticks((11 + 6 * (step % 5)).min(stop_ms - now_ms));
    }
    (
        sim,
        at_t.unwrap_or_else(|| panic!("the run never stopped at {t_ns} ns")),
    )
}

#[test]
fn rewinding_to_t_and_replaying_gives_exactly_the_original_run_from_t() {
    let layout = shipped("cache-aside.ron");
    let mut timeline = Timeline::new(1.0, u64::MAX);
    // t falls between snapshots and after the first user command, before the second.
    let t_ns = 17_459_000_000;
    let (original, original_at_t) = original(&layout, &mut timeline, t_ns);
    assert!(timeline.len() >= 30, "{} snapshots", timeline.len());

    let mut rewound = timeline
        .seek(t_ns, original.command_log())
        .unwrap_or_else(|| panic!("no snapshot before t"));
    assert_eq!(rewound.now_ns(), t_ns);
    assert!(
        fingerprint(&rewound) == original_at_t,
        "the rewound run differs from the original at t"
    );

    rewound.run_until_s(40.0);
    assert_eq!(rewound.now_ns(), original.now_ns());
    assert_eq!(rewound.metrics(), original.metrics());
    assert!(
        fingerprint(&rewound) == fingerprint(&original),
        "replaying from t does not give the original run"
    );
    // The replay applied the user's later command (the cache killed at 20.5 s) on its own.
    assert_eq!(rewound.command_log().len(), original.command_log().len());
}

#[test]
fn a_branch_with_a_change_at_t_differs_only_after_t() {
    let layout = shipped("cache-aside.ron");
    let mut timeline = Timeline::new(1.0, u64::MAX);
    let t_ns = 15_000_000_000;
    let (original, _) = original(&layout, &mut timeline, t_ns);

    let kept = log_before(original.command_log(), t_ns);
    let mut branch = timeline
        .seek(t_ns, &kept)
        .unwrap_or_else(|| panic!("no snapshot before t"));
    // What if the app server had been three times slower from t on?
    let app = node(&layout, "app");
    let slow = Command::Slow {
        target: Target::node(app),
        factor: 3.0,
    };
    branch.apply(slow).unwrap_or_else(|e| panic!("{e}"));
    branch.run_until_s(40.0);

    let (a, b) = (p99(&original), p99(&branch));
    assert_eq!(a.len(), b.len());
    let t_s = t_ns as f32 / 1e9;
    let before = a.iter().zip(&b).filter(|(x, _)| x.0 <= t_s);
    assert_eq!(before.clone().count(), 150, "samples at or before t");
    for (x, y) in before {
        assert_eq!(x, y, "the branch differs before t, at {} s", x.0);
    }
    let after_differ = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.0 > t_s && x.1 != y.1)
        .count();
    assert!(
        after_differ > 200,
        "only {after_differ} of 250 samples after t differ"
    );
    // The branch keeps the original's command before t (more traffic at 12 s) and not the
    // one after (the cache killed at 20.5 s): its cache is alive and the original's is not.
    let cache = check::node_named(&branch.metrics(), "cache").alive;
    assert!(cache, "the branch replayed a command from after t");
    assert!(!check::node_named(&original.metrics(), "cache").alive);
}

#[test]
fn snapshots_stay_within_their_memory_budget_over_a_long_run_and_cover_all_of_it() {
    let layout = shipped("cache-aside.ron");
    let mut sim = sim(&layout);
    sim.run_until_s(5.0);
    // Room for about twelve snapshots of the run at 5 s (they grow as traces fill).
    let budget = 12 * sim.clone().footprint_bytes();
    let mut timeline = Timeline::new(1.0, budget);
    let mut taken = 0;
    while sim.now_ns() < 600_000_000_000 {
        if timeline.record(&sim) {
            taken += 1;
        }
        assert!(
            timeline.bytes() <= budget,
            "{} > {budget}",
            timeline.bytes()
        );
        let held: u64 = timeline.sizes().iter().map(|s| s.1).sum();
        assert_eq!(held, timeline.bytes());
        sim.run_ticks(250);
    }
    // More were taken than fit: the budget thinned them.
    assert!(taken > 12, "{taken} snapshots taken");
    // Thinning keeps at least half of what fits, and the whole run stays covered: the first
    // snapshot is the start, none is further from the next (or from the end) than the spacing.
    let times = timeline.times_ns();
    let largest = timeline.sizes().iter().map(|s| s.1).max().unwrap_or(1);
    let fit = (budget / largest) as usize;
    assert!(
        times.len() * 2 >= fit,
        "{} held, {fit} would fit",
        times.len()
    );
    assert_eq!(times[0], 5_000_000_000);
    let every_ns = (timeline.every_s() * 1e9) as u64;
    assert!(every_ns >= 32_000_000_000, "spacing {every_ns} ns");
    for w in times.windows(2) {
        assert!(w[1] - w[0] <= every_ns, "a gap of {} ns", w[1] - w[0]);
    }
    assert!(sim.now_ns() - times[times.len() - 1] <= every_ns);
}
