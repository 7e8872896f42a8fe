//! What the canvas shows of a running simulation, read from the core once per frame: each
//! node's load, queue, rate and health, and the sampled requests as dots on the wires. Pure
//! data built from `&Sim`; `canvas.rs` draws it.

use std::collections::BTreeMap;

use crate::layout::{KindTag, Layout, NodeId, NodeKind};
use crate::sim::{Sim, Trace, UnitIx};

/// Samples averaged for a node's live numbers: the last simulated second.
pub(super) const RECENT_SAMPLES: usize = 10;
/// A hop shorter than this many frames is drawn as if it took that long (it trails its real
/// position), so in slow motion a sub-millisecond hop is seen for a few frames instead of one.
pub const DOT_FRAMES_MIN: u64 = 4;
/// ...but never stretched to more than this much simulated time, so at normal speeds (a frame
/// of tens of milliseconds) the wires do not fill with stale dots.
pub const DOT_STRETCH_NS_MAX: u64 = 5_000_000;
/// Most dots drawn in one frame (the rest are still counted): a limit on the frame's cost.
pub const DOTS_DRAWN_MAX: usize = 4000;

/// What a dot's colour says about its request, as known when the hop left: stable from the
/// first frame the dot is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DotClass {
    /// A read whose outcome below is not known yet (or that touches neither cache nor database).
    Read,
    /// A read answered by a cache: the hops after the cache's reply, with no database call.
    CacheHit,
    /// A read that went to a database (a cache miss, or no cache).
    DbRead,
    /// A write.
    Write,
    /// A reply carrying a failure.
    Failed,
}

impl DotClass {
    /// Every class, in legend order.
    pub const ALL: [DotClass; 5] = [
        DotClass::Read,
        DotClass::CacheHit,
        DotClass::DbRead,
        DotClass::Write,
        DotClass::Failed,
    ];

    /// The legend's words.
    pub fn label(self) -> &'static str {
        match self {
            DotClass::Read => "read",
            DotClass::CacheHit => "read: cache hit",
            DotClass::DbRead => "read: database",
            DotClass::Write => "write",
            DotClass::Failed => "failed",
        }
    }
}

/// Classify every hop of a trace, in order. A hop's class depends only on the request and on
/// the hops before it (and itself), so it never changes while the trace grows.
pub fn classify_hops(trace: &Trace, kind_of: impl Fn(UnitIx) -> Option<KindTag>) -> Vec<DotClass> {
    let mut classes = Vec::with_capacity(trace.hops.len());
    classify_hops_into(trace, kind_of, &mut classes);
    classes
}

/// [`classify_hops`] into `classes` (emptied first), reusing its room.
fn classify_hops_into(
    trace: &Trace,
    kind_of: impl Fn(UnitIx) -> Option<KindTag>,
    classes: &mut Vec<DotClass>,
) {
    let mut saw_db = false;
    let mut saw_cache_reply = false;
    classes.clear();
    classes.extend(trace.hops.iter().map(|h| {
        let touches_db =
            kind_of(h.to) == Some(KindTag::Database) || kind_of(h.from) == Some(KindTag::Database);
        saw_db |= touches_db;
        let class = if h.failed {
            DotClass::Failed
        } else if !trace.read {
            DotClass::Write
        } else if saw_db {
            DotClass::DbRead
        } else if saw_cache_reply {
            DotClass::CacheHit
        } else {
            DotClass::Read
        };
        if h.reply && kind_of(h.from) == Some(KindTag::Cache) {
            saw_cache_reply = true;
        }
        class
    }));
}

/// One dot: a sampled request on a wire, `along` from the caller (0) to the callee (1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dot {
    pub from: NodeId,
    pub to: NodeId,
    pub along: f32,
    pub class: DotClass,
    /// The request it stands for (a click opens its waterfall).
    pub request_id: u64,
}

