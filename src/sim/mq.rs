//! A message queue and its consumers.
//!
//! A write that reaches a queue is appended to its backlog (FIFO, at most `capacity`
//! messages) and acknowledged after `ack_ms`: the writer's call ends there, whatever happens
//! to the message later (asynchronous). A write to a full queue fails at once with
//! `message_queue_full`, counted as a drop.
//!
//! The consumers are the app servers the queue is wired to. A consumer member with a free
//! worker (no call waiting in its own queue, none already on its way to it) pulls the oldest
//! message, which reaches it after the wire's latency plus `delivery_latency_ms`; there it is a
//! call like any other: it takes the worker, is served (the pool's service time) and makes the
//! pool's downstream calls (database, cache, ...). The message is processed when the consumer
//! finishes it; that frees the worker, which pulls the next message.
//!
//! A message in flight is a request of its own in the core's tables, whose "client" is the
//! queue: its calls are limited like a request's, but it is not counted among the clients'
//! requests (their arrived, completed, latency); it has its own counters here. A message that
//! fails at its consumer (or never reaches it) is counted as failed and not redelivered.
//!
//! Bounded: the backlog by `capacity` (priced by `check`), messages in flight by the
//! consumers' workers, the series by their rings.

use std::collections::{BTreeMap, VecDeque};

use super::ix::{CallIx, ReqIx, UnitIx};
use super::queue::Ev;
use super::request::FailReason;
use super::series::Ring;
use super::trace::What;
use super::unit::{self, Role};
use super::{CallState, Req, Sim};
use crate::layout::{KindTag, NodeId, QueueParams};

/// The first message id: far from any request id.
const MESSAGE_ID_BASE: u64 = 1 << 63;

/// One message waiting in a queue's backlog.
#[derive(Clone, Copy, Debug)]
struct Message {
    id: u64,
    born_ns: u64,
    user: u32,
    user_key: u64,
    key: u32,
    path: Option<u16>,
    /// The writing request, while it is traced (its slot and id), to record the pull on.
    writer: Option<(ReqIx, u64)>,
}

/// A queue's counters since the warm-up (messages written after it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QueueCounts {
    /// Writes appended to the backlog.
    pub enqueued: u64,
    /// Writes refused because the backlog was full.
    pub dropped: u64,
    /// Messages pulled by a consumer.
    pub pulled: u64,
    /// Messages a consumer finished.
    pub processed: u64,
    /// Messages that failed at their consumer or on the way to it (not redelivered).
    pub failed: u64,
    /// Sum over processed messages of the time from enqueue to processed, ns.
    pub processed_ns_sum: u128,
    /// Sum over pulled messages of the time they waited in the backlog, ns.
    pub waited_ns_sum: u128,
    /// Most messages the backlog held.
    pub max_backlog: u32,
}

/// A queue instance's state.
#[derive(Clone, Debug)]
pub struct QueueState {
    capacity: u32,
    ack_ns: u64,
    delivery_ns: u64,
    backlog: VecDeque<Message>,
    /// Round-robin cursor over the consumer members.
    next: usize,
    /// Messages on their way to a consumer, by message id.
    transit: BTreeMap<u64, UnitIx>,
    counts: QueueCounts,
    /// Counters at the previous series sample (enqueued, processed), for the rates.
    sampled: (u64, u64),
    /// Backlog (messages) and consumer lag (age of the oldest message, s) every sample.
    pub backlog_series: Ring,
    pub lag_series: Ring,
    /// Writes in and messages processed per second, every sample.
    pub in_series: Ring,
    pub out_series: Ring,
}

impl QueueState {
    /// An empty queue with these settings.
    pub fn new(p: &QueueParams) -> Self {
        let mut q = QueueState {
            capacity: 0,
            ack_ns: 0,
            delivery_ns: 0,
            backlog: VecDeque::new(),
            next: 0,
            transit: BTreeMap::new(),
            counts: QueueCounts::default(),
            sampled: (0, 0),
            backlog_series: Ring::default(),
            lag_series: Ring::default(),
            in_series: Ring::default(),
            out_series: Ring::default(),
        };
        q.set_params(p);
        q
    }

    /// Take changed settings; the backlog stays (a smaller capacity refuses writes until the
    /// backlog is under it).
    pub fn set_params(&mut self, p: &QueueParams) {
        self.capacity = p.capacity;
        self.ack_ns = crate::layout::ms_to_ns(p.ack_ms);
        self.delivery_ns = crate::layout::ms_to_ns(p.delivery_latency_ms);
    }

