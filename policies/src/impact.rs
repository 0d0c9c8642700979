//! The impact model: what a change does to resources, per workload and container, and how far
//! it reaches. Outputs render it (the Markdown report's table, JSON's `impact` object).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use json_patch::jsonptr::PointerBuf;
use serde::Serialize;
use serde_json::Value;

use crate::change::{ChangeSet, DeltaKind, Pair, ResourceDelta};
use crate::config::Policy;
use crate::finding::Finding;
use crate::object::{Identity, Object, same_value};
use crate::podspec::is_node_level;
use crate::quantity::format_total;
use crate::record::{SectionState, SectionStatus, required_sections};
use crate::resources::Class;

/// What the change does, as a reviewer reads it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Impact {
    /// Workloads and configs whose resources change, in input order.
    pub workloads: Vec<WorkloadImpact>,
    /// Number of objects changed (added, removed or modified) in all.
    pub objects_changed: usize,
    /// Deployment targets the change reaches, by category (`clusters`, `tenants`, ...).
    pub targets: BTreeMap<String, Vec<String>>,
    /// The change record's required sections, when a record was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordStatus>,
}

/// The change record as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordStatus {
    /// The record's file.
    pub file: String,
    /// Each required section and its state.
    pub sections: Vec<SectionStatus>,
    /// Whether the record's rollout section declares stages or a canary.
    pub staged_rollout: bool,
}

impl RecordStatus {
    /// The record's sections, with Resource Impact marked undeclared when a finding says so.
    pub fn of(change: &ChangeSet, policy: &Policy, findings: &[Finding]) -> Option<Self> {
        let record = change.record.as_ref()?;
        let mut sections = required_sections(record, &policy.record);
        let undeclared = findings
            .iter()
            .any(|f| f.rule == "resource-impact-undeclared");
        if let Some(first) = sections
            .first_mut()
            .filter(|s| undeclared && s.state == SectionState::Present)
        {
            first.state = SectionState::Undeclared;
        }
        Some(Self {
            file: record.file.clone(),
            sections,
            staged_rollout: change.declares_staged_rollout(policy),
        })
    }
}

/// One workload (or agent config) whose limits or requests change.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadImpact {
    /// The object.
    pub object: Identity,
    /// Its file (after side, or before side when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
    /// For an agent config: the workload that runs it (the one workload in its directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_by: Option<Identity>,
    /// How many pods (or nodes, for DaemonSets) the change reaches, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<Reach>,
    /// Per-resource changes.
    pub changes: Vec<ResourceChange>,
    /// The raw difference (RFC 6902), for reviewers and audit logs.
    pub patch: json_patch::Patch,
}

/// How far one workload's change reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reach {
    /// The count.
    pub count: u64,
    /// `pods` or `nodes`.
    pub unit: &'static str,
}

/// One limit or request that changes.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceChange {
    /// Container or config block.
    pub container: String,
    /// Limit or request.
    pub class: Class,
    /// `cpu`, `memory`, ...
    pub resource: String,
    /// The value before (`None`: unset).
    pub before: Option<String>,
    /// The value after (`None`: unset: "unbounded" for a limit).
    pub after: Option<String>,
    /// Removed, added, raised or lowered.
    pub kind: DeltaKind,
    /// The change multiplied out over the workload's reach, e.g.
    /// `memory limit 256Mi -> unbounded on 120 nodes (30Gi -> unbounded)`.
    pub fleet: String,
}

impl Impact {
    /// Computes the impact of a change set.
    pub fn of(change: &ChangeSet, policy: &Policy) -> Self {
        let changed_pairs = change.pairs.iter().filter(|p| p.changed());
        let targets = ChangeSet::reached_targets(changed_pairs, policy)
            .into_iter()
            .map(|(category, reached)| {
                (
                    category,
                    reached.into_iter().map(|(name, _)| name).collect(),
                )
            })
            .collect();
        let mut impact = Impact {
            targets,
            ..Impact::default()
        };
        for pair in &change.pairs {
            if !pair.changed() {
                continue;
            }
            impact.objects_changed += 1;
            let reach = reach(change, pair, policy);
            let changes: Vec<ResourceChange> = pair
                .resource_deltas()
                .into_iter()
                .map(|d| ResourceChange {
                    container: d.owner.label(),
                    class: d.class,
                    resource: d.resource.to_owned(),
                    before: d.before.map(|s| s.raw.clone()),
                    after: d.after.map(|s| s.raw.clone()),
                    kind: d.kind,
                    fleet: fleet_text(&d, reach),
                })
                .collect();
            if changes.is_empty() {
                continue;
            }
            let current = pair.current();
            let deployed_by = if current.identity.is_config() {
                change
                    .deploying_workload(current)
                    .map(|w| w.identity.clone())
            } else {
                None
            };
            impact.workloads.push(WorkloadImpact {
                object: current.identity.clone(),
                file: current.origin.as_ref().map(|o| o.file.clone()),
                reach,
                deployed_by,
                changes,
                patch: patch(pair),
            });
        }
        impact
    }
}