/// The live numbers of one node (all its members together).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeLive {
    /// Mean CPU utilization of the living members over the last second, 0 to 1.
    pub utilization: f32,
    /// Per member: utilization, alive, marked down by a balancer's health checks.
    pub members: Vec<MemberLive>,
    /// Requests waiting in queues now.
    pub queue: u32,
    /// Calls served per second over the last second.
    pub served_per_s: f32,
    /// Calls that arrived (a client: requests it sent) per second over the last second.
    pub calls_per_s: f32,
    /// Calls that failed (a client: its requests that failed) per second over the last second.
    pub failed_per_s: f32,
    pub busy_workers: u32,
    pub workers: u32,
    /// The resource a member ran out of over the last second (`cpu`, `workers`, `queue`),
    /// the first member's if several did; and how many members did.
    pub saturated: Option<&'static str>,
    pub saturated_members: u32,
    /// A balancer's last pick (a backend's name) and algorithm.
    pub last_pick: Option<String>,
    pub algorithm: Option<&'static str>,
    /// A CDN edge's hit ratio and origin load.
    pub edge: Option<super::edge::EdgeLive>,
    /// A message queue's backlog, lag and rates (`mq.rs`).
    pub mq: Option<super::mq::QueueLive>,
    /// A rate limiter's rates and buckets.
    pub limiter: Option<crate::sim::LimiterLive>,
}

/// One member of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MemberLive {
    /// The member's number, from 0 (the file format's `member:`, the core's `app[0]`).
    pub member: u32,
    pub utilization: f32,
    pub alive: bool,
    pub marked_down: bool,
}

impl NodeLive {
    /// True when no member is alive.
    pub fn dead(&self) -> bool {
        !self.members.is_empty() && self.members.iter().all(|m| !m.alive)
    }

    /// Members marked down by health checks while alive, or dead.
    pub fn marked_down(&self) -> usize {
        self.members.iter().filter(|m| m.marked_down).count()
    }
}

/// Dots first drawn over a run, by wire and class: what the renderer emitted, for tests and
/// the legend's totals.
pub type DotCounts = BTreeMap<(NodeId, NodeId, DotClass), u64>;

/// Everything the canvas overlays on a running layout this frame.
#[derive(Clone, Debug, Default)]
pub struct LiveView {
    pub nodes: BTreeMap<NodeId, NodeLive>,
    pub dots: Vec<Dot>,
    /// Dots not drawn because of `DOTS_DRAWN_MAX`.
    pub dots_skipped: usize,
    /// One dot stands for this many requests.
    pub every: u64,
    /// Room reused from frame to frame: each instance's node and kind, a trace's hop classes.
    scratch: Scratch,
}

/// What [`build_into`] works in, kept so that a frame allocates nothing new.
#[derive(Clone, Debug, Default)]
struct Scratch {
    unit_node: UnitNodes,
    classes: Vec<DotClass>,
}

/// Read the core's state now. `prev_ns` is the simulated time of the previous frame (`None`
/// on the first frame of a run): hops that left after it are new and go into `counts`; a hop
/// is drawn if it is on its wire at some time in (prev, now], at its position now (clamped to
/// its end), so even a hop shorter than a frame shows once. A hop is drawn as lasting at least
/// [`DOT_FRAMES_MIN`] frames of the current frame's simulated length (at most
/// [`DOT_STRETCH_NS_MAX`]), so in slow motion short hops stay visible for several frames
/// (counted once, in the frame they left).
#[cfg(test)]
pub fn build(sim: &Sim, layout: &Layout, prev_ns: Option<u64>, counts: &mut DotCounts) -> LiveView {
    let mut view = LiveView::default();
    build_into(sim, layout, prev_ns, counts, &mut view);
    view
}