    /// Messages waiting now.
    pub fn backlog(&self) -> u32 {
        self.backlog.len() as u32
    }

    /// The age of the oldest waiting message at `now_ns` (0 when none waits): consumer lag.
    pub fn lag_ns(&self, now_ns: u64) -> u64 {
        self.backlog
            .front()
            .map_or(0, |m| now_ns.saturating_sub(m.born_ns))
    }

    /// Bytes of its buffers (`footprint.rs`).
    pub fn heap_bytes(&self) -> u64 {
        (self.backlog.capacity() * std::mem::size_of::<Message>() + self.transit.len() * 32) as u64
            + self.backlog_series.heap_bytes()
            + self.lag_series.heap_bytes()
            + self.in_series.heap_bytes()
            + self.out_series.heap_bytes()
    }
}

/// The queues of the running system and the messages on their way to each consumer.
#[derive(Clone, Debug, Default)]
pub struct MqIndex {
    queues: Vec<UnitIx>,
    /// A queue has existed in this run (removed ones included: their messages may still be on
    /// their way). Without one, the hooks on every call's path return at once.
    ever: bool,
    next_message: u64,
    en_route: BTreeMap<UnitIx, u32>,
}

/// What the report and the window show of one queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueMetrics {
    pub unit: UnitIx,
    pub node: NodeId,
    pub name: String,
    pub capacity: u32,
    pub backlog: u32,
    /// Age of the oldest waiting message now, ms.
    pub lag_ms: f64,
    pub counts: QueueCounts,
    /// Writes enqueued and messages processed per second of measured time.
    pub in_per_s: f64,
    pub out_per_s: f64,
    /// Mean time from enqueue to processed (W) and in the backlog (Wq), ms.
    pub processed_mean_ms: f64,
    pub waited_mean_ms: f64,
}

impl Sim {
    // ----- Reading -----

    /// Every queue's figures now, in instance order (empty without a queue).
    pub fn queues(&self) -> Vec<QueueMetrics> {
        let now = self.now_ns;
        let measured_s = now.saturating_sub(self.warmup_ns) as f64 / 1e9;
        let per_s = |n: u64| {
            if measured_s > 0.0 {
                n as f64 / measured_s
            } else {
                0.0
            }
        };
        let mean_ms = |sum: u128, n: u64| {
            if n > 0 {
                sum as f64 / n as f64 / 1e6
            } else {
                0.0
            }
        };
        self.units
            .iter()
            .enumerate()
            .filter(|(_, u)| !u.removed)
            .filter_map(|(i, u)| match &u.role {
                Role::Queue(q) => Some(QueueMetrics {
                    unit: UnitIx::at(i),
                    node: u.node,
                    name: u.name.clone(),
                    capacity: q.capacity,
                    backlog: q.backlog(),
                    lag_ms: q.lag_ns(now) as f64 / 1e6,
                    counts: q.counts,
                    in_per_s: per_s(q.counts.enqueued),
                    out_per_s: per_s(q.counts.processed),
                    processed_mean_ms: mean_ms(q.counts.processed_ns_sum, q.counts.processed),
                    waited_mean_ms: mean_ms(q.counts.waited_ns_sum, q.counts.pulled),
                }),
                _ => None,
            })
            .collect()
    }

    /// The state of the queue instance `unit` (its series among it), if it is one.
    pub fn queue_state(&self, unit: UnitIx) -> Option<&QueueState> {
        match self.units.get(unit.index()).map(|u| &u.role) {
            Some(Role::Queue(q)) => Some(q),
            _ => None,
        }
    }

    // ----- Hooks the engine calls -----

    /// After the routes are rebuilt: list the queues, and let new consumers pull.
    pub(super) fn mq_rebuild(&mut self) {
        self.mq.queues = (0..self.units.len())
            .map(UnitIx::at)
            .filter(|&i| matches!(self.units[i].role, Role::Queue(_)) && !self.units[i].removed)
            .collect();
        self.mq.ever |= !self.mq.queues.is_empty();
        self.mq_dispatch_all();
    }

