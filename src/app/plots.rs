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
use super::run::{RunState, SPEED_MAX, SPEED_MIN, STEP_CHOICES, fmt_count};
use super::theme;
use crate::layout::{KindTag, Layout, LbAlgorithm, NodeId, NodeKind, Sessions};
use crate::sim::events::EventKind;
use crate::sim::series::Ring;
use crate::sim::window::WINDOW_S;
use crate::sim::{Sim, UnitIx};

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
    /// Replay the run with its slowest requests traced and show their waterfalls.
    SlowestRequests,
}

/// Plot state kept between frames.
#[derive(Default)]
pub struct PlotState {
    heat: Option<TextureHandle>,
    heat_rows: Vec<String>,
    /// Samples, rows and columns the heat strip was last drawn with.
    heat_at: Option<(u64, usize, usize)>,
    /// The latency sample clicked: its time (s) and slowest request, offered as a waterfall.
    offer: Option<(f64, crate::sim::SlowRequest)>,
    /// The request whose waterfall the user asked for from the latency plot.
    pub open_request: Option<u64>,
}

/// The row of run controls.
pub fn controls_ui(ui: &mut Ui, run: &mut RunState) -> Vec<RunAction> {
    let mut actions = Vec::new();
    ui.horizontal_wrapped(|ui| {
        transport_ui(ui, run, &mut actions);
        ui.separator();
        speed_ui(ui, run);
        ui.separator();
        seed_and_window_ui(ui, run);
        ui.separator();
        export_menu(ui, &mut actions);
        if ui
            .add_enabled(run.sim.is_some(), egui::Button::new("Slowest requests"))
            .on_hover_text("Replay the run with its slowest requests traced: their waterfalls")
            .clicked()
        {
            actions.push(RunAction::SlowestRequests);
        }
        ui.separator();
        clock_ui(ui, run);
    });
    actions
}

/// Play or Pause, Step with its interval, and Reset.
fn transport_ui(ui: &mut Ui, run: &mut RunState, actions: &mut Vec<RunAction>) {
    // Play and Pause take one place, as wide as the wider word: the button under the
    // pointer stays under it when it changes.
    let font = egui::TextStyle::Button.resolve(ui.style());
    let word_w = ["Play", "Pause"]
        .map(|w| {
            ui.painter()
                .layout_no_wrap(w.to_string(), font.clone(), Color32::WHITE)
                .size()
                .x
        })
        .into_iter()
        .fold(0.0, f32::max);
    let play_w = word_w + 2.0 * ui.spacing().button_padding.x;
    let word = if run.playing { "Pause" } else { "Play" };
    if ui
        .add(egui::Button::new(word).min_size(vec2(play_w, 0.0)))
        .on_hover_text("Space")
        .clicked()
    {
        actions.push(if run.playing {
            RunAction::Pause
        } else {
            RunAction::Play
        });
    }
    let step_name = STEP_CHOICES
        .iter()
        .find(|(s, _)| *s == run.step_s)
        .map_or("", |(_, n)| *n);
    if ui
        .button(format!("Step {step_name}"))
        .on_hover_text("Advance the simulated time by the chosen interval and pause")
        .clicked()
    {
        actions.push(RunAction::Step);
    }
    let step_choice = egui::ComboBox::from_id_salt("step interval")
        .selected_text(step_name)
        .width(64.0)
        .show_ui(ui, |ui| {
            for (s, name) in STEP_CHOICES {
                ui.selectable_value(&mut run.step_s, s, name);
            }
        })
        .response
        .on_hover_text("How much simulated time one Step advances");
    step_choice
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "Step interval"));
    if ui
        .button("Reset")
        .on_hover_text("Start again from the layout, with the seed")
        .clicked()
    {
        actions.push(RunAction::Reset);
    }
}

/// The speed slider, "1x real time" and Max.
fn speed_ui(ui: &mut Ui, run: &mut RunState) {
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
}

/// The seed of the next Reset and the plots' time window.
fn seed_and_window_ui(ui: &mut Ui, run: &mut RunState) {
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
}

fn export_menu(ui: &mut Ui, actions: &mut Vec<RunAction>) {
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
}

/// The simulated time, and how the run keeps up (or why it stopped).
fn clock_ui(ui: &mut Ui, run: &RunState) {
    // Paused, two decimals, so a 10 ms step shows.
    let time = if run.playing {
        format!("t = {:.1} s", run.now_s())
    } else {
        format!("t = {:.2} s", run.now_s())
    };
    // One piece: "t =" and its number never wrap apart.
    ui.add(egui::Label::new(egui::RichText::new(time).monospace()).extend());
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
}

