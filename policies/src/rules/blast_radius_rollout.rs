//! `blast-radius-rollout` (CL301): a rollout that replaces every pod or node at once.

use serde_json::Value;

use crate::change::{ChangeSet, Pair};
use crate::config::{IntOrPercent, Policy};
use crate::finding::{Finding, Severity};
use crate::object::{Object, same_value};
use crate::podspec::{is_node_level, lookup, pod_spec_pointer};
use crate::rule::{FindingAt, Rule, RuleMeta, checked_pairs};

/// See [`META`](BlastRadiusRollout::META).
pub struct BlastRadiusRollout;

impl BlastRadiusRollout {
    const META: RuleMeta = RuleMeta {
        id: "blast-radius-rollout",
        code: "CL301",
        summary: "An unsafe rollout: every node or pod replaced at once, or faster than the policy allows",
        severity: Severity::Deny,
        docs: r#"## What it does
Judges how a workload rolls out when its pod template changes:

- DaemonSet `updateStrategy.rollingUpdate.maxUnavailable` (Kubernetes default 1; `maxSurge`
  above 0 means old pods stay until new ones are ready) above `thresholds.maxUnavailable`
  (default 10%): **warn**; 100% (or at least the node count from `--inventory`): **deny**.
- Deployment `strategy.type: Recreate` with more than one replica, or `maxUnavailable: 100%`:
  **deny**.
- StatefulSet `podManagementPolicy: Parallel` with a rolling update and no `partition`: **warn**.
- A DaemonSet in a namespace listed in `protectedNamespaces` without `minReadySeconds` of at
  least `thresholds.minReadySeconds` (no soak between nodes): **warn**.

It fires when the change triggers a rollout (the pod template changes) or makes the strategy
riskier, and on new objects (`changelint audit`, admission CREATE). A change that only lowers the
risk (100% -> 1) is no finding.

## Why is this bad?
A node-level agent rolled to every node at once turns one bad config into a fleet-wide outage
before anyone can look (incident INC-2026-01-21: the log shipper reached every node in eight
minutes, with no canary and no soak).

## Example
```yaml
kind: DaemonSet
spec:
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 100%
```

## Use instead
```yaml
kind: DaemonSet
spec:
  minReadySeconds: 60
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 10%
```
"#,
    };
}

/// What a workload's rollout settings risk.
struct Risk {
    severity: Severity,
    pointer: String,
    message: String,
    fix: String,
    value: Option<String>,
}

impl Rule for BlastRadiusRollout {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>) {
        for pair in checked_pairs(change, policy) {
            let Some(after) = &pair.after else { continue };
            let nodes = change.node_count(after, policy);
            let after_risks = risks(after, policy, nodes);
            if after_risks.is_empty() {
                continue;
            }
            let rolls = template_changed(pair, policy);
            let before_worst = pair
                .before
                .as_ref()
                .map(|b| risks(b, policy, nodes).iter().map(|r| r.severity).max());
            let at = FindingAt {
                meta: &Self::META,
                object: after,
            };
            for risk in after_risks {
                // Settings that were already as risky only matter when this change rolls pods.
                let riskier = match &before_worst {
                    None => true,
                    Some(worst) => worst.is_none_or(|w| risk.severity > w),
                };
                if !(riskier || rolls) {
                    continue;
                }
                let before_value = pair
                    .before
                    .as_ref()
                    .and_then(|b| lookup(&b.value, &risk.pointer))
                    .map(display);
                out.push(
                    at.finding(risk.severity, &risk.pointer, risk.message, risk.fix)
                        .values(before_value, risk.value),
                );
            }
        }
    }
}