/// Replicas for scalable kinds; nodes for DaemonSets when the inventory knows the cluster. An
/// agent config reaches what the one workload in its directory reaches (`log-shipper/config.yaml`
/// next to `log-shipper/daemonset.yaml`).
fn reach(change: &ChangeSet, pair: &Pair, policy: &Policy) -> Option<Reach> {
    let object = pair.after.as_ref().or(pair.before.as_ref())?;
    if object.identity.is_config() {
        let workload = change.deploying_workload(object)?;
        return workload_reach(change, workload, policy);
    }
    workload_reach(change, object, policy)
}

fn workload_reach(change: &ChangeSet, object: &Object, policy: &Policy) -> Option<Reach> {
    if is_node_level(&object.identity) {
        let count = change.node_count(object, policy)?;
        return Some(Reach {
            count,
            unit: "nodes",
        });
    }
    let replicas = &object.value["spec"]["replicas"];
    match object.identity.kind.as_str() {
        "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" => Some(Reach {
            count: replicas.as_u64().unwrap_or(1),
            unit: "pods",
        }),
        "Pod" => Some(Reach {
            count: 1,
            unit: "pods",
        }),
        _ => None,
    }
}

/// `memory limit 256Mi -> unbounded on 120 nodes (30Gi -> unbounded)`.
fn fleet_text(delta: &ResourceDelta<'_>, reach: Option<Reach>) -> String {
    let unset = if delta.class == Class::Limit {
        "unbounded"
    } else {
        "unset"
    };
    let value =
        |slot: Option<&crate::resources::Slot>| slot.map_or(unset.to_owned(), |s| s.raw.clone());
    let mut text = format!(
        "{} {} {} -> {}",
        delta.resource,
        delta.class,
        value(delta.before),
        value(delta.after)
    );
    if let Some(reach) = reach.filter(|r| r.count > 1) {
        let memory = delta.resource == "memory";
        let total = |slot: Option<&crate::resources::Slot>| {
            slot.and_then(|s| s.quantity.as_ref())
                .map_or(unset.to_owned(), |q| {
                    // A quantity near the top of its range times many replicas overflows.
                    q.nanos().checked_mul(i128::from(reach.count)).map_or_else(
                        || "out of range".to_owned(),
                        |total| format_total(total, memory),
                    )
                })
        };
        let _ = write!(
            text,
            " on {} {} ({} -> {})",
            reach.count,
            reach.unit,
            total(delta.before),
            total(delta.after)
        );
    }
    text
}

fn patch(pair: &Pair) -> json_patch::Patch {
    let null = serde_json::Value::Null;
    let before = pair.before.as_ref().map_or(&null, |o| &o.value);
    let after = pair.after.as_ref().map_or(&null, |o| &o.value);
    let mut patch = json_patch::Patch::default();
    diff(before, after, &mut PointerBuf::new(), &mut patch);
    patch
}

/// `json_patch::diff`, operation for operation, but equal subtrees are passed over with one
/// comparison instead of being walked with a JSON pointer built for every node: a workload
/// differs in a few fields, and building pointers for the rest was most of an admission
/// review's cost.
fn diff(left: &Value, right: &Value, pointer: &mut PointerBuf, patch: &mut json_patch::Patch) {
    use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};

    match (left, right) {
        (Value::Object(left), Value::Object(right)) => {
            // Versions of an object keep their key order: a key is looked up (hashed) only
            // where the orders part.
            let mut aligned = left.len() == right.len();
            let mut in_order = left.iter();
            for (key, right_value) in right {
                let left_value = match in_order.next() {
                    Some((left_key, left_value)) if aligned && left_key == key => Some(left_value),
                    _ => {
                        aligned = false;
                        left.get(key)
                    }
                };
                match left_value {
                    Some(left_value) if same_value(left_value, right_value) => {}
                    Some(left_value) => {
                        pointer.push_back(key);
                        diff(left_value, right_value, pointer, patch);
                        pointer.pop_back();
                    }
                    None => {
                        pointer.push_back(key);
                        patch.0.push(PatchOperation::Add(AddOperation {
                            path: pointer.clone(),
                            value: right_value.clone(),
                        }));
                        pointer.pop_back();
                    }
                }
            }
            for key in left.keys().filter(|_| !aligned) {
                if !right.contains_key(key) {
                    pointer.push_back(key);
                    patch.0.push(PatchOperation::Remove(RemoveOperation {
                        path: pointer.clone(),
                    }));
                    pointer.pop_back();
                }
            }
        }
        (Value::Array(left), Value::Array(right)) => {
            let mut shift = 0usize;
            for index in 0..left.len().max(right.len()) {
                match (left.get(index), right.get(index)) {
                    (Some(l), Some(r)) if same_value(l, r) => {}
                    (Some(l), Some(r)) => {
                        pointer.push_back(index - shift);
                        diff(l, r, pointer, patch);
                        pointer.pop_back();
                    }
                    (Some(_), None) => {
                        pointer.push_back(index - shift);
                        shift += 1;
                        patch.0.push(PatchOperation::Remove(RemoveOperation {
                            path: pointer.clone(),
                        }));
                        pointer.pop_back();
                    }
                    (None, Some(r)) => {
                        pointer.push_back(index - shift);
                        patch.0.push(PatchOperation::Add(AddOperation {
                            path: pointer.clone(),
                            value: r.clone(),
                        }));
                        pointer.pop_back();
                    }
                    (None, None) => {}
                }
            }
        }
        _ if left == right => {}
        _ => patch.0.push(PatchOperation::Replace(ReplaceOperation {
            path: pointer.clone(),
            value: right.clone(),
        })),
    }
}

