//! The window and the run's limits, driven like a user would (egui_kittest, headless): a live
//! edit that would make a zero-time loop keeps the run moving, and a run that crosses a limit
//! stops with the message in the run panel while the window keeps drawing.

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tierlab::app::TierlabApp;
use tierlab::layout::NodeKind;

use crate::check::parse;
use crate::window::{click_at, frames, sim};

fn window(text: &str, ticks: u64) -> Harness<'static, TierlabApp> {
    crate::window::open("limits-ui", Some(parse(text)), ticks)
}

#[test]
fn a_live_edit_to_zero_think_time_over_a_zero_time_path_keeps_the_run_moving() {
    // One user thinking 5 ms in front of a server that answers in no time over a wire of no
    // latency. Setting think_ms to 0 in the inspector while it runs used to freeze the window
    // on its next frame (the tick never ended).
    let mut h = window(
        r#"(tick_ms: 1, nodes: [
            (id: 0, name: "users", pos: (x: 200, y: 200), kind: client(mode: closed, users: 1, think_ms: 5)),
            (id: 1, name: "app", pos: (x: 500, y: 200), kind: app_server(service_ms: 0)),
        ], wires: [(from: 0, to: 1)])"#,
        10,
    );
    let users = h.get_by_label("users").rect().center();
    h.get_by_label("Play").click();
    frames(&mut h, 5);
    click_at(&mut h, users);
    frames(&mut h, 3);
    let before = sim(&h).now_ns();
    let think = h
        .query_all_by_role(Role::SpinButton)
        .find(|n| n.accesskit_node().label().as_deref() == Some("Think time"));
    match think {
        Some(n) => n.set_value_accesskit(0.0),
        None => panic!("no think_ms field in the inspector"),
    }
    frames(&mut h, 20);
    let think_now = h
        .state()
        .layout()
        .node_named("users")
        .map(|n| match &n.kind {
            NodeKind::Client(c) => c.think_ms,
            _ => f64::NAN,
        });
    assert_eq!(think_now, Some(0.0), "the edit reached the layout");
    // Twenty frames of ten 1 ms ticks: the run moved on by about 200 ms, and the edit reached
    // the core (a request per µs, the documented minimum turnaround, once the think ends).
    let s = sim(&h);
    assert!(s.halted().is_none(), "{:?}", s.halted());
    assert!(
        s.now_ns() >= before + 150_000_000,
        "{} -> {}",
        before,
        s.now_ns()
    );
    assert!(s.counts().arrived > 10_000, "{:?}", s.counts());
    assert!(h.query_by_label_contains("Stopped").is_none());
    assert!(h.state().is_playing());
}

#[test]
fn a_run_that_crosses_a_limit_stops_with_the_message_and_the_window_keeps_drawing() {
    // Ten million requests a second in one-second ticks: the first tick crosses the
    // events-per-tick limit.
    let mut h = window(
        r#"(tick_ms: 1000, nodes: [
            (id: 0, name: "users", pos: (x: 200, y: 200), kind: client(qps: 10000000)),
            (id: 1, name: "app", pos: (x: 500, y: 200), kind: app_server(service_ms: 0, workers: 10000)),
        ], wires: [(from: 0, to: 1)])"#,
        1,
    );
    h.get_by_label("Play").click();
    frames(&mut h, 3);
    let _ = h.get_by_label_contains("Stopped: the run stopped at t = 0.");
    let _ = h.get_by_label_contains("at \"users\": more than 2000000 events in one tick");
    assert!(!h.state().is_playing(), "the run pauses");
    // The window keeps drawing and answering: more frames, Play does nothing more to the
    // stopped run, Reset clears the message.
    let t = sim(&h).now_ns();
    h.get_by_label("Play").click();
    frames(&mut h, 5);
    assert_eq!(sim(&h).now_ns(), t);
    h.get_by_label("Reset").click();
    frames(&mut h, 2);
    assert!(h.query_by_label_contains("Stopped:").is_none());
}
