//! A traced request in words: the core's typed records (`sim::trace`: hops and `What`
//! decisions) become the request stepper's steps, one sentence each, with the facts that
//! change beside them (keys in the cache, the server picked, the queue met, the time so far).
//! Nothing here is canned: every step is a hop or a decision the core recorded.

use crate::layout::{KindTag, Layout, NodeId, NodeKind, Sessions};
use crate::sim::{FailReason, Outcome, Sim, Trace, UnitIx, What, Why};

/// One step of a walk: what the canvas highlights, the sentence, and the facts after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Simulated time of the step, ns.
    pub at_ns: u64,
    /// The node that acts in this step.
    pub node: Option<NodeId>,
    /// The wire the request (or its reply) travels in this step, (from, to).
    pub wire: Option<(NodeId, NodeId)>,
    pub sentence: String,
    pub facts: Facts,
}

/// What is known after a step; each is shown once known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// Time since the request left its client, ms.
    pub elapsed_ms: f64,
    /// Keys the cache held when last looked at.
    pub cached_keys: Option<u32>,
    /// The server a balancer picked.
    pub server: Option<String>,
    /// The last server met: (name, calls waiting ahead, busy workers, workers).
    pub queue: Option<(String, u32, u32, u32)>,
    /// Where the answer came from: "cache (hit)", "database" …
    pub served_from: Option<String>,
}

impl Facts {
    /// The facts as "name = value" lines, in a fixed order.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("elapsed = {:.2} ms", self.elapsed_ms)];
        if let Some(k) = self.cached_keys {
            out.push(format!("cached keys = {k}"));
        }
        if let Some(s) = &self.server {
            out.push(format!("server = {s}"));
        }
        if let Some((name, queued, busy, workers)) = &self.queue {
            out.push(format!(
                "queue at {name} = {queued} waiting, {busy} of {workers} workers busy"
            ));
        }
        if let Some(s) = &self.served_from {
            out.push(format!("answer from = {s}"));
        }
        out
    }
}

/// A whole walk: the request in words, its steps, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    pub steps: Vec<Step>,
    /// Time from leaving the client to the answer (or failure), ms.
    pub total_ms: f64,
    /// One line on how it ended: "served from the cache", "failed at app[0]: node down".
    pub ending: String,
}

/// The request as the lesson writes it: `GET /u/7` for a read of key 7, `PUT /u/7` a write.
pub fn request_label(read: bool, key: u32) -> String {
    format!("{} /u/{key}", if read { "GET" } else { "PUT" })
}

/// A failure reason in words.
pub fn reason_words(r: FailReason) -> &'static str {
    match r {
        FailReason::QueueFull => "its queue was full",
        FailReason::NoBackend => "there was nowhere to send it",
        FailReason::NodeDown => "the node is down",
        FailReason::NodeRemoved => "the node was removed",
        FailReason::WireRemoved => "the wire was removed",
        FailReason::Timeout => "the caller stopped waiting (timeout)",
        FailReason::CallLimit => "the request made too many calls",
        FailReason::MessageQueueFull => "the message queue was full, so the write was dropped",
        FailReason::RateLimited => "the rate limiter had no token for it (rate limited)",
    }
}

/// A rate limiter's decision in words: the token taken and what is left, or the empty bucket
/// and when it next holds a token.
pub fn rate_limit_words(at: &str, admitted: bool, tokens_left: u32, next_token_ns: u64) -> String {
    if admitted {
        let left = match tokens_left {
            0 => "none are left, so the next request in the same bucket waits for a refill"
                .to_string(),
            1 => "1 is left".to_string(),
            n => format!("{n} are left"),
        };
        format!("{at} takes a token from the bucket and lets the request through; {left}.")
    } else {
        format!(
            "{at} finds the bucket empty and refuses the request at once (rate_limited); the next token comes in {:.1} ms.",
            next_token_ns as f64 / 1e6
        )
    }
}

