//! A/B twin runs: twins receive the same arrivals, and the paired comparison finds a real
//! change (least-connections around a slow server) outside its interval, through the library
//! and through `tierlab compare --json`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tierlab::layout::{self, Layout, LbAlgorithm, NodeKind};
use tierlab::report::{self, RunConfig};
use tierlab::sim::{Sim, SimConfig, TraceConfig};
use tierlab::study::Progress;
use tierlab::study::compare::{self, CompareConfig, Verdict};

use crate::check;

/// What a client saw of each request it issued, read from traces with every request sampled:
/// (request id, client, birth time, user, key, read).
fn arrivals(layout: &Layout, seed: u64, seconds: f64) -> Vec<(u64, usize, u64, u32, u32, bool)> {
    let config = SimConfig {
        seed: Some(seed),
        warmup_s: 0.0,
        trace: TraceConfig {
            every: 1,
            capacity: 100_000,
            keep_ns: 0,
        },
    };
    let mut sim = Sim::new(layout, config).unwrap_or_else(|e| panic!("runs: {e:?}"));
    sim.run_until_s(seconds);
    let t = sim.traces();
    let mut out: Vec<_> = (t.done.iter().chain(t.open.iter().flatten()))
        .map(|t| {
            (
                t.request_id,
                t.client.index(),
                t.born_ns,
                t.user,
                t.key,
                t.read,
            )
        })
        .collect();
    out.sort();
    assert_eq!(
        out.len() as u64,
        sim.counts().arrived,
        "every request is traced"
    );
    out
}

fn shipped(name: &str) -> Layout {
    check::parse(
        &std::fs::read_to_string(check::repo(&format!("saves/{name}")))
            .unwrap_or_else(|e| panic!("{e:?}")),
    )
}

/// The shipped least-connections layout with its balancer on `algorithm`.
fn with_algorithm(algorithm: LbAlgorithm) -> Layout {
    let mut l = shipped("least-connections.ron");
    for n in &mut l.nodes {
        if let NodeKind::LoadBalancer(b) = &mut n.kind {
            b.algorithm = algorithm;
        }
    }
    l.name = algorithm.file_name().into();
    l
}

#[test]
fn twins_with_one_more_server_receive_the_same_arrivals() {
    let a = shipped("request-flow.ron");
    let mut b = a.clone();
    for n in &mut b.nodes {
        if let NodeKind::AppServer(p) = &mut n.kind {
            p.count += 1;
        }
    }
    for seed in check::SEEDS {
        let (aa, ba) = (arrivals(&a, seed, 3.0), arrivals(&b, seed, 3.0));
        // 1200 requests per second for 3 s: thousands of arrivals, not a handful.
        assert!(aa.len() > 3000, "{} arrivals", aa.len());
        assert_eq!(aa, ba, "seed {seed}: A and B saw different arrivals");
    }
    // The twins differ where they should: B's fourth server takes a share of the calls.
    let run = |l: &Layout| {
        let c = RunConfig {
            seconds: 3.0,
            seed: Some(11),
            ..Default::default()
        };
        report::run_json(&report::run(l, &c).unwrap_or_else(|e| panic!("{e:?}")), 0.0)
    };
    let (ra, rb) = (run(&a), run(&b));
    let members =
        |r: &report::RunJson| r.nodes.iter().filter(|n| n.name.starts_with("app")).count();
    assert_eq!((members(&ra), members(&rb)), (3, 4));
    assert_ne!(ra.latency_ms.mean, rb.latency_ms.mean);
}

/// Mean and 95 % half-width of `xs` by the textbook formula, t from a printed table.
fn textbook_interval(xs: &[f64]) -> (f64, f64) {
    const T95: [f64; 5] = [12.706, 4.303, 3.182, 2.776, 2.571];
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    (mean, T95[xs.len() - 2] * sd / n.sqrt())
}

#[test]
fn least_connections_beats_round_robin_around_a_slow_server_outside_the_noise() {
    let (a, b) = (
        with_algorithm(LbAlgorithm::RoundRobin),
        with_algorithm(LbAlgorithm::LeastConnections),
    );
    let config = CompareConfig {
        seconds: 30.0,
        warmup_s: 0.0,
        seed: Some(11),
        replications: 5,
    };
    let progress = Progress::new(compare::runs(&config));
    let c = compare::compare(&a, &b, &config, &progress).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(progress.done(), 10, "five seeds, two twins each");
    assert_eq!(c.seeds, vec![11, 12, 13, 14, 15]);
    let p99 = check::row(&c.rows, "a p99 row", |r| r.metric == "latency_p99_ms");
    // Each seed's difference is that of two separate runs.
    for (k, &seed) in c.seeds.iter().enumerate() {
        let p99_of = |l: &Layout| {
            let cfg = RunConfig {
                seconds: 30.0,
                seed: Some(seed),
                ..Default::default()
            };
            report::run(l, &cfg)
                .unwrap_or_else(|e| panic!("{e:?}"))
                .metrics()
                .latency_ms
                .p99
        };
        assert_eq!(p99.per_seed[k], p99_of(&b) - p99_of(&a), "seed {seed}");
    }
    let (mean, half) = textbook_interval(&p99.per_seed);
    assert!((p99.change.mean - mean).abs() < 1e-9 && (p99.change.half_width - half).abs() < 1e-9);
    // B's p99 is lower, and the whole interval is below zero.
    assert!(p99.b < p99.a, "{p99:?}");
    assert!(p99.change.ci95_high < 0.0, "{p99:?}");
    assert_eq!(p99.verdict, Verdict::BBetter);
    // Both twins cost the same: the same servers.
    let cost = check::row(&c.rows, "a cost row", |r| r.metric == "cost_usd_per_hour");
    assert_eq!(cost.verdict, Verdict::WithinNoise);
    // No cache in this layout: no hit ratio row.
    assert!(c.rows.iter().all(|r| r.metric != "cache_hit_ratio"));
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compare");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e:?}"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e:?}"));
    path
}

