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
}
