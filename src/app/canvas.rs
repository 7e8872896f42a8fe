//! The canvas: select, move, wire, box-select and drop nodes on a pannable grid; returns `Edit`s.

use std::collections::{BTreeMap, BTreeSet};

use eframe::egui::{
    self, Align2, Color32, CursorIcon, FontId, Id, PointerButton, Pos2, Rect, Response, Sense,
    Shape, Stroke, StrokeKind, Ui, Vec2, WidgetInfo, vec2,
};

use super::edit::{Edit, fresh_name};
use super::geometry::{self as geo, Transform};
use super::live::{DotClass, LiveView, NodeLive};
use super::node_mesh::{BodyLook, NodeMeshes};
use super::wire_mesh::{WireLook, WireMesh};
use super::{paint, theme};
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
    /// The user panned or zoomed since the last fit: a new window size keeps their view.
    pub view_moved: bool,
    /// The window's size last frame, and how many frames the canvas has been drawn.
    window_size: Vec2,
    frames: u32,
    /// The request of a dot the user clicked, for the waterfall to take.
    pub clicked_request: Option<u64>,
    /// Where each dot was drawn last frame, on screen, and its request.
    pub dots_screen: Vec<(Pos2, u64)>,
    /// The wires as tessellated last frame, reused while they do not change.
    wire_mesh: WireMesh,
    /// The nodes' bodies as tessellated last frame, likewise.
    node_meshes: NodeMeshes,
}

/// The first frames, while the panels settle on their sizes, fit the layout again.
const SETTLING_FRAMES: u32 = 3;

#[cfg(test)]
impl CanvasState {
    /// Draw the wires and node bodies anew next frame (tests compare the two ways).
    pub fn forget_meshes(&mut self) {
        self.wire_mesh = WireMesh::default();
        self.node_meshes = NodeMeshes::default();
    }

    /// How many wire and node meshes were built.
    pub fn mesh_builds(&self) -> u64 {
        self.wire_mesh.builds + self.node_meshes.builds
    }
}

impl Default for CanvasState {
    fn default() -> Self {
        CanvasState {
            transform: Transform::default(),
            drag: None,
            palette_drag: None,
            fit_requested: true,
            rect_screen: Rect::NOTHING,
            view_moved: false,
            window_size: Vec2::ZERO,
            frames: 0,
            clicked_request: None,
            dots_screen: Vec::new(),
            wire_mesh: WireMesh::default(),
            node_meshes: NodeMeshes::default(),
        }
    }
}

/// Display options from the View menu.
#[derive(Clone, Copy, Debug)]
pub struct CanvasOptions {
    pub snap: bool,
    pub grid: bool,
    /// The projector theme: a white canvas, black wires, bolder lines.
    pub projector: bool,
}

impl CanvasOptions {
    fn background(&self) -> Color32 {
        if self.projector {
            Color32::WHITE
        } else {
            theme::CANVAS_BG
        }
    }

    fn wire_colour(&self) -> Color32 {
        if self.projector {
            Color32::BLACK
        } else {
            theme::WIRE
        }
    }
}

/// What the canvas shows of a run. Faults from a node's menu come back with the other edits,
/// as run-only commands.
pub struct RunOverlay<'a> {
    pub view: Option<&'a LiveView>,
    /// The request stepper's step: the node and wire to highlight.
    pub walk: Option<super::stepper::Highlight>,
    /// Nodes a search marked (single points of failure, what breaks first), with badges.
    pub marks: &'a [super::breaks::Mark],
}

/// What one frame of the canvas shares between its parts: the inputs and where things are.
struct Frame<'a> {
    layout: &'a Layout,
    problems: &'a [Problem],
    options: CanvasOptions,
    live: Option<&'a LiveView>,
    /// The canvas on screen; its top left corner is the transform's origin.
    rect: Rect,
    painter: egui::Painter,
    t: Transform,
    /// Where each node is drawn this frame (moving nodes follow the pointer).
    rects_canvas: Vec<(NodeId, Rect)>,
}

impl Frame<'_> {
    fn origin(&self) -> Pos2 {
        self.rect.min
    }

    fn rect_of(&self, id: NodeId) -> Option<Rect> {
        self.rects_canvas
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| *r)
    }
}

