//! Tierlab's integration tests: one binary, one module per area.

mod check;
mod determinism;
mod queueing;
mod tidy;
