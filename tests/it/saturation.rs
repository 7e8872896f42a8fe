//! Saturation is measured: a node is flagged by what it does (every core busy, every worker
//! held, its backlog growing or overflowing), and the flag names the resource that ran out.

use rayon::prelude::*;
use tierlab::sim::metrics::Resource;
use tierlab::sim::{Metrics, NodeMetrics, Sim};

use crate::check::{self, Row, SEEDS};

/// An app server whose 8 workers wait on a slow database (20 ms a read, 64 workers: it never
/// queues). Each request holds a worker for 0.1 ms of CPU plus the database's 20 ms, so the
/// app serves at most 8 / 20.1 ms = 398 requests/s of the 1,000 asked: its workers are all
/// held, its queue fills, and its CPU is nearly idle.
const WAITING: &str = r#"(
    name: "workers held",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 1000, read_share: 1.0)),
        (id: 1, name: "app", kind: app_server(workers: 8, service_ms: 0.1, queue_capacity: 100)),
        (id: 2, name: "db", kind: database(workers: 64, read_ms: 20.0)),
    ],
    wires: [(from: 0, to: 1), (from: 1, to: 2)],
)"#;

/// The same app server doing 10 ms of its own CPU work per request: 8 workers on 8 cores
/// serve 800 requests/s of the 1,000 asked, and the CPU is what runs out.
const CPU_BOUND: &str = r#"(
    name: "cpu bound",
    nodes: [
        (id: 0, name: "client", kind: client(qps: 1000, read_share: 1.0)),
        (id: 1, name: "app", kind: app_server(workers: 8, service_ms: 10.0, queue_capacity: 100)),
    ],
    wires: [(from: 0, to: 1)],
)"#;

fn sim(text: &str, seed: u64) -> Sim {
    check::quiet_sim(text, seed)
}

fn node<'a>(m: &'a Metrics, name: &str) -> &'a NodeMetrics {
    check::node_named(m, name)
}

/// The window's flag for `name`: what `Sim::unit_info` says over the last second.
fn recent(s: &Sim, name: &str) -> Option<Resource> {
    s.unit_ixs()
        .filter_map(|i| s.unit_info(i))
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("no unit {name}"))
        .saturated
}

#[test]
fn an_app_server_waiting_on_a_slow_database_is_saturated_on_workers_with_its_cpu_low() {
    const SECONDS: f64 = 10.0;
    let runs: Vec<(u64, Metrics, Option<Resource>, Option<Resource>)> = SEEDS
        .par_iter()
        .map(|&seed| {
            let mut s = sim(WAITING, seed);
            s.run_until_s(1.0 + SECONDS);
            (seed, s.metrics(), recent(&s, "app"), recent(&s, "db"))
        })
        .collect();
    let (app_s, db_s, workers) = (0.1e-3, 20e-3, 8.0);
    let mut rows = Vec::new();
    for (seed, m, app_recent, db_recent) in &runs {
        let app = node(m, "app");
        let db = node(m, "db");
        println!(
            "  seed {seed}: app saturated {:?} unstable {} cpu {:.4} held {:.3}; db saturated \
             {:?} cpu {:.3}; window: app {app_recent:?}, db {db_recent:?}",
            app.saturated,
            app.unstable,
            app.cpu_utilization,
            app.all_workers_held,
            db.saturated,
            db.cpu_utilization
        );
        assert_eq!(app.saturated, Some(Resource::Workers), "seed {seed}");
        assert!(app.unstable, "seed {seed}: its queue overflows");
        assert_eq!(
            *app_recent,
            Some(Resource::Workers),
            "seed {seed}: the window says so"
        );
        assert_eq!(db.saturated, None, "seed {seed}: the database has room");
        assert!(!db.unstable, "seed {seed}");
        assert_eq!(*db_recent, None, "seed {seed}");
        // Every worker is held all the time, each for S_app + S_db a request: the CPU is busy
        // S_app / (S_app + S_db) of the time. The app serves workers / (S_app + S_db)
        // requests/s: Poisson-like, four standard deviations of the count.
        let served = workers / (app_s + db_s) * SECONDS;
        rows.push(Row {
            case: "app cpu".into(),
            seed: *seed,
            figure: "utilization",
            measured: app.cpu_utilization,
            expected: app_s / (app_s + db_s),
            tolerance: 4.0 / served.sqrt(),
        });
        rows.push(Row {
            case: "app served".into(),
            seed: *seed,
            figure: "calls",
            measured: app.served as f64,
            expected: served,
            tolerance: 4.0 / served.sqrt(),
        });
    }
    check::assert_rows(
        "workers held on a slow database: the app's CPU and throughput",
        &rows,
    );
}

#[test]
fn a_cpu_bound_server_is_saturated_on_cpu_and_a_stable_queue_is_not_flagged() {
    SEEDS.par_iter().for_each(|&seed| {
        let mut s = sim(CPU_BOUND, seed);
        s.run_until_s(6.0);
        let m = s.metrics();
        let app = node(&m, "app");
        println!(
            "  seed {seed}: cpu-bound app saturated {:?} unstable {} all cores busy {:.3}",
            app.saturated, app.unstable, app.all_cores_busy
        );
        assert_eq!(app.saturated, Some(Resource::Cpu), "seed {seed}");
        assert!(app.unstable, "seed {seed}");
        assert_eq!(recent(&s, "app"), Some(Resource::Cpu), "seed {seed}");
        // mm4 runs at load 0.9: busy, but its queue does not grow and nothing is refused.
        let layout = check::parse(
            tierlab::shipped::find("mm4.ron").unwrap_or_else(|| panic!("mm4 is shipped")),
        );
        let m = check::run(&layout, seed, 1.0, 20.0);
        let app = node(&m, "app");
        println!(
            "  seed {seed}: mm4 saturated {:?} unstable {} all cores busy {:.3}",
            app.saturated, app.unstable, app.all_cores_busy
        );
        assert_eq!(app.saturated, None, "seed {seed}");
        assert!(!app.unstable, "seed {seed}");
    });
}