/// Draw the canvas and return the edits the user asked for: each part (pan and zoom, wires,
/// nodes, a wire being drawn, box select, a palette drop) returns its share, in that order.
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
    let RunOverlay {
        view: live,
        walk,
        marks,
    } = run;
    let (rect, bg) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    // While the panels settle on the first frames, and when the window changes size, the
    // layout is fitted again unless the user has moved the view. (A side panel that widens
    // when a node is selected does not refit: the canvas would jump at each click.)
    let window_size = ui.ctx().content_rect().size();
    let settling =
        state.frames < SETTLING_FRAMES && (rect.size() - state.rect_screen.size()).length() > 1.0;
    let resized = (window_size - state.window_size).length() > 1.0 && state.frames > 0;
    state.frames = state.frames.saturating_add(1);
    state.window_size = window_size;
    state.rect_screen = rect;
    if state.fit_requested || ((settling || resized) && !state.view_moved) {
        state.fit_requested = false;
        state.view_moved = false;
        state.transform = geo::fit_layout(layout, rect.size());
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, options.background());
    // A drag whose widget vanished (its node was deleted or undone) ends with the button.
    if ui.input(|i| !i.pointer.any_down() && !i.pointer.any_released()) {
        state.drag = None;
    }
    pan_zoom_ui(ui, state, rect, &bg);
    if options.grid {
        paint::draw_grid(&painter, rect, state.transform);
    }
    let frame = Frame {
        layout,
        problems,
        options,
        live,
        rect,
        painter,
        t: state.transform,
        rects_canvas: node_rects(layout, state.drag.as_ref()),
    };

    state.dots_screen.clear();
    let (wire_hit, dot_hit) = wires_ui(
        ui,
        &frame,
        selection,
        &mut state.dots_screen,
        &mut state.wire_mesh,
    );
    if bg.clicked() {
        // A click on a dot opens its request's waterfall; elsewhere it selects.
        match dot_hit {
            Some(id) => state.clicked_request = Some(id),
            None => {
                selection.clear();
                selection.wire = wire_hit;
            }
        }
    }
    if layout.nodes.is_empty() {
        empty_hint_ui(ui, rect);
    }
    let mut edits = nodes_ui(ui, &frame, state, selection);
    edits.extend(wire_drag_ui(ui, &frame, state));
    box_select_ui(ui, &frame, state, selection, &bg);
    edits.extend(palette_drop_ui(ui, &frame, state));
    if let Some(h) = walk {
        walk_highlight(&frame, h);
    }
    marks_overlay(&frame, marks);
    edits
}

/// A search's findings on the canvas: a ring around each marked node and its badge above it.
fn marks_overlay(f: &Frame<'_>, marks: &[super::breaks::Mark]) {
    let (t, origin) = (f.t, f.origin());
    let stroke = Stroke::new(3.0 * t.zoom.max(0.6), theme::BREAK);
    for m in marks {
        let Some(r) = f.rect_of(m.node) else {
            continue;
        };
        let r = Rect::from_min_max(
            t.screen_from_canvas(origin, r.min),
            t.screen_from_canvas(origin, r.max),
        )
        .expand(9.0 * t.zoom.max(0.6));
        f.painter
            .rect_stroke(r, 10.0 * t.zoom, stroke, egui::StrokeKind::Outside);
        let galley = f.painter.layout_no_wrap(
            m.badge.clone(),
            egui::FontId::proportional(12.0),
            Color32::WHITE,
        );
        let at = r.center_top() - egui::vec2(galley.size().x / 2.0, galley.size().y + 6.0);
        let bg = Rect::from_min_size(at, galley.size()).expand(3.0);
        f.painter.rect_filled(bg, 4.0, theme::BREAK);
        f.painter.galley(at, galley, Color32::WHITE);
    }
}

