//! Where an object declares limits and requests: containers of workloads, and keys of plain
//! configs matched by the policy's patterns (`resources.cpu_limit`, `limits.memory`, ...).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::config::{Policy, ResourceKeys};
use crate::object::Object;
use crate::podspec::{ContainerList, child_pointer, containers, lookup, pod_spec_pointer};
use crate::quantity::Quantity;
use crate::yaml::pointer_of;

/// Limit or request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A request: what the scheduler reserves.
    Request,
    /// A limit: the ceiling the kernel enforces.
    Limit,
}

impl Class {
    /// `limit` or `request`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Limit => "limit",
            Self::Request => "request",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared limit or request.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Limit or request.
    pub class: Class,
    /// Canonical resource name: `cpu`, `memory`, or the Kubernetes name (`ephemeral-storage`).
    pub resource: String,
    /// The value as written.
    pub raw: String,
    /// The parsed value, when it parses.
    pub quantity: Option<Quantity>,
    /// JSON pointer of the value.
    pub pointer: String,
}

impl Slot {
    /// Whether two slots hold the same value (by quantity; by text when either does not parse).
    pub fn same_value(&self, other: &Slot) -> bool {
        match (&self.quantity, &other.quantity) {
            (Some(a), Some(b)) => a == b,
            _ => self.raw == other.raw,
        }
    }
}

/// A holder of limits and requests: a container, or a resources block of a plain config.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Container name, or the config path of the block (`resources`, `agent.resources`).
    pub name: String,
    /// Which container list, for containers.
    pub list: Option<ContainerList>,
    /// JSON pointer of the container or block.
    pub pointer: String,
    /// The declared limits and requests.
    pub slots: Vec<Slot>,
}

impl Owner {
    /// The slot for a class and resource.
    pub fn slot(&self, class: Class, resource: &str) -> Option<&Slot> {
        self.slots
            .iter()
            .find(|s| s.class == class && s.resource == resource)
    }

    /// How the owner is shown to a reviewer.
    pub fn label(&self) -> String {
        match self.list {
            Some(ContainerList::Init) => format!("{} (init)", self.name),
            _ => self.name.clone(),
        }
    }

    /// Whether two owners declare the same values (a renamed container that kept its resources).
    pub fn same_resources(&self, other: &Owner) -> bool {
        self.slots.len() == other.slots.len()
            && self.slots.iter().all(|s| {
                other
                    .slot(s.class, &s.resource)
                    .is_some_and(|o| o.same_value(s))
            })
    }
}

/// The owners of limits and requests in an object.
pub fn owners(object: &Object, policy: &Policy) -> Vec<Owner> {
    let Some(spec_pointer) = pod_spec_pointer(&object.identity, policy) else {
        // Quotas and LimitRanges hold limits with other meanings (caps, defaults).
        if matches!(
            object.identity.kind.as_str(),
            "LimitRange" | "ResourceQuota"
        ) {
            return Vec::new();
        }
        // Agent configs, Helm values, and custom resources that carry their own
        // `resources: {limits, requests}` (Prometheus, OpenTelemetryCollector, ...).
        return config_owners(&object.value, &policy.resource_keys);
    };
    let Some(spec) = lookup(&object.value, spec_pointer) else {
        return Vec::new();
    };
    containers(spec)
        .into_iter()
        .map(|c| {
            let pointer = c.pointer(spec_pointer);
            let resources = child_pointer(&pointer, "resources");
            let mut slots = Vec::new();
            for (class, field) in [(Class::Limit, "limits"), (Class::Request, "requests")] {
                if let Some(map) = c.value["resources"][field].as_object() {
                    let base = child_pointer(&resources, field);
                    // `null` is unset, as the API server reads it: `memory: null` removes
                    // the limit.
                    for (resource, value) in map.iter().filter(|(_, value)| !value.is_null()) {
                        slots.push(slot(
                            class,
                            resource.clone(),
                            value,
                            child_pointer(&base, resource),
                        ));
                    }
                }
            }
            Owner {
                name: c.name.to_owned(),
                list: Some(c.list),
                pointer,
                slots,
            }
        })
        .collect()
}

fn slot(class: Class, resource: String, value: &Value, pointer: String) -> Slot {
    let raw = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Slot {
        class,
        resource,
        quantity: Quantity::from_json(value).ok(),
        raw,
        pointer,
    }
}

/// A compiled key pattern: the key path suffix (lowercase) it matches.
struct KeyPattern {
    segments: Vec<String>,
    class: Class,
    resource: String,
}

