//! What the run panel's numbers say and how it behaves while a layout runs, driven by pointer
//! and key events (egui_kittest, headless); each playing frame runs a fixed number of ticks.
//! The summary's p99 is over the recent window and agrees with an independent computation
//! from the core's request traces; figures and plots that do not apply are not shown; a typed
//! number applies on Enter only; Step advances the chosen interval; the layout's name is edited
//! in the window.

use eframe::egui::accesskit::Role;
use eframe::egui::{Event, Key, Modifiers, PointerButton, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tierlab::app::{AppConfig, TierlabApp};
use tierlab::layout::{self, Layout, NodeKind};
use tierlab::sim::window::{LATENCY_PRECISION, WINDOW_S};
use tierlab::sim::{Outcome, Sim};

use crate::window::{click_at, frames, sim};

/// A client at 200 requests/s and one server with 8 workers of 2 ms; between 2 s and 3 s the
/// server is 50 times slower (100 ms a request, 80 requests/s at most): a queue builds, and the
/// latencies of that second reach about a second.
const SPIKE: &str = r#"(
    version: 1,
    name: "Spike",
    description: "One slow second.",
    seed: 3,
    tick_ms: 1.0,
    nodes: [
        (id: 0, name: "users", pos: (x: 100, y: 200), kind: client(qps: 200)),
        (id: 1, name: "app", pos: (x: 400, y: 200),
            kind: app_server(count: 1, workers: 8, service_ms: 2.0)),
    ],
    wires: [(from: 0, to: 1, latency_ms: 1.0)],
    script: [
        (at_s: 2, command: slow(target: (node: 1), factor: 50.0)),
        (at_s: 3, command: slow(target: (node: 1), factor: 1.0)),
    ],
)"#;

fn open(layout: Layout, ticks: u64) -> Harness<'static, TierlabApp> {
    let dir = std::env::temp_dir().join(format!("tierlab-run-panel-{}", std::process::id()));
    let app = TierlabApp::with_layout(
        AppConfig {
            native_dialogs: false,
            save_dir: dir,
            fixed_ticks_per_frame: Some(ticks),
            ..AppConfig::default()
        },
        layout,
    );
    let mut h = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h
}

fn spike() -> Layout {
    layout::from_ron(SPIKE).unwrap_or_else(|e| panic!("{e}"))
}

