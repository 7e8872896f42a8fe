//! Theory beside the simulation, under the inspector while a run is on: for the selected
//! queueing node, each instance's arrival rate, utilization, L and λW side by side, and the
//! predicted wait (Erlang C, or Allen-Cunneen labelled as an approximation) next to the
//! measured one, with the assumptions that do not hold (`study::theory`).

use eframe::egui::{self, Ui};

use super::theme;
use crate::layout::{Layout, NodeId};
use crate::sim::Sim;
use crate::study::theory::{self, Model};

/// The theory section for node `id` of the running `sim`; nothing for kinds that do not queue.
pub fn theory_ui(ui: &mut Ui, layout: &Layout, sim: &Sim, id: NodeId) {
    let m = sim.metrics();
    let instances: Vec<_> = m.nodes.iter().filter(|n| n.id.node == id).collect();
    let rows: Vec<_> = instances
        .iter()
        .filter_map(|n| theory::node_theory(layout, &m, n).map(|t| (n, t)))
        .collect();
    if rows.is_empty() {
        return;
    }
    ui.separator();
    ui.strong("Theory beside the run");
    for (n, t) in rows {
        if instances.len() > 1 {
            ui.label(egui::RichText::new(format!("member {}", n.id.member)).italics());
        }
        ui.label(format!("Arrival rate λ: {:.1} /s", t.arrival_per_s));
        ui.label(format!("Utilization: {:.1} %", t.utilization * 100.0));
        ui.label(format!(
            "L (mean waiting): {:.3}   λW: {:.3}",
            t.mean_queue, t.lambda_w
        ));
        ui.label(format!("Measured wait: {:.3} ms", t.measured_wait_ms));
        let model = match t.model {
            Model::ErlangC => "M/M/c Erlang C",
            Model::AllenCunneen => "Allen-Cunneen approximation",
        };
        match t.predicted_wait_ms {
            Some(w) => ui.label(format!("Predicted wait ({model}): {w:.3} ms")),
            None => ui.label(format!("Predicted wait ({model}): no steady state")),
        }
        .on_hover_text(format!(
            "{} with c = {} servers, mean service {} ms, ca² = {}, cs² = {:.2}",
            t.model.label(),
            t.servers,
            crate::layout::params::fmt_num(t.service_ms),
            t.ca2,
            t.cs2
        ));
        for note in &t.notes {
            ui.colored_label(theme::WARNING, format!("Note: {note}"));
        }
    }
}
