//! The run: one `Sim` built from the layout, advanced from the window. Each frame turns
//! wall-clock time × speed into a number of ticks and runs them within a time budget; the core
//! only counts ticks. Edits reach the running core as they are made: an edit's commands are
//! forwarded as they are (`forward`), and undo forwards the inverse, so undo and redo work on a
//! running system too.

use std::time::{Duration, Instant};

use crate::layout::{self, Command, Layout, Scripted};
use crate::sim::{Sim, SimConfig};

use super::edit::Edit;
use super::live::{self, DotCounts, LiveView};
use super::rewind::Rewind;

/// Slowest and fastest speed the slider offers (simulated seconds per wall-clock second).
pub const SPEED_MIN: f64 = 0.01;
pub const SPEED_MAX: f64 = 100.0;
/// The intervals Step offers (simulated seconds, and how the control names them).
pub const STEP_CHOICES: [(f64, &str); 3] = [(0.01, "10 ms"), (0.1, "100 ms"), (1.0, "1 s")];
/// Default simulation time budget per frame: half a 60 Hz frame.
pub const BUDGET_MS: f64 = 8.0;
/// Longest wall-clock gap one frame makes up for (after a stall, time does not jump).
const FRAME_DT_MAX_S: f64 = 0.1;
/// The run's state: the core, the clock that drives it, and what the canvas shows of it.
pub struct RunState {
    pub sim: Option<Sim>,
    pub playing: bool,
    /// Requested simulated seconds per wall-clock second.
    pub speed: f64,
    /// Run as many ticks as the budget allows, whatever the speed.
    pub max_speed: bool,
    /// The seed of the next run (Reset applies it).
    pub seed: u64,
    /// Pause when simulated time reaches this (0: never).
    pub stop_at_s: f64,
    /// Plots show this many simulated seconds.
    pub window_s: f64,
    /// Simulated seconds one Step advances (one of `STEP_CHOICES`).
    pub step_s: f64,
    /// Wall-clock time the simulation may take per frame.
    pub budget_ms: f64,
    /// Tests and benchmarks: run exactly this many ticks per playing frame, ignoring the clock.
    pub fixed_ticks_per_frame: Option<u64>,
    /// Simulated ns owed to the clock (fractions of a tick carried to the next frame).
    owed_ns: f64,
    /// Smoothed achieved speed, and whether the last frames ran out of budget.
    pub achieved: f64,
    pub behind: bool,
    /// Why the layout cannot run, when it cannot.
    pub error: Option<String>,
    /// Simulated time at the previous frame's overlay, for the dots.
    prev_overlay_ns: Option<u64>,
    /// Dots first drawn per wire and class over this run.
    pub dot_counts: DotCounts,
    pub view: LiveView,
    /// Log entries already saved into the layout's script.
    saved_log_len: usize,
    /// An edit the running core refused (the layout as drawn runs on Reset).
    pub needs_reset: bool,
    /// Snapshots of this run for the timeline, and the original a branch left.
    pub rewind: Rewind,
    /// The layout and settings the core was built from: with its command log, what replays
    /// the run (the slowest requests' waterfalls).
    pub start: Option<(Layout, SimConfig)>,
}

impl RunState {
    pub fn new(seed: u64) -> RunState {
        RunState {
            sim: None,
            playing: false,
            speed: 1.0,
            max_speed: false,
            seed,
            stop_at_s: 0.0,
            window_s: 30.0,
            step_s: 0.1,
            budget_ms: BUDGET_MS,
            fixed_ticks_per_frame: None,
            owed_ns: 0.0,
            achieved: 0.0,
            behind: false,
            error: None,
            prev_overlay_ns: None,
            dot_counts: DotCounts::new(),
            view: LiveView::default(),
            saved_log_len: 0,
            needs_reset: false,
            rewind: Rewind::default(),
            start: None,
        }
    }

