//! `limits-missing` (CL104): a new workload container has no memory limit or no requests.

use crate::change::ChangeSet;
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::podspec::is_node_level;
use crate::resources::Class;
use crate::rule::{FindingAt, Rule, RuleMeta, checked_pairs};

/// See [`META`](LimitsMissing::META).
pub struct LimitsMissing;

impl LimitsMissing {
    const META: RuleMeta = RuleMeta {
        id: "limits-missing",
        code: "CL104",
        summary: "A new workload container has no memory limit or no requests",
        severity: Severity::Deny,
        docs: r#"## What it does
Checks every container that the change adds (a new workload, or a new container or init
container in an existing one; in `changelint audit` and on admission CREATE, every container)
for a memory limit and for cpu and memory requests.

Severity: **deny** for node-level agents (DaemonSets), which run on every node; **warn** for
other workloads.

## Why is this bad?
A container without a memory limit is unbounded from its first day; without requests the
scheduler reserves nothing for it. On a DaemonSet every node carries that risk.

## Example
```yaml
kind: DaemonSet
spec:
  template:
    spec:
      containers:
        - name: log-shipper
          image: shipper:2.0
```

## Use instead
```yaml
      containers:
        - name: log-shipper
          image: shipper:2.0
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
```
"#,
    };
}

impl Rule for LimitsMissing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        for pair in checked_pairs(change, policy) {
            let Some(after_object) = &pair.after else {
                continue;
            };
            let at = FindingAt {
                meta: &Self::META,
                object: after_object,
            };
            let severity = if is_node_level(&after_object.identity) {
                Severity::Deny
            } else {
                Severity::Warn
            };
            // Only containers: a config block's limits are judged when they change, not when new.
            for owner in pair.owners.iter().filter(|o| {
                o.before.is_none() && o.after.as_ref().is_some_and(|a| a.list.is_some())
            }) {
                let Some(container) = &owner.after else {
                    continue;
                };
                let mut missing = Vec::new();
                if container.slot(Class::Limit, "memory").is_none() {
                    missing.push("memory limit");
                }
                for resource in ["cpu", "memory"] {
                    // A request left out defaults to the limit, so a limit counts as a request.
                    if container.slot(Class::Request, resource).is_none()
                        && container.slot(Class::Limit, resource).is_none()
                    {
                        missing.push(if resource == "cpu" {
                            "cpu request"
                        } else {
                            "memory request"
                        });
                    }
                }
                if missing.is_empty() {
                    continue;
                }
                let label = container.label();
                let message = format!(
                    "new container `{label}` of {} has no {}",
                    after_object.identity,
                    missing.join(", ")
                );
                let fix = format!(
                    "Add `resources.requests` (cpu, memory) and `resources.limits.memory` to `{label}`."
                );
                out.push(
                    at.finding(severity, &container.pointer, message, fix)
                        .values(None, None),
                );
            }
        }
    }
}
