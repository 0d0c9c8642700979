//! `resource-impact-undeclared` (CL202): the Resource Impact section exists but does not cover a
//! resource change the diff makes.

use crate::change::{ChangeSet, DeltaKind, Pair};
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::record::{declares_no_change, mentioned};
use crate::resources::Class;
use crate::rule::{Rule, RuleMeta, TEMPLATE_HINT, record_finding};

/// See [`META`](ResourceImpactUndeclared::META).
pub struct ResourceImpactUndeclared;

impl ResourceImpactUndeclared {
    const META: RuleMeta = RuleMeta {
        id: "resource-impact-undeclared",
        code: "CL202",
        summary: "The Resource Impact section does not cover a resource change the diff makes",
        severity: Severity::Deny,
        docs: r#"## What it does
For every workload (or agent config) whose limits or requests change, checks that the change
record's Resource Impact section names it: the object's name, its file or directory name, one of
its containers, or the workload an agent config sits next to. A section that says "N/A",
"none", "no resource changes" or "no other resource changes" while a limit is removed is also
reported, unless it names the removed value.

## Why is this bad?
A section that covers one workload while another loses its limit is worse than none: it tells
the reviewer the resource question was answered.

## Example
```markdown
## Resource Impact
api: memory limit 512Mi -> 1Gi. No other resource changes.
```
(while `log-shipper` loses its memory limit in the same change)

## Use instead
```markdown
## Resource Impact
- api: memory limit 512Mi -> 1Gi (3 replicas: +1.5Gi)
- log-shipper (DaemonSet, every node): memory limit 256Mi -> 512Mi
```
"#,
    };
}

/// Names a record may use for a changed object.
fn candidate_names(change: &ChangeSet, pair: &Pair) -> Vec<String> {
    let object = pair.current();
    let mut names = Vec::new();
    if !object.identity.is_config() {
        names.push(object.identity.name.clone());
    }
    if let Some(origin) = &object.origin {
        let path = origin.pairing_path.trim_start_matches("./");
        let mut parts = path.rsplit('/');
        if let Some(file) = parts.next() {
            names.push(file.to_owned());
            names.push(
                file.rsplit_once('.')
                    .map_or(file, |(stem, _)| stem)
                    .to_owned(),
            );
        }
        if let Some(dir) = parts.next() {
            names.push(dir.to_owned());
        }
        if !path.is_empty() {
            names.push(path.to_owned());
        }
    }
    if object.identity.is_config() {
        if let Some(workload) = change.deploying_workload(object) {
            names.push(workload.identity.name.clone());
        }
    }
    for owner in &pair.owners {
        let label = owner.label();
        if let Some(last) = label.rsplit('.').next() {
            names.push(last.trim_end_matches(" (init)").to_owned());
        }
    }
    names.retain(|n| {
        n.len() > 2 && !matches!(n.as_str(), "resources" | "config" | "values" | "spec")
    });
    names
}

impl Rule for ResourceImpactUndeclared {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        let Some(record) = &change.record else { return };
        let Some(section) = record.find(&policy.record.resource_impact) else {
            return;
        };
        if section.is_placeholder() {
            return; // resource-impact-missing reports it
        }
        let says_none = declares_no_change(&section.text);
        let pairs: Vec<&Pair> = change.resource_changes(policy).collect();
        // Every pair's names are looked for in one pass; each pair owns a run of the results.
        let names_per_pair: Vec<Vec<String>> = pairs
            .iter()
            .map(|pair| candidate_names(change, pair))
            .collect();
        let all_names: Vec<&str> = names_per_pair
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let mentions = mentioned(&section.text, &all_names);
        let mut run_start = 0;
        for (pair, names) in pairs.into_iter().zip(&names_per_pair) {
            let declared = mentions[run_start..run_start + names.len()].contains(&true);
            run_start += names.len();
            let removed: Vec<String> = pair
                .resource_deltas()
                .iter()
                .filter(|d| d.kind == DeltaKind::Removed && d.class == Class::Limit)
                .filter_map(|d| d.before.map(|s| s.raw.clone()))
                .collect();
            let contradicted = says_none
                && !removed.is_empty()
                && !removed.iter().any(|v| section.text.contains(v.as_str()));
            if declared && !contradicted {
                continue;
            }
            let identity = pair.identity();
            let deltas: Vec<String> = pair
                .resource_deltas()
                .iter()
                .map(|d| {
                    let unset = if d.class == Class::Limit {
                        "unbounded"
                    } else {
                        "unset"
                    };
                    let value = |s: Option<&crate::resources::Slot>| {
                        s.map_or(unset.to_owned(), |s| s.raw.clone())
                    };
                    format!(
                        "{} {} {} -> {}",
                        d.resource,
                        d.class,
                        value(d.before),
                        value(d.after)
                    )
                })
                .collect();
            let why = if contradicted {
                "says there are no resource changes"
            } else {
                "does not name it"
            };
            let message = format!(
                "{identity} changes resources ({}), but the record's `{}` section {why}",
                deltas.join(", "),
                section.title
            );
            let fix = format!(
                "Name {} in the `{}` section with its before -> after values. {TEMPLATE_HINT}",
                identity.name, section.title
            );
            out.push(record_finding(
                &Self::META,
                Severity::Deny,
                identity.clone(),
                record,
                section.line,
                message,
                fix,
            ));
        }
    }
}