#[cfg(test)]
mod fleet_tests {
    use crate::{Policy, SourceFile, load_change};

    use super::Impact;

    /// See: fuzzing `manifest_loader`, which found the multiplication overflowing (a panic in
    /// debug builds, a wrong total in release).
    #[test]
    fn a_total_past_the_quantity_range_is_out_of_range_not_a_panic() {
        let deployment = |memory: &str| {
            format!(
                r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"x"}},"spec":{{"replicas":3,"template":{{"spec":{{"containers":[{{"name":"c","resources":{{"limits":{{"memory":"{memory}"}}}}}}]}}}}}}}}"#
            )
        };
        let policy = Policy::default();
        let change = load_change(
            &[SourceFile::new("d.json", deployment("1Gi"))],
            &[SourceFile::new("d.json", deployment("1e29"))],
            &policy,
        )
        .expect("loads");
        let impact = Impact::of(&change, &policy);
        let fleet = &impact.workloads[0].changes[0].fleet;
        assert!(
            fleet.ends_with("on 3 pods (3Gi -> out of range)"),
            "{fleet}"
        );
    }
}

#[cfg(test)]
mod diff_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diff_is_json_patch_diff() {
        let cases = [
            (json!({"a": 1}), json!({"a": 1})),
            (json!({"a": 1}), json!(null)),
            (
                json!({"a": [1, 2, 3], "b": {"c": 1}}),
                json!({"a": [1, 3], "b": {"c": 2}, "d": 4}),
            ),
            (json!([{"x": 1}, {"y": 2}, 3]), json!([{"x": 1}])),
            (json!([1]), json!([1, {"z": [5]}, 2])),
            (
                json!({"a/b": {"~c": [1, 2]}, "": 1}),
                json!({"a/b": {"~c": [2]}, "": 2}),
            ),
            (
                json!({"a": 1, "b": {"c": 1, "d": 2}, "e": 3}),
                json!({"b": {"d": 2, "c": 3}, "a": 1, "e": 4}),
            ),
            (
                json!({"a": 1, "b": 2, "c": 3}),
                json!({"a": 1, "x": 2, "c": 3}),
            ),
            (json!({"a": 1, "b": 2}), json!({"a": 1})),
            (json!({"a": 1}), json!({"a": 1, "b": 2})),
            (
                json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"memory": "1Gi"}}}, {"name": "b"}]}}),
                json!({"spec": {"containers": [{"name": "a", "resources": {}}, {"name": "b", "image": "x"}]}}),
            ),
        ];
        for (left, right) in cases {
            let mut ours = json_patch::Patch::default();
            diff(&left, &right, &mut PointerBuf::new(), &mut ours);
            assert_eq!(ours, json_patch::diff(&left, &right), "{left} -> {right}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::testing::config_map_per_directory;

    /// Each target once per category, in the order first reached; the same name in two
    /// categories is two targets.
    #[test]
    fn targets_are_listed_once_per_category() {
        let policy = Policy::default();
        let objects = config_map_per_directory(&[
            "clusters/x",
            "tenants/x",
            "clusters/y",
            "clusters/x",
            "tenants/y",
        ]);
        let change = ChangeSet::new(Vec::new(), objects, &policy);
        let targets = Impact::of(&change, &policy).targets;
        assert_eq!(targets["clusters"], ["x", "y"]);
        assert_eq!(targets["tenants"], ["x", "y"]);
    }
}
