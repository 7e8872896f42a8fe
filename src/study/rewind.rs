//! Rewind and branch: copies ("snapshots") of a running core every few simulated seconds,
//! within a fixed memory budget, and deterministic replay from the nearest one.
//!
//! The core is `Clone` and replays bit for bit (same layout, seed and command log), so the
//! core as it was at any earlier time `t` is the nearest snapshot at or before `t`, with the
//! user's later commands scheduled at their logged times, run forward to `t`
//! ([`Timeline::seek`]). A branch is the same seek with only the commands before `t`: the
//! caller then applies its change, and everything before `t` is the original run's.
//!
//! Memory: each snapshot's size is [`Sim::footprint_bytes`] of the copy (the core's tables:
//! instances, caches, queues, calls, series, traces, histograms). Snapshots held never add up
//! to more than the budget ([`BUDGET_BYTES`] in the window): when the next one would not fit,
//! every other snapshot is dropped and the spacing doubles, so a long run keeps snapshots
//! over its whole length, further apart.

use crate::sim::{CommandSource, LoggedCommand, Sim};

/// The window's memory budget for snapshots: 256 MiB.
pub const BUDGET_BYTES: u64 = 256 << 20;
/// The window's first spacing between snapshots, simulated seconds (it doubles each time the
/// snapshots are thinned).
pub const EVERY_S: f64 = 2.0;

/// One copy of the core, at a tick boundary.
#[derive(Clone, Debug)]
struct Snapshot {
    at_ns: u64,
    bytes: u64,
    sim: Sim,
}

/// The snapshots of one run's history, oldest first, spaced at least `every_ns` apart.
#[derive(Clone, Debug)]
pub struct Timeline {
    budget_bytes: u64,
    every_ns: u64,
    snaps: Vec<Snapshot>,
    bytes: u64,
}

impl Timeline {
    /// No snapshots yet; the first is taken at the next [`Timeline::record`], then one every
    /// `every_s` simulated seconds, within `budget_bytes`.
    pub fn new(every_s: f64, budget_bytes: u64) -> Self {
        Timeline {
            budget_bytes,
            every_ns: crate::layout::s_to_ns(every_s).max(1),
            snaps: Vec::new(),
            bytes: 0,
        }
    }

    /// The window's timeline: a snapshot every [`EVERY_S`], within [`BUDGET_BYTES`].
    pub fn for_window() -> Self {
        Timeline::new(EVERY_S, BUDGET_BYTES)
    }

    /// Take a snapshot of `sim` if one is due (none yet, or `every` has passed since the last).
    /// Thins the held snapshots first when the new one would not fit in the budget; a
    /// snapshot that cannot fit even then is not taken. Returns whether one was taken.
    pub fn record(&mut self, sim: &Sim) -> bool {
        if !self.due(sim.now_ns()) {
            return false;
        }
        // The running core's tables have room to grow, so its estimate bounds its copy's.
        let at_most = sim.footprint_bytes();
        while self.bytes + at_most > self.budget_bytes && self.snaps.len() > 1 {
            self.thin();
            if !self.due(sim.now_ns()) {
                return false;
            }
        }
        if self.bytes + at_most > self.budget_bytes {
            return false;
        }
        let copy = sim.clone();
        let bytes = copy.footprint_bytes();
        self.bytes += bytes;
        self.snaps.push(Snapshot {
            at_ns: sim.now_ns(),
            bytes,
            sim: copy,
        });
        true
    }

    fn due(&self, now_ns: u64) -> bool {
        match self.snaps.last() {
            None => true,
            Some(last) => now_ns >= last.at_ns.saturating_add(self.every_ns),
        }
    }

    /// Keep every other snapshot (the first, third, ...) and double the spacing.
    fn thin(&mut self) {
        let mut i = 0;
        self.snaps.retain(|_| {
            i += 1;
            i % 2 == 1
        });
        self.bytes = self.snaps.iter().map(|s| s.bytes).sum();
        self.every_ns = self.every_ns.saturating_mul(2);
    }

    /// Forget the snapshots after `at_ns` (they belong to a history a branch left).
    pub fn truncate_after(&mut self, at_ns: u64) {
        self.snaps.retain(|s| s.at_ns <= at_ns);
        self.bytes = self.snaps.iter().map(|s| s.bytes).sum();
    }

    /// Forget every snapshot (a new run).
    pub fn clear(&mut self) {
        self.snaps.clear();
        self.bytes = 0;
    }

    /// The core at `at_ns` (rounded down to a tick) of the history whose command log is
    /// `log`: the nearest snapshot at or before it, with `log`'s user commands that came after
    /// the snapshot scheduled at their times, run forward. Commands of `log` at `at_ns` or
    /// later stay scheduled, so running on replays the original; pass
    /// [`log_before`]`(log, at_ns)` to branch instead. `None` when no snapshot is that early.
    pub fn seek(&self, at_ns: u64, log: &[LoggedCommand]) -> Option<Sim> {
        let snap = self.snaps.iter().rev().find(|s| s.at_ns <= at_ns)?;
        let mut sim = snap.sim.clone();
        let seen = sim.command_log().len();
        for entry in log.get(seen..).unwrap_or_default() {
            if entry.source == CommandSource::User {
                sim.schedule_at_ns(entry.at_ns, entry.command.clone(), CommandSource::User);
            }
        }
        let ticks = (at_ns - snap.at_ns) / sim.tick_ns().max(1);
        sim.run_ticks(ticks);
        Some(sim)
    }

    /// Snapshots held.
    pub fn len(&self) -> usize {
        self.snaps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.snaps.is_empty()
    }

    /// Estimated bytes of the snapshots held (never more than the budget).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn budget_bytes(&self) -> u64 {
        self.budget_bytes
    }

    /// Simulated seconds between snapshots now (doubled by each thinning).
    pub fn every_s(&self) -> f64 {
        self.every_ns as f64 / 1e9
    }

    /// The times of the snapshots held, ns, oldest first.
    pub fn times_ns(&self) -> Vec<u64> {
        self.snaps.iter().map(|s| s.at_ns).collect()
    }

    /// Each held snapshot's time and estimated bytes.
    pub fn sizes(&self) -> Vec<(u64, u64)> {
        self.snaps.iter().map(|s| (s.at_ns, s.bytes)).collect()
    }

    /// The earliest time a seek can reach, ns.
    pub fn earliest_ns(&self) -> Option<u64> {
        self.snaps.first().map(|s| s.at_ns)
    }
}

/// The entries of `log` before `at_ns`: the history a branch at `at_ns` keeps.
pub fn log_before(log: &[LoggedCommand], at_ns: u64) -> Vec<LoggedCommand> {
    log.iter().filter(|e| e.at_ns < at_ns).cloned().collect()
}
