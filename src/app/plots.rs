//! The run panel: controls (play, pause, step, reset, speed, seed), the summary strip, and the
//! plots of the core's series over a rolling window (egui_plot), with a heat strip of every
//! node's load. Reads the core; changes nothing but the run's settings and returns actions.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use eframe::egui::{
    self, Color32, ColorImage, Rect, Sense, TextureHandle, TextureOptions, Ui, pos2, vec2,
};
use egui_plot::{Legend, Line, Plot};

use super::live::{DotClass, LiveView};
use super::run::{RunState, SPEED_MAX, SPEED_MIN, fmt_count};
use super::theme;
use crate::layout::{KindTag, NodeId};
use crate::sim::Sim;
use crate::sim::series::Ring;

/// Lines drawn in the per-node load plot when no node is selected: the busiest few.
const BUSIEST_LINES: usize = 4;
/// Lines drawn for the selected nodes at most, so the legend fits a short plot.
const SELECTED_LINES: usize = 6;
/// Width of the heat strip's column of row names, when the rows are tall enough to read.
const HEAT_NAMES_W: f32 = 64.0;
/// Rows at least this tall get their name written beside them.
const HEAT_ROW_NAMED_H: f32 = 10.0;

/// What the controls asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunAction {
    Play,
    Pause,
    Step,
    Reset,
    SaveScript,
    ExportCsv,
    ExportPng,
}

/// Plot state kept between frames.
#[derive(Default)]
pub struct PlotState {
    heat: Option<TextureHandle>,
    heat_rows: Vec<String>,
    /// Samples, rows and columns the heat strip was last drawn with.
    heat_at: Option<(u64, usize, usize)>,
}

/// The row of run controls.
pub fn controls_ui(ui: &mut Ui, run: &mut RunState) -> Vec<RunAction> {
    let mut actions = Vec::new();
    ui.horizontal_wrapped(|ui| {
        if run.playing {
            if ui.button("Pause").on_hover_text("Space").clicked() {
                actions.push(RunAction::Pause);
            }
        } else if ui.button("Play").on_hover_text("Space").clicked() {
            actions.push(RunAction::Play);
        }
        if ui
            .button("Step")
            .on_hover_text("Run one tick and pause")
            .clicked()
        {
            actions.push(RunAction::Step);
        }
        if ui
            .button("Reset")
            .on_hover_text("Start again from the layout, with the seed")
            .clicked()
        {
            actions.push(RunAction::Reset);
        }
        ui.separator();
        let l = ui.label("Speed");
        ui.add_enabled(
            !run.max_speed,
            egui::Slider::new(&mut run.speed, SPEED_MIN..=SPEED_MAX)
                .logarithmic(true)
                .max_decimals(2)
                .suffix("x"),
        )
        .labelled_by(l.id)
        .on_hover_text("Simulated seconds per second; 1x is real time, 0.01x slow motion");
        if ui
            .selectable_label(!run.max_speed && run.speed == 1.0, "1x real time")
            .clicked()
        {
            run.speed = 1.0;
            run.max_speed = false;
        }
        ui.checkbox(&mut run.max_speed, "Max")
            .on_hover_text("As fast as the machine allows");
        ui.separator();
        let l = ui.label("Seed");
        ui.add(egui::DragValue::new(&mut run.seed))
            .labelled_by(l.id)
            .on_hover_text("Used from the next Reset");
        let l = ui.label("Window");
        ui.add(
            egui::DragValue::new(&mut run.window_s)
                .range(5.0..=300.0)
                .suffix(" s"),
        )
        .labelled_by(l.id)
        .on_hover_text("Simulated seconds the plots show");
        ui.separator();
        ui.menu_button("Export", |ui| {
            if ui.button("Plotted series as CSV").clicked() {
                actions.push(RunAction::ExportCsv);
            }
            if ui.button("Window as PNG").clicked() {
                actions.push(RunAction::ExportPng);
            }
            if ui
                .button("Save run as script")
                .on_hover_text("Append this run's commands to the layout's script")
                .clicked()
            {
                actions.push(RunAction::SaveScript);
            }
        });
        ui.separator();
        let time = format!("t = {:.1} s", run.now_s());
        ui.monospace(time);
        if let Some(e) = &run.error {
            ui.colored_label(theme::ERROR, e);
        } else if run.behind {
            ui.colored_label(
                theme::WARNING,
                format!(
                    "running at {:.1}x: the simulation cannot keep up",
                    run.achieved
                ),
            );
        } else if run.playing && run.max_speed {
            ui.weak(format!(
                "running at {:.1}x (as fast as possible)",
                run.achieved
            ));
        }
        if run.needs_reset {
            ui.colored_label(theme::WARNING, "some edits apply on Reset");
        }
    });
    actions
}