#[test]
fn tierlab_compare_json_says_b_better_on_p99() {
    let a = temp_file(
        "round-robin.ron",
        &layout::to_ron(&with_algorithm(LbAlgorithm::RoundRobin)),
    );
    let a = a.to_string_lossy();
    let args = [
        "compare",
        &a,
        "saves/least-connections.ron",
        "--seconds",
        "30",
        "--seed",
        "11",
        "--replications",
        "5",
        "--json",
    ];
    let o = Command::new(env!("CARGO_BIN_EXE_tierlab"))
        .args(args)
        .current_dir(check::repo(""))
        .output()
        .unwrap_or_else(|e| panic!("{e:?}"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e:?}"));
    let rows = v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("rows is a list: {v}"));
    let p99 = check::row(rows, "a p99 row", |r| r["metric"] == "latency_p99_ms");
    assert_eq!(p99["verdict"], "b_better");
    assert!(
        p99["change"]["ci95_high"].as_f64().unwrap_or(f64::NAN) < 0.0,
        "{p99}"
    );
    assert!(p99["b"].as_f64().unwrap_or(f64::NAN) < p99["a"].as_f64().unwrap_or(f64::NAN));
    assert_eq!(p99["per_seed"].as_array().map(Vec::len), Some(5));
    // The headline figures of the issue are all there.
    for m in [
        "throughput_rps",
        "latency_p50_ms",
        "latency_p99_ms",
        "failure_share",
        "sessions_lost",
        "cost_usd_per_hour",
    ] {
        check::row(rows, m, |r| r["metric"] == m);
    }
    // Refusals are messages, not panics.
    let bad = Command::new(env!("CARGO_BIN_EXE_tierlab"))
        .args(["compare", "mm4.ron", "mm4.ron", "--replications", "0"])
        .output()
        .unwrap_or_else(|e| panic!("{e:?}"));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.starts_with("error: --replications"),
        "{err}"
    );
}

#[test]
fn the_window_compares_a_layout_with_a_copy_given_one_more_member() {
    use crate::window;
    use egui_kittest::kittest::Queryable as _;

    let mut h = window::open("compare", Some(shipped("least-connections.ron")), 20);
    h.get_by_label("Study").click();
    h.run();
    h.get_by_label("Compare…").click();
    h.run();
    // B starts as a copy; one more member in B's app pool is the change.
    h.get_by_label("+1").click();
    h.run();
    let count = |l: &Layout| {
        l.nodes.iter().find_map(|n| match &n.kind {
            NodeKind::AppServer(p) => Some(p.count),
            _ => None,
        })
    };
    let view = h
        .state()
        .compare_view()
        .unwrap_or_else(|| panic!("no split view"));
    assert_eq!(
        (count(&view.a.layout), count(&view.b.layout)),
        (Some(4), Some(5))
    );
    // The split view: both canvases named, A and B.
    h.get_by_label("A · Least connections");
    h.get_by_label("B · Least connections (B)");
    h.get_by_label("Play both").click();
    window::frames(&mut h, 30);
    let view = h
        .state()
        .compare_view()
        .unwrap_or_else(|| panic!("no split view"));
    let now = |t: &tierlab::app::compare::Twin| t.run.sim.as_ref().map(|s| s.now_ns());
    // Both twins advance together: 30 frames of 20 ticks of 1 ms.
    assert_eq!(now(&view.a), Some(600_000_000));
    assert_eq!(now(&view.a), now(&view.b));
    // The diff table of this run, and the overlaid plots' legend entries.
    h.get_by_label("This run (one seed)");
    assert!(
        h.query_all_by_label("p99 latency (ms)").count() >= 2,
        "table row and plot title"
    );
    // Replications run as a job with a progress bar, then the verdicts appear.
    h.get_by_label("Pause both").click();
    h.run();
    if let Some(v) = h.state_mut().compare_view_mut() {
        v.replications = 2;
        v.seconds = 2.0;
    }
    h.get_by_label("Run replications").click();
    for _ in 0..600 {
        h.step();
        if h.state()
            .compare_view()
            .is_some_and(|v| v.result().is_some())
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.run();
    let view = h
        .state()
        .compare_view()
        .unwrap_or_else(|| panic!("no split view"));
    let result = view
        .result()
        .unwrap_or_else(|| panic!("the study never finished"));
    let rows = &result.as_ref().unwrap_or_else(|e| panic!("{e}")).rows;
    // One more member costs more, in every seed: outside the noise.
    let cost = check::row(rows, "a cost row", |r| r.metric == "cost_usd_per_hour");
    assert_eq!(cost.verdict, Verdict::BWorse);
    h.get_by_label("Verdict");
    h.get_by_label("Close comparison").click();
    h.run();
    assert!(h.state().compare_view().is_none());
}
