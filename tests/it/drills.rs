//! Design drills (issue 16): every shipped drill's passing and failing answer (tests/drills/)
//! graded through `tierlab drill`, a folder graded one line per file for a teacher, and the
//! report's new figure, what one shard's death makes unavailable, against a run that kills it.

use std::path::PathBuf;
use std::process::Output;

use tierlab::drill;
use tierlab::layout::{self, NodeId, Scripted};
use tierlab::report::{self, RunConfig};

use crate::check::{self, tierlab};

/// The answers shipped with the tests: (drill name, file, should pass).
pub fn answers() -> Vec<(String, PathBuf, bool)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(check::repo("tests/drills"))
        .unwrap_or_else(|e| panic!("tests/drills: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            // `2-read-ladder.pass.ron`: drill 2, should pass.
            let mut parts = name.split('.');
            let drill = parts.next().unwrap_or_default();
            let number = drill.split('-').next().unwrap_or_default().to_string();
            let pass = parts.next() == Some("pass");
            (number, p, pass)
        })
        .collect()
}

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn every_drill_ships_with_a_passing_and_a_failing_answer() {
    let shipped = drill::shipped();
    assert_eq!(shipped.len(), tierlab::shipped::DRILLS.len(), "all load");
    let answers = answers();
    for d in &shipped {
        let n = drill::number(d.file)
            .unwrap_or_else(|| panic!("{}: no number", d.file))
            .to_string();
        for should in [true, false] {
            assert!(
                answers.iter().any(|(d, _, p)| *d == n && *p == should),
                "drill {n} has no answer that should {}",
                if should { "pass" } else { "fail" }
            );
        }
    }
}

#[test]
fn tierlab_drill_passes_the_passing_answers_and_fails_the_failing_ones() {
    for (drill, file, should_pass) in answers() {
        let path = file.to_string_lossy().to_string();
        let o = tierlab(&["drill", &drill, &path, "--json"]);
        let g = json_of(&o);
        assert_eq!(g["passed"], should_pass, "{path}: {g:#}");
        // The exit code says it too, for a teacher's script.
        assert_eq!(
            o.status.code(),
            Some(if should_pass { 0 } else { 1 }),
            "{path}"
        );
        let checks = g["checks"].as_array().cloned().unwrap_or_default();
        assert!(!checks.is_empty(), "{path}: no target checked");
        if !should_pass {
            let missed: Vec<&serde_json::Value> =
                checks.iter().filter(|c| c["met"] == false).collect();
            assert!(!missed.is_empty(), "{path}");
            // Each missed target says where: a node of the answer is named.
            let l = layout::from_ron(&std::fs::read_to_string(&file).unwrap_or_default())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            for c in missed {
                let detail = c["detail"].as_str().unwrap_or_default();
                assert!(
                    l.nodes.iter().any(|n| detail.contains(&n.name)) || c["metric"] == "shard_loss",
                    "{path}: {detail}"
                );
            }
        }
    }
}

