//! Shared kittest helpers: the real window headless at 1280x800, with a fixed number of ticks
//! per playing frame so runs do not depend on the wall clock, and pointer events as a user
//! makes them.

use eframe::egui::{Event, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use tierlab::app::{AppConfig, TierlabApp};
use tierlab::layout::Layout;
use tierlab::sim::Sim;

/// The window at 1280x800 on `layout` (None: the starter layout, request-flow.ron), `ticks`
/// ticks a playing frame, saving under a temporary folder named after `tag`.
pub fn open(tag: &str, layout: Option<Layout>, ticks: u64) -> Harness<'static, TierlabApp> {
    let config = AppConfig {
        native_dialogs: false,
        save_dir: std::env::temp_dir().join(format!("tierlab-{tag}-{}", std::process::id())),
        fixed_ticks_per_frame: Some(ticks),
        ..AppConfig::default()
    };
    let app = match layout {
        Some(l) => TierlabApp::with_layout(config, l),
        None => TierlabApp::new(config),
    };
    let mut h = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h
}

/// Frames while playing: `run()` would wait for a still window, which never comes.
pub fn frames(h: &mut Harness<'_, TierlabApp>, n: usize) {
    for _ in 0..n {
        h.step();
    }
}

/// The window's running core.
pub fn sim<'a>(h: &'a Harness<'_, TierlabApp>) -> &'a Sim {
    match h.state().sim() {
        Some(s) => s,
        None => panic!("the window has no run"),
    }
}

/// Hover, press and release `button` at `p`, a frame for each.
pub fn click_with(h: &mut Harness<'_, TierlabApp>, p: Pos2, button: PointerButton) {
    h.hover_at(p);
    h.step();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos: p,
            button,
            pressed,
            modifiers: Modifiers::NONE,
        });
        h.step();
    }
    h.step();
}

/// A primary click at `p`.
pub fn click_at(h: &mut Harness<'_, TierlabApp>, p: Pos2) {
    click_with(h, p, PointerButton::Primary);
}
