//! Export animation…: the run as an animated GIF made of the window's own frames. Frame k
//! shows the run at k/fps simulated seconds after the export started (simulated time per
//! frame, never the wall clock, so an export is the same on a slow or a fast machine); the
//! window steps the core to that time, draws, and takes the frame with the same screenshot
//! command as Export PNG. A thread of its own encodes the frames while the window stays live.
//!
//! The pure part (frame times and delays, the size, the palette choice, resampling and the
//! changed area of a frame) is unit-tested here; `tests/it/animate.rs` writes an animation
//! of a shipped layout through the real window and decodes it back.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use eframe::egui::{self, Color32, ColorImage, ViewportCommand};

use super::status::Status;
use super::{TierlabApp, files};

/// Frames per second the dialog offers. GIF delays are whole hundredths of a second, and
/// browsers slow down any delay under 2 hundredths, so 50 is the most that plays as asked.
pub const FPS_MIN: u32 = 1;
pub const FPS_MAX: u32 = 50;
/// Simulated seconds one export may span.
pub const SPAN_MIN_S: f64 = 0.1;
pub const SPAN_MAX_S: f64 = 120.0;
/// Most frames in one export: a bound on the time and memory an export takes.
pub const FRAMES_MAX: u32 = 600;
/// The scale of the frames against the window's pixels.
pub const SCALE_MIN: f32 = 0.1;
pub const SCALE_MAX: f32 = 1.0;
/// Frames taken but not yet encoded, at most: the window waits for the encoder beyond this,
/// so a slow encoder never piles up full-size screenshots in memory.
const IN_FLIGHT_MAX: u32 = 4;
/// NeuQuant's sampling factor (1 best, 30 fastest) for frames of more than 255 colours.
const NEUQUANT_SAMPLE: i32 = 10;

/// What to export: the dialog's fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnimationSpec {
    /// Simulated seconds from now.
    pub span_s: f64,
    pub fps: u32,
    /// Frame size against the window's pixels (0.5: half the width and half the height).
    pub scale: f32,
}

impl Default for AnimationSpec {
    fn default() -> Self {
        AnimationSpec {
            span_s: 5.0,
            fps: 10,
            scale: 0.5,
        }
    }
}

impl AnimationSpec {
    /// How many frames the export takes: one per 1/fps simulated seconds of the span, so the
    /// GIF plays the span in as many seconds as it simulates.
    pub fn frames(&self) -> u32 {
        let n = (self.span_s * f64::from(self.fps)).round();
        if n.is_finite() && n >= 1.0 {
            n.min(f64::from(u32::MAX)) as u32
        } else {
            1
        }
    }

    /// Why this cannot be exported, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if !(SPAN_MIN_S..=SPAN_MAX_S).contains(&self.span_s) {
            return Some(format!(
                "The span must be {SPAN_MIN_S} to {SPAN_MAX_S} simulated seconds"
            ));
        }
        if !(FPS_MIN..=FPS_MAX).contains(&self.fps) {
            return Some(format!("{FPS_MIN} to {FPS_MAX} frames per second"));
        }
        if !(SCALE_MIN..=SCALE_MAX).contains(&self.scale) {
            return Some(format!(
                "The scale must be {:.0} % to {:.0} %",
                SCALE_MIN * 100.0,
                SCALE_MAX * 100.0
            ));
        }
        if self.frames() > FRAMES_MAX {
            return Some(format!(
                "{} frames: at most {FRAMES_MAX} (a shorter span or fewer frames per second)",
                self.frames()
            ));
        }
        None
    }

    /// Simulated ns from the export's start to frame `k` (0 for the first frame).
    pub fn frame_offset_ns(&self, k: u32) -> u64 {
        let fps = u128::from(self.fps.max(1));
        let ns = (u128::from(k) * 1_000_000_000 + fps / 2) / fps;
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// How long frame `k` shows, in hundredths of a second: the delays are rounded so that
    /// they add up to the span at every frame (30 fps: 3, 4, 3, 3, 4, 3, …), not 3 each and a
    /// GIF a tenth too fast.
    pub fn delay_cs(&self, k: u32) -> u16 {
        let fps = u64::from(self.fps.max(1));
        let at = |n: u64| (200 * n + fps) / (2 * fps);
        let d = at(u64::from(k) + 1) - at(u64::from(k));
        u16::try_from(d).unwrap_or(u16::MAX)
    }
}

