//! Request waterfalls: one traced request as rows of bars on a time axis, one row per call
//! (the client's attempts at the top, the calls they caused below), each bar a stretch of time
//! spent on the wire, waiting in a queue, being served (at a cache, a database, a server),
//! relayed by a balancer, or backing off before a retry; a row ends early where its caller
//! timed out. Also the replay that traces a run's slowest requests, and the JSON lines
//! `tierlab run --traces` writes.
//!
//! Everything here reads the core's typed trace records (`sim::trace`); the window puts the
//! decisions into words with `app::narrate`, the one narrator.

use serde::Serialize;

use crate::layout::{KindTag, Layout};
use crate::sim::trace::Hop;
use crate::sim::{LoggedCommand, Outcome, Sim, SimConfig, Trace, UnitIx, What};

use super::{Cancelled, Progress};

/// What a stretch of a row's time was spent on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BarKind {
    /// Crossing the wire to the callee.
    Wire,
    /// Waiting in the callee's queue for a worker.
    Queue,
    /// Being served by an app server (its own work and the calls it waits on).
    Service,
    /// Being served by a cache.
    Cache,
    /// Being served by a database.
    Database,
    /// Passing a balancer, a shard router or an entry (their latency).
    Relay,
    /// The reply crossing the wire back.
    Reply,
    /// The caller waiting before it retries.
    Backoff,
}

impl BarKind {
    /// The bar's name in the legend.
    pub fn label(self) -> &'static str {
        match self {
            BarKind::Wire => "wire",
            BarKind::Queue => "queue wait",
            BarKind::Service => "service",
            BarKind::Cache => "cache",
            BarKind::Database => "database",
            BarKind::Relay => "relay",
            BarKind::Reply => "reply wire",
            BarKind::Backoff => "retry backoff",
        }
    }
}

/// One stretch of time on a row, in ns since the request left its client.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bar {
    pub kind: BarKind,
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Bar {
    pub fn len_ns(&self) -> u64 {
        self.end_ns - self.start_ns
    }
}

/// One call of the request: its caller, its callee, and its bars in time order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub caller: String,
    pub callee: String,
    /// 0 for the client's own calls, 1 for the calls those caused, ...
    pub depth: u32,
    pub bars: Vec<Bar>,
    /// The caller stopped waiting at this time (ns since the request left its client).
    pub timed_out_ns: Option<u64>,
    /// The reply carried a failure.
    pub failed: bool,
    /// The retry this row is (0: the first try).
    pub attempt: u8,
}

/// A traced request as a waterfall.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Waterfall {
    pub request_id: u64,
    /// From leaving the client to its answer (or failure), ns; `None` while it is on its way.
    pub latency_ns: Option<u64>,
    pub rows: Vec<Row>,
}

impl Waterfall {
    /// Time the client's own rows account for (their bars, retries' backoff included): the
    /// request's latency when the trace is whole.
    pub fn client_ns(&self) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.depth == 0)
            .flat_map(|r| &r.bars)
            .map(Bar::len_ns)
            .sum()
    }

    /// Where the time axis ends: the answer, or the last bar's end.
    pub fn span_ns(&self) -> u64 {
        let last = self.rows.iter().flat_map(|r| &r.bars).map(|b| b.end_ns);
        last.chain(self.latency_ns).max().unwrap_or(0)
    }
}

/// A call being put together from its hops.
struct Open {
    row: usize,
    call: u64,
    caller: UnitIx,
    callee: UnitIx,
    depart_ns: u64,
    arrive_ns: u64,
    /// The reply hop: (depart, arrive).
    reply: Option<(u64, u64)>,
    timed_out_ns: Option<u64>,
}

