//! Random runtime edits on every shipped layout and on random valid ones: whatever a user (or
//! the window) throws at a running simulation, it never panics, refuses what it cannot take
//! with a reason, and keeps conservation (arrived = completed + failed + in flight) after every
//! tick; once its traffic stops, every queue empties and nothing stays in flight, no figure is
//! negative or NaN, every failure has a reason, and the layout, seed and command log replay the
//! run to the identical report.
//!
//! The sequences come from SplitMix64 with fixed seeds, so a failure reproduces exactly.

use tierlab::layout::{self, Command, KindTag, NodeId, NodeKind, Target, Wire};
use tierlab::shipped::SHIPPED;
use tierlab::sim::hash::splitmix64;
use tierlab::sim::{Sim, SimConfig, TraceConfig};

struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = splitmix64(self.0);
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// A random command about the layout's nodes: valid ones, and some that must be refused.
fn random_command(d: &mut Dice, layout: &layout::Layout, next_id: &mut u32) -> Command {
    let ids: Vec<NodeId> = layout.nodes.iter().map(|n| n.id).collect();
    let pick = |d: &mut Dice| {
        if ids.is_empty() {
            NodeId(0)
        } else {
            ids[d.below(ids.len() as u64) as usize]
        }
    };
    let node = pick(d);
    let member = if d.below(2) == 0 {
        None
    } else {
        Some(d.below(4) as u32)
    };
    match d.below(16) {
        0 => Command::Kill(Target { node, member }),
        1 | 2 => Command::Revive(Target { node, member }),
        3 => Command::Slow {
            target: Target { node, member },
            factor: [0.5, 2.0, 5.0, 1.0][d.below(4) as usize],
        },
        4 => Command::SetQps {
            node,
            qps: [0.0, 10.0, 500.0, 3000.0][d.below(4) as usize],
        },
        5 => Command::SetParam {
            node,
            param: [
                "count",
                "workers",
                "queue_capacity",
                "service_ms",
                "read_share",
                "keys",
            ][d.below(6) as usize]
                .to_string(),
            value: [0.0, 1.0, 2.0, 5.0, 300.0, -1.0][d.below(6) as usize],
        },
        6 => Command::Flush(Target { node, member }),
        7 => Command::RemoveWire {
            from: pick(d),
            to: pick(d),
        },
        8 => Command::AddWire(Wire::new(pick(d), pick(d), d.below(3) as f64)),
        9 => Command::RemoveNode(node),
        10 => {
            let kind = KindTag::ALL[d.below(KindTag::ALL.len() as u64) as usize];
            *next_id += 1;
            Command::AddNode(layout::Node {
                id: NodeId(*next_id),
                name: format!("extra-{next_id}"),
                pos: layout::Pos::default(),
                kind: kind.default_kind(),
            })
        }
        11 => Command::RampQps {
            node,
            qps: 1000.0,
            over_s: 0.5,
        },
        12 => match layout.node(node).map(|n| n.kind.clone()) {
            Some(mut kind) => {
                let _ = kind.set_size(layout::Size::X2Large);
                if let NodeKind::LoadBalancer(b) = &mut kind {
                    b.algorithm = layout::LbAlgorithm::ALL
                        [d.below(layout::LbAlgorithm::ALL.len() as u64) as usize];
                }
                Command::SetKind { node, kind }
            }
            None => Command::Kill(Target::node(node)),
        },
        // Resize a pool (while its autoscaler may be draining members).
        14 | 15 => {
            let pools: Vec<NodeId> = layout
                .nodes
                .iter()
                .filter(|n| n.kind.tag() == KindTag::AppServer)
                .map(|n| n.id)
                .collect();
            Command::SetParam {
                node: pools
                    .get(d.below(pools.len() as u64) as usize)
                    .copied()
                    .unwrap_or(node),
                param: "count".to_string(),
                value: (1 + d.below(6)) as f64,
            }
        }
        _ => Command::SetAlgorithm {
            node,
            algorithm: layout::LbAlgorithm::ALL
                [d.below(layout::LbAlgorithm::ALL.len() as u64) as usize],
        },
    }
}

