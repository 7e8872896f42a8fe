//! What a copy of the core costs in memory: an estimate from its tables (each table's
//! capacity times its element's size, B-tree maps at one and a half times their entries,
//! histograms by their bucket arrays). Rewind keeps copies of a running core and stays within
//! a memory budget by this figure (`study::rewind`).
//!
//! Only the core's own tables are counted, not the allocator's bookkeeping; a placement shared
//! by several routes (an `Arc`) is shared by a copy too and is counted once, in
//! `Work::bytes_reserved`, not here.

use std::collections::VecDeque;
use std::mem::size_of;

use super::Sim;
use super::series::{Ring, Series, UnitSeries};
use super::unit::{Kept, Role, Unit};

/// Bytes of a `Vec`'s buffer.
pub(super) fn vec<T>(v: &[T], capacity: usize) -> u64 {
    debug_assert!(capacity >= v.len());
    (capacity * size_of::<T>()) as u64
}

/// Bytes of a `VecDeque`'s buffer.
pub(super) fn deque<T>(v: &VecDeque<T>) -> u64 {
    (v.capacity() * size_of::<T>()) as u64
}

/// Bytes of a B-tree map of `len` entries: its nodes hold up to 11 entries and are about
/// two thirds full, so one and a half times the entries' size.
pub(super) fn btree<K, V>(len: usize) -> u64 {
    (len * (size_of::<K>() + size_of::<V>()) * 3 / 2) as u64
}

impl Sim {
    /// Estimated bytes a copy (`clone()`) of this core takes: the struct and every table it
    /// owns. Snapshots for rewind are budgeted by it.
    pub fn footprint_bytes(&self) -> u64 {
        let s = self;
        let mut bytes = size_of::<Sim>() as u64;
        bytes += s.events.heap_bytes() as u64;
        bytes += vec(&s.units, s.units.capacity());
        bytes += s.units.iter().map(unit_bytes).sum::<u64>();
        bytes += btree::<(crate::layout::NodeId, u32), super::UnitIx>(s.unit_index.len());
        bytes += vec(&s.policies, s.policies.capacity());
        bytes += vec(&s.calls, s.calls.capacity()) + vec(&s.free_calls, s.free_calls.capacity());
        bytes += vec(&s.reqs, s.reqs.capacity()) + vec(&s.free_reqs, s.free_reqs.capacity());
        bytes += s.totals.latency.heap_bytes() + s.totals.interval_latency.heap_bytes();
        bytes += series_bytes(&s.series);
        bytes += s.recent.heap_bytes();
        bytes += s.traces.heap_bytes();
        bytes += vec(&s.log, s.log.capacity());
        bytes += btree::<(u64, super::CommandSource, u64), crate::layout::Command>(s.pending.len());
        bytes += s.notes.iter().map(|n| n.capacity() as u64).sum::<u64>();
        bytes += s.repl.iter().map(|g| g.heap_bytes()).sum::<u64>();
        bytes += vec(&s.jobs, s.jobs.capacity()) + vec(&s.free_jobs, s.free_jobs.capacity());
        bytes += vec(&s.timeline, s.timeline.capacity());
        bytes += s
            .timeline
            .iter()
            .map(|e| (e.name.capacity() + e.detail.as_ref().map_or(0, String::capacity)) as u64)
            .sum::<u64>();
        bytes += vec(&s.marked_by, s.marked_by.capacity());
        bytes += layout_bytes(&s.layout);
        bytes
    }
}

fn unit_bytes(u: &Unit) -> u64 {
    let mut bytes = u.name.capacity() as u64;
    bytes += deque(&u.queue) + deque(&u.cpu_queue) + deque(&u.apply_backlog);
    bytes += deque(&u.recent_sat);
    bytes += vec(&u.routes, u.routes.capacity());
    bytes += u
        .routes
        .iter()
        .map(|r| vec(&r.units, r.units.capacity()))
        .sum::<u64>();
    bytes += u.local_cache.as_ref().map_or(0, |c| c.heap_bytes());
    bytes += match &u.role {
        Role::Client(c) => c.heap_bytes(),
        Role::Entry(e) => e.heap_bytes(),
        Role::Balancer(b) => b.heap_bytes(),
        Role::Router(r) => (size_of_val(r.as_ref()) + r.shards.capacity() * 4) as u64,
        Role::Cdn(e) => e.heap_bytes(),
        Role::Limiter(l) => size_of_val(l.as_ref()) as u64 + l.heap_bytes(),
        Role::Server { kept, .. } => match kept {
            Kept::Nothing => 0,
            Kept::LocalSessions(s) => btree::<u64, ()>(s.len()),
            Kept::SessionStore(c) | Kept::DataCache(c) => c.heap_bytes(),
        },
        Role::Queue(q) => q.heap_bytes(),
    };
    bytes
}

fn series_bytes(s: &Series) -> u64 {
    let rings = [
        &s.time_s,
        &s.throughput_rps,
        &s.failures_per_s,
        &s.latency_p50_ms,
        &s.latency_p95_ms,
        &s.latency_p99_ms,
        &s.in_flight,
        &s.cache_hit_ratio,
        &s.db_reads_per_s,
        &s.db_writes_per_s,
        &s.sessions_lost,
        &s.session_misses,
    ];
    let mut bytes: u64 = rings.iter().map(|r| r.heap_bytes()).sum();
    bytes += vec(&s.units, s.units.capacity());
    bytes += s.units.iter().map(unit_series_bytes).sum::<u64>();
    bytes
}

fn unit_series_bytes(u: &UnitSeries) -> u64 {
    let rings: [&Ring; 6] = [
        &u.cpu_utilization,
        &u.queue,
        &u.served_per_s,
        &u.calls_per_s,
        &u.failed_per_s,
        &u.up,
    ];
    rings.iter().map(|r| r.heap_bytes()).sum()
}

/// The layout the core runs: its nodes, wires and script, with their names (a rough figure:
/// the parameters' own small vectors are left out).
fn layout_bytes(l: &crate::layout::Layout) -> u64 {
    let mut bytes = vec(&l.nodes, l.nodes.capacity());
    bytes += l
        .nodes
        .iter()
        .map(|n| n.name.capacity() as u64)
        .sum::<u64>();
    bytes += vec(&l.wires, l.wires.capacity());
    bytes += vec(&l.script, l.script.capacity());
    bytes
}
