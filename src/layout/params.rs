//! The one table of numeric parameter metadata: name, unit, default, valid range and help text.
//!
//! `check` validates ranges with it, the README's parameter table is generated from it
//! (`tierlab params`), and the window's inspector builds its widgets from it, so the three can
//! never disagree. Ranges are written here and nowhere else.

use super::node::{KindTag, NodeKind};

/// Metadata of one numeric parameter of one node kind.
#[derive(Clone, Copy, Debug)]
pub struct ParamMeta {
    pub kind: KindTag,
    /// The field name in the file, e.g. `service_ms`.
    pub name: &'static str,
    /// Unit for display, e.g. "ms", "1/s", "" for a plain count.
    pub unit: &'static str,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    /// Whole numbers only.
    pub integer: bool,
    pub help: &'static str,
    get: fn(&NodeKind) -> Option<f64>,
    set: fn(&mut NodeKind, f64),
}

impl ParamMeta {
    /// The parameter's value on `kind`, or `None` when `kind` is another kind.
    pub fn get(&self, kind: &NodeKind) -> Option<f64> {
        (self.get)(kind)
    }

    /// Set the parameter on `kind` if `value` is valid; otherwise say why, naming the range.
    pub fn set(&self, kind: &mut NodeKind, value: f64) -> Result<(), String> {
        self.validate(value)?;
        if kind.tag() != self.kind {
            return Err(format!(
                "`{}` is a parameter of a {}, not of a {}",
                self.name,
                self.kind.label(),
                kind.tag().label()
            ));
        }
        (self.set)(kind, value);
        Ok(())
    }

    /// `Ok` when `value` is inside the range (and whole, for whole-number parameters).
    pub fn validate(&self, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err(format!("{} must be a number, not {value}", self.name));
        }
        if value < self.min || value > self.max {
            return Err(format!(
                "{} = {} is out of range: it must be from {} to {}{}",
                self.name,
                fmt_num(value),
                fmt_num(self.min),
                fmt_num(self.max),
                if self.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", self.unit)
                }
            ));
        }
        if self.integer && value.fract() != 0.0 {
            return Err(format!("{} must be a whole number, not {value}", self.name));
        }
        Ok(())
    }
}

/// A number without a trailing `.0`.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

macro_rules! param {
    ($kind:ident, $variant:ident, $field:ident, $ty:ty, $unit:expr, $default:expr, $min:expr, $max:expr, $int:expr, $help:expr) => {
        ParamMeta {
            kind: KindTag::$kind,
            name: stringify!($field),
            unit: $unit,
            default: $default,
            min: $min,
            max: $max,
            integer: $int,
            help: $help,
            get: |k| match k {
                NodeKind::$variant(p) => Some(p.$field as f64),
                _ => None,
            },
            set: |k, v| {
                if let NodeKind::$variant(p) = k {
                    p.$field = v as $ty;
                }
            },
        }
    };
}

