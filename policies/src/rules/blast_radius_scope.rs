//! `blast-radius-scope` (CL302): one change reaches more clusters, regions, zones or tenants
//! than the policy allows at once.

use crate::change::{ChangeSet, DeltaKind};
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::resources::Class;
use crate::rule::{FindingAt, Rule, RuleMeta, checked_pairs};

/// See [`META`](BlastRadiusScope::META).
pub struct BlastRadiusScope;

impl BlastRadiusScope {
    const META: RuleMeta = RuleMeta {
        id: "blast-radius-scope",
        code: "CL302",
        summary: "One change reaches more clusters, regions, zones or tenants than the policy allows at once",
        severity: Severity::Warn,
        docs: r#"## What it does
Reads where each changed object is deployed, from path patterns (`scope.pathPatterns`, by default
`clusters/{name}/`, `tenants/{name}/`, `regions/{name}/`, `zones/{name}/`, `envs/{name}/`) and
from labels or annotations named in `scope.labels`, and counts the targets of each kind the whole
change reaches. More than `thresholds.maxScopeTargets` (default 1) of one kind is a **warn**;
together with a removed limit anywhere in the change it is a **deny**. A change record whose
rollout section (`record.rollout`) declares stages or a canary turns it into **info**.

## Why is this bad?
A change merged into six cluster overlays at once is applied to six clusters at once: if it is
wrong, every one of them fails together, and there is no healthy cluster left to compare with
or to fail over to.

## Example
```text
clusters/prod-eu-1/log-shipper/daemonset.yaml   (changed)
clusters/prod-eu-2/log-shipper/daemonset.yaml   (changed)
clusters/prod-us-1/log-shipper/daemonset.yaml   (changed)
```

## Use instead
Change one cluster (the canary) in its own pull request, let it soak, then the rest; or declare
the stages in the change record:
```markdown
## Rollout
1. canary: clusters/prod-eu-1, soak 1h
2. clusters/prod-eu-2, prod-us-1
```
"#,
    };
}

impl Rule for BlastRadiusScope {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        let max = policy.thresholds.max_scope_targets;
        let by_category = ChangeSet::reached_targets(checked_pairs(change, policy), policy);
        let removes_limit = change.pairs.iter().any(|p| {
            p.resource_deltas()
                .iter()
                .any(|d| d.kind == DeltaKind::Removed && d.class == Class::Limit)
        });
        let staged = change.declares_staged_rollout(policy);
        for (category, targets) in by_category {
            if targets.len() <= max {
                continue;
            }
            let (severity, why) = match (staged, removes_limit) {
                (true, _) => (
                    Severity::Info,
                    "; the change record declares a staged rollout",
                ),
                (false, true) => (Severity::Deny, " while removing a resource limit"),
                (false, false) => (Severity::Warn, ""),
            };
            let names: Vec<&str> = targets.iter().map(|(name, _)| name.as_str()).collect();
            let anchor = targets[max.min(targets.len() - 1)].1.current();
            let at = FindingAt {
                meta: &Self::META,
                object: anchor,
            };
            let message = format!(
                "one change reaches {} {category} at once ({}){why}; the policy allows {max}",
                names.len(),
                names.join(", ")
            );
            let fix = format!(
                "Split the change: roll it to one of the {category} first (a canary), let it soak, then the rest; or declare the stages in the record's Rollout section."
            );
            out.push(
                at.finding(severity, "", message, fix)
                    .values(None, Some(names.len().to_string())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::testing::config_map_per_directory;

    /// Targets are counted per category: a name met as a cluster still counts as a tenant.
    #[test]
    fn targets_count_per_category() {
        let policy = Policy::default();
        let objects =
            config_map_per_directory(&["clusters/x", "tenants/x", "tenants/y", "clusters/x"]);
        let change = ChangeSet::new(Vec::new(), objects, &policy);
        let mut out = Vec::new();
        BlastRadiusScope.check(&change, &policy, &mut out);
        let messages: Vec<&str> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            ["one change reaches 2 tenants at once (x, y); the policy allows 1"]
        );
    }
}
