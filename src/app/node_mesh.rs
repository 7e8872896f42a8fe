//! Each node's body (box, pool stack, selection ring, icon) tessellated once and drawn from its
//! mesh while it looks the same: during a run only the live overlay changes, and at 200 nodes
//! the boxes and icons were a third of each frame's tessellation. Each node keeps its own mesh,
//! drawn where its shapes were, so what is on top of what does not change.

use std::collections::BTreeMap;
use std::sync::Arc;

use eframe::egui::{
    self, Rect, Shape,
    epaint::{Mesh, TessellationOptions, Tessellator},
    layers::ShapeIdx,
};

use crate::layout::{KindTag, NodeId};

/// Everything a node's body looks like on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BodyLook {
    pub tag: KindTag,
    pub count: u32,
    pub rect_screen: Rect,
    pub zoom: f32,
    pub selected: bool,
}

/// What every mesh depends on: where the canvas is clipped and how the screen is tessellated.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FrameKey {
    clip_screen: Rect,
    pixels_per_point: f32,
    options: TessellationOptions,
}

/// The nodes' bodies as last drawn.
#[derive(Default)]
pub struct NodeMeshes {
    frame: Option<FrameKey>,
    meshes: BTreeMap<NodeId, (BodyLook, Arc<Mesh>)>,
    /// Meshes used or built this frame; the others (deleted nodes) are dropped at its end.
    drawn: Vec<NodeId>,
    /// How many meshes were built (a test sees a still view reuse them).
    pub builds: u64,
}

impl NodeMeshes {
    /// Start a frame drawn with `painter`: a new clip, scale or tessellation forgets every mesh.
    pub fn begin(&mut self, painter: &egui::Painter) {
        let ctx = painter.ctx();
        let key = FrameKey {
            clip_screen: painter.clip_rect(),
            pixels_per_point: ctx.pixels_per_point(),
            options: ctx.tessellation_options(|o| *o),
        };
        if self.frame != Some(key) {
            self.meshes.clear();
            self.frame = Some(key);
        }
        self.drawn.clear();
    }

    /// Draw node `id`'s body: its mesh if it looks as it did, otherwise `draw` paints its shapes
    /// (this frame shows them as they are) and they are tessellated for the next frames.
    pub fn paint(
        &mut self,
        painter: &egui::Painter,
        id: NodeId,
        look: BodyLook,
        draw: impl FnOnce(&egui::Painter),
    ) {
        self.drawn.push(id);
        if let Some((was, mesh)) = self.meshes.get(&id)
            && *was == look
        {
            if !mesh.is_empty() {
                painter.add(Shape::Mesh(Arc::clone(mesh)));
            }
            return;
        }
        let layer = painter.layer_id();
        let ctx = painter.ctx();
        let start = ctx.graphics_mut(|g| g.entry(layer).next_idx()).0;
        draw(painter);
        let Some(frame) = self.frame else {
            return;
        };
        // The shapes just painted become the kept mesh, which is drawn in their place: a
        // frame that builds a mesh tessellates them once, not once here and again in egui.
        let mesh = ctx.graphics_mut(|g| {
            let list = g.entry(layer);
            let end = list.next_idx().0;
            // A filled circle is drawn from the font atlas's prepared discs, a text from its
            // glyphs: neither is part of a body, and one that were could not be kept.
            let keepable = list.all_entries().skip(start).all(|c| {
                let filled_circle =
                    matches!(&c.shape, Shape::Circle(c) if c.fill != egui::Color32::TRANSPARENT);
                !(filled_circle || matches!(c.shape, Shape::Text(_) | Shape::Callback(_)))
            });
            if !keepable {
                return None;
            }
            let mut tessellator =
                Tessellator::new(frame.pixels_per_point, frame.options, [1, 1], Vec::new());
            tessellator.set_clip_rect(frame.clip_screen);
            let mut mesh = Mesh::default();
            for i in start..end {
                list.mutate_shape(ShapeIdx(i), |c| {
                    let shape = std::mem::replace(&mut c.shape, Shape::Noop);
                    tessellator.tessellate_shape(shape, &mut mesh);
                });
            }
            let mesh = Arc::new(mesh);
            if !mesh.is_empty() {
                list.mutate_shape(ShapeIdx(start), |c| {
                    c.shape = Shape::Mesh(Arc::clone(&mesh));
                });
            }
            Some(mesh)
        });
        if let Some(mesh) = mesh {
            self.meshes.insert(id, (look, mesh));
            self.builds += 1;
        }
    }