/// The waterfall of a trace; `sim` names the instances (any core of the same layout).
pub fn waterfall(trace: &Trace, sim: &Sim) -> Waterfall {
    let born = trace.born_ns;
    let name = |u: UnitIx| {
        sim.unit_info(u)
            .map_or_else(|| "?".into(), |i| i.name.to_string())
    };
    let kind = |u: UnitIx| sim.unit_info(u).map(|i| i.kind);
    let mut calls: Vec<Open> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    // The retry a caller is about to make: (caller, decided at, attempt).
    let mut retry: Option<(UnitIx, u64, u8)> = None;
    let mut decisions = trace.decisions.iter().peekable();
    for h in &trace.hops {
        // Decisions up to this hop's departure: retries and timeouts shape the rows.
        while let Some(d) = decisions.next_if(|d| d.at_ns <= h.depart_ns) {
            match d.what {
                What::Retry { attempt, .. } => retry = Some((d.unit, d.at_ns, attempt)),
                What::TimedOut { callee } => time_out(&mut calls, d.unit, callee, d.at_ns),
                _ => {}
            }
        }
        if h.reply {
            reply_hop(&mut calls, h);
            continue;
        }
        // The caller's own call still waiting for its answer is this call's parent.
        let depth = calls
            .iter()
            .rev()
            .find(|c| c.callee == h.from && c.reply.is_none() && c.timed_out_ns.is_none())
            .map_or(0, |c| rows[c.row].depth + 1);
        let mut bars = Vec::new();
        let mut attempt = 0;
        if let Some((caller, at, n)) = retry
            && caller == h.from
        {
            retry = None;
            attempt = n;
            push_bar(&mut bars, BarKind::Backoff, at, h.depart_ns, born);
        }
        calls.push(Open {
            row: rows.len(),
            call: h.call,
            caller: h.from,
            callee: h.to,
            depart_ns: h.depart_ns,
            arrive_ns: h.arrive_ns,
            reply: None,
            timed_out_ns: None,
        });
        rows.push(Row {
            caller: name(h.from),
            callee: name(h.to),
            depth,
            bars,
            timed_out_ns: None,
            failed: false,
            attempt,
        });
    }
    for d in decisions {
        if let What::TimedOut { callee } = d.what {
            time_out(&mut calls, d.unit, callee, d.at_ns);
        }
    }
    let end_ns = trace.end_ns;
    for c in &calls {
        bars_of_call(&mut rows[c.row], c, trace, kind(c.callee), end_ns);
    }
    // A request that failed on a retry's backoff still shows the wait it ended in.
    if let (Some((caller, at, attempt)), Some(end)) = (retry, end_ns)
        && caller == trace.client
    {
        let mut bars = Vec::new();
        push_bar(&mut bars, BarKind::Backoff, at, end, born);
        rows.push(Row {
            caller: name(caller),
            callee: String::new(),
            depth: 0,
            bars,
            timed_out_ns: None,
            failed: true,
            attempt,
        });
    }
    Waterfall {
        request_id: trace.request_id,
        latency_ns: end_ns.map(|e| e - born),
        rows,
    }
}

