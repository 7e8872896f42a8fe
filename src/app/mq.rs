//! A message queue in the running window: its backlog as a bar filling the box (how full the
//! queue is), its consumer lag (the age of the oldest message) and its rates in and out under
//! it, and a line per queue in the summary.

use eframe::egui::{self, Color32, Rect, Ui, pos2, vec2};

use super::live::LiveView;
use super::run::fmt_count;
use super::theme;
use crate::sim::Sim;

/// The live figures of one queue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueLive {
    pub backlog: u32,
    pub capacity: u32,
    /// Age of the oldest waiting message now, s.
    pub lag_s: f64,
    /// Writes in and messages processed per second over the last second.
    pub in_per_s: f32,
    pub out_per_s: f32,
    /// Writes dropped since the start (the queue was full).
    pub dropped: u64,
}

impl QueueLive {
    /// How full the queue is, 0 to 1.
    pub fn fill(&self) -> f32 {
        if self.capacity == 0 {
            0.0
        } else {
            (f64::from(self.backlog) / f64::from(self.capacity)) as f32
        }
    }
}

/// Put each queue's figures on its node in the frame's view.
pub fn read(sim: &Sim, view: &mut LiveView) {
    for q in sim.queues() {
        let Some(state) = sim.queue_state(q.unit) else {
            continue;
        };
        let recent = |r: &crate::sim::series::Ring| {
            let n = r.len().min(super::live::RECENT_SAMPLES);
            r.iter().skip(r.len() - n).sum::<f32>() / n.max(1) as f32
        };
        let live = QueueLive {
            backlog: q.backlog,
            capacity: q.capacity,
            lag_s: q.lag_ms / 1e3,
            in_per_s: recent(&state.in_series),
            out_per_s: recent(&state.out_series),
            dropped: q.counts.dropped,
        };
        let node = view.nodes.entry(q.node).or_default();
        // The box fills with the backlog, as a server's fills with its load.
        node.utilization = live.fill();
        node.mq = Some(live);
    }
}

/// The lag in words: ms under a second, s above.
pub fn fmt_lag(lag_s: f64) -> String {
    if lag_s < 1.0 {
        format!("{:.0} ms", lag_s * 1e3)
    } else {
        format!("{lag_s:.1} s")
    }
}

/// The lines under a queue's box: backlog of capacity, lag, rates in and out.
pub fn live_lines(q: &QueueLive) -> Vec<(String, Color32)> {
    let full = q.backlog >= q.capacity;
    vec![
        (
            format!(
                "backlog {} / {}",
                fmt_count(f64::from(q.backlog)),
                fmt_count(f64::from(q.capacity))
            ),
            if full { theme::ERROR } else { theme::TEXT },
        ),
        (
            format!("lag {}", fmt_lag(q.lag_s)),
            if q.lag_s >= 1.0 {
                theme::WARNING
            } else {
                theme::TEXT
            },
        ),
        (
            format!(
                "in {}/s · out {}/s",
                fmt_count(f64::from(q.in_per_s)),
                fmt_count(f64::from(q.out_per_s))
            ),
            theme::TEXT,
        ),
    ]
}

/// The backlog bar: a strip across the top of the box, filled by how full the queue is, red
/// when full.
pub fn draw_backlog_bar(painter: &egui::Painter, r: Rect, z: f32, q: &QueueLive) {
    let bar = Rect::from_min_size(
        pos2(r.left() + 3.0 * z, r.top() + 3.0 * z),
        vec2(r.width() - 6.0 * z, 6.0 * z),
    );
    painter.rect_filled(bar, 2.0, Color32::from_gray(225));
    let fill = q.fill().clamp(0.0, 1.0);
    if fill > 0.0 {
        let done = Rect::from_min_size(bar.min, vec2(bar.width() * fill, bar.height()));
        let colour = if fill >= 1.0 {
            theme::ERROR
        } else {
            theme::load(fill)
        };
        painter.rect_filled(done, 2.0, colour);
    }
}

/// The summary's line per queue: backlog, lag and drops.
pub fn summary_ui(ui: &mut Ui, sim: &Sim) {
    for q in sim.queues() {
        ui.separator();
        ui.label(format!(
            "{}: backlog {} · lag {}",
            q.name,
            fmt_count(f64::from(q.backlog)),
            fmt_lag(q.lag_ms / 1e3)
        ))
        .on_hover_text(
            "Messages waiting in the queue now, and the age of the oldest (how far the \
             consumers lag behind the writers)",
        );
        if q.counts.dropped > 0 {
            ui.colored_label(
                theme::ERROR,
                format!("{} dropped", fmt_count(q.counts.dropped as f64)),
            )
            .on_hover_text("Writes refused because the queue was full (message_queue_full)");
        }
    }
}
