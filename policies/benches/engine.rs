//! Criterion benchmarks of the engine on the generated corpus (changelint-bench): parsing a
//! large multi-document tree, loading it on every core, pairing, each rule, and the whole
//! `check` and `audit` of a 5,000-object tree. One AdmissionReview judged end to end without
//! HTTP is measured with the webhook's own decoding, in `webhook/benches/request.rs`.
//!
//! ```text
//! cargo bench -p changelint-policies --bench engine            # all, a few minutes
//! cargo bench -p changelint-policies --bench engine -- rule/   # a filter
//! CHANGELINT_BENCH_OBJECTS=50000 cargo bench ... -- check/     # another corpus size
//! ```
//!
//! Sample sizes and measurement times are small on purpose: the large cases take tens to
//! hundreds of milliseconds each, and the figures are read as ratios (docs/performance.md).

use std::hint::black_box;
use std::time::Duration;

use changelint_bench::{Corpus, CorpusOptions};
use changelint_policies::record::ChangeRecord;
use changelint_policies::yaml::{Limits, parse_documents};
use changelint_policies::{
    ChangeSet, Object, Policy, SourceFile, audit, check, input, load_change, registry,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// A change record that speaks of everything but resources: the record rules have work.
const RECORD: &str = "# Dashboards and alerts bundle\n\n## Summary\nNew dashboards; config simplification.\n\n## Rollout\nAll clusters.\n\n## Rollback\nRevert the commit.\n";

struct Trees {
    objects: usize,
    bytes: u64,
    before: Vec<SourceFile>,
    after: Vec<SourceFile>,
}

fn trees() -> Trees {
    let objects = std::env::var("CHANGELINT_BENCH_OBJECTS")
        .ok()
        .and_then(|n| n.replace('_', "").parse().ok())
        .unwrap_or(5_000);
    let corpus = Corpus::generate(&CorpusOptions {
        objects,
        ..CorpusOptions::default()
    });
    let side = |after: bool| {
        corpus
            .files
            .iter()
            .map(|file| SourceFile {
                path: format!("{}/{}", if after { "after" } else { "before" }, file.path),
                pairing_path: file.path.clone(),
                bytes: if after { &file.after } else { &file.before }
                    .clone()
                    .into_bytes(),
            })
            .collect::<Vec<_>>()
    };
    Trees {
        objects: corpus.objects,
        bytes: corpus.before_bytes() as u64,
        before: side(false),
        after: side(true),
    }
}

fn load_objects(files: &[SourceFile], policy: &Policy) -> Vec<Object> {
    let limits = Limits::default();
    files
        .iter()
        .flat_map(|f| input::load_objects(f, &limits, policy).expect("corpus parses"))
        .collect()
}

fn engine(c: &mut Criterion) {
    let trees = trees();
    let policy = Policy::default();
    let label = format!("{}-objects", trees.objects);

    let mut group = c.benchmark_group("load");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(trees.bytes));
    group.bench_function(format!("parse_documents/{label}/1-core"), |b| {
        let limits = Limits::default();
        b.iter(|| {
            for file in &trees.before {
                let text = std::str::from_utf8(&file.bytes).expect("utf-8");
                black_box(parse_documents(text, &limits).expect("parses"));
            }
        });
    });
    group.bench_function(format!("load_objects/{label}/1-core"), |b| {
        b.iter(|| black_box(load_objects(&trees.before, &policy)));
    });
    group.bench_function(format!("load_change/{label}/all-cores"), |b| {
        b.iter(|| black_box(load_change(&[], &trees.before, &policy).expect("loads")));
    });
    group.finish();

    let before = load_objects(&trees.before, &policy);
    let after = load_objects(&trees.after, &policy);
    let mut group = c.benchmark_group("pair");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function(format!("ChangeSet::new/{label}"), |b| {
        b.iter_batched(
            || (before.clone(), after.clone()),
            |(before, after)| ChangeSet::new(before, after, &policy),
            BatchSize::LargeInput,
        );
    });
    group.finish();

    let mut change = ChangeSet::new(before.clone(), after, &policy);
    change.record = Some(ChangeRecord::parse("record.md", RECORD));
    let current = ChangeSet::new(Vec::new(), before, &policy);

    let mut group = c.benchmark_group("rule");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for rule in registry::RULES {
        group.bench_function(format!("{}/{label}", rule.meta().id), |b| {
            b.iter(|| {
                let mut out = Vec::new();
                rule.check(&change, &policy, &mut out);
                out
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("check");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(trees.objects as u64));
    group.bench_function(format!("check/{label}"), |b| {
        b.iter(|| check(&change, &policy));
    });
    group.bench_function(format!("audit/{label}"), |b| {
        b.iter(|| audit(&current, &policy));
    });
    group.bench_function(format!("load+check/{label}"), |b| {
        b.iter(|| {
            let mut change = load_change(&trees.before, &trees.after, &policy).expect("loads");
            change.record = Some(ChangeRecord::parse("record.md", RECORD));
            check(&change, &policy)
        });
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