/// The size of an exported frame for a screenshot of `width` × `height` pixels (at least one
/// pixel each way, at most what a GIF can hold).
pub fn scaled_size(width: usize, height: usize, scale: f32) -> (u16, u16) {
    let side = |n: usize| {
        let s = (n as f64 * f64::from(scale)).round();
        s.clamp(1.0, f64::from(u16::MAX)) as u16
    };
    (side(width), side(height))
}

/// How a frame's colours become a GIF's at most 256 palette entries.
#[derive(Clone, Debug, PartialEq)]
pub enum PaletteChoice {
    /// Few enough colours: each keeps its own entry, sorted, so the frame is exact.
    Exact(Vec<[u8; 3]>),
    /// More colours than entries: NeuQuant picks them.
    Quantise,
}

/// The palette for `colours` with `room` entries: exact when they fit, else quantised. An
/// entry is kept free for "unchanged since the last frame" (transparent), so room is 255.
pub fn choose_palette(colours: impl IntoIterator<Item = [u8; 3]>, room: usize) -> PaletteChoice {
    let mut seen = BTreeSet::new();
    for c in colours {
        if seen.insert(c) && seen.len() > room {
            return PaletteChoice::Quantise;
        }
    }
    PaletteChoice::Exact(seen.into_iter().collect())
}

