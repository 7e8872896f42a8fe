//! Cache eviction structures: an O(1) LRU and an LFU with TTLs and counters.