    /// Forget the run (a new document, or Reset): the next Play or Step builds a fresh core.
    pub fn reset(&mut self) {
        self.sim = None;
        self.playing = false;
        self.owed_ns = 0.0;
        self.achieved = 0.0;
        self.behind = false;
        self.error = None;
        self.prev_overlay_ns = None;
        self.dot_counts.clear();
        self.view = LiveView::default();
        self.saved_log_len = 0;
        self.needs_reset = false;
        self.rewind = Rewind::default();
    }

    /// Build the core from `layout` if there is none. False (with `error` set) when the
    /// layout has errors.
    pub fn ensure(&mut self, layout: &Layout) -> bool {
        if self.sim.is_some() {
            return true;
        }
        let config = SimConfig {
            seed: Some(self.seed),
            warmup_s: 0.0,
            trace: crate::study::dots::window_trace_config(layout),
        };
        match Sim::new(layout, config.clone()) {
            Ok(sim) => {
                self.rewind.after_advance(&sim);
                self.sim = Some(sim);
                self.start = Some((layout.clone(), config));
                self.error = None;
                true
            }
            Err(problems) => {
                let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
                self.error = Some(format!(
                    "Cannot run: {} ({first})",
                    if problems.len() == 1 {
                        "1 error".to_string()
                    } else {
                        format!("{} errors", problems.len())
                    }
                ));
                self.playing = false;
                false
            }
        }
    }

    /// Simulated seconds so far.
    pub fn now_s(&self) -> f64 {
        self.sim.as_ref().map_or(0.0, |s| s.now_ns() as f64 / 1e9)
    }

    fn stop_reached(&self, sim: &Sim) -> bool {
        self.stop_at_s > 0.0 && sim.now_ns() >= layout::s_to_ns(self.stop_at_s)
    }

    /// Advance the core for one frame that came `wall_dt_s` after the previous one.
    pub fn advance(&mut self, wall_dt_s: f64) {
        if !self.playing {
            return;
        }
        let stop_at_s = self.stop_at_s;
        let Some(sim) = self.sim.as_mut() else {
            self.playing = false;
            return;
        };
        let tick_ns = sim.tick_ns().max(1) as f64;
        let dt = wall_dt_s.clamp(0.0, FRAME_DT_MAX_S);
        let wanted = match self.fixed_ticks_per_frame {
            Some(n) => n,
            None if self.max_speed => u64::MAX,
            None => {
                self.owed_ns += dt * self.speed * 1e9;
                let n = (self.owed_ns / tick_ns).floor();
                self.owed_ns -= n * tick_ns;
                n as u64
            }
        };
        let budget = Duration::from_secs_f64(self.budget_ms.max(0.1) / 1e3);
        let start = Instant::now();
        let stop_ns = (stop_at_s > 0.0).then(|| layout::s_to_ns(stop_at_s));
        let mut done = 0u64;
        let mut out_of_budget = false;
        while done < wanted {
            if stop_ns.is_some_and(|s| sim.now_ns() >= s) || sim.halted().is_some() {
                break;
            }
            // Ticks in which nothing happens pass in one step.
            let skip_to = stop_ns.map_or(u64::MAX, |s| {
                s.saturating_sub(sim.now_ns()) / sim.tick_ns().max(1)
            });
            done += sim.skip_idle((wanted - done).min(skip_to));
            if done >= wanted {
                break;
            }
            sim.tick();
            done += 1;
            if self.fixed_ticks_per_frame.is_none() && start.elapsed() >= budget {
                out_of_budget = done < wanted;
                break;
            }
        }
        if out_of_budget && !self.max_speed {
            // The core cannot keep up: drop the debt rather than let it grow.
            self.owed_ns = 0.0;
        }
        if dt > 0.0 {
            let speed_now = done as f64 * tick_ns / 1e9 / dt;
            self.achieved = if self.achieved == 0.0 {
                speed_now
            } else {
                0.8 * self.achieved + 0.2 * speed_now
            };
        }
        self.behind = out_of_budget && !self.max_speed && self.fixed_ticks_per_frame.is_none();
        if let Some(sim) = self.sim.as_ref() {
            self.rewind.after_advance(sim);
        }
        let stopped = self.sim.as_ref().is_some_and(|s| self.stop_reached(s));
        if stopped {
            self.playing = false;
        }
        self.note_halt();
    }

