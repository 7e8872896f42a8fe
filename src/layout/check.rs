//! Validation: every problem of a layout at once, by node name.
//!
//! Errors mean the layout cannot run; warnings mean it runs but probably not as meant (a
//! balancer without backends fails its requests with `no_backend`).

use std::collections::{BTreeMap, BTreeSet};

use super::limits;
use super::node::{KeyDist, KindTag, Layer, LoopMode, NodeKind, Sessions};
use super::params::{self, Field, no_node};
use super::{Command, Layout, NodeId};

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The layout runs, but probably not as meant.
    Warning,
    /// The layout cannot run.
    Error,
}

/// One problem, attached to the node it concerns when there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub severity: Severity,
    pub node: Option<NodeId>,
    /// The node's name (or a place such as `wire a -> b`), for messages.
    pub place: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}: {}", self.place, self.message)
    }
}

/// Which kinds may call which: the one table of allowed wires.
///
/// | caller        | may call                                            |
/// |---------------|-----------------------------------------------------|
/// | client        | entry, load balancer, app server                    |
/// | entry         | load balancer                                       |
/// | load balancer | app server, load balancer                           |
/// | app server    | load balancer, session store, cache, shard router, database |
/// | session store | nothing                                             |
/// | cache         | nothing (the app server fills it: cache-aside)      |
/// | shard router  | database (each one a shard)                         |
/// | database      | nothing (replication is not a call)                 |
pub fn may_call(from: KindTag, to: KindTag) -> bool {
    use KindTag::*;
    matches!(
        (from, to),
        (Client, Entry)
            | (Client, LoadBalancer)
            | (Client, AppServer)
            | (Entry, LoadBalancer)
            | (LoadBalancer, AppServer)
            | (LoadBalancer, LoadBalancer)
            | (AppServer, Database)
            | (AppServer, LoadBalancer)
            | (AppServer, SessionStore)
            | (AppServer, Cache)
            | (AppServer, ShardRouter)
            | (ShardRouter, Database)
    )
}

/// Why a wire from `from` to `to` is refused, in words, or `None` when it is allowed.
pub fn wire_refusal(from: KindTag, to: KindTag) -> Option<String> {
    if may_call(from, to) {
        return None;
    }
    let allowed: Vec<&str> = KindTag::ALL
        .iter()
        .filter(|&&t| may_call(from, t))
        .map(|t| t.label())
        .collect();
    let article = |s: &str| {
        if s.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        }
    };
    Some(if allowed.is_empty() {
        format!(
            "{} {} cannot call anything (it only answers calls)",
            article(from.label()),
            from.label()
        )
    } else {
        format!(
            "{} {} cannot call {} {}; it may call: {}",
            article(from.label()),
            from.label(),
            article(to.label()),
            to.label(),
            allowed.join(", ")
        )
    })
}

