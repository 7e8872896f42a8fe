//! Tierlab's integration tests: one binary, one module per area.

mod balancing;
mod check;
mod cli;
mod determinism;
mod layouts;
mod live;
mod queueing;
mod tidy;
mod ui;
