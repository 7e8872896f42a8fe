//! The inspector: the selected node's or wire's settings. Every widget comes from the one
//! parameter table (`layout::params`): number widgets with their units, ranges and help, and
//! combo boxes with the options' labels, so the inspector, the docs and `check` agree. A node's
//! parameters, a pool's autoscaling, a wire's settings and a database's replication links are
//! all edited here, each change as the core's own command. Values out of range are refused with
//! a hint.

use std::hash::Hash;

use eframe::egui::{self, Ui};

use super::edit::Edit;
use super::theme;
use crate::layout::params::{self, Choice, Field, fmt_num};
use crate::layout::{Command, Layout, LoopMode, Node, NodeId, NodeKind, Problem, Severity};

/// Inspector state kept between frames.
#[derive(Default)]
pub struct InspectorState {
    /// The last refused value: which parameter and why.
    pub refusal: Option<(NodeId, String)>,
    /// The name being typed, committed when the field loses focus.
    name_edit: Option<(NodeId, String)>,
    /// The layout's name and description being typed, committed when a field loses focus.
    info_edit: Option<(String, String)>,
}

/// Draw the inspector for `selected` and return the edits asked for.
pub fn inspector_ui(
    ui: &mut Ui,
    state: &mut InspectorState,
    layout: &Layout,
    selected: Option<NodeId>,
    selected_wire: Option<(NodeId, NodeId)>,
    problems: &[Problem],
) -> Vec<Edit> {
    let mut edits = Vec::new();
    let Some(node) = selected.and_then(|id| layout.node(id)) else {
        state.name_edit = None;
        if let Some((from, to)) = selected_wire {
            ui.heading("Wire");
            ui.label(format!(
                "{} calls {}",
                layout.name_of(from),
                layout.name_of(to)
            ));
            if let Some(w) = layout.wires.iter().find(|w| w.from == from && w.to == to) {
                let mut refused = None;
                egui::Grid::new("wire").num_columns(2).show(ui, |ui| {
                    for f in params::WIRE {
                        if let Some(w) = field_ui(ui, ("wire", from, to), f, w, &mut refused) {
                            state.refusal = None;
                            edits.push(Edit::Command(Command::SetWire(w)));
                        }
                    }
                });
                if let Some(why) = refused {
                    state.refusal = Some((from, why));
                }
                if let Some((id, why)) = &state.refusal
                    && *id == from
                {
                    ui.colored_label(theme::ERROR, format!("Refused: {why}"));
                }
            }
            if ui.button("Delete wire").clicked() {
                edits.push(Edit::Command(Command::RemoveWire { from, to }));
            }
        } else {
            ui.heading("Inspector");
            ui.weak("Select a node to edit it. Drag from a node's right-hand port to another node to wire them.");
            ui.separator();
            info_ui(ui, state, layout, &mut edits);
            ui.label(format!(
                "{} nodes, {} wires, seed {}",
                layout.nodes.len(),
                layout.wires.len(),
                layout.seed
            ));
        }
        return edits;
    };

    ui.heading(format!("{} settings", capitalised(node.kind.tag().label())));
    name_ui(ui, state, node, &mut edits);
    ui.add_space(4.0);

    egui::Grid::new(("params", node.id))
        .num_columns(2)
        .spacing([8.0, 6.0])
        .show(ui, |ui| {
            for choice in params::choices_of(node.kind.tag()) {
                if let Some(kind) = choice_ui(ui, node.id, choice, &node.kind) {
                    edits.push(Edit::Command(Command::SetKind {
                        node: node.id,
                        kind,
                    }));
                }
            }
            let mut refused = None;
            for meta in params::params_of(node.kind.tag()) {
                if let Some(kind) = field_ui(ui, node.id, meta, &node.kind, &mut refused)
                    && let Some(value) = meta.get(&kind)
                {
                    state.refusal = None;
                    edits.push(Edit::Command(Command::SetParam {
                        node: node.id,
                        param: meta.name.to_string(),
                        value,
                    }));
                }
            }
            if let Some(why) = refused {
                state.refusal = Some((node.id, why));
            }
        });

    links_ui(ui, layout, node, &mut edits);
    traffic_ui(ui, layout, node);

    if let Some((id, why)) = &state.refusal
        && *id == node.id
    {
        ui.add_space(4.0);
        ui.colored_label(theme::ERROR, format!("Refused: {why}"));
    }

    let mine: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.node == Some(node.id))
        .collect();
    if !mine.is_empty() {
        ui.separator();
        for p in mine {
            let colour = match p.severity {
                Severity::Error => theme::ERROR,
                Severity::Warning => theme::WARNING,
            };
            ui.colored_label(colour, format!("{}: {}", p.place, p.message));
        }
    }
    ui.separator();
    if ui.button("Delete node").clicked() {
        edits.push(Edit::Command(Command::RemoveNode(node.id)));
    }
    edits
}

