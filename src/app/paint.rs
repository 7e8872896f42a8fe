//! How the canvas looks: grid, wires, node boxes and a running node, painted from values.

use eframe::egui::{
    self, Align2, Color32, FontId, Pos2, Rect, Shape, Stroke, StrokeKind, Vec2, pos2, vec2,
};

use super::geometry::{self as geo, Transform};
use super::live::NodeLive;
use super::theme;
use crate::layout::{KindTag, Node, Problem, Severity};

/// The smallest text drawn on the canvas, in screen points: below it a label is unreadable
/// and only costs the frame.
pub const TEXT_PX_MIN: f32 = 6.0;

pub fn draw_grid(painter: &egui::Painter, rect: Rect, t: Transform) {
    let step = geo::GRID_CANVAS * t.zoom;
    if step < 6.0 {
        return;
    }
    let start = t.canvas_from_screen(rect.min, rect.min);
    let first = geo::snap(start, geo::GRID_CANVAS) - Vec2::splat(geo::GRID_CANVAS);
    let mut x = t.screen_from_canvas(rect.min, first).x;
    while x < rect.right() {
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(1.0, theme::GRID),
        );
        x += step;
    }
    let mut y = t.screen_from_canvas(rect.min, first).y;
    while y < rect.bottom() {
        painter.line_segment(
            [pos2(rect.left(), y), pos2(rect.right(), y)],
            Stroke::new(1.0, theme::GRID),
        );
        y += step;
    }
}

pub fn draw_arrow(painter: &egui::Painter, points: &[Pos2], stroke: Stroke, zoom: f32) {
    painter.extend(arrow_shapes(points, stroke, zoom));
}

/// A line along `points` with an arrow head at its end (no head on fewer than two points).
pub fn arrow_shapes(points: &[Pos2], stroke: Stroke, zoom: f32) -> Vec<Shape> {
    let mut shapes = vec![Shape::line(points.to_vec(), stroke)];
    let n = points.len();
    if n < 2 {
        return shapes;
    }
    let tip = points[n - 1];
    let dir = (tip - points[n - 2]).normalized();
    let size = 9.0 * zoom.max(0.6);
    let side = dir.rot90() * size * 0.5;
    let base = tip - dir * size;
    shapes.push(Shape::convex_polygon(
        vec![tip, base + side, base - side],
        stroke.color,
        Stroke::NONE,
    ));
    shapes
}

/// A node's box (a pool as a stack), its selection ring and its icon: what stays the same from
/// frame to frame, so the canvas can keep it tessellated (`node_mesh.rs`).
pub fn draw_node_body(
    painter: &egui::Painter,
    tag: KindTag,
    count: u32,
    r: Rect,
    zoom: f32,
    selected: bool,
) {
    let rounding = theme::rounding(tag, zoom);
    let stroke = Stroke::new(1.2, theme::outline(tag));
    // A pool: the other members as boxes stacked behind the first.
    let behind = count.clamp(1, geo::POOL_BOXES_MAX) - 1;
    for k in (1..=behind).rev() {
        let b = r.translate(geo::POOL_STEP_CANVAS * zoom * k as f32);
        painter.rect(b, rounding, theme::fill(tag), stroke, StrokeKind::Inside);
    }
    painter.rect(r, rounding, theme::fill(tag), stroke, StrokeKind::Inside);
    if selected {
        painter.rect_stroke(
            r.expand(3.0),
            rounding + 3.0,
            Stroke::new(2.0, theme::SELECTED),
            StrokeKind::Outside,
        );
    }
    let icon_rect = Rect::from_center_size(
        r.left_top() + vec2(16.0, 17.0) * zoom,
        Vec2::splat(16.0 * zoom),
    );
    theme::icon(painter, tag, icon_rect);
}

/// Over a node's body: its name and kind or members, and a badge for the worst of its problems.
pub fn draw_node_text(
    painter: &egui::Painter,
    node: &Node,
    r: Rect,
    zoom: f32,
    problems: &[&Problem],
) {
    let tag = node.kind.tag();
    let count = node.kind.count();
    let stroke = Stroke::new(1.2, theme::outline(tag));
    let text_size = 14.0 * zoom;
    // Text too small to read (a zoomed-out overview of hundreds of nodes) is not drawn: the
    // icon and colour still tell the kind, and zooming in brings the names back.
    if text_size >= TEXT_PX_MIN {
        let title = if count > 1 {
            format!("{} ×{count}", node.name)
        } else {
            node.name.clone()
        };
        painter.text(
            r.left_top() + vec2(30.0, 17.0) * zoom,
            Align2::LEFT_CENTER,
            title,
            FontId::proportional(text_size),
            theme::TEXT,
        );
    }
    if count > 1 {
        draw_members(painter, r, zoom, count, stroke);
    } else if 11.0 * zoom >= TEXT_PX_MIN {
        painter.text(
            r.left_bottom() + vec2(10.0, -13.0) * zoom,
            Align2::LEFT_CENTER,
            tag.label(),
            FontId::proportional(11.0 * zoom),
            theme::outline(tag),
        );
    }
    if let Some(worst) = problems.iter().map(|p| p.severity).max() {
        draw_problem_badge(painter, r, zoom, worst);
    }
}

