//! What breaks first and what takes everything down: the single-point-of-failure search
//! (`study::spof`) and the stress search (`study::stress`), through the library and the binary.

use std::process::Command;

use tierlab::layout::{Layout, NodeKind, Target};
use tierlab::study::Progress;
use tierlab::study::spof::{self, Scope, Settle, SpofError, SpofReport};

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
