//! Applying commands to the running system, at tick boundaries, and the command log.
//!
//! Layout edits go through `Command::apply_to` on a copy of the layout and `layout::check`
//! first, so the running system only ever takes a change a saved file could also hold. Then the
//! running instances are patched in place: warm queues and state elsewhere stay as they are.

use crate::layout::{self, Command, LoopMode, NodeId, NodeKind, Target};

use super::ix::{CallIx, UnitIx};
use super::queue::Ev;
use super::request::FailReason;
use super::unit::{Kept, Ramp, Role};
use super::{CallState, Sim};

/// Where a command came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandSource {
    /// Given at run time (the window, a test).
    User,
    /// The layout's script.
    Script,
}

/// A command as applied: the tick it fell in and its exact simulated time.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedCommand {
    pub tick: u64,
    pub at_ns: u64,
    pub command: Command,
    pub source: CommandSource,
}

impl Sim {
    /// Apply `command` now, at the current tick boundary, and record it in the log.
    /// A command the layout cannot take is refused with the reason, and nothing changes.
    pub fn apply(&mut self, command: Command) -> Result<(), String> {
        self.apply_from(command, CommandSource::User)
    }

    /// Queue `command` for the start of tick `tick` (now, if that has passed).
    pub fn schedule(&mut self, tick: u64, command: Command, source: CommandSource) {
        self.schedule_at_ns(tick.saturating_mul(self.tick_ns), command, source);
    }

    /// Queue `command` for the simulated time `at_ns` (now, if that has passed): it applies
    /// at exactly that time, inside its tick, before the events of the same instant; commands
    /// of one instant apply in the order they were queued.
    pub fn schedule_at_ns(&mut self, at_ns: u64, command: Command, source: CommandSource) {
        self.pending_seq += 1;
        self.pending
            .insert((at_ns, source, self.pending_seq), command);
    }

    /// When the next queued command is due.
    pub(super) fn next_command_ns(&self) -> Option<u64> {
        self.pending.first_key_value().map(|(&(at, _, _), _)| at)
    }

    /// The saved form of the run's user commands: scripted commands at their simulated times,
    /// to append to a layout's script and replay a demo.
    pub fn log_as_script(&self) -> Vec<layout::Scripted> {
        self.log
            .iter()
            .filter(|e| e.source == CommandSource::User)
            .map(|e| layout::Scripted {
                at_s: e.at_ns as f64 / 1e9,
                command: e.command.clone(),
            })
            .collect()
    }

    pub(super) fn apply_due(&mut self) {
        while let Some(entry) = self.pending.first_entry()
            && entry.key().0 <= self.now_ns
        {
            let ((_, source, _), command) = entry.remove_entry();
            if let Err(why) = self.apply_from(command.clone(), source) {
                // In plain words: the command as the file names it, and the node's name.
                let on = (command.node())
                    .map(|id| format!(" on {}", self.layout.name_of(id)))
                    .unwrap_or_default();
                self.notes.push(format!(
                    "tick {}: {}{on} was refused: {why}",
                    self.tick,
                    command.file_name()
                ));
            }
        }
    }

    fn apply_from(&mut self, command: Command, source: CommandSource) -> Result<(), String> {
        if command.edits_layout() {
            let mut next = self.layout.clone();
            command.apply_to(&mut next)?;
            // The script was checked when the run was built, against the layout it starts
            // from; checked again here, a scripted command naming a node an earlier one removed
            // would refuse every later change.
            let script = std::mem::take(&mut next.script);
            let errors: Vec<String> = layout::check(&next)
                .into_iter()
                .filter(|p| p.severity == layout::Severity::Error)
                .map(|p| p.to_string())
                .collect();
            next.script = script;
            if !errors.is_empty() {
                return Err(errors.join("; "));
            }
            let before = std::mem::replace(&mut self.layout, next);
            self.patch(&command, &before);
        } else {
            self.apply_runtime(&command)?;
        }
        self.log.push(super::LoggedCommand {
            tick: self.tick,
            at_ns: self.now_ns,
            command,
            source,
        });
        Ok(())
    }

