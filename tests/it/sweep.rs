//! Capacity sweeps (`tierlab sweep`), as a user runs them: every point is the same run as a
//! separate `tierlab run` of that variant, the CSV has a row per point, and bad axes are
//! refused naming the bad part.

use std::path::PathBuf;
use std::process::Output;

use egui_kittest::kittest::{NodeT as _, Queryable as _};
use serde_json::Value;
use tierlab::layout::{self, NodeKind};

use crate::check::{self, tierlab};

fn ok_stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    let out = ok_stdout(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sweep");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// three-tier.ron with the client's rate and app-a's workers set by hand (not through the
/// parameter table the sweep uses).
fn three_tier_with(qps: f64, workers: u32) -> String {
    let text = std::fs::read_to_string(check::repo("saves/three-tier.ron"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut l = check::parse(&text);
    for n in &mut l.nodes {
        match (&mut n.kind, n.name.as_str()) {
            (NodeKind::Client(c), "clients") => c.qps = qps,
            (NodeKind::AppServer(a), "app-a") => a.workers = workers,
            _ => {}
        }
    }
    layout::to_ron(&l)
}

#[test]
fn a_sweeps_points_equal_separate_runs_of_each_variant() {
    let o = tierlab(&[
        "sweep",
        "three-tier.ron",
        "--set",
        "clients.qps=2000..6000:2000",
        "--set",
        "app-a.workers=1..8:7",
        "--seconds",
        "2",
        "--seed",
        "5",
        "--json",
    ]);
    let sweep = json(&o);
    let points = sweep["points"]
        .as_array()
        .unwrap_or_else(|| panic!("points: {sweep:#}"));
    // The grid in order: the first axis slowest.
    let expected: Vec<(f64, u32)> = [2000.0, 4000.0, 6000.0]
        .iter()
        .flat_map(|&q| [(q, 1), (q, 8)])
        .collect();
    assert_eq!(points.len(), expected.len());
    let mut p99s = Vec::new();
    for (p, &(qps, workers)) in points.iter().zip(&expected) {
        assert_eq!(p["values"], serde_json::json!([qps, f64::from(workers)]));
        let file = temp_file(
            &format!("three-tier-{qps}-{workers}.ron"),
            &three_tier_with(qps, workers),
        );
        let path = file.to_string_lossy().into_owned();
        let run = json(&tierlab(&[
            "run",
            &path,
            "--seconds",
            "2",
            "--seed",
            "5",
            "--json",
        ]));
        assert_eq!(p["run"], run, "point qps {qps}, workers {workers}");
        assert_eq!(p["p99_ms"], run["latency_ms"]["p99"]);
        assert_eq!(p["cost_usd_per_hour"], run["cost_usd_per_hour"]);
        p99s.push(run["latency_ms"]["p99"].as_f64().unwrap_or(f64::NAN));
    }
    // The variants really differ: one worker at 6000 requests per second is far slower than
    // eight at 2000, so equal reports above are not the same run six times.
    assert!(p99s[4] > 2.0 * p99s[1], "p99s {p99s:?}");
    // Each curve (p99 against the rate, workers fixed) lists its three points.
    let curves = sweep["curves"].as_array().map_or(0, Vec::len);
    assert_eq!(curves, 2, "{:#}", sweep["curves"]);
}

#[test]
fn the_csv_has_a_header_and_a_row_per_point() {
    let o = tierlab(&[
        "sweep",
        "mm4.ron",
        "--set",
        "app.workers=4..7:1",
        "--seconds",
        "1",
        "--csv",
    ]);
    let out = ok_stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "app.workers,p99_ms,failure_share,failed,throughput_rps,cost_usd_per_hour,knee"
    );
    assert_eq!(lines.len(), 5, "{out}");
    let workers: Vec<&str> = lines[1..]
        .iter()
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(workers, ["4", "5", "6", "7"]);
}

#[test]
fn bad_axes_are_refused_naming_the_bad_part() {
    let cases: [(&str, &str); 5] = [
        ("application.count=1..2", "no node named `application`"),
        ("app.workerz=1..2", "no parameter `workerz`"),
        ("app.workers=0..4:1", "workers = 0 is out of range"),
        ("app.workers=4..2:1", "TO (2) is less than FROM (4)"),
        ("app.workers=1..4:0", "STEP must be more than 0"),
    ];
    for (set, says) in cases {
        let o = tierlab(&["sweep", "mm4.ron", "--set", set, "--seconds", "1"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{set} must be refused");
        assert!(!err.contains("panicked"), "{set}: {err}");
        assert!(err.contains(says), "{set}: expected `{says}` in: {err}");
    }
}

// ----- The window: the sweep dialog, and theory beside the run in the inspector. -----

/// The text of the first widget whose label contains `part`.
fn label_containing(h: &egui_kittest::Harness<'_, tierlab::app::TierlabApp>, part: &str) -> String {
    let node = h
        .query_by_label_contains(part)
        .unwrap_or_else(|| panic!("no label containing `{part}`"));
    let n = node.accesskit_node();
    n.label()
        .filter(|l| !l.is_empty())
        .or_else(|| n.value())
        .unwrap_or_default()
}

#[test]
fn the_sweep_dialog_runs_a_small_sweep_and_plots_it() {
    let text = std::fs::read_to_string(check::repo("saves/three-tier.ron"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut h = crate::window::open("sweep-dialog", Some(check::parse(&text)), 10);
    h.get_by_label("Study").click();
    h.run();
    h.get_by_label("Capacity sweep…").click();
    h.run();
    // The dialog suggests a sweep of the client's rate; make it small and short.
    assert!(label_containing(&h, "Run the layout once per value").contains("NODE"));
    {
        let w = h.state_mut().sweep_window();
        assert_eq!(w.axis, "clients.qps=1500..9000:1500");
        w.axis = "clients.qps=2000..8000:2000".into();
        w.seconds = 1.0;
    }
    h.get_by_label("Run sweep").click();
    for _ in 0..600 {
        h.step();
        if !h.state_mut().sweep_window().running() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run();
    let points = h
        .state_mut()
        .sweep_window()
        .result()
        .map(|s| s.points.iter().map(|p| p.values[0]).collect::<Vec<_>>());
    assert_eq!(points, Some(vec![2000.0, 4000.0, 6000.0, 8000.0]));
    assert!(label_containing(&h, "p99 and cost against").contains("clients.qps"));
    // A worker is held for its 2 ms of CPU and its database call (about 1.6 ms more with the
    // wires), so 3 x 8 workers serve at most about 24 / 3.6 ms = 6,700 requests per second:
    // 8000 overloads them and the curve bends after 6000, the last point under the ceiling.
    let knee = label_containing(&h, "Knee at clients.qps");
    assert!(knee.starts_with("Knee at clients.qps = 6000:"), "{knee}");
}

/// Erlang's C formula, written here apart from the library: P(wait) in M/M/c offered `a`
/// erlangs, from the sum of a^k/k!.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let waiting = term * f64::from(c) / (f64::from(c) - a);
    waiting / (sum + waiting)
}

/// The number in `… : 1.234 ms`.
fn ms_in(label: &str) -> f64 {
    let after = label.rsplit(": ").next().unwrap_or_default();
    after
        .trim_end_matches(" ms")
        .parse()
        .unwrap_or_else(|e| panic!("no number in `{label}`: {e}"))
}

#[test]
fn the_inspector_shows_erlang_c_for_mm4_and_the_measured_wait_agrees() {
    let text =
        std::fs::read_to_string(check::repo("saves/mm4.ron")).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = Vec::new();
    for seed in check::SEEDS {
        let mut l = check::parse(&text);
        l.seed = seed;
        // 10 simulated seconds a frame; 600 s in all: the wait's mean at load 0.9 is noisy
        // (a busy period lasts hundreds of calls), about 2 % standard error after 600 s.
        let mut h = crate::window::open("theory", Some(l), 10_000);
        let at = h.get_by_label("app").rect().center();
        crate::window::click_at(&mut h, at);
        h.state_mut().play();
        crate::window::frames(&mut h, 60);
        h.get_by_label("Pause").click();
        h.run();
        let m = crate::window::sim(&h).metrics();
        let app = check::node_named(&m, "app");
        // λ per ms from the run's own count; c = 4 workers; mean service 1 ms (mm4.ron).
        let lambda = app.calls as f64 / m.measured_s / 1e3;
        let a = lambda * 1.0;
        let expected_ms = erlang_c(4, a) / (4.0 - a);
        let shown = label_containing(&h, "Predicted wait (M/M/c Erlang C)");
        assert!(
            (ms_in(&shown) - expected_ms).abs() <= 0.0005 + 1e-9,
            "seed {seed}: shown `{shown}`, Erlang C here {expected_ms:.5} ms"
        );
        assert!(
            h.query_by_label_contains("Note:").is_none(),
            "mm4 fits M/M/c: no assumption is broken"
        );
        let measured = ms_in(&label_containing(&h, "Measured wait"));
        rows.push(check::Row {
            case: "mm4 wait in the inspector".into(),
            seed,
            figure: "Wq ms",
            measured,
            expected: expected_ms,
            tolerance: 0.05,
        });
        // L and λW side by side: Little's law between two separate measurements.
        let little = label_containing(&h, "L (mean waiting)");
        let nums: Vec<f64> = little
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(nums.len(), 2, "{little}");
        assert!((nums[0] - nums[1]).abs() <= 0.02 * nums[0], "{little}");
    }
    check::assert_rows("mm4: measured wait against Erlang C", &rows);
}

// ----- The capacity planner. -----

/// P(response > t) in M/M/c (first come, first served), written here apart from the library:
/// no wait with probability 1 - C (response = service), else an Exp(cμ - λ) wait first.
fn mmc_tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let p_wait = erlang_c(c, lambda / mu);
    let theta = f64::from(c) * mu - lambda;
    let served = (-mu * t).exp();
    // P(Exp(θ) + Exp(μ) > t): hypoexponential, or Erlang-2 when θ = μ.
    let both = if (theta - mu).abs() < 1e-12 {
        (-mu * t).exp() * (1.0 + mu * t)
    } else {
        (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - p_wait) * served + p_wait * both
}

#[test]
fn the_planner_asks_for_the_fewest_servers_theory_allows_and_a_run_confirms_it() {
    // mm4.ron's app: 4 workers, exponential 1 ms service. At 6000 requests per second and a
    // p99 under 5 ms, find the fewest servers here by scanning the tail at 5 ms.
    let (qps, target) = (6000.0, 5.0);
    let fewest = (1..=16u32)
        .find(|&n| {
            let lambda = qps / f64::from(n) / 1e3;
            lambda < 4.0 && mmc_tail(4, lambda, 1.0, target) <= 0.01
        })
        .unwrap_or_else(|| panic!("no size up to 16"));
    let o = tierlab(&[
        "plan",
        "mm4.ron",
        "--node",
        "app",
        "--p99-ms",
        "6",
        "--qps",
        "6000",
        "--seconds",
        "20",
        "--json",
    ]);
    let a = json(&o);
    assert_eq!(a["servers"], serde_json::json!(fewest), "{a:#}");
    // One server fewer misses in theory: the answer is the fewest, not just enough.
    let lambda = qps / f64::from(fewest - 1) / 1e3;
    assert!(lambda >= 4.0 || mmc_tail(4, lambda, 1.0, target) > 0.01);
    assert_eq!(a["confirmed"]["met"], serde_json::json!(true), "{a:#}");
    let p99 = a["confirmed"]["p99_ms"].as_f64().unwrap_or(f64::NAN);
    assert!(p99 <= target, "the run's p99 {p99} ms");
    // The run really had that many servers at that rate.
    let apps = a["confirmed"]["run"]["nodes"]
        .as_array()
        .map_or(0, |n| n.iter().filter(|n| n["node"] == 1).count());
    assert_eq!(apps, fewest as usize);
}
