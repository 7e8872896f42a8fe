//! The inspector: the selected node's parameters. Number widgets, units, ranges and help come
//! from the core's metadata table (`layout::params`), so the inspector, the docs and `check`
//! agree; the enum fields are combo boxes. Values out of range are refused with a hint.

use eframe::egui::{self, Ui};

use super::edit::Edit;
use super::theme;
use crate::layout::params::{self, ParamMeta, fmt_num};
use crate::layout::{
    Arrivals, Command, EntryMode, Eviction, KeyDist, Layer, Layout, LbAlgorithm, LoopMode, Node,
    NodeId, NodeKind, OnWrite, Partitioning, Placement, Problem, ReadFrom, ServiceDist, Sessions,
    Severity, Size,
};

/// Inspector state kept between frames.
#[derive(Default)]
pub struct InspectorState {
    /// The last refused value: which parameter and why.
    pub refusal: Option<(NodeId, String)>,
    /// The name being typed, committed when the field loses focus.
    name_edit: Option<(NodeId, String)>,
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
                let (mut latency_ms, mut weight) = (w.latency_ms, w.weight);
                egui::Grid::new("wire").num_columns(2).show(ui, |ui| {
                    let l = ui.label("latency_ms");
                    ui.add(
                        egui::DragValue::new(&mut latency_ms)
                            .speed(0.05)
                            .max_decimals(3)
                            .suffix(" ms"),
                    )
                    .labelled_by(l.id)
                    .on_hover_text("One-way latency, added to the request and to the reply");
                    ui.end_row();
                    let l = ui.label("weight");
                    ui.add(egui::DragValue::new(&mut weight).speed(0.05))
                        .labelled_by(l.id)
                        .on_hover_text("The backend's weight for weighted balancing");
                    ui.end_row();
                });
                if latency_ms != w.latency_ms || weight != w.weight {
                    edits.push(Edit::SetWire {
                        from,
                        to,
                        latency_ms,
                        weight,
                    });
                }
            }
            if ui.button("Delete wire").clicked() {
                edits.push(Edit::Command(Command::RemoveWire { from, to }));
            }
        } else {
            ui.heading("Inspector");
            ui.weak("Select a node to edit it. Drag from a node's right-hand port to another node to wire them.");
            ui.separator();
            if !layout.name.is_empty() {
                ui.strong(&layout.name);
            }
            if !layout.description.is_empty() {
                ui.label(&layout.description);
            }
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
            enums_ui(ui, node, &mut edits);
            for meta in params::params_of(node.kind.tag()) {
                param_ui(ui, state, node, meta, &mut edits);
            }
        });

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

fn param_ui(
    ui: &mut Ui,
    state: &mut InspectorState,
    node: &Node,
    meta: &ParamMeta,
    edits: &mut Vec<Edit>,
) {
    let Some(current) = meta.get(&node.kind) else {
        return;
    };
    let help = format!(
        "{}. Range {} to {}{}.",
        meta.help,
        fmt_num(meta.min),
        fmt_num(meta.max),
        if meta.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", meta.unit)
        }
    );
    let label = ui.label(meta.name).on_hover_text(&help);
    let mut value = current;
    let mut refused = None;
    ui.horizontal(|ui| {
        let speed = if meta.integer {
            0.1
        } else {
            (current.abs() * 0.01).max(0.01)
        };
        let mut dv = egui::DragValue::new(&mut value).speed(speed);
        if meta.integer {
            dv = dv.fixed_decimals(0);
        } else {
            dv = dv.max_decimals(3);
        }
        if !meta.unit.is_empty() {
            dv = dv.suffix(format!(" {}", meta.unit));
        }
        ui.add(dv).labelled_by(label.id).on_hover_text(&help);
        // A pool's size gets buttons too: one server more or fewer.
        if meta.name == "count" {
            if ui.button("-").on_hover_text("One server fewer").clicked() {
                value = current - 1.0;
            }
            if ui.button("+").on_hover_text("One server more").clicked() {
                value = current + 1.0;
            }
        }
    });
    ui.end_row();
    if value != current {
        let value = if meta.integer { value.round() } else { value };
        match meta.validate(value) {
            Ok(()) => {
                state.refusal = None;
                edits.push(Edit::Command(Command::SetParam {
                    node: node.id,
                    param: meta.name.to_string(),
                    value,
                }));
            }
            Err(why) => refused = Some(why),
        }
    }
    if let Some(why) = refused {
        state.refusal = Some((node.id, why));
    }
}

