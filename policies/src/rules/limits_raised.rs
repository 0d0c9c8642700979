//! `limits-raised` (CL103): a limit or request grew by more than the policy's factor.

use crate::change::{ChangeSet, DeltaKind};
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::rule::{FindingAt, Rule, RuleMeta, checked_pairs};

/// See [`META`](LimitsRaised::META).
pub struct LimitsRaised;

impl LimitsRaised {
    const META: RuleMeta = RuleMeta {
        id: "limits-raised",
        code: "CL103",
        summary: "A limit or request grew by more than the policy's factor (default 4x)",
        severity: Severity::Warn,
        docs: r#"## What it does
Reports each limit or request whose value grew by more than `thresholds.raiseFactor` (default 4)
between before and after. Values are compared as quantities, so `1Gi -> 1024Mi` is no change.

## Why is this bad?
A large raise is usually a deliberate fix (an OOM-killed container), but multiplied by every
replica or every node it can exhaust a cluster's capacity or a namespace's quota. A reviewer
should see it and the record should declare it.

## Example
```yaml
# before                          # after
limits:                           limits:
  memory: 400Mi                     memory: 4Gi
```

## Use instead
Raise in smaller steps, or keep the raise and state its fleet-wide cost in the change record's
Resource Impact section (and mark the finding reviewed with an exemption if the policy wants one).
"#,
    };
}

impl Rule for LimitsRaised {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        let factor = policy.thresholds.raise_factor;
        for pair in checked_pairs(change, policy) {
            let Some(after_object) = &pair.after else {
                continue;
            };
            let at = FindingAt {
                meta: &Self::META,
                object: after_object,
            };
            for delta in pair.resource_deltas() {
                let (DeltaKind::Raised, Some(before), Some(after)) =
                    (delta.kind, delta.before, delta.after)
                else {
                    continue;
                };
                let (Some(old), Some(new)) = (&before.quantity, &after.quantity) else {
                    continue;
                };
                let Some(ratio) = new.ratio_to(old) else {
                    continue;
                };
                if ratio <= factor {
                    continue;
                }
                let container = delta.owner.label();
                let message = format!(
                    "{} {} of `{container}` raised {ratio:.1}x: {} -> {} (policy allows up to {factor}x)",
                    delta.resource, delta.class, before.raw, after.raw
                );
                let fix = format!(
                    "Confirm the cluster has capacity for {} per pod on every replica, and declare it in the record's Resource Impact section.",
                    after.raw
                );
                out.push(
                    at.finding(Severity::Warn, &after.pointer, message, fix)
                        .values(Some(before.raw.clone()), Some(after.raw.clone())),
                );
            }
        }
    }
}
