//! The run panel: controls, summary and plots, and what its buttons do (play, export, …).

use std::path::PathBuf;

use eframe::egui::{self, Ui};

use super::edit::Edit;
use super::plots::RunAction;
use super::status::{Status, plural};
use super::{TierlabApp, files, plots, rewind};
use crate::sim::Sim;

impl TierlabApp {
    pub(super) fn run_panel_ui(&mut self, ui: &mut Ui) {
        ui.add_space(4.0);
        let actions = plots::controls_ui(ui, &mut self.run);
        plots::summary_ui(ui, self.run.sim.as_ref(), &self.run.view);
        ui.separator();
        // The timeline (and a branch's comparison) keeps its place under the plots.
        let below = if self.run.sim.is_some() {
            self.run.rewind.height(ui)
        } else {
            0.0
        };
        let plots_h = (ui.available_height() - below).max(0.0);
        ui.allocate_ui(egui::vec2(ui.available_width(), plots_h), |ui| {
            plots::plots_ui(
                ui,
                &mut self.plots,
                self.run.sim.as_ref(),
                self.run.rewind.original.as_ref().map(|o| &o.sim),
                self.run.window_s,
                &self.selection.nodes,
            );
        });
        rewind::timeline_ui(ui, &mut self.run);
        if let Some(id) = self.plots.open_request.take() {
            self.show_replayed(id);
        }
        for a in actions {
            self.run_action(a);
        }
    }

    pub(super) fn run_action(&mut self, action: RunAction) {
        match action {
            RunAction::Play => {
                if self.run.ensure(&self.doc.layout) {
                    self.run.playing = true;
                }
            }
            RunAction::Pause => self.run.playing = false,
            RunAction::Step => self.run.step(&self.doc.layout),
            RunAction::Reset => {
                self.run.reset();
                self.stepper.forget_pending();
                self.run.ensure(&self.doc.layout);
            }
            RunAction::SaveScript => {
                let entries = self.run.take_unsaved_log();
                if entries.is_empty() {
                    self.status = Some(Status::info("The run has no new commands to save"));
                } else {
                    let n = entries.len();
                    self.apply_edit(Edit::AppendScript(entries));
                    self.status = Some(Status::info(format!(
                        "Appended {} to the layout's script",
                        plural(n, "command")
                    )));
                }
            }
            RunAction::ExportCsv => self.export_csv(),
            RunAction::SlowestRequests => self.show_slowest(),
            RunAction::ExportPng => {
                let path = match self.run.sim.as_ref() {
                    Some(sim) => self.export_path(sim, "png"),
                    None => self.config.save_dir.join("tierlab.png"),
                };
                self.export_png = Some(path);
            }
        }
    }

    fn export_csv(&mut self) {
        let Some(sim) = self.run.sim.as_ref() else {
            self.status = Some(Status::error("Nothing to export: the layout has not run"));
            return;
        };
        let path = self.export_path(sim, "csv");
        let text = plots::csv(sim, self.run.window_s);
        self.status = Some(match files::write_atomic(&path, text.as_bytes()) {
            Ok(()) => Status::info(format!("Exported {}", path.display())),
            Err(e) => Status::error(e),
        });
    }

    /// The layout's name as a file name: lower case, anything but letters and digits a dash
    /// ("run" for a layout without a name).
    pub(super) fn layout_file_stem(&self) -> String {
        let stem: String = (self.doc.layout.name.chars())
            .map(|c| {
                if c.is_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        if stem.is_empty() { "run".into() } else { stem }
    }

    /// `<save dir>/<layout>-<simulated seconds>s.<ext>`.
    fn export_path(&self, sim: &Sim, ext: &str) -> PathBuf {
        let stem = self.layout_file_stem();
        self.config
            .save_dir
            .join(format!("{stem}-{:.0}s.{ext}", sim.now_ns() as f64 / 1e9))
    }
}