/// A call's bars on its row: the wire, the wait for a worker, the callee's own time and the
/// reply, cut at a timeout; and whether the call failed.
fn bars_of_call(
    row: &mut Row,
    c: &Open,
    trace: &Trace,
    callee_kind: Option<KindTag>,
    end_ns: Option<u64>,
) {
    let born = trace.born_ns;
    // The call ends for its caller at the reply's arrival or the timeout, whichever is
    // first; a call still on its way ends at the trace's end, or its last known time.
    let reply_arrive = c.reply.map(|(_, a)| a);
    let until = [reply_arrive, c.timed_out_ns]
        .into_iter()
        .flatten()
        .min()
        .or(end_ns)
        .unwrap_or(c.arrive_ns);
    let at_callee_until = c.reply.map_or(until, |(d, _)| d).min(until);
    let started = trace
        .decisions
        .iter()
        .find(|d| {
            d.unit == c.callee
                && d.what == What::Started
                && d.at_ns >= c.arrive_ns
                && d.at_ns <= at_callee_until
        })
        .map(|d| d.at_ns);
    let serve_kind = match callee_kind {
        Some(KindTag::Cache) => BarKind::Cache,
        Some(KindTag::Database) => BarKind::Database,
        Some(
            KindTag::LoadBalancer | KindTag::ShardRouter | KindTag::Entry | KindTag::RateLimiter,
        ) => BarKind::Relay,
        _ => BarKind::Service,
    };
    let arrive = c.arrive_ns.min(until);
    push_bar(&mut row.bars, BarKind::Wire, c.depart_ns, arrive, born);
    match started {
        Some(s) => {
            push_bar(&mut row.bars, BarKind::Queue, arrive, s, born);
            push_bar(&mut row.bars, serve_kind, s, at_callee_until, born);
        }
        // No worker taken (a balancer, or a server that refused or had not started it).
        None if serve_kind == BarKind::Relay => {
            push_bar(&mut row.bars, serve_kind, arrive, at_callee_until, born)
        }
        None => push_bar(&mut row.bars, BarKind::Queue, arrive, at_callee_until, born),
    }
    push_bar(&mut row.bars, BarKind::Reply, at_callee_until, until, born);
    row.timed_out_ns = c
        .timed_out_ns
        .filter(|t| Some(*t) == Some(until))
        .map(|t| t - born);
    row.failed = (trace.hops.iter()).any(|h| h.reply && h.failed && h.call == c.call);
}

fn push_bar(bars: &mut Vec<Bar>, kind: BarKind, from_ns: u64, to_ns: u64, born_ns: u64) {
    if to_ns > from_ns {
        bars.push(Bar {
            kind,
            start_ns: from_ns - born_ns,
            end_ns: to_ns - born_ns,
        });
    }
}

/// A reply hop answers its call.
fn reply_hop(calls: &mut [Open], h: &Hop) {
    if let Some(c) = calls.iter_mut().rev().find(|c| c.call == h.call) {
        c.reply = Some((h.depart_ns, h.arrive_ns));
    }
}

/// `caller` stopped waiting for `callee`: its latest call there still waiting ends now.
fn time_out(calls: &mut [Open], caller: UnitIx, callee: UnitIx, at_ns: u64) {
    if let Some(c) = calls.iter_mut().rev().find(|c| {
        c.caller == caller
            && c.callee == callee
            && c.timed_out_ns.is_none()
            && c.reply.is_none_or(|(_, a)| a > at_ns)
    }) {
        c.timed_out_ns = Some(at_ns);
    }
}

/// Replay a run (same layout, seed and command log: `Sim::replay`) to `until_ns` with the
/// requests `ids` traced, counting simulated seconds on `progress`. The replay gives the same
/// results as the run; its `traces().picked` hold the traces of those ids that finished.
pub fn replay_traced(
    layout: &Layout,
    config: SimConfig,
    log: &[LoggedCommand],
    until_ns: u64,
    ids: &[u64],
    progress: &Progress,
) -> Result<Result<Sim, String>, Cancelled> {
    let mut sim = match Sim::replay(layout, config, log) {
        Ok(sim) => sim,
        Err(problems) => {
            let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
            return Ok(Err(format!("the layout cannot run: {first}")));
        }
    };
    sim.trace_ids(ids);
    // In whole ticks up to where the run was, a simulated second between looks at `progress`.
    let per_look = (1_000_000_000 / sim.tick_ns()).max(1);
    while sim.now_ns() < until_ns && sim.halted().is_none() {
        progress.check()?;
        let left = (until_ns - sim.now_ns()).div_ceil(sim.tick_ns());
        sim.run_ticks(left.min(per_look));
        progress.add(1);
    }
    Ok(Ok(sim))
}