/// The request stepper's step on the canvas: the wire the request travels drawn bold, and a
/// ring around the node that acts.
fn walk_highlight(f: &Frame<'_>, h: super::stepper::Highlight) {
    let (t, origin) = (f.t, f.origin());
    let stroke = Stroke::new(4.0 * t.zoom.max(0.6), theme::WALK);
    if let Some((from, to)) = h.wire
        && let (Some(a), Some(b)) = (f.rect_of(from), f.rect_of(to))
    {
        // A reply travels the wire backwards; the wire is drawn the way it was made.
        let (a, b) = if f.layout.wires.iter().any(|w| w.from == from && w.to == to) {
            (a, b)
        } else {
            (b, a)
        };
        let p = t.screen_from_canvas(origin, a.right_center());
        let q = t.screen_from_canvas(origin, b.left_center());
        let points = geo::sample_curve(&geo::wire_curve(p, q), 24);
        paint::draw_arrow(&f.painter, &points, stroke, t.zoom);
    }
    if let Some(node) = h.node
        && let Some(r) = f.rect_of(node)
    {
        let r = Rect::from_min_max(
            t.screen_from_canvas(origin, r.min),
            t.screen_from_canvas(origin, r.max),
        )
        .expand(5.0 * t.zoom.max(0.6));
        f.painter
            .rect_stroke(r, 8.0 * t.zoom, stroke, egui::StrokeKind::Outside);
    }
}

/// Zoom around the pointer (scroll wheel or pinch); on the empty canvas pan with a primary or
/// middle drag, or start a box select with shift + drag.
fn pan_zoom_ui(ui: &Ui, state: &mut CanvasState, rect: Rect, bg: &Response) {
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
            state.transform.zoom_around(rect.min, p, factor);
            state.view_moved = true;
        }
    }
    let shift = ui.input(|i| i.modifiers.shift);
    if bg.drag_started_by(PointerButton::Primary) && shift {
        if let Some(p) = bg.interact_pointer_pos() {
            state.drag = Some(Drag::Box { start_screen: p });
        }
    } else if bg.dragged_by(PointerButton::Middle)
        || (bg.dragged_by(PointerButton::Primary) && !matches!(state.drag, Some(Drag::Box { .. })))
    {
        state.transform.pan_screen += bg.drag_delta();
        state.view_moved = true;
        ui.ctx().set_cursor_icon(CursorIcon::Grabbing);
    }
}

/// Each node's box in canvas space this frame: where it is, plus the offset of a move drag.
fn node_rects(layout: &Layout, drag: Option<&Drag>) -> Vec<(NodeId, Rect)> {
    let offset_of = |id: NodeId| match drag {
        Some(Drag::Move { ids, offset_canvas }) if ids.contains(&id) => *offset_canvas,
        _ => Vec2::ZERO,
    };
    layout
        .nodes
        .iter()
        .map(|n| (n.id, geo::node_rect(n.pos).translate(offset_of(n.id))))
        .collect()
}