/// The enum fields, as combo boxes. The one place the inspector matches on node kinds.
fn enums_ui(ui: &mut Ui, node: &Node, edits: &mut Vec<Edit>) {
    let mut kind = node.kind.clone();
    if let NodeKind::LoadBalancer(p) = &node.kind {
        let mut algorithm = p.algorithm;
        combo(
            ui,
            node.id,
            "algorithm",
            &mut algorithm,
            &LbAlgorithm::ALL,
            |a| a.label(),
        );
        if algorithm != p.algorithm {
            edits.push(Edit::Command(Command::SetAlgorithm {
                node: node.id,
                algorithm,
            }));
        }
    }
    if let NodeKind::Client(c) = &mut kind {
        combo(
            ui,
            node.id,
            "mode",
            &mut c.mode,
            &[LoopMode::Open, LoopMode::Closed],
            |m| match m {
                LoopMode::Open => "open loop (a rate)",
                LoopMode::Closed => "closed loop (users)",
            },
        );
        combo(
            ui,
            node.id,
            "arrivals",
            &mut c.arrivals,
            &[Arrivals::Poisson, Arrivals::Constant],
            |a| match a {
                Arrivals::Poisson => "Poisson",
                Arrivals::Constant => "constant gaps",
            },
        );
        combo(
            ui,
            node.id,
            "key_dist",
            &mut c.key_dist,
            &[KeyDist::Uniform, KeyDist::Zipf],
            |k| match k {
                KeyDist::Uniform => "uniform",
                KeyDist::Zipf => "Zipf (hot keys)",
            },
        );
    }
    if let NodeKind::AppServer(a) = &mut kind {
        service_combo(ui, node.id, &mut a.service);
        combo(
            ui,
            node.id,
            "sessions",
            &mut a.sessions,
            &[Sessions::None, Sessions::Local, Sessions::Store],
            |s| match s {
                Sessions::None => "none (stateless)",
                Sessions::Local => "in server memory",
                Sessions::Store => "in the session store",
            },
        );
    }
    if let NodeKind::Database(d) = &mut kind {
        service_combo(ui, node.id, &mut d.service);
        combo(
            ui,
            node.id,
            "reads",
            &mut d.reads,
            &[
                ReadFrom::Primary,
                ReadFrom::Replicas,
                ReadFrom::PrimaryAndReplicas,
            ],
            |r| match r {
                ReadFrom::Primary => "primary only",
                ReadFrom::Replicas => "replicas",
                ReadFrom::PrimaryAndReplicas => "primary and replicas",
            },
        );
    }
    if let NodeKind::LoadBalancer(b) = &mut kind {
        combo(
            ui,
            node.id,
            "layer",
            &mut b.layer,
            &[Layer::L4, Layer::L7],
            |l| match l {
                Layer::L4 => "L4 (connections)",
                Layer::L7 => "L7 (requests)",
            },
        );
        let l = ui.label("health checks");
        ui.checkbox(&mut b.health_checks, "on").labelled_by(l.id);
        ui.end_row();
    }
    if let NodeKind::Entry(e) = &mut kind {
        combo(
            ui,
            node.id,
            "mode",
            &mut e.mode,
            &[
                EntryMode::FloatingIp,
                EntryMode::DnsRoundRobin,
                EntryMode::DnsHealthChecked,
            ],
            |m| match m {
                EntryMode::FloatingIp => "floating IP (active-passive)",
                EntryMode::DnsRoundRobin => "round-robin DNS",
                EntryMode::DnsHealthChecked => "health-checked DNS",
            },
        );
    }
    if let NodeKind::Cache(c) = &mut kind {
        combo(
            ui,
            node.id,
            "eviction",
            &mut c.eviction,
            &[Eviction::Lru, Eviction::Lfu],
            |e| match e {
                Eviction::Lru => "LRU",
                Eviction::Lfu => "LFU",
            },
        );
        combo(
            ui,
            node.id,
            "placement",
            &mut c.placement,
            &[Placement::ConsistentHash, Placement::Modulo],
            |p| match p {
                Placement::ConsistentHash => "consistent hashing",
                Placement::Modulo => "modulo",
            },
        );
        combo(
            ui,
            node.id,
            "on_write",
            &mut c.on_write,
            &[OnWrite::Invalidate, OnWrite::Update],
            |w| match w {
                OnWrite::Invalidate => "invalidate",
                OnWrite::Update => "update",
            },
        );
    }
    if let NodeKind::ShardRouter(r) = &mut kind {
        combo(
            ui,
            node.id,
            "partitioning",
            &mut r.partitioning,
            &[
                Partitioning::Hash,
                Partitioning::HashModulo,
                Partitioning::Range,
            ],
            |p| match p {
                Partitioning::Hash => "hash (ring)",
                Partitioning::HashModulo => "hash modulo",
                Partitioning::Range => "key range",
            },
        );
    }
    // The size ladder of server-like nodes.
    if let Some(mut size) = kind.size() {
        combo(ui, node.id, "size", &mut size, &Size::ALL, |s| s.name());
        kind.set_size(size);
    }
    if kind != node.kind {
        edits.push(Edit::SetKind {
            node: node.id,
            kind,
        });
    }
}

fn service_combo(ui: &mut Ui, id: NodeId, service: &mut ServiceDist) {
    combo(
        ui,
        id,
        "service",
        service,
        &[
            ServiceDist::Constant,
            ServiceDist::Exponential,
            ServiceDist::LogNormal,
        ],
        |s| match s {
            ServiceDist::Constant => "constant",
            ServiceDist::Exponential => "exponential",
            ServiceDist::LogNormal => "log-normal",
        },
    );
}

fn combo<T: Copy + PartialEq>(
    ui: &mut Ui,
    id: NodeId,
    name: &str,
    value: &mut T,
    all: &[T],
    label: impl Fn(T) -> &'static str,
) {
    let l = ui.label(name);
    egui::ComboBox::from_id_salt((name, id))
        .selected_text(label(*value))
        .width(170.0)
        .show_ui(ui, |ui| {
            for v in all {
                ui.selectable_value(value, *v, label(*v));
            }
        })
        .response
        .labelled_by(l.id);
    ui.end_row();
}
