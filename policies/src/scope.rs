//! Deployment targets: which clusters, regions, zones, environments or tenants an object is
//! deployed to, read from its path (`clusters/<name>/`) or from labels named in the policy.
//! Also the optional fleet inventory (`--inventory`): node counts and zones per cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::object::Object;
use crate::yaml::{Limits, parse_documents};

/// One deployment target: its category (`clusters`, `tenants`, or a label key) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Target {
    /// `clusters`, `regions`, `tenants`, ... or the label key it came from.
    pub category: String,
    /// The target's name.
    pub name: String,
}

/// The targets an object is deployed to.
pub fn targets(object: &Object, patterns: &[String], labels: &[String]) -> Vec<Target> {
    let mut out = Vec::new();
    if let Some(origin) = &object.origin {
        // Match on the user's path too: a single file named on the command line has no
        // pairing path, but its path still says where it is deployed.
        for path in [&*origin.pairing_path, &*origin.file] {
            let path: std::borrow::Cow<'_, str> = if path.contains('\\') {
                path.replace('\\', "/").into()
            } else {
                path.into()
            };
            for pattern in patterns {
                path_targets(&path, pattern, &mut out);
            }
        }
    }
    for key in labels {
        let value = object
            .metadata_str("labels", key)
            .or_else(|| object.metadata_str("annotations", key));
        if let Some(value) = value {
            push_unique(
                &mut out,
                Target {
                    category: key.clone(),
                    name: value.to_owned(),
                },
            );
        }
    }
    out
}

/// Adds the targets `pattern` (`clusters/{name}/`) finds in `path`, a `/`-separated path.
/// The pattern's prefix matches at the path's start and after any `/`, as often as it occurs.
fn path_targets(path: &str, pattern: &str, out: &mut Vec<Target>) {
    // Runs for every object and pattern, so nothing is allocated unless a target is found.
    let Some(at) = pattern
        .match_indices('{')
        .map(|(at, _)| at)
        .find(|&at| pattern[at..].starts_with(NAME))
    else {
        return;
    };
    let (prefix, suffix) = (&pattern[..at], &pattern[at + NAME.len()..]);
    let needle = prefix.trim_start_matches('/');
    let starts = std::iter::once(0).chain(path.match_indices('/').map(|(at, _)| at + 1));
    // The next match starts after a `/` past the end of this one's prefix: matches do not
    // share a `/`, even when the prefix ends with one.
    let mut resume = 0;
    for start in starts {
        if start < resume || !path[start..].starts_with(needle) {
            continue;
        }
        let after = &path[start + needle.len()..];
        resume = start + needle.len() + 1;
        let end = if suffix.is_empty() {
            after.find('/').unwrap_or(after.len())
        } else {
            after.find(suffix).unwrap_or(0)
        };
        if end > 0 {
            let category = prefix
                .trim_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(prefix);
            push_unique(
                out,
                Target {
                    category: category.to_owned(),
                    name: after[..end].to_owned(),
                },
            );
        }
    }
}

/// What stands for the target's name in a path pattern.
const NAME: &str = "{name}";

fn push_unique(out: &mut Vec<Target>, target: Target) {
    if !out.contains(&target) {
        out.push(target);
    }
}

/// What the fleet looks like: clusters with their node counts and zones.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Clusters by name (the name used in `clusters/<name>/` paths).
    pub clusters: BTreeMap<String, ClusterInfo>,
}

/// One cluster of the inventory.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterInfo {
    /// Nodes in the cluster: what a DaemonSet reaches.
    pub nodes: u64,
    /// Zones of the cluster.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Region of the cluster.
    #[serde(default)]
    pub region: Option<String>,
}

/// Why an inventory file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InventoryError {
    /// The file.
    pub file: String,
    /// 1-based line, where there is one.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

