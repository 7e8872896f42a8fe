//! Tierlab's integration tests: one binary, one module per area.

mod tidy;
mod ui;
