//! The policy: which rules apply, at what level, with which thresholds and key patterns.
//!
//! A policy file is YAML read with positions; unknown keys and bad values are errors naming the
//! file and line. Files are merged over the embedded default policy (`default-policy.yaml`) key by
//! key, so a user's file only has to say what differs.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::finding::Severity;
use crate::yaml::{Limits, parse_documents};

/// The default policy as shipped, readable in the repository.
pub const DEFAULT_POLICY: &str = include_str!("../default-policy.yaml");

/// Why a policy file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    /// The policy file's name.
    pub file: String,
    /// 1-based line of the bad key or value.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

/// A per-rule level set in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    /// Keep the rule's own graded severities.
    Default,
    /// Do not run the rule.
    Off,
    /// Force every finding of the rule to info.
    Info,
    /// Force every finding of the rule to warn.
    Warn,
    /// Force every finding of the rule to deny.
    Deny,
}

impl RuleLevel {
    /// Applies the level to a finding's own severity; `None` drops the finding.
    pub fn apply(self, own: Severity) -> Option<Severity> {
        match self {
            Self::Default => Some(own),
            Self::Off => None,
            Self::Info => Some(Severity::Info),
            Self::Warn => Some(Severity::Warn),
            Self::Deny => Some(Severity::Deny),
        }
    }
}

/// Numeric bounds used by rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Thresholds {
    /// `limits-raised` fires above this growth factor.
    pub raise_factor: f64,
    /// Largest DaemonSet `maxUnavailable` that passes (int or percent).
    pub max_unavailable: IntOrPercent,
    /// Soak needed by node-level agents in protected namespaces.
    pub min_ready_seconds: u32,
    /// Targets (clusters, tenants, ...) one change may reach without a staged rollout.
    pub max_scope_targets: usize,
}

/// A Kubernetes `IntOrString` used as a count or a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub enum IntOrPercent {
    /// An absolute count.
    Int(u64),
    /// A percentage: 0-100, or 0 or more where a field may pass 100% (a Deployment's
    /// `maxSurge`).
    Percent(f64),
}

impl TryFrom<Value> for IntOrPercent {
    type Error = String;
    fn try_from(value: Value) -> Result<Self, String> {
        Self::read(&value, true)
    }
}

impl IntOrPercent {
    /// Reads a count or a percentage; `at_most_all` bounds a percentage by 100%.
    pub fn read(value: &Value, at_most_all: bool) -> Result<Self, String> {
        match value {
            Value::Number(n) if n.as_u64().is_some() => Ok(Self::Int(n.as_u64().unwrap_or(0))),
            Value::String(s) => match s.trim().strip_suffix('%') {
                Some(p) => p
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| *p >= 0.0 && (!at_most_all || *p <= 100.0))
                    .map(Self::Percent)
                    .ok_or_else(|| {
                        let range = if at_most_all {
                            "from 0% to 100%"
                        } else {
                            "of 0% or more"
                        };
                        format!("`{s}` is not a percentage {range}")
                    }),
                None => s
                    .trim()
                    .parse()
                    .map(Self::Int)
                    .map_err(|_| format!("`{s}` is not a count or a percentage")),
            },
            other => Err(format!("expected a count or a percentage, found {other}")),
        }
    }

    /// The value as a fraction of `total` (rounded as Kubernetes does for maxUnavailable: down).
    pub fn of(self, total: u64) -> u64 {
        match self {
            Self::Int(n) => n,
            Self::Percent(p) => ((p / 100.0) * total as f64).floor() as u64,
        }
    }

    /// The value as a fraction of the whole (1.0 = everything), given a total where it is a count.
    pub fn fraction(self, total: Option<u64>) -> Option<f64> {
        match self {
            Self::Percent(p) => Some(p / 100.0),
            Self::Int(n) => total
                .filter(|t| *t > 0)
                .map(|t| (n as f64 / t as f64).min(1.0)),
        }
    }
}

/// Key spellings for limits and requests in non-Kubernetes configs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceKeys {
    /// Spellings of each resource, by canonical name (`cpu`, `memory`).
    pub resources: BTreeMap<String, Vec<String>>,
    /// Patterns of limit keys, with `{resource}`.
    pub limit: Vec<String>,
    /// Patterns of request keys, with `{resource}`.
    pub request: Vec<String>,
}