    /// Every series sample: each queue's backlog, lag and rates; and a pull for consumers
    /// that came back (revived, booted) since the last message moved.
    pub(super) fn mq_sample(&mut self) {
        if self.mq.queues.is_empty() {
            return;
        }
        let now = self.now_ns;
        let interval_s = super::series::SAMPLE_NS as f64 / 1e9;
        for &qi in &self.mq.queues {
            let Role::Queue(q) = &mut self.units[qi].role else {
                continue;
            };
            q.backlog_series.push(q.backlog() as f32);
            q.lag_series.push((q.lag_ns(now) as f64 / 1e9) as f32);
            let (enq, done) = q.sampled;
            q.in_series
                .push(((q.counts.enqueued - enq) as f64 / interval_s) as f32);
            q.out_series
                .push(((q.counts.processed - done) as f64 / interval_s) as f32);
            q.sampled = (q.counts.enqueued, q.counts.processed);
        }
        self.mq_dispatch_all();
    }

    /// A write reaches the queue `unit`: append and acknowledge it, or refuse it when full.
    pub(super) fn mq_write(&mut self, call: CallIx, unit: UnitIx) {
        let now = self.now_ns;
        let counted = now >= self.warmup_ns;
        let req = self.calls[call].req;
        let Role::Queue(q) = &mut self.units[unit].role else {
            return self.reject(call, FailReason::NoBackend);
        };
        let capacity = q.capacity;
        if q.backlog.len() as u64 >= u64::from(capacity) {
            q.counts.dropped += u64::from(counted);
            self.units[unit].stats.queue_full += 1;
            self.trace_decision(req, unit, |_| What::QueueDropped { capacity });
            return self.reject(call, FailReason::MessageQueueFull);
        }
        // Messages are numbered apart from the clients' requests (whose ids drive trace
        // sampling), with the top bit set.
        let id = MESSAGE_ID_BASE | self.mq.next_message;
        self.mq.next_message += 1;
        let r = &self.reqs[req];
        let message = Message {
            id,
            born_ns: now,
            user: r.user,
            user_key: r.user_key,
            key: r.key,
            path: r.path,
            writer: r.trace.map(|_| (req, r.id)),
        };
        let Role::Queue(q) = &mut self.units[unit].role else {
            return;
        };
        let ahead = q.backlog();
        q.backlog.push_back(message);
        q.counts.enqueued += u64::from(counted);
        q.counts.max_backlog = q.counts.max_backlog.max(q.backlog());
        let ack_ns = q.ack_ns;
        self.trace_decision(req, unit, |_| What::Enqueued {
            ahead,
            capacity,
            ack_ns,
        });
        let c = &mut self.calls[call];
        c.state = CallState::Service;
        let epoch = c.epoch;
        self.events.push(now + ack_ns, Ev::Done { call, epoch });
        self.mq_dispatch(unit);
    }

    /// A call reaches its callee: a message's arrival at its consumer is no longer on its way.
    /// A queue has existed in this run: only then can a call come from one.
    #[inline]
    pub(super) fn had_queue(&self) -> bool {
        self.mq.ever
    }

    pub(super) fn mq_delivered(&mut self, call: CallIx) {
        if !self.mq.ever {
            return;
        }
        let c = &self.calls[call];
        if self.units[c.caller].kind != KindTag::Queue {
            return;
        }
        let id = self.reqs[c.req].id;
        self.mq_arrived(c.caller, id);
    }

    /// A call is finished at its callee: if it was a message, it is processed (or failed
    /// there), and its consumer's freed worker pulls the next one.
    pub(super) fn mq_finished(&mut self, call: CallIx) {
        if !self.mq.ever {
            return;
        }
        let c = &self.calls[call];
        let (queue, consumer, req) = (c.caller, c.callee, c.req);
        if self.units[queue].kind != KindTag::Queue {
            return;
        }
        let failed = c.fail.is_some();
        let now = self.now_ns;
        let warmup_ns = self.warmup_ns;
        let r = &mut self.reqs[req];
        if r.live {
            r.live = false;
            let counted = r.born_ns >= warmup_ns;
            let age = now.saturating_sub(r.born_ns);
            if let Role::Queue(q) = &mut self.units[queue].role
                && counted
            {
                if failed {
                    q.counts.failed += 1;
                } else {
                    q.counts.processed += 1;
                    q.counts.processed_ns_sum += u128::from(age);
                }
            }
        }
        self.mq_pull(consumer);
    }

