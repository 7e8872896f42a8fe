//! What breaks first and what takes everything down: the single-point-of-failure search
//! (`study::spof`) and the stress search (`study::stress`), through the library and the binary.

use std::process::Command;

use tierlab::layout::{Layout, NodeKind, Target};
use tierlab::study::Progress;
use tierlab::study::spof::{self, Scope, Settle, SpofError, SpofReport};
use tierlab::study::stress::{self, StressReport};

use crate::check;

fn shipped(name: &str) -> Layout {
    let path = check::repo(&format!("saves/{name}"));
    check::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
}

fn search(layout: &Layout, settle: Settle) -> SpofReport {
    let progress = Progress::new(spof::runs(layout, &Scope::Everything));
    let r = spof::spof(layout, &Scope::Everything, settle, &progress)
        .unwrap_or_else(|e| panic!("the search failed: {e}"));
    assert_eq!(progress.done(), progress.total(), "every run counted");
    r
}

fn names(r: &SpofReport) -> Vec<&str> {
    r.single_points().map(|k| k.name.as_str()).collect()
}

fn share_of(r: &SpofReport, name: &str) -> f64 {
    check::row(&r.killed, format!("{name} was killed"), |k| k.name == name).failure_share
}

#[test]
fn spof_names_the_balancer_of_lb_spof_and_nothing_else() {
    for seed in check::SEEDS {
        let mut layout = shipped("lb-spof.ron");
        layout.seed = seed;
        let r = search(&layout, Settle::Auto);
        assert_eq!(names(&r), ["lb"], "seed {seed}: {r:#?}");
        // Every request crosses the one balancer: all of them fail once it is dead.
        assert_eq!(share_of(&r, "lb"), 1.0);
        // Three members behind health checks: once one is marked down the others serve all.
        for m in ["app[0]", "app[1]", "app[2]"] {
            assert_eq!(share_of(&r, m), 0.0, "seed {seed}: {m}");
        }
    }
}

#[test]
fn spof_names_neither_balancer_of_an_active_passive_pair() {
    for seed in check::SEEDS {
        let mut layout = shipped("active-passive.ron");
        layout.seed = seed;
        let r = search(&layout, Settle::Auto);
        assert_eq!(names(&r), Vec::<&str>::new(), "seed {seed}: {r:#?}");
        // Both balancers were tried, and neither entry nor client was.
        let killed: Vec<&str> = r.killed.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(killed, ["lb-a", "lb-b", "app[0]", "app[1]", "app[2]"]);
    }
}

#[test]
fn without_a_settle_time_the_failover_window_shows_as_its_share_of_the_measured_time() {
    // Counting from the kill itself, killing the active balancer fails every request until
    // the standby takes the address over: 3 missed beats of 500 ms after the last beat seen,
    // so between 1.0 s and 1.5 s after the kill. Over the 10 s measured that is 10 % to 15 %.
    let r = search(&shipped("active-passive.ron"), Settle::Seconds(0.0));
    let share = share_of(&r, "lb-a");
    let (lo, hi) = (1.0 / spof::MEASURE_S, 1.5 / spof::MEASURE_S);
    assert!(
        (lo - 0.005..=hi + 0.005).contains(&share),
        "lb-a failed {share}, expected {lo} to {hi}"
    );
    assert!(names(&r).contains(&"lb-a"), "{r:#?}");
    // The standby carries nothing: its death fails nothing whenever it is counted.
    assert_eq!(share_of(&r, "lb-b"), 0.0);
}

#[test]
fn a_balancer_without_health_checks_makes_each_member_fail_its_share() {
    // Round-robin over three members that it never stops using: a dead one keeps getting a
    // third of the requests, and each of those fails.
    let mut layout = shipped("lb-spof.ron");
    for n in &mut layout.nodes {
        if let NodeKind::LoadBalancer(b) = &mut n.kind {
            b.health_checks = false;
        }
    }
    let r = search(&layout, Settle::Auto);
    assert_eq!(names(&r), ["lb", "app[0]", "app[1]", "app[2]"], "{r:#?}");
    for m in ["app[0]", "app[1]", "app[2]"] {
        let share = share_of(&r, m);
        assert!(
            check::rel_err(share, 1.0 / 3.0).abs() < 0.01,
            "{m}: {share}"
        );
    }
    let app = check::row(&r.killed, "app[1]", |k| k.name == "app[1]");
    assert_eq!(app.target, Target::member(app.target.node, 1));
    assert_eq!(app.kind, "app_server");
}

#[test]
fn a_scope_of_nodes_kills_only_those() {
    let layout = shipped("active-passive.ron");
    let Some(app) = layout.node_named("app") else {
        panic!("no app");
    };
    let scope = Scope::Nodes(vec![app.id]);
    assert_eq!(spof::runs(&layout, &scope), 3 + 1);
    let r = spof::spof(&layout, &scope, Settle::Auto, &Progress::new(4))
        .unwrap_or_else(|e| panic!("{e}"));
    let killed: Vec<&str> = r.killed.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(killed, ["app[0]", "app[1]", "app[2]"]);
}

#[test]
fn a_cancelled_spof_search_says_so() {
    let layout = shipped("lb-spof.ron");
    let progress = Progress::new(spof::runs(&layout, &Scope::Everything));
    progress.cancel();
    let r = spof::spof(&layout, &Scope::Everything, Settle::Auto, &progress);
    assert_eq!(r, Err(SpofError::Cancelled));
}

fn tierlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tierlab"))
        .args(args)
        .current_dir(check::repo(""))
        .output()
        .unwrap_or_else(|e| panic!("cannot start tierlab: {e}"))
}

