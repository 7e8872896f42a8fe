//! The canvas: nodes and wires drawn on a pannable, zoomable grid. Select, move, box-select,
//! wire, and drop new nodes from the palette. It changes nothing itself: it returns `Edit`s.

use std::collections::{BTreeMap, BTreeSet};

use eframe::egui::{
    self, Align2, Color32, CursorIcon, FontId, Id, PointerButton, Pos2, Rect, Response, Sense,
    Shape, Stroke, StrokeKind, Ui, Vec2, WidgetInfo, pos2, vec2,
};

use super::edit::{Edit, fresh_name};
use super::geometry::{self as geo, Transform};
use super::live::{LiveView, NodeLive};
use super::theme;
use crate::layout::check::{may_call, wire_refusal};
use crate::layout::{Command, KindTag, Layout, Node, NodeId, Problem, Severity, Target, Wire};

/// What is selected on the canvas.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    pub nodes: BTreeSet<NodeId>,
    pub wire: Option<(NodeId, NodeId)>,
}

impl Selection {
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.wire = None;
    }

    pub fn only(&mut self, id: NodeId) {
        self.clear();
        self.nodes.insert(id);
    }

    /// The one selected node, if exactly one is.
    pub fn single(&self) -> Option<NodeId> {
        if self.nodes.len() == 1 {
            self.nodes.iter().next().copied()
        } else {
            None
        }
    }

    /// Forget nodes and wires that are no longer in the layout (after undo, delete, load).
    pub fn retain_existing(&mut self, layout: &Layout) {
        self.nodes.retain(|id| layout.node(*id).is_some());
        if let Some((a, b)) = self.wire
            && !layout.wires.iter().any(|w| w.from == a && w.to == b)
        {
            self.wire = None;
        }
    }
}

/// A drag in progress.
#[derive(Clone, Debug, PartialEq)]
enum Drag {
    Move {
        ids: Vec<NodeId>,
        offset_canvas: Vec2,
    },
    Wire {
        from: NodeId,
    },
    Box {
        start_screen: Pos2,
    },
}

/// View state of the canvas: kept between frames, never saved with the layout.
pub struct CanvasState {
    pub transform: Transform,
    drag: Option<Drag>,
    /// A kind being dragged from the palette.
    pub palette_drag: Option<KindTag>,
    /// Zoom to fit on the next frame.
    pub fit_requested: bool,
    /// Where the canvas was drawn last frame, on screen.
    pub rect_screen: Rect,
}

impl Default for CanvasState {
    fn default() -> Self {
        CanvasState {
            transform: Transform::default(),
            drag: None,
            palette_drag: None,
            fit_requested: true,
            rect_screen: Rect::NOTHING,
        }
    }
}

/// Display options from the View menu.
#[derive(Clone, Copy, Debug)]
pub struct CanvasOptions {
    pub snap: bool,
    pub grid: bool,
}

/// What the canvas shows of a run. Faults from a node's menu come back with the other edits,
/// as run-only commands.
pub struct RunOverlay<'a> {
    pub view: Option<&'a LiveView>,
}

