//! What `check` says about a message queue: a queue nobody consumes fills up and then refuses
//! writes, and a queue nobody writes to stays empty. Both run, so both are warnings, named by
//! the queue. Its numbers (capacity, ack and delivery times) are checked from the parameter
//! table, and its memory (`capacity` messages) is priced in `limits.rs`.

use super::node::KindTag;
use super::{Layout, NodeId};

/// The warnings of the queue `id`.
pub fn warn_queue(layout: &Layout, id: NodeId, warn: &mut impl FnMut(String)) {
    let consumers = layout
        .wires_from(id)
        .filter(|w| {
            layout
                .node(w.to)
                .is_some_and(|n| n.kind.tag() == KindTag::AppServer)
        })
        .count();
    if consumers == 0 {
        warn(
            "the queue has no consumers (wire it to an app server pool): its messages are \
             never processed, so it fills up and then writes fail with message_queue_full"
                .into(),
        );
    }
    let writers = layout
        .wires
        .iter()
        .filter(|w| w.to == id)
        .filter(|w| {
            layout
                .node(w.from)
                .is_some_and(|n| n.kind.tag() == KindTag::AppServer)
        })
        .count();
    if writers == 0 {
        warn(
            "nothing writes to the queue (wire an app server to it: each write it serves \
             publishes one message)"
                .into(),
        );
    }
}
