//! Benchmark support for changelint: a deterministic generator of realistic manifest trees and
//! AdmissionReview bodies, shared by the engine's criterion bench (`policies/benches/engine.rs`),
//! the `gen-corpus` binary used by `scripts/bench-cli.sh`, and the webhook load harness
//! (`scripts/bench-webhook.sh`).
//!
//! Nothing large is committed: the corpus is generated on demand from a seed, so anyone gets
//! the same bytes. See docs/performance.md for how the figures are taken.

pub mod corpus;

pub use corpus::{BenchReview, Corpus, CorpusFile, CorpusOptions, admission_review, bench_reviews};
