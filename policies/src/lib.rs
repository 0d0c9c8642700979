//! The changelint policy engine.
//!
//! One engine, two front doors: the `changelint` CLI (GitOps pull requests) and the admission
//! webhook both call [`check`], so the same change gets the same verdict in both places.
//!
//! ```text
//! bytes -> input::load_objects -> ChangeSet (pairs of objects, containers paired by name)
//!       -> registry::RULES -> findings -> policy levels and exemptions -> Report
//! ```
//!
//! The engine does no I/O beyond parsing what it is given and knows nothing of HTTP or
//! terminals; output formats live with the binaries.

pub mod audit;
pub mod change;
pub mod config;
pub mod diff;
pub mod exemption;
pub mod finding;
pub mod impact;
pub mod input;
pub mod object;
pub mod podspec;
pub mod projection;
pub mod quantity;
pub mod record;
pub mod registry;
pub mod report;
pub mod resources;
pub mod rule;
pub mod rules;
pub mod scope;
pub mod shape;
pub mod yaml;

pub use change::ChangeSet;
pub use config::{Policy, PolicyError};
pub use finding::{Finding, Severity, Verdict};
pub use input::{InputError, SourceFile};
pub use object::{Identity, Object};
pub use report::Report;

use std::collections::HashMap;
use std::sync::Arc;

use impact::Impact;
use yaml::{Limits, LineMap};

/// Reads both sides of a change from files into a change set.
pub fn load_change(
    before: &[SourceFile],
    after: &[SourceFile],
    policy: &Policy,
) -> Result<ChangeSet, InputError> {
    use rayon::prelude::*;

    let limits = Limits::default();
    // Most files of a pull request are the same on both sides: such a file is parsed once and
    // its after objects are copies of its before objects, named after the after file. Reading
    // a file is a function of its bytes and its two paths, so the copies are what a second
    // parse would give.
    let before_index: HashMap<&str, usize> = before
        .iter()
        .enumerate()
        .map(|(index, file)| (file.pairing_path.as_str(), index))
        .collect();
    let same_as_before: Vec<Option<usize>> = after
        .iter()
        .map(|file| {
            before_index
                .get(file.pairing_path.as_str())
                .copied()
                .filter(|&index| before[index].bytes == file.bytes)
        })
        .collect();
    let to_parse: Vec<&SourceFile> = before
        .iter()
        .chain(
            after
                .iter()
                .zip(&same_as_before)
                .filter(|(_, same)| same.is_none())
                .map(|(file, _)| file),
        )
        .collect();
    // Parsing is nearly all the cost of a large tree, so every file of both sides is parsed
    // in parallel. Results are gathered in file order and the first error in that order is
    // the one reported, exactly as a sequential read would.
    let load = |file: &&SourceFile| input::load_objects(file, &limits, policy);
    let mut parsed: Vec<Result<Vec<Object>, InputError>> = if to_parse.len() > 1 {
        // One file per job: rayon otherwise splits a slice into a few long runs, and the
        // last run of a tree kept one core busy while the other waited.
        to_parse.par_iter().with_max_len(1).map(load).collect()
    } else {
        to_parse.iter().map(load).collect()
    };
    let mut parsed_after = parsed.split_off(before.len()).into_iter();
    // Every before file comes first, so the first error in file order is still the one
    // reported; a copied file's error is its before file's.
    let before_loaded: Vec<Vec<Object>> = parsed.into_iter().collect::<Result<_, _>>()?;
    let mut after_objects = Vec::new();
    for (file, same) in after.iter().zip(&same_as_before) {
        match same {
            Some(index) => after_objects.extend(copies_for(&before_loaded[*index], file)),
            None => after_objects.extend(
                parsed_after
                    .next()
                    .expect("one parse per changed after file")?,
            ),
        }
    }
    let before_objects = before_loaded.into_iter().flatten().collect();
    refuse_misshapen(
        ChangeSet::new(before_objects, after_objects, policy),
        policy,
    )
}

