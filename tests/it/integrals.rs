//! A server's time integrals (the utilizations and the cost in every report) count each
//! change of its load from the instant it happens: a resize made while the server sits idle
//! applies from the resize on, not back to the server's last request, and a pool member
//! removed and later added back is paid for only while it exists.

use tierlab::layout::NodeKind;

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

#[test]
fn workers_added_while_the_server_is_idle_count_from_the_resize_on() {
    // Traffic for 10 s, none for the next 10, then 2 -> 4 workers at 20 s, and 10 s more.
    let layout = check::parse(&SERVER.replace(
        "SCRIPT",
        "(at_s: 10, command: set_qps(node: 0, qps: 0)), \
         (at_s: 20, command: set_param(node: 1, param: \"workers\", value: 4))",
    ));
    for seed in SEEDS {
        let m = check::run(&layout, seed, 0.0, 30.0);
        let app = &m.nodes[1];
        // Worker-seconds held: each request served held one for 10 ms. Available: 2 workers
        // for 20 s, then 4 for 10 s.
        let held = app.served as f64 * 0.010;
        let expected = held / (2.0 * 20.0 + 4.0 * 10.0);
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
    // Two priced servers and no traffic; the second removed at 5 s and back at 15 s: 30
    // server-seconds paid over 20 s.
    let layout = check::parse(
        &SERVER
            .replace("client(qps: 100)", "client(qps: 0)")
            .replace("workers: 2,", "workers: 2, count: 2, size: large,")
            .replace(
                "SCRIPT",
                "(at_s: 5, command: set_param(node: 1, param: \"count\", value: 1)), \
                 (at_s: 15, command: set_param(node: 1, param: \"count\", value: 2))",
            ),
    );
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
