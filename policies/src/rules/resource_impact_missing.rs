//! `resource-impact-missing` (CL201): the change alters resources and the change record has no
//! non-empty Resource Impact section.

use crate::change::{ChangeSet, Pair};
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::object::Identity;
use crate::rule::{Rule, RuleMeta, TEMPLATE_HINT, record_finding, record_identity};

/// See [`META`](ResourceImpactMissing::META).
pub struct ResourceImpactMissing;

impl ResourceImpactMissing {
    const META: RuleMeta = RuleMeta {
        id: "resource-impact-missing",
        code: "CL201",
        summary: "The change alters resources and the change record has no non-empty Resource Impact section",
        severity: Severity::Deny,
        docs: r#"## What it does
When the change alters any limit or request (removed, added, raised or lowered, in a workload or
an agent config), reads the change record (`--record FILE`, or the pull request's body with
`--record-from-github-event`) and looks for a Resource Impact section: a heading of any level,
ATX (`## Resource Impact`) or setext, in any case, with or without a trailing colon, named as in
`record.resourceImpact` (default: "Resource Impact", "Resource impact assessment", "Capacity
impact"). A section whose text is only a placeholder (N/A, TBD, none, "-", a template comment)
does not count, and neither does text inside code blocks or HTML comments.

A change that alters no resources needs no such section. With `record.required: true` in the
policy, a missing record is itself a finding.

## Why is this bad?
A change record that never mentions resources lets a reviewer approve a limit removal without
seeing it: incident INC-2026-01-21 was titled "dashboards and alerts bundle" plus "config
simplification", and hid four deleted limit lines.

## Example
```markdown
# CHG-0855: dashboards and alerts bundle
## Summary
Adds dashboards; config simplification.
```

## Use instead
```markdown
## Resource Impact
| workload | resource | before | after |
|---|---|---|---|
| log-shipper (DaemonSet, every node) | memory limit | 256Mi | 512Mi |
```
"#,
    };
}

impl Rule for ResourceImpactMissing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        let changed: Vec<&Identity> = change
            .resource_changes(policy)
            .map(Pair::identity)
            .collect();
        let Some(first) = changed.first() else { return };
        let names: Vec<String> = changed.iter().map(ToString::to_string).collect();
        let Some(record) = &change.record else {
            if policy.record.required {
                let mut finding = Finding {
                    rule: Self::META.id,
                    severity: Severity::Deny,
                    object: (*first).clone(),
                    file: None,
                    line: None,
                    pointer: String::new(),
                    message: format!(
                        "the change alters resources of {} but no change record was given, and the policy requires one",
                        names.join(", ")
                    ),
                    before: None,
                    after: None,
                    fix: format!("Pass the record with --record FILE. {TEMPLATE_HINT}"),
                    after_location: None,
                };
                let at = change
                    .resource_changes(policy)
                    .next()
                    .map(|p| p.current().locate(""));
                if let Some((file, line)) = at {
                    (finding.file, finding.line) = (file, line);
                }
                out.push(finding);
            }
            return;
        };
        let section = record.find(&policy.record.resource_impact);
        let (line, problem) = match section {
            None => (1, "has no Resource Impact section".to_owned()),
            Some(s) if s.is_placeholder() => (
                s.line,
                format!("has a `{}` section with only a placeholder", s.title),
            ),
            Some(_) => return,
        };
        let message = format!(
            "the change alters resources of {}, but the change record {problem}",
            names.join(", ")
        );
        let fix = format!(
            "Add a `## Resource Impact` section naming each workload and its before -> after requests and limits. {TEMPLATE_HINT}"
        );
        out.push(record_finding(
            &Self::META,
            Severity::Deny,
            record_identity(record),
            record,
            line,
            message,
            fix,
        ));
    }
}