/// What a layout has, for showing only the figures and plots that apply to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applies {
    /// A cache, or an app server with a local cache: hit ratios mean something.
    pub cache: bool,
    pub database: bool,
    /// App servers keep sessions (in memory or in a store): sessions can be lost or missed.
    pub sessions: bool,
    /// A balancer keeps users on one server: load skew is the lesson.
    pub sticky: bool,
    /// A rate limiter: its refusals are shown apart from the other failures.
    pub limiter: bool,
}

impl Applies {
    pub fn of(layout: &Layout) -> Applies {
        let mut a = Applies::default();
        for n in &layout.nodes {
            match &n.kind {
                NodeKind::Cache(_) => a.cache = true,
                NodeKind::Database(_) => a.database = true,
                NodeKind::AppServer(p) => {
                    a.cache |= p.local_cache_entries > 0;
                    a.sessions |= p.sessions != Sessions::None;
                }
                NodeKind::LoadBalancer(p) => {
                    a.sticky |= matches!(
                        p.algorithm,
                        LbAlgorithm::StickyCookie | LbAlgorithm::StickyIp
                    );
                }
                NodeKind::RateLimiter(_) => a.limiter = true,
                _ => {}
            }
        }
        a
    }
}

/// One figure of the summary strip as one label ("p99 12.3 ms"): the name weak, the value
/// strong, read as one by a screen reader (and a test).
fn stat(ui: &mut Ui, name: &str, value: &str, hover: &str) {
    let style = ui.style();
    let mut job = egui::text::LayoutJob::default();
    let font = egui::TextStyle::Body.resolve(style);
    job.append(
        &format!("{name} "),
        0.0,
        egui::TextFormat::simple(font.clone(), style.visuals.weak_text_color()),
    );
    job.append(
        value,
        0.0,
        egui::TextFormat::simple(font, style.visuals.strong_text_color()),
    );
    ui.label(job).on_hover_text(hover);
    ui.add_space(8.0);
}

/// A share as a whole percentage, never "-0 %" (one helper: `theme::percent`).
fn percent(x: f64) -> String {
    theme::percent(x as f32)
}

/// The headline numbers of the run over the recent window (`sim::window`), the figures the
/// layout is about (sessions, load skew, the floating IP), and the dots' legend.
pub fn summary_ui(ui: &mut Ui, sim: Option<&Sim>, view: &LiveView) {
    ui.horizontal_wrapped(|ui| {
        let Some(sim) = sim else {
            ui.weak("Press Play (Space) to run the layout; edits and faults apply while it runs");
            return;
        };
        let applies = Applies::of(sim.layout());
        recent_stats(ui, sim, applies);
        layout_stats(ui, sim, applies);
        super::mq::summary_ui(ui, sim);
        ui.separator();
        dots_legend(ui, view);
    });
}

/// The figures over the recent window: throughput, p99, failures and (where a cache is) the
/// hit ratio.
fn recent_stats(ui: &mut Ui, sim: &Sim, applies: Applies) {
    let r = sim.recent();
    let window = if r.seconds() > 0.0 {
        format!("last {} s", fmt_seconds(r.seconds()))
    } else {
        "no sample yet".to_string()
    };
    ui.weak(format!("{window}:")).on_hover_text(format!(
        "The figures up to the cost are over the last {} s of simulated time (or the run so far), so they recover after a spike",
        fmt_seconds(WINDOW_S)
    ));
    stat(
        ui,
        "rps",
        &fmt_count(r.throughput_rps()),
        "Requests completed per second",
    );
    let p99 = r
        .latency_p99_ms
        .map_or_else(|| "-".to_string(), |v| format!("{v:.1} ms"));
    stat(
        ui,
        "p99",
        &p99,
        "99th percentile of the latencies of the requests completed in the window",
    );
    stat(
        ui,
        "failures",
        &format!(
            "{} ({})",
            fmt_count(r.failed as f64),
            percent(r.failure_share())
        ),
        "Requests that failed in the window, and their share of finished requests",
    );
    if applies.limiter {
        let n = r.completed + r.failed;
        let share = if n > 0 {
            r.rate_limited as f64 / n as f64
        } else {
            0.0
        };
        stat(
            ui,
            "rate limited",
            &format!("{} ({})", fmt_count(r.rate_limited as f64), percent(share)),
            "Of the failures, requests a rate limiter refused (rate_limited) in the window: a limit, not an overload",
        );
    }
    if applies.cache {
        let hit = r.cache_hit_ratio().map_or_else(|| "-".to_string(), percent);
        stat(
            ui,
            "hit ratio",
            &hit,
            "Cache lookups that found the key, over all lookups in the window",
        );
    }
}

