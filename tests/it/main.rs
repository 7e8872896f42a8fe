//! Tierlab's integration tests: one binary, one module per area.

mod balancing;
mod baseline;
mod check;
mod cli;
mod data_tier;
mod determinism;
mod generated;
mod layouts;
mod limits;
mod limits_ui;
mod live;
mod queueing;
mod robustness;
mod tidy;
mod ui;
