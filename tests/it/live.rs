//! The live run view, driven like a user would (egui_kittest, headless): Play, Pause, Space,
//! a node's right-click menu and the inspector's buttons. Each playing frame runs a fixed
//! number of ticks (`AppConfig::fixed_ticks_per_frame`), so runs do not depend on the wall
//! clock and can be compared with `tierlab run`.

use std::collections::BTreeMap;

use eframe::egui::{Key, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::{DotClass, TierlabApp, classify_hops};
use tierlab::layout::{self, KindTag, NodeId};
use tierlab::report::{self, RunConfig};
use tierlab::sim::UnitIx;

use crate::window::{click_with as click_at, frames, sim};

/// The starter layout (request-flow.ron) in a 1280x800 window, `ticks` ticks a playing frame.
fn window(ticks: u64) -> Harness<'static, TierlabApp> {
    crate::window::open("live", None, ticks)
}

/// Where a node is on the canvas (looked up before the run, when no plot legend repeats the
/// name).
fn node_centre(h: &Harness<'_, TierlabApp>, name: &str) -> Pos2 {
    h.get_by_label(name).rect().center()
}

fn node_id(h: &Harness<'_, TierlabApp>, name: &str) -> NodeId {
    match h.state().layout().node_named(name) {
        Some(n) => n.id,
        None => panic!("no node called {name}"),
    }
}

#[test]
fn play_advances_time_and_the_plots_grow_and_pause_holds_them_still() {
    let mut h = window(20);
    assert!(h.state().sim().is_none());
    h.get_by_label("Play").click();
    frames(&mut h, 30);
    let (t1, n1) = (sim(&h).now_ns(), sim(&h).series().time_s.len());
    assert!(t1 > 0 && n1 >= 4, "t = {t1} ns, {n1} samples");
    frames(&mut h, 30);
    let (t2, n2) = (sim(&h).now_ns(), sim(&h).series().time_s.len());
    assert!(t2 > t1 && n2 > n1, "the series grow while playing");
    h.get_by_label("Pause").click();
    frames(&mut h, 2);
    let still = (sim(&h).now_ns(), sim(&h).series().time_s.len());
    frames(&mut h, 20);
    assert_eq!((sim(&h).now_ns(), sim(&h).series().time_s.len()), still);
    assert!(!h.state().is_playing());
    // Space plays again.
    h.key_press(Key::Space);
    frames(&mut h, 10);
    assert!(h.state().is_playing());
    assert!(sim(&h).now_ns() > still.0);
    // The plots and the summary are on screen.
    h.get_by_label("Latency, ms");
    h.get_by_label_contains("rps ");
}

#[test]
fn killing_a_node_from_its_menu_reaches_the_core_and_is_no_layout_edit() {
    let mut h = window(20);
    let db = node_centre(&h, "db");
    h.get_by_label("Play").click();
    frames(&mut h, 10);
    click_at(&mut h, db, PointerButton::Secondary);
    h.get_by_label("Kill").click();
    frames(&mut h, 5);
    let s = sim(&h);
    let id = node_id(&h, "db");
    let unit = s
        .unit_ixs()
        .filter_map(|i| s.unit_info(i))
        .find(|u| u.id.node == id);
    assert!(
        unit.is_some_and(|u| !u.alive),
        "the database is dead in the core"
    );
    assert!(!h.state().is_dirty(), "a fault is not a layout edit");
    frames(&mut h, 20);
    assert!(
        sim(&h).counts().failed > 0,
        "requests needing the database fail"
    );
    // Revive from the same menu.
    click_at(&mut h, db, PointerButton::Secondary);
    h.get_by_label("Revive").click();
    frames(&mut h, 2);
    let s = sim(&h);
    let unit = s
        .unit_ixs()
        .filter_map(|i| s.unit_info(i))
        .find(|u| u.id.node == id);
    assert!(unit.is_some_and(|u| u.alive));
}