/// One record of the trace, before it becomes a step.
enum Item<'a> {
    Hop(&'a crate::sim::trace::Hop),
    Decision(&'a crate::sim::Decision),
}

/// Tell the story of a finished (or still running) trace.
pub fn tell(trace: &Trace, sim: &Sim, layout: &Layout) -> Story {
    // In time order; at the same instant a decision comes before the hop it leads to.
    let mut items: Vec<(u64, u8, usize, Item)> = Vec::new();
    for (i, h) in trace.hops.iter().enumerate() {
        items.push((h.depart_ns, 1, i, Item::Hop(h)));
    }
    for (i, d) in trace.decisions.iter().enumerate() {
        items.push((d.at_ns, 0, i, Item::Decision(d)));
    }
    items.sort_by_key(|(t, order, i, _)| (*t, *order, *i));
    let mut teller = Teller {
        trace,
        sim,
        layout,
        what: request_label(trace.read, trace.key),
        steps: Vec::new(),
        facts: Facts::default(),
        cache_hit: None,
        source: None,
        first_hop: true,
        pick: None,
        arrived: None,
    };
    for (_, _, _, item) in items {
        match item {
            Item::Hop(h) => teller.hop(h),
            Item::Decision(d) => teller.decision(d),
        }
    }
    teller.flush_pick();
    let end_ns = trace
        .end_ns
        .or_else(|| teller.steps.last().map(|s| s.at_ns))
        .unwrap_or(trace.born_ns);
    Story {
        total_ms: teller.elapsed(end_ns),
        ending: teller.ending(),
        steps: teller.steps,
    }
}

/// The story as it is told, hop by hop and decision by decision.
struct Teller<'a> {
    trace: &'a Trace,
    sim: &'a Sim,
    layout: &'a Layout,
    /// "GET /u/7".
    what: String,
    steps: Vec<Step>,
    facts: Facts,
    cache_hit: Option<bool>,
    /// Where a read's answer came from, for the ending.
    source: Option<String>,
    first_hop: bool,
    /// A pick waiting for the hop it leads to: (at, unit, target, sentence).
    pick: Option<(u64, UnitIx, UnitIx, String)>,
    /// Where and when the request last arrived at a server, for its wait in the queue.
    arrived: Option<(UnitIx, u64)>,
}

