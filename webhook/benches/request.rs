//! Criterion benchmark of the work one `POST /validate` does between the body and the answer,
//! without HTTP or TLS: decode the AdmissionReview, judge it, serialize the answer. Next to it,
//! the same bytes through the echo floor's work (`serde_json::Value`, answer allowed), the
//! baseline of `scripts/bench-webhook.sh`. Both on mimalloc, as both servers run.
//!
//! ```text
//! cargo bench -p changelint-webhook --bench request
//! ```
//!
//! The load test measures the servers; this isolates the part that differs between them, with
//! far less noise (docs/performance.md, section 3).

use std::hint::black_box;
use std::time::Duration;

use changelint_bench::{BenchReview, bench_reviews};
use changelint_policies::Policy;
use changelint_webhook::admission::AdmissionReview;
use changelint_webhook::review;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the webhook's handler does with a body: decode, judge, answer.
fn webhook(body: &[u8], policy: &Policy) -> Vec<u8> {
    let (api_version, request) = AdmissionReview::from_slice(body).expect("review");
    let reviewed = review::review(request, policy);
    serde_json::to_vec(&reviewed.response.into_review(&api_version)).expect("answer")
}

/// What the echo floor's handler does with a body.
fn echo_floor(body: &[u8]) -> Vec<u8> {
    let review: Value = serde_json::from_slice(body).expect("review");
    let answer = json!({
        "apiVersion": review["apiVersion"],
        "kind": "AdmissionReview",
        "response": {"uid": review["request"]["uid"], "allowed": true}
    });
    serde_json::to_vec(&answer).expect("answer")
}

fn request(c: &mut Criterion) {
    let policy = Policy::default();
    let mut group = c.benchmark_group("request");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(3));
    for BenchReview {
        name,
        body,
        allowed,
    } in bench_reviews()
    {
        let answer: Value = serde_json::from_slice(&webhook(&body, &policy)).expect("json");
        assert_eq!(answer["response"]["allowed"], allowed, "{name}");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("{name}/webhook"), |b| {
            b.iter(|| webhook(black_box(&body), &policy));
        });
        group.bench_function(format!("{name}/echo-floor"), |b| {
            b.iter(|| echo_floor(black_box(&body)));
        });
    }
    group.finish();
}

criterion_group!(benches, request);
criterion_main!(benches);
