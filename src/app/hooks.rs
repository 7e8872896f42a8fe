//! After each frame: the title, closing, PNG exports and the scripted-run hooks of `Config`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eframe::egui::{self, ViewportCommand};

use super::config::Config;
use super::edit::Edit;
use super::status::Status;
use super::{TierlabApp, files};
use crate::layout::{Command, Target};

/// Scripted runs: save a screenshot and close, or close after a number of frames.
#[derive(Default)]
pub struct Hooks {
    screenshot_to: Option<PathBuf>,
    exit_after_frames: Option<u64>,
    screenshot_requested: bool,
    screenshot_done: Arc<AtomicBool>,
    /// Take the screenshot only once the run has reached this simulated time.
    screenshot_after_s: f64,
    /// Rewind to this time and kill this node there, once (`TIERLAB_BRANCH`).
    branch: Option<(f64, String)>,
    /// Show the slowest requests' waterfalls first (`TIERLAB_WATERFALL`), and the frames
    /// since they arrived.
    waterfall: bool,
    waterfall_asked: bool,
    waterfall_frames: u32,
}

impl Hooks {
    /// The hooks `config` asks for.
    pub fn new(config: &Config) -> Hooks {
        Hooks {
            screenshot_to: config.screenshot_to.clone(),
            exit_after_frames: config.exit_after_frames,
            screenshot_after_s: config.screenshot_after_s,
            branch: config.branch.clone(),
            waterfall: config.waterfall,
            ..Hooks::default()
        }
    }
}

impl TierlabApp {
    pub(super) fn title_and_hooks(&mut self, ctx: &egui::Context) {
        let title = self.doc.title();
        if title != self.title_sent {
            ctx.send_viewport_cmd(ViewportCommand::Title(title.clone()));
            self.title_sent = title;
        }
        if self.allow_close {
            self.clean_exit();
            ctx.send_viewport_cmd(ViewportCommand::Close);
        }
        self.export_png_hook(ctx);
        self.branch_hook();
        self.screenshot_hook(ctx);
        self.animate_hook(ctx);
        if let Some(n) = self.hooks.exit_after_frames {
            ctx.request_repaint();
            if self.frames >= n {
                self.allow_close = true;
                ctx.send_viewport_cmd(ViewportCommand::Close);
            }
        }
    }

    /// Export PNG: ask for a screenshot of this frame; its message comes back a frame later.
    fn export_png_hook(&mut self, ctx: &egui::Context) {
        if let Some(path) = self.export_png.take() {
            let result = self.export_result.clone();
            ctx.request_screenshot(move |img| {
                let message = match save_png(&path, &img) {
                    Ok(()) => Status::info(format!("Exported {}", path.display())),
                    Err(e) => Status::error(e),
                };
                if let Ok(mut r) = result.lock() {
                    *r = Some(message);
                }
            });
            ctx.request_repaint();
        }
        if let Ok(mut r) = self.export_result.try_lock()
            && let Some(m) = r.take()
        {
            self.status = Some(m);
        }
    }

    /// `TIERLAB_BRANCH`: once the run has reached the screenshot time, rewind, kill the node
    /// there and play on (the screenshot waits for the branch to reach that time again).
    fn branch_hook(&mut self) {
        if self.run.now_s() < self.hooks.screenshot_after_s {
            return;
        }
        let Some((at_s, name)) = self.hooks.branch.take() else {
            return;
        };
        self.run.seek_to_s(at_s);
        match self.doc.layout.nodes.iter().find(|n| n.name == name) {
            Some(node) => {
                let kill = Command::Kill(Target::node(node.id));
                self.apply_edit(Edit::Command(kill));
            }
            None => self.status = Some(Status::error(format!("No node named {name}"))),
        }
        self.run.playing = true;
    }

    /// `TIERLAB_SCREENSHOT`: once the window has settled and the run has gone far enough,
    /// save a screenshot, then close.
    fn screenshot_hook(&mut self, ctx: &egui::Context) {
        let Some(path) = self.hooks.screenshot_to.clone() else {
            return;
        };
        ctx.request_repaint();
        // In the A/B split view: once the twins have run that far and the study has ended.
        let ran_enough = match &self.compare {
            Some(v) => v.a.run.now_s() >= self.hooks.screenshot_after_s && !v.is_studying(),
            None => {
                self.run.now_s() >= self.hooks.screenshot_after_s
                    && !self.sweep.running()
                    && !self.breaks.is_running()
                    && !self.drill.as_ref().is_some_and(|d| d.checking())
            }
        };
        if self.hooks.waterfall && ran_enough {
            if !self.hooks.waterfall_asked {
                self.hooks.waterfall_asked = true;
                self.run.playing = false;
                self.show_slowest();
            }
            if self.waterfall.shown.is_empty() && self.waterfall.error.is_none() {
                return;
            }
            // The new window is measured in its first frame and drawn in the next.
            self.hooks.waterfall_frames += 1;
            if self.hooks.waterfall_frames < 3 {
                return;
            }
        }
        if self.frames >= 5 && ran_enough && !self.hooks.screenshot_requested {
            self.hooks.screenshot_requested = true;
            let done = self.hooks.screenshot_done.clone();
            ctx.request_screenshot(move |img| {
                let [w, h] = img.size;
                let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
                match image::save_buffer(&path, &rgba, w as u32, h as u32, image::ColorType::Rgba8)
                {
                    Ok(()) => eprintln!("screenshot saved to {}", path.display()),
                    Err(e) => eprintln!("cannot save screenshot {}: {e}", path.display()),
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        if self.hooks.screenshot_done.load(Ordering::SeqCst) {
            self.allow_close = true;
            ctx.send_viewport_cmd(ViewportCommand::Close);
        }
    }
}

/// Encode a screenshot as PNG and write it atomically.
fn save_png(path: &Path, img: &egui::ColorImage) -> Result<(), String> {
    use image::ImageEncoder as _;
    let [w, h] = img.size;
    let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&rgba, w as u32, h as u32, image::ExtendedColorType::Rgba8)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    files::write_atomic(path, &bytes)
}