impl Inventory {
    /// Reads an inventory file (YAML or JSON).
    pub fn from_yaml(file: &str, text: &str) -> Result<Self, InventoryError> {
        let error = |line, message| InventoryError {
            file: file.to_owned(),
            line,
            message,
        };
        let docs =
            parse_documents(text, &Limits::default()).map_err(|e| error(e.line, e.message))?;
        let mut docs = docs.into_iter().filter(|d| !d.value.is_null());
        let Some(doc) = docs.next() else {
            return Err(error(
                None,
                "inventory is empty; expected `clusters: {name: {nodes: N}}`".into(),
            ));
        };
        // Clusters in a second document would be left out of the fleet impact unseen.
        if let Some(extra) = docs.next() {
            return Err(error(
                Some(extra.start_line),
                "an inventory file holds one YAML document".into(),
            ));
        }
        serde_path_to_error::deserialize(doc.value).map_err(|e| {
            let pointer = crate::config::path_to_pointer(&e.path().to_string());
            error(
                doc.lines.line_of(&pointer),
                format!("{}: {}", e.path(), e.inner()),
            )
        })
    }

    /// The cluster an object runs in: the one its path names, or the only one there is.
    pub fn cluster_of(&self, targets: &[Target]) -> Option<(&str, &ClusterInfo)> {
        targets
            .iter()
            .filter(|t| t.category == "clusters")
            .find_map(|t| self.clusters.get_key_value(&t.name))
            .or_else(|| {
                if self.clusters.len() == 1 {
                    self.clusters.iter().next()
                } else {
                    None
                }
            })
            .map(|(name, info)| (name.as_str(), info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts the targets, as `category:name`, that `pattern` finds in `path`.
    fn assert_finds(path: &str, pattern: &str, expected: &[&str]) {
        let mut out = Vec::new();
        path_targets(path, pattern, &mut out);
        let found: Vec<String> = out
            .into_iter()
            .map(|t| format!("{}:{}", t.category, t.name))
            .collect();
        assert_eq!(found, expected, "{path} ~ {pattern}");
    }

    #[test]
    fn a_pattern_names_the_target_after_its_prefix() {
        assert_finds(
            "/clusters/prod-eu/app.yaml",
            "clusters/{name}/",
            &["clusters:prod-eu"],
        );
        assert_finds(
            "/deploy/clusters/prod-eu/a.yaml",
            "/clusters/{name}/",
            &["clusters:prod-eu"],
        );
        assert_finds(
            "/clusters/a/tenants/t/clusters/b/x.yaml",
            "clusters/{name}/",
            &["clusters:a", "clusters:b"],
        );
        assert_finds(
            "/clusters/a/clusters/a/x.yaml",
            "clusters/{name}/",
            &["clusters:a"],
        );
        assert_finds(
            "/fleet/envs/prod.yaml",
            "fleet/envs/{name}.yaml",
            &["envs:prod"],
        );
        assert_finds("/clusters/edge", "clusters/{name}", &["clusters:edge"]);
        assert_finds("/a/b", "{name}", &[":a", ":b"]);
        assert_finds("/myclusters/a/x.yaml", "clusters/{name}/", &[]);
        assert_finds("/clusters//x.yaml", "clusters/{name}/", &[]);
        assert_finds("/clusters/a/x.yaml", "clusters/{id}/", &[]);
        assert_finds("/clusters/a/x.yaml", "clusters/", &[]);
        assert_finds("clusters/a/x.yaml", "clusters/{name}/", &["clusters:a"]);
        assert_finds("x/clusters/a/b", "/clusters/{name}/", &["clusters:a"]);
        assert_finds(
            "clusters/clusters/edge",
            "clusters/{name}",
            &["clusters:clusters"],
        );
    }

    #[test]
    fn an_inventory_holds_one_document() {
        let inventory =
            Inventory::from_yaml("inv.yaml", "# fleet\n---\nclusters:\n  a: {nodes: 3}\n").unwrap();
        assert_eq!(inventory.clusters["a"].nodes, 3);
        let err = Inventory::from_yaml(
            "inv.yaml",
            "clusters:\n  a: {nodes: 3}\n---\nclusters:\n  b: {nodes: 5}\n",
        )
        .unwrap_err();
        assert_eq!(
            (err.file.as_str(), err.line),
            ("inv.yaml", Some(4)),
            "{err}"
        );
        assert!(err.message.contains("one YAML document"), "{err}");
    }
}