/// The headline numbers of the run and the dots' legend.
pub fn summary_ui(ui: &mut Ui, sim: Option<&Sim>, view: &LiveView) {
    ui.horizontal_wrapped(|ui| {
        let Some(sim) = sim else {
            ui.weak("Press Play (Space) to run the layout; edits and faults apply while it runs");
            return;
        };
        let m = sim.metrics();
        let s = sim.series();
        // Throughput over the last simulated second; the rest over the whole run.
        let recent: Vec<f32> = last_n(&s.throughput_rps, 10);
        let rps = recent.iter().sum::<f32>() / recent.len().max(1) as f32;
        let stat = |ui: &mut Ui, name: &str, value: String| {
            ui.weak(name);
            ui.strong(value);
            ui.add_space(8.0);
        };
        stat(ui, "rps", fmt_count(f64::from(rps)));
        stat(ui, "p99", format!("{:.1} ms", m.latency_ms.p99));
        stat(ui, "failures", fmt_count(m.requests.failed as f64));
        stat(ui, "hit ratio", theme::percent(m.cache_hit_ratio as f32));
        stat(ui, "sessions lost", fmt_count(m.sessions_lost as f64));
        stat(ui, "cost", format!("${:.2}/h", m.cost_usd_per_hour));
        ui.separator();
        ui.weak(format!(
            "one dot = {} request{}",
            fmt_count(view.every as f64),
            if view.every == 1 { "" } else { "s" }
        ));
        for class in DotClass::ALL {
            let (rect, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
            if class == DotClass::Failed {
                // Drawn as a cross on the canvas too.
                let (c, k) = (rect.center(), 4.0);
                let stroke = egui::Stroke::new(2.5, theme::dot(class));
                ui.painter()
                    .line_segment([c - vec2(k, k), c + vec2(k, k)], stroke);
                ui.painter()
                    .line_segment([c - vec2(k, -k), c + vec2(k, -k)], stroke);
            } else {
                ui.painter()
                    .circle_filled(rect.center(), 4.5, theme::dot(class));
            }
            ui.label(class.label());
        }
        if view.dots_skipped > 0 {
            ui.weak(format!("({} not drawn)", view.dots_skipped));
        }
    });
}

fn last_n(r: &Ring, n: usize) -> Vec<f32> {
    r.iter().skip(r.len().saturating_sub(n)).collect()
}

/// The window of samples to plot: (first index, times).
fn window(sim: &Sim, window_s: f64) -> (usize, Vec<f64>) {
    let t = &sim.series().time_s;
    let now = sim.now_ns() as f64 / 1e9;
    let from = now - window_s;
    let times: Vec<f64> = t.iter().map(f64::from).collect();
    let first = times.partition_point(|x| *x < from);
    (first, times[first..].to_vec())
}

fn points(r: &Ring, first: usize, times: &[f64]) -> Vec<[f64; 2]> {
    r.iter()
        .skip(first)
        .zip(times)
        .map(|(v, t)| [*t, f64::from(v)])
        .collect()
}

/// Every plotted series over the plot window, as CSV (one row per sample).
pub fn csv(sim: &Sim, window_s: f64) -> String {
    let s = sim.series();
    let (first, times) = window(sim, window_s);
    let mut cols: Vec<(String, Vec<f32>)> = vec![
        ("throughput_rps".into(), s.throughput_rps.iter().collect()),
        ("failures_per_s".into(), s.failures_per_s.iter().collect()),
        ("latency_p50_ms".into(), s.latency_p50_ms.iter().collect()),
        ("latency_p95_ms".into(), s.latency_p95_ms.iter().collect()),
        ("latency_p99_ms".into(), s.latency_p99_ms.iter().collect()),
        ("cache_hit_ratio".into(), s.cache_hit_ratio.iter().collect()),
        ("db_reads_per_s".into(), s.db_reads_per_s.iter().collect()),
        ("db_writes_per_s".into(), s.db_writes_per_s.iter().collect()),
    ];
    for (i, u) in s.units.iter().enumerate() {
        let Some(info) = sim.unit_info(i as u32) else {
            continue;
        };
        let name = info.name.replace([',', '"'], "_");
        cols.push((
            format!("{name} cpu_utilization"),
            u.cpu_utilization.iter().collect(),
        ));
        cols.push((format!("{name} queue"), u.queue.iter().collect()));
        cols.push((
            format!("{name} served_per_s"),
            u.served_per_s.iter().collect(),
        ));
    }
    let mut out = String::from("time_s");
    for (name, _) in &cols {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for (k, t) in times.iter().enumerate() {
        let _ = write!(out, "{t:.1}");
        for (_, values) in &cols {
            let v = values.get(first + k).copied().unwrap_or(0.0);
            let _ = write!(out, ",{v}");
        }
        out.push('\n');
    }
    out
}

/// The plots, in two rows of three.
pub fn plots_ui(
    ui: &mut Ui,
    state: &mut PlotState,
    sim: Option<&Sim>,
    window_s: f64,
    selected: &BTreeSet<NodeId>,
) {
    let Some(sim) = sim else {
        return;
    };
    let s = sim.series();
    let (first, times) = window(sim, window_s);
    let now = sim.now_ns() as f64 / 1e9;
    let x_min = (now - window_s).max(0.0);
    // Panels size to their content at first: give the plots a readable height, more when the
    // user drags the panel taller.
    let height = ((ui.available_height() - 44.0) / 2.0).clamp(110.0, 400.0);
    let plot = |id: &str| {
        Plot::new(id.to_string())
            .height(height)
            .legend(
                // Top left: over the oldest samples, never the newest at the right edge.
                Legend::default()
                    .position(egui_plot::Corner::LeftTop)
                    .text_style(egui::TextStyle::Small)
                    .background_alpha(0.85),
            )
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .include_x(x_min)
            .include_x(x_min + window_s)
            .include_y(0.0)
            .y_axis_min_width(36.0)
            .y_grid_spacer(nice_y_marks)
            .y_axis_formatter(|mark, _| {
                // As many decimals as the step needs: 0.5 stays 0.5, 200 stays 200.
                let decimals = (-mark.step_size.log10().floor()).max(0.0) as usize;
                format!("{:.*}", decimals, mark.value)
            })
    };
    let line = |name: &str, r: &Ring, colour: Color32| {
        Line::new(name.to_string(), points(r, first, &times)).color(colour)
    };
    ui.columns(3, |cols| {
        cols[0].label("Throughput and failures per second");
        plot("throughput").show(&mut cols[0], |p| {
            p.line(line("completed/s", &s.throughput_rps, theme::PLOT_A));
            p.line(line("failed/s", &s.failures_per_s, theme::ERROR));
        });
        cols[1].label("Latency, ms");
        plot("latency").show(&mut cols[1], |p| {
            p.line(line("p50", &s.latency_p50_ms, theme::PLOT_A));
            p.line(line("p95", &s.latency_p95_ms, theme::WARNING));
            p.line(line("p99", &s.latency_p99_ms, theme::ERROR));
        });
        cols[2].label("Cache hit ratio");
        plot("hit ratio").include_y(1.0).show(&mut cols[2], |p| {
            p.line(line(
                "hit ratio",
                &s.cache_hit_ratio,
                theme::dot(DotClass::CacheHit),
            ));
        });
        cols[0].label("Database reads and writes per second");
        plot("database").show(&mut cols[0], |p| {
            p.line(line(
                "reads/s",
                &s.db_reads_per_s,
                theme::dot(DotClass::DbRead),
            ));
            p.line(line(
                "writes/s",
                &s.db_writes_per_s,
                theme::dot(DotClass::Write),
            ));
        });
        let units = load_lines(sim, first, selected);
        cols[1].label(if selected.is_empty() {
            "CPU utilization: busiest nodes"
        } else {
            "CPU utilization: selected nodes"
        });
        plot("node load").include_y(1.0).show(&mut cols[1], |p| {
            for i in &units {
                let Some(info) = sim.unit_info(*i) else {
                    continue;
                };
                if let Some(us) = s.units.get(*i as usize) {
                    p.line(line(info.name, &us.cpu_utilization, theme::series(*i)));
                }
            }
        });
        cols[2].label("CPU utilization: every node (rows), over the window");
        heat_strip_ui(&mut cols[2], state, sim, first, height);
    });
}

/// Units to draw load lines for: the members of the selected nodes, or the busiest few.
fn load_lines(sim: &Sim, first: usize, selected: &BTreeSet<NodeId>) -> Vec<u32> {
    let s = sim.series();
    let candidates = (0..sim.unit_count() as u32).filter(|i| {
        sim.unit_info(*i)
            .is_some_and(|u| !u.removed && u.kind != KindTag::Client)
    });
    if !selected.is_empty() {
        return candidates
            .filter(|i| {
                sim.unit_info(*i)
                    .is_some_and(|u| selected.contains(&u.id.node))
            })
            .take(SELECTED_LINES)
            .collect();
    }
    let mut ranked: Vec<(f32, u32)> = candidates
        .map(|i| {
            let mean = s
                .units
                .get(i as usize)
                .map(|u| {
                    let v: Vec<f32> = u.cpu_utilization.iter().skip(first).collect();
                    v.iter().sum::<f32>() / v.len().max(1) as f32
                })
                .unwrap_or(0.0);
            (mean, i)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .take(BUSIEST_LINES)
        .map(|(_, i)| i)
        .collect()
}

/// Every live instance as a row of cells coloured by CPU utilization, oldest sample left: 200
/// nodes stay readable as a picture. Hover names the row.
fn heat_strip_ui(ui: &mut Ui, state: &mut PlotState, sim: &Sim, first: usize, height: f32) {
    let s = sim.series();
    let rows: Vec<u32> = (0..sim.unit_count() as u32)
        .filter(|i| {
            sim.unit_info(*i)
                .is_some_and(|u| !u.removed && u.kind != KindTag::Client)
        })
        .collect();
    let columns = s.time_s.len().saturating_sub(first).max(1);
    let (full, resp) = ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
    if rows.is_empty() {
        return;
    }
    // Row names in a column on the left when the rows are tall enough; always on hover.
    let named = full.height() / rows.len() as f32 >= HEAT_ROW_NAMED_H;
    let rect = if named {
        Rect::from_min_max(pos2(full.left() + HEAT_NAMES_W, full.top()), full.max)
    } else {
        full
    };
    // Redraw only when a new sample arrived (every 100 ms of simulated time), not every frame.
    let key = (s.time_s.pushed(), rows.len(), columns);
    if state.heat_at != Some(key) || state.heat.is_none() {
        let mut img = ColorImage::filled([columns, rows.len()], Color32::TRANSPARENT);
        for (y, i) in rows.iter().enumerate() {
            let Some(us) = s.units.get(*i as usize) else {
                continue;
            };
            let up: Vec<f32> = us.up.iter().skip(first).collect();
            for (x, v) in us.cpu_utilization.iter().skip(first).enumerate() {
                if x >= columns {
                    break;
                }
                let alive = up.get(x).copied().unwrap_or(1.0) > 0.5;
                img.pixels[y * columns + x] = if alive {
                    theme::load(v)
                } else {
                    Color32::from_gray(60)
                };
            }
        }
        match &mut state.heat {
            Some(t) => t.set(img, TextureOptions::NEAREST),
            None => {
                state.heat = Some(
                    ui.ctx()
                        .load_texture("heat strip", img, TextureOptions::NEAREST),
                )
            }
        }
        state.heat_rows = rows
            .iter()
            .map(|i| {
                sim.unit_info(*i)
                    .map(|u| u.name.to_string())
                    .unwrap_or_default()
            })
            .collect();
        state.heat_at = Some(key);
    }
    if let Some(t) = &state.heat {
        ui.painter().image(
            t.id(),
            rect,
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    if named {
        let row_h = rect.height() / rows.len() as f32;
        let size = (row_h * 0.8).min(12.0);
        let painter = ui.painter_at(full);
        for (k, name) in state.heat_rows.iter().enumerate() {
            painter.text(
                pos2(
                    full.left() + HEAT_NAMES_W - 4.0,
                    rect.top() + row_h * (k as f32 + 0.5),
                ),
                egui::Align2::RIGHT_CENTER,
                name,
                egui::FontId::proportional(size),
                ui.visuals().text_color(),
            );
        }
    }
    if let Some(p) = resp.hover_pos()
        && rect.contains(p)
    {
        let row = (((p.y - rect.top()) / rect.height()) * rows.len() as f32) as usize;
        let col = (((p.x - rect.left()) / rect.width()) * columns as f32) as usize;
        let value = rows
            .get(row)
            .and_then(|i| s.units.get(*i as usize))
            .and_then(|u| u.cpu_utilization.iter().nth(first + col));
        if let (Some(name), Some(v)) = (state.heat_rows.get(row), value) {
            resp.on_hover_text(format!("{name}: {} busy", theme::percent(v)));
        }
    }
}

/// Y grid marks at 1-2-5 steps, at most four over the visible range, so a short plot still has
/// numbers on its axis (egui_plot's default powers of ten can leave only "0" on a plot from 0
/// to 40).
fn nice_y_marks(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    let (lo, hi) = input.bounds;
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return Vec::new();
    }
    let raw = span / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let mut marks = Vec::new();
    let mut v = (lo / step).ceil() * step;
    while v <= hi && marks.len() < 64 {
        // No "-0" from rounding just below zero.
        let value = if v.abs() < step * 1e-9 { 0.0 } else { v };
        marks.push(egui_plot::GridMark {
            value,
            step_size: step,
        });
        v += step;
    }
    marks
}
