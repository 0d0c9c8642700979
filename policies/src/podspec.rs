//! Typed views of the pod spec inside every workload kind.
//!
//! Rules read containers through these views rather than through the raw JSON patch, because
//! containers pair by name, not by array index.
//! Kinds: <https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/>.

use serde_json::Value;

use crate::config::Policy;
use crate::object::Identity;
use crate::yaml::escape_token;

/// The JSON pointer of the pod spec in an object of this kind, if it has one: the kinds the
/// rules judge.
pub fn pod_spec_pointer<'p>(identity: &Identity, policy: &'p Policy) -> Option<&'p str> {
    pod_spec_path(identity.group(), &identity.kind, policy)
}

/// The JSON pointer of the pod spec in objects of `kind` in API `group` (empty for the core
/// group): a built-in workload kind, or a custom kind the policy names. The kinds the rules
/// judge.
pub fn pod_spec_path<'p>(group: &str, kind: &str, policy: &'p Policy) -> Option<&'p str> {
    builtin_path(group, kind).or_else(|| {
        policy
            .pod_spec_paths
            .iter()
            .find(|p| p.group == group && p.kind == kind)
            .map(|p| p.path.as_str())
    })
}

/// The JSON pointer of the pod spec in a built-in workload kind.
pub fn builtin_path(group: &str, kind: &str) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some("/spec"),
        ("", "PodTemplate") => Some("/template/spec"),
        ("apps" | "extensions", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("", "ReplicationController")
        | ("batch", "Job") => Some("/spec/template/spec"),
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// Whether the kind runs one pod per node: a node-level agent.
pub fn is_node_level(identity: &Identity) -> bool {
    identity.kind == "DaemonSet"
}

/// Which list of the pod spec a container stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerList {
    /// `initContainers` (restartable sidecars included).
    Init,
    /// `containers`.
    Main,
}

impl ContainerList {
    /// The field name in the pod spec.
    pub fn field(self) -> &'static str {
        match self {
            Self::Init => "initContainers",
            Self::Main => "containers",
        }
    }
}

/// One container of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    /// `name`, empty when a patch leaves it out.
    pub name: &'a str,
    /// The list it stands in.
    pub list: ContainerList,
    /// Its index in that list.
    pub index: usize,
    /// The container's JSON.
    pub value: &'a Value,
}

impl ContainerView<'_> {
    /// JSON pointer of the container, given the pod spec's pointer.
    pub fn pointer(&self, pod_spec: &str) -> String {
        let mut index = itoa::Buffer::new();
        [
            pod_spec,
            "/",
            self.list.field(),
            "/",
            index.format(self.index),
        ]
        .concat()
    }

    /// How the container is shown to a reviewer.
    pub fn label(&self) -> String {
        match self.list {
            ContainerList::Main => self.name.to_owned(),
            ContainerList::Init => format!("{} (init)", self.name),
        }
    }
}

/// Every container and init container of a pod spec, in order.
pub fn containers(pod_spec: &Value) -> Vec<ContainerView<'_>> {
    let mut out = Vec::new();
    for list in [ContainerList::Init, ContainerList::Main] {
        if let Some(items) = pod_spec[list.field()].as_array() {
            for (index, value) in items.iter().enumerate() {
                let name = value["name"].as_str().unwrap_or("");
                out.push(ContainerView {
                    name,
                    list,
                    index,
                    value,
                });
            }
        }
    }
    out
}

/// The pointer of `token` under `parent`.
pub fn child_pointer(parent: &str, token: &str) -> String {
    let token = escape_token(token);
    let mut pointer = String::with_capacity(parent.len() + 1 + token.len());
    pointer.push_str(parent);
    pointer.push('/');
    pointer.push_str(&token);
    pointer
}

/// What `pointer` (RFC 6901) names in `value`, as [`Value::pointer`] finds it, without
/// allocating a string per token: the rules look up pointers per container and per limit.
pub fn lookup<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(value, |target, token| {
            let token: std::borrow::Cow<'_, str> = if token.contains('~') {
                token.replace("~1", "/").replace("~0", "~").into()
            } else {
                token.into()
            };
            match target {
                Value::Object(map) => map.get(token.as_ref()),
                Value::Array(list) => array_index(&token).and_then(|index| list.get(index)),
                _ => None,
            }
        })
}

/// An array index token: digits without a sign or a leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pod_specs_are_found_by_group_and_kind_built_in_or_named_by_the_policy() {
        let policy = Policy::from_yaml(
            "policy.yaml",
            "podSpecPaths:\n  - group: example.com\n    kind: Workload\n    path: /spec/pod\n",
        )
        .unwrap();
        assert_eq!(
            pod_spec_path("apps", "DaemonSet", &policy),
            Some("/spec/template/spec")
        );
        assert_eq!(
            pod_spec_path("example.com", "Workload", &policy),
            Some("/spec/pod")
        );
        // The group is part of the kind: neither is another group's kind of the same name.
        assert_eq!(pod_spec_path("example.com", "DaemonSet", &policy), None);
        assert_eq!(pod_spec_path("other.io", "Workload", &policy), None);
        assert_eq!(pod_spec_path("", "ConfigMap", &policy), None);
        let identity = Identity::of(
            &json!({"apiVersion": "example.com/v1", "kind": "Workload"}),
            "",
        );
        assert_eq!(pod_spec_pointer(&identity, &policy), Some("/spec/pod"));
    }

    #[test]
    fn lookup_finds_what_value_pointer_finds() {
        let value = json!({
            "spec": {"containers": [{"name": "a", "resources": {"limits": {"memory": "1Gi"}}}]},
            "a/b": {"~c": [1, 2]},
            "": {"": 3},
            "list": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        });
        let pointers = [
            "",
            "/",
            "//",
            "/spec",
            "/spec/containers/0/resources/limits/memory",
            "/spec/containers/1",
            "/spec/containers/-",
            "/spec/containers/00",
            "/spec/containers/+0",
            "/spec/containers/name",
            "/a~1b/~0c/1",
            "/a~1b/~0c/01",
            "/a/b",
            "/list/10",
            "/list/1/x",
            "spec",
            "/~2",
        ];
        for pointer in pointers {
            assert_eq!(
                lookup(&value, pointer),
                value.pointer(pointer),
                "{pointer:?}"
            );
        }
    }
}
