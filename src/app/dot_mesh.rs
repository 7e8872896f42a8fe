//! A run's dots drawn as one mesh a frame, copied from a disc tessellated once: at 200 nodes
//! and 100,000 requests/s about 260 dots move every frame, and egui tessellated each one's rim
//! as a path of its own (a quarter of the frame's tessellation). A dot of one size and colour
//! is the same triangles wherever it is, so its template is moved instead of tessellated.
//!
//! The template comes from egui's own tessellator (`Context::tessellate`, with the font atlas's
//! prepared discs), so a copied dot is egui's dot moved by its centre: the same triangles, the
//! same colours and texture coordinates, positions equal up to float rounding (a test compares
//! them with egui drawing the circles). Shapes that are not discs (a failed dot's cross) are
//! painted as shapes between the meshes, so what is on top of what does not change.

use std::sync::Arc;

use eframe::egui::{
    self, Color32, Pos2, Rect, Shape, Stroke,
    emath::TSTransform,
    epaint::{ClippedShape, Mesh, Primitive, TessellationOptions},
    pos2,
};

/// What a template's triangles depend on.
#[derive(Clone, Copy, Debug, PartialEq)]
struct DiscKey {
    radius: f32,
    fill: Color32,
    rim: Stroke,
}

/// What every template depends on: the screen's scale, the tessellator's options and the font
/// atlas's size (the prepared discs' texture coordinates).
#[derive(Clone, Copy, Debug, PartialEq)]
struct FrameKey {
    pixels_per_point: f32,
    options: TessellationOptions,
    atlas_size: [usize; 2],
}

/// The dots' templates and meshes, kept between frames (the meshes' buffers are reused).
#[derive(Default)]
pub struct DotMeshes {
    frame: Option<FrameKey>,
    /// The canvas's clip on screen this frame.
    clip_screen: Option<Rect>,
    templates: Vec<(DiscKey, Mesh)>,
    /// This frame's meshes, in drawing order; `used` of them hold this frame's dots.
    meshes: Vec<Arc<Mesh>>,
    used: usize,
    /// The mesh being filled (taken out of `meshes[used]`).
    open: Mesh,
    /// How many templates were tessellated (a test sees a steady view reuse them).
    pub builds: u64,
}

impl DotMeshes {
    /// Start a frame drawn with `painter`: a new scale, tessellation or font atlas forgets
    /// the templates.
    pub fn begin(&mut self, painter: &egui::Painter) {
        let ctx = painter.ctx();
        let key = FrameKey {
            pixels_per_point: ctx.pixels_per_point(),
            options: ctx.tessellation_options(|o| *o),
            atlas_size: ctx.fonts(|f| f.font_image_size()),
        };
        if self.frame != Some(key) {
            self.templates.clear();
            self.frame = Some(key);
        }
        self.clip_screen = Some(painter.clip_rect());
        self.used = 0;
        self.open = self.take_mesh();
    }

    /// A filled disc with a rim, as `Painter::circle` draws it.
    pub fn disc(
        &mut self,
        painter: &egui::Painter,
        centre: Pos2,
        radius: f32,
        fill: Color32,
        rim: Stroke,
    ) {
        let (Some(frame), Some(clip)) = (self.frame, self.clip_screen) else {
            painter.circle(centre, radius, fill, rim);
            return;
        };
        // egui's coarse culling, which drops a circle whose centre is off the clipped canvas.
        if radius <= 0.0
            || (frame.options.coarse_tessellation_culling
                && !clip.expand(radius + rim.width).contains(centre))
        {
            return;
        }
        let key = DiscKey { radius, fill, rim };
        let at = match self.templates.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                let mesh = template(painter.ctx(), key);
                self.templates.push((key, mesh));
                self.builds += 1;
                self.templates.len() - 1
            }
        };
        let texture = self.templates[at].1.texture_id;
        if self.open.is_empty() {
            self.open.texture_id = texture;
        } else if self.open.texture_id != texture {
            // Not seen with egui's atlas; drawn as a shape of its own if it ever were.
            self.flush(painter);
            painter.circle(centre, radius, fill, rim);
            return;
        }
        let (template, out) = (&self.templates[at].1, &mut self.open);
        let offset = centre.to_vec2();
        let base = out.vertices.len() as u32;
        out.indices
            .extend(template.indices.iter().map(|i| base + *i));
        out.vertices.extend(template.vertices.iter().map(|v| {
            let mut v = *v;
            v.pos += offset;
            v
        }));
    }

    /// Any other shape, painted where it comes between the dots.
    pub fn shape(&mut self, painter: &egui::Painter, shape: Shape) {
        self.flush(painter);
        painter.add(shape);
    }

    /// End the frame's dots: paint the last mesh.
    pub fn end(&mut self, painter: &egui::Painter) {
        self.flush(painter);
        let open = std::mem::take(&mut self.open);
        self.put_back(open);
    }

    /// Paint the open mesh, if it holds anything, and open the next.
    fn flush(&mut self, painter: &egui::Painter) {
        if self.open.is_empty() {
            return;
        }
        let next = self.take_mesh_at(self.used + 1);
        let full = std::mem::replace(&mut self.open, next);
        let arc = Arc::new(full);
        painter.add(Shape::Mesh(Arc::clone(&arc)));
        self.meshes[self.used] = arc;
        self.used += 1;
    }

    /// An empty mesh for slot `used`, reusing last frame's buffer once egui has let it go.
    fn take_mesh(&mut self) -> Mesh {
        self.take_mesh_at(self.used)
    }

    fn take_mesh_at(&mut self, slot: usize) -> Mesh {
        while self.meshes.len() <= slot {
            self.meshes.push(Arc::new(Mesh::default()));
        }
        let kept = std::mem::take(&mut self.meshes[slot]);
        let mut mesh = Arc::try_unwrap(kept).unwrap_or_default();
        // Not `Mesh::clear`, which lets the vertices' buffer go.
        mesh.indices.clear();
        mesh.vertices.clear();
        mesh
    }

    /// Keep an unused buffer for the next frame.
    fn put_back(&mut self, mesh: Mesh) {
        if let Some(slot) = self.meshes.get_mut(self.used) {
            *slot = Arc::new(mesh);
        }
    }
}