impl Teller<'_> {
    fn name(&self, u: UnitIx) -> String {
        self.sim
            .unit_info(u)
            .map_or_else(|| "?".into(), |i| i.name.to_string())
    }

    fn node(&self, u: UnitIx) -> Option<NodeId> {
        self.sim.unit_info(u).map(|i| i.id.node)
    }

    fn kind(&self, u: UnitIx) -> Option<KindTag> {
        self.sim.unit_info(u).map(|i| i.kind)
    }

    fn elapsed(&self, t: u64) -> f64 {
        t.saturating_sub(self.trace.born_ns) as f64 / 1e6
    }

    fn push(
        &mut self,
        at: u64,
        node: Option<NodeId>,
        wire: Option<(NodeId, NodeId)>,
        sentence: String,
    ) {
        let mut facts = self.facts.clone();
        facts.elapsed_ms = self.elapsed(at);
        self.steps.push(Step {
            at_ns: at,
            node,
            wire,
            sentence,
            facts,
        });
    }

    /// A pick still waiting for its hop becomes a step of its own.
    fn flush_pick(&mut self) {
        if let Some((t, unit, _, sentence)) = self.pick.take() {
            let node = self.node(unit);
            self.push(t, node, None, sentence);
        }
    }

    fn hop(&mut self, h: &crate::sim::trace::Hop) {
        let wire = self.node(h.from).zip(self.node(h.to));
        if let Some((at, unit, to, sentence)) = self.pick.take() {
            if unit == h.from && to == h.to && !h.reply {
                let node = self.node(h.to);
                self.push(h.arrive_ns, node, wire, sentence);
                return;
            }
            let node = self.node(unit);
            self.push(at, node, None, sentence);
        }
        let sentence = self.hop_sentence(h);
        let node = self.node(h.to);
        self.push(h.arrive_ns, node, wire, sentence);
    }

    fn hop_sentence(&mut self, h: &crate::sim::trace::Hop) -> String {
        let (from, to) = (self.name(h.from), self.name(h.to));
        let what = &self.what;
        if self.first_hop && !h.reply {
            self.first_hop = false;
            format!(
                "{from} sends {what} to {to}; the wire takes {:.1} ms.",
                h.arrive_ns.saturating_sub(h.depart_ns) as f64 / 1e6
            )
        } else if !h.reply {
            match self.kind(h.to) {
                Some(KindTag::Cache) => format!(
                    "{from} asks {to} for key {} first (cache-aside: the cache before the database).",
                    self.trace.key
                ),
                Some(KindTag::Database) => {
                    format!("{from} asks the database {to} for key {}.", self.trace.key)
                }
                _ => format!("{from} passes the request to {to}."),
            }
        } else if h.failed {
            format!("{from} answers {to} with a failure.")
        } else {
            match (self.kind(h.from), self.kind(h.to)) {
                (Some(KindTag::Cache), _) if self.cache_hit == Some(true) => {
                    format!(
                        "{from} sends the value of key {} back to {to}.",
                        self.trace.key
                    )
                }
                (Some(KindTag::Cache), _) if self.trace.read => {
                    format!("{from} answers {to}: not found.")
                }
                (Some(KindTag::Database), _) => {
                    format!("{from} returns key {} to {to}.", self.trace.key)
                }
                (_, Some(KindTag::Client)) => {
                    format!("{from} returns the answer to {to}: done.")
                }
                _ => format!("{from} answers {to}."),
            }
        }
    }

    fn decision(&mut self, d: &crate::sim::Decision) {
        self.flush_pick();
        let mut leads_to = None;
        let Some(sentence) = self.decision_sentence(d, &mut leads_to) else {
            return;
        };
        match leads_to {
            Some(to) => self.pick = Some((d.at_ns, d.unit, to, sentence)),
            None => {
                let node = self.node(d.unit);
                self.push(d.at_ns, node, None, sentence);
            }
        }
    }

    /// One decision in words (`None`: a fact, not a step); `leads_to` is set when the
    /// sentence belongs with the hop to that unit.
    fn decision_sentence(
        &mut self,
        d: &crate::sim::Decision,
        leads_to: &mut Option<UnitIx>,
    ) -> Option<String> {
        let at = self.name(d.unit);
        let node = self.node(d.unit);
        let sentence = match d.what {
            What::Arrived {
                queued,
                busy,
                workers,
            } => {
                // A fact, not a step: the queue the request met where it arrived.
                self.arrived = Some((d.unit, d.at_ns));
                self.facts.queue = Some((at, queued, busy, workers));
                if let Some(last) = self.steps.last_mut()
                    && last.node == node
                {
                    last.facts.queue = self.facts.queue.clone();
                }
                return None;
            }
            What::Balanced { to, why } => {
                *leads_to = Some(to);
                self.facts.server = Some(self.name(to));
                balanced(
                    &at,
                    to,
                    why,
                    &|u| self.name(u),
                    stateless_hint(self.layout, self.node(to)),
                )
            }
            What::Entered { to } => {
                *leads_to = Some(to);
                format!("{at} passes the request to the balancer {}.", self.name(to))
            }
            What::Session { found, store } => match (found, store) {
                (true, true) => format!(
                    "{at} holds the user's session in the shared store: any server can serve this user."
                ),
                (false, true) => format!(
                    "{at} has no session for this user yet: it creates one (the user logs in)."
                ),
                (true, false) => format!(
                    "{at} holds this user's session in its own memory, so the user must keep coming back here."
                ),
                (false, false) => format!(
                    "{at} has no session for this user in its memory: the user has to log in again."
                ),
            },
            What::Started => {
                // A step only when the request waited for a worker.
                let waited_ns = match self.arrived.take() {
                    Some((unit, since)) if unit == d.unit => d.at_ns.saturating_sub(since),
                    _ => 0,
                };
                if waited_ns == 0 {
                    return None;
                }
                format!(
                    "{at} gives the request a worker after {:.2} ms in its queue.",
                    waited_ns as f64 / 1e6
                )
            }
            What::TimedOut { callee } => {
                format!("{at} stops waiting for {}: a timeout.", self.name(callee))
            }
            What::Retry {
                attempt,
                backoff_ns,
                reason,
            } => format!(
                "{at} tries again (retry {attempt}) after waiting {:.1} ms, because {}.",
                backoff_ns as f64 / 1e6,
                reason_words(reason)
            ),
            What::Failed { reason } => {
                format!("{at} fails the request: {}.", reason_words(reason))
            }
            What::Enqueued {
                ahead,
                capacity,
                ack_ns,
            } => format!(
                "{at} appends the write as a message behind {ahead} waiting (it holds at most \
                 {capacity}) and acknowledges it after {:.2} ms: the writer does not wait for \
                 it to be processed.",
                ack_ns as f64 / 1e6
            ),
            What::QueueDropped { capacity } => format!(
                "{at} already holds {capacity} messages, its capacity: the write is dropped."
            ),
            What::Pulled {
                consumer,
                waited_ns,
            } => format!(
                "{} has a free worker and pulls the message from {at}, where it waited {:.2} ms.",
                self.name(consumer),
                waited_ns as f64 / 1e6
            ),
            What::RateLimit {
                admitted,
                tokens_left,
                next_token_ns,
            } => rate_limit_words(&at, admitted, tokens_left, next_token_ns),
            _ => return Some(self.data_sentence(&at, d.what, leads_to)),
        };
        Some(sentence)
    }

    /// A decision of the data tier in words: which database, replica or shard, the caches.
    fn data_sentence(&mut self, at: &str, what: What, leads_to: &mut Option<UnitIx>) -> String {
        match what {
            What::DatabaseChosen { to, read, replica } => {
                *leads_to = Some(to);
                match (read, replica) {
                    (true, true) => format!(
                        "{at} reads key {} from {}, a read replica, which spares the primary.",
                        self.trace.key,
                        self.name(to)
                    ),
                    (true, false) => format!(
                        "{at} asks the database {} for key {}.",
                        self.name(to),
                        self.trace.key
                    ),
                    (false, _) => format!(
                        "{at} sends the write of key {} to the primary, {}.",
                        self.trace.key,
                        self.name(to)
                    ),
                }
            }
            What::Sharded { to, key } => {
                *leads_to = Some(to);
                format!(
                    "{at} sends key {key} to {}, the shard that owns it.",
                    self.name(to)
                )
            }
            What::CacheLookup {
                key,
                hit,
                keys_held,
            } => {
                self.cache_hit = Some(hit);
                self.facts.cached_keys = Some(keys_held);
                if hit {
                    self.facts.served_from = Some(format!("{at} (hit)"));
                    self.source = Some(format!("served from the cache ({at})"));
                    format!(
                        "{at} holds key {key}: a hit. It answers from memory and the database is never asked."
                    )
                } else {
                    format!(
                        "{at} does not hold key {key}: a miss. The app server will have to ask the database."
                    )
                }
            }
            What::LocalCacheLookup { key, hit } => {
                if hit {
                    self.facts.served_from = Some(format!("{at}'s own memory"));
                    self.source = Some(format!("served from {at}'s own memory"));
                    format!("{at} finds key {key} in its own memory: nothing else is asked.")
                } else {
                    format!("{at} does not have key {key} in its own memory.")
                }
            }
            What::CacheFill {
                cache,
                key,
                keys_held,
            } => {
                self.facts.cached_keys = Some(keys_held);
                format!(
                    "{at} puts key {key} into {} (cache-aside fill), so the next read of it is a hit.",
                    self.name(cache)
                )
            }
            What::CacheWrite {
                cache,
                key,
                updated,
            } => {
                if updated {
                    format!("{at} updates key {key} in {}.", self.name(cache))
                } else {
                    format!(
                        "{at} drops key {key} from {}, so nobody reads the old value.",
                        self.name(cache)
                    )
                }
            }
            What::Database { key, read } => {
                if read {
                    self.facts.served_from = Some(format!("{at} (database)"));
                    self.source = Some(format!("served from the database ({at})"));
                    format!("{at} reads key {key}: the slow path a cache miss costs.")
                } else {
                    format!("{at} writes key {key}.")
                }
            }
            What::EdgeHit { key, objects } => {
                self.facts.cached_keys = Some(objects);
                self.facts.served_from = Some(format!("{at} (edge hit)"));
                self.source = Some(format!("served from the CDN edge ({at})"));
                format!(
                    "{at}, the CDN edge, holds object {key}: an edge hit. It answers close to the client and the origin never sees the request."
                )
            }
            What::EdgeMiss { key, objects } => {
                self.facts.cached_keys = Some(objects);
                format!(
                    "{at}, the CDN edge, does not hold object {key}: an edge miss. It asks the origin, and the answer fills the edge on its way back."
                )
            }
            What::EdgeForwarded { read } => {
                if read {
                    format!(
                        "{at}, the CDN edge, may not cache this read: it passes it to the origin untouched."
                    )
                } else {
                    format!(
                        "{at}, the CDN edge, passes the write to the origin (an edge caches reads only)."
                    )
                }
            }
            _ => String::new(),
        }
    }

    /// How the request ended.
    fn ending(&self) -> String {
        match self.trace.outcome {
            None => "still on its way".to_string(),
            Some(Outcome::Failed(reason)) => {
                // The node that failed it first.
                let at = self
                    .trace
                    .decisions
                    .iter()
                    .find(|d| matches!(d.what, What::Failed { .. } | What::TimedOut { .. }))
                    .map(|d| self.name(d.unit))
                    .unwrap_or_else(|| self.name(self.trace.client));
                format!("failed at {at}: {}", reason_words(reason))
            }
            Some(Outcome::Read) => self
                .source
                .clone()
                .unwrap_or_else(|| "answered".to_string()),
            Some(Outcome::Write) => "written".to_string(),
        }
    }
}

