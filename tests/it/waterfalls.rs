//! Request waterfalls and the slowest requests: the ids the core keeps are the slowest (against
//! every request of a run traced at 100 %), a replay traces exactly them, their waterfalls add
//! up to the latency the client measured, and `tierlab run --traces` writes them as JSON lines.

use std::process::Command;

use serde_json::Value;
use tierlab::layout::Layout;
use tierlab::sim::{Outcome, Sim, SimConfig, TraceConfig};
use tierlab::study::Progress;
use tierlab::study::waterfall::{self, BarKind, Waterfall};

use egui_kittest::kittest::Queryable as _;

use crate::check;

/// A client that retries its own calls: 4 ms timeouts, 2 retries after 3 ms, to one server of
/// 2 workers on one core at 70 % load, so some requests wait, some time out and some are retried.
const RETRYING: &str = r#"(
    version: 1, name: "retrying client", seed: 5, tick_ms: 1.0,
    nodes: [
        (id: 0, name: "users", pos: (x: 0, y: 0), kind: client(qps: 350)),
        (id: 1, name: "app", pos: (x: 300, y: 0), kind: app_server(workers: 2, service_ms: 2.0)),
    ],
    wires: [(from: 0, to: 1, latency_ms: 0.5, timeout_ms: 8, retries: 2, backoff_ms: 3)],
)"#;

