//! Bytes -> `input::load_objects` -> change set -> `check`, as the CLI runs them on a file; and
//! the pruning YAML reader checked against the projection of a full read.
//!
//! An input holding the line `#---8<---` is split there into a before and an after file, so
//! the rules see UPDATEs as well as new objects; otherwise the bytes are the after side alone
//! (an `audit` of the current state) and also compared with themselves (an unchanged tree).
#![no_main]

use std::sync::LazyLock;

use changelint_policies::projection::Projection;
use changelint_policies::yaml::{Limits, parse_documents, parse_manifests};
use changelint_policies::{ChangeSet, Policy, SourceFile, audit, check, input};
use libfuzzer_sys::fuzz_target;

static POLICY: LazyLock<Policy> = LazyLock::new(Policy::default);

const SPLIT: &[u8] = b"\n#---8<---\n";

fn load(name: &str, bytes: &[u8]) -> Vec<changelint_policies::Object> {
    input::load_objects(&SourceFile::new(name, bytes), &Limits::default(), &POLICY)
        .unwrap_or_default()
}

/// The pruning reader against its definition: wherever a full read succeeds, the pruning read
/// succeeds too and yields exactly the projection of the full read.
fn check_projection(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let limits = Limits::default();
    let Ok(full) = parse_documents(text, &limits) else {
        return;
    };
    let projection = Projection::files(&POLICY);
    let pruned = parse_manifests(text, &limits, &projection)
        .expect("the pruning read fails where the full read succeeds");
    assert_eq!(full.len(), pruned.len(), "document count");
    for (full, pruned) in full.iter().zip(&pruned) {
        assert_eq!(pruned.value, projection.project(&full.value), "projection");
    }
}

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on every panic, even one the engine catches: let those through.
    changelint_policies::yaml::quiet_parser_panics();
    check_projection(data);
    let policy = &*POLICY;
    let (before, after) = match data.windows(SPLIT.len()).position(|w| w == SPLIT) {
        Some(at) => (&data[..at], &data[at + SPLIT.len()..]),
        None => (data, data),
    };
    let after_objects = load("after/deploy.yaml", after);
    if after_objects.is_empty() {
        // Still exercise the error path of the before side.
        let _ = load("before/deploy.yaml", before);
        return;
    }
    let current = ChangeSet::new(Vec::new(), after_objects.clone(), policy);
    let report = audit(&current, policy);
    let _ = serde_json::to_string(&report);
    let change = ChangeSet::new(load("before/deploy.yaml", before), after_objects, policy);
    let report = check(&change, policy);
    let _ = serde_json::to_string(&report);
});