fn shipped(file: &str) -> Layout {
    layout::from_ron(tierlab::shipped::find(file).unwrap_or_else(|| panic!("{file} is shipped")))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn key(h: &mut Harness<'_, TierlabApp>, k: Key) {
    h.key_press_modifiers(Modifiers::NONE, k);
    h.step();
    h.step();
}

/// Play (Space) until the run reaches `seconds`, then pause (Space) and draw a still frame.
fn run_to(h: &mut Harness<'_, TierlabApp>, seconds: f64) {
    h.remove_cursor();
    key(h, Key::Space);
    let target = layout::s_to_ns(seconds);
    let mut guard = 0;
    while sim(h).now_ns() < target {
        h.step();
        guard += 1;
        assert!(guard < 10_000, "the run does not advance");
    }
    key(h, Key::Space);
    assert!(!h.state().is_playing());
    frames(h, 2);
}

/// The summary's p99 as shown: "p99 12.3 ms".
fn shown_p99_ms(h: &Harness<'_, TierlabApp>) -> f64 {
    let node = h.get_by_label_contains("p99 ");
    let text = node
        .accesskit_node()
        .value()
        .or_else(|| node.accesskit_node().label())
        .unwrap_or_default();
    let value = text
        .trim_start_matches("p99 ")
        .trim_end_matches(" ms")
        .trim();
    value
        .parse()
        .unwrap_or_else(|_| panic!("a p99 in ms, not {text:?}"))
}

/// The exact p99 (ms) of the requests that completed in the summary's window, from the core's
/// traces (every request is traced at this rate), by sorting: the smallest latency that at
/// least 99 % of them do not exceed. Latencies in whole microseconds, as the core records them.
fn exact_window_p99_ms(sim: &Sim) -> (f64, usize) {
    let traces = sim.traces();
    assert_eq!(traces.config.every, 1, "every request is traced");
    // The last sample is at the last multiple of 100 ms before now (a sample at the current
    // instant is taken with the next tick).
    let sample_ns = tierlab::sim::series::SAMPLE_NS;
    let to_ns = (sim.now_ns() - 1) / sample_ns * sample_ns;
    let from_ns = to_ns.saturating_sub(layout::s_to_ns(WINDOW_S));
    let mut us: Vec<u64> = traces
        .done
        .iter()
        .filter(|t| matches!(t.outcome, Some(Outcome::Read | Outcome::Write)))
        .filter_map(|t| t.end_ns.map(|end| (t.born_ns, end)))
        .filter(|(_, end)| *end >= from_ns && *end < to_ns)
        .map(|(born, end)| ((end - born) / 1000).max(1))
        .collect();
    assert!(
        from_ns == 0
            || traces
                .done
                .front()
                .is_some_and(|t| t.end_ns.is_some_and(|e| e <= from_ns)),
        "the traces reach back to the window's start"
    );
    us.sort_unstable();
    let rank = (0.99 * us.len() as f64).ceil() as usize;
    (us[rank.max(1) - 1] as f64 / 1e3, us.len())
}

/// The shown p99 is the exact one within the histogram's precision (1/128, upwards) and the
/// one decimal it is shown with.
fn assert_p99_matches(h: &Harness<'_, TierlabApp>) -> f64 {
    let shown = shown_p99_ms(h);
    let (exact, n) = exact_window_p99_ms(sim(h));
    assert!(n > 300, "{n} requests in the window");
    assert!(
        shown >= exact - 0.05 && shown <= exact * (1.0 + LATENCY_PRECISION) + 0.05,
        "shown p99 {shown} ms, exact p99 of the window's {n} latencies {exact} ms"
    );
    shown
}

#[test]
fn the_summary_p99_is_the_windows_own_and_recovers_after_a_spike() {
    let mut h = open(spike(), 100);
    // Before the spike: a few milliseconds.
    run_to(&mut h, 1.9);
    let before = assert_p99_matches(&h);
    assert!(before < 20.0, "p99 before the spike: {before} ms");
    assert!(h.query_by_label_contains("last ").is_some());
    // Just after the slow second, the window holds it.
    run_to(&mut h, 4.0);
    let during = assert_p99_matches(&h);
    assert!(
        during > 200.0,
        "p99 with the slow second in the window: {during} ms"
    );
    // The window's length after the spike: the shown p99 is back to normal, while the p99
    // since the start still holds the spike.
    run_to(&mut h, 3.0 + WINDOW_S + 1.0);
    let after = assert_p99_matches(&h);
    assert!(after < 20.0, "p99 a window after the spike: {after} ms");
    assert!(h.query_by_label_contains("last 5 s").is_some());
    let since_start = sim(&h).metrics().latency_ms.p99;
    assert!(since_start > 100.0, "since the start: {since_start} ms");
}

#[test]
fn figures_and_plots_that_do_not_apply_are_not_shown() {
    // No cache, no database, nothing keeps sessions.
    let mut h = open(spike(), 100);
    run_to(&mut h, 1.0);
    h.get_by_label("Latency, ms");
    for absent in [
        "hit ratio",
        "Cache hit ratio",
        "Database reads",
        "sessions lost",
        "load skew",
    ] {
        assert!(
            h.query_by_label_contains(absent).is_none(),
            "{absent:?} shown for a layout without it"
        );
    }
    // The starter layout has a cache and a database: both are shown.
    let mut h = open(shipped("request-flow.ron"), 100);
    run_to(&mut h, 1.0);
    h.get_by_label("Cache hit ratio");
    h.get_by_label_contains("hit ratio ");
    h.get_by_label("Database reads and writes per second");
    // Sticky sessions: sessions lost and missed, and the load skew.
    let mut h = open(shipped("sticky-sessions.ron"), 100);
    run_to(&mut h, 1.0);
    h.get_by_label_contains("sessions lost ");
    h.get_by_label_contains("session misses ");
    h.get_by_label_contains("load skew ");
    // Active-passive: which balancer holds the floating IP.
    let mut h = open(shipped("active-passive.ron"), 100);
    run_to(&mut h, 1.0);
    h.get_by_label_contains("IP on lb-a");
}

#[test]
fn a_typed_rate_applies_on_enter_only_and_a_refused_one_says_why_until_a_valid_one() {
    let mut h = open(spike(), 100);
    run_to(&mut h, 0.5);
    let qps = |layout: &Layout| match layout.node_named("users").map(|n| &n.kind) {
        Some(NodeKind::Client(c)) => c.qps,
        _ => panic!("users is a client"),
    };
    // Select the client, then click its rate (which selects the text) and type.
    let users = h
        .get_by_role_and_label(Role::Button, "users")
        .rect()
        .center();
    click_at(&mut h, users);
    let field = h
        .get_by_role_and_label(Role::SpinButton, "Request rate")
        .rect()
        .center();
    click_at(&mut h, field);
    for digit in ["9", "9", "9"] {
        h.event(Event::Text(digit.into()));
        h.step();
        assert_eq!(qps(h.state().layout()), 200.0, "not applied while typing");
        assert_eq!(qps(sim(&h).layout()), 200.0, "nor sent to the run");
    }
    key(&mut h, Key::Enter);
    assert_eq!(qps(h.state().layout()), 999.0, "applied on Enter");
    assert_eq!(qps(sim(&h).layout()), 999.0, "and sent to the run");

    // Out of range: refused with the reason, the rate unchanged.
    let field = h
        .get_by_role_and_label(Role::SpinButton, "Request rate")
        .rect()
        .center();
    click_at(&mut h, field);
    h.event(Event::Text("99999999".into()));
    h.step();
    key(&mut h, Key::Enter);
    assert_eq!(qps(h.state().layout()), 999.0);
    h.get_by_label_contains("Refused:");
    // A valid value clears the message.
    click_at(&mut h, field);
    h.event(Event::Text("300".into()));
    h.step();
    key(&mut h, Key::Enter);
    assert_eq!(qps(h.state().layout()), 300.0);
    assert!(h.query_by_label_contains("Refused:").is_none());
}

#[test]
fn step_advances_the_chosen_interval_and_the_time_shows_it() {
    let mut h = open(spike(), 100);
    h.get_by_label("Step 100 ms").click();
    h.run();
    assert_eq!(sim(&h).now_ns(), 100_000_000);
    h.get_by_label("t = 0.10 s");
    // Choose 10 ms.
    h.get_by_role_and_label(Role::ComboBox, "Step interval")
        .click();
    h.run();
    h.get_by_label("10 ms").click();
    h.run();
    h.get_by_label("Step 10 ms").click();
    h.run();
    assert_eq!(sim(&h).now_ns(), 110_000_000);
    h.get_by_label("t = 0.11 s");
    // And 1 s.
    h.get_by_role_and_label(Role::ComboBox, "Step interval")
        .click();
    h.run();
    h.get_by_label("1 s").click();
    h.run();
    h.get_by_label("Step 1 s").click();
    h.run();
    assert_eq!(sim(&h).now_ns(), 1_110_000_000);
    h.get_by_label("t = 1.11 s");
}

#[test]
fn the_layouts_name_and_description_are_edited_in_the_window_with_undo() {
    let mut h = open(spike(), 100);
    let field = h
        .get_by_role_and_label(Role::TextInput, "Layout name")
        .rect()
        .center();
    click_at(&mut h, field);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.step();
    h.event(Event::Text("Queue spike".into()));
    h.step();
    key(&mut h, Key::Enter);
    assert_eq!(h.state().layout().name, "Queue spike");
    assert!(h.state().is_dirty());
    h.remove_cursor();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    frames(&mut h, 3);
    assert_eq!(h.state().layout().name, "Spike");
}

/// The number at the start of a label such as "1,003 requests/s sent".
fn leading_number(text: &str) -> f64 {
    let digits: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} starts with a number: {e}"))
}

