//! Validation: every problem of a layout at once, by node name.
//!
//! Errors mean the layout cannot run; warnings mean it runs but probably not as meant (a
//! balancer without backends fails its requests with `no_backend`).

use std::collections::{BTreeMap, BTreeSet};

use super::limits;
use super::node::{
    AppParams, BalancerParams, ClientParams, KeyDist, KindTag, Layer, LbAlgorithm, LoopMode,
    NodeKind, Sessions,
};
use super::params::{self, Field, no_node};
use super::{Command, Layout, Node, NodeId};

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
/// | client        | entry, load balancer, app server, CDN edge, rate limiter |
/// | entry         | load balancer                                       |
/// | load balancer | app server, load balancer                           |
/// | app server    | load balancer, session store, cache, shard router, database |
/// | session store | nothing                                             |
/// | cache         | nothing (the app server fills it: cache-aside)      |
/// | shard router  | database (each one a shard)                         |
/// | database      | nothing (replication is not a call)                 |
/// | CDN edge      | entry, load balancer, app server (its origin)       |
/// | message queue | app server (its consumers, which pull its messages) |
/// | rate limiter  | entry, load balancer, app server                    |
///
/// An app server calls a message queue too: it publishes one message per write.
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
            | (Client, Cdn)
            | (Cdn, Entry)
            | (Cdn, LoadBalancer)
            | (Cdn, AppServer)
            | (AppServer, Queue)
            | (Queue, AppServer)
            | (Client, RateLimiter)
            | (RateLimiter, Entry)
            | (RateLimiter, LoadBalancer)
            | (RateLimiter, AppServer)
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
    // Lookups by id from sorted indexes while this lives (`index.rs`): check stays linear.
    let _indexed = layout.indexed();
    // Sizes, names and the numbers the table does not cover (`input.rs`) first, and alone
    // when a limit is passed.
    let mut out = match super::input::problems(layout) {
        Ok(first) => Problems { list: first },
        Err(refused) => return refused,
    };
    for msg in Field::problems(params::LAYOUT, layout) {
        out.error(None, "layout", msg);
    }
    check_ids_and_names(layout, &mut out);
    check_wires(layout, &mut out);
    check_replication(layout, &mut out);
    check_loops(layout, &mut out);
    check_goals(layout, &mut out);
    check_script(layout, &mut out);
    // The script in the order the run applies it, so that a run refuses nothing (`agree.rs`).
    out.list.extend(super::agree::problems(layout));
    // What a run may cost, only for a layout that is otherwise valid: out-of-range values
    // would only inflate the estimate.
    let memory = if out.list.is_empty() {
        check_limits(layout, &mut out)
    } else {
        MemoryTotal::default()
    };
    check_warnings(layout, &memory, &mut out);
    let mut problems = out.list;
    problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    problems
}

/// Problems as they are found (`check` sorts errors first at the end).
#[derive(Default)]
struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    fn error(
        &mut self,
        node: Option<NodeId>,
        place: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Error, node, place.into(), message.into());
    }

    fn warning(
        &mut self,
        node: Option<NodeId>,
        place: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, node, place.into(), message.into());
    }

    fn push(&mut self, severity: Severity, node: Option<NodeId>, place: String, message: String) {
        self.list.push(Problem {
            severity,
            node,
            place,
            message,
        });
    }
}

