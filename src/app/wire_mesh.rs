//! The canvas's wires tessellated once and drawn as one mesh while nothing about them changes:
//! at 200 nodes the ~600 wires and their arrow heads were most of each frame's tessellation,
//! and during a run they stay put frame after frame (the dots move, not the wires).

use std::collections::BTreeMap;
use std::sync::Arc;

use eframe::egui::{
    self, Pos2, Rect, Shape, Stroke,
    emath::GuiRounding as _,
    epaint::{Mesh, TessellationOptions, Tessellator},
};

use super::geometry as geo;
use crate::layout::NodeId;

/// How one wire looks this frame: its ends on screen and its stroke. Equal looks draw equal
/// pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WireLook {
    pub from_to: (NodeId, NodeId),
    pub from_screen: Pos2,
    pub to_screen: Pos2,
    pub stroke: Stroke,
}

/// Everything the tessellated wires depend on: each wire's look, the zoom (the arrow head's
/// size), where the canvas is clipped and how the screen is tessellated.
#[derive(Clone, Debug, PartialEq)]
struct Key {
    looks: Vec<WireLook>,
    zoom: f32,
    clip_screen: Rect,
    pixels_per_point: f32,
    options: TessellationOptions,
}

/// The wires as last drawn: their sampled curves on screen (for dots and hit tests) and the
/// mesh of their lines and arrow heads. Rebuilt when anything in its key changes (a node moved,
/// a wire added or selected, pan, zoom, a new window size or theme).
#[derive(Default)]
pub struct WireMesh {
    key: Option<Key>,
    /// Each wire's sampled curve on screen, in the order of the looks it was built from.
    curves: Vec<Vec<Pos2>>,
    /// Each wire's curve by its ends (the dots find their wire here), built with the mesh.
    by_ends: BTreeMap<(NodeId, NodeId), usize>,
    mesh: Arc<Mesh>,
    /// How many times the mesh was built (a test sees a still view reuse it).
    pub builds: u64,
}

/// How many straight segments draw a wire from `from` to `to` on screen: about one per
/// `WIRE_SEGMENT_PX` of its span, from 6 to 24. A wire zoomed out to a few dozen pixels needs
/// no more, and hundreds of wires are much of a frame's tessellation.
pub fn wire_segments(from: Pos2, to: Pos2) -> usize {
    const WIRE_SEGMENT_PX: f32 = 30.0;
    ((from.distance(to) / WIRE_SEGMENT_PX).ceil() as usize).clamp(6, 24)
}

/// A wire's sampled curve on screen.
pub fn wire_points(look: &WireLook) -> Vec<Pos2> {
    geo::sample_curve(
        &geo::wire_curve(look.from_screen, look.to_screen),
        wire_segments(look.from_screen, look.to_screen),
    )
}

impl WireMesh {
    /// Paint `looks` with `painter` (reusing last frame's mesh when nothing changed); the
    /// curves are then `curves` and `curve_between`.
    pub fn paint(&mut self, painter: &egui::Painter, looks: Vec<WireLook>, zoom: f32) {
        let ctx = painter.ctx();
        let key = Key {
            looks,
            zoom,
            clip_screen: painter.clip_rect(),
            pixels_per_point: ctx.pixels_per_point(),
            options: ctx.tessellation_options(|o| *o),
        };
        if self.key.as_ref() != Some(&key) {
            self.rebuild(key);
        }
        if !self.mesh.is_empty() {
            // A clip rectangle of its own makes the kept mesh an output mesh of its own. egui
            // appends each shape to the output mesh of its clip rectangle, growing it by
            // reallocation; appended amid the canvas's other shapes, a 200-node layout's wires
            // (megabytes) were copied again at each growth. Alone, they are copied once, into a
            // mesh of their exact size. The rectangle is the canvas's rounded to whole pixels, as
            // the renderer rounds it, then a hundredth of a point smaller: the same pixels.
            let ppp = painter.ctx().pixels_per_point();
            let own_clip = painter.clip_rect().round_to_pixels(ppp).shrink(0.01);
            painter
                .with_clip_rect(own_clip)
                .add(Shape::Mesh(Arc::clone(&self.mesh)));
        }
    }

    /// Each painted wire's ends and sampled curve on screen, in the order of the looks.
    pub fn curves(&self) -> impl Iterator<Item = ((NodeId, NodeId), &[Pos2])> {
        let looks = self.key.as_ref().map_or(&[][..], |k| &k.looks[..]);
        looks
            .iter()
            .zip(&self.curves)
            .map(|(l, c)| (l.from_to, &c[..]))
    }

    /// The sampled curve of the wire from `from` to `to`, as painted.
    pub fn curve_between(&self, from: NodeId, to: NodeId) -> Option<&[Pos2]> {
        let at = *self.by_ends.get(&(from, to))?;
        self.curves.get(at).map(|c| &c[..])
    }

    fn rebuild(&mut self, key: Key) {
        self.curves = key.looks.iter().map(wire_points).collect();
        self.by_ends = key
            .looks
            .iter()
            .enumerate()
            .map(|(i, l)| (l.from_to, i))
            .collect();
        let mut tessellator =
            Tessellator::new(key.pixels_per_point, key.options, [1, 1], Vec::new());
        tessellator.set_clip_rect(key.clip_screen);
        let mut mesh = Mesh::default();
        for (look, points) in key.looks.iter().zip(&self.curves) {
            for shape in super::paint::arrow_shapes(points, look.stroke, key.zoom) {
                tessellator.tessellate_shape(shape, &mut mesh);
            }
        }
        self.mesh = Arc::new(mesh);
        self.key = Some(key);
        self.builds += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eframe::egui::{Color32, Context, pos2};

    fn looks(shift: f32) -> Vec<WireLook> {
        (0..20u32)
            .map(|i| WireLook {
                from_to: (NodeId(i), NodeId(i + 100)),
                from_screen: pos2(10.0 + shift, 10.0 + 7.0 * i as f32),
                to_screen: pos2(300.0 + 3.0 * i as f32, 200.0 - 5.0 * i as f32),
                stroke: Stroke::new(1.0 + 0.1 * i as f32, Color32::from_gray(60)),
            })
            .collect()
    }

    use crate::app::frame_tests::painted as frame;

    /// The cached mesh draws the very triangles the window draws when it paints each wire
    /// and arrow as shapes of its own, and a view that does not change reuses it.
    #[test]
    fn the_mesh_draws_what_the_shapes_draw_and_a_still_view_reuses_it() {
        let ctx = Context::default();
        let direct = frame(&ctx, |p| {
            for look in looks(0.0) {
                for s in crate::app::paint::arrow_shapes(&wire_points(&look), look.stroke, 0.8) {
                    p.add(s);
                }
            }
        });
        let mut cache = WireMesh::default();
        let cached = frame(&ctx, |p| {
            cache.paint(p, looks(0.0), 0.8);
        });
        assert!(direct.len() > 1000, "{} vertices", direct.len());
        assert_eq!(direct, cached);
        let again = frame(&ctx, |p| {
            cache.paint(p, looks(0.0), 0.8);
        });
        assert_eq!(cached, again);
        assert_eq!(cache.builds, 1);
        // A node moved: the wire follows.
        let moved = frame(&ctx, |p| {
            cache.paint(p, looks(5.0), 0.8);
        });
        assert_eq!(cache.builds, 2);
        assert_ne!(moved, again);
    }
}
