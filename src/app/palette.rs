//! The palette: one entry per node kind, dragged onto the canvas or clicked to add a node.

use eframe::egui::{self, Sense, Ui, vec2};

use super::{TierlabApp, canvas, geometry, theme};
use crate::layout::KindTag;

impl TierlabApp {
    pub(super) fn palette_ui(&mut self, ui: &mut Ui) {
        ui.add_space(6.0);
        ui.heading("Add node");
        ui.weak("Drag onto the canvas");
        ui.add_space(6.0);
        // Entries shrink (down to a readable minimum) so every kind fits the panel rather than
        // the last one being cut off at its edge; below that minimum the panel scrolls.
        // Each entry takes its height, the gap after it and the ui's own item spacing.
        let gap = 4.0;
        let kinds = KindTag::ALL.len() as f32;
        let step_extra = gap + ui.spacing().item_spacing.y;
        let entry_h =
            ((ui.available_height() - 2.0) / kinds - step_extra).clamp(ENTRY_H_MIN, ENTRY_H);
        for tag in KindTag::ALL {
            let (rect, resp) = ui
                .allocate_exact_size(vec2(ui.available_width(), entry_h), Sense::click_and_drag());
            let label = palette_label(tag);
            resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            let highlight = resp.hovered() || resp.dragged();
            paint_entry(ui, rect, tag, &label, highlight);
            if resp.drag_started() {
                self.canvas.palette_drag = Some(tag);
            }
            if resp.clicked() {
                // A click adds the node in the middle of the view.
                let view = self.canvas.rect_screen;
                let centre = self
                    .canvas
                    .transform
                    .canvas_from_screen(view.min, view.center())
                    - geometry::NODE_SIZE_CANVAS / 2.0;
                let at = geometry::snap(centre, geometry::GRID_CANVAS);
                let e = canvas::new_node_edit(&self.doc.layout, tag, geometry::to_pos(at));
                self.apply_edit(e);
            }
            resp.on_hover_text("Drag onto the canvas, or click to add one in the middle");
            ui.add_space(gap);
        }
    }
}

/// A palette entry's height when there is room, and the least it shrinks to.
const ENTRY_H: f32 = 38.0;
const ENTRY_H_MIN: f32 = 26.0;

/// One entry: the kind's box, icon and name.
fn paint_entry(ui: &Ui, rect: egui::Rect, tag: KindTag, label: &str, highlight: bool) {
    let painter = ui.painter();
    let fill = if highlight {
        theme::fill(tag).gamma_multiply(0.8)
    } else {
        theme::fill(tag)
    };
    painter.rect(
        rect,
        theme::rounding(tag, 0.5),
        fill,
        egui::Stroke::new(1.0, theme::outline(tag)),
        egui::StrokeKind::Inside,
    );
    theme::icon(
        painter,
        tag,
        egui::Rect::from_center_size(rect.left_center() + vec2(18.0, 0.0), vec2(16.0, 16.0)),
    );
    painter.text(
        rect.left_center() + vec2(34.0, 0.0),
        egui::Align2::LEFT_CENTER,
        label,
        egui::FontId::proportional(14.0),
        theme::TEXT,
    );
}

/// "Load balancer": the kind's label with a capital.
pub fn palette_label(tag: KindTag) -> String {
    let l = tag.label();
    let mut c = l.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