fn label_text(h: &Harness<'_, TierlabApp>, part: &str) -> String {
    let node = h.get_by_label_contains(part);
    let node = node.accesskit_node();
    node.label()
        .filter(|l| !l.is_empty())
        .or_else(|| node.value())
        .unwrap_or_default()
}

#[test]
fn play_and_pause_take_the_same_place_before_and_during_a_run() {
    for (file, size) in [
        ("request-flow.ron", vec2(1280.0, 800.0)),
        ("sticky-sessions.ron", vec2(1024.0, 768.0)),
    ] {
        let dir = std::env::temp_dir().join(format!("tierlab-play-{}", std::process::id()));
        let app = TierlabApp::with_layout(
            AppConfig {
                native_dialogs: false,
                save_dir: dir,
                fixed_ticks_per_frame: Some(50),
                ..AppConfig::default()
            },
            shipped(file),
        );
        let mut h = Harness::builder()
            .with_size(size)
            .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
        h.run();
        let play = h.get_by_role_and_label(Role::Button, "Play").rect();
        let canvas_before = h.state().canvas_rect();
        // Click Play where it is, as a presenter would, and let the plots appear.
        click_at(&mut h, play.center());
        frames(&mut h, 10);
        assert!(h.state().is_playing());
        h.get_by_label("Latency, ms");
        let pause = h.get_by_role_and_label(Role::Button, "Pause").rect();
        for (a, b) in [(play.min, pause.min), (play.max, pause.max)] {
            assert!(
                (a - b).length() <= 1.0,
                "{file} at {size:?}: Play {play:?} before the run, Pause {pause:?} during it"
            );
        }
        // The canvas does not shrink either, and keeps the larger share of the window.
        let canvas = h.state().canvas_rect();
        assert!(
            (canvas.height() - canvas_before.height()).abs() <= 1.0,
            "the canvas {canvas_before:?} before, {canvas:?} during"
        );
        let run_panel_h = size.y - pause.top();
        assert!(
            canvas.height() > run_panel_h && canvas.area() > size.x * size.y / 3.0,
            "canvas {canvas:?} against a run panel {run_panel_h} high"
        );
        // Pause is where the pointer is: a second click pauses.
        click_at(&mut h, pause.center());
        assert!(!h.state().is_playing());
    }
}

