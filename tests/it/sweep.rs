//! Capacity sweeps (`tierlab sweep`), as a user runs them: every point is the same run as a
//! separate `tierlab run` of that variant, the CSV has a row per point, and bad axes are
//! refused naming the bad part.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use tierlab::layout::{self, NodeKind};

use crate::check;

fn tierlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierlab"))
        .args(args)
        .current_dir(check::repo(""))
        .output()
        .unwrap_or_else(|e| panic!("cannot start tierlab: {e}"))
}

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
