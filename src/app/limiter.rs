//! How a running rate limiter looks: its bucket's fill drawn in its box, and its admitted and
//! rejected rates under it.

use eframe::egui::{self, Rect, pos2};

use super::theme;
use crate::layout::LimitPer;
use crate::sim::LimiterLive;

/// The bucket's fill over the box, from the bottom: the lowest bucket (the one global bucket,
/// or the most drained client's or user's). Drained buckets are drawn in the error colour.
pub fn draw_bucket(painter: &egui::Painter, r: Rect, l: &LimiterLive) {
    let fill = l.lowest_fill.clamp(0.0, 1.0) as f32;
    let h = r.height() * fill;
    if h > 0.5 {
        let level = Rect::from_min_max(pos2(r.left(), r.bottom() - h), r.right_bottom());
        painter.rect_filled(level.shrink(1.0), 2.0, theme::PLOT_A.gamma_multiply(0.35));
    }
    if l.empty_buckets > 0 {
        let line = Rect::from_min_max(pos2(r.left(), r.bottom() - 3.0), r.right_bottom());
        painter.rect_filled(line.shrink(1.0), 1.0, theme::REFUSED);
    }
}

/// The lines under the box: admitted and rejected per second, then the buckets.
pub fn live_lines(l: &LimiterLive) -> Vec<(String, egui::Color32)> {
    let count = |v: f64| super::run::fmt_count(v);
    let mut lines = vec![(format!("{} ok/s", count(l.admitted_per_s)), theme::TEXT)];
    if l.rejected_per_s > 0.0 {
        lines.push((
            format!("{} limited/s", count(l.rejected_per_s)),
            theme::ERROR,
        ));
    }
    lines.push((
        match l.per {
            LimitPer::Global => format!("bucket {}", theme::percent(l.lowest_fill as f32)),
            _ => format!("{} of {} empty", l.empty_buckets, l.buckets),
        },
        theme::TEXT,
    ));
    lines
}