    /// End the frame: forget the nodes that were not drawn.
    pub fn end(&mut self) {
        self.drawn.sort_unstable();
        let drawn = &self.drawn;
        self.meshes.retain(|id, _| drawn.binary_search(id).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eframe::egui::{Context, pos2, vec2};

    fn looks(shift: f32, selected: bool) -> Vec<(NodeId, BodyLook)> {
        KindTag::ALL
            .iter()
            .enumerate()
            .map(|(i, tag)| {
                let min = pos2(
                    10.0 + shift + 60.0 * (i % 5) as f32,
                    10.0 + 50.0 * (i / 5) as f32,
                );
                (
                    NodeId(i as u32),
                    BodyLook {
                        tag: *tag,
                        count: 1 + (i as u32 % 3),
                        rect_screen: Rect::from_min_size(min, vec2(50.0, 30.0)),
                        zoom: 0.7,
                        selected: selected && i == 2,
                    },
                )
            })
            .collect()
    }

    fn draw(p: &egui::Painter, l: &BodyLook) {
        crate::app::paint::draw_node_body(p, l.tag, l.count, l.rect_screen, l.zoom, l.selected);
    }

    use crate::app::frame_tests::painted as frame;

    /// Every kind's body, from its mesh, draws the very triangles egui draws from its shapes;
    /// a still view builds each mesh once, and a moved or selected node gets a new one.
    #[test]
    fn a_body_from_its_mesh_draws_what_its_shapes_draw() {
        let ctx = Context::default();
        let direct = frame(&ctx, |p| {
            for (_, l) in looks(0.0, false) {
                draw(p, &l);
            }
        });
        let mut cache = NodeMeshes::default();
        let cached = |ctx: &Context, cache: &mut NodeMeshes, shift: f32, selected: bool| {
            frame(ctx, |p| {
                cache.begin(p);
                for (id, l) in looks(shift, selected) {
                    cache.paint(p, id, l, |p| draw(p, &l));
                }
                cache.end();
            })
        };
        let first = cached(&ctx, &mut cache, 0.0, false);
        let second = cached(&ctx, &mut cache, 0.0, false);
        assert!(direct.len() > 1000, "{} vertices", direct.len());
        assert_eq!(direct, first);
        assert_eq!(direct, second);
        let kinds = KindTag::ALL.len() as u64;
        assert_eq!(cache.builds, kinds);
        let selected = cached(&ctx, &mut cache, 0.0, true);
        assert_eq!(
            cache.builds,
            kinds + 1,
            "only the selected node is drawn anew"
        );
        assert_ne!(selected, second);
        cached(&ctx, &mut cache, 4.0, true);
        assert_eq!(cache.builds, 2 * kinds + 1, "every node moved");
    }

    /// A frame that builds the meshes (the first, or every frame of a drag, pan or zoom)
    /// hands egui the meshes in place of the shapes, so they are tessellated once.
    #[test]
    fn a_frame_that_builds_the_meshes_draws_them_instead_of_the_shapes() {
        let ctx = Context::default();
        let mut cache = NodeMeshes::default();
        let mut kinds = Vec::new();
        for shift in [0.0, 4.0] {
            let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
                let p = ui.painter_at(Rect::from_min_size(pos2(0.0, 0.0), vec2(400.0, 300.0)));
                cache.begin(&p);
                for (id, l) in looks(shift, true) {
                    cache.paint(&p, id, l, |p| draw(p, &l));
                }
                cache.end();
            });
            out.textures_delta.clear();
            kinds = out
                .shapes
                .iter()
                .filter(|c| !matches!(c.shape, Shape::Noop))
                .map(|c| std::mem::discriminant(&c.shape))
                .collect();
        }
        assert_eq!(
            cache.builds,
            2 * KindTag::ALL.len() as u64,
            "both frames built"
        );
        let mesh = std::mem::discriminant(&Shape::Mesh(Arc::new(Mesh::default())));
        assert_eq!(kinds.len(), KindTag::ALL.len(), "one mesh a node");
        assert!(kinds.iter().all(|k| *k == mesh));
    }
}