/// Every numeric parameter of every kind, in inspector order.
#[rustfmt::skip]
pub static PARAMS: &[ParamMeta] = &[
    param!(Client, Client, qps, f64, "1/s", 100.0, 0.0, 10_000_000.0, false,
        "Open loop: requests per second arriving from this client"),
    param!(Client, Client, users, u32, "", 1000.0, 1.0, 10_000_000.0, true,
        "Closed loop: concurrent users. Open loop: the population requests are drawn from"),
    param!(Client, Client, think_ms, f64, "ms", 1000.0, 0.0, 3_600_000.0, false,
        "Closed loop: mean think time between a reply and the next request"),
    param!(Client, Client, read_share, f64, "", 0.9, 0.0, 1.0, false,
        "Share of requests that are reads; the rest are writes"),
    param!(Client, Client, keys, u32, "", 10_000.0, 1.0, 100_000_000.0, true,
        "Number of distinct keys requests are spread over"),
    param!(Client, Client, key_zipf_alpha, f64, "", 1.0, 0.0, 5.0, false,
        "Zipf exponent of key popularity (used when key_dist is zipf)"),
    param!(Client, Client, user_zipf_alpha, f64, "", 0.0, 0.0, 5.0, false,
        "Zipf exponent of user activity: 0 makes every user equally busy"),
    param!(Entry, Entry, heartbeat_ms, f64, "ms", 1000.0, 10.0, 600_000.0, false,
        "Floating IP: heartbeat interval between the pair"),
    param!(Entry, Entry, missed_beats, u32, "", 3.0, 1.0, 100.0, true,
        "Floating IP: missed heartbeats before the standby takes over"),
    param!(Entry, Entry, dns_ttl_s, f64, "s", 60.0, 0.0, 86_400.0, false,
        "DNS: how long clients cache an answer"),
    param!(Entry, Entry, check_interval_ms, f64, "ms", 10_000.0, 10.0, 600_000.0, false,
        "Health-checked DNS: time between checks of each balancer"),
    param!(Entry, Entry, check_threshold, u32, "", 3.0, 1.0, 100.0, true,
        "Health-checked DNS: failed checks before a balancer is dropped"),
    param!(LoadBalancer, LoadBalancer, latency_ms, f64, "ms", 0.1, 0.0, 10_000.0, false,
        "Time the balancer adds to each request"),
    param!(LoadBalancer, LoadBalancer, l7_latency_ms, f64, "ms", 0.0, 0.0, 10_000.0, false,
        "L7 only: extra time per request for TLS termination and parsing"),
    param!(LoadBalancer, LoadBalancer, virtual_nodes, u32, "", 100.0, 1.0, 10_000.0, true,
        "Points per backend on the consistent-hash ring"),
    param!(LoadBalancer, LoadBalancer, health_interval_ms, f64, "ms", 1000.0, 10.0, 600_000.0, false,
        "Time between two health probes of each backend"),
    param!(LoadBalancer, LoadBalancer, health_timeout_ms, f64, "ms", 500.0, 0.0, 600_000.0, false,
        "A probe without an answer fails after this long"),
    param!(LoadBalancer, LoadBalancer, unhealthy_threshold, u32, "", 3.0, 1.0, 100.0, true,
        "Failed probes in a row before a backend is marked down"),
    param!(LoadBalancer, LoadBalancer, healthy_threshold, u32, "", 2.0, 1.0, 100.0, true,
        "Passed probes in a row before a marked-down backend is used again"),
    param!(LoadBalancer, LoadBalancer, connection_requests, u32, "", 0.0, 0.0, 1_000_000.0, true,
        "L4: requests per keep-alive connection before the client reconnects (0: no limit)"),
    param!(LoadBalancer, LoadBalancer, connection_lifetime_ms, f64, "ms", 0.0, 0.0, 86_400_000.0, false,
        "L4: lifetime of a keep-alive connection (0: no limit)"),
    param!(AppServer, AppServer, count, u32, "", 1.0, 1.0, 256.0, true,
        "Servers in the pool; the balancer spreads over them"),
    param!(AppServer, AppServer, workers, u32, "", 8.0, 1.0, 10_000.0, true,
        "Requests each server works on at once; a worker is held while waiting on calls"),
    param!(AppServer, AppServer, queue_capacity, u32, "", 1000.0, 0.0, 10_000_000.0, true,
        "Requests that may wait for a worker; more fail with queue_full"),
    param!(AppServer, AppServer, service_ms, f64, "ms", 5.0, 0.0, 3_600_000.0, false,
        "Mean CPU time per request"),
    param!(AppServer, AppServer, service_cv, f64, "", 1.0, 0.0, 100.0, false,
        "Coefficient of variation of log-normal service times"),
    param!(AppServer, AppServer, local_cache_entries, u32, "", 0.0, 0.0, 10_000_000.0, true,
        "Reads each server caches in its own memory (LRU; 0: none); a new server starts cold"),
    param!(SessionStore, SessionStore, workers, u32, "", 8.0, 1.0, 10_000.0, true,
        "Lookups served at once"),
    param!(SessionStore, SessionStore, queue_capacity, u32, "", 10_000.0, 0.0, 10_000_000.0, true,
        "Lookups that may wait; more fail with queue_full"),
    param!(SessionStore, SessionStore, service_ms, f64, "ms", 0.2, 0.0, 3_600_000.0, false,
        "Mean time of one session lookup"),
    param!(SessionStore, SessionStore, capacity_sessions, u32, "", 1_000_000.0, 1.0, 100_000_000.0, true,
        "Sessions held before the least recently used is evicted"),
    param!(Cache, Cache, count, u32, "", 1.0, 1.0, 64.0, true,
        "Members of the cache cluster; keys are placed on them by the placement"),
    param!(Cache, Cache, capacity_entries, u32, "", 10_000.0, 1.0, 100_000_000.0, true,
        "Entries each member holds before evicting"),
    param!(Cache, Cache, ttl_s, f64, "s", 0.0, 0.0, 86_400.0, false,
        "Entries expire this long after they are written (0: never)"),
    param!(Cache, Cache, hit_ms, f64, "ms", 0.2, 0.0, 10_000.0, false,
        "Mean time of one lookup, hit or miss"),
    param!(Cache, Cache, workers, u32, "", 16.0, 1.0, 10_000.0, true,
        "Lookups served at once per member"),
    param!(Cache, Cache, queue_capacity, u32, "", 10_000.0, 0.0, 10_000_000.0, true,
        "Lookups that may wait; more fail with queue_full"),
    param!(Cache, Cache, virtual_nodes, u32, "", 100.0, 1.0, 10_000.0, true,
        "Ring points per member for consistent-hash placement"),
    param!(ShardRouter, ShardRouter, latency_ms, f64, "ms", 0.05, 0.0, 10_000.0, false,
        "Time the router adds to each request"),
    param!(ShardRouter, ShardRouter, virtual_nodes, u32, "", 100.0, 1.0, 10_000.0, true,
        "Ring points per shard for hash partitioning"),
    param!(Database, Database, workers, u32, "", 16.0, 1.0, 10_000.0, true,
        "Queries served at once"),
    param!(Database, Database, queue_capacity, u32, "", 1000.0, 0.0, 10_000_000.0, true,
        "Queries that may wait for a worker; more fail with queue_full"),
    param!(Database, Database, read_ms, f64, "ms", 2.0, 0.0, 3_600_000.0, false,
        "Mean time to serve a read"),
    param!(Database, Database, write_ms, f64, "ms", 5.0, 0.0, 3_600_000.0, false,
        "Mean time to serve a write"),
    param!(Database, Database, service_cv, f64, "", 1.0, 0.0, 100.0, false,
        "Coefficient of variation of log-normal service times"),
    param!(Database, Database, promotion_delay_ms, f64, "ms", 30_000.0, 0.0, 3_600_000.0, false,
        "After the primary dies, how long until a replica is promoted in its place"),
];

