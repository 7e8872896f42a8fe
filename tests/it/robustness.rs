//! Random runtime edits on every shipped layout: whatever a user (or the window) throws at a
//! running simulation, it never panics, refuses what it cannot take with a reason, and keeps
//! conservation (arrived = completed + failed + in flight) after every tick.
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
    match d.below(14) {
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
        _ => Command::SetAlgorithm {
            node,
            algorithm: layout::LbAlgorithm::ALL
                [d.below(layout::LbAlgorithm::ALL.len() as u64) as usize],
        },
    }
}

#[test]
fn random_edits_never_panic_and_keep_conservation() {
    let mut applied = 0;
    let mut refused = 0;
    for (name, text) in SHIPPED {
        let layout = layout::from_ron(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for seed in [1u64, 2, 3] {
            let mut d = Dice(tierlab::sim::hash::fnv1a(name.as_bytes()) ^ seed);
            let config = SimConfig {
                seed: Some(seed),
                warmup_s: 0.2,
                trace: TraceConfig {
                    every: 7,
                    capacity: 50,
                },
            };
            let mut sim = Sim::new(&layout, config).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            let mut next_id = 10_000;
            for _ in 0..80 {
                for _ in 0..d.below(400) {
                    sim.tick();
                    let c = sim.counts();
                    assert_eq!(
                        c.arrived,
                        c.completed + c.failed + c.in_flight,
                        "{name} seed {seed}: conservation after tick {}",
                        sim.ticks()
                    );
                }
                let cmd = random_command(&mut d, sim.layout(), &mut next_id);
                match sim.apply(cmd) {
                    Ok(()) => applied += 1,
                    Err(why) => {
                        assert!(!why.is_empty());
                        refused += 1;
                    }
                }
            }
            // The run still reports, and the report is sane.
            let m = sim.metrics();
            assert!(m.latency_ms.p99 >= m.latency_ms.p50, "{name}");
            let r = tierlab::report::run_json(&sim, 0.2);
            assert!(serde_json::to_string(&r).is_ok(), "{name}");
        }
    }
    println!("random edits on every shipped layout: {applied} applied, {refused} refused");
    assert!(
        applied > 100 && refused > 10,
        "{applied} applied, {refused} refused"
    );
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