/// A pool whose autoscaler resizes it every 0.3 s without a cool-down, so that the random
/// edits meet members while they drain.
const CHURN: &str = r#"(
    name: "autoscale churn",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 150)),
        (id: 1, name: "lb", kind: load_balancer(algorithm: least_connections, health_checks: false)),
        (id: 2, name: "app", kind: app_server(count: 4, workers: 4, service_ms: 40.0,
            queue_capacity: 200,
            autoscale: (metric: cpu_utilization, target: 0.6, min: 1, max: 8,
                interval_s: 0.3, cooldown_s: 0, boot_s: 0.2))),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2, latency_ms: 0.2)],
)"#;

#[test]
fn random_edits_never_panic_and_keep_conservation() {
    let mut total = Chaos::default();
    let layouts = SHIPPED.iter().copied().chain([("autoscale churn", CHURN)]);
    for (name, text) in layouts {
        let layout = layout::from_ron(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for seed in [1u64, 2, 3] {
            let d = Dice(tierlab::sim::hash::fnv1a(name.as_bytes()) ^ seed);
            total.add(chaos(name, &layout, seed, d, 80));
        }
    }
    println!("random edits on every shipped layout: {total}");
    assert!(
        total.applied > 100 && total.refused > 10,
        "{} applied, {} refused",
        total.applied,
        total.refused
    );
}

/// The same chaos on random valid layouts (the generator of tests/it/generated.rs, those
/// `check` accepts): the schedule meets shapes no shipped file has.
#[test]
fn random_edits_on_random_layouts_keep_conservation_drain_and_replay() {
    use rand::SeedableRng as _;
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0xc4a05);
    let mut total = Chaos::default();
    let mut layouts = 0;
    while layouts < 16 {
        let (text, _, _) = crate::generated::random_layout(&mut rng);
        let l = layout::from_ron(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // Closed loops of (nearly) zero think time send a million requests a second per user:
        // legal, and the bounded-run tests' concern (tests/it/generated.rs); here they would
        // only make the test slow.
        let busy_loop = l.nodes.iter().any(|n| {
            matches!(&n.kind, NodeKind::Client(c)
                if c.mode == layout::LoopMode::Closed && c.think_ms < 1.0)
        });
        if busy_loop
            || layout::check(&l)
                .iter()
                .any(|p| p.severity == layout::Severity::Error)
        {
            continue;
        }
        layouts += 1;
        let d = Dice(tierlab::sim::hash::fnv1a(text.as_bytes()));
        total.add(chaos(
            &format!("random layout {layouts}\n{text}"),
            &l,
            5,
            d,
            30,
        ));
    }
    println!("random edits on {layouts} random layouts: {total}");
    assert!(total.applied > 100, "{} applied", total.applied);
}

/// What the chaos runs did, summed.
#[derive(Default)]
struct Chaos {
    applied: u64,
    refused: u64,
    drained_s: f64,
    stopped_in_flight: u64,
}

impl Chaos {
    fn add(&mut self, other: Chaos) {
        self.applied += other.applied;
        self.refused += other.refused;
        self.drained_s = self.drained_s.max(other.drained_s);
        self.stopped_in_flight = self.stopped_in_flight.max(other.stopped_in_flight);
    }
}

impl std::fmt::Display for Chaos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} applied, {} refused; the slowest drain took {:.1} simulated s; at most {} \
             requests were in flight when the traffic stopped",
            self.applied, self.refused, self.drained_s, self.stopped_in_flight
        )
    }
}