/// Ids are unique, names are present and unique, and each node's parameters are in range and
/// fit its kind.
fn check_ids_and_names(layout: &Layout, out: &mut Problems) {
    let mut ids = BTreeSet::new();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &layout.nodes {
        let place = layout.name_of(n.id);
        if !ids.insert(n.id) {
            out.error(
                Some(n.id),
                place.clone(),
                format!("id {} is used by more than one node", n.id),
            );
        }
        *names.entry(n.name.as_str()).or_default() += 1;
        if n.name.trim().is_empty() {
            out.error(Some(n.id), place.clone(), "the node has no name");
        }
        // Parameter ranges, from the one metadata table.
        for p in params::params_of(n.kind.tag()) {
            if let Some(v) = p.get(&n.kind)
                && let Err(msg) = p.validate(v)
            {
                out.error(Some(n.id), place.clone(), msg);
            }
        }
        let mut err = |msg: String| out.error(Some(n.id), place.clone(), msg);
        match &n.kind {
            NodeKind::Client(c) => check_client(c, &mut err),
            NodeKind::LoadBalancer(b) => check_balancer(layout, n.id, b, &mut err),
            NodeKind::AppServer(a) => check_app_server(layout, n.id, a, &mut err),
            NodeKind::Cdn(_) => super::cdn::check_cdn(layout, n.id, &mut err),
            NodeKind::RateLimiter(_) => {
                super::limiter::check_limiter(layout.wires_from(n.id).count(), &mut err)
            }
            _ => {}
        }
    }
    for (name, count) in &names {
        if *count > 1 && !name.trim().is_empty() {
            out.error(
                None,
                *name,
                format!("{count} nodes are called \"{name}\"; names must be unique"),
            );
        }
    }
}

/// A client: closed-loop users within bounds, a Zipf shape when it asks for one, and paths
/// that start with / and have shares.
fn check_client(c: &ClientParams, err: &mut impl FnMut(String)) {
    if c.mode == LoopMode::Closed && c.users > params::CLOSED_USERS_MAX {
        err(format!(
            "a closed-loop client may have at most {} users, not {}",
            params::CLOSED_USERS_MAX,
            c.users
        ));
    }
    if c.key_dist == KeyDist::Zipf && c.key_zipf_alpha <= 0.0 {
        err("key_dist is zipf but key_zipf_alpha is 0: use uniform".into());
    }
    for p in &c.paths {
        if !(p.share.is_finite() && p.share >= 0.0 && p.path.starts_with('/')) {
            err(format!(
                "path \"{}\" with share {}: a path starts with / and its share is 0 or more",
                p.path, p.share
            ));
        }
    }
    if !c.paths.is_empty() && c.paths.iter().map(|p| p.share).sum::<f64>() <= 0.0 {
        err("the path shares add up to 0".into());
    }
}

/// A balancer: what an L4 balancer cannot do, and path rules that lead to its own wires.
fn check_balancer(layout: &Layout, id: NodeId, b: &BalancerParams, err: &mut impl FnMut(String)) {
    if b.layer == Layer::L4 {
        if !b.algorithm.allowed_at_l4() {
            err(format!(
                "an L4 balancer cannot use {}: it sees connections, not request \
                 keys or cookies (use L7, or round_robin, weighted_round_robin, \
                 random, least_connections, weighted_least_connections, \
                 power_of_two or sticky_ip)",
                b.algorithm.file_name()
            ));
        }
        if !b.path_rules.is_empty() {
            err(
                "an L4 balancer cannot route by path: it never sees the request (make it \
                 L7)"
                .into(),
            );
        }
        if b.l7_latency_ms > 0.0 {
            err("l7_latency_ms is set on an L4 balancer, which does no TLS termination".into());
        }
    }
    for r in &b.path_rules {
        if !layout.wires_from(id).any(|w| w.to == r.to) {
            err(format!(
                "the rule for {} sends to {}, but the balancer is not wired to it",
                r.prefix,
                layout.name_of(r.to)
            ));
        }
        if !r.prefix.starts_with('/') {
            err(format!("path prefix \"{}\" must start with /", r.prefix));
        }
    }
}

