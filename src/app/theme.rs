//! Colours, shapes and icons per node kind: the one place the canvas matches on kinds. A kind
//! added to the core later gets a colour from its palette position and the plain box shape.

use eframe::egui::{Color32, Painter, Pos2, Rect, Stroke, StrokeKind, pos2, vec2};

use crate::layout::KindTag;

pub const CANVAS_BG: Color32 = Color32::from_rgb(246, 246, 242);
pub const GRID: Color32 = Color32::from_rgb(226, 226, 220);
pub const WIRE: Color32 = Color32::from_rgb(90, 96, 110);
pub const WIRE_SELECTED: Color32 = Color32::from_rgb(30, 110, 220);
pub const SELECTED: Color32 = Color32::from_rgb(30, 110, 220);
pub const ERROR: Color32 = Color32::from_rgb(200, 40, 40);
pub const WARNING: Color32 = Color32::from_rgb(210, 130, 0);
pub const REFUSED: Color32 = Color32::from_rgb(200, 40, 40);
pub const TEXT: Color32 = Color32::from_rgb(30, 30, 34);

/// The fill colour of a kind.
pub fn fill(tag: KindTag) -> Color32 {
    match tag {
        KindTag::Client => Color32::from_rgb(222, 236, 252), // blue
        KindTag::Entry => Color32::from_rgb(255, 244, 200),  // yellow
        KindTag::LoadBalancer => Color32::from_rgb(252, 236, 212), // orange
        KindTag::AppServer => Color32::from_rgb(224, 244, 226), // green
        KindTag::SessionStore => Color32::from_rgb(250, 226, 232), // pink
        KindTag::Cache => Color32::from_rgb(214, 242, 244),  // teal
        KindTag::ShardRouter => Color32::from_rgb(236, 236, 236), // grey
        KindTag::Database => Color32::from_rgb(236, 226, 250), // violet
    }
}

/// The outline colour of a kind: its fill, darker.
pub fn outline(tag: KindTag) -> Color32 {
    let f = fill(tag);
    Color32::from_rgb(f.r() / 2, f.g() / 2, f.b() / 2)
}

/// Draw a small icon for `tag` centred in `rect` (a square a little under the text height).
pub fn icon(painter: &Painter, tag: KindTag, rect: Rect) {
    let c = rect.center();
    let s = rect.width() / 2.0;
    let stroke = Stroke::new(1.5, outline(tag));
    match tag {
        KindTag::Client => {
            // A person: head and shoulders.
            painter.circle_stroke(c - vec2(0.0, s * 0.35), s * 0.35, stroke);
            painter.line_segment(
                [c + vec2(-s * 0.7, s), c + vec2(-s * 0.5, s * 0.25)],
                stroke,
            );
            painter.line_segment(
                [c + vec2(-s * 0.5, s * 0.25), c + vec2(s * 0.5, s * 0.25)],
                stroke,
            );
            painter.line_segment([c + vec2(s * 0.5, s * 0.25), c + vec2(s * 0.7, s)], stroke);
        }
        KindTag::LoadBalancer => {
            // One line in, three out.
            let left = c - vec2(s, 0.0);
            painter.line_segment([left, c], stroke);
            for dy in [-s * 0.8, 0.0, s * 0.8] {
                painter.line_segment([c, c + vec2(s, dy)], stroke);
            }
        }
        KindTag::Database => {
            // A cylinder.
            let w = s * 0.8;
            let top = Rect::from_center_size(c - vec2(0.0, s * 0.6), vec2(2.0 * w, s * 0.6));
            painter.add(eframe::egui::Shape::ellipse_stroke(
                top.center(),
                top.size() / 2.0,
                stroke,
            ));
            painter.line_segment(
                [top.left_center(), top.left_center() + vec2(0.0, s * 1.3)],
                stroke,
            );
            painter.line_segment(
                [top.right_center(), top.right_center() + vec2(0.0, s * 1.3)],
                stroke,
            );
            let bottom = top.translate(vec2(0.0, s * 1.3));
            painter.line_segment([bottom.left_center(), bottom.center_bottom()], stroke);
            painter.line_segment([bottom.center_bottom(), bottom.right_center()], stroke);
        }
        KindTag::Entry => {
            // A globe: a circle with a meridian and the equator.
            painter.circle_stroke(c, s * 0.85, stroke);
            painter.line_segment([c - vec2(s * 0.85, 0.0), c + vec2(s * 0.85, 0.0)], stroke);
            painter.add(eframe::egui::Shape::ellipse_stroke(
                c,
                vec2(s * 0.35, s * 0.85),
                stroke,
            ));
        }
        KindTag::Cache => {
            // A lightning bolt: fast answers.
            let pts = [
                c + vec2(s * 0.2, -s),
                c + vec2(-s * 0.45, s * 0.1),
                c + vec2(s * 0.1, s * 0.1),
                c + vec2(-s * 0.2, s),
                c + vec2(s * 0.45, -s * 0.1),
                c + vec2(-s * 0.1, -s * 0.1),
                c + vec2(s * 0.2, -s),
            ];
            for w in pts.windows(2) {
                painter.line_segment([w[0], w[1]], stroke);
            }
        }
        KindTag::SessionStore => {
            // A key: a ring and a shaft with a tooth.
            let ring = c - vec2(s * 0.45, 0.0);
            painter.circle_stroke(ring, s * 0.4, stroke);
            painter.line_segment([ring + vec2(s * 0.4, 0.0), c + vec2(s, 0.0)], stroke);
            painter.line_segment([c + vec2(s * 0.7, 0.0), c + vec2(s * 0.7, s * 0.4)], stroke);
        }
        KindTag::ShardRouter => {
            // One line in, split into stacked slices.
            painter.line_segment([c - vec2(s, 0.0), c - vec2(s * 0.2, 0.0)], stroke);
            for dy in [-s * 0.7, 0.0, s * 0.7] {
                let r = Rect::from_center_size(c + vec2(s * 0.5, dy), vec2(s, s * 0.45));
                painter.rect_stroke(r, 1.0, stroke, StrokeKind::Inside);
            }
        }
        _ => {
            // A server: a box with two slots.
            let r = Rect::from_center_size(c, vec2(s * 1.4, s * 1.8));
            painter.rect_stroke(r, 2.0, stroke, StrokeKind::Inside);
            for k in [0.35, 0.65] {
                let y = r.top() + r.height() * k;
                painter.line_segment([pos2(r.left() + 3.0, y), pos2(r.right() - 3.0, y)], stroke);
            }
        }
    }
}