/// [`build`] into last frame's `view`, reusing its room: the nodes' entries and members, the
/// dots. What it holds after is what `build` returns (a node the core no longer has is gone).
pub fn build_into(
    sim: &Sim,
    layout: &Layout,
    prev_ns: Option<u64>,
    counts: &mut DotCounts,
    view: &mut LiveView,
) {
    for node in view.nodes.values_mut() {
        let mut members = std::mem::take(&mut node.members);
        members.clear();
        *node = NodeLive {
            members,
            ..NodeLive::default()
        };
    }
    view.dots.clear();
    view.dots_skipped = 0;
    view.every = sim.traces().config.every;
    let mut scratch = std::mem::take(&mut view.scratch);
    read_nodes(sim, layout, view, &mut scratch.unit_node);
    super::mq::read(sim, view);
    read_dots(sim, prev_ns, &mut scratch, counts, view);
    super::edge::read_edges(sim, view);
    view.scratch = scratch;
    // The entries `build` would have made: a node with a member, a queue or an edge.
    view.nodes
        .retain(|_, n| !n.members.is_empty() || n.mq.is_some() || n.edge.is_some());
}

/// Each instance's node and kind, by instance index (`None`: no such instance).
type UnitNodes = Vec<Option<(NodeId, KindTag)>>;

/// The per-node figures of the frame: members, load over the last second, queues, workers.
fn read_nodes(sim: &Sim, layout: &Layout, view: &mut LiveView, unit_node: &mut UnitNodes) {
    unit_node.clear();
    unit_node.reserve(sim.unit_count());
    let series = sim.series();
    for i in sim.unit_ixs() {
        let Some(u) = sim.unit_info(i) else {
            unit_node.push(None);
            continue;
        };
        unit_node.push(Some((u.id.node, u.kind)));
        if u.removed {
            continue;
        }
        // The mean of the last second of samples: one 100 ms sample is too noisy to read.
        let last = |f: fn(&crate::sim::series::UnitSeries) -> &crate::sim::series::Ring| {
            series.units.get(i.index()).map_or(0.0, |s| {
                let r = f(s);
                let n = r.len().min(RECENT_SAMPLES);
                r.iter().skip(r.len() - n).sum::<f32>() / n.max(1) as f32
            })
        };
        let utilization = last(|s| &s.cpu_utilization);
        let node = view.nodes.entry(u.id.node).or_default();
        node.members.push(MemberLive {
            member: u.id.member,
            utilization,
            alive: u.alive,
            marked_down: u.marked_down,
        });
        node.queue += u.queue_len;
        node.served_per_s += last(|s| &s.served_per_s);
        node.calls_per_s += last(|s| &s.calls_per_s);
        node.failed_per_s += last(|s| &s.failed_per_s);
        node.busy_workers += u.busy_workers;
        node.workers += u.workers;
        if let Some(r) = u.saturated.filter(|_| u.alive) {
            node.saturated.get_or_insert(r.name());
            node.saturated_members += 1;
        }
        if let Some(l) = sim.limiter_live(i) {
            node.limiter = Some(l);
        }
        if let Some(pick) = u.last_pick
            && let Some(p) = sim.unit_info(pick)
        {
            node.last_pick = Some(p.name.to_string());
        }
    }
    for node in view.nodes.values_mut() {
        let alive = node.members.iter().filter(|m| m.alive);
        let (sum, n) = alive.fold((0.0_f32, 0usize), |(s, n), m| (s + m.utilization, n + 1));
        node.utilization = sum / n.max(1) as f32;
    }
    // A balancer's algorithm, from the layout in one pass (a lookup by id scans the list:
    // quadratic at 200 nodes). Backwards, so the first node of an id has the last word, as a
    // lookup would find it.
    for l in layout.nodes.iter().rev() {
        if let Some(node) = view.nodes.get_mut(&l.id) {
            node.algorithm = match &l.kind {
                NodeKind::LoadBalancer(p) => Some(p.algorithm.label()),
                _ => None,
            };
        }
    }
}