/// The layout's name and description, editable; a change applies when the field loses focus
/// (Enter, for the name), as one undoable edit of the drawing.
fn info_ui(ui: &mut Ui, state: &mut InspectorState, layout: &Layout, edits: &mut Vec<Edit>) {
    let (name, description) = state
        .info_edit
        .get_or_insert_with(|| (layout.name.clone(), layout.description.clone()));
    let label = ui.strong("Layout name");
    let name_resp = ui
        .add(
            egui::TextEdit::singleline(name)
                .hint_text("Untitled")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    let label = ui.strong("Description");
    let description_resp = ui
        .add(
            egui::TextEdit::multiline(description)
                .hint_text("What this layout shows")
                .desired_rows(3)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    let changed = *name != layout.name || *description != layout.description;
    if (name_resp.lost_focus() || description_resp.lost_focus()) && changed {
        edits.push(Edit::Describe {
            name: name.clone(),
            description: description.clone(),
        });
    }
    if !name_resp.has_focus()
        && !description_resp.has_focus()
        && !name_resp.lost_focus()
        && !description_resp.lost_focus()
    {
        // Changed elsewhere (undo, load): show the layout's own text.
        *name = layout.name.clone();
        *description = layout.description.clone();
    }
}

/// A client's traffic profile: the layout's scripted steps, ramps and faults that concern it.
fn traffic_ui(ui: &mut Ui, layout: &Layout, node: &Node) {
    if !matches!(node.kind, NodeKind::Client(_)) {
        return;
    }
    let mine: Vec<_> = layout
        .script
        .iter()
        .filter(|s| s.command.node() == Some(node.id))
        .collect();
    ui.add_space(6.0);
    ui.strong("Traffic profile");
    if let NodeKind::Client(c) = &node.kind {
        let base = match c.mode {
            LoopMode::Open => format!("{} requests/s from the start", fmt_num(c.qps)),
            LoopMode::Closed => format!(
                "{} users, each thinking {} ms between requests",
                c.users,
                fmt_num(c.think_ms)
            ),
        };
        ui.label(base);
    }
    for s in mine {
        let what = match &s.command {
            Command::SetQps { qps, .. } => format!("rate steps to {} requests/s", fmt_num(*qps)),
            Command::RampQps { qps, over_s, .. } => format!(
                "rate ramps to {} requests/s over {} s",
                fmt_num(*qps),
                fmt_num(*over_s)
            ),
            other => format!("{other:?}"),
        };
        ui.label(format!("at {} s: {what}", fmt_num(s.at_s)));
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn name_ui(ui: &mut Ui, state: &mut InspectorState, node: &Node, edits: &mut Vec<Edit>) {
    if state
        .name_edit
        .as_ref()
        .is_none_or(|(id, _)| *id != node.id)
    {
        state.name_edit = Some((node.id, node.name.clone()));
    }
    let Some((_, text)) = &mut state.name_edit else {
        return;
    };
    ui.horizontal(|ui| {
        let label = ui.label("Name");
        let resp = ui
            .add(egui::TextEdit::singleline(text).desired_width(160.0))
            .labelled_by(label.id);
        if resp.lost_focus() && *text != node.name {
            edits.push(Edit::Rename {
                node: node.id,
                name: text.clone(),
            });
        }
        if !resp.has_focus() && !resp.lost_focus() && *text != node.name {
            // Changed elsewhere (undo, load): show the current name.
            *text = node.name.clone();
        }
    });
}

/// A database's replication links: each one's lag and mode.
fn links_ui(ui: &mut Ui, layout: &Layout, node: &Node, edits: &mut Vec<Edit>) {
    let links = layout
        .replication
        .iter()
        .filter(|r| r.primary == node.id || r.replica == node.id);
    for link in links {
        ui.add_space(6.0);
        ui.strong(if link.replica == node.id {
            format!("Replicates from {}", layout.name_of(link.primary))
        } else {
            format!("Replica {}", layout.name_of(link.replica))
        });
        let salt = ("link", link.primary, link.replica);
        let mut refused = None;
        egui::Grid::new(salt).num_columns(2).show(ui, |ui| {
            for choice in params::LINK_CHOICES {
                if let Some(r) = choice_ui(ui, salt, choice, link) {
                    edits.push(Edit::Command(Command::SetReplication(r)));
                }
            }
            for f in params::LINK {
                if let Some(r) = field_ui(ui, salt, f, link, &mut refused) {
                    edits.push(Edit::Command(Command::SetReplication(r)));
                }
            }
        });
        if let Some(why) = refused {
            ui.colored_label(theme::ERROR, format!("Refused: {why}"));
        }
    }
}

/// One number of the table as a labelled drag value (a pool's size gets - and + too). Returns
/// a copy of `of` with the new value when the user changed it to a valid one; an invalid one
/// goes to `refused` with the reason.
fn field_ui<T: Clone>(
    ui: &mut Ui,
    salt: impl Hash + std::fmt::Debug,
    field: &Field<T>,
    of: &T,
    refused: &mut Option<String>,
) -> Option<T> {
    let current = field.get(of)?;
    let help = format!(
        "{}. Range {} to {}{}. In the file: `{}`. Type a number and press Enter (or leave the field) to apply it.",
        field.help,
        fmt_num(field.min),
        fmt_num(field.max),
        if field.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", field.unit)
        },
        field.name
    );
    let label = ui.label(params::label(field.name)).on_hover_text(&help);
    let mut value = current;
    ui.push_id((salt, field.name), |ui| {
        ui.horizontal(|ui| {
            let speed = if field.integer {
                0.1
            } else {
                (current.abs() * 0.01).max(0.01)
            };
            // A typed number applies on Enter or when the field loses focus, not at every
            // keystroke (typing 99999999 must not run a layout at 9, 99, 999, … on the way).
            let mut dv = egui::DragValue::new(&mut value)
                .speed(speed)
                .update_while_editing(false);
            dv = if field.integer {
                dv.fixed_decimals(0)
            } else {
                dv.max_decimals(3)
            };
            if !field.unit.is_empty() {
                dv = dv.suffix(format!(" {}", field.unit));
            }
            ui.add(dv).labelled_by(label.id).on_hover_text(&help);
            if field.name == "count" {
                if ui.button("-").on_hover_text("One server fewer").clicked() {
                    value = current - 1.0;
                }
                if ui.button("+").on_hover_text("One server more").clicked() {
                    value = current + 1.0;
                }
            }
        });
    });
    ui.end_row();
    if value == current {
        return None;
    }
    let value = if field.integer { value.round() } else { value };
    let mut next = of.clone();
    match field.set(&mut next, value) {
        Ok(()) => Some(next),
        Err(why) => {
            *refused = Some(why);
            None
        }
    }
}

/// One enum field of the table as a labelled combo box. Returns a copy of `of` with the new
/// option when the user picked one.
fn choice_ui<T: Clone>(
    ui: &mut Ui,
    salt: impl Hash + std::fmt::Debug,
    choice: &Choice<T>,
    of: &T,
) -> Option<T> {
    let current = choice.get(of)?;
    let options = choice.options();
    let mut picked = current;
    let help = format!("{}. In the file: `{}`.", choice.help, choice.name);
    let l = ui.label(params::label(choice.name)).on_hover_text(&help);
    egui::ComboBox::from_id_salt((salt, choice.name))
        .selected_text(options.get(current).map_or("", |o| o.label))
        .width(170.0)
        .show_ui(ui, |ui| {
            for (i, o) in options.iter().enumerate() {
                ui.selectable_value(&mut picked, i, o.label);
            }
        })
        .response
        .labelled_by(l.id)
        .on_hover_text(&help);
    ui.end_row();
    let mut next = of.clone();
    (picked != current && choice.set(&mut next, picked)).then_some(next)
}