    /// The answer of a message's call came back to its queue (or the queue stopped waiting):
    /// a message never finished by its consumer has failed. Its slot is released.
    pub(super) fn mq_replied(&mut self, req: ReqIx, fail: Option<FailReason>) {
        let r = &mut self.reqs[req];
        let (queue, id, born_ns) = (r.client, r.id, r.born_ns);
        if r.live {
            r.live = false;
            if born_ns >= self.warmup_ns
                && let Role::Queue(q) = &mut self.units[queue].role
            {
                if fail.is_some() {
                    q.counts.failed += 1;
                } else {
                    q.counts.processed += 1;
                    q.counts.processed_ns_sum += u128::from(self.now_ns.saturating_sub(born_ns));
                }
            }
        }
        // A message that never reached its consumer (its wire went away) frees its place.
        self.mq_arrived(queue, id);
        self.release_req(req);
    }

    /// Whether request `req` is a message (its "client" is a queue).
    pub(super) fn mq_is_message(&self, req: ReqIx) -> bool {
        self.mq.ever && self.units[self.reqs[req].client].kind == KindTag::Queue
    }

    // ----- Inside -----

    /// Message `id` of queue `queue` is no longer on its way to its consumer.
    fn mq_arrived(&mut self, queue: UnitIx, id: u64) {
        let Role::Queue(q) = &mut self.units[queue].role else {
            return;
        };
        let Some(consumer) = q.transit.remove(&id) else {
            return;
        };
        if let Some(n) = self.mq.en_route.get_mut(&consumer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.mq.en_route.remove(&consumer);
            }
        }
    }

    /// Consumer `consumer` has a worker free: every queue offers its oldest message.
    fn mq_pull(&mut self, consumer: UnitIx) {
        if self.mq.queues.is_empty() || !self.mq_has_room(consumer) {
            return;
        }
        self.mq_dispatch_all();
    }

    fn mq_dispatch_all(&mut self) {
        for i in 0..self.mq.queues.len() {
            let q = self.mq.queues[i];
            self.mq_dispatch(q);
        }
    }

    /// Whether consumer member `u` has a worker that no call holds, waits for or is on its
    /// way to.
    fn mq_has_room(&self, u: UnitIx) -> bool {
        let unit = &self.units[u];
        if !unit.alive
            || unit.removed
            || unit.draining
            || unit.ready_ns > self.now_ns
            || !matches!(unit.role, Role::Server { .. })
        {
            return false;
        }
        let coming = self.mq.en_route.get(&u).copied().unwrap_or(0);
        u64::from(unit.held) + unit.queue.len() as u64 + u64::from(coming) < u64::from(unit.workers)
    }

    /// Hand the queue's oldest messages to consumers with a free worker, round-robin, until
    /// the backlog is empty or every consumer is busy.
    fn mq_dispatch(&mut self, queue: UnitIx) {
        loop {
            let u = &self.units[queue];
            if !u.alive || u.removed {
                return;
            }
            let Role::Queue(q) = &u.role else {
                return;
            };
            if q.backlog.is_empty() {
                return;
            }
            let total = unit::target_count(&u.routes);
            let start = q.next;
            let found = (0..total)
                .filter_map(|k| {
                    let i = (start + k) % total;
                    unit::nth_target(&u.routes, i).map(|t| (i, t))
                })
                .find(|(_, (to, _, _))| self.mq_has_room(*to));
            let Some((i, (consumer, wire_ns, policy))) = found else {
                return;
            };
            let now = self.now_ns;
            let warmup_ns = self.warmup_ns;
            let Role::Queue(q) = &mut self.units[queue].role else {
                return;
            };
            let Some(m) = q.backlog.pop_front() else {
                return;
            };
            q.next = (i + 1) % total;
            let waited_ns = now.saturating_sub(m.born_ns);
            if m.born_ns >= warmup_ns {
                q.counts.pulled += 1;
                q.counts.waited_ns_sum += u128::from(waited_ns);
            }
            q.transit.insert(m.id, consumer);
            let latency_ns = wire_ns + q.delivery_ns;
            *self.mq.en_route.entry(consumer).or_default() += 1;
            if let Some((writer, writer_id)) = m.writer
                && self.reqs[writer].id == writer_id
            {
                self.trace_decision(writer, queue, |_| What::Pulled {
                    consumer,
                    waited_ns,
                });
            }
            let req = self.alloc_req(Req {
                id: m.id,
                client: queue,
                user: m.user,
                user_key: m.user_key,
                key: m.key,
                path: m.path,
                read: false,
                cacheable: false,
                born_ns: m.born_ns,
                counted: false,
                live: true,
                refs: 1,
                trace: None,
                attempt: 0,
                calls: 0,
                asked: false,
            });
            let call = self.alloc_call(req, None, queue, consumer, latency_ns, policy);
            self.send(call);
        }
    }
}
