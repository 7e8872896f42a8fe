//! A bounded sample of request traces: every hop with its times and every decision with its
//! reason. A request is traced when its id is a multiple of `every`, never by drawing from the
//! simulation's generator, so turning traces on or off changes no result.

use super::ix::UnitIx;
use std::collections::VecDeque;

use super::balance::Why;
use super::request::{FailReason, Outcome};

/// Finished asked-for traces kept (`Traces::asked`), the oldest dropped first.
pub const ASKED_MAX: usize = 64;
/// Request ids a run may pick to trace whatever the sampling (`Traces::pick`).
pub const PICKED_MAX: usize = 1024;

/// One message on a wire: a request going down or a reply coming back.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    /// Instance indexes (see `Sim::unit_info`).
    pub from: UnitIx,
    pub to: UnitIx,
    pub depart_ns: u64,
    pub arrive_ns: u64,
    /// True for a reply travelling back to the caller.
    pub reply: bool,
    /// True when the reply carries a failure.
    pub failed: bool,
    /// Which call of the request this is: a call's hop and its reply's share it, and no two
    /// calls of a run do (its slot and the slot's reuse count).
    pub call: u64,
}

/// A choice a node made for the request, as a typed record: what was decided and the facts
/// it was decided on. The window puts it into words (`app/narrate.rs`); later views (request
/// waterfalls) read the same records.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub at_ns: u64,
    /// The instance that decided.
    pub unit: UnitIx,
    pub what: What,
}

/// What a node decided for a traced request, at every place the core decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum What {
    /// A balancer picked backend `to`, and why.
    Balanced { to: UnitIx, why: Why },
    /// An entry (floating IP or DNS) passed the request to balancer `to`.
    Entered { to: UnitIx },
    /// A server took the call: `queued` calls were waiting ahead of it and `busy` of its
    /// `workers` were serving (it waits when all are busy).
    Arrived {
        queued: u32,
        busy: u32,
        workers: u32,
    },
    /// A server gave the call a worker and began serving it: the call waited in its queue
    /// from the moment it `Arrived` until now.
    Started,
    /// A data cache looked the key up; `keys_held` is how many keys it holds.
    CacheLookup { key: u32, hit: bool, keys_held: u32 },
    /// An app server's own in-memory cache looked the key up.
    LocalCacheLookup { key: u32, hit: bool },
    /// After the database answered a read miss, the app server put the key into `cache`
    /// (cache-aside), which then holds `keys_held` keys.
    CacheFill {
        cache: UnitIx,
        key: u32,
        keys_held: u32,
    },
    /// After a write, the app server dropped (or updated) the key in `cache`.
    CacheWrite {
        cache: UnitIx,
        key: u32,
        updated: bool,
    },
    /// The app server chose database instance `to` for a read or a write; `replica` when it is
    /// not the primary the layout wires to.
    DatabaseChosen {
        to: UnitIx,
        read: bool,
        replica: bool,
    },
    /// A database instance read or wrote the key.
    Database { key: u32, read: bool },
    /// A shard router sent the call to the shard `to` owning the key.
    Sharded { to: UnitIx, key: u32 },
    /// A server looked the user's session up: `found`, in a shared store (`store`) or in its
    /// own memory.
    Session { found: bool, store: bool },
    /// The caller stopped waiting for `callee`.
    TimedOut { callee: UnitIx },
    /// The caller will try again after `backoff_ns` (attempt `attempt`, 1 = the first retry)
    /// because the last one failed with `reason`.
    Retry {
        attempt: u8,
        backoff_ns: u64,
        reason: FailReason,
    },
    /// The node failed the call with `reason` (refused it, or gave up on it).
    Failed { reason: FailReason },
    /// A CDN edge held the key of a cacheable read and answered it; it holds `objects`.
    EdgeHit { key: u32, objects: u32 },
    /// A CDN edge did not hold the key of a cacheable read: it asks the origin, and the
    /// answer fills it.
    EdgeMiss { key: u32, objects: u32 },
    /// A CDN edge passed a write or an uncacheable read to the origin untouched.
    EdgeForwarded { read: bool },
    /// A message queue appended the write behind `ahead` waiting messages (of at most
    /// `capacity`) and acknowledges it after `ack_ns`; the writer does not wait for it to be
    /// processed.
    Enqueued {
        ahead: u32,
        capacity: u32,
        ack_ns: u64,
    },
    /// A message queue's backlog was full (`capacity` messages): the write is dropped.
    QueueDropped { capacity: u32 },
    /// Consumer `consumer` pulled the message after it waited `waited_ns` in the backlog.
    Pulled { consumer: UnitIx, waited_ns: u64 },
    /// A rate limiter took a token (`admitted`) or found none; `tokens_left` whole tokens
    /// stay in the bucket, and the next one comes in `next_token_ns` (0: there is one now).
    RateLimit {
        admitted: bool,
        tokens_left: u32,
        next_token_ns: u64,
    },
}