/// Every problem of the layout, errors first, then in node order.
pub fn check(layout: &Layout) -> Vec<Problem> {
    // Sizes, names and the numbers the table does not cover (`input.rs`) first, and alone.
    let _indexed = layout.indexed();
    let mut out = match super::input::problems(layout) {
        Ok(first) => first,
        Err(refused) => return refused,
    };
    let mut err = |node: Option<NodeId>, place: String, message: String| {
        out.push(Problem {
            severity: Severity::Error,
            node,
            place,
            message,
        })
    };
    let lname = |id: NodeId| layout.name_of(id);

    for msg in Field::problems(params::LAYOUT, layout) {
        err(None, "layout".into(), msg);
    }

    // Ids and names.
    let mut ids = BTreeSet::new();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &layout.nodes {
        if !ids.insert(n.id) {
            err(
                Some(n.id),
                lname(n.id),
                format!("id {} is used by more than one node", n.id),
            );
        }
        *names.entry(n.name.as_str()).or_default() += 1;
        if n.name.trim().is_empty() {
            err(Some(n.id), lname(n.id), "the node has no name".into());
        }
        // Parameter ranges, from the one metadata table.
        for p in params::params_of(n.kind.tag()) {
            if let Some(v) = p.get(&n.kind)
                && let Err(msg) = p.validate(v)
            {
                err(Some(n.id), lname(n.id), msg);
            }
        }
        if let NodeKind::Client(c) = &n.kind {
            if c.mode == LoopMode::Closed && c.users > params::CLOSED_USERS_MAX {
                err(
                    Some(n.id),
                    lname(n.id),
                    format!(
                        "a closed-loop client may have at most {} users, not {}",
                        params::CLOSED_USERS_MAX,
                        c.users
                    ),
                );
            }
            if c.key_dist == KeyDist::Zipf && c.key_zipf_alpha <= 0.0 {
                err(
                    Some(n.id),
                    lname(n.id),
                    "key_dist is zipf but key_zipf_alpha is 0: use uniform".into(),
                );
            }
            for p in &c.paths {
                if !(p.share.is_finite() && p.share >= 0.0 && p.path.starts_with('/')) {
                    err(
                        Some(n.id),
                        lname(n.id),
                        format!(
                            "path \"{}\" with share {}: a path starts with / and its share is 0 or more",
                            p.path, p.share
                        ),
                    );
                }
            }
            if !c.paths.is_empty() && c.paths.iter().map(|p| p.share).sum::<f64>() <= 0.0 {
                err(
                    Some(n.id),
                    lname(n.id),
                    "the path shares add up to 0".into(),
                );
            }
        }
        if let NodeKind::LoadBalancer(b) = &n.kind {
            if b.layer == Layer::L4 {
                if !b.algorithm.allowed_at_l4() {
                    err(
                        Some(n.id),
                        lname(n.id),
                        format!(
                            "an L4 balancer cannot use {}: it sees connections, not request \
                             keys or cookies (use L7, or round_robin, weighted_round_robin, \
                             random, least_connections, weighted_least_connections, \
                             power_of_two or sticky_ip)",
                            b.algorithm.file_name()
                        ),
                    );
                }
                if !b.path_rules.is_empty() {
                    err(
                        Some(n.id),
                        lname(n.id),
                        "an L4 balancer cannot route by path: it never sees the request (make it \
                         L7)"
                        .into(),
                    );
                }
                if b.l7_latency_ms > 0.0 {
                    err(
                        Some(n.id),
                        lname(n.id),
                        "l7_latency_ms is set on an L4 balancer, which does no TLS termination"
                            .into(),
                    );
                }
            }
            for r in &b.path_rules {
                if !layout.wires_from(n.id).any(|w| w.to == r.to) {
                    err(
                        Some(n.id),
                        lname(n.id),
                        format!(
                            "the rule for {} sends to {}, but the balancer is not wired to it",
                            r.prefix,
                            lname(r.to)
                        ),
                    );
                }
                if !r.prefix.starts_with('/') {
                    err(
                        Some(n.id),
                        lname(n.id),
                        format!("path prefix \"{}\" must start with /", r.prefix),
                    );
                }
            }
        }
        if let NodeKind::AppServer(a) = &n.kind
            && let Some(auto) = &a.autoscale
        {
            // The ranges are checked with the other parameters (`autoscale.*`); the bounds must
            // also be in order.
            let bad = (auto.min > auto.max).then(|| {
                format!(
                    "autoscale min = {} and max = {} must satisfy min <= max",
                    auto.min, auto.max
                )
            });
            if let Some(msg) = bad {
                err(Some(n.id), lname(n.id), msg);
            }
        }
        if let NodeKind::AppServer(a) = &n.kind
            && a.sessions == Sessions::Store
            && !layout.wires_from(n.id).any(|w| {
                layout
                    .node(w.to)
                    .is_some_and(|t| t.kind.tag() == KindTag::SessionStore)
            })
        {
            err(
                Some(n.id),
                lname(n.id),
                "sessions: store, but the server is not wired to a session store".into(),
            );
        }
    }
    for (name, count) in &names {
        if *count > 1 && !name.trim().is_empty() {
            err(
                None,
                (*name).to_string(),
                format!("{count} nodes are called \"{name}\"; names must be unique"),
            );
        }
    }

    // Wires.
    let mut seen = BTreeSet::new();
    for w in &layout.wires {
        let place = format!("wire {} -> {}", lname(w.from), lname(w.to));
        let (Some(a), Some(b)) = (layout.node(w.from), layout.node(w.to)) else {
            let missing = if layout.node(w.from).is_none() {
                w.from
            } else {
                w.to
            };
            err(None, place, no_node(missing));
            continue;
        };
        if w.from == w.to {
            err(Some(w.from), place, "a node cannot call itself".into());
            continue;
        }
        if let Some(why) = wire_refusal(a.kind.tag(), b.kind.tag()) {
            err(Some(w.from), place.clone(), why);
        }
        if !seen.insert((w.from, w.to)) {
            err(
                Some(w.from),
                place.clone(),
                "this wire is there twice".into(),
            );
        }
        for msg in Field::problems(params::WIRE, w) {
            err(Some(w.from), place.clone(), msg);
        }
    }
    check_replication(layout, &mut err);
    let looped = has_cycle(layout);
    if looped {
        err(
            None,
            "wires".into(),
            "the wires form a loop, so a request could call around it forever".into(),
        );
    }

    // Goals.
    for g in &layout.goals {
        if g.at_most.is_none() == g.at_least.is_none() {
            err(
                None,
                format!("goal {}", g.metric.name()),
                "a goal needs exactly one of at_most or at_least".into(),
            );
        }
    }

    // Script.
    for s in &layout.script {
        let place = format!("script at {} s", s.at_s);
        for msg in Field::problems(params::SCRIPT, s) {
            err(None, place.clone(), msg);
        }
        check_command(layout, &s.command, &place, &mut err);
    }

    // The script in the order the run applies it, so that a run refuses nothing (`agree.rs`).
    out.extend(super::agree::problems(layout));

    // What a run may cost (see `limits.rs`): calls per request, then memory. Only for a
    // layout that is otherwise valid: out-of-range values would only inflate the estimate.
    let valid = out.is_empty();
    if valid
        && let Some(worst) = limits::worst_calls(layout)
        && worst.calls > f64::from(limits::CALLS_PER_REQUEST_MAX)
    {
        out.push(Problem {
            severity: Severity::Error,
            node: None,
            place: worst.path.join(" -> "),
            message: format!(
                "one request may cause up to {} calls along this path (at most {} are \
                 allowed): balancers and app servers calling several backends, times \
                 (retries + 1) at every hop, multiply; remove a layer or lower retries",
                fmt_calls(worst.calls),
                limits::CALLS_PER_REQUEST_MAX
            ),
        });
    }
    let memory = if valid {
        limits::memory_estimate(layout)
    } else {
        Vec::new()
    };
    let total: u64 = memory.iter().map(|m| m.bytes).fold(0, u64::saturating_add);
    let largest = memory
        .iter()
        .take(3)
        .map(|m| format!("{} {} {}", m.place, m.what, limits::fmt_bytes(m.bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    let memory_node = memory.first().and_then(|m| m.node);
    if total > limits::MEMORY_BUDGET_BYTES {
        out.push(Problem {
            severity: Severity::Error,
            node: memory_node,
            place: "memory".into(),
            message: format!(
                "a run may need about {} of memory, more than the {} budget (largest: {largest})",
                limits::fmt_bytes(total),
                limits::fmt_bytes(limits::MEMORY_BUDGET_BYTES)
            ),
        });
    }

    // Warnings: it runs, but probably not as meant.
    let mut warn = Vec::new();
    if !layout.nodes.iter().any(|n| n.kind.tag() == KindTag::Client) {
        warn.push((
            None,
            "layout".to_string(),
            "there is no client, so no traffic".to_string(),
        ));
    }
    for n in &layout.nodes {
        let outgoing = layout.wires_from(n.id).count();
        match n.kind.tag() {
            KindTag::Client if outgoing == 0 => warn.push((
                Some(n.id),
                lname(n.id),
                "the client is wired to nothing: its requests fail with no_backend".into(),
            )),
            KindTag::LoadBalancer if outgoing == 0 => warn.push((
                Some(n.id),
                lname(n.id),
                "the balancer has no backends: its requests fail with no_backend".into(),
            )),
            KindTag::LoadBalancer => {
                if let NodeKind::LoadBalancer(b) = &n.kind
                    && !matches!(
                        b.algorithm,
                        crate::layout::LbAlgorithm::StickyCookie
                            | crate::layout::LbAlgorithm::StickyIp
                    )
                {
                    for w in layout.wires_from(n.id) {
                        if let Some(t) = layout.node(w.to)
                            && let NodeKind::AppServer(a) = &t.kind
                            && a.sessions == Sessions::Local
                            && t.kind.count() + (layout.wires_from(n.id).count() as u32) > 2
                        {
                            warn.push((
                                Some(n.id),
                                lname(n.id),
                                format!(
                                    "{} keeps sessions in memory but {} is not sticky: users \
                                     will be logged out when they land on another server",
                                    t.name, n.name
                                ),
                            ));
                        }
                    }
                }
            }
            KindTag::Entry if outgoing == 0 => warn.push((
                Some(n.id),
                lname(n.id),
                "the entry points at no balancer: its requests fail with no_backend".into(),
            )),
            KindTag::Client | KindTag::AppServer => {
                for w in layout.wires_from(n.id) {
                    if let Some(t) = layout.node(w.to)
                        && t.kind.count() > 1
                        && n.kind.tag() == KindTag::Client
                    {
                        warn.push((
                            Some(n.id),
                            lname(n.id),
                            format!(
                                "wired straight to the pool \"{}\": without a balancer the client \
                                 spreads over its members round-robin, as plain DNS would",
                                t.name
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if total > limits::MEMORY_BUDGET_BYTES / 2 && total <= limits::MEMORY_BUDGET_BYTES {
        warn.push((
            memory_node,
            "memory".to_string(),
            format!(
                "a run may need about {} of memory, over half the {} budget (largest: {largest})",
                limits::fmt_bytes(total),
                limits::fmt_bytes(limits::MEMORY_BUDGET_BYTES)
            ),
        ));
    }
    let mut problems = out;
    problems.extend(warn.into_iter().map(|(node, place, message)| Problem {
        severity: Severity::Warning,
        node,
        place,
        message,
    }));
    problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    problems
}

/// A call count for messages: whole up to a billion, then in powers of ten.
fn fmt_calls(calls: f64) -> String {
    if calls < 1e9 {
        format!("{}", calls as u64)
    } else {
        format!("{calls:.1e}")
    }
}

fn check_command(
    layout: &Layout,
    cmd: &Command,
    place: &str,
    err: &mut impl FnMut(Option<NodeId>, String, String),
) {
    // Every number the command carries, from the parameter table.
    for msg in cmd.range_problems() {
        err(cmd.node(), place.to_string(), msg);
    }
    let missing = |id: NodeId| layout.node(id).is_none() && !added_by_script(layout, id);
    match cmd {
        Command::AddNode(n) => {
            if layout.node(n.id).is_some() {
                err(
                    Some(n.id),
                    place.to_string(),
                    format!("add_node: id {} is already used", n.id),
                );
            }
        }
        Command::RestoreNode { node: n, .. } => {
            // Only a node of this layout (removed earlier in the script) can come back.
            if layout.node(n.id).is_none() {
                err(
                    None,
                    place.to_string(),
                    format!("restore_node: {}", no_node(n.id)),
                );
            }
        }
        Command::AddWire(w) | Command::SetWire(w) => {
            for id in [w.from, w.to] {
                if missing(id) {
                    err(
                        None,
                        place.to_string(),
                        format!("{}: {}", cmd.file_name(), no_node(id)),
                    );
                }
            }
        }
        Command::RemoveWire { from, to } => {
            for id in [*from, *to] {
                if missing(id) {
                    err(
                        None,
                        place.to_string(),
                        format!("remove_wire: {}", no_node(id)),
                    );
                }
            }
        }
        Command::SetReplication(r) => {
            if !layout
                .replication
                .iter()
                .any(|x| x.primary == r.primary && x.replica == r.replica)
            {
                err(
                    Some(r.replica),
                    place.to_string(),
                    format!(
                        "set_replication: {} does not replicate from {}",
                        layout.name_of(r.replica),
                        layout.name_of(r.primary)
                    ),
                );
            }
        }
        Command::SetParam { node, param, value } => {
            let Some(n) = layout.node(*node) else {
                if !added_by_script(layout, *node) {
                    err(
                        None,
                        place.to_string(),
                        format!("set_param: {}", no_node(*node)),
                    );
                }
                return;
            };
            match params::find(n.kind.tag(), param) {
                None => err(
                    Some(*node),
                    place.to_string(),
                    format!(
                        "set_param: a {} has no parameter `{param}`; it has: {}",
                        n.kind.tag().label(),
                        params::params_of(n.kind.tag())
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                Some(meta) => {
                    if let Err(msg) = meta.validate(*value) {
                        err(Some(*node), place.to_string(), format!("set_param: {msg}"));
                    }
                }
            }
        }
        _ => {
            if let Some(id) = cmd.node()
                && missing(id)
            {
                err(
                    None,
                    place.to_string(),
                    format!("{}: {}", cmd.file_name(), no_node(id)),
                );
            }
        }
    }
}

fn added_by_script(layout: &Layout, id: NodeId) -> bool {
    layout.added_by_script(id)
}

/// True when the call wires contain a directed cycle (depth-first search, in id order).
fn has_cycle(layout: &Layout) -> bool {
    let mut adj: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
    for w in &layout.wires {
        adj.entry(w.from).or_default().push(w.to);
    }
    // 0 = unseen, 1 = on the stack, 2 = done.
    let mut state: BTreeMap<NodeId, u8> = BTreeMap::new();
    for start in adj.keys().copied() {
        if state.get(&start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state.insert(start, 1);
        while let Some((node, i)) = stack.pop() {
            let next = adj.get(&node).and_then(|v| v.get(i)).copied();
            match next {
                Some(n) => {
                    stack.push((node, i + 1));
                    match state.get(&n).copied().unwrap_or(0) {
                        1 => return true,
                        0 => {
                            state.insert(n, 1);
                            stack.push((n, 0));
                        }
                        _ => {}
                    }
                }
                None => {
                    state.insert(node, 2);
                }
            }
        }
    }
    false
}

/// Replication links: database to database, one primary per replica, no chains.
fn check_replication(layout: &Layout, err: &mut impl FnMut(Option<NodeId>, String, String)) {
    let mut primary_of: BTreeMap<NodeId, NodeId> = BTreeMap::new();
    for r in &layout.replication {
        let place = format!(
            "replication {} -> {}",
            layout.name_of(r.primary),
            layout.name_of(r.replica)
        );
        let is_db = |id: NodeId| {
            layout
                .node(id)
                .is_some_and(|n| n.kind.tag() == KindTag::Database)
        };
        if !is_db(r.primary) || !is_db(r.replica) {
            err(
                Some(r.replica),
                place.clone(),
                "replication links two databases: a primary and its replica".into(),
            );
            continue;
        }
        if r.primary == r.replica {
            err(
                Some(r.replica),
                place.clone(),
                "a database cannot replicate itself".into(),
            );
        }
        if let Some(other) = primary_of.insert(r.replica, r.primary)
            && other != r.primary
        {
            err(
                Some(r.replica),
                place.clone(),
                format!(
                    "{} already replicates from {}: a replica has one primary",
                    layout.name_of(r.replica),
                    layout.name_of(other)
                ),
            );
        }
        for msg in Field::problems(params::LINK, r) {
            err(Some(r.replica), place.clone(), msg);
        }
    }
    for (replica, primary) in &primary_of {
        if primary_of.contains_key(primary) {
            err(
                Some(*replica),
                format!(
                    "replication {} -> {}",
                    layout.name_of(*primary),
                    layout.name_of(*replica)
                ),
                format!(
                    "{} is itself a replica: replicate from the primary directly",
                    layout.name_of(*primary)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::from_ron;

    fn problems(text: &str) -> Vec<String> {
        let layout = from_ron(text).unwrap_or_else(|e| panic!("{e}"));
        check(&layout).iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn every_problem_at_once_by_name() {
        let p = problems(
            r#"(tick_ms: 0, nodes: [
                (id: 1, name: "users", kind: client(qps: -5)),
                (id: 2, name: "db", kind: database()),
                (id: 3, name: "lb", kind: load_balancer()),
                (id: 4, name: "app", kind: app_server(count: 999)),
            ], wires: [(from: 2, to: 3), (from: 1, to: 9)])"#,
        );
        let all = p.join("\n");
        assert!(all.contains("tick_ms"), "{all}");
        assert!(all.contains("users: qps = -5 is out of range"), "{all}");
        assert!(all.contains("app: count = 999"), "{all}");
        assert!(all.contains("a database cannot call anything"), "{all}");
        assert!(all.contains("no node with id 9"), "{all}");
        assert!(
            all.contains("warning: lb: the balancer has no backends"),
            "{all}"
        );
    }

    #[test]
    fn refusal_says_what_may_be_called() {
        let why = wire_refusal(KindTag::AppServer, KindTag::Client).unwrap_or_default();
        assert_eq!(
            why,
            "an app server cannot call a client; it may call: load balancer, session store, cache, shard router, database"
        );
        assert!(wire_refusal(KindTag::Client, KindTag::LoadBalancer).is_none());
    }

    #[test]
    fn loops_are_errors() {
        let p = problems(
            r#"(nodes: [(id: 1, name: "a", kind: load_balancer()), (id: 2, name: "b", kind: load_balancer())],
                wires: [(from: 1, to: 2), (from: 2, to: 1)])"#,
        );
        assert!(p.iter().any(|s| s.contains("loop")), "{p:?}");
    }
}