#[test]
fn more_servers_while_running_serve_at_once_and_undo_removes_them() {
    let mut h = window(20);
    let app = node_centre(&h, "app");
    h.get_by_label("Play").click();
    frames(&mut h, 20);
    click_at(&mut h, app, PointerButton::Primary);
    for _ in 0..2 {
        h.get_by_label("+").click();
        frames(&mut h, 2);
    }
    assert_eq!(
        h.state().layout().node_named("app").map(|n| n.kind.count()),
        Some(5),
        "the edit is in the layout (saved, undoable)"
    );
    frames(&mut h, 60);
    let serving = |h: &Harness<'_, TierlabApp>| {
        sim(h)
            .metrics()
            .nodes
            .iter()
            .filter(|n| n.kind == KindTag::AppServer && n.alive && n.served > 0)
            .count()
    };
    assert_eq!(serving(&h), 5, "five members serve");
    // Undo goes to the core too: one member fewer is running.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    frames(&mut h, 2);
    let alive = sim(&h)
        .metrics()
        .nodes
        .iter()
        .filter(|n| n.kind == KindTag::AppServer && n.alive)
        .count();
    assert_eq!(alive, 4);
}

#[test]
fn the_window_and_tierlab_run_agree_on_the_same_layout_seed_and_duration() {
    let mut h = window(100);
    h.get_by_label("Play").click();
    // 100 ticks of 1 ms a frame: 5 simulated seconds are exactly 50 playing frames.
    let mut guard = 0;
    while h.state().sim().is_none_or(|s| s.ticks() < 5000) && guard < 200 {
        h.step();
        guard += 1;
    }
    h.get_by_label("Pause").click();
    frames(&mut h, 3);
    // The frames that took the click ran too: compare over whatever whole run the window made.
    let ticks = sim(&h).ticks();
    assert!(
        !h.state().is_playing() && (5000..5500).contains(&ticks),
        "{ticks} ticks"
    );
    let seconds = sim(&h).now_ns() as f64 / 1e9;
    let text = tierlab::shipped::find("request-flow.ron").unwrap_or_default();
    let layout = layout::from_ron(text).unwrap_or_default();
    let cli = report::run(
        &layout,
        &RunConfig {
            seconds,
            seed: Some(layout.seed),
            ..RunConfig::default()
        },
    );
    let Ok(cli) = cli else {
        panic!("the layout runs");
    };
    let window = report::run_json(sim(&h), 0.0);
    assert!(window.requests.completed > 5000);
    assert_eq!(cli.ticks(), ticks);
    assert_eq!(window, report::run_json(&cli, 0.0));
}