/// Refuses an object the change brings that the rules cannot read (see [`shape`]). Objects the
/// change leaves alone, and the old side of those it changes, are judged by no rule; refusing
/// them would block the very change that repairs one. The first in pair order is named.
fn refuse_misshapen(change: ChangeSet, policy: &Policy) -> Result<ChangeSet, InputError> {
    use rayon::prelude::*;

    let misshapen = |pair: &change::Pair| {
        let object = pair.after.as_ref().filter(|_| pair.changed())?;
        let misshapen = shape::check(&object.value, &object.identity, policy).err()?;
        let (file, line) = object.locate(&misshapen.pointer);
        let mut message = misshapen.to_string();
        if podspec::lookup(&object.value, &misshapen.pointer)
            .and_then(serde_json::Value::as_str)
            .is_some_and(|text| text.contains("{{"))
        {
            message.push_str(input::TEMPLATE_HINT);
        }
        Some(InputError::new(
            file.as_deref().unwrap_or("<object>"),
            line,
            message,
        ))
    };
    match change
        .pairs
        .par_iter()
        .filter_map(misshapen)
        .find_first(|_| true)
    {
        Some(error) => Err(error),
        None => Ok(change),
    }
}

/// The objects of `file` read from a file with the same bytes and pairing path: the same
/// objects, with `file`'s display path.
fn copies_for<'a>(objects: &'a [Object], file: &SourceFile) -> impl Iterator<Item = Object> + 'a {
    let path: Arc<str> = file.path.as_str().into();
    objects.iter().map(move |object| {
        let mut copy = object.clone();
        if let Some(origin) = &mut copy.origin {
            origin.file = path.clone();
        }
        copy
    })
}

/// Reads a unified diff on its own, as a pipeline that only has the patch: each manifest's hunks
/// are rebuilt into partial before and after documents (removed keys under their parents), judged
/// with the same rules, and every line points back into the real files.
pub fn load_diff(diff_file: &str, text: &str, policy: &Policy) -> Result<ChangeSet, InputError> {
    let patches = diff::parse_unified_diff(text).map_err(|e| InputError {
        file: diff_file.to_owned(),
        line: Some(e.line),
        message: e.message,
    })?;
    let limits = Limits::default();
    let mut before = Vec::new();
    let mut after = Vec::new();
    for patch in manifest_patches(diff_file, &patches)? {
        let sides = patch.partial_sides();
        let pairing = patch.path().to_owned();
        for (side, path, out) in [
            (&sides.before, &patch.old_path, &mut before),
            (&sides.after, &patch.new_path, &mut after),
        ] {
            let Some(path) = path else { continue };
            if !side.holds_nodes {
                continue;
            }
            let file = SourceFile {
                path: path.clone(),
                pairing_path: pairing.clone(),
                bytes: side.text.clone().into_bytes(),
            };
            let objects = input::load_objects(&file, &limits, policy).map_err(|e| InputError {
                file: format!("{diff_file} ({path})"),
                line: e.line.and_then(|l| side.original_line(l as usize)),
                message: e.message,
            })?;
            // The objects of one document (the items of a `kind: List`) share its line map:
            // it is remapped once per document and shared again (a copy per item made a List
            // quadratic in time and memory). Held: the document's map as read, and remapped.
            let mut document: Option<(Arc<LineMap>, Arc<LineMap>)> = None;
            for mut object in objects {
                match &document {
                    Some((as_read, remapped)) if Arc::ptr_eq(as_read, &object.lines) => {
                        object.lines = remapped.clone();
                    }
                    _ => {
                        let mut remapped = LineMap::clone(&object.lines);
                        remapped.remap(|line| side.original_line(line as usize));
                        let as_read = std::mem::replace(&mut object.lines, Arc::new(remapped));
                        document = Some((as_read, object.lines.clone()));
                    }
                }
                out.push(object);
            }
        }
    }
    refuse_misshapen(ChangeSet::new(before, after, policy), policy)
}

