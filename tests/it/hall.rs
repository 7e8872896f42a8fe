//! The window in front of a class (issue 11), driven like a user would (egui_kittest,
//! headless): a member killed from its badge, the projector theme remembered, the UI zoom from
//! the menu and the keyboard, a 1024x768 screen, and the empty canvas after New.

use std::collections::BTreeMap;

use eframe::egui::{self, Event, Key, Modifiers, PointerButton, Pos2, Rect, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::{AppConfig, TierlabApp};
use tierlab::layout::KindTag;

use crate::window::{click_with as click_at, frames};

fn app() -> TierlabApp {
    TierlabApp::new(AppConfig {
        native_dialogs: false,
        save_dir: std::env::temp_dir().join(format!("tierlab-hall-{}", std::process::id())),
        fixed_ticks_per_frame: Some(20),
        ..AppConfig::default()
    })
}

/// The starter layout (request-flow.ron: client, lb, app ×3, db) in a window of `size` points.
fn window_of(app: TierlabApp, size: egui::Vec2) -> Harness<'static, TierlabApp> {
    let mut h = Harness::builder()
        .with_size(size)
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h
}

fn window(size: egui::Vec2) -> Harness<'static, TierlabApp> {
    window_of(app(), size)
}

fn click_label(h: &mut Harness<'_, TierlabApp>, label: &str) {
    let p = h.get_by_label(label).rect().center();
    click_at(h, p, PointerButton::Primary);
}

#[test]
fn killing_member_2_from_its_badge_kills_the_cores_app_2_and_says_so() {
    let mut h = window(vec2(1280.0, 800.0));
    let badge = h.get_by_label("app member 2").rect();
    assert!(badge.width() > 5.0, "the badge is drawn: {badge:?}");
    h.key_press(Key::Space);
    frames(&mut h, 10);
    // Right-click member 2's badge, then Kill.
    click_at(&mut h, badge.center(), PointerButton::Secondary);
    let kill = h.get_by_label("Kill member 2").rect().center();
    click_at(&mut h, kill, PointerButton::Primary);
    frames(&mut h, 3);

    let Some(sim) = h.state().sim() else {
        panic!("the window has no run");
    };
    let app = h.state().layout().node_named("app").map(|n| n.id);
    let alive: BTreeMap<u32, bool> = sim
        .metrics()
        .nodes
        .iter()
        .filter(|n| Some(n.id.node) == app)
        .map(|n| (n.id.member, n.alive))
        .collect();
    assert_eq!(
        alive,
        BTreeMap::from([(0, true), (1, true), (2, false)]),
        "member 2 (the core's app[2]) died, and only it"
    );
    let metrics = sim.metrics();
    let dead_name: Vec<&str> = metrics
        .nodes
        .iter()
        .filter(|n| !n.alive)
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(dead_name, ["app[2]"]);
    assert!(
        h.query_by_label_contains("Killed app member 2").is_some(),
        "the status line says which member, in plain words"
    );
    assert!(
        h.query_by_label_contains("Target").is_none(),
        "no Debug output"
    );
    // The badge now offers to revive the member it stands for.
    click_at(&mut h, badge.center(), PointerButton::Secondary);
    assert!(h.query_by_label("Revive member 2").is_some());
}

/// eframe's storage, in memory, as the next launch would read it.
#[derive(Default)]
struct Memory(BTreeMap<String, String>);

impl eframe::Storage for Memory {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn the_projector_theme_is_chosen_in_the_view_menu_and_remembered() {
    let mut h = window(vec2(1280.0, 800.0));
    click_label(&mut h, "View");
    click_label(&mut h, "Projector theme (light, high contrast)");
    h.run();
    assert!(h.state().is_projector_theme());
    assert!(!h.ctx.global_style().visuals.dark_mode, "light panels");