/// An app server: autoscale bounds in order (their ranges are checked with the other
/// parameters), and a session store to call when it keeps sessions in one.
fn check_app_server(layout: &Layout, id: NodeId, a: &AppParams, err: &mut impl FnMut(String)) {
    if let Some(auto) = &a.autoscale
        && auto.min > auto.max
    {
        err(format!(
            "autoscale min = {} and max = {} must satisfy min <= max",
            auto.min, auto.max
        ));
    }
    if a.sessions == Sessions::Store
        && !layout.wires_from(id).any(|w| {
            layout
                .node(w.to)
                .is_some_and(|t| t.kind.tag() == KindTag::SessionStore)
        })
    {
        err("sessions: store, but the server is not wired to a session store".into());
    }
}

/// Wires: both ends exist, no self-calls, only allowed calls, no duplicates, settings in
/// range, and no loop.
fn check_wires(layout: &Layout, out: &mut Problems) {
    let lname = |id: NodeId| layout.name_of(id);
    let mut seen = BTreeSet::new();
    for w in &layout.wires {
        let place = format!("wire {} -> {}", lname(w.from), lname(w.to));
        let (Some(a), Some(b)) = (layout.node(w.from), layout.node(w.to)) else {
            let missing = if layout.node(w.from).is_none() {
                w.from
            } else {
                w.to
            };
            out.error(None, place, no_node(missing));
            continue;
        };
        if w.from == w.to {
            out.error(Some(w.from), place, "a node cannot call itself");
            continue;
        }
        if let Some(why) = wire_refusal(a.kind.tag(), b.kind.tag()) {
            out.error(Some(w.from), place.clone(), why);
        }
        if !seen.insert((w.from, w.to)) {
            out.error(Some(w.from), place.clone(), "this wire is there twice");
        }
        for msg in Field::problems(params::WIRE, w) {
            out.error(Some(w.from), place.clone(), msg);
        }
    }
}

/// The call wires form no loop.
fn check_loops(layout: &Layout, out: &mut Problems) {
    if has_cycle(layout) {
        out.error(
            None,
            "wires",
            "the wires form a loop, so a request could call around it forever",
        );
    }
}

/// Goals: each has exactly one bound.
fn check_goals(layout: &Layout, out: &mut Problems) {
    for g in &layout.goals {
        if g.at_most.is_none() == g.at_least.is_none() {
            out.error(
                None,
                format!("goal {}", g.metric.name()),
                "a goal needs exactly one of at_most or at_least",
            );
        }
    }
}

/// The script: each entry's time and command.
fn check_script(layout: &Layout, out: &mut Problems) {
    for s in &layout.script {
        let place = format!("script at {} s", s.at_s);
        for msg in Field::problems(params::SCRIPT, s) {
            out.error(None, place.clone(), msg);
        }
        check_command(layout, &s.command, &place, out);
    }
}

/// A layout's estimated peak memory, and what to say about its largest parts.
#[derive(Default)]
struct MemoryTotal {
    bytes: u64,
    largest: String,
    node: Option<NodeId>,
}

/// What a run may cost (see `limits.rs`): calls per request, then memory.
fn check_limits(layout: &Layout, out: &mut Problems) -> MemoryTotal {
    if let Some(worst) = limits::worst_calls(layout)
        && worst.calls > f64::from(limits::CALLS_PER_REQUEST_MAX)
    {
        out.error(
            None,
            worst.path.join(" -> "),
            format!(
                "one request may cause up to {} calls along this path (at most {} are \
                 allowed): balancers and app servers calling several backends, times \
                 (retries + 1) at every hop, multiply; remove a layer or lower retries",
                fmt_calls(worst.calls),
                limits::CALLS_PER_REQUEST_MAX
            ),
        );
    }
    let memory = limits::memory_estimate(layout);
    let total = MemoryTotal {
        bytes: memory.iter().map(|m| m.bytes).fold(0, u64::saturating_add),
        largest: memory
            .iter()
            .take(3)
            .map(|m| format!("{} {} {}", m.place, m.what, limits::fmt_bytes(m.bytes)))
            .collect::<Vec<_>>()
            .join(", "),
        node: memory.first().and_then(|m| m.node),
    };
    if total.bytes > limits::MEMORY_BUDGET_BYTES {
        out.error(
            total.node,
            "memory",
            format!(
                "a run may need about {} of memory, more than the {} budget (largest: {})",
                limits::fmt_bytes(total.bytes),
                limits::fmt_bytes(limits::MEMORY_BUDGET_BYTES),
                total.largest
            ),
        );
    }
    total
}