/// A pool's members as a row of numbered badges along the bottom of its card, numbered from 0
/// as in the file format's `member:` and the core's `app[0]`.
fn draw_members(painter: &egui::Painter, r: Rect, zoom: f32, count: u32, stroke: Stroke) {
    for b in geo::member_badges(r, count, zoom) {
        painter.rect(b.rect, 2.0, Color32::WHITE, stroke, StrokeKind::Inside);
        painter.text(
            b.rect.center(),
            Align2::CENTER_CENTER,
            &b.label,
            FontId::monospace(geo::MEMBER_FONT_CANVAS * zoom),
            theme::TEXT,
        );
    }
}

/// Draw `text` at `pos`, shrunk if need be so that it is no wider than `max_width`.
fn fitted_text(
    painter: &egui::Painter,
    pos: Pos2,
    align: Align2,
    text: String,
    size: f32,
    max_width: f32,
    colour: Color32,
) -> Rect {
    let mut galley = painter.layout_no_wrap(text.clone(), FontId::proportional(size), colour);
    let w = galley.size().x;
    if w > max_width && max_width > 1.0 {
        let smaller = size * max_width / w;
        galley = painter.layout_no_wrap(text, FontId::proportional(smaller), colour);
    }
    let rect = align.anchor_size(pos, galley.size());
    painter.galley(rect.min, galley, colour);
    rect
}

/// Problems from the core's validation, as a badge on the node.
fn draw_problem_badge(painter: &egui::Painter, r: Rect, zoom: f32, worst: Severity) {
    let colour = match worst {
        Severity::Error => theme::ERROR,
        Severity::Warning => theme::WARNING,
    };
    let c = theme::badge_pos(r);
    painter.circle_filled(c, 8.0 * zoom.max(0.7), colour);
    painter.text(
        c,
        Align2::CENTER_CENTER,
        "!",
        FontId::proportional(12.0 * zoom.max(0.7)),
        Color32::WHITE,
    );
}

/// The point `along` (0 to 1) a sampled wire.
pub fn point_along(points: &[Pos2], along: f32) -> Pos2 {
    let n = points.len();
    if n == 0 {
        return Pos2::ZERO;
    }
    let x = along.clamp(0.0, 1.0) * (n - 1) as f32;
    let i = (x.floor() as usize).min(n.saturating_sub(2));
    let (a, b) = (points[i], points[(i + 1).min(n - 1)]);
    a + (b - a) * (x - i as f32)
}

/// A running node's load, queue, rate and health, over its box: `r` is the front card on
/// screen and `outline` the whole stack, as `geometry::node_parts` reserves them.
pub fn draw_live(
    painter: &egui::Painter,
    tag: KindTag,
    r: Rect,
    outline: Rect,
    zoom: f32,
    l: &NodeLive,
) {
    let z = zoom;
    match &l.limiter {
        Some(lim) => super::limiter::draw_bucket(painter, r, lim),
        None => draw_load(painter, r, z, l),
    }
    if let Some(e) = &l.edge {
        super::edge::draw_hit_bar(painter, r, e);
    }
    if let Some(q) = &l.mq {
        super::mq::draw_backlog_bar(painter, r, z, q);
    }
    if z >= geo::SMALL_TEXT_ZOOM_MIN {
        draw_live_numbers(painter, tag, r, z, l);
    }
    // Queue badge: in the strip above the stack, on the left.
    if l.queue > 0 && z >= geo::SMALL_TEXT_ZOOM_MIN {
        let strip_top = outline.top() - geo::ABOVE_CANVAS * z;
        let text = format!("q {}", l.queue);
        let font = FontId::proportional(geo::SMALL_FONT_CANVAS * z);
        let galley = painter.layout_no_wrap(text, font, Color32::BLACK);
        let bg = Rect::from_min_size(
            pos2(outline.left(), strip_top + 1.0 * z),
            galley.size() + vec2(8.0, 1.0) * z,
        );
        painter.rect_filled(bg, 6.0 * z, theme::WARNING);
        painter.galley(bg.min + vec2(4.0, 0.5) * z, galley, Color32::BLACK);
    }
    draw_health(painter, r, outline, z, l);
}

