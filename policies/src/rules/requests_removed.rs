//! `requests-removed` (CL102): a cpu or memory request that existed before is gone after.

use crate::change::ChangeSet;
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::resources::Class;
use crate::rule::{Rule, RuleMeta, removals};

/// See [`META`](RequestsRemoved::META).
pub struct RequestsRemoved;

impl RequestsRemoved {
    const META: RuleMeta = RuleMeta {
        id: "requests-removed",
        code: "CL102",
        summary: "A cpu or memory request existed before and is gone after",
        severity: Severity::Deny,
        docs: r#"## What it does
Reports each cpu or memory request that was set before the change and is not set after, in
containers, init containers and agent configs.

Severity: **deny** when nothing bounds the request any more; **warn** when a kept limit still
defaults it (Kubernetes sets a missing request to the limit) or a LimitRange in the same tree and
namespace supplies `defaultRequest`.

## Why is this bad?
Without a request the scheduler reserves nothing for the container: nodes are over-committed,
the pod lands in the BestEffort or Burstable QoS class and is the first to be evicted under
pressure. Removed together with the limit, the container is both unreserved and unbounded.

## Example
```yaml
# before                          # after
resources:                        resources: {}
  requests:
    cpu: 100m
    memory: 128Mi
```

## Use instead
```yaml
resources:
  requests:
    cpu: 100m
    memory: 128Mi
```
"#,
    };
}

impl Rule for RequestsRemoved {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        for removal in removals(change, policy, Class::Request) {
            let (delta, slot) = (&removal.delta, removal.slot);
            let kept_limit = delta
                .owner
                .after
                .as_ref()
                .and_then(|o| o.slot(Class::Limit, delta.resource));
            let namespace = removal.pair.current().namespace();
            let default = change.limit_range_default(namespace, Class::Request, delta.resource);
            let (severity, effective) = match (kept_limit, default) {
                (Some(limit), _) => (
                    Severity::Warn,
                    format!("; the kept limit defaults it to {}", limit.raw),
                ),
                (None, Some(d)) => (
                    Severity::Warn,
                    format!("; LimitRange {} defaults it to {}", d.name, d.value),
                ),
                (None, None) => (
                    Severity::Deny,
                    "; nothing is reserved for it any more".to_owned(),
                ),
            };
            let container = delta.owner.label();
            let message = format!(
                "{} request of `{container}` removed: {} -> unset{effective}",
                delta.resource, slot.raw
            );
            let fix = format!(
                "Restore the {} request (was {}) on `{container}` so the scheduler keeps reserving it.",
                delta.resource, slot.raw
            );
            out.push(removal.finding(&Self::META, severity, message, fix));
        }
    }
}