    /// The instances a target names.
    fn targets(&self, t: Target) -> Result<Vec<UnitIx>, String> {
        let Some(node) = self.layout.node(t.node) else {
            return Err(layout::params::no_node(t.node));
        };
        let members = self.members(t.node);
        match t.member {
            None => Ok(members),
            Some(m) => match self.unit_index.get(&(t.node, m)) {
                Some(&i) if !self.units[i].removed => Ok(vec![i]),
                _ => Err(format!(
                    "{} has no member {m} (it has {})",
                    node.name,
                    members.len()
                )),
            },
        }
    }

    fn apply_runtime(&mut self, command: &Command) -> Result<(), String> {
        // The command's numbers, from the parameter table (a slow factor, a rate, a member).
        if let Some(why) = command.range_problems().into_iter().next() {
            return Err(why);
        }
        match command {
            Command::Kill(t) => {
                for i in self.targets(*t)? {
                    self.kill(i, FailReason::NodeDown);
                }
            }
            Command::Revive(t) => {
                for i in self.targets(*t)? {
                    self.revive(i);
                }
            }
            Command::Flush(t) => self.flush(*t)?,
            Command::Slow { target, factor } => {
                for i in self.targets(*target)? {
                    self.units[i].slow = *factor;
                }
            }
            Command::SetQps { node, qps } => self.set_rate(*node, *qps, 0)?,
            Command::RampQps { node, qps, over_s } => {
                self.set_rate(*node, *qps, layout::s_to_ns(*over_s))?;
            }
            Command::SendRequest {
                client,
                read,
                key,
                user,
                path,
            } => {
                let Some(&unit) = self.targets(Target::node(*client))?.first() else {
                    return Err(format!("{} has no instance", self.layout.name_of(*client)));
                };
                self.issue_asked(unit, *user, *key, *read, path.as_deref())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A dead unit comes back up: empty, at full speed, its traffic (a client's) restarted.
    fn revive(&mut self, i: UnitIx) {
        let now = self.now_ns;
        let u = &mut self.units[i];
        if u.alive {
            return;
        }
        let before = u.load();
        u.alive = true;
        u.account(before, now);
        u.slow = 1.0;
        let is_db = u.kind == crate::layout::KindTag::Database;
        self.record_event(i, super::events::EventKind::Up, None);
        self.start_traffic_if_client(i);
        if is_db {
            self.on_db_revived(i);
        }
    }

    /// Empty every data cache of the target; a target with none is refused.
    fn flush(&mut self, t: Target) -> Result<(), String> {
        let mut flushed = false;
        for i in self.targets(t)? {
            if let Role::Server {
                kept: super::unit::Kept::DataCache(cache),
                ..
            } = &mut self.units[i].role
            {
                cache.flush();
                flushed = true;
            }
            if let Role::Cdn(edge) = &mut self.units[i].role {
                edge.cache.flush();
                flushed = true;
            }
        }
        if !flushed {
            return Err(format!("{} is not a cache", self.layout.name_of(t.node)));
        }
        self.record_node_event(super::events::EventKind::Flush, t.node, None);
        Ok(())
    }

    /// A client's rate changes at once (`over_ns` 0) or ramps linearly to `qps`.
    fn set_rate(&mut self, node: NodeId, qps: f64, over_ns: u64) -> Result<(), String> {
        let now = self.now_ns;
        for i in self.targets(Target::node(node))? {
            let Role::Client(c) = &mut self.units[i].role else {
                return Err(format!("{} is not a client", self.layout.name_of(node)));
            };
            c.ramp_epoch = c.ramp_epoch.wrapping_add(1);
            if over_ns == 0 {
                c.qps = qps;
                c.ramp = None;
                self.schedule_arrival(i);
            } else {
                c.ramp = Some(Ramp {
                    start_ns: now,
                    start_qps: c.qps,
                    end_ns: now + over_ns,
                    end_qps: qps,
                });
                let epoch = c.ramp_epoch;
                self.events.push(now, Ev::Ramp { unit: i, epoch });
            }
        }
        Ok(())
    }

    fn start_traffic_if_client(&mut self, unit: UnitIx) {
        if let Role::Client(c) = &self.units[unit].role {
            match c.params.mode {
                LoopMode::Open => self.schedule_arrival(unit),
                LoopMode::Closed => self.start_traffic(unit),
            }
        }
    }

    /// Take an instance down: every call inside it fails with `reason`.
    fn kill(&mut self, unit: UnitIx, reason: FailReason) {
        let now = self.now_ns;
        let before = {
            let u = &mut self.units[unit];
            if !u.alive {
                return;
            }
            let before = u.load();
            u.alive = false;
            before
        };
        self.drop_jobs(unit);
        {
            let u = &mut self.units[unit];
            u.queue.clear();
            u.serving = 0;
            u.held = 0;
            u.account(before, now);
            // A crash loses the sessions kept in the box's memory (or in the store), and the
            // keys of a data cache or of an app server's local cache; each counted as what it is.
            let mut sessions = 0;
            let mut keys = 0;
            if let Role::Server { kept, .. } = &mut u.role {
                let is_cache = matches!(kept, Kept::DataCache(_));
                let lost = kept.clear();
                if is_cache {
                    keys += lost;
                } else {
                    sessions += lost;
                }
            }
            if let Some(local) = &mut u.local_cache {
                keys += u64::from(local.len());
                local.flush();
            }
            if let Role::Cdn(edge) = &mut u.role {
                keys += u64::from(edge.cache.len());
                edge.cache.flush();
            }
            if now >= self.warmup_ns {
                self.totals.sessions_lost += sessions;
                self.totals.cache_keys_lost += keys;
            }
        }
        if let Role::Client(c) = &mut self.units[unit].role {
            // A dead client sends nothing; its users' pending thinks find it dead and stop.
            c.arrival_epoch = c.arrival_epoch.wrapping_add(1);
            c.arrival_pending = false;
        }
        if reason == FailReason::NodeDown {
            self.record_event(unit, super::events::EventKind::Down, None);
        }
        if self.units[unit].kind == crate::layout::KindTag::Database {
            self.on_db_killed(unit);
        }
        self.unmerge_relays(unit);
        // Fail, in slot order, every call the instance holds.
        let inside: Vec<CallIx> = (0..self.calls.len())
            .map(CallIx::at)
            .filter(|&i| {
                let c = &self.calls[i];
                c.callee == unit
                    && matches!(
                        c.state,
                        CallState::Queued | CallState::Service | CallState::Waiting
                    )
            })
            .collect();
        for call in inside {
            self.reject(call, reason);
        }
    }

    /// Patch the running instances after a layout edit (`before` is the previous layout).
    fn patch(&mut self, command: &Command, before: &layout::Layout) {
        match command {
            Command::SetParam { node, .. }
            | Command::SetKind { node, .. }
            | Command::SetAlgorithm { node, .. } => {
                let Some(n) = self.layout.node(*node).cloned() else {
                    return;
                };
                let old_count = before.node(*node).map_or(1, |b| b.kind.count());
                let new_count = n.kind.count();
                if new_count > old_count {
                    self.add_units(n.id, &n.kind, &n.name, old_count);
                } else if new_count < old_count {
                    for m in new_count..old_count {
                        if let Some(&i) = self.unit_index.get(&(n.id, m)) {
                            self.remove_unit(i);
                        }
                    }
                }
                let old_qps = match before.node(*node).map(|b| &b.kind) {
                    Some(NodeKind::Client(p)) => p.qps,
                    _ => f64::NAN,
                };
                let now = self.now_ns;
                for i in self.members(n.id) {
                    self.unmerge_relays(i);
                    self.units[i].set_params(&n.kind, now);
                    // More workers (or cores, on a bigger size): start queued work at once.
                    self.next_core(i);
                    self.drain_queue(i);
                }
                if let NodeKind::Client(p) = &n.kind
                    && p.qps != old_qps
                {
                    for i in self.members(n.id) {
                        self.schedule_arrival(i);
                    }
                }
                // A pool given an autoscale policy gets its autoscaler.
                self.build_autoscalers();
                // A closed loop with more users starts the new ones (the others keep going).
                if let NodeKind::Client(p) = &n.kind
                    && p.mode == LoopMode::Closed
                {
                    for i in self.members(n.id) {
                        if self.units[i].alive {
                            self.start_traffic(i);
                        }
                    }
                }
                self.rebuild_routes();
            }
            // A restored node comes back in the slots it had (its counters kept), empty and up.
            Command::AddNode(n) | Command::RestoreNode { node: n, .. } => {
                self.add_units(n.id, &n.kind, &n.name, 0);
                self.rebuild_routes();
                for i in self.members(n.id) {
                    self.start_unit(i);
                }
            }
            Command::RemoveNode(id) => {
                let units: Vec<UnitIx> = self
                    .unit_index
                    .range((*id, 0)..=(*id, u32::MAX))
                    .map(|(_, &i)| i)
                    .collect();
                for i in units {
                    self.remove_unit(i);
                }
                self.drop_wire_calls(|from, to| from == *id || to == *id);
                self.rebuild_routes();
            }
            // The routes carry a wire's latency and weight, and its policy slot is updated in
            // place (its retry tokens kept): the next call on the wire uses the new settings.
            Command::AddWire(_) | Command::SetWire(_) => self.rebuild_routes(),
            Command::SetReplication(r) => self.set_replica_link(r),
            Command::RemoveWire { from, to } => {
                self.drop_wire_calls(|f, t| f == *from && t == *to);
                self.rebuild_routes();
            }
            _ => {}
        }
    }

    /// New settings of a replication link: writes from now on take the new lag and mode (writes
    /// already on their way keep the apply time they were given).
    fn set_replica_link(&mut self, r: &layout::Replication) {
        for g in self.repl.iter_mut().filter(|g| g.origin == r.primary) {
            for link in g.replicas.iter_mut().filter(|l| l.node == r.replica) {
                link.mode = r.mode;
                link.lag_ns = r.lag_ms * 1e6;
                link.lag = r.lag;
            }
        }
    }

    /// Remove an instance: calls inside fail with `node_removed`.
    fn remove_unit(&mut self, unit: UnitIx) {
        if !self.units[unit].removed {
            self.record_event(unit, super::events::EventKind::Removed, None);
        }
        self.kill(unit, FailReason::NodeRemoved);
        let now = self.now_ns;
        let u = &mut self.units[unit];
        let before = u.load();
        u.removed = true;
        u.alive = false;
        u.account(before, now);
    }

    /// Callers waiting on a call over a removed wire fail with `wire_removed`; the orphaned
    /// call goes on, and its reply is dropped.
    fn drop_wire_calls(&mut self, on_wire: impl Fn(NodeId, NodeId) -> bool) {
        let waiting: Vec<CallIx> = self
            .calls
            .iter()
            .filter_map(|c| {
                let parent = c.caller_call().filter(|_| c.state != CallState::Free)?;
                let (from, to) = (self.units[c.caller].node, self.units[c.callee].node);
                let p = &self.calls[parent];
                (on_wire(from, to) && p.epoch == c.parent_epoch && p.state == CallState::Waiting)
                    .then_some(parent)
            })
            .collect();
        for parent in waiting {
            if self.calls[parent].state == CallState::Waiting {
                self.finish(parent, Some(FailReason::WireRemoved));
            }
        }
        // Top-level calls on a removed client wire: the client's request fails.
        let top: Vec<CallIx> = (0..self.calls.len())
            .map(CallIx::at)
            .filter(|&i| {
                let c = &self.calls[i];
                c.state != CallState::Free
                    && c.state != CallState::Replying
                    && c.client_waits()
                    && on_wire(self.units[c.caller].node, self.units[c.callee].node)
            })
            .collect();
        for call in top {
            let req = self.calls[call].req;
            if self.reqs[req].live {
                // Detach: the request ends now; the call carries on as an orphan.
                self.calls[call].orphaned = true;
                self.finish_request(req, Some(FailReason::WireRemoved));
            }
        }
    }
}