/// The parameters of one kind, in inspector order.
pub fn params_of(kind: KindTag) -> impl Iterator<Item = &'static ParamMeta> {
    PARAMS.iter().filter(move |p| p.kind == kind)
}

/// The parameter `name` of `kind`, if it exists.
pub fn find(kind: KindTag, name: &str) -> Option<&'static ParamMeta> {
    params_of(kind).find(|p| p.name == name)
}

/// Layout-wide settings that have ranges too.
pub mod layout {
    /// Tick length range, in ms.
    pub const TICK_MS_MIN: f64 = 0.001;
    pub const TICK_MS_MAX: f64 = 1000.0;
    /// Wire latency range, in ms.
    pub const WIRE_LATENCY_MS_MAX: f64 = 60_000.0;
    /// Wire timeout range, in ms (0: none).
    pub const WIRE_TIMEOUT_MS_MAX: f64 = 600_000.0;
    /// Retries per call at most.
    pub const WIRE_RETRIES_MAX: u32 = 10;
    /// Retry backoff range, in ms.
    pub const WIRE_BACKOFF_MS_MAX: f64 = 600_000.0;
    /// Wire weight range.
    pub const WIRE_WEIGHT_MAX: u32 = 1000;
}

/// The parameter table as Markdown, for README.md (`tierlab params`).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| kind | parameter | unit | default | range | meaning |\n|---|---|---|---|---|---|\n",
    );
    for p in PARAMS {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} to {} | {} |\n",
            p.kind.file_name(),
            p.name,
            p.unit,
            fmt_num(p.default),
            fmt_num(p.min),
            fmt_num(p.max),
            p.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_defaults_match_the_types_defaults() {
        for p in PARAMS {
            let kind = p.kind.default_kind();
            let Some(v) = p.get(&kind) else {
                panic!("{} does not read from a {}", p.name, p.kind.label());
            };
            assert_eq!(v, p.default, "default of {}.{}", p.kind.file_name(), p.name);
            assert!(
                p.min <= p.default && p.default <= p.max,
                "{} default in range",
                p.name
            );
        }
    }

    /// Every number a node kind has is in the table, so `check` and the inspector know its
    /// range (a field missing here would be unchecked and uneditable).
    #[test]
    fn every_numeric_field_has_metadata() {
        for tag in KindTag::ALL {
            let value = match serde_json::to_value(tag.default_kind()) {
                Ok(v) => v,
                Err(e) => panic!("{e}"),
            };
            let Some(fields) = value
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|v| v.as_object())
            else {
                panic!("{} serialises as a map of fields", tag.file_name());
            };
            for (name, v) in fields {
                if v.is_number() {
                    assert!(
                        find(tag, name).is_some(),
                        "{}.{name} has no entry in PARAMS",
                        tag.file_name()
                    );
                }
            }
        }
    }

    #[test]
    fn set_refuses_out_of_range_and_keeps_the_value() {
        let mut kind = KindTag::AppServer.default_kind();
        let Some(count) = find(KindTag::AppServer, "count") else {
            panic!("count is in the table");
        };
        let err = count.set(&mut kind, 300.0).err();
        assert!(err.is_some_and(|e| e.contains("1 to 256")));
        assert_eq!(count.get(&kind), Some(1.0));
        assert!(count.set(&mut kind, 3.0).is_ok());
        assert_eq!(kind.count(), 3);
        assert!(count.set(&mut kind, 2.5).is_err());
    }
}