/// The patches of a diff that touch manifests; other files (images, code) are no input of the
/// lint. A binary patch of a manifest is an error: the diff does not hold its content, and
/// passing over it would pass a change nobody read.
pub fn manifest_patches<'a>(
    diff_file: &str,
    patches: &'a [diff::FilePatch],
) -> Result<Vec<&'a diff::FilePatch>, InputError> {
    let manifests = patches.iter().filter(|p| input::is_manifest_path(p.path()));
    if let Some(binary) = manifests.clone().find(|p| p.is_binary) {
        return Err(InputError {
            file: diff_file.to_owned(),
            line: Some(binary.header_line),
            message: format!(
                "binary patch of the manifest `{}`: the diff does not hold its content \
                 (`git diff --text` writes it as text)",
                binary.path()
            ),
        });
    }
    Ok(manifests.collect())
}

/// Builds the change set of one object before and after: what an admission request holds.
/// Fails when the object after cannot be read by the rules (see [`shape`]); the object before
/// is what the cluster holds, and refusing it would block the update that repairs it.
pub fn object_change(
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    policy: &Policy,
) -> Result<ChangeSet, shape::Misshapen> {
    let after = after.map(Object::detached);
    if let Some(object) = &after {
        shape::check(&object.value, &object.identity, policy)?;
    }
    let before = before.map(Object::detached);
    Ok(ChangeSet::new(
        before.into_iter().collect(),
        after.into_iter().collect(),
        policy,
    ))
}

/// Runs every rule over a change set and applies the policy's levels and exemptions.
pub fn check(change: &ChangeSet, policy: &Policy) -> Report {
    check_on(change, policy, &exemption::today())
}

/// [`check`] with a fixed date for exemption expiry (`YYYY-MM-DD`), for reproducible tests.
pub fn check_on(change: &ChangeSet, policy: &Policy, today: &str) -> Report {
    use rayon::prelude::*;

    let run = |rule: &&dyn rule::Rule| {
        let mut raw = Vec::new();
        if policy.level(rule.meta().id) != config::RuleLevel::Off {
            rule.check(change, policy, &mut raw);
        }
        raw
    };
    // The rules and the impact model read the change set independently: on a large change
    // set they run in parallel, and findings are concatenated in registry order, as a
    // sequential run gives. A small one (an admission request) stays on the caller's thread,
    // where handing work to a pool would cost more than the work.
    let (raw, mut impact): (Vec<Vec<Finding>>, Impact) =
        if change.pairs.len() >= change::PARALLEL_MIN_PAIRS {
            rayon::join(
                // One rule per job: the costly rules then spread over the cores.
                || {
                    registry::RULES
                        .par_iter()
                        .with_max_len(1)
                        .map(run)
                        .collect()
                },
                || Impact::of(change, policy),
            )
        } else {
            (
                registry::RULES.iter().map(run).collect(),
                Impact::of(change, policy),
            )
        };
    // The first pair of each identity, as a scan of the pairs in order would find it.
    let mut by_identity: HashMap<&Identity, &change::Pair> =
        HashMap::with_capacity(change.pairs.len());
    for pair in &change.pairs {
        by_identity.entry(pair.identity()).or_insert(pair);
    }
    // Each finding is leveled and checked for exemptions on its own, which on a large change
    // set is spread over the cores like the rules (order kept): an audit of thousands of
    // findings spent a tenth of its time after parsing here, looking up objects no longer in
    // the cache.
    let judge = |mut finding: Finding| {
        finding.severity = policy.level(finding.rule).apply(finding.severity)?;
        let object = by_identity.get(&finding.object).map(|pair| pair.current());
        Some(
            match object.and_then(|o| exemption::exemption_for(&finding, o, policy, today)) {
                Some(used) => Judged::Exempted(used),
                None => Judged::Kept(finding),
            },
        )
    };
    let judged: Vec<Judged> = if change.pairs.len() >= change::PARALLEL_MIN_PAIRS {
        raw.into_par_iter().flatten().filter_map(judge).collect()
    } else {
        raw.into_iter().flatten().filter_map(judge).collect()
    };
    let mut findings = Vec::with_capacity(judged.len());
    let mut used = Vec::new();
    for judged in judged {
        match judged {
            Judged::Kept(finding) => findings.push(finding),
            Judged::Exempted(exemption) => used.push(exemption),
        }
    }
    let exemptions = first_of_each(used);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    impact.record = impact::RecordStatus::of(change, policy, &findings);
    Report {
        verdict: Verdict::of(&findings),
        findings,
        impact,
        exemptions,
        audit: None,
    }
}