    let mut storage = Memory::default();
    eframe::App::save(h.state_mut(), &mut storage);
    let mut next = app();
    assert!(!next.is_projector_theme());
    next.restore_from(&storage);
    let h2 = window_of(next, vec2(1280.0, 800.0));
    assert!(
        h2.state().is_projector_theme(),
        "remembered at the next launch"
    );
    assert!(!h2.ctx.global_style().visuals.dark_mode);
}

fn inside(outer: Rect, inner: Rect) -> bool {
    outer.expand(0.5).contains_rect(inner)
}

#[test]
fn ui_zoom_from_the_menu_and_the_keys_and_at_1_5_the_canvas_shows_every_node() {
    let mut h = window(vec2(1280.0, 800.0));
    click_label(&mut h, "View");
    click_label(&mut h, "Zoom in (larger text) Ctrl++");
    h.run();
    assert_eq!(h.state().ui_zoom(), 1.1);
    assert!((h.ctx.zoom_factor() - 1.1).abs() < 1e-4);
    for (k, want) in [
        (Key::Plus, 1.2),
        (Key::Equals, 1.3),
        (Key::Minus, 1.2),
        (Key::Num0, 1.0),
    ] {
        h.key_press_modifiers(Modifiers::COMMAND, k);
        h.run();
        assert_eq!(h.state().ui_zoom(), want, "after Ctrl+{k:?}");
        assert!((h.ctx.zoom_factor() - want).abs() < 1e-4);
    }
    for _ in 0..5 {
        h.key_press_modifiers(Modifiers::COMMAND, Key::Plus);
        h.run();
    }
    assert_eq!(h.state().ui_zoom(), 1.5);
    h.run();
    let canvas = h.state().canvas_rect();
    for name in ["client", "lb", "app", "db"] {
        let r = h.get_by_label(name).rect();
        assert!(
            inside(canvas, r),
            "{name} {r:?} is not cut off by the canvas {canvas:?}"
        );
    }
}

#[test]
fn at_1280x800_every_kind_in_the_palette_is_shown_whole_without_scrolling() {
    // Eleven kinds since the rate limiter, CDN edge and message queue: the entries shrink to
    // fit the panel, so the last one is not hidden under the run panel.
    let h = window(vec2(1280.0, 800.0));
    let run_panel_top = h.get_by_label("Play").rect().top();
    for tag in KindTag::ALL {
        let label = tierlab::app::palette_label(tag);
        let r = h.get_by_label(&label).rect();
        assert!(
            r.top() >= 0.0 && r.bottom() <= run_panel_top && r.height() >= 20.0,
            "{label} {r:?} is cut off (the run panel starts at y = {run_panel_top})"
        );
    }
}

#[test]
fn at_1024x768_every_kind_is_reachable_and_the_canvas_has_the_larger_share() {
    let mut h = window(vec2(1024.0, 768.0));
    let canvas = h.state().canvas_rect();
    let screen = Rect::from_min_size(Pos2::ZERO, vec2(1024.0, 768.0));
    let run_panel_top = h.get_by_label("Play").rect().top();
    let run_panel_height = screen.bottom() - run_panel_top;
    assert!(
        canvas.height() > run_panel_height
            && canvas.width() > screen.width() / 2.0
            && canvas.area() > screen.area() / 3.0,
        "canvas {canvas:?} against a run panel from y = {run_panel_top}"
    );
    // Scroll the palette until "Database" is fully shown above the run panel.
    let first = h.get_by_label("Client").rect().center();
    for _ in 0..10 {
        let r = h.get_by_label("Database").rect();
        if r.bottom() <= run_panel_top && r.top() >= 0.0 {
            break;
        }
        h.hover_at(first);
        h.event(Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: vec2(0.0, -60.0),
            modifiers: Modifiers::NONE,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
        });
        h.run();
    }
    let db = h.get_by_label("Database").rect();
    assert!(db.bottom() <= run_panel_top, "Database {db:?} is reachable");
    let before = h.state().layout().nodes.len();
    click_at(&mut h, db.center(), PointerButton::Primary);
    h.run();
    let nodes = &h.state().layout().nodes;
    assert_eq!(nodes.len(), before + 1);
    assert!(
        nodes
            .last()
            .is_some_and(|n| n.kind.tag() == KindTag::Database)
    );
}

#[test]
fn the_empty_canvas_after_new_says_how_to_start() {
    let mut h = window(vec2(1280.0, 800.0));
    assert!(h.query_by_label_contains("Empty layout").is_none());
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run();
    assert!(h.state().layout().nodes.is_empty());
    let hint = h.get_by_label_contains("Empty layout. To start, drag a kind from the palette");
    assert!(inside(h.state().canvas_rect(), hint.rect()));
}
