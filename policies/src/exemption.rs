//! Exemptions: rules not applied in a namespace, to labelled objects, or to one annotated object
//! (with a reason and an optional expiry). Every exemption used is reported.

use crate::config::Policy;
use crate::finding::Finding;
use crate::object::Object;
use crate::report::ExemptionUse;

/// An annotation exemption: `limits-removed,requests-removed; reason=...; expires=2026-12-31`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AnnotationExemption {
    rules: Vec<String>,
    reason: Option<String>,
    expires: Option<String>,
}

fn parse_annotation(value: &str) -> AnnotationExemption {
    let mut parts = value.split(';');
    let rules = parts
        .next()
        .unwrap_or("")
        .split(',')
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    let mut reason = None;
    let mut expires = None;
    for part in parts {
        match part.split_once('=') {
            Some((key, value)) if key.trim() == "reason" => reason = Some(value.trim().to_owned()),
            Some((key, value)) if key.trim() == "expires" => {
                expires = Some(value.trim().to_owned());
            }
            _ => {}
        }
    }
    AnnotationExemption {
        rules,
        reason,
        expires,
    }
}

/// Decides, for one finding, whether an exemption applies; returns its use if so.
pub fn exemption_for(
    finding: &Finding,
    object: &Object,
    policy: &Policy,
    today: &str,
) -> Option<ExemptionUse> {
    let rule = finding.rule;
    let used = |source: &str, reason: Option<String>, expires: Option<String>| ExemptionUse {
        rule: rule.to_owned(),
        object: finding.object.clone(),
        source: source.to_owned(),
        reason,
        expires,
    };
    let namespace = object.namespace();
    if policy
        .exemptions
        .namespaces
        .get(namespace)
        .is_some_and(|rules| rules.iter().any(|r| r == rule))
    {
        return Some(used(
            "namespace",
            Some(format!("namespace {namespace} is exempt in the policy")),
            None,
        ));
    }
    for (selector, rules) in &policy.exemptions.labels {
        let (key, value) = selector.split_once('=').unwrap_or((selector, ""));
        let matches = object
            .metadata_str("labels", key)
            .is_some_and(|v| value.is_empty() || v == value);
        if matches && rules.iter().any(|r| r == rule) {
            return Some(used(
                "label",
                Some(format!("label {selector} is exempt in the policy")),
                None,
            ));
        }
    }
    let annotation =
        parse_annotation(object.metadata_str("annotations", &policy.exemptions.annotation)?);
    let names_rule = annotation.rules.iter().any(|r| {
        r == rule
            || r == "*"
            || crate::registry::find(r).is_some_and(|found| found.meta().id == rule)
    });
    // ISO dates compare correctly as strings; an expired exemption no longer applies.
    let expired = annotation
        .expires
        .as_deref()
        .is_some_and(|date| date < today);
    (names_rule && !expired).then(|| used("annotation", annotation.reason, annotation.expires))
}

/// Today's date as `YYYY-MM-DD` (UTC), for exemption expiry.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_parses_rules_reason_and_expiry() {
        assert_eq!(
            parse_annotation("limits-removed, CL102; reason=load test; expires=2026-12-31"),
            AnnotationExemption {
                rules: vec!["limits-removed".into(), "CL102".into()],
                reason: Some("load test".into()),
                expires: Some("2026-12-31".into()),
            }
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_474), "2026-01-21");
    }
}

#[cfg(test)]
mod check_tests {
    use crate::{Policy, SourceFile, check_on, load_change};

    const BEFORE: &str = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: log-shipper\n  namespace: runtime-system\n  labels: {team: observability}\n  annotations: {}\nspec:\n  template:\n    spec:\n      containers:\n        - name: shipper\n          resources: {limits: {memory: 256Mi}}\n";

    fn run(annotations: &str, policy: &str, today: &str) -> crate::Report {
        let after = BEFORE
            .replace(
                "annotations: {}",
                &format!("annotations: {{{annotations}}}"),
            )
            .replace("resources: {limits: {memory: 256Mi}}", "resources: {}");
        let policy = Policy::from_yaml("p.yaml", policy).unwrap();
        let file = |text: &str| vec![SourceFile::new("ds.yaml", text.as_bytes().to_vec())];
        let change = load_change(&file(BEFORE), &file(&after), &policy).unwrap();
        check_on(&change, &policy, today)
    }

    #[test]
    fn annotation_exempts_until_it_expires_and_is_reported() {
        let annotation = r#""changelint.dev/exempt": "limits-removed; reason=load test INC-42; expires=2026-12-31""#;
        let report = run(annotation, "", "2026-11-28");
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(report.exemptions.len(), 1);
        assert_eq!(report.exemptions[0].source, "annotation");
        assert_eq!(
            report.exemptions[0].reason.as_deref(),
            Some("load test INC-42")
        );
        let expired = run(annotation, "", "2027-01-01");
        assert_eq!(
            expired.findings.len(),
            1,
            "an expired exemption no longer applies"
        );
        assert!(expired.exemptions.is_empty());
    }

    #[test]
    fn annotation_naming_another_rule_does_not_exempt() {
        let report = run(
            r#""changelint.dev/exempt": "limits-raised""#,
            "",
            "2026-11-28",
        );
        assert_eq!(report.findings.len(), 1);
    }

    #[test]
    fn namespace_and_label_exemptions_from_the_policy() {
        let report = run(
            "",
            "exemptions:\n  namespaces:\n    runtime-system: [limits-removed]\n",
            "2026-11-28",
        );
        assert!(report.findings.is_empty());
        assert_eq!(report.exemptions[0].source, "namespace");
        let report = run(
            "",
            "exemptions:\n  labels:\n    team=observability: [CL101]\n",
            "2026-11-28",
        );
        assert!(report.findings.is_empty(), "codes work as well as ids");
        assert_eq!(report.exemptions[0].source, "label");
        let report = run(
            "",
            "exemptions:\n  labels:\n    team=payments: [limits-removed]\n",
            "2026-11-28",
        );
        assert_eq!(report.findings.len(), 1);
    }
}