/// A finding after the policy's levels and exemptions.
enum Judged {
    /// Reported.
    Kept(Finding),
    /// Suppressed by this exemption.
    Exempted(report::ExemptionUse),
}

/// The exemptions used, each once, in the order of first use. Looked up in a set: an audit
/// of a fleet with exempt namespaces uses one exemption per object, and a scan of the list
/// per use made 50,000 objects take 21 times as long as 5,000.
fn first_of_each(used: Vec<report::ExemptionUse>) -> Vec<report::ExemptionUse> {
    let mut seen = std::collections::HashSet::with_capacity(used.len());
    let first: Vec<bool> = used
        .iter()
        .map(|exemption| seen.insert(exemption))
        .collect();
    used.into_iter()
        .zip(first)
        .filter_map(|(exemption, first)| first.then_some(exemption))
        .collect()
}

/// Judges the current state only: every object of `current` as if it were new, plus the audit
/// table grouped by namespace and kind.
pub fn audit(current: &ChangeSet, policy: &Policy) -> Report {
    let mut report = check(current, policy);
    report.audit = Some(audit::AuditSummary::of(current, policy, &report.findings));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/limits-removed/bad");

    fn fixture(case: &str, side: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{case}/{side}.yaml")).expect("fixture")
    }

    fn file(side: &str, name: &str, bytes: Vec<u8>) -> SourceFile {
        SourceFile {
            path: format!("{side}/{name}"),
            pairing_path: name.to_owned(),
            bytes,
        }
    }

    /// What `load_change` must give for one side: every file parsed on its own.
    fn parsed(files: &[SourceFile]) -> Vec<Object> {
        let policy = Policy::default();
        files
            .iter()
            .flat_map(|f| input::load_objects(f, &Limits::default(), &policy).unwrap())
            .collect()
    }

    fn assert_same_objects(actual: &[&Object], expected: &[Object]) {
        assert_eq!(actual.len(), expected.len());
        for (actual, expected) in actual.iter().zip(expected) {
            assert_eq!(actual.identity, expected.identity);
            assert_eq!(actual.origin, expected.origin);
            assert_eq!(actual.value, expected.value);
            for pointer in ["", "/spec/template/spec/containers/0/resources/limits"] {
                assert_eq!(
                    actual.lines.line_of(pointer),
                    expected.lines.line_of(pointer)
                );
            }
        }
    }

    #[test]
    fn an_unchanged_file_read_once_gives_what_reading_it_again_gives() {
        let unchanged = fixture("daemonset-memory-limit", "before");
        let before = vec![
            file("before", "agent.yaml", unchanged.clone()),
            file(
                "before",
                "cronjob.yaml",
                fixture("cronjob-init-cpu", "before"),
            ),
        ];
        let after = vec![
            file("after", "agent.yaml", unchanged),
            file(
                "after",
                "cronjob.yaml",
                fixture("cronjob-init-cpu", "after"),
            ),
        ];
        let change = load_change(&before, &after, &Policy::default()).unwrap();
        let sides = |pick: fn(&change::Pair) -> Option<&Object>| {
            let mut objects: Vec<&Object> = change.pairs.iter().filter_map(pick).collect();
            objects.sort_by_key(|o| o.origin.as_ref().map(|o| o.file.clone()));
            objects
        };
        assert_same_objects(&sides(|p| p.before.as_ref()), &parsed(&before));
        // The copy is named after the after file, not the before file it was read from.
        assert_same_objects(&sides(|p| p.after.as_ref()), &parsed(&after));
    }

    /// A diff that adds a `kind: List` after an existing document: every item, and the
    /// document before it, points at its own line of the real file.
    #[test]
    fn list_items_of_a_diff_point_at_their_real_lines() {
        let diff = "\
diff --git a/apps.yaml b/apps.yaml
--- a/apps.yaml
+++ b/apps.yaml
@@ -5,4 +5,15 @@
 apiVersion: v1
 kind: ConfigMap
 metadata:
   name: settings
+---
+apiVersion: v1
+kind: List
+items:
+- apiVersion: v1
+  kind: Pod
+  metadata: {name: first}
+- apiVersion: v1
+  kind: Pod
+  metadata:
+    name: second
";
        let change = load_diff("change.diff", diff, &Policy::default()).unwrap();
        let lines: Vec<(String, Option<u32>)> = change
            .pairs
            .iter()
            .filter_map(|pair| pair.after.as_ref())
            .map(|object| {
                let (_, line) = object.locate("/metadata");
                (object.identity.name.clone(), line)
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("settings".to_owned(), Some(7)),
                ("first".to_owned(), Some(15)),
                ("second".to_owned(), Some(18)),
            ]
        );
    }

    #[test]
    fn exemptions_are_listed_once_in_the_order_of_first_use() {
        let used = |rule: &str, name: &str| report::ExemptionUse {
            rule: rule.to_owned(),
            object: Object::detached(serde_json::json!({
                "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name}
            }))
            .identity,
            source: "namespace".to_owned(),
            reason: None,
            expires: None,
        };
        let listed = first_of_each(vec![
            used("limits-missing", "b"),
            used("limits-missing", "a"),
            used("limits-missing", "b"),
            used("blast-radius-rollout", "b"),
            used("limits-missing", "a"),
        ]);
        assert_eq!(
            listed,
            [
                used("limits-missing", "b"),
                used("limits-missing", "a"),
                used("blast-radius-rollout", "b"),
            ]
        );
    }

    /// Enough objects for the parallel path: every finding is leveled and exempted as the
    /// policy says, and the report keeps pair order for exemptions.
    #[test]
    fn a_large_change_set_applies_levels_and_exemptions_to_every_finding() {
        let policy = Policy::from_yaml(
            "policy.yaml",
            "rules: {blast-radius-rollout: off}\n\
             exemptions: {namespaces: {even: [limits-missing]}}\n",
        )
        .unwrap();
        let objects: Vec<Object> = (0..2 * change::PARALLEL_MIN_PAIRS)
            .map(|index| {
                let namespace = if index % 2 == 0 { "even" } else { "odd" };
                Object::detached(serde_json::json!({
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "metadata": {"name": format!("agent-{index:03}"), "namespace": namespace},
                    "spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "a"}]}}}
                }))
            })
            .collect();
        let change = ChangeSet::new(Vec::new(), objects, &policy);
        let report = check_on(&change, &policy, "2026-01-01");
        let objects_of = |rule: &str| -> Vec<String> {
            report
                .findings
                .iter()
                .filter(|f| f.rule == rule)
                .map(|f| f.object.name.clone())
                .collect()
        };
        assert!(objects_of("blast-radius-rollout").is_empty());
        let mut flagged = objects_of("limits-missing");
        flagged.dedup();
        let odd: Vec<String> = (0..2 * change::PARALLEL_MIN_PAIRS)
            .filter(|index| index % 2 == 1)
            .map(|index| format!("agent-{index:03}"))
            .collect();
        assert_eq!(flagged, odd);
        let exempted: Vec<&str> = report
            .exemptions
            .iter()
            .map(|used| used.object.name.as_str())
            .collect();
        let even: Vec<String> = (0..2 * change::PARALLEL_MIN_PAIRS)
            .filter(|index| index % 2 == 0)
            .map(|index| format!("agent-{index:03}"))
            .collect();
        assert_eq!(exempted, even);
    }

    #[test]
    fn a_broken_file_on_both_sides_is_reported_as_the_before_file() {
        let broken = b"kind: [unclosed\n".to_vec();
        let error = load_change(
            &[file("before", "x.yaml", broken.clone())],
            &[file("after", "x.yaml", broken)],
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(error.file, "before/x.yaml");
        assert!(error.line.is_some());
    }
}