/// The figures the layout is about, since the start: sessions, load skew, the floating IP, the
/// cost.
fn layout_stats(ui: &mut Ui, sim: &Sim, applies: Applies) {
    let m = sim.metrics();
    if applies.cache {
        stat(
            ui,
            "cache keys lost",
            &fmt_count(m.cache_keys_lost as f64),
            "Since the start: cached keys that died with the cache (or the app server's local cache) that held them",
        );
    }
    if applies.sessions {
        stat(
            ui,
            "sessions lost",
            &fmt_count(m.sessions_lost as f64),
            "Since the start: sessions that died with the server (or store) that held them",
        );
        stat(
            ui,
            "session misses",
            &fmt_count(m.session_misses as f64),
            "Since the start: logged-in users whose request landed where their session was not",
        );
    }
    if applies.sticky {
        stat(
            ui,
            "load skew",
            &format!("{:.2}x", m.load_max_over_mean),
            "Since the start: the busiest app server's served calls over the mean of all (load_max_over_mean); 1.00x is an even spread",
        );
    }
    super::edge::edge_stats(ui, sim, stat);
    for (entry, holder) in sim.floating_ip_holders() {
        stat(
            ui,
            &format!("{entry} IP on"),
            &holder,
            "The balancer that holds the floating IP now",
        );
    }
    stat(
        ui,
        "cost",
        &format!("${:.2}/h", m.cost_usd_per_hour),
        "What the priced instances cost per hour",
    );
}

/// "one dot = N requests" and what each dot's colour means.
fn dots_legend(ui: &mut Ui, view: &LiveView) {
    ui.weak(format!(
        "one dot = {} request{}",
        fmt_count(view.every as f64),
        if view.every == 1 { "" } else { "s" }
    ));
    for class in DotClass::ALL {
        // Glyph and word as one item: a wrapped line never separates them.
        let word = ui.painter().layout_no_wrap(
            class.label().to_string(),
            egui::TextStyle::Body.resolve(ui.style()),
            ui.visuals().text_color(),
        );
        let size = vec2(14.0 + word.size().x, word.size().y.max(10.0));
        let (item, resp) = ui.allocate_exact_size(size, Sense::hover());
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, class.label()));
        let c = item.left_center() + vec2(5.0, 0.0);
        if class == DotClass::Failed {
            // Drawn as a cross on the canvas too.
            let k = 4.0;
            let stroke = egui::Stroke::new(2.5, theme::dot(class));
            ui.painter()
                .line_segment([c - vec2(k, k), c + vec2(k, k)], stroke);
            ui.painter()
                .line_segment([c - vec2(k, -k), c + vec2(k, -k)], stroke);
        } else {
            ui.painter().circle_filled(c, 4.5, theme::dot(class));
        }
        let text_at = item.left_top() + vec2(14.0, (item.height() - word.size().y) / 2.0);
        ui.painter()
            .galley(text_at, word, ui.visuals().text_color());
    }
    if view.dots_skipped > 0 {
        ui.weak(format!("({} not drawn)", view.dots_skipped));
    }
}

