//! Holds no code: the integration tests live in `main.rs` and its modules.
