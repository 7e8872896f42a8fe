//! Same layout + seed + command log = bit-identical results: run twice, stepped one tick at a
//! time or many, with any tick length, traces on or off, replayed from the log, or cloned.

use tierlab::layout::{Command, Layout, NodeId, Target, Wire};
use tierlab::report::{self, RunConfig};
use tierlab::shipped::SHIPPED;
use tierlab::sim::{RequestCounts, Sim, SimConfig, TraceConfig};

use crate::check;

/// Everything a user can read off a run: the JSON report, the time series and the traces.
fn fingerprint(sim: &Sim) -> String {
    let json = match serde_json::to_string(&report::run_json(sim, 0.0)) {
        Ok(s) => s,
        Err(e) => panic!("the report serialises: {e}"),
    };
    format!(
        "{json}\n{:?}\n{:?}",
        sim.series(),
        sim.traces().done.iter().collect::<Vec<_>>()
    )
}

fn new_sim(layout: &Layout, config: SimConfig) -> Sim {
    Sim::new(layout, config).unwrap_or_else(|p| panic!("the layout cannot run: {p:?}"))
}

fn shipped(name: &str) -> Layout {
    let Some(text) = tierlab::shipped::find(name) else {
        panic!("{name} is shipped");
    };
    check::parse(text)
}