/// The triangles egui draws for the disc `key` centred at the origin.
fn template(ctx: &egui::Context, key: DiscKey) -> Mesh {
    let shape = Shape::circle_filled(pos2(0.0, 0.0), key.radius, key.fill);
    let shape = match shape {
        Shape::Circle(mut c) => {
            c.stroke = key.rim;
            Shape::Circle(c)
        }
        other => other,
    };
    let clipped = ClippedShape {
        clip_rect: Rect::EVERYTHING,
        shape,
        transform_after_tessellation: TSTransform::IDENTITY,
    };
    let mut mesh = Mesh::default();
    for p in ctx.tessellate(vec![clipped], ctx.pixels_per_point()) {
        if let Primitive::Mesh(m) = p.primitive {
            mesh.append(m);
        }
    }
    mesh
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::frame_tests::painted as frame;
    use eframe::egui::{Context, epaint::Vertex};

    /// Dots inside, across and outside the 400x300 canvas, two colours, one with a cross
    /// between them.
    fn dots(shift: f32) -> Vec<(Pos2, Color32, bool)> {
        (0..60)
            .map(|i| {
                let p = pos2(-20.0 + 7.3 * i as f32 + shift, 5.0 + 5.1 * i as f32);
                let colour = if i % 3 == 0 {
                    Color32::from_rgb(40, 160, 220)
                } else {
                    Color32::from_rgb(230, 120, 30)
                };
                (p, colour, i % 11 == 5)
            })
            .collect()
    }

    fn cross(p: Pos2) -> [Shape; 2] {
        let s = Stroke::new(2.0, Color32::RED);
        let k = egui::vec2(4.0, 4.0);
        [
            Shape::line_segment([p - k, p + k], s),
            Shape::line_segment([p - egui::vec2(4.0, -4.0), p + egui::vec2(4.0, -4.0)], s),
        ]
    }

    fn direct(ctx: &Context, shift: f32, radius: f32) -> Vec<Vertex> {
        let rim = Stroke::new(1.0, Color32::WHITE);
        frame(ctx, |p| {
            for (at, colour, crossed) in dots(shift) {
                if crossed {
                    p.extend(cross(at));
                } else {
                    p.circle(at, radius, colour, rim);
                }
            }
        })
    }

    fn kept(ctx: &Context, meshes: &mut DotMeshes, shift: f32, radius: f32) -> Vec<Vertex> {
        let rim = Stroke::new(1.0, Color32::WHITE);
        frame(ctx, |p| {
            meshes.begin(p);
            for (at, colour, crossed) in dots(shift) {
                if crossed {
                    for s in cross(at) {
                        meshes.shape(p, s);
                    }
                } else {
                    meshes.disc(p, at, radius, colour, rim);
                }
            }
            meshes.end(p);
        })
    }

    /// The same triangles in the same order, colours and texture coordinates equal, positions
    /// within a thousandth of a point (egui adds the centre first, the copy last).
    fn assert_same(a: &[Vertex], b: &[Vertex]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!((x.uv, x.color), (y.uv, y.color));
            assert!(
                (x.pos - y.pos).length() < 1e-3,
                "{:?} against {:?}",
                x.pos,
                y.pos
            );
        }
    }

    /// Dots copied from their templates draw what egui draws from circles, frame after frame,
    /// and a new size (a zoom) or place is drawn at once.
    #[test]
    fn dots_from_templates_draw_what_egui_draws_from_circles() {
        let ctx = Context::default();
        let mut meshes = DotMeshes::default();
        let want = direct(&ctx, 0.0, 4.0);
        assert!(want.len() > 2000, "{} vertices", want.len());
        assert_same(&want, &kept(&ctx, &mut meshes, 0.0, 4.0));
        assert_eq!(meshes.builds, 2, "one template per colour");
        // The next frame: the dots moved on, the templates stay.
        assert_same(&direct(&ctx, 3.5, 4.0), &kept(&ctx, &mut meshes, 3.5, 4.0));
        assert_eq!(meshes.builds, 2);
        // Zoomed: bigger dots at once, not last frame's.
        let bigger = direct(&ctx, 3.5, 6.0);
        assert_ne!(bigger.len(), 0);
        assert_same(&bigger, &kept(&ctx, &mut meshes, 3.5, 6.0));
        assert_eq!(meshes.builds, 4);
    }
}