/// Draw the canvas and return the edits the user asked for.
#[allow(clippy::too_many_arguments)]
pub fn canvas_ui(
    ui: &mut Ui,
    state: &mut CanvasState,
    selection: &mut Selection,
    layout: &Layout,
    problems: &[Problem],
    options: CanvasOptions,
    run: RunOverlay<'_>,
) -> Vec<Edit> {
    let RunOverlay { view: live } = run;
    let mut edits = Vec::new();
    let (rect, bg) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    state.rect_screen = rect;
    let origin = rect.min;
    if state.fit_requested {
        state.fit_requested = false;
        state.transform = fit_transform(layout, rect.size());
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, theme::CANVAS_BG);
    // A drag whose widget vanished (its node was deleted or undone) ends with the button.
    if ui.input(|i| !i.pointer.any_down() && !i.pointer.any_released()) {
        state.drag = None;
    }

    // Zoom around the pointer (scroll wheel or pinch).
    if ui.rect_contains_pointer(rect) {
        let (scroll, pinch, pointer) = ui.input(|i| {
            (
                i.smooth_scroll_delta.y,
                i.zoom_delta(),
                i.pointer.hover_pos(),
            )
        });
        let factor = (scroll / 300.0).exp() * pinch;
        if let Some(p) = pointer
            && (factor - 1.0).abs() > 1e-4
        {
            state.transform.zoom_around(origin, p, factor);
        }
    }

    // The empty canvas: pan with primary or middle drag, box-select with shift + drag.
    let shift = ui.input(|i| i.modifiers.shift);
    if bg.drag_started_by(PointerButton::Primary) && shift {
        if let Some(p) = bg.interact_pointer_pos() {
            state.drag = Some(Drag::Box { start_screen: p });
        }
    } else if bg.dragged_by(PointerButton::Middle)
        || (bg.dragged_by(PointerButton::Primary) && !matches!(state.drag, Some(Drag::Box { .. })))
    {
        state.transform.pan_screen += bg.drag_delta();
        ui.ctx().set_cursor_icon(CursorIcon::Grabbing);
    }

    let t = state.transform;
    if options.grid {
        draw_grid(&painter, rect, t);
    }

    // Where each node is drawn this frame (moving nodes follow the pointer).
    let offset_of = |id: NodeId| match &state.drag {
        Some(Drag::Move { ids, offset_canvas }) if ids.contains(&id) => *offset_canvas,
        _ => Vec2::ZERO,
    };
    let rects_canvas: Vec<(NodeId, Rect)> = layout
        .nodes
        .iter()
        .map(|n| (n.id, geo::node_rect(n.pos).translate(offset_of(n.id))))
        .collect();
    let rect_of = |id: NodeId| rects_canvas.iter().find(|(i, _)| *i == id).map(|(_, r)| *r);

    // Wires under the nodes.
    let mut wire_hit = None;
    let pointer_screen = ui.input(|i| i.pointer.hover_pos());
    let mut curves: BTreeMap<(NodeId, NodeId), Vec<Pos2>> = BTreeMap::new();
    for w in &layout.wires {
        let (Some(a), Some(b)) = (rect_of(w.from), rect_of(w.to)) else {
            continue;
        };
        let from = t.screen_from_canvas(origin, a.right_center());
        let to = t.screen_from_canvas(origin, b.left_center());
        let points = geo::sample_curve(&geo::wire_curve(from, to), 24);
        let selected = selection.wire == Some((w.from, w.to));
        let colour = if selected {
            theme::WIRE_SELECTED
        } else {
            theme::WIRE
        };
        let width = if selected { 3.0 } else { 1.6 } * t.zoom.max(0.6);
        draw_arrow(&painter, &points, Stroke::new(width, colour), t.zoom);
        if let Some(p) = pointer_screen
            && geo::distance_to_polyline(p, &points) < 6.0
        {
            wire_hit = Some((w.from, w.to));
        }
        if w.latency_ms > 0.0 && t.zoom > 0.6 {
            let mid = points[points.len() / 2];
            painter.text(
                mid - vec2(0.0, 4.0),
                Align2::CENTER_BOTTOM,
                format!("{} ms", crate::layout::params::fmt_num(w.latency_ms)),
                FontId::proportional(11.0 * t.zoom),
                theme::WIRE,
            );
        }
        if live.is_some() {
            curves.insert((w.from, w.to), points);
        }
    }
    if let Some(view) = live {
        let radius = 4.0 * t.zoom.clamp(0.6, 1.5);
        let rim = Stroke::new(1.0, Color32::WHITE);
        for d in &view.dots {
            if let Some(points) = curves.get(&(d.from, d.to)) {
                let p = point_along(points, d.along);
                painter.circle(p, radius, theme::dot(d.class), rim);
            }
        }
    }
    if bg.clicked() {
        selection.clear();
        selection.wire = wire_hit;
    }

    // Nodes, each an accessible widget labelled with its name.
    for node in &layout.nodes {
        let Some(r_canvas) = rect_of(node.id) else {
            continue;
        };
        let r = t.screen_rect_from_canvas(origin, r_canvas);
        let node_problems: Vec<&Problem> = problems
            .iter()
            .filter(|p| p.node == Some(node.id))
            .collect();
        draw_node(
            &painter,
            node,
            r,
            t.zoom,
            selection.nodes.contains(&node.id),
            &node_problems,
        );
        let node_live = live.and_then(|v| v.nodes.get(&node.id));
        if let Some(nl) = node_live {
            draw_live(&painter, r, t.zoom, nl);
        }
        let id = Id::unique(("canvas node", node.id));
        let resp = ui.interact(r, id, Sense::click_and_drag());
        let name = node.name.clone();
        resp.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, &name));
        node_interaction(
            ui, &resp, node, state, selection, layout, options, &mut edits,
        );
        resp.context_menu(|ui| fault_menu_ui(ui, node, node_live, &mut edits));
        if !node_problems.is_empty() || node_live.is_some() {
            resp.on_hover_ui(|ui| {
                if let Some(nl) = node_live {
                    live_numbers_ui(ui, nl);
                }
                for p in &node_problems {
                    let colour = match p.severity {
                        Severity::Error => theme::ERROR,
                        Severity::Warning => theme::WARNING,
                    };
                    ui.colored_label(colour, &p.message);
                }
            });
        }

        // The output port: drag from it to another node to wire them. Kinds that may call
        // nothing (a database) have none.
        let tag = node.kind.tag();
        if !KindTag::ALL.iter().any(|to| may_call(tag, *to)) {
            continue;
        }
        let port = t.screen_from_canvas(origin, r_canvas.right_center());
        let radius = geo::PORT_RADIUS_CANVAS * t.zoom.max(0.7);
        let port_rect = Rect::from_center_size(port, Vec2::splat(radius * 2.6));
        let port_resp = ui.interact(port_rect, id.with("output"), Sense::drag());
        let port_label = format!("output of {}", node.name);
        port_resp.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, &port_label));
        let port_hot = port_resp.hovered() || port_resp.dragged();
        painter.circle(
            port,
            if port_hot { radius * 1.3 } else { radius },
            if port_hot {
                theme::SELECTED
            } else {
                Color32::WHITE
            },
            Stroke::new(1.5, theme::outline(node.kind.tag())),
        );
        if port_resp.hovered() {
            ui.ctx().set_cursor_icon(CursorIcon::Crosshair);
        }
        if port_resp.drag_started() {
            state.drag = Some(Drag::Wire { from: node.id });
        }
    }

    // A wire being drawn: follow the pointer and say whether the target would accept it.
    if let Some(Drag::Wire { from }) = state.drag.clone() {
        let latest = ui.input(|i| i.pointer.latest_pos());
        let released = ui.input(|i| i.pointer.any_released());
        if let (Some(from_node), Some(p)) = (layout.node(from), latest) {
            let start = t.screen_from_canvas(origin, geo::output_port(from_node.pos));
            let target = geo::node_at(&rects_canvas, t.canvas_from_screen(origin, p))
                .filter(|id| *id != from)
                .and_then(|id| layout.node(id));
            let refusal = target.and_then(|to| wire_refusal(from_node.kind.tag(), to.kind.tag()));
            let colour = match (&target, &refusal) {
                (Some(_), Some(_)) => theme::REFUSED,
                (Some(_), None) => Color32::from_rgb(30, 150, 60),
                _ => theme::WIRE_SELECTED,
            };
            let points = geo::sample_curve(&geo::wire_curve(start, p), 24);
            painter.add(Shape::line(points, Stroke::new(2.0, colour)));
            if let Some(why) = &refusal {
                painter.text(
                    p + vec2(12.0, 12.0),
                    Align2::LEFT_TOP,
                    why,
                    FontId::proportional(13.0),
                    theme::REFUSED,
                );
            }
            if released {
                if let Some(to) = target {
                    edits.push(Edit::Command(Command::AddWire(Wire::new(from, to.id, 0.0))));
                }
                state.drag = None;
            }
        } else {
            state.drag = None;
        }
    }

    // Box selection.
    if let Some(Drag::Box { start_screen }) = state.drag.clone() {
        let now = ui.input(|i| i.pointer.latest_pos()).unwrap_or(start_screen);
        let area = Rect::from_two_pos(start_screen, now);
        painter.rect(
            area,
            0.0,
            theme::SELECTED.gamma_multiply(0.08),
            Stroke::new(1.0, theme::SELECTED),
            StrokeKind::Inside,
        );
        if bg.drag_stopped() || ui.input(|i| i.pointer.any_released()) {
            let a = t.canvas_from_screen(origin, start_screen);
            let b = t.canvas_from_screen(origin, now);
            selection.clear();
            selection
                .nodes
                .extend(geo::nodes_in_box(&rects_canvas, a, b));
            state.drag = None;
        }
    }

    // A kind dragged from the palette: show where it will land, create it on release.
    if let Some(tag) = state.palette_drag {
        let (latest, released, down) = ui.input(|i| {
            (
                i.pointer.latest_pos(),
                i.pointer.any_released(),
                i.pointer.any_down(),
            )
        });
        if let Some(p) = latest {
            let at_canvas = t.canvas_from_screen(origin, p) - geo::NODE_SIZE_CANVAS / 2.0;
            let at_canvas = if options.snap {
                geo::snap(at_canvas, geo::GRID_CANVAS)
            } else {
                at_canvas
            };
            if rect.contains(p) {
                let ghost = t.screen_rect_from_canvas(
                    origin,
                    Rect::from_min_size(at_canvas, geo::NODE_SIZE_CANVAS),
                );
                painter.rect(
                    ghost,
                    theme::rounding(tag, t.zoom),
                    theme::fill(tag).gamma_multiply(0.6),
                    Stroke::new(1.0, theme::outline(tag)),
                    StrokeKind::Inside,
                );
                if released {
                    edits.push(new_node_edit(layout, tag, geo::to_pos(at_canvas)));
                }
            }
        }
        if released || !down {
            state.palette_drag = None;
        }
    }

    edits
}

