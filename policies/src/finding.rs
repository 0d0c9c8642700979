//! Findings, severities and the verdict: what every output format renders.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::object::Identity;

/// How much a finding matters. Ordered: `Info < Warn < Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth reading; never fails anything.
    Info,
    /// Shown to the reviewer (and as a kubectl warning); does not block.
    Warn,
    /// Blocks the merge (exit 1) or the admission (`allowed: false`).
    Deny,
}

impl Severity {
    /// The lowercase name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The overall answer for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No finding above info.
    Pass,
    /// At least one warning, no deny.
    Warn,
    /// At least one deny-level finding.
    Deny,
}

impl Verdict {
    /// The verdict of a set of findings.
    pub fn of(findings: &[Finding]) -> Self {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Deny) => Self::Deny,
            Some(Severity::Warn) => Self::Warn,
            _ => Self::Pass,
        }
    }

    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule id, e.g. `limits-removed`.
    pub rule: &'static str,
    /// The severity after policy overrides.
    pub severity: Severity,
    /// The object the finding is about.
    pub object: Identity,
    /// The file to point at: the after side, or the before side for what was removed.
    pub file: Option<Arc<str>>,
    /// 1-based line in `file`.
    pub line: Option<u32>,
    /// JSON pointer into the object.
    pub pointer: String,
    /// What changed, for a human.
    pub message: String,
    /// The value before the change, if there was one.
    pub before: Option<String>,
    /// The value after the change, if there is one.
    pub after: Option<String>,
    /// How to fix it.
    pub fix: String,
    /// For something removed, where it was removed in the after file (its nearest surviving
    /// parent): where code-scanning annotations must land, since the removed line is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_location: Option<Location>,
}

/// A file and line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: Option<u32>,
}

impl Finding {
    /// Where an annotation on the after tree goes: the removal's place in the after file when
    /// there is one, else the finding's own location.
    pub fn annotation_location(&self) -> (Option<&str>, Option<u32>) {
        match &self.after_location {
            Some(location) => (Some(&location.file), location.line),
            None => (self.file.as_deref(), self.line),
        }
    }

    /// Sort key: file, line, rule, so output is stable across runs.
    pub fn sort_key(&self) -> (Option<&str>, Option<u32>, &str, &str) {
        (self.file.as_deref(), self.line, self.rule, &self.pointer)
    }
}
