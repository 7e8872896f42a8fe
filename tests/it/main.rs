//! Tierlab's integration tests: one binary, one module per area.

mod balancing;
mod baseline;
mod check;
mod cli;
mod data_tier;
mod determinism;
mod hall;
mod layouts;
mod live;
mod queueing;
mod robustness;
mod theory;
mod tidy;
mod ui;