/// The edit that adds a node of kind `tag` at `pos` with a fresh id and name.
pub fn new_node_edit(layout: &Layout, tag: KindTag, pos: crate::layout::Pos) -> Edit {
    let mut probe = layout.clone();
    let id = probe.allocate_id();
    Edit::Command(Command::AddNode(Node {
        id,
        name: fresh_name(layout, tag.label()),
        pos,
        kind: tag.default_kind(),
    }))
}

#[allow(clippy::too_many_arguments)]
fn node_interaction(
    ui: &Ui,
    resp: &Response,
    node: &Node,
    state: &mut CanvasState,
    selection: &mut Selection,
    layout: &Layout,
    options: CanvasOptions,
    edits: &mut Vec<Edit>,
) {
    let toggle = ui.input(|i| i.modifiers.shift || i.modifiers.command);
    if resp.clicked() {
        if toggle {
            selection.wire = None;
            if !selection.nodes.remove(&node.id) {
                selection.nodes.insert(node.id);
            }
        } else {
            selection.only(node.id);
        }
    }
    if resp.drag_started_by(PointerButton::Primary) {
        if !selection.nodes.contains(&node.id) {
            selection.only(node.id);
        }
        state.drag = Some(Drag::Move {
            ids: selection.nodes.iter().copied().collect(),
            offset_canvas: Vec2::ZERO,
        });
    }
    if resp.dragged_by(PointerButton::Primary)
        && let Some(Drag::Move { offset_canvas, .. }) = &mut state.drag
    {
        *offset_canvas += resp.drag_delta() / state.transform.zoom;
    }
    if resp.drag_stopped()
        && let Some(Drag::Move { ids, offset_canvas }) = state.drag.take()
    {
        // Snap the dragged node and move the rest of the selection by the same amount.
        let old = geo::to_pos2(node.pos);
        let mut target = old + offset_canvas;
        if options.snap {
            target = geo::snap(target, geo::GRID_CANVAS);
        }
        let delta = target - old;
        if delta != Vec2::ZERO {
            let moves = ids
                .iter()
                .filter_map(|id| layout.node(*id))
                .map(|n| (n.id, geo::to_pos(geo::to_pos2(n.pos) + delta)))
                .collect();
            edits.push(Edit::Move(moves));
        }
    }
}

