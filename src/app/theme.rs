//! Colours, shapes and icons per node kind: the one place the canvas matches on kinds. A kind
//! added to the core later gets a colour from its palette position and the plain box shape.

use eframe::egui::{self, Color32, Painter, Pos2, Rect, Stroke, StrokeKind, pos2, vec2};
use serde::{Deserialize, Serialize};

use crate::layout::KindTag;

/// The window's look, chosen in the View menu and remembered between launches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Look {
    /// egui's own (dark) panels around the light canvas.
    #[default]
    Standard,
    /// Light, high-contrast panels, larger text and bolder lines, for a projector in a lit room.
    Projector,
}

impl Look {
    pub fn label(self) -> &'static str {
        match self {
            Look::Standard => "Standard theme",
            Look::Projector => "Projector theme (light, high contrast)",
        }
    }
}

/// Set egui's visuals and text sizes for `look`. Call it when the look changes, not every
/// frame (a new style lays the text out again).
pub fn apply(ctx: &egui::Context, look: Look) {
    match look {
        Look::Standard => {
            ctx.set_style_of(
                egui::Theme::Light,
                egui::Style {
                    visuals: egui::Visuals::light(),
                    ..egui::Style::default()
                },
            );
            ctx.set_theme(egui::ThemePreference::System);
        }
        Look::Projector => {
            let mut v = egui::Visuals::light();
            v.override_text_color = Some(Color32::BLACK);
            v.panel_fill = Color32::WHITE;
            v.window_fill = Color32::WHITE;
            v.extreme_bg_color = Color32::WHITE;
            v.faint_bg_color = Color32::from_gray(235);
            v.widgets.noninteractive.bg_stroke = Stroke::new(1.5, Color32::from_gray(60));
            v.widgets.inactive.bg_fill = Color32::from_gray(215);
            v.widgets.inactive.weak_bg_fill = Color32::from_gray(215);
            v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_gray(40));
            v.widgets.hovered.bg_stroke = Stroke::new(2.0, Color32::BLACK);
            v.selection.bg_fill = Color32::from_rgb(0, 90, 200);
            v.selection.stroke = Stroke::new(2.0, Color32::WHITE);
            let mut style = egui::Style {
                visuals: v,
                ..egui::Style::default()
            };
            for font in style.text_styles.values_mut() {
                font.size = (font.size * 1.15).round();
            }
            ctx.set_style_of(egui::Theme::Light, style);
            ctx.set_theme(egui::Theme::Light);
        }
    }
}