fn shipped(name: &str) -> Layout {
    let text = std::fs::read_to_string(check::repo(&format!("saves/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    check::parse(&text)
}

fn config(seed: u64, every: u64, capacity: usize) -> SimConfig {
    SimConfig {
        seed: Some(seed),
        warmup_s: 0.0,
        trace: TraceConfig {
            every,
            capacity,
            keep_ns: 0,
        },
    }
}

/// Run `layout` for `seconds` with every request traced.
fn traced_run(layout: &Layout, seed: u64, seconds: f64) -> Sim {
    let mut sim = Sim::new(layout, config(seed, 1, 1_000_000)).unwrap_or_else(|e| panic!("{e:?}"));
    sim.run_until_s(seconds);
    sim
}

/// (latency, id) of every request a fully traced run completed, slowest first, earliest of a tie.
fn completed_by_latency(sim: &Sim) -> Vec<(u64, u64)> {
    let mut all: Vec<(u64, u64)> = (sim.traces().done.iter())
        .filter(|t| matches!(t.outcome, Some(Outcome::Read | Outcome::Write)))
        .filter_map(|t| Some((t.end_ns? - t.born_ns, t.request_id)))
        .collect();
    all.sort_by_key(|&(lat, id)| (std::cmp::Reverse(lat), id));
    all
}

#[test]
fn the_slowest_ids_are_the_slowest_requests_of_a_run_traced_at_100_percent() {
    for (name, layout) in [
        ("three-tier.ron", shipped("three-tier.ron")),
        ("retrying", check::parse(RETRYING)),
    ] {
        let sim = traced_run(&layout, 11, 4.0);
        let all = completed_by_latency(&sim);
        assert!(all.len() > 1000, "{name}: {} requests", all.len());
        let kept: Vec<(u64, u64)> = (sim.slowest().iter())
            .map(|s| (s.latency_ns, s.request_id))
            .collect();
        assert_eq!(kept.len(), tierlab::sim::slowest::SLOWEST_MAX, "{name}");
        assert_eq!(kept, all[..kept.len()], "{name}");
    }
}

#[test]
fn each_plot_sample_keeps_its_slowest_request() {
    let layout = shipped("three-tier.ron");
    let sim = traced_run(&layout, 22, 3.0);
    let done = &sim.traces().done;
    let series = sim.series();
    let times: Vec<f32> = series.time_s.iter().collect();
    let slowest: Vec<_> = series.slowest_request.iter().collect();
    assert_eq!(times.len(), slowest.len());
    let mut prev_ns = 0u64;
    for (t, s) in times.iter().zip(&slowest) {
        let at_ns = (f64::from(*t) * 1e9).round() as u64;
        // Every request answered since the previous sample, from the full traces.
        let answered = done.iter().filter(|tr| {
            matches!(tr.outcome, Some(Outcome::Read | Outcome::Write))
                && tr.end_ns.is_some_and(|e| e > prev_ns && e <= at_ns)
        });
        let max = answered.map(|tr| tr.end_ns.unwrap_or(0) - tr.born_ns).max();
        assert_eq!(s.map(|s| s.latency_ns), max, "sample at {t} s");
        if let Some(s) = s {
            let tr = done.iter().find(|tr| tr.request_id == s.request_id);
            let lat = tr.and_then(|tr| Some(tr.end_ns? - tr.born_ns));
            assert_eq!(
                lat,
                Some(s.latency_ns),
                "sample at {t} s: the id is that request"
            );
        }
        prev_ns = at_ns;
    }
}

/// Replay `layout` for `seconds` untraced but for its slowest requests; their waterfalls and
/// the latencies their clients measured in the first run.
fn slowest_waterfalls(layout: &Layout, seed: u64, seconds: f64) -> Vec<(Waterfall, u64)> {
    let mut first = Sim::new(layout, config(seed, 0, 0)).unwrap_or_else(|e| panic!("{e:?}"));
    first.run_until_s(seconds);
    let slowest = first.slowest().to_vec();
    let ids: Vec<u64> = slowest.iter().map(|s| s.request_id).collect();
    let replay = waterfall::replay_traced(
        layout,
        config(seed, 0, 0),
        first.command_log(),
        first.now_ns(),
        &ids,
        &Progress::new(0),
    );
    let Ok(Ok(replay)) = replay else {
        panic!("the replay did not run")
    };
    assert_eq!(
        replay.metrics().requests,
        first.metrics().requests,
        "same run"
    );
    let picked = &replay.traces().picked;
    assert_eq!(picked.len(), ids.len(), "every slowest request traced");
    (slowest.iter())
        .map(|s| {
            let t = picked.iter().find(|t| t.request_id == s.request_id);
            let t = t.unwrap_or_else(|| panic!("request {} not traced", s.request_id));
            (waterfall::waterfall(t, &replay), s.latency_ns)
        })
        .collect()
}

#[test]
fn a_waterfalls_bars_add_up_to_the_latency_its_client_measured() {
    let cases = [
        ("three-tier.ron", shipped("three-tier.ron"), 5.0),
        ("retry-storm.ron", shipped("retry-storm.ron"), 22.0),
        ("retrying", check::parse(RETRYING), 5.0),
    ];
    for (name, layout, seconds) in cases {
        let falls = slowest_waterfalls(&layout, 33, seconds);
        for (w, measured_ns) in &falls {
            assert_eq!(
                w.client_ns(),
                *measured_ns,
                "{name}: request {}",
                w.request_id
            );
            assert_eq!(w.latency_ns, Some(*measured_ns), "{name}");
            for r in &w.rows {
                // Bars of a row follow each other without overlapping.
                for pair in r.bars.windows(2) {
                    assert!(pair[0].end_ns <= pair[1].start_ns, "{name}: {r:?}");
                }
            }
        }
        let kinds: Vec<BarKind> = (falls.iter())
            .flat_map(|(w, _)| w.rows.iter().flat_map(|r| r.bars.iter().map(|b| b.kind)))
            .collect();
        let has = |k: BarKind| kinds.contains(&k);
        match name {
            "three-tier.ron" => {
                for k in [
                    BarKind::Wire,
                    BarKind::Relay,
                    BarKind::Service,
                    BarKind::Database,
                ] {
                    assert!(has(k), "{name}: no {k:?} bar");
                }
            }
            "retry-storm.ron" => assert!(has(BarKind::Backoff), "{name}: no retry"),
            _ => {
                assert!(has(BarKind::Queue), "{name}: no queue wait");
                // The slowest requests here are those the client retried after a timeout.
                let retried = falls.iter().filter(|(w, _)| {
                    w.rows
                        .iter()
                        .any(|r| r.depth == 0 && r.timed_out_ns.is_some())
                        && w.rows.iter().any(|r| r.depth == 0 && r.attempt > 0)
                });
                assert!(
                    retried.count() > 0,
                    "{name}: no timed-out-then-retried request"
                );
            }
        }
    }
}

#[test]
fn run_traces_writes_json_lines_whose_slowest_matches_the_reports_max_latency() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("waterfalls");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("three-tier.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_tierlab"))
        .args([
            "run",
            "saves/three-tier.ron",
            "--seconds",
            "5",
            "--json",
            "--traces",
        ])
        .arg(&path)
        .current_dir(check::repo(""))
        .output()
        .unwrap_or_else(|e| panic!("cannot start tierlab: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let max_ms = report["latency_ms"]["max"].as_f64().unwrap_or(f64::NAN);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<Value> = (text.lines())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let ranked: Vec<&Value> = lines
        .iter()
        .filter(|l| l["slowest_rank"].is_u64())
        .collect();
    let sampled = lines.len() - ranked.len();
    assert_eq!(ranked.len(), tierlab::sim::slowest::SLOWEST_MAX);
    // 3000 requests a second for 5 s, one in 1000 sampled.
    assert!((10..=20).contains(&sampled), "{sampled} sampled traces");
    let first = ranked[0];
    assert_eq!(first["slowest_rank"], 1);
    let slowest_ms = first["latency_ms"].as_f64().unwrap_or(f64::NAN);
    // The report's maximum comes from a histogram of 3 significant figures.
    assert!(
        check::rel_err(max_ms, slowest_ms).abs() < 1e-3,
        "report max {max_ms} ms, slowest trace {slowest_ms} ms"
    );
    for l in &lines {
        let latency = l["latency_ms"].as_f64().unwrap_or(0.0);
        assert!(
            latency <= slowest_ms,
            "a sampled request slower than the slowest: {l}"
        );
        assert!(l["hops"].as_array().is_some_and(|h| !h.is_empty()), "{l}");
        assert!(
            l["decisions"].as_array().is_some_and(|d| !d.is_empty()),
            "{l}"
        );
        assert!(l["waterfall"]["rows"].is_array(), "{l}");
    }
    assert_eq!(first["hops"][0]["from"], "clients");
}

#[test]
fn clicking_a_dot_opens_its_requests_waterfall_with_its_hop_names() {
    use eframe::egui::Key;
    let mut h = crate::window::open("waterfall-dot", None, 20);
    h.key_press(Key::Space);
    crate::window::frames(&mut h, 30);
    h.key_press(Key::Space);
    crate::window::frames(&mut h, 2);
    assert!(!h.state().is_playing());
    assert!(h.query_by_label("Request waterfall").is_none());
    // A dot on its way down from the client: its waterfall starts with the client's hop.
    let dots = h.state().dots_on_screen().to_vec();
    let nodes: Vec<_> = ["client", "lb", "app", "cache", "db"]
        .iter()
        .flat_map(|n| h.query_all_by_label(n).map(|x| x.rect()))
        .collect();
    let sim = crate::window::sim(&h);
    // A dot between nodes (not under one, which would take the click), of a request that
    // reached the app.
    let on_first_wire = dots.iter().find(|(p, id)| {
        let mut t = sim
            .traces()
            .done
            .iter()
            .chain(sim.traces().open.iter().flatten());
        nodes.iter().all(|n| !n.expand(12.0).contains(*p))
            && t.any(|t| t.request_id == *id && t.hops.len() >= 4)
    });
    let Some(&(at, id)) = on_first_wire else {
        panic!(
            "no dot of a request that reached the app among {} dots",
            dots.len()
        )
    };
    crate::window::click_at(&mut h, at);
    // A new window is measured in its first frame and drawn in the next.
    crate::window::frames(&mut h, 2);
    assert!(
        h.query_by_label("Request waterfall").is_some(),
        "no waterfall window"
    );
    assert!(
        h.query_by_label_contains(&format!("Request {id}"))
            .is_some(),
        "the window shows another request"
    );
    for hop in ["client -> lb", "lb -> app"] {
        assert!(h.query_by_label_contains(hop).is_some(), "no row {hop}");
    }
    assert!(
        h.query_by_label_contains("ms from leaving the client")
            .is_some()
    );
}
