//! Canvas geometry as pure functions: canvas <-> screen transforms, snapping, node and port
//! rectangles, hit tests, wire routing and box selection. No egui state, so it is unit-tested.

use eframe::egui::{Pos2, Rect, Vec2, pos2, vec2};

use crate::layout::{NodeId, Pos};

/// A node's box on the canvas, in canvas units.
pub const NODE_SIZE_CANVAS: Vec2 = vec2(132.0, 58.0);
/// Grid spacing in canvas units; moves snap to it when snapping is on.
pub const GRID_CANVAS: f32 = 20.0;
/// Radius of a node's output port, in canvas units.
pub const PORT_RADIUS_CANVAS: f32 = 7.0;
/// How far each extra pool member is drawn behind the first, in canvas units.
pub const POOL_STEP_CANVAS: Vec2 = vec2(7.0, -7.0);
/// At most this many member boxes are drawn for a pool.
pub const POOL_BOXES_MAX: u32 = 4;
pub const ZOOM_MIN: f32 = 0.25;
pub const ZOOM_MAX: f32 = 3.0;

/// Pan and zoom of the canvas: `screen = origin + pan_screen + canvas * zoom`, where `origin`
/// is the top-left corner of the canvas area on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    pub pan_screen: Vec2,
    pub zoom: f32,
}

impl Default for Transform {
    fn default() -> Self {
        Transform {
            pan_screen: vec2(40.0, 40.0),
            zoom: 1.0,
        }
    }
}

impl Transform {
    pub fn screen_from_canvas(&self, origin: Pos2, canvas: Pos2) -> Pos2 {
        origin + self.pan_screen + canvas.to_vec2() * self.zoom
    }

    pub fn canvas_from_screen(&self, origin: Pos2, screen: Pos2) -> Pos2 {
        ((screen - origin - self.pan_screen) / self.zoom).to_pos2()
    }

    pub fn screen_rect_from_canvas(&self, origin: Pos2, canvas: Rect) -> Rect {
        Rect::from_min_max(
            self.screen_from_canvas(origin, canvas.min),
            self.screen_from_canvas(origin, canvas.max),
        )
    }

    /// Zoom by `factor` keeping the canvas point under `pointer_screen` where it is.
    pub fn zoom_around(&mut self, origin: Pos2, pointer_screen: Pos2, factor: f32) {
        let under = self.canvas_from_screen(origin, pointer_screen);
        self.zoom = (self.zoom * factor).clamp(ZOOM_MIN, ZOOM_MAX);
        self.pan_screen = pointer_screen - origin - under.to_vec2() * self.zoom;
    }
}

/// Zoom to fit never zooms in further than this, so a small layout is not blown up.
pub const FIT_ZOOM_MAX: f32 = 1.25;

/// The transform that shows all of `bounds_canvas` inside a view of `view_size_screen` with a
/// margin, never zooming in past [`FIT_ZOOM_MAX`].
pub fn fit(bounds_canvas: Rect, view_size_screen: Vec2, margin_screen: f32) -> Transform {
    if !bounds_canvas.is_positive() || !bounds_canvas.is_finite() {
        return Transform::default();
    }
    let room = (view_size_screen - Vec2::splat(2.0 * margin_screen)).max(Vec2::splat(1.0));
    let zoom = (room.x / bounds_canvas.width())
        .min(room.y / bounds_canvas.height())
        .clamp(ZOOM_MIN, FIT_ZOOM_MAX);
    let centre_screen = view_size_screen / 2.0;
    Transform {
        pan_screen: centre_screen - bounds_canvas.center().to_vec2() * zoom,
        zoom,
    }
}

/// The transform that shows every node of `layout` with all its parts (the strip above, the
/// live numbers below) in a canvas of `view_size_screen`.
pub fn fit_layout(layout: &crate::layout::Layout, view_size_screen: Vec2) -> Transform {
    let bounds = layout
        .nodes
        .iter()
        .flat_map(|n| node_parts(n.pos, n.kind.count()).all())
        .reduce(|a, b| a.union(b));
    match bounds {
        Some(b) => fit(b.expand(16.0), view_size_screen, 24.0),
        None => Transform::default(),
    }
}