#[test]
fn drill_1s_failing_answer_is_told_its_one_server_is_over_the_limit() {
    // Twice 80 % is 160 %: the one server cannot hold it (theory), and the grade names it.
    let o = tierlab(&["drill", "warm-up", "tests/drills/1-warm-up.fail.ron"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("NOT YET"), "{out}");
    assert!(
        out.contains("[MISSED] cpu_utilization of every app_server <= 0.7: over the limit: app at"),
        "{out}"
    );
}

#[test]
fn drill_3s_failing_answer_is_told_its_one_balancer_is_a_single_point_of_failure() {
    let g = json_of(&tierlab(&[
        "drill",
        "balancer-spof",
        "tests/drills/3-balancer-spof.fail.ron",
        "--json",
    ]));
    let spof = g["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["metric"] == "single_points"))
        .unwrap_or_else(|| panic!("{g:#}"));
    assert_eq!(spof["met"], false);
    // One balancer in front of everything: its death fails every request (theory: nothing
    // else can reach the servers).
    assert!(spof["value"].as_f64().is_some_and(|v| v > 0.99), "{spof}");
    assert!(
        spof["detail"]
            .as_str()
            .is_some_and(|d| d.contains("lb's death")),
        "{spof}"
    );
}

#[test]
fn drill_2s_grade_names_the_rungs_each_answer_used() {
    let rungs = |file: &str| -> Vec<String> {
        let g = json_of(&tierlab(&["drill", "read-ladder", file, "--json"]));
        g["rungs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_else(|| panic!("{file}: no rungs: {g:#}"))
    };
    assert_eq!(
        rungs("tests/drills/2-read-ladder.pass.ron"),
        ["cache", "replicas"]
    );
    assert_eq!(rungs("tests/drills/2-read-ladder.fail.ron"), ["replicas"]);
}

#[test]
fn a_teacher_grades_a_folder_one_line_per_file() {
    let o = tierlab(&["drill", "4", "tests/drills"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), answers().len(), "{out}");
    // Against drill 4 only its own passing answer passes: the others send other traffic.
    let passed: Vec<&&str> = lines.iter().filter(|l| l.contains(": passed")).collect();
    assert_eq!(passed.len(), 1, "{out}");
    assert!(passed[0].contains("4-write-shards.pass.ron"), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("1-warm-up.pass.ron: not yet (missed: qps")),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn an_unknown_drill_lists_the_shipped_ones() {
    let o = tierlab(&["drill", "no-such", "tests/drills/1-warm-up.pass.ron"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("warm-up") && err.contains("write-shards"),
        "{err}"
    );
}

/// The share of requests that fail while `shard` is down, measured: kill it at 10 s and count
/// the failures of the requests that arrive from 11 s to 21 s.
fn measured_loss(file: &str, shard: &str) -> f64 {
    let mut l = shipped(file);
    let id: NodeId = l
        .node_named(shard)
        .map(|n| n.id)
        .unwrap_or_else(|| panic!("{shard}"));
    l.script.push(Scripted {
        at_s: 10.0,
        command: layout::Command::Kill(layout::Target::node(id)),
    });
    let config = RunConfig {
        seconds: 10.0,
        warmup_s: 11.0,
        ..Default::default()
    };
    let sim = report::run(&l, &config).unwrap_or_else(|p| panic!("{p:?}"));
    let r = report::run_json(&sim, config.warmup_s);
    r.requests.failed as f64 / (r.requests.completed + r.requests.failed) as f64
}

fn shipped(file: &str) -> layout::Layout {
    let text = tierlab::shipped::find(file).unwrap_or_else(|| panic!("{file}"));
    layout::from_ron(text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn shard_loss_of(file: &str) -> Vec<report::ShardLossJson> {
    let config = RunConfig {
        seconds: 10.0,
        ..Default::default()
    };
    let sim = report::run(&shipped(file), &config).unwrap_or_else(|p| panic!("{p:?}"));
    report::run_json(&sim, 0.0).shard_loss
}

#[test]
fn shard_loss_in_the_report_is_what_a_shards_death_makes_fail() {
    let loss = shard_loss_of("shards.ron");
    assert_eq!(loss.len(), 4, "four shards");
    let keys: f64 = loss.iter().map(|s| s.keys_share).sum();
    assert!(
        (keys - 1.0).abs() < 1e-9,
        "the shares of keys add up to all keys"
    );
    for s in &loss {
        // Uniform keys: a shard's share of requests is its share of keys (binomial noise).
        assert!(
            (s.requests_share - s.keys_share).abs() < 0.02,
            "{}: {} vs {}",
            s.shard,
            s.requests_share,
            s.keys_share
        );
        // The independent measurement: kill the shard and count what fails.
        let measured = measured_loss("shards.ron", &s.shard);
        assert!(
            (measured - s.keys_share).abs() < 0.02,
            "{} down: the figure says {} but {measured} failed",
            s.shard,
            s.keys_share
        );
    }
}

#[test]
fn a_hot_key_puts_more_of_the_requests_than_of_the_keys_on_one_shard() {
    let loss = shard_loss_of("shards-hot-key.ron");
    let hot = loss
        .iter()
        .max_by(|a, b| a.requests_share.total_cmp(&b.requests_share))
        .unwrap_or_else(|| panic!("no shard"));
    assert!(
        hot.requests_share > 1.5 * hot.keys_share,
        "{}: {} of requests, {} of keys",
        hot.shard,
        hot.requests_share,
        hot.keys_share
    );
}

#[test]
fn a_layout_without_a_shard_router_has_no_shard_loss_in_its_report() {
    let sim = report::run(
        &shipped("mm4.ron"),
        &RunConfig {
            seconds: 1.0,
            ..Default::default()
        },
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let json = serde_json::to_value(report::run_json(&sim, 0.0)).unwrap_or_default();
    assert!(json.get("shard_loss").is_none(), "{json}");
}
