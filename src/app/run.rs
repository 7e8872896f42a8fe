//! The run: one `Sim` built from the layout, advanced from the window. Each frame turns
//! wall-clock time × speed into a number of ticks and runs them within a time budget; the core
//! only counts ticks. Layout edits reach the running core as the `Command`s that turn the old
//! layout into the new one (`diff_commands`), so undo and redo work on a running system too.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::layout::{self, Command, Layout, NodeKind, Scripted, params};
use crate::sim::{Sim, SimConfig, TraceConfig};

use super::live::{self, DotCounts, LiveView};

/// Slowest and fastest speed the slider offers (simulated seconds per wall-clock second).
pub const SPEED_MIN: f64 = 0.01;
pub const SPEED_MAX: f64 = 100.0;
/// Default simulation time budget per frame: half a 60 Hz frame.
pub const BUDGET_MS: f64 = 8.0;
/// Longest wall-clock gap one frame makes up for (after a stall, time does not jump).
const FRAME_DT_MAX_S: f64 = 0.1;
/// Finished traces the core keeps for the dots.
const TRACE_CAPACITY: usize = 8000;

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
    /// Edits the running core could not take (they apply on Reset).
    pub needs_reset: bool,
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
            trace: TraceConfig {
                every: live::trace_every(layout),
                capacity: TRACE_CAPACITY,
            },
        };
        match Sim::new(layout, config) {
            Ok(sim) => {
                self.sim = Some(sim);
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
            if stop_ns.is_some_and(|s| sim.now_ns() >= s) {
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
        let stopped = self.sim.as_ref().is_some_and(|s| self.stop_reached(s));
        if stopped {
            self.playing = false;
        }
    }

    /// One tick, paused.
    pub fn step(&mut self, layout: &Layout) {
        self.playing = false;
        if self.ensure(layout)
            && let Some(sim) = self.sim.as_mut()
        {
            sim.tick();
        }
    }

    /// Refresh what the canvas overlays, once per frame.
    pub fn refresh_view(&mut self, layout: &Layout) {
        let Some(sim) = self.sim.as_ref() else {
            self.view = LiveView::default();
            return;
        };
        let now = sim.now_ns();
        self.view = live::build(sim, layout, self.prev_overlay_ns, &mut self.dot_counts);
        self.prev_overlay_ns = Some(now);
    }

    /// Send the change from `before` to `after` to the running core. Returns the refusals.
    pub fn sync(&mut self, before: &Layout, after: &Layout) -> Vec<String> {
        let Some(sim) = self.sim.as_mut() else {
            return Vec::new();
        };
        let (commands, complete) = diff_commands(before, after);
        if !complete {
            self.needs_reset = true;
        }
        let refusals: Vec<String> = commands
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
            Some(sim) => sim.apply(command),
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

/// The commands that turn `before` into `after` on a running core, and whether they cover the
/// whole change (renames and moves need none; wire settings and enum fields without a command
/// need a Reset).
pub fn diff_commands(before: &Layout, after: &Layout) -> (Vec<Command>, bool) {
    let mut out = Vec::new();
    let mut complete = true;
    let after_ids: BTreeSet<_> = after.nodes.iter().map(|n| n.id).collect();
    let before_ids: BTreeSet<_> = before.nodes.iter().map(|n| n.id).collect();
    let has_wire = |l: &Layout, from, to| l.wires.iter().any(|w| w.from == from && w.to == to);
    // Wires between nodes that stay; a removed node takes its wires with it.
    for w in &before.wires {
        if !has_wire(after, w.from, w.to)
            && after_ids.contains(&w.from)
            && after_ids.contains(&w.to)
        {
            out.push(Command::RemoveWire {
                from: w.from,
                to: w.to,
            });
        }
    }
    for n in &before.nodes {
        if !after_ids.contains(&n.id) {
            out.push(Command::RemoveNode(n.id));
        }
    }
    for n in &after.nodes {
        if !before_ids.contains(&n.id) {
            out.push(Command::AddNode(n.clone()));
        }
    }
    for n in &after.nodes {
        let Some(old) = before.node(n.id) else {
            continue;
        };
        if old.kind == n.kind {
            continue;
        }
        let tag = n.kind.tag();
        if old.kind.tag() != tag {
            complete = false;
            continue;
        }
        let mut patched = old.kind.clone();
        for meta in params::params_of(tag) {
            let (a, b) = (meta.get(&old.kind), meta.get(&n.kind));
            if a != b
                && let Some(value) = b
            {
                let _ = meta.set(&mut patched, value);
                out.push(Command::SetParam {
                    node: n.id,
                    param: meta.name.to_string(),
                    value,
                });
            }
        }
        if let (NodeKind::LoadBalancer(a), NodeKind::LoadBalancer(b)) = (&old.kind, &n.kind)
            && a.algorithm != b.algorithm
        {
            out.push(Command::SetAlgorithm {
                node: n.id,
                algorithm: b.algorithm,
            });
            if let NodeKind::LoadBalancer(p) = &mut patched {
                p.algorithm = b.algorithm;
            }
        }
        // The rest (sizes, layers, policies, modes) goes over whole: set_kind.
        if patched != n.kind {
            out.push(Command::SetKind {
                node: n.id,
                kind: n.kind.clone(),
            });
        }
    }
    for w in &after.wires {
        match before
            .wires
            .iter()
            .find(|x| x.from == w.from && x.to == w.to)
        {
            None => out.push(Command::AddWire(w.clone())),
            Some(old) if old != w => complete = false,
            Some(_) => {}
        }
    }
    (out, complete)
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
    use crate::layout::{NodeId, Wire};

    fn starter() -> Layout {
        crate::shipped::find("request-flow.ron")
            .and_then(|t| layout::from_ron(t).ok())
            .unwrap_or_default()
    }

    #[test]
    fn diffs_become_commands_that_rebuild_the_target() {
        let before = starter();
        let mut after = before.clone();
        if let Some(n) = after.node_mut(NodeId(2))
            && let NodeKind::AppServer(p) = &mut n.kind
        {
            p.count = 5;
        }
        after
            .wires
            .retain(|w| !(w.from == NodeId(2) && w.to == NodeId(4)));
        after.nodes.retain(|n| n.id != NodeId(4));
        let (commands, complete) = diff_commands(&before, &after);
        assert!(complete);
        let mut rebuilt = before.clone();
        for c in &commands {
            assert!(c.apply_to(&mut rebuilt).is_ok(), "{c:?}");
        }
        assert_eq!(rebuilt, after);
        // Back (an undo of the delete): ids are never reused, so the running core refuses to
        // bring node 4 back, and the window says the change applies on Reset.
        let (back, _) = diff_commands(&after, &before);
        assert!(back.iter().any(|c| c.apply_to(&mut rebuilt).is_err()));
    }

    #[test]
    fn settings_that_are_not_numbers_go_over_as_set_kind() {
        let before = starter();
        let mut after = before.clone();
        let Some(n) = after.nodes.iter_mut().find(|n| n.kind.size().is_some()) else {
            panic!("the starter has a server");
        };
        assert!(n.kind.set_size(crate::layout::Size::X8Large));
        let (commands, complete) = diff_commands(&before, &after);
        assert!(complete);
        let mut rebuilt = before.clone();
        for c in &commands {
            assert!(matches!(c, Command::SetKind { .. }), "{c:?}");
            c.apply_to(&mut rebuilt).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(rebuilt, after);
    }

    #[test]
    fn wire_settings_need_a_reset() {
        let before = starter();
        let mut after = before.clone();
        after.wires[0] = Wire {
            latency_ms: 9.0,
            ..after.wires[0].clone()
        };
        let (commands, complete) = diff_commands(&before, &after);
        assert!(commands.is_empty());
        assert!(!complete);
    }

    #[test]
    fn counts_read_well() {
        assert_eq!(fmt_count(1234567.4), "1,234,567");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(fmt_count(f64::NAN), "-");
    }
}
