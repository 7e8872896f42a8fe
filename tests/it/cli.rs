//! The real binary, as a user runs it: the JSON report's documented fields, replications with
//! intervals, and clear refusals (never a panic) for broken files and absurd arguments.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::check::tierlab;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refusal: a non-zero exit, a message on stderr, and no panic.
fn assert_refused(args: &[&str]) -> String {
    let o = tierlab(args);
    let err = stderr(&o);
    assert!(!o.status.success(), "{args:?} must fail: {}", stdout(&o));
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    err
}

/// Write `text` to a fresh file under the test's temporary folder.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn num(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{path} is a number in {v:#}"))
}

#[test]
fn run_json_has_the_documented_fields() {
    let r = json(&tierlab(&[
        "run",
        "saves/mm4.ron",
        "--seconds",
        "5",
        "--json",
    ]));
    assert_eq!(r["seed"], 7);
    assert_eq!(num(&r, "simulated_seconds"), 5.0);
    let [arrived, completed, failed, in_flight] = ["arrived", "completed", "failed", "in_flight"]
        .map(|k| {
            r["requests"][k]
                .as_u64()
                .unwrap_or_else(|| panic!("requests.{k} is a count: {r:#}"))
        });
    assert_eq!(arrived, completed + failed + in_flight);
    assert_eq!(failed, 0);
    assert!(
        r["failures"].as_object().is_some_and(|f| f.is_empty()),
        "{r:#}"
    );
    // M/M/4 at 3600 requests per second, load 0.9.
    let throughput = num(&r, "throughput_rps");
    assert!((3300.0..3900.0).contains(&throughput), "{throughput}");
    let lat = ["mean", "p50", "p95", "p99", "max"].map(|k| num(&r, &format!("latency_ms.{k}")));
    assert!(lat[0] > 1.0 && lat[0] < 5.0, "mean {lat:?}");
    assert!(
        lat[1] <= lat[2] && lat[2] <= lat[3] && lat[3] <= lat[4],
        "{lat:?}"
    );

    let Some(nodes) = r["nodes"].as_array() else {
        panic!("nodes is a list: {r:#}");
    };
    let names: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap_or(""),
                n["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(names, [("clients", "client"), ("app", "app_server")]);
    for n in nodes {
        assert!(n["id"].is_string(), "{n:#}");
        for k in [
            "served",
            "failed",
            "cpu_utilization",
            "worker_utilization",
            "mean_queue",
            "max_queue",
        ] {
            assert!(n[k].is_number(), "nodes[].{k} in {n:#}");
        }
    }
    let app = &nodes[1];
    assert!(
        (0.8..0.97).contains(&num(app, "cpu_utilization")),
        "{app:#}"
    );
    assert!(
        app["served"].as_u64().is_some_and(|s| s > 10_000),
        "{app:#}"
    );

    let Some(goals) = r["goals"].as_array() else {
        panic!("goals is a list: {r:#}");
    };
    assert_eq!(goals.len(), 1);
    assert_eq!(goals[0]["metric"], "latency_p99_ms");
    assert_eq!(num(&goals[0], "at_most"), 15.0);
    assert_eq!(num(&goals[0], "value"), lat[3]);
    assert_eq!(goals[0]["met"], lat[3] <= 15.0);
}

#[test]
fn replications_give_confidence_intervals() {
    let r = json(&tierlab(&[
        "run",
        "saves/mm4.ron",
        "--seconds",
        "3",
        "--replications",
        "4",
        "--json",
    ]));
    assert_eq!(r["replications"], 4);
    assert_eq!(r["seeds"], serde_json::json!([7, 8, 9, 10]));
    assert_eq!(r["runs"].as_array().map(Vec::len), Some(4));
    for figure in [
        "throughput_rps",
        "failure_share",
        "latency_ms.mean",
        "latency_ms.p50",
        "latency_ms.p95",
        "latency_ms.p99",
    ] {
        let [mean, low, high, half] = ["mean", "ci95_low", "ci95_high", "half_width"]
            .map(|k| num(&r, &format!("{figure}.{k}")));
        assert!(low <= mean && mean <= high, "{figure}: {low} {mean} {high}");
        assert!((high - low - 2.0 * half).abs() < 1e-9 * high.abs().max(1.0));
    }
    // Four different seeds never give the same throughput, so the interval has a width.
    assert!(num(&r, "throughput_rps.half_width") > 0.0);
    assert!((3300.0..3900.0).contains(&num(&r, "throughput_rps.mean")));
}

#[test]
fn check_reports_a_broken_file_by_node_name() {
    let path = temp_file(
        "broken.ron",
        r#"(nodes: [
            (id: 1, name: "front door", kind: client(qps: -3)),
            (id: 2, name: "orders db", kind: database()),
            (id: 3, name: "edge lb", kind: load_balancer()),
        ], wires: [(from: 1, to: 3), (from: 2, to: 3)])"#,
    );
    let file = path.to_string_lossy().into_owned();
    let o = tierlab(&["check", &file]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(
        out.contains("error: front door: qps = -3 is out of range"),
        "{out}"
    );
    assert!(
        out.contains("error: wire orders db -> edge lb: a database cannot call anything"),
        "{out}"
    );
    assert!(
        out.contains("warning: edge lb: the balancer has no backends"),
        "{out}"
    );
    assert!(out.contains("2 error(s), 1 warning(s)"), "{out}");
    // `run` refuses it too, with the same problems.
    let err = assert_refused(&["run", &file, "--seconds", "1"]);
    assert!(err.contains("the layout cannot run"), "{err}");
    assert!(err.contains("front door"), "{err}");
}

