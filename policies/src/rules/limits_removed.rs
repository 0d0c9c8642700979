//! `limits-removed` (CL101): a cpu or memory limit that existed before is gone after.

use crate::change::ChangeSet;
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::resources::Class;
use crate::rule::{Rule, RuleMeta, removals};

/// See [`META`](LimitsRemoved::META).
pub struct LimitsRemoved;

impl LimitsRemoved {
    const META: RuleMeta = RuleMeta {
        id: "limits-removed",
        code: "CL101",
        summary: "A container's cpu or memory limit existed before and is gone after",
        severity: Severity::Deny,
        docs: r#"## What it does
Compares every container (and init container, and every limit key of agent configs such as
`resources: {cpu_limit, mem_limit}`) before and after the change, and reports each cpu or memory
limit that was set before and is not set after. Quantities are compared by value.

Severity: **deny** for a memory limit; **warn** for a cpu limit (many teams drop cpu limits on
purpose to avoid throttling); **warn** when a LimitRange in the same tree and namespace still
supplies a default limit, so the effective value stays bounded.

## Why is this bad?
A container without a memory limit can grow until the node runs out of memory. On a node-level
DaemonSet that happens on every node at once: the kernel OOM-kills application containers, they
restart in a storm, and the outage spreads (incident INC-2026-01-21: a log shipper lost its
limits in a "config simplification" and took the region down for 55 minutes).

## Example
```yaml
# before                          # after
resources:                        resources:
  limits:                           requests:
    memory: 256Mi                     memory: 128Mi
  requests:
    memory: 128Mi
```

## Use instead
Keep the limit. If it was too tight, raise it and say so in the change record's Resource Impact
section:
```yaml
resources:
  limits:
    memory: 512Mi
  requests:
    memory: 128Mi
```
"#,
    };
}

impl Rule for LimitsRemoved {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        for removal in removals(change, policy, Class::Limit) {
            let (delta, slot) = (&removal.delta, removal.slot);
            let namespace = removal.pair.current().namespace();
            let default = change.limit_range_default(namespace, Class::Limit, delta.resource);
            let (severity, after) = match (delta.resource, default) {
                (_, Some(d)) => (
                    Severity::Warn,
                    format!("{} (LimitRange {} default)", d.value, d.name),
                ),
                ("memory", None) => (Severity::Deny, "unbounded".to_owned()),
                _ => (
                    Severity::Warn,
                    "unbounded (cpu is throttled, not killed)".to_owned(),
                ),
            };
            let container = delta.owner.label();
            let message = format!(
                "{} limit of `{container}` removed: {} -> {after}",
                delta.resource, slot.raw
            );
            let key = slot.pointer.rsplit('/').next().unwrap_or("limit");
            let fix = format!(
                "Restore `{key}` (was {}) on `{container}`, or raise it and declare the change in the record's Resource Impact section.",
                slot.raw
            );
            out.push(removal.finding(&Self::META, severity, message, fix));
        }
    }
}