/// `p` moved to the nearest grid point.
pub fn snap(p: Pos2, grid: f32) -> Pos2 {
    if grid <= 0.0 {
        return p;
    }
    pos2((p.x / grid).round() * grid, (p.y / grid).round() * grid)
}

pub fn to_pos2(p: Pos) -> Pos2 {
    pos2(p.x, p.y)
}

pub fn to_pos(p: Pos2) -> Pos {
    Pos { x: p.x, y: p.y }
}

/// A node's box; `pos` is its top-left corner.
pub fn node_rect(pos: Pos) -> Rect {
    Rect::from_min_size(to_pos2(pos), NODE_SIZE_CANVAS)
}

/// The box around a node and the member boxes drawn behind it when it is a pool.
pub fn node_outline(pos: Pos, members: u32) -> Rect {
    let extra = members.clamp(1, POOL_BOXES_MAX) - 1;
    let r = node_rect(pos);
    r.union(r.translate(POOL_STEP_CANVAS * extra as f32))
}

/// Font size of the text under and above a running node, and of wire labels, in canvas units.
pub const SMALL_FONT_CANVAS: f32 = 11.0;
/// Line height of the live numbers under a node.
pub const LIVE_LINE_CANVAS: f32 = 13.0;
/// Lines of live numbers under a node at most: rate and load; a balancer's algorithm; its
/// last pick.
pub const LIVE_LINES_MAX: usize = 3;
/// Below this canvas zoom, the small text (live numbers, wire labels) is not drawn.
pub const SMALL_TEXT_ZOOM_MIN: f32 = 0.6;
/// Height of the strip above a node (queue badge, "marked down").
pub const ABOVE_CANVAS: f32 = 16.0;
/// Member badges: height, the narrowest width, and the gap between two.
pub const MEMBER_BADGE_CANVAS: Vec2 = vec2(13.0, 13.0);
pub const MEMBER_BADGE_GAP_CANVAS: f32 = 2.0;
/// Font size of a member badge's number (monospace).
pub const MEMBER_FONT_CANVAS: f32 = 9.0;

/// An upper bound of the width of `chars` characters of the proportional font at `size`, so a
/// rectangle reserved for text holds it (the painter also shrinks text that would not fit).
pub fn text_width_max(chars: usize, size: f32) -> f32 {
    chars as f32 * size * 0.62
}

/// Everything drawn for one node, in canvas units: the box (a pool as a stack of cards), the
/// strip above the stack (queue badge, "marked down") and the live numbers under the box
/// (member load bars, then up to [`LIVE_LINES_MAX`] lines). Nothing of another node may enter
/// these rectangles (`tests::shipped_layouts_do_not_overlap`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeParts {
    /// The front card.
    pub card: Rect,
    /// The front card and the cards stacked behind it.
    pub outline: Rect,
    pub above: Rect,
    pub below: Rect,
}

impl NodeParts {
    pub fn all(&self) -> [Rect; 3] {
        [self.outline, self.above, self.below]
    }
}

pub fn node_parts(pos: Pos, members: u32) -> NodeParts {
    let card = node_rect(pos);
    let outline = node_outline(pos, members);
    let above = Rect::from_min_max(
        pos2(outline.left(), outline.top() - ABOVE_CANVAS),
        pos2(outline.right(), outline.top()),
    );
    let below = Rect::from_min_max(
        card.left_bottom(),
        pos2(
            card.right(),
            card.bottom() + 10.0 + LIVE_LINE_CANVAS * LIVE_LINES_MAX as f32,
        ),
    );
    NodeParts {
        card,
        outline,
        above,
        below,
    }
}

/// The y of the `k`-th live line under a card whose bottom edge is at `bottom` (screen or
/// canvas, scaled by `zoom`).
pub fn live_line_top(bottom: f32, k: usize, zoom: f32) -> f32 {
    bottom + (10.0 + LIVE_LINE_CANVAS * k as f32) * zoom
}