/// One line of `tierlab run --traces`: a traced request, its hops, decisions and waterfall.
#[derive(Clone, Debug, Serialize)]
pub struct TraceLine {
    pub request_id: u64,
    /// 1 for the run's slowest request, 2 for the next, ...; `None` for a sampled one.
    pub slowest_rank: Option<usize>,
    pub client: String,
    pub user: u32,
    pub key: u32,
    pub read: bool,
    pub born_ms: f64,
    /// `None` while still on its way when the run ended.
    pub latency_ms: Option<f64>,
    /// `read`, `write`, or the failure's reason (`timeout`, ...).
    pub outcome: Option<&'static str>,
    pub hops: Vec<HopLine>,
    pub decisions: Vec<DecisionLine>,
    pub waterfall: Waterfall,
    /// Hops and decisions the trace left out because it was full.
    pub dropped: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct HopLine {
    pub from: String,
    pub to: String,
    pub depart_ms: f64,
    pub arrive_ms: f64,
    pub reply: bool,
    pub failed: bool,
}

/// A decision: when, where, and the core's typed record with instances by name.
#[derive(Clone, Debug, Serialize)]
pub struct DecisionLine {
    pub at_ms: f64,
    pub node: String,
    #[serde(flatten)]
    pub what: WhatLine,
}

/// `sim::trace::What`, serialisable: the same records, instances by name.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum WhatLine {
    Balanced {
        to: String,
        why: String,
    },
    Entered {
        to: String,
    },
    Arrived {
        queued: u32,
        busy: u32,
        workers: u32,
    },
    Started,
    CacheLookup {
        key: u32,
        hit: bool,
        keys_held: u32,
    },
    LocalCacheLookup {
        key: u32,
        hit: bool,
    },
    CacheFill {
        cache: String,
        key: u32,
        keys_held: u32,
    },
    CacheWrite {
        cache: String,
        key: u32,
        updated: bool,
    },
    DatabaseChosen {
        to: String,
        read: bool,
        replica: bool,
    },
    Database {
        key: u32,
        read: bool,
    },
    Sharded {
        to: String,
        key: u32,
    },
    Session {
        found: bool,
        store: bool,
    },
    TimedOut {
        callee: String,
    },
    Retry {
        attempt: u8,
        backoff_ms: f64,
        reason: &'static str,
    },
    Failed {
        reason: &'static str,
    },
    EdgeHit {
        key: u32,
        objects: u32,
    },
    EdgeMiss {
        key: u32,
        objects: u32,
    },
    EdgeForwarded {
        read: bool,
    },
    Enqueued {
        ahead: u32,
        capacity: u32,
        ack_ms: f64,
    },
    QueueDropped {
        capacity: u32,
    },
    Pulled {
        consumer: String,
        waited_ms: f64,
    },
    RateLimit {
        admitted: bool,
        tokens_left: u32,
        next_token_ms: f64,
    },
}