/// Warnings: it runs, but probably not as meant.
fn check_warnings(layout: &Layout, memory: &MemoryTotal, out: &mut Problems) {
    if !layout.nodes.iter().any(|n| n.kind.tag() == KindTag::Client) {
        out.warning(None, "layout", "there is no client, so no traffic");
    }
    for n in &layout.nodes {
        let outgoing = layout.wires_from(n.id).count();
        let mut warn = |msg: String| out.warning(Some(n.id), layout.name_of(n.id), msg);
        match n.kind.tag() {
            KindTag::Client if outgoing == 0 => {
                warn("the client is wired to nothing: its requests fail with no_backend".into())
            }
            KindTag::LoadBalancer if outgoing == 0 => {
                warn("the balancer has no backends: its requests fail with no_backend".into())
            }
            KindTag::LoadBalancer => warn_sessions_not_sticky(layout, n, &mut warn),
            KindTag::Queue => crate::layout::mq::warn_queue(layout, n.id, &mut warn),
            KindTag::Entry if outgoing == 0 => {
                warn("the entry points at no balancer: its requests fail with no_backend".into())
            }
            KindTag::Cdn => super::cdn::warn_cdn(layout, n, &mut warn),
            KindTag::RateLimiter if outgoing == 0 => warn(super::limiter::NO_DOWNSTREAM.into()),
            KindTag::Client => {
                for w in layout.wires_from(n.id) {
                    if let Some(t) = layout.node(w.to)
                        && t.kind.count() > 1
                    {
                        warn(format!(
                            "wired straight to the pool \"{}\": without a balancer the client \
                             spreads over its members round-robin, as plain DNS would",
                            t.name
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    let budget = limits::MEMORY_BUDGET_BYTES;
    if memory.bytes > budget / 2 && memory.bytes <= budget {
        out.warning(
            memory.node,
            "memory",
            format!(
                "a run may need about {} of memory, over half the {} budget (largest: {})",
                limits::fmt_bytes(memory.bytes),
                limits::fmt_bytes(budget),
                memory.largest
            ),
        );
    }
}

/// A balancer that is not sticky in front of servers keeping sessions in memory (with more
/// than one server to land on) logs users out.
fn warn_sessions_not_sticky(layout: &Layout, n: &Node, warn: &mut impl FnMut(String)) {
    let NodeKind::LoadBalancer(b) = &n.kind else {
        return;
    };
    if matches!(
        b.algorithm,
        LbAlgorithm::StickyCookie | LbAlgorithm::StickyIp
    ) {
        return;
    }
    for w in layout.wires_from(n.id) {
        if let Some(t) = layout.node(w.to)
            && let NodeKind::AppServer(a) = &t.kind
            && a.sessions == Sessions::Local
            && t.kind.count() + (layout.wires_from(n.id).count() as u32) > 2
        {
            warn(format!(
                "{} keeps sessions in memory but {} is not sticky: users \
                 will be logged out when they land on another server",
                t.name, n.name
            ));
        }
    }
}

/// A call count for messages: whole up to a billion, then in powers of ten.
fn fmt_calls(calls: f64) -> String {
    if calls < 1e9 {
        format!("{}", calls as u64)
    } else {
        format!("{calls:.1e}")
    }
}

/// One scripted command: its numbers in range, and the nodes, wires and links it names.
fn check_command(layout: &Layout, cmd: &Command, place: &str, out: &mut Problems) {
    // Every number the command carries, from the parameter table.
    for msg in cmd.range_problems() {
        out.error(cmd.node(), place.to_string(), msg);
    }
    let missing = |id: NodeId| layout.node(id).is_none() && !added_by_script(layout, id);
    match cmd {
        Command::AddNode(n) => {
            if layout.node(n.id).is_some() {
                out.error(
                    Some(n.id),
                    place.to_string(),
                    format!("add_node: id {} is already used", n.id),
                );
            }
        }
        Command::RestoreNode { node: n, .. } => {
            // Only a node of this layout (removed earlier in the script) can come back.
            if layout.node(n.id).is_none() {
                out.error(
                    None,
                    place.to_string(),
                    format!("restore_node: {}", no_node(n.id)),
                );
            }
        }
        Command::AddWire(w) | Command::SetWire(w) => {
            for id in [w.from, w.to] {
                if missing(id) {
                    out.error(
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
                    out.error(
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
                out.error(
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
            check_set_param(layout, *node, param, *value, place, out)
        }
        Command::SendRequest {
            client, key, user, ..
        } => {
            if layout.node(*client).is_some() || !missing(*client) {
                check_send_request(layout, *client, *key, *user, place, out);
            } else {
                out.error(
                    None,
                    place.to_string(),
                    format!("send_request: {}", no_node(*client)),
                );
            }
        }
        _ => {
            if let Some(id) = cmd.node()
                && missing(id)
            {
                out.error(
                    None,
                    place.to_string(),
                    format!("{}: {}", cmd.file_name(), no_node(id)),
                );
            }
        }
    }
}

/// `send_request`: from a client, with one of its keys and users.
fn check_send_request(
    layout: &Layout,
    client: NodeId,
    key: u32,
    user: u32,
    place: &str,
    out: &mut Problems,
) {
    match layout.node(client).map(|n| (&n.name, &n.kind)) {
        Some((name, NodeKind::Client(c))) => {
            if key == 0 || key > c.keys {
                out.error(
                    Some(client),
                    place.to_string(),
                    format!(
                        "send_request: key {key} is not one of {name}'s keys (1 to {})",
                        c.keys
                    ),
                );
            }
            if user >= c.users {
                out.error(
                    Some(client),
                    place.to_string(),
                    format!(
                        "send_request: user {user} is not below {name}'s users ({})",
                        c.users
                    ),
                );
            }
        }
        Some((name, _)) => out.error(
            Some(client),
            place.to_string(),
            format!("send_request: {name} is not a client"),
        ),
        None => {}
    }
}

/// `set_param`: the node exists (or the script adds it), has the parameter, and the value
/// is in its range.
fn check_set_param(
    layout: &Layout,
    node: NodeId,
    param: &str,
    value: f64,
    place: &str,
    out: &mut Problems,
) {
    let Some(n) = layout.node(node) else {
        if !added_by_script(layout, node) {
            out.error(
                None,
                place.to_string(),
                format!("set_param: {}", no_node(node)),
            );
        }
        return;
    };
    match params::find(n.kind.tag(), param) {
        None => out.error(
            Some(node),
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
            if let Err(msg) = meta.validate(value) {
                out.error(Some(node), place.to_string(), format!("set_param: {msg}"));
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
fn check_replication(layout: &Layout, out: &mut Problems) {
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
            out.error(
                Some(r.replica),
                place.clone(),
                "replication links two databases: a primary and its replica",
            );
            continue;
        }
        if r.primary == r.replica {
            out.error(
                Some(r.replica),
                place.clone(),
                "a database cannot replicate itself",
            );
        }
        if let Some(other) = primary_of.insert(r.replica, r.primary)
            && other != r.primary
        {
            out.error(
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
            out.error(Some(r.replica), place.clone(), msg);
        }
    }
    for (replica, primary) in &primary_of {
        if primary_of.contains_key(primary) {
            out.error(
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
            "an app server cannot call a client; it may call: load balancer, session store, cache, shard router, database, message queue"
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