    /// A run that stopped at a limit pauses and says why in the run panel (the window keeps
    /// drawing; Reset starts again).
    fn note_halt(&mut self) {
        if let Some(halt) = self.sim.as_ref().and_then(|s| s.halted()) {
            self.playing = false;
            self.error = Some(format!("Stopped: {halt}"));
        }
    }

    /// Advance `step_s` of simulated time (whole ticks, at least one), paused.
    pub fn step(&mut self, layout: &Layout) {
        self.playing = false;
        if self.ensure(layout)
            && let Some(sim) = self.sim.as_mut()
        {
            let tick_ns = sim.tick_ns().max(1);
            let ticks = layout::s_to_ns(self.step_s).div_ceil(tick_ns).max(1);
            sim.run_ticks(ticks);
            self.rewind.after_advance(sim);
        }
        self.note_halt();
    }

    /// Show the run as it was at `t_s` of its history (paused): the timeline's drag.
    pub fn seek_to_s(&mut self, t_s: f64) {
        let Some(sim) = self.sim.as_mut() else {
            return;
        };
        self.playing = false;
        self.owed_ns = 0.0;
        self.rewind.seek(sim, layout::s_to_ns(t_s.max(0.0)));
        self.prev_overlay_ns = None;
        self.error = None;
        self.note_halt();
    }

    /// Refresh what the canvas overlays, once per frame.
    pub fn refresh_view(&mut self, layout: &Layout) {
        let Some(sim) = self.sim.as_ref() else {
            self.view = LiveView::default();
            return;
        };
        let now = sim.now_ns();
        live::build_into(
            sim,
            layout,
            self.prev_overlay_ns,
            &mut self.dot_counts,
            &mut self.view,
        );
        self.prev_overlay_ns = Some(now);
    }

    /// Forward an applied edit's commands to the running core, if there is one. Returns the
    /// refusals (the core checks each command against its own layout, which the script may
    /// have changed).
    pub fn forward(&mut self, edit: &Edit) -> Vec<String> {
        let Some(sim) = self.sim.as_mut() else {
            return Vec::new();
        };
        self.rewind.branch(sim);
        let refusals: Vec<String> = edit
            .commands()
            .into_iter()
            .filter_map(|c| sim.apply(c).err())
            .collect();
        if !refusals.is_empty() {
            self.needs_reset = true;
        }
        refusals
    }

    /// A fault or other run-only command from the canvas's menu.
    pub fn command(&mut self, layout: &Layout, command: Command) -> Result<(), String> {
        if !self.ensure(layout) {
            return Err(self.error.clone().unwrap_or_default());
        }
        match self.sim.as_mut() {
            Some(sim) => {
                self.rewind.branch(sim);
                sim.apply(command)
            }
            None => Err("no run".into()),
        }
    }

    /// The user commands of this run not yet saved into the script.
    pub fn take_unsaved_log(&mut self) -> Vec<Scripted> {
        let Some(sim) = self.sim.as_ref() else {
            return Vec::new();
        };
        let all = sim.log_as_script();
        let new = all.get(self.saved_log_len..).unwrap_or_default().to_vec();
        self.saved_log_len = all.len();
        new
    }
}

/// Format `x` with thousands separators and no decimals.
pub fn fmt_count(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let n = x.round().abs() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if x < -0.5 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_well() {
        assert_eq!(fmt_count(1234567.4), "1,234,567");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(fmt_count(f64::NAN), "-");
    }
}