/// One chaos run: `steps` random commands at random ticks (conservation after every tick),
/// then the traffic stops and the run drains; every figure is sane, every failure has a
/// reason, and replaying the command log from the layout gives the identical report.
fn chaos(name: &str, layout: &layout::Layout, seed: u64, mut d: Dice, steps: usize) -> Chaos {
    let what = format!("{name} seed {seed}");
    let config = SimConfig {
        seed: Some(seed),
        warmup_s: 0.2,
        trace: TraceConfig {
            every: 7,
            capacity: 50,
            keep_ns: 0,
        },
    };
    let mut sim = Sim::new(layout, config.clone()).unwrap_or_else(|p| panic!("{what}: {p:?}"));
    let mut out = Chaos::default();
    let mut next_id = 10_000;
    for _ in 0..steps {
        for _ in 0..d.below(400) {
            sim.tick();
            let c = sim.counts();
            assert_eq!(
                c.arrived,
                c.completed + c.failed + c.in_flight,
                "{what}: conservation after tick {}",
                sim.ticks()
            );
        }
        let cmd = random_command(&mut d, sim.layout(), &mut next_id);
        match sim.apply(cmd) {
            Ok(()) => out.applied += 1,
            Err(why) => {
                assert!(!why.is_empty());
                out.refused += 1;
            }
        }
    }
    // The run still reports, and the report is sane.
    let m = sim.metrics();
    assert!(m.latency_ms.p99 >= m.latency_ms.p50, "{what}");
    assert_metrics_sane(&m, &what);
    let r = tierlab::report::run_json(&sim, 0.2);
    assert!(serde_json::to_string(&r).is_ok(), "{what}");
    (out.drained_s, out.stopped_in_flight) = drain(&mut sim, &what);
    // Every failure is counted under a reason.
    let m = sim.metrics();
    let by_reason: u64 = m.failures.iter().map(|(_, n)| n).sum();
    assert_eq!(
        by_reason, m.requests.failed,
        "{what}: failures without a reason"
    );
    // The layout, the seed and the command log replay the run exactly.
    let mut replay = Sim::replay(layout, config, sim.command_log())
        .unwrap_or_else(|p| panic!("{what}: replay: {p:?}"));
    replay.run_until_s(sim.now_ns() as f64 / 1e9);
    assert_eq!(replay.now_ns(), sim.now_ns(), "{what}");
    let json = |s: &Sim| {
        serde_json::to_string(&tierlab::report::run_json(s, 0.2)).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(json(&replay), json(&sim), "{what}: the replay differs");
    out
}

/// Most simulated seconds a run may take to drain once its traffic stops. The slowest work
/// the random edits can leave behind: a full queue of 2,000 calls of 300 ms slowed 5 times on
/// one worker would take far longer, so the edits' values keep queues short enough; a drain
/// that is not over in this time is a call that never ends.
const DRAIN_S: f64 = 600.0;

/// Stop the traffic (kill every client), then run on, checking conservation after every tick,
/// until nothing is in flight and every queue is empty and every worker free. Returns how many
/// simulated seconds that took, and how many requests were in flight when the traffic stopped.
fn drain(sim: &mut Sim, what: &str) -> (f64, u64) {
    let in_flight = sim.counts().in_flight;
    let clients: Vec<NodeId> = sim
        .layout()
        .nodes
        .iter()
        .filter(|n| n.kind.tag() == KindTag::Client)
        .map(|n| n.id)
        .collect();
    for c in clients {
        if let Err(why) = sim.apply(Command::Kill(Target::node(c))) {
            panic!("{what}: stopping client {c}: {why}");
        }
    }
    let t0 = sim.now_ns();
    let stop = t0 + (DRAIN_S * 1e9) as u64;
    let busy = |sim: &Sim| {
        sim.unit_ixs()
            .filter_map(|i| sim.unit_info(i))
            .filter(|u| u.queue_len > 0 || u.busy_workers > 0)
            .map(|u| {
                format!(
                    "{} (queue {}, busy {})",
                    u.name, u.queue_len, u.busy_workers
                )
            })
            .collect::<Vec<_>>()
    };
    while sim.now_ns() < stop && sim.halted().is_none() {
        if sim.skip_idle(stop.saturating_sub(sim.now_ns()) / sim.tick_ns()) == 0 {
            sim.tick();
        }
        let c = sim.counts();
        assert_eq!(
            c.arrived,
            c.completed + c.failed + c.in_flight,
            "{what}: conservation while draining, tick {}",
            sim.ticks()
        );
        if c.in_flight == 0 && busy(sim).is_empty() {
            break;
        }
    }
    if let Some(h) = sim.halted() {
        panic!("{what}: the run stopped while draining: {h}");
    }
    let c = sim.counts();
    assert_eq!(
        c.in_flight, 0,
        "{what}: still in flight after {DRAIN_S} s without traffic"
    );
    let left = busy(sim);
    assert!(
        left.is_empty(),
        "{what}: still busy after {DRAIN_S} s: {left:?}"
    );
    assert_metrics_sane(&sim.metrics(), what);
    ((sim.now_ns() - t0) as f64 / 1e9, in_flight)
}

/// No figure of a report is negative, NaN or infinite.
fn assert_metrics_sane(m: &tierlab::sim::Metrics, what: &str) {
    let l = &m.latency_ms;
    let mut figures = vec![
        ("simulated_s", m.simulated_s),
        ("measured_s", m.measured_s),
        ("amplification", m.amplification),
        ("load_max_over_mean", m.load_max_over_mean),
        ("cache_hit_ratio", m.cache_hit_ratio),
        ("cost_usd_per_hour", m.cost_usd_per_hour),
        (
            "cost_usd_per_million_requests",
            m.cost_usd_per_million_requests,
        ),
        ("throughput_rps", m.throughput_rps),
        ("latency mean", l.mean),
        ("latency p50", l.p50),
        ("latency p95", l.p95),
        ("latency p99", l.p99),
        ("latency max", l.max),
    ];
    for n in &m.nodes {
        figures.extend([
            ("cpu_utilization", n.cpu_utilization),
            ("worker_utilization", n.worker_utilization),
            ("mean_queue", n.mean_queue),
            ("offered_load", n.offered_load),
            ("usd_per_hour", n.usd_per_hour),
        ]);
        if let Some(c) = &n.cache {
            figures.push(("cache hit_ratio", c.hit_ratio));
        }
    }
    for (figure, value) in figures {
        assert!(
            value.is_finite() && value >= 0.0,
            "{what}: {figure} is {value}"
        );
    }
}

/// Every time parameter of every shipped layout set to zero while it runs (and every client
/// turned into a closed loop of zero think time): the run goes on, simulated time advances by
/// every tick, and no limit is reached. Before the minimum turnaround, the first tick after
/// such edits never ended.
#[test]
fn zeroing_every_time_parameter_live_never_stops_a_run() {
    for (name, text) in SHIPPED {
        let layout = layout::from_ron(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut sim =
            Sim::new(&layout, SimConfig::default()).unwrap_or_else(|p| panic!("{name}: {p:?}"));
        sim.run_until_s(0.1);
        let nodes = sim.layout().nodes.clone();
        for n in &nodes {
            if let NodeKind::Client(c) = &n.kind {
                let mut c = c.clone();
                c.mode = layout::LoopMode::Closed;
                c.users = 5;
                c.think_ms = 0.0;
                let kind = NodeKind::Client(c);
                if let Err(why) = sim.apply(Command::SetKind { node: n.id, kind }) {
                    panic!("{name}: {why}");
                }
            }
            for param in [
                "think_ms",
                "service_ms",
                "latency_ms",
                "read_ms",
                "write_ms",
                "hit_ms",
            ] {
                if layout::params::find(n.kind.tag(), param).is_some() {
                    let cmd = Command::SetParam {
                        node: n.id,
                        param: param.to_string(),
                        value: 0.0,
                    };
                    if let Err(why) = sim.apply(cmd) {
                        panic!("{name}: {param} = 0 refused: {why}");
                    }
                }
            }
        }
        let t0 = sim.now_ns();
        sim.run_ticks(50);
        if let Some(h) = sim.halted() {
            panic!("{name}: {h}");
        }
        assert_eq!(sim.now_ns(), t0 + 50 * sim.tick_ns(), "{name}");
        let c = sim.counts();
        assert_eq!(c.arrived, c.completed + c.failed + c.in_flight, "{name}");
    }
}