fn compile(keys: &ResourceKeys) -> Vec<KeyPattern> {
    let mut out = Vec::new();
    for (class, patterns) in [(Class::Limit, &keys.limit), (Class::Request, &keys.request)] {
        for pattern in patterns {
            for (resource, spellings) in &keys.resources {
                for spelling in spellings {
                    let text = pattern.replace("{resource}", spelling).to_lowercase();
                    let segments = text.split('.').map(str::to_owned).collect();
                    out.push(KeyPattern {
                        segments,
                        class,
                        resource: resource.clone(),
                    });
                }
            }
        }
    }
    // Longer patterns first, so `limits.memory` wins over a one-segment match.
    out.sort_by_key(|p| std::cmp::Reverse(p.segments.len()));
    out
}

/// Finds limit and request keys anywhere in a plain config, grouped by their parent block.
fn config_owners(value: &Value, keys: &ResourceKeys) -> Vec<Owner> {
    let patterns = compile(keys);
    let mut owners: Vec<Owner> = Vec::new();
    // Each block's place in `owners`, by pointer: a Helm values file can hold thousands.
    let mut by_pointer: HashMap<String, usize> = HashMap::new();
    let mut path = Vec::new();
    walk(value, &mut path, &mut |path: &[String], leaf: &Value| {
        let lower: Vec<String> = path.iter().map(|s| s.to_lowercase()).collect();
        let Some(pattern) = patterns.iter().find(|p| lower.ends_with(&p.segments)) else {
            return;
        };
        let owner_path = &path[..path.len() - pattern.segments.len()];
        let new_slot = slot(
            pattern.class,
            pattern.resource.clone(),
            leaf,
            pointer_of(path),
        );
        match by_pointer.entry(pointer_of(owner_path)) {
            Entry::Occupied(place) => owners[*place.get()].slots.push(new_slot),
            Entry::Vacant(place) => {
                // Keys a rebuilt diff hunk invented to hold its lines are not part of the name.
                let shown: Vec<&str> = owner_path
                    .iter()
                    .map(String::as_str)
                    .filter(|s| *s != crate::diff::SYNTHETIC_KEY)
                    .collect();
                let name = if shown.is_empty() {
                    "(top level)".to_owned()
                } else {
                    shown.join(".")
                };
                owners.push(Owner {
                    name,
                    list: None,
                    pointer: place.key().clone(),
                    slots: vec![new_slot],
                });
                place.insert(owners.len() - 1);
            }
        }
    });
    owners
}

fn walk(value: &Value, path: &mut Vec<String>, visit: &mut impl FnMut(&[String], &Value)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(key.clone());
                walk(child, path, visit);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(index.to_string());
                walk(child, path, visit);
                path.pop();
            }
        }
        Value::String(_) | Value::Number(_) => visit(path, value),
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: &Value) -> Vec<Owner> {
        config_owners(value, &Policy::default().resource_keys)
    }

    #[test]
    fn recognises_common_spellings() {
        let owners = config(&json!({
            "resources": {"cpu_limit": "200m", "mem_limit": "256Mi", "cpu_request": "100m", "mem_request": "128Mi"},
            "sidecar": {"memLimit": "64Mi", "memory_request": "32Mi"},
            "helm": {"resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": 1}}},
            "image": {"tag": "v2"}
        }));
        let summary: Vec<_> = owners
            .iter()
            .flat_map(|o| {
                o.slots
                    .iter()
                    .map(move |s| format!("{} {} {} {}", o.name, s.class, s.resource, s.raw))
            })
            .collect();
        assert_eq!(
            summary,
            [
                "resources limit cpu 200m",
                "resources limit memory 256Mi",
                "resources request cpu 100m",
                "resources request memory 128Mi",
                "sidecar limit memory 64Mi",
                "sidecar request memory 32Mi",
                "helm.resources limit memory 1Gi",
                "helm.resources request cpu 1",
            ]
        );
        assert_eq!(owners[0].slots[1].pointer, "/resources/mem_limit");
    }

    #[test]
    fn a_block_keeps_every_slot_found_under_it_in_its_first_place() {
        // `svc`'s own keys come before and after the nested `svc.resources` block in the
        // walk; both stay on the one `svc` owner, listed first.
        let owners = config(&json!({
            "svc": {"memLimit": "1Gi", "resources": {"limits": {"memory": "2Gi"}}, "mem_request": "512Mi"}
        }));
        let summary: Vec<_> = owners
            .iter()
            .map(|o| {
                let slots: Vec<&str> = o.slots.iter().map(|s| s.raw.as_str()).collect();
                format!("{} {}", o.name, slots.join(","))
            })
            .collect();
        assert_eq!(summary, ["svc 1Gi,512Mi", "svc.resources 2Gi"]);
    }

    #[test]
    fn other_keys_are_not_resources() {
        assert!(
            config(
                &json!({"limit": 5, "rate_limit": "10/s", "memory": "64Mi", "cpu": {"arch": "x86"}})
            )
            .is_empty()
        );
    }
}
