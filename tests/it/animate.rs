//! File > Export animation…, driven like a user would: Play, the menu, the dialog's button.
//! kittest renders the window's own frames (wgpu, on the CPU) when the export asks for a
//! screenshot, as eframe does in the real window; the GIF is decoded back with the gif
//! crate's decoder and composed as a viewer shows it.

use std::path::{Path, PathBuf};

use eframe::egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tierlab::app::{AnimationSpec, AppConfig, TierlabApp};

/// Window size in points (kittest renders one pixel per point).
const WIDTH: f32 = 800.0;
const HEIGHT: f32 = 500.0;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tierlab-animate-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(&d);
    d
}

/// The starter layout (request-flow.ron, shipped), played for a few frames.
fn playing_window(save_dir: PathBuf) -> Harness<'static, TierlabApp> {
    let app = TierlabApp::new(AppConfig {
        save_dir,
        // 10 ms of simulated time per frame, whatever the wall clock says.
        fixed_ticks_per_frame: Some(10),
        ..AppConfig::default()
    });
    let mut h = Harness::builder()
        .with_size(vec2(WIDTH, HEIGHT))
        .build_ui_state(|ui, app: &mut TierlabApp| app.ui(ui), app);
    h.run();
    h.get_by_label("Play").click();
    frames(&mut h, 30);
    assert!(h.state().is_playing());
    h
}

/// File > Export animation…, the dialog's fields as a user would type them, Export GIF.
/// Returns the simulated time at the click: the first frame's.
fn export(h: &mut Harness<'_, TierlabApp>, path: &Path, spec: AnimationSpec) -> u64 {
    h.get_by_label("File").click();
    frames(h, 2);
    h.get_by_label("Export animation…").click();
    frames(h, 2);
    let dialog = h.state_mut().animation_dialog();
    assert!(dialog.open, "the menu opens the dialog");
    dialog.spec = spec;
    dialog.path = path.display().to_string();
    h.step();
    h.get_by_label("Export GIF").click();
    h.step();
    assert!(h.state().is_animating());
    h.state().sim().map_or(0, |s| s.now_ns())
}

/// Draw `n` frames (the run requests a repaint every frame, so `run` would never settle).
fn frames(h: &mut Harness<'_, TierlabApp>, n: usize) {
    for _ in 0..n {
        h.step();
    }
}

/// Step frames until the export has ended (bounded).
fn finish(h: &mut Harness<'_, TierlabApp>) {
    for _ in 0..2000 {
        if !h.state().is_animating() {
            return;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("the export did not end");
}

/// A GIF's frames as shown (RGBA each), and its width and height.
type Decoded = (Vec<Vec<u8>>, (u16, u16));

/// Every frame of a GIF as shown: the sub-frames drawn over the last, transparent pixels
/// letting it show through. Also the size.
fn decode(path: &Path) -> Result<Decoded, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut d = options.read_info(file).map_err(|e| e.to_string())?;
    let (w, h) = (d.width(), d.height());
    let mut canvas = vec![0u8; usize::from(w) * usize::from(h) * 4];
    let mut shown = Vec::new();
    while let Some(f) = d.read_next_frame().map_err(|e| e.to_string())? {
        let fw = usize::from(f.width);
        for (i, px) in f.buffer.chunks_exact(4).enumerate() {
            if px[3] == 0 {
                continue;
            }
            let (x, y) = (usize::from(f.left) + i % fw, usize::from(f.top) + i / fw);
            let at = (y * usize::from(w) + x) * 4;
            canvas[at..at + 4].copy_from_slice(px);
        }
        shown.push(canvas.clone());
    }
    Ok((shown, (w, h)))
}

fn distinct_colours(rgba: &[u8]) -> usize {
    let set: std::collections::BTreeSet<&[u8]> = rgba.chunks_exact(4).collect();
    set.len()
}

#[test]
fn an_exported_animation_has_the_frames_and_size_asked_and_shows_the_run_moving() {
    let dir = temp_dir("export");
    let path = dir.join("request-flow.gif");
    let mut h = playing_window(dir.clone());
    // 0.6 simulated seconds at 10 frames per second, at half size.
    let spec = AnimationSpec {
        span_s: 0.6,
        fps: 10,
        scale: 0.5,
    };
    let start_ns = export(&mut h, &path, spec);
    finish(&mut h);
    assert_eq!(h.state().animation_result(), Some(&Ok(path.clone())));

    let (frames, size) = match decode(&path) {
        Ok(d) => d,
        Err(e) => panic!("cannot decode {}: {e}", path.display()),
    };
    println!(
        "animation: {} frames of {}x{}, {} bytes, first frame {} colours",
        frames.len(),
        size.0,
        size.1,
        std::fs::metadata(&path).map_or(0, |m| m.len()),
        distinct_colours(&frames[0])
    );
    assert_eq!(frames.len(), 6, "0.6 s at 10 frames per second");
    assert_eq!(size, ((WIDTH / 2.0) as u16, (HEIGHT / 2.0) as u16));
    // The frames are the window: many colours (text, panels, plots), not a blank image.
    assert!(distinct_colours(&frames[0]) > 20);
    // The run moved between the first and the last frame, and it shows.
    assert!(
        frames[0] != frames[5],
        "the first and last frames are the same"
    );
    // The last frame shows the run 0.5 simulated seconds after the first (one 10 ms tick of
    // rounding at most), whatever the wall clock did meanwhile.
    let now_ns = h.state().sim().map_or(0, |s| s.now_ns());
    let after_ns = now_ns - start_ns;
    assert!(
        (500_000_000..510_000_000).contains(&after_ns),
        "{after_ns} ns"
    );
    // The run was playing: it plays on.
    assert!(h.state().is_playing());
    assert!(!dir_has_temp_files(&dir));
}

#[test]
fn a_cancelled_export_writes_nothing() {
    let dir = temp_dir("cancel");
    let path = dir.join("cancelled.gif");
    let mut h = playing_window(dir.clone());
    let spec = AnimationSpec {
        span_s: 30.0,
        fps: 10,
        scale: 0.25,
    };
    let _ = export(&mut h, &path, spec);
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label("File").click();
    frames(&mut h, 2);
    h.get_by_label("Cancel animation export").click();
    finish(&mut h);
    assert_eq!(
        h.state().animation_result(),
        Some(&Err("cancelled".to_string()))
    );
    assert!(!path.exists());
    assert!(!dir_has_temp_files(&dir));
}

fn dir_has_temp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        })
        .unwrap_or(false)
}