/// One badge in the row along the bottom of a pool's card: a member's number, or "…" for the
/// members not shown.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberBadge {
    pub rect: Rect,
    /// The member it stands for (numbered from 0, as in the file format's `member:`), or
    /// `None` for the ellipsis.
    pub member: Option<u32>,
    pub label: String,
}

/// The member badges of a pool of `count` on the card `card` (any space; `zoom` scales the
/// sizes): members 0, 1, 2… from the left, each badge wide enough for its number; when they
/// do not all fit, the first few, "…", and the last member. Every badge lies inside the card.
pub fn member_badges(card: Rect, count: u32, zoom: f32) -> Vec<MemberBadge> {
    if count < 2 {
        return Vec::new();
    }
    let width_of = |label: &str| {
        let chars = label.chars().count() as f32;
        (chars * MEMBER_FONT_CANVAS * 0.62 + 5.0).max(MEMBER_BADGE_CANVAS.x)
    };
    let room = NODE_SIZE_CANVAS.x - 12.0;
    let gap = MEMBER_BADGE_GAP_CANVAS;
    let fits =
        |labels: &[String]| labels.iter().map(|l| width_of(l) + gap).sum::<f32>() - gap <= room;
    let all: Vec<String> = (0..count).map(|m| m.to_string()).collect();
    let mut labels: Vec<(Option<u32>, String)>;
    if count <= 16 && fits(&all) {
        labels = all
            .into_iter()
            .enumerate()
            .map(|(m, l)| (Some(m as u32), l))
            .collect();
    } else {
        // The first `k` members, "…", the last one: the largest k that fits.
        let last = count - 1;
        let mut k = count.min(16) - 1;
        loop {
            let mut try_labels: Vec<String> = (0..k).map(|m| m.to_string()).collect();
            try_labels.push("…".into());
            try_labels.push(last.to_string());
            if fits(&try_labels) || k == 0 {
                break;
            }
            k -= 1;
        }
        labels = (0..k).map(|m| (Some(m), m.to_string())).collect();
        labels.push((None, "…".into()));
        labels.push((Some(last), last.to_string()));
    }
    let mut x = 6.0;
    labels
        .drain(..)
        .map(|(member, label)| {
            let w = width_of(&label);
            let rect = Rect::from_min_size(
                card.left_bottom() + vec2(x, -20.0) * zoom,
                vec2(w, MEMBER_BADGE_CANVAS.y) * zoom,
            );
            x += w + gap;
            MemberBadge {
                rect,
                member,
                label,
            }
        })
        .collect()
}

/// A wire's label: its latency, when it has one.
pub fn wire_label(latency_ms: f64) -> Option<String> {
    (latency_ms > 0.0).then(|| format!("{} ms", crate::layout::params::fmt_num(latency_ms)))
}

/// The rectangle of a wire's latency label: centred on the wire's midpoint, which a cubic
/// from [`wire_curve`] passes through at t = 1/2 whatever its bend. The label is drawn on a
/// plate of the canvas colour, so its wire does not cross its text.
pub fn wire_label_rect(from_port: Pos2, to_port: Pos2, text: &str, zoom: f32) -> Rect {
    let mid = from_port + (to_port - from_port) / 2.0;
    let size = vec2(
        text_width_max(text.chars().count(), SMALL_FONT_CANVAS) + 6.0,
        SMALL_FONT_CANVAS + 4.0,
    ) * zoom;
    Rect::from_center_size(mid, size)
}

/// Where wires leave a node: the middle of its right edge. They arrive at the left edge.
pub fn output_port(pos: Pos) -> Pos2 {
    node_rect(pos).right_center()
}

/// The topmost (last drawn) node whose rectangle contains `p`.
pub fn node_at(rects: &[(NodeId, Rect)], p: Pos2) -> Option<NodeId> {
    rects
        .iter()
        .rev()
        .find(|(_, r)| r.contains(p))
        .map(|(id, _)| *id)
}