#[test]
fn dots_drawn_per_wire_and_colour_match_the_cores_traces_and_counters() {
    let mut h = window(10);
    h.get_by_label("Play").click();
    frames(&mut h, 250);
    h.get_by_label("Pause").click();
    frames(&mut h, 2);
    let s = sim(&h);
    let every = s.traces().config.every;
    assert_eq!(every, 1, "1,200 requests/s: every request is a dot");
    assert_eq!(
        s.traces().finished as usize,
        s.traces().done.len(),
        "none dropped"
    );
    // Expected from the core: every hop of every sampled request that has left by now.
    let kind_of = |u: UnitIx| s.unit_info(u).map(|i| i.kind);
    let node_of = |u: UnitIx| s.unit_info(u).map(|i| i.id.node);
    let mut expected: BTreeMap<(NodeId, NodeId, DotClass), u64> = BTreeMap::new();
    for t in s
        .traces()
        .done
        .iter()
        .chain(s.traces().open.iter().flatten())
    {
        for (hop, class) in t.hops.iter().zip(classify_hops(t, kind_of)) {
            if hop.depart_ns > s.now_ns() {
                continue;
            }
            let (Some(a), Some(b)) = (node_of(hop.from), node_of(hop.to)) else {
                continue;
            };
            let wire = if hop.reply { (b, a) } else { (a, b) };
            *expected.entry((wire.0, wire.1, class)).or_insert(0) += 1;
        }
    }
    assert_eq!(h.state().dot_counts(), &expected);
    // Against the core's counters: each wire carries calls there and replies back, so the
    // dots on it are about twice its calls divided by N.
    let m = s.metrics();
    let calls_to = |name: &str| -> u64 {
        m.nodes
            .iter()
            .filter(|n| n.name == name || n.name.starts_with(&format!("{name}[")))
            .map(|n| n.calls)
            .sum()
    };
    let id = |name: &str| node_id(&h, name);
    let dots_on = |from: NodeId, to: NodeId| -> u64 {
        expected
            .iter()
            .filter(|((a, b, _), _)| *a == from && *b == to)
            .map(|(_, n)| *n)
            .sum()
    };
    for (from, to) in [
        ("client", "lb"),
        ("lb", "app"),
        ("app", "cache"),
        ("app", "db"),
    ] {
        let dots = dots_on(id(from), id(to)) as f64;
        let want = 2.0 * calls_to(to) as f64 / every as f64;
        assert!(
            (dots - want).abs() <= 0.1 * want + 10.0,
            "{from} -> {to}: {dots} dots, counters say {want}"
        );
    }
    // Colours: reads that reached the database are violet on the database's wire, hits green
    // above the cache; nothing failed.
    let of = |from: &str, to: &str, c: DotClass| {
        expected.get(&(id(from), id(to), c)).copied().unwrap_or(0)
    };
    assert!(of("app", "db", DotClass::DbRead) > 0);
    assert_eq!(of("app", "db", DotClass::CacheHit), 0);
    assert!(of("lb", "app", DotClass::CacheHit) > 0);
    assert!(of("client", "lb", DotClass::Write) > 0);
    assert!(!expected.keys().any(|(_, _, c)| *c == DotClass::Failed));
    let hits = DotClass::CacheHit;
    let hit_dots = of("client", "lb", hits) as f64;
    let read_dots_up = (of("client", "lb", hits) + of("client", "lb", DotClass::DbRead)) as f64;
    assert!(
        (hit_dots / read_dots_up - m.cache_hit_ratio).abs() < 0.1,
        "share of green replies {:.2} against the hit ratio {:.2}",
        hit_dots / read_dots_up,
        m.cache_hit_ratio
    );
}

#[test]
fn a_runs_faults_save_as_script_and_the_series_export_as_csv() {
    let mut h = window(20);
    let db = node_centre(&h, "db");
    h.get_by_label("Play").click();
    frames(&mut h, 20);
    click_at(&mut h, db, PointerButton::Secondary);
    h.get_by_label("Kill").click();
    frames(&mut h, 10);
    h.get_by_label("Pause").click();
    frames(&mut h, 2);
    h.get_by_label("Export").click();
    frames(&mut h, 2);
    h.get_by_label("Save run as script").click();
    frames(&mut h, 2);
    let script = &h.state().layout().script;
    assert_eq!(script.len(), 1, "{script:?}");
    assert!(matches!(script[0].command, layout::Command::Kill(_)));
    assert!(script[0].at_s > 0.0);
    assert!(h.state().is_dirty(), "the script is part of the layout");
    h.get_by_label("Export").click();
    frames(&mut h, 2);
    h.get_by_label("Plotted series as CSV").click();
    frames(&mut h, 2);
    let dir = std::env::temp_dir().join(format!("tierlab-live-{}", std::process::id()));
    let t = sim(&h).now_ns() as f64 / 1e9;
    let path = dir.join(format!("request-flow-{t:.0}s.csv"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("time_s,throughput_rps,failures_per_s,latency_p50_ms"));
    assert!(header.contains("db cpu_utilization"), "{header}");
    assert!(lines.count() >= 5, "one row per 100 ms sample");
}