#[test]
fn tierlab_spof_names_the_balancer_in_text_and_json() {
    let o = tierlab(&["spof", "saves/lb-spof.ron"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("single points of failure") && text.contains("  lb (load balancer): 100.0 %"),
        "{text}"
    );
    let o = tierlab(&["spof", "active-passive.ron", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    let killed = v["killed"]
        .as_array()
        .unwrap_or_else(|| panic!("killed is a list: {v:#}"));
    assert_eq!(killed.len(), 5);
    assert!(killed.iter().all(|k| k["single_point"] == false), "{v:#}");
    assert_eq!(v["settle_s"], 7.0);
    let o = tierlab(&["spof", "lb-spof.ron", "--settle", "-1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: the settle time"));
}

/// A read-heavy layout with one database: 95 % reads of 2 ms, writes of 5 ms, 4 database
/// workers; the app pool has far more room (4 x 64 workers, 1 ms each).
const ONE_DATABASE: &str = r#"(
    name: "one database",
    seed: 11,
    nodes: [
        (id: 0, name: "users", kind: client(qps: 500, read_share: 0.95)),
        (id: 1, name: "lb", kind: load_balancer()),
        (id: 2, name: "app", kind: app_server(count: 4, workers: 64, service_ms: 1.0)),
        (id: 3, name: "db", kind: database(workers: 4, read_ms: 2.0, write_ms: 5.0)),
    ],
    wires: [(from: 0, to: 1, latency_ms: 1.0), (from: 1, to: 2), (from: 2, to: 3, latency_ms: 0.2)],
)"#;

/// One small app server (4 workers, 10 ms each) in front of a roomy database.
const ONE_SMALL_APP: &str = r#"(
    name: "one small app server",
    seed: 11,
    nodes: [
        (id: 0, name: "users", kind: client(qps: 100)),
        (id: 1, name: "lb", kind: load_balancer()),
        (id: 2, name: "app", kind: app_server(workers: 4, service_ms: 10.0)),
        (id: 3, name: "db", kind: database(workers: 64, read_ms: 0.5, write_ms: 1.0)),
    ],
    wires: [(from: 0, to: 1, latency_ms: 1.0), (from: 1, to: 2), (from: 2, to: 3, latency_ms: 0.2)],
)"#;

fn stress_of(text: &str) -> StressReport {
    let progress = Progress::new(stress::RUNS_GUESS);
    let r = stress::stress(&check::parse(text), &progress)
        .unwrap_or_else(|e| panic!("the search failed: {e}"));
    assert_eq!(
        progress.done(),
        r.steps.len() as u64 + 1,
        "every run counted"
    );
    r
}

/// The rate the search held and the one it broke at, offered QPS.
fn bracket(r: &StressReport) -> (f64, f64) {
    let (Some(held), Some(broke)) = (&r.held, &r.broke) else {
        panic!("no bracket: {r:#?}");
    };
    assert!(held.passed && !broke.passed);
    assert!(broke.qps > held.qps && broke.qps <= held.qps * (1.0 + stress::PRECISION) + 1e-9);
    (held.qps, broke.qps)
}

#[test]
fn stress_names_the_database_of_a_read_heavy_layout_near_its_capacity() {
    let r = stress_of(ONE_DATABASE);
    let Some(s) = &r.saturated else {
        panic!("nothing saturated: {r:#?}");
    };
    assert_eq!(
        (s.name.as_str(), s.kind, s.resource),
        ("db", "database", "cpu"),
        "{r:#?}"
    );
    // M/M/4 with a mean demand of 0.95 x 2 + 0.05 x 5 = 2.15 ms per request: it saturates at
    // 4 / 2.15 ms = 1860 requests per second. The default goal (p99 within 10x unloaded)
    // breaks somewhat before that, never after.
    let capacity = 4.0 / 2.15e-3;
    let (held, broke) = bracket(&r);
    assert!(
        (0.8 * capacity..=1.02 * capacity).contains(&broke),
        "held {held}, broke {broke}, capacity {capacity}"
    );
}

#[test]
fn stress_names_the_small_app_server_and_breaks_near_c_over_s() {
    let r = stress_of(ONE_SMALL_APP);
    let Some(s) = &r.saturated else {
        panic!("nothing saturated: {r:#?}");
    };
    assert_eq!((s.name.as_str(), s.kind), ("app", "app_server"), "{r:#?}");
    // An unsized server's workers are its cores, and a worker is also held while its database
    // call crosses the wire: CPU and workers run out together, workers a little first.
    assert!(["cpu", "workers"].contains(&s.resource), "{s:?}");
    // M/M/c with c = 4 and S = 10 ms: saturation at c / S = 400 requests per second (a worker
    // held 0.9 ms longer for the database call brings it down to about 367).
    let capacity = 4.0 / 10e-3;
    let (held, broke) = bracket(&r);
    assert!(
        (0.8 * capacity..=1.02 * capacity).contains(&broke),
        "held {held}, broke {broke}, capacity {capacity}"
    );
    // The default goals, from the unloaded p99 (exponential service: about S ln 100).
    assert_eq!(r.goals.len(), 2, "{:?}", r.goals);
    assert!(
        r.unloaded_p99_ms > 10.0 * 100f64.ln() * 0.7,
        "{}",
        r.unloaded_p99_ms
    );
}

#[test]
fn tierlab_stress_prints_the_rate_and_the_node() {
    let o = tierlab(&["stress", "lb-spof.ron", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    // Three servers of 8 workers at 2 ms: 12000 requests per second at most.
    let held = v["held"]["qps"].as_f64().unwrap_or_default();
    assert!((10_000.0..=12_300.0).contains(&held), "{v:#}");
    assert_eq!(v["saturated"]["kind"], "app_server", "{v:#}");
    let o = tierlab(&["stress", "lb-spof.ron"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("saturated first: app (app server), cpu"),
        "{text}"
    );
}