/// The dots of the frame: every sampled hop on its wire at some time since the previous frame.
fn read_dots(
    sim: &Sim,
    prev_ns: Option<u64>,
    scratch: &mut Scratch,
    counts: &mut DotCounts,
    view: &mut LiveView,
) {
    let Scratch { unit_node, classes } = scratch;
    let unit_node = &*unit_node;
    let now = sim.now_ns();
    let kind_of = |u: UnitIx| unit_node.get(u.index()).copied().flatten().map(|x| x.1);
    let node_of = |u: UnitIx| unit_node.get(u.index()).copied().flatten().map(|x| x.0);
    let traces = sim.traces();
    // A frame that ran no tick (slow motion: at 0.01x a 1 ms tick comes every sixth frame)
    // draws what the last tick showed, rather than nothing.
    let prev_drawn = prev_ns.map(|p| {
        if p >= now {
            now.saturating_sub(sim.tick_ns())
        } else {
            p
        }
    });
    let frame_ns = prev_drawn.map_or(0, |p| now.saturating_sub(p));
    let shown_ns_min = frame_ns
        .saturating_mul(DOT_FRAMES_MIN)
        .min(DOT_STRETCH_NS_MAX);
    // A hop is drawn until `shown_end`: its arrival, or later when it is short.
    let shown_end = |depart: u64, arrive: u64| arrive.max(depart.saturating_add(shown_ns_min));
    // Finished traces, newest first, until they ended (and were shown) before the previous
    // frame.
    let finished = traces.done.iter().rev().take_while(|t| {
        prev_drawn.is_none_or(|p| t.end_ns.is_none_or(|e| e.saturating_add(shown_ns_min) > p))
    });
    let open = traces.open.iter().flatten();
    let shown = |depart_ns: u64, arrive_ns: u64| {
        depart_ns <= now && prev_drawn.is_none_or(|p| shown_end(depart_ns, arrive_ns) > p)
    };
    for trace in finished.chain(open) {
        // Most open traces have no hop in this frame: classify only those that have one. A
        // trace whose hops all ended before the previous frame is skipped without reading them
        // (each hop is shown until at most its arrival plus `shown_ns_min`).
        if prev_drawn.is_some_and(|p| trace.hops_until_ns.saturating_add(shown_ns_min) <= p)
            || !trace.hops.iter().any(|h| shown(h.depart_ns, h.arrive_ns))
        {
            continue;
        }
        classify_hops_into(trace, kind_of, classes);
        for (hop, &class) in trace.hops.iter().zip(classes.iter()) {
            if !shown(hop.depart_ns, hop.arrive_ns) {
                continue;
            }
            let until_ns = shown_end(hop.depart_ns, hop.arrive_ns);
            let (Some(a), Some(b)) = (node_of(hop.from), node_of(hop.to)) else {
                continue;
            };
            // The wire runs from caller to callee; a reply travels it backwards.
            let (from, to) = if hop.reply { (b, a) } else { (a, b) };
            if prev_ns.is_none_or(|p| hop.depart_ns > p) {
                *counts.entry((from, to, class)).or_insert(0) += 1;
            }
            if view.dots.len() >= DOTS_DRAWN_MAX {
                view.dots_skipped += 1;
                continue;
            }
            let span = until_ns.saturating_sub(hop.depart_ns);
            let t = if span == 0 {
                1.0
            } else {
                ((now - hop.depart_ns) as f64 / span as f64).min(1.0) as f32
            };
            view.dots.push(Dot {
                from,
                to,
                along: if hop.reply { 1.0 - t } else { t },
                class,
                request_id: trace.request_id,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sim::{SimConfig, TraceConfig};

    /// `text` parsed and running from `seed` with every request traced, keeping `capacity`
    /// finished traces.
    fn traced(text: &str, seed: u64, capacity: usize) -> (Layout, Sim) {
        let Ok(layout) = crate::layout::from_ron(text) else {
            panic!("the layout parses");
        };
        let config = SimConfig {
            seed: Some(seed),
            warmup_s: 0.0,
            trace: TraceConfig {
                every: 1,
                capacity,
                ..TraceConfig::default()
            },
        };
        let Ok(sim) = Sim::new(&layout, config) else {
            panic!("the layout runs");
        };
        (layout, sim)
    }

    /// The starter layout running with every request traced; its lb -> app wire is 0.2 ms.
    fn starter() -> (Layout, Sim) {
        traced(
            crate::shipped::find("request-flow.ron").unwrap_or_default(),
            3,
            8000,
        )
    }

    fn on_wire(counts: &DotCounts, wire: (NodeId, NodeId)) -> u64 {
        counts
            .iter()
            .filter(|((f, t, _), _)| (*f, *t) == wire)
            .map(|(_, n)| n)
            .sum()
    }

    #[test]
    fn sub_millisecond_hops_stay_visible_for_several_frames() {
        let (layout, mut sim) = starter();
        let (Some(lb), Some(app)) = (layout.node_named("lb"), layout.node_named("app")) else {
            panic!("lb and app");
        };
        let wire = (lb.id, app.id);
        let mut counts = DotCounts::new();
        let mut prev = None;
        for _ in 0..200 {
            sim.tick();
            let _ = build(&sim, &layout, prev, &mut counts);
            prev = Some(sim.now_ns());
        }
        // Now one tick (1 ms) per frame, as at 0.06x and 60 frames a second: a hop over the
        // 0.2 ms wire lasts a fifth of a frame, yet is drawn in several frames.
        let counted_before = on_wire(&counts, wire);
        let mut dot_frames = 0usize;
        for _ in 0..300 {
            sim.tick();
            let view = build(&sim, &layout, prev, &mut counts);
            dot_frames += view.dots.iter().filter(|d| (d.from, d.to) == wire).count();
            prev = Some(sim.now_ns());
        }
        let counted = on_wire(&counts, wire) - counted_before;
        assert!(
            counted > 300,
            "about one request a millisecond each way: {counted}"
        );
        let frames_per_hop = dot_frames as f64 / counted as f64;
        assert!(
            frames_per_hop > 3.0,
            "{dot_frames} dots drawn for {counted} hops: {frames_per_hop:.2} frames each"
        );

        // A frame that ran no tick (slower still) draws the same dots again, not none.
        let view = build(&sim, &layout, prev, &mut counts);
        let again = build(&sim, &layout, prev, &mut counts);
        assert!(!view.dots.is_empty());
        assert_eq!(view.dots, again.dots);
    }

    /// Every hop a traced request makes is drawn in every frame it should be, however long it
    /// waited before it: each frame's dots (drawn plus skipped) are compared with a count over
    /// every hop of every trace, none passed over, by the rule the dots follow (a hop shows from
    /// its departure until its arrival, and for at least `DOT_FRAMES_MIN` frames). The layout is
    /// overloaded, so requests wait in queues for hundreds of milliseconds between hops; its
    /// first wire takes 30 ms, so a hop stays on it across frames; frames run 0 to 40 ticks.
    /// Every hop is counted once, in the frame it departs in.
    #[test]
    fn every_traced_hop_is_drawn_even_after_a_long_wait() {
        let text = r#"(version: 1, name: "overloaded", seed: 5, tick_ms: 1.0,
            nodes: [
                (id: 0, name: "clients", pos: (x: 0, y: 0), kind: client(qps: 900)),
                (id: 1, name: "lb", pos: (x: 200, y: 0), kind: load_balancer()),
                (id: 2, name: "app", pos: (x: 400, y: 0),
                    kind: app_server(workers: 4, service_ms: 1.0)),
                (id: 3, name: "db", pos: (x: 600, y: 0),
                    kind: database(workers: 2, read_ms: 3.0, write_ms: 3.0)),
            ],
            wires: [
                (from: 0, to: 1, latency_ms: 30.0),
                (from: 1, to: 2, latency_ms: 0.2),
                (from: 2, to: 3, latency_ms: 0.5),
            ])"#;
        let (layout, mut sim) = traced(text, 5, 1_000_000);
        let mut counts = DotCounts::new();
        let mut prev: Option<u64> = None;
        let (mut frames_with_dots, mut dots) = (0, 0);
        for frame in 0..400 {
            for _ in 0..[0, 1, 5, 17, 40][frame % 5] {
                sim.tick();
            }
            let view = build(&sim, &layout, prev, &mut counts);
            // Every hop of every trace, by the dots' rule.
            let now = sim.now_ns();
            let traces = sim.traces();
            let expected = match prev {
                None => traces
                    .done
                    .iter()
                    .chain(traces.open.iter().flatten())
                    .flat_map(|t| &t.hops)
                    .filter(|h| h.depart_ns <= now)
                    .count(),
                Some(p) => {
                    // A frame that ran no tick shows what the last tick showed.
                    let p = if p >= now { now - sim.tick_ns() } else { p };
                    let least = ((now - p) * DOT_FRAMES_MIN).min(DOT_STRETCH_NS_MAX);
                    traces
                        .done
                        .iter()
                        .chain(traces.open.iter().flatten())
                        .flat_map(|t| &t.hops)
                        .filter(|h| h.depart_ns <= now && h.arrive_ns.max(h.depart_ns + least) > p)
                        .count()
                }
            };
            let shown = view.dots.len() + view.dots_skipped;
            assert_eq!(shown, expected, "frame {frame} at {now} ns");
            frames_with_dots += usize::from(shown > 0);
            dots += shown;
            prev = Some(now);
        }
        let traces = sim.traces();
        let mut hops = 0u64;
        let mut longest_wait_ns = 0;
        for t in traces.done.iter().chain(traces.open.iter().flatten()) {
            hops += t.hops.len() as u64;
            for pair in t.hops.windows(2) {
                longest_wait_ns =
                    longest_wait_ns.max(pair[1].depart_ns.saturating_sub(pair[0].arrive_ns));
            }
        }
        assert!(
            longest_wait_ns > 200_000_000,
            "a request waited {longest_wait_ns} ns between hops"
        );
        assert!(hops > 10_000, "{hops} hops");
        assert!(
            frames_with_dots > 300 && dots > 2 * hops as usize,
            "{dots} dots"
        );
        let drawn: u64 = counts.values().sum();
        assert_eq!(drawn, hops, "hops counted against hops the traces hold");
    }

    /// The view refilled frame after frame shows what a view built afresh shows: every node's
    /// numbers and every dot, a killed member dead in the next frame, and a node removed from
    /// the run gone in the next frame (no phantom left from the frames before).
    #[test]
    fn a_reused_view_shows_what_a_fresh_one_shows() {
        use crate::layout::{Command, Target};
        let (layout, mut sim) = starter();
        let (Some(app), Some(cache)) = (layout.node_named("app"), layout.node_named("cache"))
        else {
            panic!("app and cache");
        };
        let (app, cache) = (app.id, cache.id);
        let (mut fresh_counts, mut reused_counts) = (DotCounts::new(), DotCounts::new());
        let mut reused = LiveView::default();
        let mut prev = None;
        let mut compared = 0;
        for frame in 0..120 {
            if frame == 40 {
                let Ok(()) = sim.apply(Command::Kill(Target::member(app, 1))) else {
                    panic!("kill app[1]");
                };
            }
            if frame == 80 {
                let Ok(()) = sim.apply(Command::RemoveNode(cache)) else {
                    panic!("remove the cache");
                };
            }
            for _ in 0..17 {
                sim.tick();
            }
            let fresh = build(&sim, &layout, prev, &mut fresh_counts);
            build_into(&sim, &layout, prev, &mut reused_counts, &mut reused);
            assert_eq!(reused.nodes, fresh.nodes, "frame {frame}");
            assert_eq!(reused.dots, fresh.dots, "frame {frame}");
            assert_eq!(reused.dots_skipped, fresh.dots_skipped);
            assert_eq!(reused.every, fresh.every);
            compared += fresh.dots.len();
            let dead = |v: &LiveView| {
                v.nodes.get(&app).map(|n| {
                    n.members
                        .iter()
                        .filter(|m| !m.alive)
                        .map(|m| m.member)
                        .collect::<Vec<_>>()
                })
            };
            if frame == 40 {
                assert_eq!(dead(&reused), Some(vec![1]), "the kill shows at once");
            }
            if frame == 79 {
                assert!(reused.nodes.contains_key(&cache));
            }
            if frame == 80 {
                assert!(!reused.nodes.contains_key(&cache), "no phantom cache");
            }
            prev = Some(sim.now_ns());
        }
        assert!(compared > 1000, "{compared} dots compared");
        assert_eq!(reused_counts, fresh_counts);
    }
}
