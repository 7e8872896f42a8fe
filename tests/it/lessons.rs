//! Lessons (issue 14): the shipped lessons of assets/ through the real binary, a teacher's own
//! lesson file played through in the window with pause points and a checkpoint, broken lesson
//! files refused with positioned errors, the scenario gallery and presentation mode, all
//! driven by pointer and key events.

use std::path::PathBuf;

use eframe::egui::{Event, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::TierlabApp;
use tierlab::layout::s_to_ns;

use crate::check::{self, tierlab};
use crate::window::{click_at, frames, open, sim};

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lessons");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn assets() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(check::repo("assets"))
        .unwrap_or_else(|e| panic!("assets/: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

#[test]
fn every_file_in_assets_passes_check_and_runs() {
    let files = assets();
    assert!(files.len() >= 8, "the issue's eight lessons: {files:?}");
    for f in &files {
        let name = f.to_string_lossy().to_string();
        assert!(name.ends_with(".lesson.ron"), "{name}");
        let o = tierlab(&["check", &name]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{name}: {out}");
        assert!(out.contains("0 error(s)"), "{name}: {out}");
        let o = tierlab(&["run", "--seconds", "3", "--json", &name]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{name}: {err}");
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{name}: not JSON ({e})"));
        let arrived = v["requests"]["arrived"].as_f64().unwrap_or(0.0);
        assert!(arrived > 0.0, "{name}: no request arrived");
    }
}

/// A client at 100 requests/s that a step stops at 5 s: `tierlab run` of the lesson counts
/// about 100 × 5 arrivals (Poisson: within four standard deviations, ±4√500 ≈ ±90), the
/// layout without the lesson about 100 × 10.
const STOPPING: &str = r#"(
    title: "Traffic stops",
    summary: "A step stops the client.",
    caption: "100 requests per second.",
    layout: inline(
        name: "one server",
        seed: 3,
        nodes: [
            (id: 0, name: "client", pos: (x: 0, y: 0), kind: client(qps: 100)),
            (id: 1, name: "app", pos: (x: 200, y: 0), kind: app_server(workers: 8, service_ms: 1.0)),
        ],
        wires: [(from: 0, to: 1, latency_ms: 1.0)],
    ),
    steps: [
        apply(at_s: 5, command: set_qps(node: 0, qps: 0), caption: "Traffic stops."),
    ],
)"#;

#[test]
fn tierlab_run_applies_a_lessons_timed_steps() {
    let path = temp_file("stopping.lesson.ron", STOPPING);
    let o = tierlab(&["run", "--seconds", "10", "--json", &path.to_string_lossy()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let arrived = v["requests"]["arrived"].as_f64().unwrap_or(0.0);
    assert!(
        (arrived - 500.0).abs() < 90.0,
        "arrived {arrived}, expected about 500"
    );
}

#[test]
fn a_broken_lesson_file_gets_a_positioned_error() {
    // Line 4 names an unknown field of the lesson.
    let text = "(\n    title: \"Broken\",\n    layout: shipped(\"mm4.ron\"),\n    stpes: [],\n)";
    let path = temp_file("broken.lesson.ron", text);
    let shown = path.to_string_lossy().to_string();
    let o = tierlab(&["check", &shown]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains(&format!("{shown}:4:")), "{err}");
    assert!(err.contains("stpes"), "{err}");

    // Well-formed, but the lesson part is wrong: each problem is named by its step.
    let text = r#"(title: "Wrong", layout: shipped("no-such.ron"), steps: [
        pause(at_s: -1, caption: "x"),
        predict(at_s: 5, question: "which?", measure: busiest_node, reveal_at_s: 2),
    ])"#;
    let path = temp_file("wrong.lesson.ron", text);
    let o = tierlab(&["check", &path.to_string_lossy()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("lesson step 0") && out.contains("at_s = -1"),
        "{out}"
    );
    assert!(
        out.contains("lesson step 1") && out.contains("two choices"),
        "{out}"
    );
    assert!(out.contains("reveal must come after"), "{out}");

    // The window refuses it the same way, with the same position.
    let broken = temp_file(
        "broken-window.lesson.ron",
        "(\n    title: \"Broken\",\n    layout: shipped(\"mm4.ron\"),\n    stpes: [],\n)",
    );
    let mut h = open("lesson-broken", None, 10);
    assert!(!h.state_mut().open_file(&broken));
    h.run();
    let msg = h.state().load_error().unwrap_or_default().to_string();
    assert!(msg.contains(":4:"), "{msg}");
    assert!(h.state().lesson_title().is_none());
}

/// A teacher's lesson: a step at 2 s that doubles the traffic, a pause point at 3 s and a
/// checkpoint at 4 s revealed at 6 s.
const TEACHER: &str = r#"// A hand-written lesson.
(
    version: 1,
    title: "Double the traffic",
    summary: "What doubling the load does to the tail.",
    caption: "One server pool at 200 requests per second.",
    layout: inline(
        name: "a pool",
        seed: 9,
        nodes: [
            (id: 0, name: "client", pos: (x: 0, y: 0), kind: client(qps: 200)),
            (id: 1, name: "app", pos: (x: 200, y: 0), kind: app_server(count: 2, workers: 2, service_ms: 5.0)),
        ],
        wires: [(from: 0, to: 1, latency_ms: 1.0)],
    ),
    steps: [
        apply(at_s: 2, command: set_qps(node: 0, qps: 400), caption: "Traffic doubles to 400 requests per second."),
        pause(at_s: 3, caption: "Look at the latency plot before going on."),
        predict(at_s: 4, question: "What will the p99 latency be?", measure: latency_p99_ms, reveal_at_s: 6),
    ],
)"#;

fn label_shown(h: &Harness<'_, TierlabApp>, text: &str) -> bool {
    h.query_by_label_contains(text).is_some()
}

fn now_ns(h: &Harness<'_, TierlabApp>) -> u64 {
    sim(h).now_ns()
}

/// Space, then frames until the run stops by itself (at most `max` frames).
fn play_until_stopped(h: &mut Harness<'_, TierlabApp>, max: usize) {
    h.key_press(Key::Space);
    for _ in 0..max {
        h.step();
        if !h.state().is_playing() {
            break;
        }
    }
    h.run();
}

#[test]
fn a_teachers_lesson_plays_through_its_steps_pause_point_and_checkpoint() {
    let path = temp_file("teacher.lesson.ron", TEACHER);
    let mut h = open("lesson-teacher", None, 50);
    assert!(h.state_mut().open_file(&path));
    h.run();
    assert_eq!(h.state().lesson_title(), Some("Double the traffic"));
    assert!(label_shown(&h, "One server pool at 200"));

    // Space plays to the pause point at exactly 3 s; the step at 2 s has changed the caption.
    play_until_stopped(&mut h, 200);
    assert_eq!(now_ns(&h), s_to_ns(3.0));
    assert!(label_shown(&h, "Look at the latency plot"));
    let tick_ns = sim(&h).tick_ns();
    let applied: Vec<u64> = sim(&h)
        .command_log()
        .iter()
        .map(|c| c.tick * tick_ns)
        .collect();
    assert_eq!(
        applied,
        vec![s_to_ns(2.0)],
        "the step at 2 s was applied once, at 2 s"
    );

    // Space plays on to the checkpoint at 4 s, which waits for a prediction.
    play_until_stopped(&mut h, 200);
    assert_eq!(now_ns(&h), s_to_ns(4.0));
    assert!(label_shown(&h, "What will the p99 latency be?"));
    h.key_press(Key::Space);
    frames(&mut h, 5);
    assert_eq!(now_ns(&h), s_to_ns(4.0), "no run before the prediction");

    // Type 7 into the field and commit.
    let field = h
        .get_by_role_and_label(
            eframe::egui::accesskit::Role::TextInput,
            "Your prediction, p99 latency (ms):",
        )
        .rect()
        .center();
    click_at(&mut h, field);
    h.event(Event::Text("7".into()));
    h.run();
    let commit = h.get_by_label("Commit prediction").rect().center();
    click_at(&mut h, commit);
    assert!(label_shown(&h, "You predicted 7."));

    // Space plays to the reveal at 6 s, which shows the core's own p99 of the last 5 s.
    play_until_stopped(&mut h, 200);
    assert_eq!(now_ns(&h), s_to_ns(6.0));
    let p99 = sim(&h).recent().latency_p99_ms.unwrap_or(f64::NAN);
    assert!(
        p99.is_finite() && p99 > 5.0,
        "a p99 above one service time: {p99}"
    );
    let shown = format!("p99 latency (ms) = {p99:.3}");
    assert!(label_shown(&h, &shown), "the reveal shows {shown}");
    assert!(label_shown(&h, &format!("off by {:+.3}", 7.0 - p99)));

    // Reset starts the lesson over: Space plays to the pause point at 3 s again.
    let reset = h.get_by_label("Reset").rect().center();
    click_at(&mut h, reset);
    play_until_stopped(&mut h, 200);
    assert_eq!(now_ns(&h), s_to_ns(3.0));
    assert!(label_shown(&h, "Look at the latency plot"));
    assert!(
        !label_shown(&h, "You predicted"),
        "the checkpoint starts over too"
    );
}

fn open_gallery_from_menu(h: &mut Harness<'_, TierlabApp>) {
    let lessons = h.get_by_label("Lessons").rect().center();
    click_at(h, lessons);
    let entry = h.get_by_label("Scenario gallery…").rect().center();
    click_at(h, entry);
    frames(h, 3);
    assert!(h.state().is_gallery_shown());
}

#[test]
fn every_gallery_scenario_opens_from_its_card_and_runs_without_error() {
    let mut h = open("lesson-gallery", None, 100);
    let titles: Vec<String> = tierlab::shipped::LESSONS
        .iter()
        .map(|(_, text)| match tierlab::lesson::from_ron(text) {
            Ok(l) => l.title,
            Err(e) => panic!("{e}"),
        })
        .collect();
    assert_eq!(titles.len(), 8);
    for (i, title) in titles.iter().enumerate() {
        open_gallery_from_menu(&mut h);
        let card = h
            .get_by_label(&format!("{}. {title}", i + 1))
            .rect()
            .center();
        click_at(&mut h, card);
        assert!(!h.state().is_gallery_shown(), "opening closes the gallery");
        assert_eq!(h.state().lesson_title(), Some(title.as_str()));
        h.key_press(Key::Space);
        frames(&mut h, 15);
        let s = sim(&h);
        assert!(s.now_ns() > 0, "{title}: the run moved");
        assert!(s.halted().is_none(), "{title}: {:?}", s.halted());
        assert!(s.notes().is_empty(), "{title}: {:?}", s.notes());
        assert!(h.query_by_label_contains("Cannot run").is_none(), "{title}");
    }
}

#[test]
fn f_toggles_presentation_mode_and_escape_leaves_it() {
    let mut h = open("lesson-present", None, 10);
    assert!(label_shown(&h, "Palette") || h.query_by_label("File").is_some());
    assert!(h.query_by_label("File").is_some(), "the menu bar is shown");
    h.key_press(Key::F);
    h.run();
    assert!(h.state().is_presenting());
    assert!(h.query_by_label("File").is_none(), "menus hidden");
    assert!(
        h.query_by_label_contains("Press Play").is_some(),
        "the headline numbers stay"
    );
    assert!(
        (h.ctx.zoom_factor() - 1.5).abs() < 1e-3,
        "the whole UI is larger"
    );
    // Keys 1 to 8 open the gallery's scenarios here.
    h.key_press(Key::Num4);
    h.run();
    assert_eq!(
        h.state().lesson_title(),
        Some("Balancing algorithms with one slow server")
    );
    assert!(label_shown(&h, "Two identical pools"), "the caption, large");
    h.key_press(Key::Escape);
    h.run();
    assert!(!h.state().is_presenting());
    assert!(h.query_by_label("File").is_some(), "the panels are back");
    assert!((h.ctx.zoom_factor() - 1.0).abs() < 1e-3);
    h.key_press(Key::F);
    h.run();
    assert!(h.state().is_presenting());
    h.key_press(Key::F);
    h.run();
    assert!(!h.state().is_presenting(), "F toggles back");
    // Digits do nothing outside presentation mode.
    h.key_press(Key::Num1);
    h.run();
    assert_eq!(
        h.state().lesson_title(),
        Some("Balancing algorithms with one slow server")
    );
}

/// Run a shipped lesson's layout (with its steps) to `at_s` and measure as its checkpoint does.
fn measured_at(
    file: &str,
    at_s: f64,
    measure: tierlab::lesson::Measure,
    choices: &[u32],
) -> tierlab::lesson::Answer {
    let text = tierlab::shipped::find_lesson(file).unwrap_or_else(|| panic!("{file}"));
    let (_, layout) = tierlab::lesson::load(text).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = tierlab::sim::Sim::new(&layout, tierlab::sim::SimConfig::default())
        .unwrap_or_else(|p| panic!("{p:?}"));
    sim.run_until_s(at_s);
    let choices: Vec<tierlab::layout::NodeId> = choices
        .iter()
        .map(|&c| tierlab::layout::NodeId(c))
        .collect();
    tierlab::lesson::measure(&sim, measure, &choices)
}

/// Lesson 4's answer from theory: round-robin sends the slowed server a quarter of 280 req/s,
/// 70 req/s at 50 ms on 4 workers, utilisation 0.875, the others 70 × 10 ms / 4 = 0.175: the
/// pool's mean is 0.35. Least-connections sends the slow server less, so its pool works less.
#[test]
fn lesson_4_reveals_the_round_robin_pool_as_the_busiest() {
    use tierlab::lesson::{Answer, Measure};
    let answer = measured_at(
        "4-algorithms.lesson.ron",
        20.0,
        Measure::BusiestNode,
        &[2, 5],
    );
    assert_eq!(answer, Answer::Node(tierlab::layout::NodeId(2)));
    // And the other way round, so the answer is not the first choice by default.
    let answer = measured_at(
        "4-algorithms.lesson.ron",
        20.0,
        Measure::BusiestNode,
        &[5, 2],
    );
    assert_eq!(answer, Answer::Node(tierlab::layout::NodeId(2)));
}

/// Lesson 5's answers from theory: going from 4 to 5 nodes, modulo placement moves a key
/// unless `k mod 4 == k mod 5`, which holds for 4 keys in 20 (a fifth stay), so the hit ratio
/// right after falls to about a fifth of the warm one; a ring moves only the new node's
/// share, about a fifth of the keys, so about four fifths stay warm.
#[test]
fn lesson_5_reveals_modulo_losing_most_hits_and_the_ring_few() {
    use tierlab::lesson::{Answer, Measure};
    let ratio = |at_s| match measured_at(
        "5-consistent-hashing.lesson.ron",
        at_s,
        Measure::CacheHitRatio,
        &[],
    ) {
        Answer::Number(v) => v,
        other => panic!("{other:?}"),
    };
    let (warm_modulo, after_modulo) = (ratio(19.0), ratio(25.0));
    let (warm_ring, after_ring) = (ratio(59.0), ratio(65.0));
    let lost_modulo = 1.0 - after_modulo / warm_modulo;
    let lost_ring = 1.0 - after_ring / warm_ring;
    println!(
        "lesson 5: modulo {warm_modulo:.3} -> {after_modulo:.3} (lost {lost_modulo:.2}), \
         ring {warm_ring:.3} -> {after_ring:.3} (lost {lost_ring:.2})"
    );
    assert!(
        lost_modulo > 0.3,
        "modulo lost {lost_modulo:.2} of its hits ({warm_modulo:.3} -> {after_modulo:.3})"
    );
    assert!(
        lost_ring < 0.2,
        "the ring lost {lost_ring:.2} ({warm_ring:.3} -> {after_ring:.3})"
    );
}