/// Seconds without trailing zeros: 5, 2.3.
fn fmt_seconds(s: f64) -> String {
    let t = format!("{s:.1}");
    t.strip_suffix(".0").map_or(t.clone(), str::to_string)
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
        let Some(info) = sim.unit_info(UnitIx::at(i)) else {
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

/// The plots, in two rows of three; with `original` (the run a branch left), its throughput,
/// failures and p99 are overlaid dashed.
pub fn plots_ui(
    ui: &mut Ui,
    state: &mut PlotState,
    sim: Option<&Sim>,
    original: Option<&Sim>,
    window_s: f64,
    selected: &BTreeSet<NodeId>,
) {
    let Some(sim) = sim else {
        placeholder_ui(ui);
        return;
    };
    let panels = Panel::of(Applies::of(sim.layout()));
    // The rows of plots share the panel's height (each with its title above), so the bottom
    // row keeps its axis; the panel scrolls only when a plot would be too short to read.
    let rows = panels.len().div_ceil(PLOT_COLUMNS);
    let title_h = ui.text_style_height(&egui::TextStyle::Body) + 2.0 * ui.spacing().item_spacing.y;
    let height = ((ui.available_height() - 2.0) / rows as f32 - title_h).clamp(PLOT_H_MIN, 400.0);
    let mut frame = PlotFrame::new(sim, window_s, height);
    frame.original = original.map(|o| {
        let (first, times) = window(o, window_s);
        (o, first, times)
    });
    ui.columns(PLOT_COLUMNS, |cols| {
        for (k, panel) in panels.iter().enumerate() {
            frame.panel_ui(&mut cols[k % PLOT_COLUMNS], *panel, state, selected);
        }
    });
}

/// One plot filling `ui`, the latency percentiles: presentation mode's chosen plot.
pub fn latency_plot_ui(ui: &mut Ui, state: &mut PlotState, sim: Option<&Sim>, window_s: f64) {
    let Some(sim) = sim else {
        placeholder_ui(ui);
        return;
    };
    let title_h = ui.text_style_height(&egui::TextStyle::Body) + 2.0 * ui.spacing().item_spacing.y;
    let height = (ui.available_height() - title_h - 2.0).max(PLOT_H_MIN);
    let frame = PlotFrame::new(sim, window_s, height);
    frame.panel_ui(ui, Panel::Latency, state, &BTreeSet::new());
}

/// What every plot of one frame shares: the samples in the window, its x range, the plots'
/// height and the event marks.
struct PlotFrame<'a> {
    sim: &'a Sim,
    first: usize,
    times: Vec<f64>,
    x_min: f64,
    window_s: f64,
    height: f32,
    marks: Vec<Mark>,
    /// The run a branch left, with its own first sample and times in the window.
    original: Option<(&'a Sim, usize, Vec<f64>)>,
}

impl<'a> PlotFrame<'a> {
    fn new(sim: &'a Sim, window_s: f64, height: f32) -> Self {
        let (first, times) = window(sim, window_s);
        let now = sim.now_ns() as f64 / 1e9;
        let x_min = (now - window_s).max(0.0);
        PlotFrame {
            sim,
            first,
            times,
            x_min,
            window_s,
            height,
            marks: event_marks(sim, x_min),
            original: None,
        }
    }

    /// One panel: its title, then its plot (or the heat strip).
    fn panel_ui(
        &self,
        ui: &mut Ui,
        panel: Panel,
        state: &mut PlotState,
        selected: &BTreeSet<NodeId>,
    ) {
        let title = ui.label(panel.title(selected.is_empty()));
        if let Some(hover) = panel.hover() {
            title.on_hover_text(hover);
        }
        if panel == Panel::Heat {
            heat_strip_ui(ui, state, self.sim, self.first, self.height);
            return;
        }
        let mut plot = self.plot(panel.id());
        if panel.is_share() {
            plot = plot.include_y(1.0);
        }
        let shown = plot.show(ui, |p| {
            self.lines(p, panel, selected);
            draw_marks(p, &self.marks);
        });
        label_marks(ui, &shown.transform, &self.marks);
        if panel == Panel::Latency {
            self.offer_slowest_ui(ui, state, &shown);
        }
    }

    /// A click on the latency plot offers the slowest request of the sample under it (a
    /// point is a percentile, not a request).
    fn offer_slowest_ui(
        &self,
        ui: &mut Ui,
        state: &mut PlotState,
        shown: &egui_plot::PlotResponse<()>,
    ) {
        if shown.response.clicked()
            && let Some(p) = shown.response.interact_pointer_pos()
        {
            let x = shown.transform.value_from_position(p).x;
            let nearest = (self.times.iter().enumerate())
                .min_by(|a, b| (a.1 - x).abs().total_cmp(&(b.1 - x).abs()));
            state.offer = nearest.and_then(|(i, t)| {
                let slow = self.sim.series().slowest_request.iter().nth(self.first + i);
                Some((*t, slow.flatten()?))
            });
        }
        if let Some((t, slow)) = state.offer {
            let text = format!(
                "Waterfall of the slowest request at {t:.1} s ({:.2} ms)",
                slow.latency_ns as f64 / 1e6
            );
            if ui
                .small_button(text)
                .on_hover_text("Replay the run with this request traced")
                .clicked()
            {
                state.open_request = Some(slow.request_id);
            }
        }
    }

    /// The lines of one panel.
    fn lines(&self, p: &mut egui_plot::PlotUi<'_>, panel: Panel, selected: &BTreeSet<NodeId>) {
        let s = self.sim.series();
        match panel {
            Panel::Throughput => {
                p.line(self.line("completed/s", &s.throughput_rps, theme::PLOT_A));
                p.line(self.line("failed/s", &s.failures_per_s, theme::ERROR));
                if let Some((o, first, times)) = &self.original {
                    let os = o.series();
                    for (name, r, colour) in [
                        ("completed/s, original", &os.throughput_rps, theme::PLOT_A),
                        ("failed/s, original", &os.failures_per_s, theme::ERROR),
                    ] {
                        p.line(
                            Line::new(name, points(r, *first, times))
                                .color(colour)
                                .style(egui_plot::LineStyle::dashed_loose()),
                        );
                    }
                }
            }
            Panel::Latency => {
                self.latency_lines(p, "p50", &s.latency_p50_ms, theme::PLOT_A);
                self.latency_lines(p, "p95", &s.latency_p95_ms, theme::WARNING);
                self.latency_lines(p, "p99", &s.latency_p99_ms, theme::ERROR);
                if let Some((o, first, times)) = &self.original {
                    let os = o.series();
                    for segment in gapped(&os.latency_p99_ms, &os.throughput_rps, *first, times) {
                        p.line(
                            Line::new("p99, original", segment)
                                .color(theme::ERROR)
                                .style(egui_plot::LineStyle::dashed_loose()),
                        );
                    }
                }
            }
            Panel::HitRatio => {
                let colour = theme::dot(DotClass::CacheHit);
                p.line(self.line("hit ratio", &s.cache_hit_ratio, colour));
            }
            Panel::Database => {
                let (read, write) = (theme::dot(DotClass::DbRead), theme::dot(DotClass::Write));
                p.line(self.line("reads/s", &s.db_reads_per_s, read));
                p.line(self.line("writes/s", &s.db_writes_per_s, write));
            }
            Panel::Sessions => {
                p.line(self.line("sessions lost", &s.sessions_lost, theme::ERROR));
                p.line(self.line("session misses", &s.session_misses, theme::WARNING));
            }
            Panel::LoadSkew => {
                let skew = load_skew(self.sim, self.first);
                for segment in present(&skew, &self.times) {
                    p.line(Line::new("max / mean", segment).color(theme::PLOT_A));
                }
            }
            Panel::NodeLoad => {
                for i in load_lines(self.sim, self.first, selected) {
                    let (Some(info), Some(us)) = (self.sim.unit_info(i), s.units.get(i.index()))
                    else {
                        continue;
                    };
                    let colour = theme::series(i.index());
                    p.line(self.line(info.name, &us.cpu_utilization, colour));
                }
            }
            Panel::Heat => {}
        }
    }

    fn plot(&self, id: &str) -> Plot<'static> {
        super::plot_axis::x_axis(Plot::new(id.to_string()))
            .height(self.height)
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
            .include_x(self.x_min)
            .include_x(self.x_min + self.window_s)
            .include_y(0.0)
            .y_axis_min_width(36.0)
            .y_grid_spacer(nice_y_marks)
            .y_axis_formatter(|mark, _| {
                // As many decimals as the step needs: 0.5 stays 0.5, 200 stays 200.
                let decimals = (-mark.step_size.log10().floor()).max(0.0) as usize;
                format!("{:.*}", decimals, mark.value)
            })
    }

    fn line(&self, name: &str, r: &Ring, colour: Color32) -> Line<'static> {
        Line::new(name.to_string(), points(r, self.first, &self.times)).color(colour)
    }

    /// A latency exists only where something completed: a sample with no completion is a gap
    /// in the line, not a fall to 0.
    fn latency_lines(&self, p: &mut egui_plot::PlotUi<'_>, name: &str, r: &Ring, colour: Color32) {
        let completed = &self.sim.series().throughput_rps;
        for segment in gapped(r, completed, self.first, &self.times) {
            p.line(Line::new(name.to_string(), segment).color(colour));
        }
    }
}