/// Everything that happened to one sampled request.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub request_id: u64,
    pub client: UnitIx,
    pub user: u32,
    pub key: u32,
    pub read: bool,
    pub born_ns: u64,
    pub end_ns: Option<u64>,
    pub outcome: Option<Outcome>,
    /// At most `limits::TRACE_HOPS_MAX`.
    pub hops: Vec<Hop>,
    /// The latest arrival of its hops (0 with none): the window's dots skip a trace whose
    /// hops all ended before the frame without reading them, as each trace's hops are a heap
    /// block of their own, out of the processor's caches (`app::live`).
    pub hops_until_ns: u64,
    /// At most `limits::TRACE_DECISIONS_MAX`.
    pub decisions: Vec<Decision>,
    /// Hops and decisions left out because the trace was full.
    pub dropped: u32,
    /// Sent on purpose (`send_request`): traced whatever the sampling, kept apart.
    pub asked: bool,
}

/// How long finished traces are kept by default: the 300 s the series rings hold.
pub const TRACE_KEEP_NS: u64 = 300_000_000_000;

/// Trace settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    /// Trace requests whose id is a multiple of this; 0 turns tracing off.
    pub every: u64,
    /// Finished traces kept (the oldest are dropped).
    pub capacity: usize,
    /// Finished traces older than this (simulated ns before the newest finished) are dropped
    /// too, so a long run holds the traces of its last few minutes, like the plots' rings,
    /// rather than growing until `capacity` (0: no age limit).
    pub keep_ns: u64,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            every: 1000,
            capacity: 2000,
            keep_ns: TRACE_KEEP_NS,
        }
    }
}

/// Traces in progress and the last finished ones.
#[derive(Clone, Debug, Default)]
pub struct Traces {
    pub config: TraceConfig,
    /// In progress, by slot; `None` slots are free.
    pub open: Vec<Option<Trace>>,
    free: Vec<u32>,
    /// Finished, oldest first, at most `config.capacity`.
    pub done: VecDeque<Trace>,
    /// Finished asked-for traces (`send_request`), oldest first, at most [`ASKED_MAX`]; kept
    /// apart so that sampled traces never push them out.
    pub asked: VecDeque<Trace>,
    /// Finished traces of picked requests (`pick`), in the order they finished; kept apart
    /// so that sampled traces never push them out.
    pub picked: Vec<Trace>,
    /// Traces ever finished (held or dropped).
    pub finished: u64,
    /// The next request id to sample.
    next_id: u64,
    /// Request ids traced whatever the sampling, ascending, and the first not yet issued.
    pick_ids: Vec<u64>,
    pick_next: usize,
}