fn report_json(layout: &Layout, seed: u64) -> String {
    let config = RunConfig {
        seconds: 5.0,
        warmup_s: 1.0,
        seed: Some(seed),
        ..RunConfig::default()
    };
    let sim = report::run(layout, &config).unwrap_or_else(|p| panic!("{p:?}"));
    serde_json::to_string(&report::run_json(&sim, config.warmup_s))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_same_layout_and_seed_give_the_same_report() {
    for (name, text) in SHIPPED {
        let layout = check::parse(text);
        let a = report_json(&layout, 7);
        assert_eq!(a, report_json(&layout, 7), "{name}");
        // And the seed matters: another seed is another run.
        assert_ne!(a, report_json(&layout, 8), "{name}");
    }
}

#[test]
fn one_tick_at_a_time_equals_many_at_once() {
    let layout = shipped("request-flow.ron");
    let ticks = 3000;
    let mut stepped = new_sim(&layout, SimConfig::default());
    for _ in 0..ticks {
        stepped.tick();
    }
    let mut batched = new_sim(&layout, SimConfig::default());
    batched.run_ticks(ticks);
    let mut until = new_sim(&layout, SimConfig::default());
    until.run_until_s(ticks as f64 * layout.tick_ms / 1000.0);
    assert_eq!(stepped.ticks(), ticks);
    assert_eq!(until.ticks(), ticks);
    assert!(stepped.counts().completed > 1000, "{:?}", stepped.counts());
    assert_eq!(fingerprint(&stepped), fingerprint(&batched));
    assert_eq!(fingerprint(&stepped), fingerprint(&until));
}

#[test]
fn the_tick_length_changes_nothing() {
    // Events keep their exact nanosecond inside a tick, and series samples and the end of the
    // warm-up fall on their own boundaries, so the tick length is only how often the caller
    // looks: the runs are identical, not merely statistically alike.
    // The fixture adds a script (a kill, a revive and a traffic step at whole multiples of
    // every tick length); its twin moves them off every tick grid (1.00037 s is inside a tick
    // of 10 ms, of 1 ms and of 0.1 ms). Scripted commands apply at their exact times, so both
    // are identical under every tick length (rounded up to the next tick boundary, as they
    // were, the unaligned twin's kill would act at 1.01 s under 10 ms and 1.001 s under 1 ms).
    let fixture = std::fs::read_to_string(check::repo("tests/fixtures/v1/pool-with-script.ron"))
        .unwrap_or_else(|e| panic!("{e}"));
    let unaligned = fixture
        .replace("(at_s: 1,", "(at_s: 1.00037,")
        .replace("(at_s: 2,", "(at_s: 2.01234,")
        .replace("(at_s: 2.5,", "(at_s: 2.50005,");
    assert_ne!(unaligned, fixture, "the fixture's script times moved");
    let layouts = [
        ("request-flow.ron", shipped("request-flow.ron")),
        ("three-tier.ron", shipped("three-tier.ron")),
        ("mm4.ron", shipped("mm4.ron")),
        ("pool-with-script.ron", check::parse(&fixture)),
        (
            "pool-with-script.ron, off the grid",
            check::parse(&unaligned),
        ),
    ];
    for (name, base) in layouts {
        let mut runs = Vec::new();
        for tick_ms in [1.0, 0.1, 10.0] {
            let layout = Layout {
                tick_ms,
                ..base.clone()
            };
            let config = SimConfig {
                warmup_s: 0.5,
                ..SimConfig::default()
            };
            let mut sim = new_sim(&layout, config);
            sim.run_until_s(4.0);
            assert_eq!(sim.now_ns(), 4_000_000_000, "{name} at {tick_ms} ms");
            runs.push((tick_ms, fingerprint(&sim)));
        }
        for (tick_ms, f) in &runs[1..] {
            assert_eq!(
                &runs[0].1, f,
                "{name}: tick 1 ms and tick {tick_ms} ms differ"
            );
        }
    }
}

/// The ids of request-flow.ron.
const CLIENT: NodeId = NodeId(0);
const LB: NodeId = NodeId(1);
const APP: NodeId = NodeId(2);

/// Commands a user gives between ticks, by tick: faults, a traffic step, a resize of the pool
/// and wires moved so that requests in flight on a removed wire fail.
fn session() -> Vec<(u64, Command)> {
    vec![
        (200, Command::Kill(Target::member(APP, 1))),
        (
            400,
            Command::SetParam {
                node: APP,
                param: "count".into(),
                value: 5.0,
            },
        ),
        (
            500,
            Command::SetQps {
                node: CLIENT,
                qps: 3000.0,
            },
        ),
        (700, Command::Revive(Target::member(APP, 1))),
        (800, Command::AddWire(Wire::new(CLIENT, APP, 2.0))),
        (
            900,
            Command::RemoveWire {
                from: CLIENT,
                to: LB,
            },
        ),
        (
            1100,
            Command::SetParam {
                node: APP,
                param: "count".into(),
                value: 2.0,
            },
        ),
        (1200, Command::Kill(Target::member(APP, 0))),
        (1300, Command::AddWire(Wire::new(CLIENT, LB, 5.0))),
        (
            1400,
            Command::RemoveWire {
                from: CLIENT,
                to: APP,
            },
        ),
        (1500, Command::Revive(Target::member(APP, 0))),
    ]
}

/// Run `ticks` ticks applying `session()` between them; `each_tick` sees the sim after every
/// tick.
fn run_session(sim: &mut Sim, ticks: u64, mut each_tick: impl FnMut(&Sim)) {
    let mut commands = session().into_iter().peekable();
    for t in 0..ticks {
        while let Some((_, command)) = commands.next_if(|(at, _)| *at == t) {
            let shown = format!("{command:?}");
            if let Err(why) = sim.apply(command) {
                panic!("tick {t}: {shown} was refused: {why}");
            }
        }
        sim.tick();
        each_tick(sim);
    }
}

#[test]
fn replaying_the_command_log_reproduces_the_run() {
    let layout = shipped("request-flow.ron");
    let ticks = 2000;
    let mut live = new_sim(&layout, SimConfig::default());
    run_session(&mut live, ticks, |_| {});
    assert_eq!(live.command_log().len(), session().len());
    let m = live.metrics();
    // The session did what it says: the faults and the wire moves failed requests.
    assert!(m.requests.failed > 0, "{:?}", m.failures);
    let mut replayed = Sim::replay(&layout, SimConfig::default(), live.command_log())
        .unwrap_or_else(|p| panic!("{p:?}"));
    replayed.run_ticks(ticks);
    assert_eq!(replayed.command_log(), live.command_log());
    assert_eq!(replayed.metrics(), m);
    assert_eq!(fingerprint(&replayed), fingerprint(&live));
    assert_eq!(replayed.layout(), live.layout());
}

#[test]
fn traces_change_no_result() {
    let layout = shipped("request-flow.ron");
    let mut runs = Vec::new();
    for every in [0, 1, 100] {
        let config = SimConfig {
            trace: TraceConfig {
                every,
                capacity: 500,
                keep_ns: 0,
            },
            ..SimConfig::default()
        };
        let mut sim = new_sim(&layout, config);
        run_session(&mut sim, 2000, |_| {});
        if every > 0 {
            assert!(
                !sim.traces().done.is_empty(),
                "every {every}: traces were taken"
            );
        }
        let json =
            serde_json::to_string(&report::run_json(&sim, 0.0)).unwrap_or_else(|e| panic!("{e}"));
        runs.push((every, json, format!("{:?}", sim.series())));
    }
    for (every, json, series) in &runs[1..] {
        assert_eq!(&runs[0].1, json, "report with traces every {every}");
        assert_eq!(&runs[0].2, series, "series with traces every {every}");
    }
}

#[test]
fn requests_are_conserved_after_every_tick() {
    let layout = shipped("request-flow.ron");
    let mut sim = new_sim(
        &layout,
        SimConfig {
            warmup_s: 0.1,
            ..SimConfig::default()
        },
    );
    let mut max_in_flight = 0;
    run_session(&mut sim, 2000, |sim| {
        let RequestCounts {
            arrived,
            completed,
            failed,
            in_flight,
        } = sim.counts();
        assert_eq!(
            arrived,
            completed + failed + in_flight,
            "after tick {}: {:?}",
            sim.ticks(),
            sim.counts()
        );
        max_in_flight = max_in_flight.max(in_flight);
    });
    assert!(max_in_flight > 0);
    // Let everything drain with no more traffic: nothing is lost on the way.
    let _ = sim.apply(Command::SetQps {
        node: CLIENT,
        qps: 0.0,
    });
    sim.run_ticks(2000);
    let c = sim.counts();
    assert_eq!(c.in_flight, 0, "{c:?}");
    assert_eq!(c.arrived, c.completed + c.failed, "{c:?}");
}

/// Compiles only while `Sim` can be copied and sent to another thread.
fn assert_clone_send<T: Clone + Send + 'static>() {}

#[test]
fn a_cloned_sim_continues_like_the_original() {
    assert_clone_send::<Sim>();
    let layout = shipped("three-tier.ron");
    let mut original = new_sim(&layout, SimConfig::default());
    original.run_ticks(700);
    let mut copy = original.clone();
    // The copy runs on another thread; both then take the same command and the same ticks.
    let copy = std::thread::spawn(move || {
        let _ = copy.apply(Command::Kill(Target::node(NodeId(3))));
        copy.run_ticks(1300);
        copy
    })
    .join()
    .unwrap_or_else(|_| panic!("the copy's thread panicked"));
    let _ = original.apply(Command::Kill(Target::node(NodeId(3))));
    original.run_ticks(1300);
    assert_eq!(fingerprint(&copy), fingerprint(&original));
    assert_eq!(copy.metrics(), original.metrics());
}

/// Every setting can change at run time: `set_kind` swaps a node's whole parameter set (here a
/// balancer's algorithm and layer and a database's size) and the running system follows, while
/// the change is logged and replays exactly.
#[test]
fn set_kind_changes_any_setting_at_run_time_and_replays() {
    use tierlab::layout::{Command, Layer, LbAlgorithm, NodeKind, Size};
    let layout = tierlab::layout::from_ron(
        r#"(seed: 3, nodes: [
            (id: 0, name: "users", kind: client(qps: 2000)),
            (id: 1, name: "lb", kind: load_balancer()),
            (id: 2, name: "app", kind: app_server(count: 3, service_ms: 1.0)),
            (id: 3, name: "db", kind: database(read_ms: 2.0, write_ms: 2.0)),
        ], wires: [(from: 0, to: 1), (from: 1, to: 2), (from: 2, to: 3)])"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config = tierlab::sim::SimConfig::default();
    let mut sim =
        tierlab::sim::Sim::new(&layout, config.clone()).unwrap_or_else(|p| panic!("{p:?}"));
    sim.run_until_s(1.0);
    let mut lb = match layout.node_named("lb").map(|n| n.kind.clone()) {
        Some(NodeKind::LoadBalancer(p)) => p,
        _ => panic!("lb is a balancer"),
    };
    lb.algorithm = LbAlgorithm::LeastConnections;
    lb.layer = Layer::L4;
    let mut db = match layout.node_named("db").map(|n| n.kind.clone()) {
        Some(k) => k,
        None => panic!("db exists"),
    };
    assert!(db.set_size(Size::X4Large));
    let before = sim.metrics();
    let db_price = |m: &tierlab::sim::Metrics| {
        m.nodes
            .iter()
            .find(|n| n.name == "db")
            .map(|n| n.usd_per_hour)
            .unwrap_or_default()
    };
    assert_eq!(db_price(&before), Size::Large.usd_per_hour());
    let cmds = [
        Command::SetKind {
            node: tierlab::layout::NodeId(1),
            kind: NodeKind::LoadBalancer(lb.clone()),
        },
        Command::SetKind {
            node: tierlab::layout::NodeId(3),
            kind: db,
        },
    ];
    for c in cmds {
        sim.apply(c).unwrap_or_else(|e| panic!("{e}"));
    }
    // A database cannot take a balancer's settings.
    let refused = sim.apply(Command::SetKind {
        node: tierlab::layout::NodeId(3),
        kind: NodeKind::LoadBalancer(lb),
    });
    assert!(refused.is_err_and(|e| e.contains("cannot become")));
    sim.run_until_s(3.0);
    let after = sim.metrics();
    assert_eq!(db_price(&after), Size::X4Large.usd_per_hour());
    assert!(matches!(
        sim.layout().node_named("lb").map(|n| &n.kind),
        Some(NodeKind::LoadBalancer(p)) if p.layer == Layer::L4
    ));
    let c = sim.counts();
    assert_eq!(c.arrived, c.completed + c.failed + c.in_flight);
    assert_eq!(c.failed, 0);
    // Replaying the log reproduces the run exactly.
    let mut again = tierlab::sim::Sim::replay(&layout, config, sim.command_log())
        .unwrap_or_else(|p| panic!("{p:?}"));
    again.run_until_s(3.0);
    assert_eq!(again.metrics(), sim.metrics());
}