/// Utilization filling the box from the bottom, hatched when saturated, and a bar per member
/// of a pool under it (a dead member's bar is crossed, one marked down is dashed).
fn draw_load(painter: &egui::Painter, r: Rect, z: f32, l: &NodeLive) {
    let fill_h = r.height() * l.utilization.clamp(0.0, 1.0);
    if fill_h > 0.5 {
        let fill = Rect::from_min_max(pos2(r.left(), r.bottom() - fill_h), r.right_bottom());
        painter.rect_filled(
            fill.shrink(1.0),
            2.0,
            theme::load(l.utilization).gamma_multiply(0.55),
        );
        if l.utilization >= theme::SATURATED {
            hatch(
                painter,
                fill.shrink(1.0),
                8.0 * z.max(0.5),
                theme::TEXT.gamma_multiply(0.35),
            );
        }
    }
    if l.members.len() > 1 {
        let n = l.members.len().min(16);
        let w = (r.width() - 4.0) / n as f32;
        for (k, m) in l.members.iter().take(n).enumerate() {
            let cell = Rect::from_min_size(
                pos2(r.left() + 2.0 + k as f32 * w, r.bottom() + 2.0 * z),
                vec2(w - 1.0, 5.0 * z),
            );
            let colour = if !m.alive {
                Color32::from_gray(70)
            } else if m.marked_down {
                theme::MARKED_DOWN
            } else {
                theme::load(m.utilization)
            };
            painter.rect_filled(cell, 1.0, colour);
            if !m.alive {
                let s = Stroke::new(1.0, Color32::WHITE);
                painter.line_segment([cell.left_top(), cell.right_bottom()], s);
            }
        }
    }
}

/// Diagonal stripes over `rect`, `step` apart.
fn hatch(painter: &egui::Painter, rect: Rect, step: f32, colour: Color32) {
    let stroke = Stroke::new(1.0, colour);
    let mut x = rect.left() - rect.height();
    while x < rect.right() {
        // A line from (x, bottom) to (x + h, top), clipped to the rectangle.
        let (mut a, mut b) = (pos2(x, rect.bottom()), pos2(x + rect.height(), rect.top()));
        if a.x < rect.left() {
            a = pos2(rect.left(), rect.bottom() - (rect.left() - a.x));
        }
        if b.x > rect.right() {
            b = pos2(rect.right(), rect.top() + (b.x - rect.right()));
        }
        if a.x < b.x {
            painter.line_segment([a, b], stroke);
        }
        x += step;
    }
}

/// Numbers under the box, in the room `geometry::node_parts` reserves: rate and utilization;
/// a balancer's algorithm, then its last pick.
fn draw_live_numbers(painter: &egui::Painter, tag: KindTag, r: Rect, z: f32, l: &NodeLive) {
    let rate = super::run::fmt_count(f64::from(l.served_per_s));
    // A client has no workers, so no utilization: what it sends, and what fails (a client
    // whose balancer is dead still sends; every request fails).
    let mut lines = vec![if tag == KindTag::Client {
        let sent = super::run::fmt_count(f64::from(l.calls_per_s));
        (format!("{sent} rps sent"), theme::TEXT)
    } else {
        (
            format!("{rate} rps · {}", theme::percent(l.utilization)),
            theme::TEXT,
        )
    }];
    if tag == KindTag::Client && l.failed_per_s > 0.0 {
        let failed = super::run::fmt_count(f64::from(l.failed_per_s));
        lines.push((format!("{failed} failed/s"), theme::ERROR));
    }
    if let Some(e) = &l.edge {
        lines = super::edge::edge_lines(l.calls_per_s, e);
    }
    if let Some(q) = &l.mq {
        lines = super::mq::live_lines(q);
    }
    if let Some(lim) = &l.limiter {
        lines = super::limiter::live_lines(lim);
    }
    if let Some(alg) = l.algorithm {
        lines.push((alg.to_string(), theme::TEXT));
        if let Some(p) = &l.last_pick {
            lines.push((format!("last to {p}"), theme::TEXT));
        }
    }
    for (k, (text, colour)) in lines.into_iter().take(geo::LIVE_LINES_MAX).enumerate() {
        fitted_text(
            painter,
            pos2(r.left(), geo::live_line_top(r.bottom(), k, z)),
            Align2::LEFT_TOP,
            text,
            geo::SMALL_FONT_CANVAS * z,
            r.width(),
            colour,
        );
    }
}

/// Dead: crossed out. Marked down by health checks: an orange dashed frame and a word in the
/// strip above the stack.
fn draw_health(painter: &egui::Painter, r: Rect, outline: Rect, z: f32, l: &NodeLive) {
    if l.dead() {
        let stroke = Stroke::new(3.0 * z, theme::DEAD);
        painter.line_segment([r.left_top(), r.right_bottom()], stroke);
        painter.line_segment([r.right_top(), r.left_bottom()], stroke);
    } else if l.marked_down() > 0 {
        let stroke = Stroke::new(2.0 * z, theme::MARKED_DOWN);
        let outer = r.expand(3.0 * z);
        let corners = [
            outer.left_top(),
            outer.right_top(),
            outer.right_bottom(),
            outer.left_bottom(),
            outer.left_top(),
        ];
        painter.extend(Shape::dashed_line(&corners, stroke, 6.0 * z, 4.0 * z));
        if z >= geo::SMALL_TEXT_ZOOM_MIN {
            fitted_text(
                painter,
                outline.right_top() - vec2(0.0, 2.0 * z),
                Align2::RIGHT_BOTTOM,
                if l.members.len() > 1 {
                    format!("{} marked down", l.marked_down())
                } else {
                    "marked down".to_string()
                },
                geo::SMALL_FONT_CANVAS * z,
                outline.width() * 0.6,
                theme::MARKED_DOWN,
            );
        }
    }
}