impl Traces {
    /// Bytes of the open and finished traces, with their hops and decisions (`footprint.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        use super::footprint::{deque, vec};
        let trace =
            |t: &Trace| vec(&t.hops, t.hops.capacity()) + vec(&t.decisions, t.decisions.capacity());
        vec(&self.open, self.open.capacity())
            + vec(&self.free, self.free.capacity())
            + deque(&self.done)
            + deque(&self.asked)
            + self.open.iter().flatten().map(trace).sum::<u64>()
            + self
                .done
                .iter()
                .chain(self.asked.iter())
                .map(trace)
                .sum::<u64>()
    }

    /// A trace store with these settings.
    pub fn new(config: TraceConfig) -> Self {
        Traces {
            config,
            ..Default::default()
        }
    }

    /// Also trace these request ids (at most [`PICKED_MAX`], the rest ignored), whatever the
    /// sampling: a replay of a run traces its slowest requests this way. Call it before the
    /// requests are issued; tracing changes no result.
    pub fn pick(&mut self, ids: &[u64]) {
        let mut ids: Vec<u64> = ids.iter().copied().take(PICKED_MAX).collect();
        ids.sort_unstable();
        ids.dedup();
        self.pick_ids = ids;
        self.pick_next = 0;
    }

    /// Whether request `id` is traced: sampled (ids 0, every, 2 x every, ...) or picked. Ids
    /// arrive in order, so a countdown replaces the division a modulo would cost on every
    /// request, and a cursor walks the picked ids.
    #[inline]
    pub fn wants(&mut self, id: u64) -> bool {
        let picked = self.is_picked_next(id);
        if self.config.every == 0 || id < self.next_id {
            return picked;
        }
        debug_assert!(id.is_multiple_of(self.config.every));
        self.next_id = id + self.config.every;
        true
    }

    #[inline]
    fn is_picked_next(&mut self, id: u64) -> bool {
        while self.pick_ids.get(self.pick_next).is_some_and(|&p| p < id) {
            self.pick_next += 1;
        }
        let picked = self.pick_ids.get(self.pick_next) == Some(&id);
        self.pick_next += usize::from(picked);
        picked
    }

    /// Open a trace; returns its slot.
    pub fn open(&mut self, t: Trace) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.open[slot as usize] = Some(t);
                slot
            }
            None => {
                self.open.push(Some(t));
                (self.open.len() - 1) as u32
            }
        }
    }

    /// The open trace in `slot`, if any.
    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Trace> {
        self.open.get_mut(slot as usize).and_then(|t| t.as_mut())
    }

    /// Finish the trace in `slot`.
    pub fn close(&mut self, slot: u32, end_ns: u64, outcome: Outcome) {
        let Some(mut t) = self.open.get_mut(slot as usize).and_then(|t| t.take()) else {
            return;
        };
        self.free.push(slot);
        // A finished trace is kept for a long time (up to `config.capacity` of them): give
        // back the room its records grew into (up to half of it), once per traced request.
        t.hops.shrink_to_fit();
        t.decisions.shrink_to_fit();
        t.end_ns = Some(end_ns);
        t.outcome = Some(outcome);
        if t.asked {
            if self.asked.len() >= ASKED_MAX {
                self.asked.pop_front();
            }
            self.asked.push_back(t);
            return;
        }
        if self.pick_ids.binary_search(&t.request_id).is_ok() {
            self.picked.push(t);
            return;
        }
        self.finished += 1;
        if self.config.capacity == 0 {
            return;
        }
        if self.done.len() >= self.config.capacity {
            self.done.pop_front();
        }
        // Traces finish in time order, so the oldest are at the front.
        if self.config.keep_ns > 0 {
            let oldest = end_ns.saturating_sub(self.config.keep_ns);
            while self.done.front().is_some_and(|f| f.end_ns < Some(oldest)) {
                self.done.pop_front();
            }
        }
        self.done.push_back(t);
    }
}

impl Traces {
    /// The asked-for trace of request `request_id`, finished or still in progress.
    pub fn asked_for(&self, request_id: u64) -> Option<&Trace> {
        let open = self.open.iter().flatten();
        (self.asked.iter().rev())
            .chain(open)
            .find(|t| t.asked && t.request_id == request_id)
    }
}