/// The plots a layout gets, in reading order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Panel {
    Throughput,
    Latency,
    HitRatio,
    Database,
    Sessions,
    LoadSkew,
    NodeLoad,
    Heat,
}

impl Panel {
    /// The panels a layout gets: what it has decides what is plotted.
    fn of(applies: Applies) -> Vec<Panel> {
        let mut panels = vec![Panel::Throughput, Panel::Latency];
        for (applies, panel) in [
            (applies.cache, Panel::HitRatio),
            (applies.database, Panel::Database),
            (applies.sessions, Panel::Sessions),
            (applies.sticky, Panel::LoadSkew),
        ] {
            if applies {
                panels.push(panel);
            }
        }
        panels.extend([Panel::NodeLoad, Panel::Heat]);
        panels
    }

    /// The plot's id (egui keeps its state under it).
    fn id(self) -> &'static str {
        match self {
            Panel::Throughput => "throughput",
            Panel::Latency => "latency",
            Panel::HitRatio => "hit ratio",
            Panel::Database => "database",
            Panel::Sessions => "sessions",
            Panel::LoadSkew => "load skew",
            Panel::NodeLoad => "node load",
            Panel::Heat => "heat",
        }
    }

    fn title(self, nothing_selected: bool) -> &'static str {
        match self {
            Panel::Throughput => "Throughput and failures per second",
            Panel::Latency => "Latency, ms",
            Panel::HitRatio => "Cache hit ratio",
            Panel::Database => "Database reads and writes per second",
            Panel::Sessions => "Sessions lost and session misses, since the start",
            Panel::LoadSkew => "Load skew: busiest app server over the mean",
            Panel::NodeLoad if nothing_selected => "CPU utilization: busiest nodes",
            Panel::NodeLoad => "CPU utilization: selected nodes",
            Panel::Heat => "CPU utilization: every node (rows), over the window",
        }
    }

    fn hover(self) -> Option<&'static str> {
        match self {
            Panel::Latency => Some("Percentiles of each 100 ms; a gap: nothing completed"),
            Panel::Sessions => Some(
                "Running totals: sessions that died with the box (or store) that held them, \
                 and logged-in users whose request landed where their session was not",
            ),
            Panel::LoadSkew => Some(
                "Calls served over the last second by the busiest app server that is up, over \
                 the mean of those up; 1.0 is an even spread, a gap: nothing served",
            ),
            _ => None,
        }
    }

    /// A share or a ratio that 1.0 bounds or centres: its plot always shows 1.
    fn is_share(self) -> bool {
        matches!(self, Panel::HitRatio | Panel::LoadSkew | Panel::NodeLoad)
    }
}

