//! The impact model: what a change does to resources, per workload and container, and how far
//! it reaches. Outputs render it (the Markdown report's table, JSON's `impact` object).

use std::sync::Arc;

use serde::Serialize;

use crate::change::{ChangeSet, DeltaKind, Pair};
use crate::object::Identity;
use crate::podspec::is_node_level;
use crate::resources::Class;

/// What the change does, as a reviewer reads it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Impact {
    /// Workloads and configs whose resources change, in input order.
    pub workloads: Vec<WorkloadImpact>,
    /// Number of objects changed (added, removed or modified) in all.
    pub objects_changed: usize,
}

/// One workload (or agent config) whose limits or requests change.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadImpact {
    /// The object.
    pub object: Identity,
    /// Its file (after side, or before side when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
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
}

impl Impact {
    /// Computes the impact of a change set.
    pub fn of(change: &ChangeSet) -> Self {
        let mut impact = Impact::default();
        for pair in &change.pairs {
            if !pair.changed() {
                continue;
            }
            impact.objects_changed += 1;
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
                })
                .collect();
            if changes.is_empty() {
                continue;
            }
            let current = pair.current();
            impact.workloads.push(WorkloadImpact {
                object: current.identity.clone(),
                file: current.origin.as_ref().map(|o| o.file.clone()),
                reach: reach(pair),
                changes,
                patch: patch(pair),
            });
        }
        impact
    }
}

/// Replicas for scalable kinds; DaemonSets reach every node, which the manifest cannot say.
fn reach(pair: &Pair) -> Option<Reach> {
    let object = pair.after.as_ref()?;
    if is_node_level(&object.identity) {
        return None;
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

fn patch(pair: &Pair) -> json_patch::Patch {
    let null = serde_json::Value::Null;
    let before = pair.before.as_ref().map_or(&null, |o| &o.value);
    let after = pair.after.as_ref().map_or(&null, |o| &o.value);
    json_patch::diff(before, after)
}