/// Resample an image of `w` × `h` pixels to `dw` × `dh` by averaging the source pixels each
/// output pixel covers (a box filter: text stays readable at half size).
pub fn resample(src: &[[u8; 3]], w: usize, h: usize, dw: usize, dh: usize) -> Vec<[u8; 3]> {
    if (w, h) == (dw, dh) || w == 0 || h == 0 {
        return src.to_vec();
    }
    let span = |i: usize, n: usize, dn: usize| {
        let a = i * n / dn;
        let b = ((i + 1) * n / dn).clamp(a + 1, n);
        (a.min(n - 1), b)
    };
    let mut out = Vec::with_capacity(dw * dh);
    for y in 0..dh {
        let (y0, y1) = span(y, h, dh);
        for x in 0..dw {
            let (x0, x1) = span(x, w, dw);
            let mut sum = [0u64; 3];
            for row in y0..y1 {
                for p in src.get(row * w + x0..row * w + x1).unwrap_or_default() {
                    for (s, c) in sum.iter_mut().zip(p) {
                        *s += u64::from(*c);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            out.push(sum.map(|s| ((s + n / 2) / n.max(1)) as u8));
        }
    }
    out
}

/// A rectangle of pixels: left, top, width, height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub left: usize,
    pub top: usize,
    pub width: usize,
    pub height: usize,
}

/// The smallest rectangle holding every pixel that differs between two frames of width `w`
/// (None when they are the same).
pub fn changed_area(prev: &[[u8; 3]], cur: &[[u8; 3]], w: usize) -> Option<Area> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (i, (a, b)) in prev.iter().zip(cur).enumerate() {
        if a != b {
            let (x, y) = (i % w.max(1), i / w.max(1));
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    (x0 != usize::MAX).then(|| Area {
        left: x0,
        top: y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
    })
}

/// The GIF being written: frames in, bytes out.
struct GifWriter {
    encoder: gif::Encoder<Vec<u8>>,
    width: usize,
    height: usize,
    /// The last frame as shown, to encode only what changed.
    prev: Option<Vec<[u8; 3]>>,
    frames: u32,
    spec: AnimationSpec,
}

impl GifWriter {
    fn new(width: u16, height: u16, spec: AnimationSpec) -> Result<GifWriter, String> {
        let mut encoder = gif::Encoder::new(Vec::new(), width, height, &[])
            .map_err(|e| format!("cannot start the GIF: {e}"))?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(|e| format!("cannot start the GIF: {e}"))?;
        Ok(GifWriter {
            encoder,
            width: usize::from(width),
            height: usize::from(height),
            prev: None,
            frames: 0,
            spec,
        })
    }

    /// Add a screenshot, resampled to the GIF's size. Only the rectangle that changed since
    /// the last frame is written, and in it the unchanged pixels are transparent: a mostly
    /// still window costs little per frame.
    fn push(&mut self, img: &ColorImage) -> Result<(), String> {
        let [w, h] = img.size;
        let rgb: Vec<[u8; 3]> = img.pixels.iter().map(|c| [c.r(), c.g(), c.b()]).collect();
        let cur = resample(&rgb, w, h, self.width, self.height);
        let full = Area {
            left: 0,
            top: 0,
            width: self.width,
            height: self.height,
        };
        let area = match &self.prev {
            None => Some(full),
            Some(prev) => changed_area(prev, &cur, self.width),
        };
        // An unchanged frame is still a frame (the count is the schedule's): one pixel.
        let area = area.unwrap_or(Area {
            width: 1,
            height: 1,
            ..full
        });
        let mut pixels = Vec::with_capacity(area.width * area.height);
        let mut keep = Vec::with_capacity(area.width * area.height);
        for y in area.top..area.top + area.height {
            for x in area.left..area.left + area.width {
                let i = y * self.width + x;
                let c = cur.get(i).copied().unwrap_or_default();
                pixels.push(c);
                keep.push(self.prev.as_ref().is_some_and(|p| p.get(i) == Some(&c)));
            }
        }
        let mut frame = indexed_frame(&pixels, &keep);
        frame.left = area.left as u16;
        frame.top = area.top as u16;
        frame.width = area.width as u16;
        frame.height = area.height as u16;
        frame.delay = self.spec.delay_cs(self.frames);
        frame.dispose = gif::DisposalMethod::Keep;
        self.encoder
            .write_frame(&frame)
            .map_err(|e| format!("cannot write frame {}: {e}", self.frames + 1))?;
        self.prev = Some(cur);
        self.frames += 1;
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        self.encoder
            .into_inner()
            .map_err(|e| format!("cannot finish the GIF: {e}"))
    }
}

/// A colour's index in a frame's palette.
type IndexOf = Box<dyn Fn([u8; 3]) -> u8>;

/// A frame of indices into its own palette; pixels marked `keep` are transparent (the last
/// frame shows through).
fn indexed_frame(pixels: &[[u8; 3]], keep: &[bool]) -> gif::Frame<'static> {
    let changed = pixels
        .iter()
        .zip(keep)
        .filter(|(_, k)| !**k)
        .map(|(c, _)| *c);
    let (palette, index_of): (Vec<[u8; 3]>, IndexOf) = match choose_palette(changed.clone(), 255) {
        PaletteChoice::Exact(colours) => {
            let lookup = colours.clone();
            let index = move |c: [u8; 3]| lookup.binary_search(&c).unwrap_or(0) as u8;
            (colours, Box::new(index))
        }
        PaletteChoice::Quantise => {
            let rgba: Vec<u8> = changed.flat_map(|[r, g, b]| [r, g, b, 255]).collect();
            let nq = color_quant::NeuQuant::new(NEUQUANT_SAMPLE, 255, &rgba);
            let colours = nq
                .color_map_rgb()
                .chunks_exact(3)
                .map(|c| [c[0], c[1], c[2]])
                .collect();
            let index = move |[r, g, b]: [u8; 3]| nq.index_of(&[r, g, b, 255]) as u8;
            (colours, Box::new(index))
        }
    };
    let transparent = palette.len() as u8;
    let mut cache = std::collections::HashMap::new();
    let buffer: Vec<u8> = pixels
        .iter()
        .zip(keep)
        .map(|(c, k)| {
            if *k {
                transparent
            } else {
                *cache.entry(*c).or_insert_with(|| index_of(*c))
            }
        })
        .collect();
    let any_kept = keep.iter().any(|k| *k);
    let mut rgb: Vec<u8> = palette.iter().flatten().copied().collect();
    if any_kept {
        rgb.extend([0, 0, 0]);
    }
    gif::Frame {
        buffer: buffer.into(),
        palette: Some(rgb),
        transparent: any_kept.then_some(transparent),
        ..gif::Frame::default()
    }
}

/// How an encoding thread ended badly.
enum Stopped {
    Cancelled,
    Failed(String),
}

/// What a finished export wrote.
struct Written {
    frames: u32,
    width: u16,
    height: u16,
    bytes: usize,
}

/// The encoding thread: frames from the channel until it closes, then the file, atomically.
fn encode(
    frames: mpsc::Receiver<Arc<ColorImage>>,
    spec: AnimationSpec,
    path: PathBuf,
    encoded: Arc<AtomicU32>,
    cancel: Arc<AtomicBool>,
) -> Result<Written, Stopped> {
    let mut writer: Option<GifWriter> = None;
    for img in frames {
        if cancel.load(Ordering::SeqCst) {
            return Err(Stopped::Cancelled);
        }
        let w = match writer.as_mut() {
            Some(w) => w,
            None => {
                let (width, height) = scaled_size(img.size[0], img.size[1], spec.scale);
                writer.insert(GifWriter::new(width, height, spec).map_err(Stopped::Failed)?)
            }
        };
        w.push(&img).map_err(Stopped::Failed)?;
        encoded.fetch_add(1, Ordering::SeqCst);
    }
    if cancel.load(Ordering::SeqCst) {
        return Err(Stopped::Cancelled);
    }
    let Some(w) = writer else {
        return Err(Stopped::Failed("no frame was taken".into()));
    };
    let (frames, width, height) = (w.frames, w.width as u16, w.height as u16);
    let bytes = w.finish().map_err(Stopped::Failed)?;
    files::write_atomic(&path, &bytes).map_err(Stopped::Failed)?;
    Ok(Written {
        frames,
        width,
        height,
        bytes: bytes.len(),
    })
}

/// One export under way.
pub struct Export {
    spec: AnimationSpec,
    path: PathBuf,
    /// Frames to take (fewer than asked when the run stopped at a limit).
    frames: u32,
    /// Simulated time of the first frame.
    start_ns: u64,
    /// Frames whose screenshot was asked for, taken (the screenshot's callback counts) and
    /// encoded (the thread counts).
    asked: u32,
    taken: Arc<AtomicU32>,
    encoded: Arc<AtomicU32>,
    cancel: Arc<AtomicBool>,
    to_encoder: Option<mpsc::Sender<Arc<ColorImage>>>,
    thread: Option<JoinHandle<Result<Written, Stopped>>>,
    /// This frame shows the run at frame `asked`'s time: take it at the frame's end.
    take_now: bool,
    /// The run was playing when the export began: it plays on after.
    resume: bool,
    /// Why fewer frames than asked were taken.
    cut_short: Option<String>,
    /// When it began, on the wall clock: the status line says how long it took.
    began: std::time::Instant,
}

impl Export {
    /// Frames encoded so far and in all.
    pub fn progress(&self) -> (u32, u32) {
        (self.encoded.load(Ordering::SeqCst), self.frames)
    }

    /// Whether every frame has been taken (only encoding is left).
    fn all_taken(&self) -> bool {
        self.taken.load(Ordering::SeqCst) >= self.frames
    }
}

/// The dialog and the export under way, if any.
#[derive(Default)]
pub struct Animate {
    /// The dialog is shown.
    pub open: bool,
    pub spec: AnimationSpec,
    /// Where the GIF goes (the dialog's text field).
    pub path: String,
    pub export: Option<Export>,
    /// Scripted (`TIERLAB_ANIMATE`): start once the run has reached this time, close after.
    script: Option<(PathBuf, f64)>,
    /// The last export's result, for tests and scripts.
    pub last: Option<Result<PathBuf, String>>,
}

impl TierlabApp {
    /// File > Export animation…: the dialog, its file name next to the open layout.
    pub(super) fn open_animation_dialog(&mut self) {
        if self.animate.export.is_some() {
            return;
        }
        self.animate.path = self.default_animation_path().display().to_string();
        self.animate.open = true;
    }

    /// `saves/<name>.gif` beside the open layout's file, or in the save folder.
    fn default_animation_path(&self) -> PathBuf {
        if let Some(file) = self.doc.file() {
            return file.with_extension("gif");
        }
        let stem = self.layout_file_stem();
        self.config.save_dir.join(format!("{stem}.gif"))
    }

    /// Start exporting `spec` to `path` from the run's present (building the core if there
    /// is none yet). The run pauses while frames are taken and plays on after if it played.
    pub fn start_animation(&mut self, path: PathBuf, spec: AnimationSpec) {
        if self.animate.export.is_some() {
            return;
        }
        if let Some(why) = spec.problem() {
            self.status = Some(Status::error(why));
            return;
        }
        if !self.run.ensure(&self.doc.layout) {
            let why = self.run.error.clone().unwrap_or_default();
            self.status = Some(Status::error(why));
            return;
        }
        let Some(sim) = self.run.sim.as_ref() else {
            return;
        };
        let start_ns = sim.now_ns();
        let (tx, rx) = mpsc::channel();
        let encoded = Arc::new(AtomicU32::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let thread = {
            let (path, encoded, cancel) = (path.clone(), encoded.clone(), cancel.clone());
            std::thread::Builder::new()
                .name("tierlab-animation".into())
                .spawn(move || encode(rx, spec, path, encoded, cancel))
        };
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                self.status = Some(Status::error(format!("cannot start the export: {e}")));
                return;
            }
        };
        self.animate.open = false;
        self.animate.last = None;
        self.animate.export = Some(Export {
            spec,
            path,
            frames: spec.frames(),
            start_ns,
            asked: 0,
            taken: Arc::new(AtomicU32::new(0)),
            encoded,
            cancel,
            to_encoder: Some(tx),
            thread: Some(thread),
            take_now: false,
            resume: self.run.playing,
            cut_short: None,
            began: std::time::Instant::now(),
        });
        // The first frame shows the run as it is now: no tick before it.
        self.run.playing = false;
    }

    /// Stop the export under way; nothing is written.
    pub(super) fn cancel_animation(&mut self) {
        if let Some(ex) = &mut self.animate.export {
            ex.cancel.store(true, Ordering::SeqCst);
            ex.to_encoder = None;
        }
    }

    /// Whether an export is under way.
    pub fn is_animating(&self) -> bool {
        self.animate.export.is_some()
    }

    /// The last export's file, or why it failed or stopped.
    pub fn animation_result(&self) -> Option<&Result<PathBuf, String>> {
        self.animate.last.as_ref()
    }

    /// Before drawing: hold the run, and once the last frame is taken (and the encoder keeps
    /// up), step the core to the next frame's simulated time; this frame is then taken.
    pub(super) fn animate_before_draw(&mut self) {
        let Some(ex) = self.animate.export.as_mut() else {
            return;
        };
        self.run.playing = false;
        if ex.asked >= ex.frames || ex.cancel.load(Ordering::SeqCst) {
            return;
        }
        let taken = ex.taken.load(Ordering::SeqCst);
        let encoded = ex.encoded.load(Ordering::SeqCst);
        if taken < ex.asked || ex.asked.saturating_sub(encoded) >= IN_FLIGHT_MAX {
            return;
        }
        let Some(sim) = self.run.sim.as_mut() else {
            ex.frames = ex.asked;
            ex.cut_short = Some("the run was reset".into());
            return;
        };
        let target_ns = ex
            .start_ns
            .saturating_add(ex.spec.frame_offset_ns(ex.asked));
        if target_ns > sim.now_ns() {
            sim.run_ticks((target_ns - sim.now_ns()).div_ceil(sim.tick_ns().max(1)));
            self.run.rewind.after_advance(sim);
        }
        if let Some(halt) = sim.halted()
            && sim.now_ns() < target_ns
        {
            ex.frames = ex.asked;
            ex.cut_short = Some(format!("the run stopped: {halt}"));
            return;
        }
        ex.take_now = true;
    }

    /// After drawing: take this frame if it is one, show progress in the title, and end the
    /// export when the encoder has written the file.
    pub(super) fn animate_hook(&mut self, ctx: &egui::Context) {
        self.animate_script(ctx);
        let Some(ex) = self.animate.export.as_mut() else {
            return;
        };
        ctx.request_repaint();
        if std::mem::take(&mut ex.take_now)
            && let Some(tx) = ex.to_encoder.clone()
        {
            ex.asked += 1;
            let taken = ex.taken.clone();
            ctx.request_screenshot(move |img| {
                // A closed channel means the export was cancelled: the frame is not needed.
                let _ = tx.send(img);
                taken.fetch_add(1, Ordering::SeqCst);
            });
        }
        if ex.all_taken() {
            // The last frame is in the channel: closing it lets the encoder finish.
            ex.to_encoder = None;
        }
        let (done, total) = ex.progress();
        let title = format!("Exporting animation {done}/{total} - {}", self.doc.title());
        ctx.send_viewport_cmd(ViewportCommand::Title(title));
        self.title_sent.clear();
        if ex.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Some(ex) = self.animate.export.take() else {
            return;
        };
        let result = match ex.thread.map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err(Stopped::Failed("the encoder stopped (a bug)".into())),
        };
        let (status, last) = match result {
            Ok(w) => {
                let short = ex
                    .cut_short
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default();
                let msg = format!(
                    "Exported {} frames of {}x{} px ({} kB) to {} in {:.1} s{short}",
                    w.frames,
                    w.width,
                    w.height,
                    w.bytes.div_ceil(1024),
                    ex.path.display(),
                    ex.began.elapsed().as_secs_f64()
                );
                (Status::info(msg), Ok(ex.path))
            }
            Err(Stopped::Cancelled) => (
                Status::info("Animation export cancelled: nothing written"),
                Err("cancelled".to_string()),
            ),
            Err(Stopped::Failed(why)) => (Status::error(why.clone()), Err(why)),
        };
        self.status = Some(status);
        self.animate.last = Some(last);
        if ex.resume {
            self.run.playing = true;
        }
    }

    /// The dialog (span, frames per second, scale, file) and, once all frames are taken,
    /// the encoding's progress with Cancel. While frames are taken nothing extra is drawn, so
    /// the frames show the window alone; the title shows the progress then.
    pub(super) fn animate_ui(&mut self, ctx: &egui::Context) {
        if let Some(ex) = &self.animate.export {
            if !ex.all_taken() {
                return;
            }
            let (done, total) = ex.progress();
            let mut cancel = false;
            egui::Window::new("Export animation")
                .collapsible(false)
                .resizable(false)
                .show(ctx, |ui| {
                    ui.label(format!("Encoding frame {done} of {total}"));
                    ui.add(
                        egui::ProgressBar::new(done as f32 / total.max(1) as f32).show_percentage(),
                    );
                    cancel = ui.button("Cancel").clicked();
                });
            if cancel {
                self.cancel_animation();
            }
            return;
        }
        if !self.animate.open {
            return;
        }
        let mut open = true;
        let mut start = false;
        let now_s = self.run.now_s();
        let a = &mut self.animate;
        egui::Window::new("Export animation")
            .collapsible(false)
            .resizable(false)
            .open(&mut open)
            .show(ctx, |ui| {
                egui::Grid::new("animation fields")
                    .num_columns(2)
                    .show(ui, |ui| {
                        ui.label("Span");
                        ui.add(
                            egui::DragValue::new(&mut a.spec.span_s)
                                .range(SPAN_MIN_S..=SPAN_MAX_S)
                                .speed(0.1)
                                .suffix(" s simulated"),
                        );
                        ui.end_row();
                        ui.label("Frames per second");
                        ui.add(egui::DragValue::new(&mut a.spec.fps).range(FPS_MIN..=FPS_MAX));
                        ui.end_row();
                        ui.label("Scale");
                        let mut percent = a.spec.scale * 100.0;
                        ui.add(
                            egui::DragValue::new(&mut percent)
                                .range(SCALE_MIN * 100.0..=SCALE_MAX * 100.0)
                                .suffix(" %"),
                        );
                        a.spec.scale = (percent / 100.0).clamp(SCALE_MIN, SCALE_MAX);
                        ui.end_row();
                        ui.label("File");
                        ui.text_edit_singleline(&mut a.path);
                        ui.end_row();
                    });
                ui.label(format!(
                    "{} frames of the run from {now_s:.1} s to {:.1} s; the GIF plays them in {:.1} s",
                    a.spec.frames(),
                    now_s + a.spec.span_s,
                    a.spec.span_s
                ));
                let problem = a.spec.problem();
                if let Some(p) = &problem {
                    ui.colored_label(Color32::from_rgb(200, 60, 60), p);
                }
                ui.horizontal(|ui| {
                    start = ui
                        .add_enabled(problem.is_none() && !a.path.is_empty(), egui::Button::new("Export GIF"))
                        .clicked();
                    if ui.button("Close").clicked() {
                        a.open = false;
                    }
                });
            });
        if !open {
            self.animate.open = false;
        }
        if start {
            let path = PathBuf::from(self.animate.path.trim());
            self.start_animation(path, self.animate.spec);
        }
    }

    /// `TIERLAB_ANIMATE`: once the window has settled and the run has reached the screenshot
    /// time, export; close the window when the file is written.
    pub(super) fn script_animation(&mut self, path: PathBuf, spec: AnimationSpec, after_s: f64) {
        self.animate.spec = spec;
        self.animate.script = Some((path, after_s));
    }

    fn animate_script(&mut self, ctx: &egui::Context) {
        let Some((path, after_s)) = self.animate.script.clone() else {
            return;
        };
        ctx.request_repaint();
        match &self.animate.last {
            Some(result) => {
                match result {
                    Ok(_) => {
                        let said = self.status.as_ref().map(|s| s.message.as_str());
                        eprintln!("{}", said.unwrap_or("animation saved"));
                    }
                    Err(e) => eprintln!("animation not saved: {e}"),
                }
                self.animate.script = None;
                self.allow_close = true;
                ctx.send_viewport_cmd(ViewportCommand::Close);
            }
            None if self.animate.export.is_none()
                && self.frames >= 5
                && self.run.now_s() >= after_s =>
            {
                self.start_animation(path, self.animate.spec);
                if self.animate.export.is_none() {
                    // Refused (a bad spec or a layout that cannot run): say so and close.
                    let why = self.status.as_ref().map(|s| s.message.clone());
                    self.animate.last = Some(Err(why.unwrap_or_default()));
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // Tests may: a failed encode or decode fails the test.
mod tests {
    use super::*;

    fn spec(span_s: f64, fps: u32) -> AnimationSpec {
        AnimationSpec {
            span_s,
            fps,
            scale: 1.0,
        }
    }

    #[test]
    fn frames_cover_the_span_at_the_rate_asked() {
        assert_eq!(spec(2.0, 10).frames(), 20);
        assert_eq!(spec(0.25, 30).frames(), 8); // 7.5 rounds up
        assert_eq!(spec(0.01, 10).frames(), 1);
        // Frame k is k/fps simulated seconds after the start, rounded to the nanosecond.
        let s = spec(1.0, 3);
        let offsets: Vec<u64> = (0..4).map(|k| s.frame_offset_ns(k)).collect();
        assert_eq!(offsets, [0, 333_333_333, 666_666_667, 1_000_000_000]);
    }

    #[test]
    fn delays_add_up_to_the_span_at_every_frame() {
        for fps in [1, 3, 7, 10, 24, 30, 50] {
            let s = spec(10.0, fps);
            let mut total_cs = 0u64;
            for k in 0..s.frames() {
                total_cs += u64::from(s.delay_cs(k));
                // After k+1 frames the GIF has played (k+1)/fps seconds, within half a
                // hundredth: the error never builds up.
                let exact_cs = (k + 1) as f64 * 100.0 / f64::from(fps);
                assert!(
                    (total_cs as f64 - exact_cs).abs() <= 0.5,
                    "{fps} fps frame {k}"
                );
            }
        }
        let s = spec(1.0, 30);
        let first: Vec<u16> = (0..6).map(|k| s.delay_cs(k)).collect();
        assert_eq!(first, [3, 4, 3, 3, 4, 3]);
    }

    #[test]
    fn only_what_a_gif_can_play_is_offered() {
        assert_eq!(AnimationSpec::default().problem(), None);
        assert!(spec(5.0, 60).problem().is_some(), "over 50 fps");
        assert!(spec(0.0, 10).problem().is_some());
        assert!(spec(f64::NAN, 10).problem().is_some());
        assert!(spec(100.0, 10).problem().is_some(), "1000 frames");
        let tiny = AnimationSpec {
            scale: 0.01,
            ..AnimationSpec::default()
        };
        assert!(tiny.problem().is_some());
    }

    #[test]
    fn sizes_scale_and_never_vanish() {
        assert_eq!(scaled_size(1280, 800, 0.5), (640, 400));
        assert_eq!(scaled_size(1281, 801, 0.5), (641, 401)); // 640.5 rounds away from zero
        assert_eq!(scaled_size(3, 3, 0.1), (1, 1));
        assert_eq!(scaled_size(100_000, 10, 1.0), (u16::MAX, 10));
    }

    #[test]
    fn few_colours_are_exact_and_many_are_quantised() {
        let few = [[9, 9, 9], [1, 2, 3], [9, 9, 9], [0, 0, 0]];
        assert_eq!(
            choose_palette(few, 255),
            PaletteChoice::Exact(vec![[0, 0, 0], [1, 2, 3], [9, 9, 9]])
        );
        let many = (0..=255u8).map(|i| [i, 0, 0]);
        assert_eq!(choose_palette(many.clone(), 255), PaletteChoice::Quantise);
        assert!(matches!(choose_palette(many, 256), PaletteChoice::Exact(p) if p.len() == 256));
    }

    #[test]
    fn resampling_averages_the_pixels_each_output_pixel_covers() {
        // A 4x2 image: left half a black/white checker, right half pure red.
        let (b, w, r) = ([0, 0, 0], [255, 255, 255], [200, 10, 0]);
        let src = [b, w, r, r, w, b, r, r];
        let half = resample(&src, 4, 2, 2, 1);
        // (0+255+255+0)/4 = 127.5, rounded half up.
        assert_eq!(half, [[128, 128, 128], r]);
        assert_eq!(resample(&src, 4, 2, 4, 2), src);
        // Enlarging repeats pixels.
        assert_eq!(resample(&[b, w], 2, 1, 4, 1), [b, b, w, w]);
    }

    #[test]
    fn the_changed_area_is_the_box_around_every_changed_pixel() {
        let a = vec![[0u8; 3]; 12]; // 4 wide, 3 high
        assert_eq!(changed_area(&a, &a, 4), None);
        let mut b = a.clone();
        b[4 + 1] = [1, 1, 1]; // (1, 1)
        b[2 * 4 + 3] = [2, 2, 2]; // (3, 2)
        assert_eq!(
            changed_area(&a, &b, 4),
            Some(Area {
                left: 1,
                top: 1,
                width: 3,
                height: 2
            })
        );
    }

    /// Encode three frames and decode them with the gif crate's decoder, composing the
    /// sub-frames as a viewer does: each shown frame is the screenshot, exactly.
    #[test]
    fn frames_decode_back_to_the_screenshots() {
        let shot = |f: &dyn Fn(usize, usize) -> Color32| {
            let pixels = (0..6 * 4).map(|i| f(i % 6, i / 6)).collect();
            ColorImage::new([6, 4], pixels)
        };
        let grey = Color32::from_rgb(30, 30, 30);
        let shots = [
            shot(&|_, _| grey),
            shot(&|x, y| if (x, y) == (2, 1) { Color32::RED } else { grey }),
            shot(&|x, y| if (x, y) == (2, 1) { Color32::RED } else { grey }),
        ];
        let mut w = GifWriter::new(6, 4, spec(0.3, 10)).expect("writer");
        for s in &shots {
            w.push(s).expect("frame");
        }
        let bytes = w.finish().expect("bytes");
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut d = options.read_info(bytes.as_slice()).expect("decoder");
        let mut canvas = vec![0u8; 6 * 4 * 4];
        let mut n = 0;
        while let Some(f) = d.read_next_frame().expect("frame") {
            for y in 0..usize::from(f.height) {
                for x in 0..usize::from(f.width) {
                    let src = &f.buffer[(y * usize::from(f.width) + x) * 4..][..4];
                    if src[3] != 0 {
                        let at = ((y + usize::from(f.top)) * 6 + x + usize::from(f.left)) * 4;
                        canvas[at..at + 4].copy_from_slice(src);
                    }
                }
            }
            let want: Vec<u8> = shots[n].pixels.iter().flat_map(|c| c.to_array()).collect();
            assert_eq!(canvas, want, "frame {n}");
            assert_eq!(f.delay, 10);
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
