//! The webhook's tests: one binary (one link) for all of them.
//!
//! - `validate`: `router().oneshot(..)` on built reviews and on the corpus fixtures.
//! - `serve`: the real server over TLS on loopback: HTTPS calls, certificate rotation under
//!   load, policy reload, draining.
//! - `sigterm`: the real binary, sent SIGTERM under load: every request answered, exit 0.
//! - `deploy`: the kustomize manifests parse and keep their safety invariants.

mod common;
mod deploy;
mod serve;
mod sigterm;
mod validate;
