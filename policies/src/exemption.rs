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
    /// Parts that are neither `reason=` nor `expires=` (empty ones, as from a trailing `;`,
    /// are not parts).
    unknown: Vec<String>,
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
    let mut unknown = Vec::new();
    for part in parts.map(str::trim).filter(|part| !part.is_empty()) {
        match part.split_once('=') {
            Some((key, value)) if key.trim() == "reason" => reason = Some(value.trim().to_owned()),
            Some((key, value)) if key.trim() == "expires" => {
                expires = Some(value.trim().to_owned());
            }
            _ => unknown.push(part.to_owned()),
        }
    }
    AnnotationExemption {
        rules,
        reason,
        expires,
        unknown,
    }
}

/// Why an annotation exemption cannot be read: it names no rule or an unknown one, has a part
/// other than `reason=` and `expires=`, or an expiry that is not a `YYYY-MM-DD` date. Read as
/// it stands, a typo in a rule would exempt nothing without a word, and a malformed date (it
/// is compared as text) would never expire. An empty annotation (a template's unset value)
/// exempts nothing and is no error.
pub fn annotation_error(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    let annotation = parse_annotation(value);
    if annotation.rules.is_empty() {
        return Some(
            "names no rule (expected `rule-id[,rule-id]; reason=...; expires=YYYY-MM-DD`)".into(),
        );
    }
    if let Some(unknown) = annotation
        .rules
        .iter()
        .find(|r| *r != "*" && crate::registry::find(r).is_none())
    {
        return Some(format!(
            "names the unknown rule `{unknown}` (`changelint rules` lists them)"
        ));
    }
    if let Some(part) = annotation.unknown.first() {
        return Some(format!(
            "has `{part}`, which is neither `reason=...` nor `expires=YYYY-MM-DD` (a `;` \
             ends a part)"
        ));
    }
    match annotation.expires {
        Some(date) if !is_date(&date) => Some(format!(
            "expires on `{date}`, which is not a date written YYYY-MM-DD"
        )),
        _ => None,
    }
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes[range].iter().try_fold(0u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    (1..=days).contains(&day)
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
            parse_annotation("limits-removed, CL102; reason=load test; expires=2026-12-31; x;"),
            AnnotationExemption {
                rules: vec!["limits-removed".into(), "CL102".into()],
                reason: Some("load test".into()),
                expires: Some("2026-12-31".into()),
                unknown: vec!["x".into()],
            }
        );
    }

    #[test]
    fn malformed_annotations_are_named() {
        assert_eq!(
            annotation_error("limits-removed; reason=x; expires=2026-02-28"),
            None
        );
        assert_eq!(annotation_error("*; expires=2028-02-29"), None);
        assert_eq!(annotation_error("CL101,requests-removed"), None);
        assert_eq!(annotation_error("limits-removed; reason=x;"), None);
        assert_eq!(annotation_error("limits-removed;; reason=x"), None);
        assert_eq!(annotation_error(" "), None);
        for (bad, says) in [
            ("limits-remvoed; reason=x", "unknown rule `limits-remvoed`"),
            ("; reason=x", "names no rule"),
            ("limits-removed; expire=2026-12-31", "`expire=2026-12-31`"),
            ("limits-removed; load test", "`load test`"),
            ("limits-removed; expires=31.12.2020", "`31.12.2020`"),
            ("limits-removed; expires=never", "`never`"),
            ("limits-removed; expires=2026-13-01", "`2026-13-01`"),
            ("limits-removed; expires=2026-02-29", "`2026-02-29`"),
            ("limits-removed; expires=2026-1-01", "`2026-1-01`"),
        ] {
            let error = annotation_error(bad).unwrap_or_default();
            assert!(error.contains(says), "{bad}: {error}");
        }
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
