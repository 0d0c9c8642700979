//! The engine's answer: findings, verdict, impact, and the exemptions that were used.

use serde::Serialize;

use crate::audit::AuditSummary;
use crate::finding::{Finding, Verdict};
use crate::impact::Impact;
use crate::object::Identity;

/// An exemption that suppressed a finding, reported so that no exemption is silent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ExemptionUse {
    /// The rule that was not applied.
    pub rule: String,
    /// The object it was not applied to.
    pub object: Identity,
    /// Where the exemption comes from: `namespace`, `label` or `annotation`.
    pub source: String,
    /// The reason given, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The expiry date given, if any (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Everything a check produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Deny if any finding denies, else warn if any warns, else pass.
    pub verdict: Verdict,
    /// Findings, sorted by file, line and rule.
    pub findings: Vec<Finding>,
    /// What the change does to resources and how far it reaches.
    pub impact: Impact,
    /// Exemptions that suppressed findings.
    pub exemptions: Vec<ExemptionUse>,
    /// The fleet audit's table, for `changelint audit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSummary>,
}

impl Report {
    /// Findings at deny level.
    pub fn denials(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == crate::finding::Severity::Deny)
    }

    /// Findings at warn level.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == crate::finding::Severity::Warn)
    }
}