/// The corner rounding of a kind's box: clients and databases are rounder.
pub fn rounding(tag: KindTag, zoom: f32) -> f32 {
    let r = match tag {
        KindTag::Client => 18.0,
        KindTag::Database => 12.0,
        _ => 4.0,
    };
    r * zoom
}

/// The hover text of a problem badge's severity.
pub fn badge_pos(rect: Rect) -> Pos2 {
    rect.right_top() + vec2(-2.0, 2.0)
}

/// The main line colour of the plots.
pub const PLOT_A: Color32 = Color32::from_rgb(40, 110, 200);
/// A node marked down by health checks.
pub const MARKED_DOWN: Color32 = Color32::from_rgb(220, 120, 0);
/// A dead node's cross.
pub const DEAD: Color32 = Color32::from_rgb(190, 30, 30);

/// The colour of a request dot.
pub fn dot(class: super::live::DotClass) -> Color32 {
    use super::live::DotClass;
    match class {
        DotClass::Read => Color32::from_rgb(40, 110, 220),
        DotClass::CacheHit => Color32::from_rgb(20, 160, 70),
        DotClass::DbRead => Color32::from_rgb(140, 60, 200),
        DotClass::Write => Color32::from_rgb(235, 140, 0),
        DotClass::Failed => Color32::from_rgb(215, 25, 25),
    }
}

/// Load as a colour: pale green when idle through yellow to red when saturated.
pub fn load(utilization: f32) -> Color32 {
    let u = utilization.clamp(0.0, 1.0);
    let (r, g, b) = if u < 0.5 {
        let k = u / 0.5;
        (120.0 + 135.0 * k, 200.0 + 20.0 * k, 120.0 - 60.0 * k)
    } else {
        let k = (u - 0.5) / 0.5;
        (255.0, 220.0 - 170.0 * k, 60.0 - 20.0 * k)
    };
    Color32::from_rgb(r as u8, g as u8, b as u8)
}

/// Distinct line colours for per-node plots.
pub fn series(k: usize) -> Color32 {
    const C: [Color32; 8] = [
        Color32::from_rgb(40, 110, 200),
        Color32::from_rgb(220, 100, 20),
        Color32::from_rgb(30, 150, 70),
        Color32::from_rgb(170, 50, 170),
        Color32::from_rgb(200, 40, 60),
        Color32::from_rgb(20, 150, 160),
        Color32::from_rgb(120, 100, 40),
        Color32::from_rgb(90, 90, 90),
    ];
    C[k % C.len()]
}
