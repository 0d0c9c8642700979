//! The one list of all rules. Its order is the order of `changelint rules` and the docs.

use crate::rule::Rule;
use crate::rules::{
    blast_radius_rollout::BlastRadiusRollout, blast_radius_scope::BlastRadiusScope,
    limits_missing::LimitsMissing, limits_raised::LimitsRaised, limits_removed::LimitsRemoved,
    requests_removed::RequestsRemoved, resource_impact_missing::ResourceImpactMissing,
    resource_impact_undeclared::ResourceImpactUndeclared,
};

/// Every rule, in docs order.
pub static RULES: &[&dyn Rule] = &[
    &LimitsRemoved,
    &RequestsRemoved,
    &LimitsRaised,
    &LimitsMissing,
    &ResourceImpactMissing,
    &ResourceImpactUndeclared,
    &BlastRadiusRollout,
    &BlastRadiusScope,
];

/// The rule with this id (`limits-removed`) or code (`CL101`).
pub fn find(id_or_code: &str) -> Option<&'static dyn Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.meta().id == id_or_code || r.meta().code.eq_ignore_ascii_case(id_or_code))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_and_codes_are_unique() {
        let ids: HashSet<_> = RULES.iter().map(|r| r.meta().id).collect();
        let codes: HashSet<_> = RULES.iter().map(|r| r.meta().code).collect();
        assert_eq!(ids.len(), RULES.len());
        assert_eq!(codes.len(), RULES.len());
    }

    #[test]
    fn ids_are_kebab_case_and_codes_grouped() {
        for rule in RULES {
            let meta = rule.meta();
            assert!(
                meta.id
                    .split('-')
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                "{} is not kebab-case",
                meta.id
            );
            assert!(
                meta.code.len() == 5 && meta.code.starts_with("CL"),
                "{}",
                meta.code
            );
        }
    }

    #[test]
    fn docs_have_every_section() {
        for rule in RULES {
            let docs = rule.meta().docs;
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ] {
                assert!(
                    docs.contains(section),
                    "{} docs lack {section}",
                    rule.meta().id
                );
            }
        }
    }

    #[test]
    fn every_rule_has_fixtures() {
        for rule in RULES {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(rule.meta().id);
            assert!(
                dir.join("bad").is_dir(),
                "{} has no fixtures/{0}/bad",
                rule.meta().id
            );
            assert!(
                dir.join("good").is_dir(),
                "{} has no fixtures/{0}/good",
                rule.meta().id
            );
        }
    }
}
