//! The CDN edge in the window: its own live drawing on the canvas (the share of cacheable
//! reads it answers as a bar across its box, and its numbers under it) and its figures in the
//! summary strip. The figures come from the core's counters (`Sim::cdn_metrics`).

use eframe::egui::{self, Color32, Rect, Ui, pos2};

use super::live::LiveView;
use super::run::fmt_count;
use super::theme;
use crate::sim::Sim;

/// One edge's live figures, since the run started (or its warm-up ended).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EdgeLive {
    /// Edge hits over cacheable reads, 0 to 1.
    pub hit_ratio: f32,
    /// Calls sent to the origin over requests that reached the edge, 0 to 1.
    pub origin_share: f32,
    /// Calls sent to the origin per second.
    pub origin_per_s: f32,
}

/// Put each edge's figures on its node of the frame's view.
pub(super) fn read_edges(sim: &Sim, view: &mut LiveView) {
    for m in sim.cdn_metrics() {
        let seen = m.counts.hits + m.counts.misses + m.counts.forwarded;
        let origin_share = if seen > 0 {
            m.origin_calls() as f32 / seen as f32
        } else {
            0.0
        };
        view.nodes.entry(m.node).or_default().edge = Some(EdgeLive {
            hit_ratio: m.hit_ratio as f32,
            origin_share,
            origin_per_s: m.origin_rps as f32,
        });
    }
}

/// The hit ratio as a green bar filling the box from the left (an edge has no workers, so
/// no utilization fills it from the bottom).
pub(super) fn draw_hit_bar(painter: &egui::Painter, r: Rect, e: &EdgeLive) {
    let w = r.width() * e.hit_ratio.clamp(0.0, 1.0);
    if w > 0.5 {
        let bar = Rect::from_min_max(r.left_top(), pos2(r.left() + w, r.bottom()));
        painter.rect_filled(bar.shrink(1.0), 2.0, theme::OK.gamma_multiply(0.3));
    }
}

/// The edge's lines under its box: requests at the edge and the hit ratio, then the origin's
/// load.
pub(super) fn edge_lines(calls_per_s: f32, e: &EdgeLive) -> Vec<(String, Color32)> {
    vec![
        (
            format!(
                "{} rps · {} hits",
                fmt_count(f64::from(calls_per_s)),
                theme::percent(e.hit_ratio)
            ),
            theme::TEXT,
        ),
        (
            format!(
                "origin {} rps ({})",
                fmt_count(f64::from(e.origin_per_s)),
                theme::percent(e.origin_share)
            ),
            theme::TEXT,
        ),
    ]
}

/// The summary strip's figures for each edge: its hit ratio and the origin's load.
pub(super) fn edge_stats(ui: &mut Ui, sim: &Sim, stat: fn(&mut Ui, &str, &str, &str)) {
    for m in sim.cdn_metrics() {
        stat(
            ui,
            &format!("{} hit ratio", m.name),
            &theme::percent(m.hit_ratio as f32),
            "Since the start: cacheable reads the CDN edge answered itself, over all cacheable reads that reached it",
        );
        stat(
            ui,
            "origin",
            &format!(
                "{} of {} rps",
                fmt_count(m.origin_rps),
                fmt_count(m.edge_rps)
            ),
            "Since the start: calls the CDN edge sent to the origin (misses, writes and uncacheable reads) per second, of the requests that reached it",
        );
    }
}