/// The wires (under the nodes) with their latency, and a run's dots on them (each dot's place
/// on screen and request into `dots_screen`). Returns the wire under the pointer, which a click
/// on the empty canvas selects, and the request of the dot under it, which a click opens.
fn wires_ui(
    ui: &Ui,
    f: &Frame<'_>,
    selection: &Selection,
    dots_screen: &mut Vec<(Pos2, u64)>,
    wire_mesh: &mut WireMesh,
) -> (Option<(NodeId, NodeId)>, Option<u64>) {
    let (t, origin) = (f.t, f.origin());
    let (mut wire_hit, mut dot_hit) = (None, None);
    let pointer_screen = ui.input(|i| i.pointer.hover_pos());
    let rects: BTreeMap<NodeId, Rect> = f.rects_canvas.iter().copied().collect();
    let mut looks = Vec::with_capacity(f.layout.wires.len());
    let mut labels: Vec<(Rect, String)> = Vec::new();
    for w in &f.layout.wires {
        let (Some(a), Some(b)) = (rects.get(&w.from), rects.get(&w.to)) else {
            continue;
        };
        let from = t.screen_from_canvas(origin, a.right_center());
        let to = t.screen_from_canvas(origin, b.left_center());
        let selected = selection.wire == Some((w.from, w.to));
        let colour = if selected {
            theme::WIRE_SELECTED
        } else {
            f.options.wire_colour()
        };
        let bold = if f.options.projector { 1.6 } else { 1.0 };
        let width = if selected { 3.0 } else { 1.6 * bold } * t.zoom.max(0.6);
        looks.push(WireLook {
            from_to: (w.from, w.to),
            from_screen: from,
            to_screen: to,
            stroke: Stroke::new(width, colour),
        });
        // The zoom first: a label too small to draw is not worth its two formats (587 wires).
        if t.zoom > geo::SMALL_TEXT_ZOOM_MIN
            && let Some(text) = geo::wire_label(w.latency_ms)
        {
            labels.push((geo::wire_label_rect(from, to, &text, t.zoom), text));
        }
    }
    // The wires stay put while a run's dots move: drawn from last frame's mesh unless a node,
    // a wire, the selection or the view changed.
    wire_mesh.paint(&f.painter, looks, t.zoom);
    if let Some(p) = pointer_screen {
        for (ends, points) in wire_mesh.curves() {
            if geo::distance_to_polyline(p, points) < 6.0 {
                wire_hit = Some(ends);
            }
        }
    }
    if let Some(view) = f.live {
        let radius = 4.0 * t.zoom.clamp(0.6, 1.5);
        let rim = Stroke::new(1.0, Color32::WHITE);
        let mut nearest = f32::INFINITY;
        for d in &view.dots {
            if let Some(points) = wire_mesh.curve_between(d.from, d.to) {
                let p = paint::point_along(points, d.along);
                dots_screen.push((p, d.request_id));
                if let Some(at) = pointer_screen
                    && at.distance(p) <= radius + 3.0
                    && at.distance(p) < nearest
                {
                    nearest = at.distance(p);
                    dot_hit = Some(d.request_id);
                }
                if d.class == DotClass::Failed {
                    // A cross as well as a colour: failures read without colour vision.
                    let k = radius * 1.1;
                    let s = Stroke::new(2.5 * t.zoom.clamp(0.6, 1.5), theme::dot(d.class));
                    f.painter.line_segment([p - vec2(k, k), p + vec2(k, k)], s);
                    f.painter
                        .line_segment([p - vec2(k, -k), p + vec2(k, -k)], s);
                } else {
                    f.painter.circle(p, radius, theme::dot(d.class), rim);
                }
            }
        }
    }
    // Labels last, on a plate of the canvas colour: neither their wire nor its dots cross them.
    for (plate, text) in labels {
        f.painter
            .rect_filled(plate, 3.0 * t.zoom, f.options.background());
        f.painter.text(
            plate.center(),
            Align2::CENTER_CENTER,
            text,
            FontId::proportional(geo::SMALL_FONT_CANVAS * t.zoom),
            f.options.wire_colour(),
        );
    }
    (wire_hit, dot_hit)
}

/// The nodes, each an accessible widget labelled with its name: select, move, a fault menu,
/// a hover readout, and an output port to draw a wire from. Returns the moves and
/// the menu's faults (run-only commands).
fn nodes_ui(
    ui: &mut Ui,
    f: &Frame<'_>,
    state: &mut CanvasState,
    selection: &mut Selection,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    state.node_meshes.begin(&f.painter);
    // `rects_canvas` is made from the layout's nodes in order: no search per node.
    for (node, &(id, r_canvas)) in f.layout.nodes.iter().zip(&f.rects_canvas) {
        debug_assert_eq!(node.id, id);
        let r = f.t.screen_rect_from_canvas(f.origin(), r_canvas);
        let node_problems: Vec<&Problem> = f
            .problems
            .iter()
            .filter(|p| p.node == Some(node.id))
            .collect();
        let selected = selection.nodes.contains(&node.id);
        let (tag, count, zoom) = (node.kind.tag(), node.kind.count(), f.t.zoom);
        let look = BodyLook {
            tag,
            count,
            rect_screen: r,
            zoom,
            selected,
        };
        state.node_meshes.paint(&f.painter, node.id, look, |p| {
            paint::draw_node_body(p, tag, count, r, zoom, selected);
        });
        paint::draw_node_text(&f.painter, node, r, zoom, &node_problems);
        let node_live = f.live.and_then(|v| v.nodes.get(&node.id));
        if let Some(nl) = node_live {
            let outline_canvas = geo::node_outline(geo::to_pos(r_canvas.min), node.kind.count());
            let outline = f.t.screen_rect_from_canvas(f.origin(), outline_canvas);
            paint::draw_live(&f.painter, node.kind.tag(), r, outline, f.t.zoom, nl);
        }
        // Under the canvas's own id: two canvases side by side (the A/B split view) each have
        // their node widgets.
        let id = ui.scope_id().with(("canvas node", node.id));
        let resp = ui.interact(r, id, Sense::click_and_drag());
        resp.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, &node.name));
        edits.extend(node_interaction(ui, &resp, node, state, selection, f));
        resp.context_menu(|ui| fault_menu_ui(ui, node, node_live, &mut edits));
        if !node_problems.is_empty() || node_live.is_some() {
            resp.on_hover_ui(|ui| node_hover_ui(ui, node, node_live, &node_problems));
        }
        member_badges_ui(ui, node, r, f.t.zoom, node_live, selection, &mut edits, id);
        port_ui(ui, f, state, node, r_canvas, id);
    }
    state.node_meshes.end();
    edits
}

