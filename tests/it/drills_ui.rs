//! Design drills in the window (issue 16), driven by clicks: open a drill from the gallery,
//! run the whiteboard timer, reveal the checklist, try it, Check an answer on the grader's
//! thread, see "n/4 done", and find it again in an app rebuilt from the stored progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::drill::MemoryStore;
use tierlab::app::{AppConfig, TierlabApp};

use crate::check;
use crate::drills::answers;
use crate::window::{click_at, frames};

fn window(store: &MemoryStore) -> Harness<'static, TierlabApp> {
    let app = TierlabApp::new(AppConfig {
        native_dialogs: false,
        save_dir: std::env::temp_dir().join(format!("tierlab-drills-{}", std::process::id())),
        fixed_ticks_per_frame: Some(20),
        drill_store: Arc::new(store.clone()),
    });
    let mut h = Harness::builder()
        .with_size(vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h
}

fn click(h: &mut Harness<'_, TierlabApp>, label: &str) {
    let p = h.get_by_label(label).rect().center();
    click_at(h, p);
}

fn open_gallery(h: &mut Harness<'_, TierlabApp>) {
    click(h, "Lessons");
    click(h, "Scenario gallery…");
    frames(h, 2);
    assert!(h.state().is_gallery_shown());
}

/// Open the `n`th drill (1-based) from the gallery.
fn open_drill(h: &mut Harness<'_, TierlabApp>, n: usize) {
    open_gallery(h);
    let title = tierlab::drill::shipped()
        .into_iter()
        .nth(n - 1)
        .map(|d| d.lesson.title)
        .unwrap_or_else(|| panic!("no drill {n}"));
    let p = h.get_by_label_contains(&title).rect().center();
    click_at(h, p);
    assert!(!h.state().is_gallery_shown());
    assert!(h.state().drill().is_some(), "drill {n} is open");
}

/// Click Check and let frames pass until the grade is in (the grader runs on its own thread).
fn check_and_wait(h: &mut Harness<'_, TierlabApp>) -> bool {
    click(h, "Check");
    let start = Instant::now();
    loop {
        frames(h, 1);
        let v = h
            .state()
            .drill()
            .unwrap_or_else(|| panic!("the drill closed"));
        if let Some(g) = &v.grade {
            return g.passed;
        }
        assert!(v.message.is_none(), "{:?}", v.message);
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "Check never ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn done_label(n: usize) -> String {
    format!("{n}/{} done", tierlab::shipped::DRILLS.len())
}

#[test]
fn a_drill_is_started_revealed_tried_checked_and_stays_done_after_a_relaunch() {
    let store = MemoryStore::default();
    let mut h = window(&store);
    open_gallery(&mut h);
    assert!(
        h.query_by_label(&done_label(0)).is_some(),
        "0 done at first"
    );
    open_drill(&mut h, 1);

    // The whiteboard timer: starts, counts down on the wall clock, pauses.
    let full = h.state().drill().map(|d| d.timer_left_s).unwrap_or(0.0);
    assert_eq!(full, 5.0 * 60.0, "drill 1's timer is 5 minutes");
    click(&mut h, "Start timer");
    std::thread::sleep(Duration::from_millis(300));
    frames(&mut h, 3);
    click(&mut h, "Pause timer");
    let paused = h.state().drill().map(|d| d.timer_left_s).unwrap_or(0.0);
    assert!(paused < full, "the timer ran: {paused}");
    std::thread::sleep(Duration::from_millis(200));
    frames(&mut h, 3);
    assert_eq!(
        h.state().drill().map(|d| d.timer_left_s),
        Some(paused),
        "a paused timer stands still"
    );
    assert!(h.query_by_label("Resume timer").is_some());

    // Reveal shows the checklist.
    assert!(h.query_by_label_contains("size ladder has a top").is_none());
    click(&mut h, "Reveal");
    assert!(h.query_by_label_contains("size ladder has a top").is_some());

    // Try it opens the starting layout; as it is, Check does not pass it.
    click(&mut h, "Try it");
    assert_eq!(h.state().layout().name, "One busy app server");
    assert!(!check_and_wait(&mut h), "the starting layout is no answer");
    assert!(h.query_by_label("Not yet").is_some());
    assert!(h.query_by_label(&done_label(0)).is_some());

    // The passing answer passes and the drill counts as done.
    assert!(
        h.state_mut()
            .open_file(&check::repo("tests/drills/1-warm-up.pass.ron"))
    );
    assert!(check_and_wait(&mut h));
    assert!(h.query_by_label("Passed: drill done").is_some());
    assert!(h.query_by_label(&done_label(1)).is_some());

    // A new launch reads the progress from the store.
    drop(h);
    let mut h = window(&store);
    open_gallery(&mut h);
    assert!(h.query_by_label(&done_label(1)).is_some(), "still 1 done");
    assert!(h.query_by_label_contains("(done)").is_some());
}

#[test]
fn the_window_grades_every_shipped_answer_as_the_command_line_does() {
    let store = MemoryStore::default();
    let mut h = window(&store);
    for (drill, file, should_pass) in answers() {
        let n: u32 = drill.parse().unwrap_or_else(|e| panic!("{drill}: {e}"));
        let index = tierlab::shipped::DRILLS
            .iter()
            .position(|(f, _)| tierlab::drill::number(f) == Some(n))
            .unwrap_or_else(|| panic!("drill {n}"));
        open_drill(&mut h, index + 1);
        assert!(h.state_mut().open_file(&file), "{}", file.display());
        assert_eq!(check_and_wait(&mut h), should_pass, "{}", file.display());
        click(&mut h, "Close");
    }
}

#[test]
fn checking_a_failing_spof_answer_names_the_balancer() {
    let store = MemoryStore::default();
    let mut h = window(&store);
    let index = tierlab::shipped::DRILLS
        .iter()
        .position(|(f, _)| tierlab::drill::number(f) == Some(3))
        .unwrap_or_else(|| panic!("no drill 3"));
    open_drill(&mut h, index + 1);
    assert!(
        h.state_mut()
            .open_file(&check::repo("tests/drills/3-balancer-spof.fail.ron"))
    );
    assert!(!check_and_wait(&mut h));
    assert!(
        h.query_by_label_contains("single point of failure: lb's death fails 100.0 %")
            .is_some(),
        "the grade names the balancer"
    );
    assert!(h.query_by_label(&done_label(0)).is_some());
}
