//! Typed views of the pod spec inside every workload kind.
//!
//! Rules read containers through these views rather than through the raw JSON patch, because
//! containers pair by name, not by array index.
//! Kinds: <https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/>.

use serde_json::Value;

use crate::config::Policy;
use crate::object::Identity;
use crate::yaml::escape_token;

/// The JSON pointer of the pod spec in an object of this kind, if it has one.
pub fn pod_spec_pointer(identity: &Identity, policy: &Policy) -> Option<String> {
    builtin_pod_spec_pointer(identity)
        .map(str::to_owned)
        .or_else(|| {
            policy
                .pod_spec_paths
                .iter()
                .find(|p| p.group == identity.group() && p.kind == identity.kind)
                .map(|p| p.path.clone())
        })
}

/// The JSON pointer of the pod spec in a built-in workload kind.
pub fn builtin_pod_spec_pointer(identity: &Identity) -> Option<&'static str> {
    match (identity.group(), identity.kind.as_str()) {
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
        format!("{pod_spec}/{}/{}", self.list.field(), self.index)
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

/// Resolves a pointer built from tokens.
pub fn child_pointer(parent: &str, token: &str) -> String {
    format!("{parent}/{}", escape_token(token))
}