/// Plots side by side in the run panel.
const PLOT_COLUMNS: usize = 3;
/// A plot is never shorter than this (its axes and a legend line); below it the panel scrolls.
const PLOT_H_MIN: f32 = 64.0;
/// Samples summed for each point of the load-skew line: one second.
const SKEW_SAMPLES: usize = 10;

/// Before a run: where the plots will be, a calm word of what they will show, and the same
/// height as the plots, so nothing moves when they appear.
fn placeholder_ui(ui: &mut Ui) {
    let size = ui.available_size_before_wrap().max(vec2(0.0, 0.0));
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let visuals = ui.visuals();
    ui.painter().rect_stroke(
        rect.shrink(2.0),
        4.0,
        egui::Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
        egui::StrokeKind::Inside,
    );
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Plots of throughput, latency and load appear here while the layout runs",
        egui::TextStyle::Body.resolve(ui.style()),
        visuals.weak_text_color(),
    );
}

/// The load skew at each sample from `first`: calls served over the last second by the
/// busiest app server up at that sample, over the mean of the app servers up then. A dead
/// server's missing share does not count; `None` where none served.
fn load_skew(sim: &Sim, first: usize) -> Vec<Option<f64>> {
    let s = sim.series();
    let servers: Vec<(Vec<f32>, Vec<f32>)> = sim
        .unit_ixs()
        .filter(|i| {
            sim.unit_info(*i)
                .is_some_and(|u| u.kind == KindTag::AppServer)
        })
        .filter_map(|i| s.units.get(i.index()))
        .map(|u| (u.served_per_s.iter().collect(), u.up.iter().collect()))
        .collect();
    (first..s.time_s.len())
        .map(|j| {
            let from = (j + 1).saturating_sub(SKEW_SAMPLES);
            let served: Vec<f64> = servers
                .iter()
                .filter(|(_, up)| up.get(j).is_some_and(|v| *v > 0.5))
                .map(|(rate, _)| {
                    rate.get(from..=j)
                        .map_or(0.0, |w| w.iter().map(|v| f64::from(*v)).sum())
                })
                .collect();
            let mean = served.iter().sum::<f64>() / served.len().max(1) as f64;
            (mean > 0.0).then(|| served.iter().copied().fold(0.0, f64::max) / mean)
        })
        .collect()
}