#[test]
fn check_passes_a_shipped_layout() {
    let o = tierlab(&["check", "saves/three-tier.ron"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 error(s)"), "{}", stdout(&o));
}

#[test]
fn missing_and_malformed_files_are_refused_clearly() {
    for cmd in ["check", "run"] {
        let err = assert_refused(&[cmd, "no/such/layout.ron"]);
        assert!(err.contains("no/such/layout.ron: no such file"), "{err}");
        assert!(err.contains("mm4.ron"), "lists the shipped layouts: {err}");
    }
    let path = temp_file(
        "malformed.ron",
        "(\n  nodes: [\n    (id: 1, name: \"users\", kind: client(qps: 10),\n  ],\n)\n",
    );
    let file = path.to_string_lossy().into_owned();
    for cmd in ["check", "run"] {
        let err = assert_refused(&[cmd, &file]);
        // `file:line:column: ...` so an editor can jump there.
        assert!(err.contains(&format!("{file}:4:")), "{err}");
    }
    let path = temp_file("newer.ron", "(version: 5, nodes: [])");
    let err = assert_refused(&["check", &path.to_string_lossy()]);
    assert!(
        err.contains("newer.ron: the file has format version 5"),
        "{err}"
    );
}

#[test]
fn absurd_arguments_are_refused_clearly() {
    for bad in ["-1", "nan", "0", "inf", "1e300"] {
        let err = assert_refused(&["run", "saves/mm4.ron", "--seconds", bad]);
        assert!(
            err.contains("--seconds must be more than 0"),
            "{bad}: {err}"
        );
    }
    for bad in ["-2", "nan"] {
        let err = assert_refused(&["run", "saves/mm4.ron", "--warmup", bad]);
        assert!(err.contains("--warmup must be from 0"), "{bad}: {err}");
    }
    let err = assert_refused(&["run", "saves/mm4.ron", "--replications", "0"]);
    assert!(err.contains("--replications must be from 1"), "{err}");
    let err = assert_refused(&["run", "saves/mm4.ron", "--seconds", "ten"]);
    assert!(err.contains("'ten'") && err.contains("--seconds"), "{err}");
}
