//! The layouts shipped in saves/ and the lessons of assets/, embedded in the binary so it works
//! outside the repository.

/// (file name, RON text) of every shipped layout.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "active-passive.ron",
        include_str!("../saves/active-passive.ron"),
    ),
    (
        "autoscale-flapping.ron",
        include_str!("../saves/autoscale-flapping.ron"),
    ),
    ("autoscale.ron", include_str!("../saves/autoscale.ron")),
    ("cache-aside.ron", include_str!("../saves/cache-aside.ron")),
    (
        "cache-cluster.ron",
        include_str!("../saves/cache-cluster.ron"),
    ),
    ("cdn.ron", include_str!("../saves/cdn.ron")),
    (
        "consistent-hash.ron",
        include_str!("../saves/consistent-hash.ron"),
    ),
    ("deep-probes.ron", include_str!("../saves/deep-probes.ron")),
    (
        "dns-active-active.ron",
        include_str!("../saves/dns-active-active.ron"),
    ),
    (
        "health-checks.ron",
        include_str!("../saves/health-checks.ron"),
    ),
    ("l4-vs-l7.ron", include_str!("../saves/l4-vs-l7.ron")),
    ("lb-spof.ron", include_str!("../saves/lb-spof.ron")),
    (
        "least-connections.ron",
        include_str!("../saves/least-connections.ron"),
    ),
    ("mm4.ron", include_str!("../saves/mm4.ron")),
    ("rate-limit.ron", include_str!("../saves/rate-limit.ron")),
    (
        "path-routing.ron",
        include_str!("../saves/path-routing.ron"),
    ),
    (
        "power-of-two.ron",
        include_str!("../saves/power-of-two.ron"),
    ),
    (
        "queue-consumers.ron",
        include_str!("../saves/queue-consumers.ron"),
    ),
    (
        "read-replicas.ron",
        include_str!("../saves/read-replicas.ron"),
    ),
    (
        "replica-failover.ron",
        include_str!("../saves/replica-failover.ron"),
    ),
    (
        "request-flow.ron",
        include_str!("../saves/request-flow.ron"),
    ),
    (
        "retry-budget.ron",
        include_str!("../saves/retry-budget.ron"),
    ),
    ("retry-storm.ron", include_str!("../saves/retry-storm.ron")),
    ("scale-out.ron", include_str!("../saves/scale-out.ron")),
    ("scale-up.ron", include_str!("../saves/scale-up.ron")),
    (
        "session-store.ron",
        include_str!("../saves/session-store.ron"),
    ),
    (
        "shards-hot-key.ron",
        include_str!("../saves/shards-hot-key.ron"),
    ),
    ("shards.ron", include_str!("../saves/shards.ron")),
    (
        "sticky-sessions.ron",
        include_str!("../saves/sticky-sessions.ron"),
    ),
    ("three-tier.ron", include_str!("../saves/three-tier.ron")),
    (
        "weighted-round-robin.ron",
        include_str!("../saves/weighted-round-robin.ron"),
    ),
];

/// The text of the shipped layout called `name` (with or without `saves/`).
pub fn find(name: &str) -> Option<&'static str> {
    let name = name.strip_prefix("saves/").unwrap_or(name);
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The shipped layouts' file names.
pub fn names() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(n, _)| *n)
}

/// (file name, RON text) of every shipped lesson, in the gallery's order (keys 1 to 8 in
/// presentation mode open the first eight).
pub const LESSONS: &[(&str, &str)] = &[
    (
        "1-request-flow.lesson.ron",
        include_str!("../assets/1-request-flow.lesson.ron"),
    ),
    (
        "2-scaling.lesson.ron",
        include_str!("../assets/2-scaling.lesson.ron"),
    ),
    (
        "3-sessions.lesson.ron",
        include_str!("../assets/3-sessions.lesson.ron"),
    ),
    (
        "4-algorithms.lesson.ron",
        include_str!("../assets/4-algorithms.lesson.ron"),
    ),
    (
        "5-consistent-hashing.lesson.ron",
        include_str!("../assets/5-consistent-hashing.lesson.ron"),
    ),
    (
        "6-balancer-spof.lesson.ron",
        include_str!("../assets/6-balancer-spof.lesson.ron"),
    ),
    (
        "7-read-ladder.lesson.ron",
        include_str!("../assets/7-read-ladder.lesson.ron"),
    ),
    (
        "8-writes-shards.lesson.ron",
        include_str!("../assets/8-writes-shards.lesson.ron"),
    ),
];

/// The text of the shipped lesson called `name` (with or without `assets/`).
pub fn find_lesson(name: &str) -> Option<&'static str> {
    let name = name.strip_prefix("assets/").unwrap_or(name);
    LESSONS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// (file name, RON text) of every shipped design drill, in order: lesson files with a `drill`
/// part (`drill.rs`).
pub const DRILLS: &[(&str, &str)] = &[
    (
        "drill-1-warm-up.lesson.ron",
        include_str!("../assets/drill-1-warm-up.lesson.ron"),
    ),
    (
        "drill-2-read-ladder.lesson.ron",
        include_str!("../assets/drill-2-read-ladder.lesson.ron"),
    ),
    (
        "drill-3-balancer-spof.lesson.ron",
        include_str!("../assets/drill-3-balancer-spof.lesson.ron"),
    ),
    (
        "drill-4-write-shards.lesson.ron",
        include_str!("../assets/drill-4-write-shards.lesson.ron"),
    ),
];
