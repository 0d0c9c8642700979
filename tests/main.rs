//! The cross-crate integration tests: the real `changelint` binary on real fixtures.
//! One test binary (see ripgrep's `tests/tests.rs`), one module per area.

mod util;

mod audit;
mod bounds;
mod cli;
mod diff_input;
mod git_input;
mod inputs;
mod parity;
