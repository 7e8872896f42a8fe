//! Tierlab's integration tests: one binary, one module per area.

mod balancing;
mod baseline;
mod check;
mod cli;
mod data_tier;
mod determinism;
mod edit_live;
mod generated;
mod hall;
mod layouts;
mod limits;
mod limits_ui;
mod live;
mod maths;
mod params_table;
mod queueing;
mod robustness;
mod run_panel;
mod theory;
mod tidy;
mod ui;
mod window;
