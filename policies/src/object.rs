//! Objects read from manifests, their identity, and where they came from.
//!
//! An [`Object`] is one Kubernetes object (or one document of a non-Kubernetes config such as
//! an agent's `values.yaml`) with its source file and line map, so that any JSON pointer into it
//! can be turned into `file:line`.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::yaml::LineMap;

/// Where an object was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file's path as the user named it (display and output path).
    pub file: Arc<str>,
    /// The path used to pair before and after files (relative to the tree's root).
    pub pairing_path: Arc<str>,
    /// Index of the document within the file.
    pub document: usize,
    /// Pointer of the object inside the document (`/items/3` for a `kind: List` item).
    pub prefix: String,
}

/// One object with its provenance.
#[derive(Debug, Clone)]
pub struct Object {
    /// The object's content.
    pub value: Value,
    /// Where it came from; `None` for objects that arrived over the network (webhook).
    pub origin: Option<Origin>,
    /// Lines of the document the object stands in.
    pub lines: Arc<LineMap>,
    /// Who the object is.
    pub identity: Identity,
}

/// The identity objects are paired by: API group, kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Identity {
    /// `apiVersion` as written (the group is what pairing compares).
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `kind`, or `Config` for a non-Kubernetes document.
    pub kind: String,
    /// `metadata.namespace`, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`, or the file path for a non-Kubernetes document.
    pub name: String,
}

/// The kind given to documents that are not Kubernetes objects (agent and Helm values files).
pub const CONFIG_KIND: &str = "Config";

/// The API group of an `apiVersion` (`apps` of `apps/v1`; empty for the core group's `v1`).
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

impl Identity {
    /// Reads the identity of a Kubernetes object, or names a plain config after its file.
    pub fn of(value: &Value, fallback_name: &str) -> Self {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let api_version = text(&value["apiVersion"]).unwrap_or_default();
        let kind = text(&value["kind"]);
        match kind {
            Some(kind) if !api_version.is_empty() => Self {
                api_version,
                kind,
                namespace: text(&value["metadata"]["namespace"]),
                name: text(&value["metadata"]["name"])
                    .or_else(|| text(&value["metadata"]["generateName"]))
                    .unwrap_or_default(),
            },
            _ => Self {
                api_version: String::new(),
                kind: CONFIG_KIND.to_owned(),
                namespace: None,
                name: fallback_name.to_owned(),
            },
        }
    }

    /// The API group (`apps` of `apps/v1`; empty for the core group).
    pub fn group(&self) -> &str {
        api_group(&self.api_version)
    }

    /// The key objects are paired by: the version does not matter, the group does.
    pub fn pairing_key(&self) -> (&str, &str, Option<&str>, &str) {
        (
            self.group(),
            &self.kind,
            self.namespace.as_deref(),
            &self.name,
        )
    }

    /// Whether this is a plain config rather than a Kubernetes object.
    pub fn is_config(&self) -> bool {
        self.kind == CONFIG_KIND && self.api_version.is_empty()
    }
}

/// Whether two JSON values are equal, as `==` says, walking objects in order: two versions of
/// a workload list their keys in the same order, so each key is compared with its counterpart
/// instead of being hashed and looked up (SipHash per key was a large share of judging an
/// admission review). Keys in another order fall back to lookups.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            if a.len() != b.len() {
                return false;
            }
            for ((a_key, a_value), (b_key, b_value)) in a.iter().zip(b) {
                if a_key != b_key {
                    return a.iter().all(|(key, value)| {
                        b.get(key).is_some_and(|other| same_value(value, other))
                    });
                }
                if !same_value(a_value, b_value) {
                    return false;
                }
            }
            true
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
        }
        _ => a == b,
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl Object {
    /// Builds an object that has no file behind it (an admission request's object).
    pub fn detached(value: Value) -> Self {
        let identity = Identity::of(&value, "");
        Self {
            value,
            origin: None,
            lines: Arc::default(),
            identity,
        }
    }

    /// `file` and `line` of a pointer into this object, if the object came from a file.
    pub fn locate(&self, pointer: &str) -> (Option<Arc<str>>, Option<u32>) {
        match &self.origin {
            None => (None, None),
            Some(origin) => {
                let full = format!("{}{pointer}", origin.prefix);
                (Some(origin.file.clone()), self.lines.line_of(&full))
            }
        }
    }

    /// The object's namespace, `default` when unset (as the API server would place it).
    pub fn namespace(&self) -> &str {
        self.identity.namespace.as_deref().unwrap_or("default")
    }

    /// Labels and annotations by key.
    pub fn metadata_str(&self, field: &str, key: &str) -> Option<&str> {
        self.value["metadata"][field][key].as_str()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn same_value_agrees_with_equality() {
        let values = [
            json!(null),
            json!(1),
            json!(1.0),
            json!("1"),
            json!([1, 2]),
            json!([2, 1]),
            json!([1, 2, 3]),
            json!({}),
            json!({"a": 1, "b": {"c": [1, {"d": 2}]}}),
            json!({"b": {"c": [1, {"d": 2}]}, "a": 1}),
            json!({"a": 1, "b": {"c": [1, {"d": 3}]}}),
            json!({"a": 1, "x": {"c": [1, {"d": 2}]}}),
            json!({"a": 1}),
            json!({"a": 1, "b": 2, "c": 3}),
            json!({"c": 3, "a": 1, "b": 2}),
            json!({"c": 3, "a": 1, "b": 4}),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(same_value(a, b), a == b, "{a} vs {b}");
            }
        }
    }
}