/// Every node whose rectangle touches the box spanned by two corners (in any order).
pub fn nodes_in_box(rects: &[(NodeId, Rect)], a: Pos2, b: Pos2) -> Vec<NodeId> {
    let area = Rect::from_two_pos(a, b);
    rects
        .iter()
        .filter(|(_, r)| r.intersects(area))
        .map(|(id, _)| *id)
        .collect()
}

/// A wire as a cubic Bézier from an output port to an input port: it leaves rightwards and
/// arrives from the left, bending more when the target is behind the source.
pub fn wire_curve(from: Pos2, to: Pos2) -> [Pos2; 4] {
    let dx = (to.x - from.x).abs().max(40.0) * 0.5;
    [from, from + vec2(dx, 0.0), to - vec2(dx, 0.0), to]
}

/// `n + 1` points along a cubic Bézier.
pub fn sample_curve(c: &[Pos2; 4], n: usize) -> Vec<Pos2> {
    let n = n.max(1);
    (0..=n)
        .map(|i| {
            let t = i as f32 / n as f32;
            let u = 1.0 - t;
            let v = c[0].to_vec2() * (u * u * u)
                + c[1].to_vec2() * (3.0 * u * u * t)
                + c[2].to_vec2() * (3.0 * u * t * t)
                + c[3].to_vec2() * (t * t * t);
            v.to_pos2()
        })
        .collect()
}

/// The shortest distance from `p` to a polyline.
pub fn distance_to_polyline(p: Pos2, points: &[Pos2]) -> f32 {
    points
        .windows(2)
        .map(|w| distance_to_segment(p, w[0], w[1]))
        .fold(f32::INFINITY, f32::min)
}

