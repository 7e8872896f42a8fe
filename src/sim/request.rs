//! How a request or call ends.

/// Why a request or call failed. The names are the ones the JSON report uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailReason {
    /// The callee's queue was full.
    QueueFull,
    /// A balancer (or client) had nowhere to send the request.
    NoBackend,
    /// The callee was down (killed).
    NodeDown,
    /// The callee was removed from the layout while the request was inside it.
    NodeRemoved,
    /// The wire the call travelled on was removed.
    WireRemoved,
    /// The caller stopped waiting.
    Timeout,
    /// The request had already caused its most calls (`Limits::calls_per_request`); not
    /// retried, since a retry would meet the same limit.
    CallLimit,
    /// A message queue's backlog was full: the write was dropped.
    MessageQueueFull,
    /// A rate limiter's bucket had no token for it (HTTP 429); not retried: the answer says
    /// to slow down, and a retry at once would meet the same empty bucket.
    RateLimited,
}

impl FailReason {
    /// Every reason, in report order.
    pub const ALL: [FailReason; 9] = [
        FailReason::QueueFull,
        FailReason::NoBackend,
        FailReason::NodeDown,
        FailReason::NodeRemoved,
        FailReason::WireRemoved,
        FailReason::Timeout,
        FailReason::CallLimit,
        FailReason::MessageQueueFull,
        FailReason::RateLimited,
    ];

    /// The reason's name in reports (`queue_full`).
    pub fn name(self) -> &'static str {
        match self {
            FailReason::QueueFull => "queue_full",
            FailReason::NoBackend => "no_backend",
            FailReason::NodeDown => "node_down",
            FailReason::NodeRemoved => "node_removed",
            FailReason::WireRemoved => "wire_removed",
            FailReason::Timeout => "timeout",
            FailReason::CallLimit => "call_limit",
            FailReason::MessageQueueFull => "message_queue_full",
            FailReason::RateLimited => "rate_limited",
        }
    }

    /// Index into per-reason counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How a traced request ended, as the window colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A read that completed.
    Read,
    /// A write that completed.
    Write,
    /// Failed, with the first reason.
    Failed(FailReason),
}
