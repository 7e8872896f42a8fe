//! A server's time integrals (the utilizations and the cost in every report) count each
//! change of its load from the instant it happens: a resize made while the server sits idle
//! applies from the resize on, not back to the server's last request, and a pool member
//! removed and later added back is paid for only while it exists, and its plots go on from
//! where they were.

use tierlab::layout::{NodeId, NodeKind};
use tierlab::sim::UnitId;

use crate::check::{self, SEEDS};

/// One client and one app server with two workers and constant service of 10 ms (a request
/// holds a worker for exactly that), with a script.
const SERVER: &str = r#"(
    name: "integrals",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 100)),
        (id: 1, name: "app", kind: app_server(workers: 2, service: constant, service_ms: 10.0, queue_capacity: 1000)),
    ],
    wires: [(from: 0, to: 1)],
    script: [SCRIPT],
)"#;

/// `SERVER` as a pool of two at `qps` requests/s (`params`: the servers' further settings),
/// whose second member is removed at 5.05 s and added back at 15.05 s (between series
/// samples).
fn pool_away_and_back(qps: u32, params: &str) -> tierlab::layout::Layout {
    check::parse(
        &SERVER
            .replace("client(qps: 100)", &format!("client(qps: {qps})"))
            .replace("workers: 2,", &format!("workers: 2, count: 2, {params}"))
            .replace(
                "SCRIPT",
                "(at_s: 5.05, command: set_param(node: 1, param: \"count\", value: 1)), \
                 (at_s: 15.05, command: set_param(node: 1, param: \"count\", value: 2))",
            ),
    )
}

#[test]
fn workers_added_while_the_server_is_idle_count_from_the_resize_on() {
    // Traffic for 10 s, none for the next 10, then 2 -> 4 workers at 20.05 s (between two
    // series samples, which bring every instance's figures up to date), and on to 30 s.
    let layout = check::parse(&SERVER.replace(
        "SCRIPT",
        "(at_s: 10, command: set_qps(node: 0, qps: 0)), \
         (at_s: 20.05, command: set_param(node: 1, param: \"workers\", value: 4))",
    ));
    for seed in SEEDS {
        let m = check::run(&layout, seed, 0.0, 30.0);
        let app = &m.nodes[1];
        // Worker-seconds held: each request served held one for 10 ms. Available: 2 workers
        // for 20.05 s, then 4 for 9.95 s.
        let held = app.served as f64 * 0.010;
        let expected = held / (2.0 * 20.05 + 4.0 * 9.95);
        println!(
            "seed {seed}: {} served, worker utilization {:.5}, expected {expected:.5}",
            app.served, app.worker_utilization
        );
        assert!(app.served > 800, "seed {seed}: {} served", app.served);
        assert!(
            (app.worker_utilization - expected).abs() < 1e-9,
            "seed {seed}: worker utilization {} where {expected} is expected",
            app.worker_utilization
        );
    }
}

#[test]
fn a_pool_member_removed_and_added_back_is_paid_for_only_while_it_exists() {
    // Two priced servers and no traffic, the second away from 5.05 s to 15.05 s: 30
    // server-seconds paid over 20 s.
    let layout = pool_away_and_back(0, "size: large,");
    let price = match &layout.nodes[1].kind {
        NodeKind::AppServer(p) => p.size.map_or(0.0, |s| s.usd_per_hour()),
        other => panic!("{other:?}"),
    };
    assert!(price > 0.0);
    let m = check::run(&layout, SEEDS[0], 0.0, 20.0);
    let expected = price * 30.0 / 20.0;
    println!(
        "cost {:.6} $/h, expected {expected:.6} (two servers at {price} $/h, one of them away for half the run)",
        m.cost_usd_per_hour
    );
    assert!(
        (m.cost_usd_per_hour - expected).abs() < 1e-9 * expected,
        "cost {} $/h where {expected} is expected",
        m.cost_usd_per_hour
    );
}

#[test]
fn a_pool_member_added_back_plots_what_it_serves_not_what_it_served_before() {
    // Two servers sharing 200 requests/s, the second away from 5.05 s to 15.05 s.
    let layout = pool_away_and_back(200, "");
    for seed in SEEDS {
        let s = check::run_sim(&layout, seed, 0.0, 20.0);
        let id = UnitId {
            node: NodeId(1),
            member: 1,
        };
        let Some(i) = s.unit_index(id) else {
            panic!("seed {seed}: no member 1")
        };
        let series = &s.series().units[i.index()];
        let served: Vec<f32> = series.served_per_s.iter().collect();
        let busy: Vec<f32> = series.cpu_utilization.iter().collect();
        let top = served.iter().copied().fold(0.0, f32::max);
        let top_busy = busy.iter().copied().fold(0.0, f32::max);
        println!(
            "seed {seed}: member 1's highest served {top:.0}/s, highest CPU {top_busy:.3} over {} samples",
            served.len()
        );
        // No instance serves more than the whole stream: a 100 ms sample of a Poisson stream
        // of 20 requests on average over 40 is about a 1-in-100,000 event. A sample counted
        // from the start of the run would read what the member served before, about 500, as
        // served in 100 ms.
        assert!(
            top > 0.0 && top <= 400.0,
            "seed {seed}: served {top}/s in one sample"
        );
        assert!(top_busy <= 1.0, "seed {seed}: CPU {top_busy} in one sample");
    }
}