fn distance_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let len2 = ab.length_sq();
    let t = if len2 > 0.0 {
        ((p - a).dot(ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a + ab * t).distance(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Pos2, b: Pos2) -> bool {
        a.distance(b) < 1e-3
    }

    #[test]
    fn screen_and_canvas_transforms_are_inverse() {
        let t = Transform {
            pan_screen: vec2(13.0, -7.0),
            zoom: 1.7,
        };
        let origin = pos2(100.0, 30.0);
        let p = pos2(42.0, 99.0);
        assert!(close(
            t.canvas_from_screen(origin, t.screen_from_canvas(origin, p)),
            p
        ));
    }

    #[test]
    fn zoom_keeps_the_point_under_the_pointer() {
        let mut t = Transform::default();
        let origin = pos2(200.0, 20.0);
        let pointer = pos2(500.0, 300.0);
        let before = t.canvas_from_screen(origin, pointer);
        t.zoom_around(origin, pointer, 1.5);
        assert!((t.zoom - 1.5).abs() < 1e-6);
        assert!(close(t.canvas_from_screen(origin, pointer), before));
        t.zoom_around(origin, pointer, 100.0);
        assert_eq!(t.zoom, ZOOM_MAX);
    }

    #[test]
    fn fit_shows_everything() {
        let bounds = Rect::from_min_max(pos2(0.0, 0.0), pos2(2000.0, 500.0));
        let view = vec2(1000.0, 600.0);
        let t = fit(bounds, view, 20.0);
        let a = t.screen_from_canvas(Pos2::ZERO, bounds.min);
        let b = t.screen_from_canvas(Pos2::ZERO, bounds.max);
        assert!(a.x >= 19.0 && b.x <= 981.0, "{a:?} {b:?}");
        assert!(a.y >= 0.0 && b.y <= 600.0);
        // A small layout is not blown up.
        let small = fit(
            Rect::from_min_size(Pos2::ZERO, vec2(100.0, 50.0)),
            view,
            20.0,
        );
        assert_eq!(small.zoom, FIT_ZOOM_MAX);
    }

    #[test]
    fn snapping_rounds_to_the_grid() {
        assert_eq!(snap(pos2(29.0, 31.0), 20.0), pos2(20.0, 40.0));
        assert_eq!(snap(pos2(-11.0, 9.0), 20.0), pos2(-20.0, 0.0));
        assert_eq!(snap(pos2(3.3, 4.4), 0.0), pos2(3.3, 4.4));
    }

    #[test]
    fn hit_tests_pick_the_topmost_node_and_boxes_pick_every_touched_one() {
        let a = (NodeId(1), node_rect(Pos { x: 0.0, y: 0.0 }));
        let b = (NodeId(2), node_rect(Pos { x: 50.0, y: 20.0 }));
        let c = (NodeId(3), node_rect(Pos { x: 400.0, y: 0.0 }));
        let rects = [a, b, c];
        assert_eq!(node_at(&rects, pos2(60.0, 30.0)), Some(NodeId(2)));
        assert_eq!(node_at(&rects, pos2(10.0, 10.0)), Some(NodeId(1)));
        assert_eq!(node_at(&rects, pos2(300.0, 10.0)), None);
        let boxed = nodes_in_box(&rects, pos2(410.0, 100.0), pos2(-5.0, -5.0));
        assert_eq!(boxed, vec![NodeId(1), NodeId(2), NodeId(3)]);
        assert_eq!(
            nodes_in_box(&rects, pos2(300.0, 0.0), pos2(350.0, 10.0)),
            vec![]
        );
    }

    #[test]
    fn wires_run_from_output_to_input_port() {
        let from = output_port(Pos { x: 0.0, y: 0.0 });
        let to = node_rect(Pos { x: 300.0, y: 0.0 }).left_center();
        assert_eq!(from, pos2(NODE_SIZE_CANVAS.x, NODE_SIZE_CANVAS.y / 2.0));
        let curve = wire_curve(from, to);
        let points = sample_curve(&curve, 16);
        assert!(close(points[0], from) && close(points[16], to));
        // A straight horizontal wire: points on it are at distance 0, others are not.
        assert!(distance_to_polyline(pos2(150.0, from.y), &points) < 0.5);
        assert!(distance_to_polyline(pos2(150.0, from.y + 10.0), &points) > 9.0);
    }

    #[test]
    fn a_pool_outline_grows_with_its_members_up_to_a_limit() {
        let p = Pos { x: 0.0, y: 0.0 };
        assert_eq!(node_outline(p, 1), node_rect(p));
        assert!(node_outline(p, 3).width() > node_rect(p).width());
        assert_eq!(node_outline(p, 50), node_outline(p, POOL_BOXES_MAX));
    }
    /// Window sizes in points at UI zoom 1 and 1.5 on a 1280x800 screen, less the menu bar,
    /// status line, palette, inspector and run panel around the canvas.
    const CANVAS_VIEWS: [(f32, Vec2); 2] = [(1.0, vec2(760.0, 380.0)), (1.5, vec2(470.0, 250.0))];

    fn shipped_layouts() -> Vec<(&'static str, crate::layout::Layout)> {
        crate::shipped::names()
            .filter_map(|name| {
                let text = crate::shipped::find(name)?;
                Some((name, crate::layout::from_ron(text).ok()?))
            })
            .collect()
    }

    /// Per node, its name and rectangles; per wire label, its name and rectangle.
    type Parts = (Vec<(String, Vec<Rect>)>, Vec<(String, Rect)>);

    /// Everything drawn on the canvas for a layout, on screen under `t`: per node its parts
    /// (with the problem badge and output port), and each wire's label.
    fn screen_parts(l: &crate::layout::Layout, t: Transform) -> Parts {
        let o = Pos2::ZERO;
        let z = t.zoom;
        let nodes = l
            .nodes
            .iter()
            .map(|n| {
                let p = node_parts(n.pos, n.kind.count());
                let card = t.screen_rect_from_canvas(o, p.card);
                let badge = Rect::from_center_size(
                    card.right_top() + vec2(-2.0, 2.0),
                    Vec2::splat(16.0 * z.max(0.7)),
                );
                let port = Rect::from_center_size(
                    card.right_center(),
                    Vec2::splat(2.0 * PORT_RADIUS_CANVAS * z.max(0.7)),
                );
                let mut rects: Vec<Rect> = p
                    .all()
                    .iter()
                    .map(|r| t.screen_rect_from_canvas(o, *r))
                    .collect();
                rects.push(badge);
                rects.push(port);
                (n.name.clone(), rects)
            })
            .collect();
        let labels = if z > SMALL_TEXT_ZOOM_MIN {
            l.wires
                .iter()
                .filter_map(|w| {
                    let text = wire_label(w.latency_ms)?;
                    let a = node_rect(l.node(w.from)?.pos).right_center();
                    let b = node_rect(l.node(w.to)?.pos).left_center();
                    let from = t.screen_from_canvas(o, a);
                    let to = t.screen_from_canvas(o, b);
                    let name = format!("wire {} -> {}", l.node(w.from)?.name, l.node(w.to)?.name);
                    Some((name, wire_label_rect(from, to, &text, z)))
                })
                .collect()
        } else {
            Vec::new()
        };
        (nodes, labels)
    }

    #[test]
    fn shipped_layouts_do_not_overlap_and_fit_their_view() {
        let mut clashes = Vec::new();
        let layouts = shipped_layouts();
        assert_eq!(
            layouts.len(),
            crate::shipped::names().count(),
            "every layout parses"
        );
        for (name, l) in layouts {
            for (ui_zoom, view) in CANVAS_VIEWS {
                let t = fit_layout(&l, view);
                let (nodes, labels) = screen_parts(&l, t);
                let at = format!("{name} at UI zoom {ui_zoom} (canvas zoom {:.2})", t.zoom);
                let view_rect = Rect::from_min_size(Pos2::ZERO, view);
                for (i, (a, ra)) in nodes.iter().enumerate() {
                    for r in ra.iter().take(3) {
                        if !view_rect.contains_rect(*r) {
                            clashes.push(format!("{at}: {a} is cut off: {r:?}"));
                        }
                    }
                    for (b, rb) in &nodes[i + 1..] {
                        if ra.iter().any(|x| rb.iter().any(|y| x.intersects(*y))) {
                            clashes.push(format!("{at}: {a} and {b} overlap"));
                        }
                    }
                    for (w, rw) in &labels {
                        if ra.iter().any(|x| x.intersects(*rw)) {
                            clashes.push(format!("{at}: {w}'s label and {a} overlap"));
                        }
                    }
                }
                for (i, (a, ra)) in labels.iter().enumerate() {
                    for (b, rb) in &labels[i + 1..] {
                        if ra.intersects(*rb) {
                            clashes.push(format!("{at}: the labels of {a} and {b} overlap"));
                        }
                    }
                }
            }
        }
        assert!(clashes.is_empty(), "{}", clashes.join("\n"));
    }

    #[test]
    fn member_badges_are_numbered_from_zero_fit_the_card_and_do_not_touch() {
        let card = node_rect(Pos { x: 10.0, y: 20.0 });
        for count in [2, 3, 8, 9, 12, 16, 17, 99, 100, 101, 1000, 12345] {
            for zoom in [1.0, 1.5] {
                let card = Rect::from_min_size(card.min, card.size() * zoom);
                let badges = member_badges(card, count, zoom);
                assert_eq!(badges[0].member, Some(0), "{count}");
                assert_eq!(
                    badges.last().and_then(|b| b.member),
                    Some(count - 1),
                    "{count}"
                );
                assert_eq!(
                    badges.last().map(|b| b.label.clone()),
                    Some((count - 1).to_string())
                );
                for (i, b) in badges.iter().enumerate() {
                    assert!(
                        card.contains_rect(b.rect),
                        "{count}: {b:?} outside {card:?}"
                    );
                    // The number fits: monospace digits are 0.6 em wide.
                    let text_w = b.label.chars().count() as f32 * MEMBER_FONT_CANVAS * zoom * 0.6;
                    assert!(text_w < b.rect.width(), "{count}: {b:?}");
                    for c in &badges[i + 1..] {
                        assert!(!b.rect.intersects(c.rect), "{count}: {b:?} {c:?}");
                    }
                }
                if count <= 8 {
                    let numbers: Vec<Option<u32>> = badges.iter().map(|b| b.member).collect();
                    let expected: Vec<Option<u32>> = (0..count).map(Some).collect();
                    assert_eq!(numbers, expected);
                }
            }
        }
    }
}