/// Skipping ticks in which nothing happens (`Sim::skip_idle`) gives exactly what ticking
/// through them does: a sparse layout on a short tick, with a warm-up and a scripted command
/// falling between events.
#[test]
fn skipping_idle_ticks_equals_ticking_through_them() {
    let layout = check::parse(
        r#"(tick_ms: 0.01, seed: 3, nodes: [
            (id: 0, name: "users", kind: client(qps: 20)),
            (id: 1, name: "app", kind: app_server(service_ms: 3)),
        ], wires: [(from: 0, to: 1, latency_ms: 0.7, timeout_ms: 50)],
        script: [(at_s: 0.73, command: set_qps(node: 0, qps: 40)),
                 (at_s: 1.1, command: kill(node: 1))])"#,
    );
    let config = SimConfig {
        warmup_s: 0.25,
        ..SimConfig::default()
    };
    let ticks = 150_000;
    let mut stepped = new_sim(&layout, config.clone());
    for _ in 0..ticks {
        stepped.tick();
    }
    let mut skipping = new_sim(&layout, config);
    skipping.run_ticks(ticks);
    assert_eq!(stepped.work().ticks_skipped, 0);
    assert!(
        skipping.work().ticks_skipped > ticks / 2,
        "{:?}",
        skipping.work()
    );
    assert_eq!(skipping.ticks(), ticks);
    assert!(stepped.counts().arrived > 20, "{:?}", stepped.counts());
    assert_eq!(fingerprint(&stepped), fingerprint(&skipping));
}