/// A pool's member badges, each a widget ("app member 2"): a click selects the pool, a right
/// click offers to kill or revive that member in the run.
#[allow(clippy::too_many_arguments)]
fn member_badges_ui(
    ui: &Ui,
    node: &Node,
    card_screen: Rect,
    zoom: f32,
    live: Option<&NodeLive>,
    selection: &mut Selection,
    edits: &mut Vec<Edit>,
    id: Id,
) {
    for b in geo::member_badges(card_screen, node.kind.count(), zoom) {
        let Some(m) = b.member else {
            continue;
        };
        let label = format!("{} member {m}", node.name);
        let resp = ui.interact(b.rect, id.with(("member", m)), Sense::click());
        resp.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, &label));
        if resp.clicked() {
            selection.only(node.id);
        }
        let member_live = live.and_then(|l| l.members.iter().find(|x| x.member == m));
        resp.context_menu(|ui| {
            let target = Target::member(node.id, m);
            if member_live.is_none_or(|x| x.alive) {
                if ui.button(format!("Kill member {m}")).clicked() {
                    edits.push(Edit::Command(Command::Kill(target)));
                    ui.close();
                }
            } else if ui.button(format!("Revive member {m}")).clicked() {
                edits.push(Edit::Command(Command::Revive(target)));
                ui.close();
            }
            ui.separator();
            ui.weak("Faults change this run, not the layout");
        });
        let hover = match member_live {
            Some(x) if !x.alive => format!("{label}: dead. Right-click to revive it"),
            Some(x) => format!(
                "{label}: {} busy. Right-click to kill it",
                theme::percent(x.utilization)
            ),
            None => format!("{label}. Right-click to kill it in a run"),
        };
        resp.on_hover_text(hover);
    }
}

/// What the empty canvas says, in its middle: how to start.
fn empty_hint_ui(ui: &mut Ui, rect: Rect) {
    let size = vec2(rect.width().min(460.0), 90.0);
    let at = Rect::from_center_size(rect.center(), size);
    ui.put(
        at,
        egui::Label::new(
            egui::RichText::new(
                "Empty layout. To start, drag a kind from the palette on the left onto the \
                 canvas (or click it), then drag from a node's right-hand port to another node \
                 to wire them. Or open a shipped layout from the File menu.",
            )
            .size(15.0)
            .color(theme::TEXT),
        )
        .selectable(false)
        .wrap(),
    );
}

/// A node's hover readout: its live numbers when running, and its problems.
fn node_hover_ui(ui: &mut Ui, node: &Node, live: Option<&NodeLive>, problems: &[&Problem]) {
    if let Some(nl) = live {
        live_numbers_ui(ui, node.kind.tag(), nl);
    }
    for p in problems {
        let colour = match p.severity {
            Severity::Error => theme::ERROR,
            Severity::Warning => theme::WARNING,
        };
        ui.colored_label(colour, &p.message);
    }
}

