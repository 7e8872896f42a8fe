//! Tierlab's integration tests: one binary, one module per area.

mod agree;
mod balancing;
mod baseline;
mod check;
mod cli;
mod data_tier;
mod determinism;
mod edit_live;
mod generated;
mod hall;
mod input;
mod layouts;
mod limits;
mod limits_ui;
mod live;
mod nothing_lost;
mod params_table;
mod properties;
mod queueing;
mod robustness;
mod run_panel;
mod stepper;
mod theory;
mod tidy;
mod ui;
mod window;