#[test]
fn a_client_whose_only_balancer_is_dead_shows_what_it_sends_and_that_it_fails() {
    let layout = shipped("lb-spof.ron");
    let qps = match layout.node_named("users").map(|n| &n.kind) {
        Some(NodeKind::Client(c)) => c.qps,
        other => panic!("users is a client: {other:?}"),
    };
    let mut h = open(layout, 100);
    run_to(&mut h, 1.0);
    // Kill the balancer from its menu, then run on until the last second is all after it.
    let lb = h.get_by_role_and_label(Role::Button, "lb").rect().center();
    h.hover_at(lb);
    h.step();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos: lb,
            button: PointerButton::Secondary,
            pressed,
            modifiers: Modifiers::NONE,
        });
        h.step();
    }
    h.step();
    let kill = h
        .get_by_role_and_label(Role::Button, "Kill")
        .rect()
        .center();
    click_at(&mut h, kill);
    run_to(&mut h, 3.5);
    let m = sim(&h).metrics();
    assert!(
        m.nodes.iter().any(|n| n.name == "lb" && !n.alive),
        "the balancer is dead"
    );
    // Hover the client: it sends at its rate, and everything it sends fails.
    let users = h
        .get_by_role_and_label(Role::Button, "users")
        .rect()
        .center();
    h.hover_at(users);
    // The hover readout shows after egui's tooltip delay (half a second of frames).
    frames(&mut h, 60);
    let sent = leading_number(&label_text(&h, "requests/s sent"));
    let failed = leading_number(&label_text(&h, "requests/s failed"));
    let answered = leading_number(&label_text(&h, "requests/s answered"));
    // Poisson arrivals over one second at 1,000/s: a standard deviation of about 32.
    assert!(
        (sent - qps).abs() < 0.15 * qps,
        "sent {sent}/s against the client's {qps} rps"
    );
    assert!(
        (failed - qps).abs() < 0.15 * qps,
        "failed {failed}/s: every request fails without a balancer"
    );
    assert_eq!(answered, 0.0);
}

#[test]
fn sessions_and_load_skew_are_plotted_only_where_they_apply() {
    let mut h = open(shipped("sticky-sessions.ron"), 100);
    run_to(&mut h, 11.0);
    h.get_by_label("Sessions lost and session misses, since the start");
    h.get_by_label("Load skew: busiest app server over the mean");
    // The plotted totals are the core's own: after the kill at 10 s, sessions were lost.
    let s = sim(&h).series();
    let m = sim(&h).metrics();
    assert!(m.sessions_lost > 0, "the kill at 10 s lost sessions");
    assert_eq!(s.sessions_lost.last(), Some(m.sessions_lost as f32));
    assert_eq!(s.session_misses.last(), Some(m.session_misses as f32));
    // A store keeps sessions but nobody is sticky: the sessions plot, no load skew.
    let mut h = open(shipped("session-store.ron"), 100);
    run_to(&mut h, 1.0);
    h.get_by_label("Sessions lost and session misses, since the start");
    assert!(h.query_by_label_contains("Load skew").is_none());
    // Nothing keeps sessions: neither.
    let mut h = open(spike(), 100);
    run_to(&mut h, 1.0);
    assert!(h.query_by_label_contains("Sessions lost").is_none());
    assert!(h.query_by_label_contains("Load skew").is_none());
}