/// The runs of `values` that exist, as line segments over `times`.
fn present(values: &[Option<f64>], times: &[f64]) -> Vec<Vec<[f64; 2]>> {
    let mut segments = Vec::new();
    let mut current: Vec<[f64; 2]> = Vec::new();
    for (v, t) in values.iter().zip(times) {
        match v {
            Some(v) => current.push([*t, *v]),
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

/// The segments of `r` over the window where `completed` is above zero: the samples in which
/// something completed.
fn gapped(r: &Ring, completed: &Ring, first: usize, times: &[f64]) -> Vec<Vec<[f64; 2]>> {
    let mut segments = Vec::new();
    let mut current: Vec<[f64; 2]> = Vec::new();
    for ((v, c), t) in r.iter().zip(completed.iter()).skip(first).zip(times) {
        if c > 0.0 {
            current.push([*t, f64::from(v)]);
        } else if !current.is_empty() {
            segments.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

/// Most events marked on a plot (the newest): a node that flaps does not hide the data.
const MARKS_MAX: usize = 12;

/// An event to mark on the plots: its time and its words ("killed app[2]").
struct Mark {
    at_s: f64,
    text: String,
    colour: Color32,
}

/// The core's events since `from_s`, newest last, at most `MARKS_MAX`.
fn event_marks(sim: &Sim, from_s: f64) -> Vec<Mark> {
    let events = sim.events();
    let start = events.partition_point(|e| (e.at_ns as f64 / 1e9) < from_s);
    let recent = &events[start..];
    recent[recent.len().saturating_sub(MARKS_MAX)..]
        .iter()
        .map(|e| {
            let colour = match e.kind {
                EventKind::Down | EventKind::MarkedDown | EventKind::Removed => theme::ERROR,
                EventKind::Up | EventKind::MarkedUp => theme::PLOT_A,
                _ => theme::WARNING,
            };
            let text = match (&e.detail, e.kind) {
                (Some(d), EventKind::Failover) => format!("failover to {d}"),
                (Some(d), EventKind::ScaleOut | EventKind::ScaleIn) => {
                    format!("{} {} {d}", e.kind.label(), e.name)
                }
                _ => format!("{} {}", e.kind.label(), e.name),
            };
            Mark {
                at_s: e.at_ns as f64 / 1e9,
                text,
                colour,
            }
        })
        .collect()
}

/// Each event as a dashed vertical line at its time.
fn draw_marks(p: &mut egui_plot::PlotUi<'_>, marks: &[Mark]) {
    for m in marks {
        p.vline(
            egui_plot::VLine::new("", m.at_s)
                .color(m.colour.gamma_multiply(0.8))
                .style(egui_plot::LineStyle::dashed_loose())
                .allow_hover(false),
        );
    }
}

/// Each event's words at the top of the plot, beside its line. Drawn on the screen after the
/// plot, not as plot items: a text item at the top of the bounds would widen the bounds it is
/// placed by, and the y axis would creep up frame after frame.
fn label_marks(ui: &Ui, t: &egui_plot::PlotTransform, marks: &[Mark]) {
    let frame = *t.frame();
    let painter = ui.painter_at(frame);
    let font = egui::TextStyle::Small.resolve(ui.style());
    for (k, m) in marks.iter().enumerate() {
        let x = t.position_from_point_x(m.at_s);
        // Alternate rows so close events do not print over each other.
        let y = frame.top() + 2.0 + (k % 2) as f32 * (font.size + 2.0);
        painter.text(
            pos2(x + 2.0, y),
            egui::Align2::LEFT_TOP,
            &m.text,
            font.clone(),
            m.colour,
        );
    }
}

/// Units to draw load lines for: the members of the selected nodes, or the busiest few.
fn load_lines(sim: &Sim, first: usize, selected: &BTreeSet<NodeId>) -> Vec<UnitIx> {
    let s = sim.series();
    let candidates = sim.unit_ixs().filter(|i| {
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
    let mut ranked: Vec<(f32, UnitIx)> = candidates
        .map(|i| {
            let mean = s
                .units
                .get(i.index())
                .map(|u| {
                    // Summed in order, without a copy: one frame ranks every instance.
                    let (sum, n) = (u.cpu_utilization.iter().skip(first))
                        .fold((0.0f32, 0usize), |(s, n), x| (s + x, n + 1));
                    sum / n.max(1) as f32
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
    let rows: Vec<UnitIx> = sim
        .unit_ixs()
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
        let img = heat_image(sim, &rows, first, columns);
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
        heat_names_ui(ui, full, rect, &state.heat_rows);
    }
    if let Some(p) = resp.hover_pos()
        && rect.contains(p)
    {
        let row = (((p.y - rect.top()) / rect.height()) * rows.len() as f32) as usize;
        let col = (((p.x - rect.left()) / rect.width()) * columns as f32) as usize;
        let value = rows
            .get(row)
            .and_then(|i| s.units.get(i.index()))
            .and_then(|u| u.cpu_utilization.iter().nth(first + col));
        if let (Some(name), Some(v)) = (state.heat_rows.get(row), value) {
            resp.on_hover_text(format!("{name}: {} busy", theme::percent(v)));
        }
    }
}

/// One pixel per (row, sample): the instance's CPU utilization as a colour, grey while down.
fn heat_image(sim: &Sim, rows: &[UnitIx], first: usize, columns: usize) -> ColorImage {
    let s = sim.series();
    let mut img = ColorImage::filled([columns, rows.len()], Color32::TRANSPARENT);
    let ramp = heat_ramp();
    for (y, i) in rows.iter().enumerate() {
        let Some(us) = s.units.get(i.index()) else {
            continue;
        };
        let up: Vec<f32> = us.up.iter().skip(first).collect();
        for (x, v) in us.cpu_utilization.iter().skip(first).enumerate() {
            if x >= columns {
                break;
            }
            let alive = up.get(x).copied().unwrap_or(1.0) > 0.5;
            img.pixels[y * columns + x] = if alive {
                heat_colour(&ramp, v)
            } else {
                Color32::from_gray(60)
            };
        }
    }
    img
}

/// The load ramp in steps of 1/255 (a colour channel's own step), looked up for each of the
/// heat strip's cells (60,000 for 200 instances over 30 s) rather than worked out.
fn heat_ramp() -> [Color32; 256] {
    std::array::from_fn(|k| theme::load(k as f32 / 255.0))
}

/// `theme::load(v)` from `heat_ramp`'s steps.
fn heat_colour(ramp: &[Color32; 256], v: f32) -> Color32 {
    if v.is_finite() {
        ramp[(v.clamp(0.0, 1.0) * 255.0).round() as usize]
    } else {
        theme::load(v)
    }
}

/// The rows' names in the column left of the strip (`rect`, inside `full`).
fn heat_names_ui(ui: &Ui, full: Rect, rect: Rect, names: &[String]) {
    let row_h = rect.height() / names.len().max(1) as f32;
    let size = (row_h * 0.8).min(12.0);
    let painter = ui.painter_at(full);
    for (k, name) in names.iter().enumerate() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The heat strip's cells show each instance's measured CPU utilization on the load ramp:
    /// the looked-up colours are within one step of a colour channel of the ramp worked out
    /// exactly for every sample.
    #[test]
    fn the_heat_strip_colours_each_sample_on_the_load_ramp() {
        let text = crate::shipped::find("three-tier.ron").unwrap_or_default();
        let Ok(layout) = crate::layout::from_ron(text) else {
            panic!("three-tier parses");
        };
        let Ok(mut sim) = Sim::new(&layout, crate::sim::SimConfig::default()) else {
            panic!("three-tier runs");
        };
        sim.run_until_s(20.0);
        let rows: Vec<UnitIx> = sim
            .unit_ixs()
            .filter(|i| sim.unit_info(*i).is_some_and(|u| u.kind != KindTag::Client))
            .collect();
        let s = sim.series();
        let columns = s.time_s.len();
        let img = heat_image(&sim, &rows, 0, columns);
        let mut cells = 0;
        let mut distinct = BTreeSet::new();
        for (y, i) in rows.iter().enumerate() {
            let us = &s.units[i.index()];
            for (x, v) in us.cpu_utilization.iter().enumerate() {
                let (got, want) = (img.pixels[y * columns + x], theme::load(v));
                for (g, w) in got.to_array().iter().zip(want.to_array()) {
                    assert!(
                        g.abs_diff(w) <= 1,
                        "row {y} sample {x}: {got:?} for {want:?}"
                    );
                }
                distinct.insert(got.to_array());
                cells += 1;
            }
        }
        assert!(cells >= 5 * 190, "{cells} cells");
        assert!(distinct.len() > 10, "{} colours", distinct.len());
    }

    /// Idle, saturated, beyond either end and not a number: the looked-up colour is the ramp's
    /// own.
    #[test]
    fn the_heat_lookup_matches_the_ramp_at_its_ends_and_beyond() {
        let ramp = heat_ramp();
        for v in [0.0, 1.0, 1.5, -0.5, f32::NAN, f32::INFINITY, -f32::INFINITY] {
            assert_eq!(heat_colour(&ramp, v), theme::load(v), "utilization {v}");
        }
    }
}