/// A custom resource kind that embeds a pod spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSpecPath {
    /// API group, e.g. `argoproj.io`.
    pub group: String,
    /// Kind, e.g. `Rollout`.
    pub kind: String,
    /// JSON pointer to the pod spec.
    pub path: String,
}

/// What the change record must contain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecordPolicy {
    /// Whether a change must come with a record.
    pub required: bool,
    /// Headings that count as the Resource Impact section.
    pub resource_impact: Vec<String>,
    /// Headings that declare a staged rollout.
    pub rollout: Vec<String>,
    /// Other sections every record must have.
    pub required_sections: Vec<String>,
}

/// How the targets a change reaches are recognised.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScopePolicy {
    /// Path patterns with `{name}`, e.g. `clusters/{name}/`.
    pub path_patterns: Vec<String>,
    /// Label or annotation keys whose value names a target.
    pub labels: Vec<String>,
}

/// Where rules do not apply.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExemptionPolicy {
    /// Rule ids exempted per namespace.
    pub namespaces: BTreeMap<String, Vec<String>>,
    /// Rule ids exempted per `key=value` label.
    pub labels: BTreeMap<String, Vec<String>>,
    /// The per-object exemption annotation.
    pub annotation: String,
}

/// A complete, validated policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    /// Per-rule levels.
    pub rules: BTreeMap<String, RuleLevel>,
    /// Numeric bounds.
    pub thresholds: Thresholds,
    /// Namespaces not checked.
    pub skip_namespaces: Vec<String>,
    /// Namespaces whose node agents must soak.
    pub protected_namespaces: Vec<String>,
    /// Non-Kubernetes limit and request key spellings.
    pub resource_keys: ResourceKeys,
    /// Custom kinds with pod specs.
    pub pod_spec_paths: Vec<PodSpecPath>,
    /// Change-record requirements.
    pub record: RecordPolicy,
    /// Deployment-target recognition.
    pub scope: ScopePolicy,
    /// Exemptions.
    pub exemptions: ExemptionPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self::from_yaml("default-policy.yaml", "").expect("the embedded default policy is valid")
    }
}

impl Policy {
    /// Reads a policy file over the default policy. `text` may be empty (the default itself).
    pub fn from_yaml(file: &str, text: &str) -> Result<Self, PolicyError> {
        let error = |line, message: String| PolicyError {
            file: file.to_owned(),
            line,
            message,
        };
        let mut base = parse_documents(DEFAULT_POLICY, &Limits::default())
            .map_err(|e| error(e.line, format!("embedded default policy: {}", e.message)))?
            .remove(0)
            .value;
        let docs =
            parse_documents(text, &Limits::default()).map_err(|e| error(e.line, e.message))?;
        let mut docs = docs.into_iter().filter(|d| !d.value.is_null());
        let user = docs.next();
        if let Some(extra) = docs.next() {
            return Err(error(
                Some(extra.start_line),
                "a policy file holds one YAML document".into(),
            ));
        }
        let lines = user.as_ref().map(|d| d.lines.clone()).unwrap_or_default();
        if let Some(user) = user {
            if !user.value.is_object() {
                return Err(error(
                    Some(user.start_line),
                    "a policy is a mapping of settings".into(),
                ));
            }
            merge(&mut base, user.value);
        }
        let policy: Policy = serde_path_to_error::deserialize(base).map_err(|e| {
            let pointer = path_to_pointer(&e.path().to_string());
            error(
                lines.line_of(&pointer),
                format!("{}: {}", e.path(), e.inner()),
            )
        })?;
        policy
            .validate()
            .map_err(|(pointer, message)| error(lines.line_of(&pointer), message))?;
        Ok(policy.with_rule_ids())
    }

    /// Rules may be named by id or code (`CL101`); after validation only ids remain, so lookups
    /// compare ids.
    fn with_rule_ids(mut self) -> Self {
        let id = |name: &String| {
            crate::registry::find(name).map_or_else(|| name.clone(), |r| r.meta().id.to_owned())
        };
        self.rules = self
            .rules
            .iter()
            .map(|(name, level)| (id(name), *level))
            .collect();
        for rules in self
            .exemptions
            .namespaces
            .values_mut()
            .chain(self.exemptions.labels.values_mut())
        {
            *rules = rules.iter().map(id).collect();
        }
        self
    }