/// A balancer's pick in words, with why, and what the target's kind means for the request.
fn balanced(lb: &str, to: UnitIx, why: Why, name: &dyn Fn(UnitIx) -> String, hint: &str) -> String {
    let reason = match why {
        Why::RoundRobin { .. } => "the next in turn (round-robin)".to_string(),
        Why::LeastConnections { in_flight, .. } => {
            format!("it has the fewest requests in flight ({in_flight}; least-connections)")
        }
        Why::ConsistentHash { .. } => "the owner of this key on the ring (consistent hashing), \
             so the same key always lands on the same server"
            .to_string(),
        Why::StickyCookie { .. } => {
            "the user's session cookie ties them to it (sticky sessions)".to_string()
        }
        other => crate::sim::explain(other, to, name),
    };
    format!("{lb} routes the request to {}: {reason}.{hint}", name(to))
}

/// What an app server's sessions mean for balancing: stateless servers can take anything.
fn stateless_hint(layout: &Layout, node: Option<NodeId>) -> &'static str {
    match node.and_then(|n| layout.node(n)).map(|n| &n.kind) {
        Some(NodeKind::AppServer(a)) if a.sessions == Sessions::Local => {
            " It keeps sessions in its own memory, so this user's next requests must return to it."
        }
        Some(NodeKind::AppServer(_)) => {
            " The servers keep no state of their own, so any one of them can serve it."
        }
        _ => "",
    }
}