fn fit_transform(layout: &Layout, view: Vec2) -> Transform {
    let bounds = layout
        .nodes
        .iter()
        .map(|n| geo::node_outline(n.pos, n.kind.count()))
        .reduce(|a, b| a.union(b));
    match bounds {
        Some(b) => geo::fit(b.expand(16.0), view, 24.0),
        None => Transform::default(),
    }
}

fn draw_grid(painter: &egui::Painter, rect: Rect, t: Transform) {
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

fn draw_arrow(painter: &egui::Painter, points: &[Pos2], stroke: Stroke, zoom: f32) {
    painter.add(Shape::line(points.to_vec(), stroke));
    let n = points.len();
    if n < 2 {
        return;
    }
    let tip = points[n - 1];
    let dir = (tip - points[n - 2]).normalized();
    let size = 9.0 * zoom.max(0.6);
    let side = dir.rot90() * size * 0.5;
    let base = tip - dir * size;
    painter.add(Shape::convex_polygon(
        vec![tip, base + side, base - side],
        stroke.color,
        Stroke::NONE,
    ));
}

fn draw_node(
    painter: &egui::Painter,
    node: &Node,
    r: Rect,
    zoom: f32,
    selected: bool,
    problems: &[&Problem],
) {
    let tag = node.kind.tag();
    let count = node.kind.count();
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
    let text_size = 14.0 * zoom;
    let icon_rect = Rect::from_center_size(
        r.left_top() + vec2(16.0, 17.0) * zoom,
        Vec2::splat(16.0 * zoom),
    );
    theme::icon(painter, tag, icon_rect);
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
    if count > 1 {
        // The members, numbered, as a row of small cells.
        let shown = count.min(8);
        let cell = vec2(13.0, 13.0) * zoom;
        for i in 0..shown {
            let label = if i == 7 && count > 8 {
                format!("{count}")
            } else {
                format!("{}", i + 1)
            };
            let c = Rect::from_min_size(
                r.left_bottom() + vec2(8.0 + i as f32 * 15.0, -20.0) * zoom,
                cell + if label.len() > 1 {
                    vec2(6.0 * zoom, 0.0)
                } else {
                    Vec2::ZERO
                },
            );
            painter.rect(c, 2.0, Color32::WHITE, stroke, StrokeKind::Inside);
            painter.text(
                c.center(),
                Align2::CENTER_CENTER,
                label,
                FontId::monospace(9.0 * zoom),
                theme::TEXT,
            );
        }
    } else {
        painter.text(
            r.left_bottom() + vec2(10.0, -13.0) * zoom,
            Align2::LEFT_CENTER,
            tag.label(),
            FontId::proportional(11.0 * zoom),
            theme::outline(tag),
        );
    }
    // Problems from the core's validation, as a badge on the node.
    if let Some(worst) = problems.iter().map(|p| p.severity).max() {
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
}

/// The point `along` (0 to 1) a sampled wire.
fn point_along(points: &[Pos2], along: f32) -> Pos2 {
    let n = points.len();
    if n == 0 {
        return Pos2::ZERO;
    }
    let x = along.clamp(0.0, 1.0) * (n - 1) as f32;
    let i = (x.floor() as usize).min(n.saturating_sub(2));
    let (a, b) = (points[i], points[(i + 1).min(n - 1)]);
    a + (b - a) * (x - i as f32)
}

/// A node's right-click menu: faults for the run (kill, revive, slow down, flush).
fn fault_menu_ui(ui: &mut Ui, node: &Node, live: Option<&NodeLive>, edits: &mut Vec<Edit>) {
    let whole = Target::node(node.id);
    let count = node.kind.count();
    let mut push = |c: Command| edits.push(Edit::Command(c));
    if ui.button("Kill").clicked() {
        push(Command::Kill(whole));
        ui.close();
    }
    if count > 1 {
        let alive = live.and_then(|l| l.members.iter().position(|m| m.alive));
        if let Some(m) = alive
            && ui.button(format!("Kill member {}", m + 1)).clicked()
        {
            push(Command::Kill(Target::member(node.id, m as u32)));
            ui.close();
        }
    }
    if ui.button("Revive").clicked() {
        push(Command::Revive(whole));
        ui.close();
    }
    if ui.button("Slow down ×5").clicked() {
        push(Command::Slow {
            target: whole,
            factor: 5.0,
        });
        ui.close();
    }
    if ui.button("Normal speed").clicked() {
        push(Command::Slow {
            target: whole,
            factor: 1.0,
        });
        ui.close();
    }
    if node.kind.tag() == KindTag::Cache && ui.button("Flush").clicked() {
        push(Command::Flush(whole));
        ui.close();
    }
    ui.separator();
    ui.weak("Faults change this run, not the layout");
}

/// The hover readout of a running node.
fn live_numbers_ui(ui: &mut Ui, l: &NodeLive) {
    ui.strong(format!("{:.0} % busy", l.utilization * 100.0));
    ui.label(format!(
        "{} requests/s served, {} queued, {} of {} workers busy",
        super::run::fmt_count(f64::from(l.served_per_s)),
        l.queue,
        l.busy_workers,
        l.workers
    ));
    if l.members.len() > 1 {
        let alive = l.members.iter().filter(|m| m.alive).count();
        ui.label(format!("{alive} of {} members alive", l.members.len()));
    }
    if l.marked_down() > 0 {
        ui.colored_label(theme::MARKED_DOWN, "marked down by health checks");
    }
    if let (Some(pick), Some(alg)) = (&l.last_pick, l.algorithm) {
        ui.label(format!("{alg}: last sent to {pick}"));
    }
}

/// A running node's load, queue, rate and health, over its box.
fn draw_live(painter: &egui::Painter, r: Rect, zoom: f32, l: &NodeLive) {
    let z = zoom.max(0.5);
    // Utilization fills the box from the bottom, coloured from idle green to saturated red.
    let fill_h = r.height() * l.utilization.clamp(0.0, 1.0);
    if fill_h > 0.5 {
        let fill = Rect::from_min_max(pos2(r.left(), r.bottom() - fill_h), r.right_bottom());
        painter.rect_filled(
            fill.shrink(1.0),
            2.0,
            theme::load(l.utilization).gamma_multiply(0.55),
        );
    }
    // Members of a pool: a bar per member under the box.
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
        }
    }
    // Numbers under the box: rate and utilization; a balancer's last pick and algorithm.
    let mut lines = vec![format!(
        "{} rps · {:.0} %",
        super::run::fmt_count(f64::from(l.served_per_s)),
        l.utilization * 100.0
    )];
    if let Some(alg) = l.algorithm {
        lines.push(match &l.last_pick {
            Some(p) => format!("{alg}, last to {p}"),
            None => alg.to_string(),
        });
    }
    for (k, text) in lines.iter().enumerate() {
        painter.text(
            r.left_bottom() + vec2(0.0, (10.0 + 13.0 * k as f32) * z),
            Align2::LEFT_TOP,
            text,
            FontId::proportional(11.0 * z),
            theme::TEXT,
        );
    }
    // Queue badge, top left.
    if l.queue > 0 {
        let text = format!("q {}", l.queue);
        let font = FontId::proportional(10.5 * z);
        let c = r.left_top() + vec2(0.0, -2.0 * z);
        let galley = painter.layout_no_wrap(text, font, Color32::WHITE);
        let bg = Rect::from_min_size(c - vec2(4.0, 8.0) * z, galley.size() + vec2(8.0, 2.0) * z);
        painter.rect_filled(bg, 6.0 * z, theme::WARNING);
        painter.galley(bg.min + vec2(4.0, 1.0) * z, galley, Color32::WHITE);
    }
    // Dead: crossed out. Marked down by health checks: an orange dashed frame and a word.
    if l.dead() {
        let stroke = Stroke::new(3.0 * z, theme::DEAD);
        painter.line_segment([r.left_top(), r.right_bottom()], stroke);
        painter.line_segment([r.right_top(), r.left_bottom()], stroke);
    } else if l.marked_down() > 0 {
        let stroke = Stroke::new(2.0 * z, theme::MARKED_DOWN);
        let outer = r.expand(4.0 * z);
        let corners = [
            outer.left_top(),
            outer.right_top(),
            outer.right_bottom(),
            outer.left_bottom(),
            outer.left_top(),
        ];
        painter.extend(Shape::dashed_line(&corners, stroke, 6.0 * z, 4.0 * z));
        painter.text(
            r.right_top() + vec2(0.0, -4.0 * z),
            Align2::RIGHT_BOTTOM,
            if l.members.len() > 1 {
                format!("{} marked down", l.marked_down())
            } else {
                "marked down".to_string()
            },
            FontId::proportional(11.0 * z),
            theme::MARKED_DOWN,
        );
    }
}