pub const CANVAS_BG: Color32 = Color32::from_rgb(246, 246, 242);
pub const GRID: Color32 = Color32::from_rgb(226, 226, 220);
pub const WIRE: Color32 = Color32::from_rgb(90, 96, 110);
pub const WIRE_SELECTED: Color32 = Color32::from_rgb(30, 110, 220);
/// The request stepper's active node and wire.
pub const WALK: Color32 = Color32::from_rgb(235, 140, 20);
/// A single point of failure, or the node that saturated first (`breaks.rs`).
pub const BREAK: Color32 = Color32::from_rgb(210, 30, 90);
pub const SELECTED: Color32 = Color32::from_rgb(30, 110, 220);
/// A target met, a drill passed.
pub const OK: Color32 = Color32::from_rgb(30, 130, 60);
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
        KindTag::Cdn => Color32::from_rgb(206, 236, 214),    // sea green
        KindTag::Queue => Color32::from_rgb(244, 234, 214),  // sand
        KindTag::RateLimiter => Color32::from_rgb(246, 222, 206), // clay
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
        KindTag::Cdn | KindTag::Queue | KindTag::RateLimiter => {
            building_block_icon(painter, tag, c, s, stroke)
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

/// The icons of the building blocks a scaling design reaches for beyond the lesson's tiers: the
/// CDN edge, the message queue and the rate limiter (centre `c`, half-size `s`).
fn building_block_icon(painter: &Painter, tag: KindTag, c: Pos2, s: f32, stroke: Stroke) {
    match tag {
        KindTag::Cdn => {
            // A cloud edge: a cloud outline with a short bolt under it.
            painter.circle_stroke(c + vec2(-s * 0.4, 0.0), s * 0.4, stroke);
            painter.circle_stroke(c + vec2(s * 0.1, -s * 0.25), s * 0.5, stroke);
            painter.circle_stroke(c + vec2(s * 0.55, s * 0.05), s * 0.35, stroke);
            painter.line_segment(
                [c + vec2(-s * 0.8, s * 0.4), c + vec2(s * 0.9, s * 0.4)],
                stroke,
            );
            painter.line_segment([c + vec2(0.0, s * 0.55), c + vec2(-s * 0.2, s)], stroke);
        }
        KindTag::Queue => {
            // Messages in a row: three envelopes-in-a-pipe slots and an arrow out.
            for k in 0..3 {
                let x = c.x - s + s * 0.55 * k as f32;
                let r = Rect::from_min_size(pos2(x, c.y - s * 0.45), vec2(s * 0.45, s * 0.9));
                painter.rect_stroke(r, 1.0, stroke, StrokeKind::Inside);
            }
            let tip = c + vec2(s, 0.0);
            painter.line_segment([c + vec2(s * 0.65, -s * 0.35), tip], stroke);
            painter.line_segment([c + vec2(s * 0.65, s * 0.35), tip], stroke);
        }
        KindTag::RateLimiter => {
            // A bucket: open at the top, narrower at the bottom, with a drop falling in.
            let (tl, tr) = (c + vec2(-s * 0.8, -s * 0.3), c + vec2(s * 0.8, -s * 0.3));
            let (bl, br) = (c + vec2(-s * 0.55, s), c + vec2(s * 0.55, s));
            painter.line_segment([tl, bl], stroke);
            painter.line_segment([bl, br], stroke);
            painter.line_segment([br, tr], stroke);
            painter.circle_stroke(c - vec2(0.0, s * 0.75), s * 0.2, stroke);
        }
        _ => {}
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

/// The colour of a request dot, from the Okabe-Ito palette that colour-blind viewers can tell
/// apart; failed requests are also drawn as a cross, not a disc.
pub fn dot(class: super::live::DotClass) -> Color32 {
    use super::live::DotClass;
    match class {
        DotClass::Read => Color32::from_rgb(0, 114, 178), // blue
        DotClass::CacheHit => Color32::from_rgb(86, 180, 233), // sky blue
        DotClass::DbRead => Color32::from_rgb(204, 121, 167), // reddish purple
        DotClass::Write => Color32::from_rgb(230, 159, 0), // orange
        DotClass::Failed => Color32::from_rgb(213, 94, 0), // vermillion
    }
}

/// Load as a colour on a cividis-like ramp (blue-grey when idle, through grey, to yellow when
/// saturated): it runs from dark to light, so it reads the same to red/green colour-blind
/// eyes and in grey. Numbers and a hatch (`paint.rs`) say it as well.
pub fn load(utilization: f32) -> Color32 {
    const RAMP: [(f32, [f32; 3]); 5] = [
        (0.0, [60.0, 95.0, 160.0]),
        (0.25, [95.0, 110.0, 130.0]),
        (0.5, [140.0, 140.0, 125.0]),
        (0.75, [200.0, 180.0, 95.0]),
        (1.0, [250.0, 225.0, 50.0]),
    ];
    let u = if utilization.is_finite() {
        utilization.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let k = RAMP
        .windows(2)
        .position(|w| u <= w[1].0)
        .unwrap_or(RAMP.len() - 2);
    let ((a_at, a), (b_at, b)) = (RAMP[k], RAMP[k + 1]);
    let f = (u - a_at) / (b_at - a_at);
    let c = |i: usize| (a[i] + (b[i] - a[i]) * f).round() as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

/// Load at or above this is drawn hatched, so "saturated" does not rest on colour alone.
pub const SATURATED: f32 = 0.9;

/// The line colour of a per-node plot series: chosen by the instance's own index, so a node
/// keeps its colour whatever the ranking of the busiest nodes does.
pub fn series(unit_index: usize) -> Color32 {
    const C: [Color32; 8] = [
        Color32::from_rgb(0, 114, 178),
        Color32::from_rgb(230, 159, 0),
        Color32::from_rgb(0, 158, 115),
        Color32::from_rgb(204, 121, 167),
        Color32::from_rgb(86, 180, 233),
        Color32::from_rgb(213, 94, 0),
        Color32::from_rgb(120, 100, 40),
        Color32::from_rgb(90, 90, 90),
    ];
    C[unit_index % C.len()]
}

/// "42 %" for a fraction: rounded, never "-0 %", never "NaN %".
pub fn percent(fraction: f32) -> String {
    let p = if fraction.is_finite() {
        (fraction * 100.0).round().max(0.0)
    } else {
        0.0
    };
    format!("{p:.0} %")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative luminance (WCAG) of a colour.
    fn luminance(c: Color32) -> f32 {
        let lin = |v: u8| {
            let s = f32::from(v) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b())
    }

    #[test]
    fn load_colours_get_lighter_as_load_grows_so_they_read_without_hue() {
        // Without hue (grey print, or colour-blind eyes), luminance alone orders the load.
        let steps: Vec<f32> = (0..=10).map(|k| luminance(load(k as f32 / 10.0))).collect();
        for w in steps.windows(2) {
            assert!(w[1] > w[0], "{steps:?}");
        }
        // Idle and saturated are far apart: a contrast ratio of at least 3.
        let ratio = (steps[10] + 0.05) / (steps[0] + 0.05);
        assert!(ratio > 3.0, "{ratio}");
    }

    #[test]
    fn percentages_never_read_minus_zero() {
        assert_eq!(percent(-0.0001), "0 %");
        assert_eq!(percent(-0.0), "0 %");
        assert_eq!(percent(0.424), "42 %");
        assert_eq!(percent(1.0), "100 %");
        assert_eq!(percent(f32::NAN), "0 %");
    }
}