/// The output port: drag from it to another node to wire them. Kinds that may call nothing
/// (a database) have none.
fn port_ui(ui: &Ui, f: &Frame<'_>, state: &mut CanvasState, node: &Node, r_canvas: Rect, id: Id) {
    let tag = node.kind.tag();
    if !KindTag::ALL.iter().any(|to| may_call(tag, *to)) {
        return;
    }
    let port = f.t.screen_from_canvas(f.origin(), r_canvas.right_center());
    let radius = geo::PORT_RADIUS_CANVAS * f.t.zoom.max(0.7);
    let port_rect = Rect::from_center_size(port, Vec2::splat(radius * 2.6));
    let port_resp = ui.interact(port_rect, id.with("output"), Sense::drag());
    // Its label only when asked for (accessibility, tests): 200 formats a frame otherwise.
    port_resp.widget_info(|| {
        WidgetInfo::labeled(egui::Role::Button, true, format!("output of {}", node.name))
    });
    let port_hot = port_resp.hovered() || port_resp.dragged();
    f.painter.circle(
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

/// A wire being drawn: follow the pointer and say whether the target would accept it. On
/// release over a node, the wire to add.
fn wire_drag_ui(ui: &Ui, f: &Frame<'_>, state: &mut CanvasState) -> Option<Edit> {
    let Some(Drag::Wire { from }) = state.drag.clone() else {
        return None;
    };
    let (t, origin) = (f.t, f.origin());
    let latest = ui.input(|i| i.pointer.latest_pos());
    let released = ui.input(|i| i.pointer.any_released());
    let (Some(from_node), Some(p)) = (f.layout.node(from), latest) else {
        state.drag = None;
        return None;
    };
    let start = t.screen_from_canvas(origin, geo::output_port(from_node.pos));
    let target = geo::node_at(&f.rects_canvas, t.canvas_from_screen(origin, p))
        .filter(|id| *id != from)
        .and_then(|id| f.layout.node(id));
    let refusal = target.and_then(|to| wire_refusal(from_node.kind.tag(), to.kind.tag()));
    let colour = match (&target, &refusal) {
        (Some(_), Some(_)) => theme::REFUSED,
        (Some(_), None) => Color32::from_rgb(30, 150, 60),
        _ => theme::WIRE_SELECTED,
    };
    let points = geo::sample_curve(&geo::wire_curve(start, p), 24);
    f.painter.add(Shape::line(points, Stroke::new(2.0, colour)));
    if let Some(why) = &refusal {
        f.painter.text(
            p + vec2(12.0, 12.0),
            Align2::LEFT_TOP,
            why,
            FontId::proportional(13.0),
            theme::REFUSED,
        );
    }
    if !released {
        return None;
    }
    state.drag = None;
    target.map(|to| Edit::Command(Command::AddWire(Wire::new(from, to.id, 0.0))))
}

/// Box selection: draw the box; on release, select the nodes inside it.
fn box_select_ui(
    ui: &Ui,
    f: &Frame<'_>,
    state: &mut CanvasState,
    selection: &mut Selection,
    bg: &Response,
) {
    let Some(Drag::Box { start_screen }) = state.drag.clone() else {
        return;
    };
    let now = ui.input(|i| i.pointer.latest_pos()).unwrap_or(start_screen);
    let area = Rect::from_two_pos(start_screen, now);
    f.painter.rect(
        area,
        0.0,
        theme::SELECTED.gamma_multiply(0.08),
        Stroke::new(1.0, theme::SELECTED),
        StrokeKind::Inside,
    );
    if bg.drag_stopped() || ui.input(|i| i.pointer.any_released()) {
        let a = f.t.canvas_from_screen(f.origin(), start_screen);
        let b = f.t.canvas_from_screen(f.origin(), now);
        selection.clear();
        selection
            .nodes
            .extend(geo::nodes_in_box(&f.rects_canvas, a, b));
        state.drag = None;
    }
}

/// A kind dragged from the palette: show where it will land; on release over the canvas, the
/// node to add.
fn palette_drop_ui(ui: &Ui, f: &Frame<'_>, state: &mut CanvasState) -> Option<Edit> {
    let tag = state.palette_drag?;
    let (t, origin) = (f.t, f.origin());
    let (latest, released, down) = ui.input(|i| {
        (
            i.pointer.latest_pos(),
            i.pointer.any_released(),
            i.pointer.any_down(),
        )
    });
    let mut edit = None;
    if let Some(p) = latest {
        let at_canvas = t.canvas_from_screen(origin, p) - geo::NODE_SIZE_CANVAS / 2.0;
        let at_canvas = if f.options.snap {
            geo::snap(at_canvas, geo::GRID_CANVAS)
        } else {
            at_canvas
        };
        if f.rect.contains(p) {
            let ghost = t.screen_rect_from_canvas(
                origin,
                Rect::from_min_size(at_canvas, geo::NODE_SIZE_CANVAS),
            );
            f.painter.rect(
                ghost,
                theme::rounding(tag, t.zoom),
                theme::fill(tag).gamma_multiply(0.6),
                Stroke::new(1.0, theme::outline(tag)),
                StrokeKind::Inside,
            );
            if released {
                edit = Some(new_node_edit(f.layout, tag, geo::to_pos(at_canvas)));
            }
        }
    }
    if released || !down {
        state.palette_drag = None;
    }
    edit
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

/// Click to select (shift or ctrl to toggle), drag to move the selection; on release, the move.
fn node_interaction(
    ui: &Ui,
    resp: &Response,
    node: &Node,
    state: &mut CanvasState,
    selection: &mut Selection,
    f: &Frame<'_>,
) -> Option<Edit> {
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
        if f.options.snap {
            target = geo::snap(target, geo::GRID_CANVAS);
        }
        let delta = target - old;
        if delta != Vec2::ZERO {
            let moves = ids
                .iter()
                .filter_map(|id| f.layout.node(*id))
                .map(|n| (n.id, geo::to_pos(geo::to_pos2(n.pos) + delta)))
                .collect();
            return Some(Edit::Move(moves));
        }
    }
    None
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
        let alive = live.and_then(|l| l.members.iter().find(|m| m.alive).map(|m| m.member));
        if let Some(m) = alive
            && ui.button(format!("Kill member {m}")).clicked()
        {
            push(Command::Kill(Target::member(node.id, m)));
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
    // The request stepper: one read of key 7 (or the highest key), walked step by step.
    if let crate::layout::NodeKind::Client(c) = &node.kind
        && ui.button("Send request").clicked()
    {
        push(Command::SendRequest {
            client: node.id,
            read: true,
            key: 7.min(c.keys.max(1)),
            user: 0,
            path: None,
        });
        ui.close();
    }
    ui.separator();
    ui.weak("Faults change this run, not the layout");
}

/// The hover readout of a running node.
fn live_numbers_ui(ui: &mut Ui, tag: KindTag, l: &NodeLive) {
    let rate = super::run::fmt_count(f64::from(l.served_per_s));
    if tag == KindTag::Client {
        // A client has no workers: it sends requests and waits for their answers.
        let sent = super::run::fmt_count(f64::from(l.calls_per_s));
        ui.strong(format!("{sent} requests/s sent"));
        ui.label(format!("{rate} requests/s answered"));
        if l.failed_per_s > 0.0 {
            ui.colored_label(
                theme::ERROR,
                format!(
                    "{} requests/s failed",
                    super::run::fmt_count(f64::from(l.failed_per_s))
                ),
            );
        }
        if l.queue > 0 {
            ui.label(format!("{} waiting to be sent", l.queue));
        }
        return;
    }
    ui.strong(format!("{} busy", theme::percent(l.utilization)));
    ui.label(format!(
        "{rate} requests/s served, {} queued, {} of {} workers busy",
        l.queue, l.busy_workers, l.workers
    ));
    if l.members.len() > 1 {
        let alive = l.members.iter().filter(|m| m.alive).count();
        ui.label(format!("{alive} of {} members alive", l.members.len()));
    }
    if let Some(resource) = l.saturated {
        let what = match resource {
            "cpu" => "every core busy",
            "workers" => "every worker held",
            _ => "its queue growing or full",
        };
        let text = if l.members.len() > 1 {
            format!(
                "{} of {} members saturated on {resource} ({what}, last second)",
                l.saturated_members,
                l.members.len()
            )
        } else {
            format!("Saturated on {resource} ({what}, last second)")
        };
        ui.colored_label(theme::ERROR, text);
    }
    if l.marked_down() > 0 {
        ui.colored_label(theme::MARKED_DOWN, "marked down by health checks");
    }
    if let (Some(pick), Some(alg)) = (&l.last_pick, l.algorithm) {
        ui.label(format!("{alg}: last sent to {pick}"));
    }
}