fn display(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Whether the pod template differs, so applying the change replaces pods.
fn template_changed(pair: &Pair, policy: &Policy) -> bool {
    let (Some(before), Some(after)) = (&pair.before, &pair.after) else {
        return true;
    };
    let Some(spec) = pod_spec_pointer(&after.identity, policy) else {
        return false;
    };
    let template = spec.trim_end_matches("/spec");
    match (
        lookup(&before.value, template),
        lookup(&after.value, template),
    ) {
        (Some(before), Some(after)) => !same_value(before, after),
        (before, after) => before.is_some() != after.is_some(),
    }
}

fn int_or_percent(value: &Value) -> Option<IntOrPercent> {
    IntOrPercent::read(value, true).ok()
}

fn risks(object: &Object, policy: &Policy, nodes: Option<u64>) -> Vec<Risk> {
    let spec = &object.value["spec"];
    let mut out = Vec::new();
    match object.identity.kind.as_str() {
        "DaemonSet" if is_node_level(&object.identity) => {
            let strategy = &spec["updateStrategy"];
            if strategy["type"].as_str() == Some("OnDelete") {
                return out;
            }
            // With maxSurge the new pod starts before the old one stops, but just as many
            // nodes run the new version at once: the step is whichever of the two is set.
            let rolling = &strategy["rollingUpdate"];
            let surge = int_or_percent(&rolling["maxSurge"]).filter(|s| !is_zero(*s));
            let (field, raw) = match surge {
                Some(_) => ("maxSurge", &rolling["maxSurge"]),
                None => ("maxUnavailable", &rolling["maxUnavailable"]),
            };
            let pointer = format!("/spec/updateStrategy/rollingUpdate/{field}");
            let max_unavailable = int_or_percent(raw).unwrap_or(IntOrPercent::Int(1));
            let shown = if raw.is_null() {
                "1 (default)".to_owned()
            } else {
                display(raw)
            };
            let fraction = max_unavailable.fraction(nodes);
            let bound = policy.thresholds.max_unavailable;
            let every_node = fraction.is_some_and(|f| f >= 1.0);
            let above_bound = match (max_unavailable, bound, nodes) {
                (_, _, Some(n)) => max_unavailable.of(n) > bound.of(n).max(1),
                (IntOrPercent::Percent(p), IntOrPercent::Percent(b), None) => p > b,
                (IntOrPercent::Int(v), IntOrPercent::Int(b), None) => v > b,
                _ => false,
            };
            if every_node {
                out.push(Risk {
                    severity: Severity::Deny,
                    message: format!(
                        "DaemonSet {} rolls to every node at once ({field} {shown}{}): no canary, no way to stop a bad rollout",
                        object.identity.name,
                        nodes.map(|n| format!(" of {n} nodes")).unwrap_or_default()
                    ),
                    fix: format!("Set {field} to {} or less and add minReadySeconds so each step soaks.", bound_text(bound)),
                    pointer: pointer.clone(),
                    value: Some(shown.clone()),
                });
            } else if above_bound {
                out.push(Risk {
                    severity: Severity::Warn,
                    message: format!(
                        "DaemonSet {} takes down up to {shown} nodes at a time, above the policy's {}",
                        object.identity.name,
                        bound_text(bound)
                    ),
                    fix: format!("Lower {field} to {} or less.", bound_text(bound)),
                    pointer: pointer.clone(),
                    value: Some(shown.clone()),
                });
            }
            let protected = policy
                .protected_namespaces
                .iter()
                .any(|n| n == object.namespace());
            let soak = spec["minReadySeconds"].as_u64().unwrap_or(0);
            if protected && soak < u64::from(policy.thresholds.min_ready_seconds) {
                out.push(Risk {
                    severity: Severity::Warn,
                    message: format!(
                        "DaemonSet {} in protected namespace {} has minReadySeconds {soak}: no soak between nodes (policy wants {})",
                        object.identity.name,
                        object.namespace(),
                        policy.thresholds.min_ready_seconds
                    ),
                    fix: format!("Set spec.minReadySeconds to at least {}.", policy.thresholds.min_ready_seconds),
                    pointer: "/spec/minReadySeconds".to_owned(),
                    value: Some(soak.to_string()),
                });
            }
        }
        "Deployment" => {
            let replicas = spec["replicas"].as_u64().unwrap_or(1);
            let strategy = &spec["strategy"];
            if strategy["type"].as_str() == Some("Recreate") && replicas > 1 {
                out.push(Risk {
                    severity: Severity::Deny,
                    message: format!(
                        "Deployment {} uses Recreate with {replicas} replicas: every pod is stopped before any new one starts",
                        object.identity.name
                    ),
                    fix: "Use strategy RollingUpdate with maxUnavailable 25% (or less) and maxSurge 25%.".to_owned(),
                    pointer: "/spec/strategy/type".to_owned(),
                    value: Some("Recreate".to_owned()),
                });
            }
            let raw = &strategy["rollingUpdate"]["maxUnavailable"];
            if let Some(max) = int_or_percent(raw) {
                if replicas > 1 && max.fraction(Some(replicas)).is_some_and(|f| f >= 1.0) {
                    out.push(Risk {
                        severity: Severity::Deny,
                        message: format!(
                            "Deployment {} may take all {replicas} replicas down at once (maxUnavailable {})",
                            object.identity.name,
                            display(raw)
                        ),
                        fix: "Lower maxUnavailable to 25% or less.".to_owned(),
                        pointer: "/spec/strategy/rollingUpdate/maxUnavailable".to_owned(),
                        value: Some(display(raw)),
                    });
                }
            }
        }
        "StatefulSet" => {
            let parallel = spec["podManagementPolicy"].as_str() == Some("Parallel");
            let rolling = spec["updateStrategy"]["type"].as_str() != Some("OnDelete");
            let partitioned = spec["updateStrategy"]["rollingUpdate"]["partition"]
                .as_u64()
                .is_some_and(|p| p > 0);
            if parallel && rolling && !partitioned && spec["replicas"].as_u64().unwrap_or(1) > 1 {
                out.push(Risk {
                    severity: Severity::Warn,
                    message: format!(
                        "StatefulSet {} manages pods in Parallel with no rollout partition: replicas are not updated one at a time behind a canary",
                        object.identity.name
                    ),
                    fix: "Stage the update with updateStrategy.rollingUpdate.partition, or use OrderedReady.".to_owned(),
                    pointer: "/spec/podManagementPolicy".to_owned(),
                    value: Some("Parallel".to_owned()),
                });
            }
        }
        _ => {}
    }
    out
}

fn is_zero(value: IntOrPercent) -> bool {
    matches!(value, IntOrPercent::Int(0)) || matches!(value, IntOrPercent::Percent(p) if p == 0.0)
}

fn bound_text(bound: IntOrPercent) -> String {
    match bound {
        IntOrPercent::Int(n) => n.to_string(),
        IntOrPercent::Percent(p) => format!("{p}%"),
    }
}