    fn validate(&self) -> Result<(), (String, String)> {
        for id in self.rules.keys() {
            if crate::registry::find(id).is_none() {
                return Err((
                    format!("/rules/{id}"),
                    format!("unknown rule `{id}`; `changelint rules` lists them"),
                ));
            }
        }
        for (field, rules) in self
            .exemptions
            .namespaces
            .iter()
            .chain(&self.exemptions.labels)
            .flat_map(|(k, v)| v.iter().map(move |r| (k, r)))
        {
            if crate::registry::find(rules).is_none() {
                return Err((
                    String::from("/exemptions"),
                    format!("exemption for `{field}` names unknown rule `{rules}`"),
                ));
            }
        }
        if self.thresholds.raise_factor.is_nan() || self.thresholds.raise_factor <= 1.0 {
            return Err((
                "/thresholds/raiseFactor".into(),
                "raiseFactor must be greater than 1".into(),
            ));
        }
        for (kind, patterns) in [
            ("limit", &self.resource_keys.limit),
            ("request", &self.resource_keys.request),
        ] {
            if let Some(p) = patterns.iter().find(|p| !p.contains("{resource}")) {
                return Err((
                    format!("/resourceKeys/{kind}"),
                    format!("pattern `{p}` has no {{resource}} placeholder"),
                ));
            }
        }
        if let Some(p) = self
            .scope
            .path_patterns
            .iter()
            .find(|p| !p.contains("{name}"))
        {
            return Err((
                "/scope/pathPatterns".into(),
                format!("pattern `{p}` has no {{name}} placeholder"),
            ));
        }
        if let Some(p) = self
            .pod_spec_paths
            .iter()
            .find(|p| !p.path.starts_with('/'))
        {
            return Err((
                "/podSpecPaths".into(),
                format!("path `{}` is not a JSON pointer (starts with /)", p.path),
            ));
        }
        Ok(())
    }

    /// The level set for a rule.
    pub fn level(&self, rule: &str) -> RuleLevel {
        self.rules.get(rule).copied().unwrap_or(RuleLevel::Default)
    }

    /// Whether a namespace is skipped entirely.
    pub fn skips(&self, namespace: &str) -> bool {
        self.skip_namespaces.iter().any(|n| n == namespace)
    }
}

/// Merges `over` into `base`: mappings key by key, anything else replaced.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(slot) if slot.is_object() && value.is_object() => merge(slot, value),
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// `thresholds.raiseFactor` or `podSpecPaths[0].path` -> `/thresholds/raiseFactor`.
pub(crate) fn path_to_pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    path.split('.')
        .flat_map(|seg| seg.split('['))
        .map(|seg| seg.trim_end_matches(']'))
        .filter(|seg| !seg.is_empty())
        .fold(String::new(), |acc, seg| format!("{acc}/{seg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid() {
        let policy = Policy::default();
        assert!((policy.thresholds.raise_factor - 4.0).abs() < f64::EPSILON);
        assert_eq!(
            policy.thresholds.max_unavailable,
            IntOrPercent::Percent(10.0)
        );
    }

    #[test]
    fn user_file_merges_over_default() {
        let policy = Policy::from_yaml(
            "p.yaml",
            "thresholds:\n  raiseFactor: 2\nrules:\n  limits-raised: deny\n",
        )
        .unwrap();
        assert!((policy.thresholds.raise_factor - 2.0).abs() < f64::EPSILON);
        assert_eq!(policy.thresholds.min_ready_seconds, 30);
        assert_eq!(policy.level("limits-raised"), RuleLevel::Deny);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let err = Policy::from_yaml("p.yaml", "thresholds:\n  raiseFactor: 2\n  raiseFactr: 3\n")
            .unwrap_err();
        assert_eq!(err.file, "p.yaml");
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.contains("raiseFactr"), "{err}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let err = Policy::from_yaml("p.yaml", "rules:\n  limits-removed: loud\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = Policy::from_yaml("p.yaml", "rules:\n  no-such-rule: deny\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = Policy::from_yaml("p.yaml", "thresholds:\n  maxUnavailable: 150%\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = Policy::from_yaml("p.yaml", "thresholds:\n  raiseFactor: 0.5\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
    }

    #[test]
    fn docs_quote_the_default_policy() {
        let docs = include_str!("../../docs/policy.md");
        assert!(
            docs.contains(DEFAULT_POLICY),
            "docs/policy.md is stale: copy policies/default-policy.yaml into it"
        );
    }
}