impl WhatLine {
    fn new(what: What, name: &dyn Fn(UnitIx) -> String) -> WhatLine {
        match what {
            What::Balanced { to, why } => WhatLine::Balanced {
                to: name(to),
                why: format!("{why:?}"),
            },
            What::Entered { to } => WhatLine::Entered { to: name(to) },
            What::Arrived {
                queued,
                busy,
                workers,
            } => WhatLine::Arrived {
                queued,
                busy,
                workers,
            },
            What::Started => WhatLine::Started,
            What::CacheLookup {
                key,
                hit,
                keys_held,
            } => WhatLine::CacheLookup {
                key,
                hit,
                keys_held,
            },
            What::LocalCacheLookup { key, hit } => WhatLine::LocalCacheLookup { key, hit },
            What::CacheFill {
                cache,
                key,
                keys_held,
            } => WhatLine::CacheFill {
                cache: name(cache),
                key,
                keys_held,
            },
            What::CacheWrite {
                cache,
                key,
                updated,
            } => WhatLine::CacheWrite {
                cache: name(cache),
                key,
                updated,
            },
            What::DatabaseChosen { to, read, replica } => WhatLine::DatabaseChosen {
                to: name(to),
                read,
                replica,
            },
            What::Database { key, read } => WhatLine::Database { key, read },
            What::Sharded { to, key } => WhatLine::Sharded { to: name(to), key },
            What::Session { found, store } => WhatLine::Session { found, store },
            What::TimedOut { callee } => WhatLine::TimedOut {
                callee: name(callee),
            },
            What::Retry {
                attempt,
                backoff_ns,
                reason,
            } => WhatLine::Retry {
                attempt,
                backoff_ms: backoff_ns as f64 / 1e6,
                reason: reason.name(),
            },
            What::Failed { reason } => WhatLine::Failed {
                reason: reason.name(),
            },
            What::EdgeHit { key, objects } => WhatLine::EdgeHit { key, objects },
            What::EdgeMiss { key, objects } => WhatLine::EdgeMiss { key, objects },
            What::EdgeForwarded { read } => WhatLine::EdgeForwarded { read },
            What::Enqueued {
                ahead,
                capacity,
                ack_ns,
            } => WhatLine::Enqueued {
                ahead,
                capacity,
                ack_ms: ack_ns as f64 / 1e6,
            },
            What::QueueDropped { capacity } => WhatLine::QueueDropped { capacity },
            What::Pulled {
                consumer,
                waited_ns,
            } => WhatLine::Pulled {
                consumer: name(consumer),
                waited_ms: waited_ns as f64 / 1e6,
            },
            What::RateLimit {
                admitted,
                tokens_left,
                next_token_ns,
            } => WhatLine::RateLimit {
                admitted,
                tokens_left,
                next_token_ms: next_token_ns as f64 / 1e6,
            },
        }
    }
}

/// A trace as a JSON line's value; `sim` names the instances.
pub fn trace_line(trace: &Trace, sim: &Sim, slowest_rank: Option<usize>) -> TraceLine {
    let name = |u: UnitIx| {
        sim.unit_info(u)
            .map_or_else(|| "?".into(), |i| i.name.to_string())
    };
    let ms = |ns: u64| ns as f64 / 1e6;
    TraceLine {
        request_id: trace.request_id,
        slowest_rank,
        client: name(trace.client),
        user: trace.user,
        key: trace.key,
        read: trace.read,
        born_ms: ms(trace.born_ns),
        latency_ms: trace.end_ns.map(|e| ms(e - trace.born_ns)),
        outcome: trace.outcome.map(|o| match o {
            Outcome::Read => "read",
            Outcome::Write => "write",
            Outcome::Failed(r) => r.name(),
        }),
        hops: (trace.hops.iter())
            .map(|h| HopLine {
                from: name(h.from),
                to: name(h.to),
                depart_ms: ms(h.depart_ns),
                arrive_ms: ms(h.arrive_ns),
                reply: h.reply,
                failed: h.failed,
            })
            .collect(),
        decisions: (trace.decisions.iter())
            .map(|d| DecisionLine {
                at_ms: ms(d.at_ns),
                node: name(d.unit),
                what: WhatLine::new(d.what, &name),
            })
            .collect(),
        waterfall: waterfall(trace, sim),
        dropped: trace.dropped,
    }
}

/// The lines `tierlab run --traces` writes from a replay that traced `slowest` (ids, slowest
/// first): those first, in rank order, then every sampled trace the core holds, oldest first.
pub fn trace_lines(sim: &Sim, slowest: &[u64]) -> Vec<TraceLine> {
    let traces = sim.traces();
    let mut out: Vec<TraceLine> = Vec::new();
    for (rank, id) in slowest.iter().enumerate() {
        if let Some(t) = traces.picked.iter().find(|t| t.request_id == *id) {
            out.push(trace_line(t, sim, Some(rank + 1)));
        }
    }
    for t in &traces.done {
        out.push(trace_line(t, sim, None));
    }
    out
}
