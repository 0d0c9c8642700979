//! `--format junit`: JUnit XML for CI test reports (GitLab `artifacts:reports:junit`, Jenkins,
//! Azure Pipelines).
//!
//! Layout: one `<testsuite>` per rule (name = rule id), one `<testcase>` per (rule, object)
//! (classname = rule id, name = the object), so a report reads "limits-removed: DaemonSet
//! logging/node-agent failed".
//!
//! - deny findings are a `<failure>` (type `deny`), one per test case, listing every deny
//!   finding of that rule on that object, with file:line and fix;
//! - warn and info findings do not fail the build (exit code 0), so they do not fail the test
//!   case either: the case passes and carries them in `<system-out>`, which GitLab and Jenkins
//!   show with the case. (A `<skipped>` case would claim the check did not run, which is false.)
//! - a rule without findings has one passing case, `no findings`, so clean runs show what ran.
//!
//! The schema GitLab and Jenkins read is the de-facto Ant/Surefire one
//! (<https://github.com/testmoapp/junitxml>).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;
use std::io::{self, Write};

use changelint_policies::{Finding, Identity, Report, Severity, registry};

use super::common::{self, escape_xml};

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(junit(report).as_bytes())
}

/// One test case: a rule on one object.
struct Case<'a> {
    object: &'a Identity,
    findings: Vec<&'a Finding>,
}

/// The JUnit document of a report.
pub fn junit(report: &Report) -> String {
    // Rules in registry order, then any rule this build does not list (a plugin, a newer engine).
    let mut rules: Vec<&str> = registry::RULES.iter().map(|r| r.meta().id).collect();
    for finding in &report.findings {
        if !rules.contains(&finding.rule) {
            rules.push(finding.rule);
        }
    }
    let mut suites = String::new();
    let (mut total_tests, mut total_failures) = (0, 0);
    for rule in rules {
        // Cases in the order their object first appears, found through a map: a scan of the
        // cases per finding made a fleet audit's report quadratic (50,000 objects took 24
        // times as long as 5,000).
        let mut cases: Vec<Case<'_>> = Vec::new();
        let mut case_of: HashMap<&Identity, usize> = HashMap::new();
        for finding in report.findings.iter().filter(|f| f.rule == rule) {
            match case_of.entry(&finding.object) {
                Entry::Occupied(index) => cases[*index.get()].findings.push(finding),
                Entry::Vacant(slot) => {
                    slot.insert(cases.len());
                    cases.push(Case {
                        object: &finding.object,
                        findings: vec![finding],
                    });
                }
            }
        }
        let failures = cases
            .iter()
            .filter(|c| c.findings.iter().any(|f| f.severity == Severity::Deny))
            .count();
        let tests = cases.len().max(1);
        total_tests += tests;
        total_failures += failures;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
            escape_xml(rule)
        );
        if cases.is_empty() {
            let _ = writeln!(
                suites,
                "    <testcase classname=\"{}\" name=\"no findings\"/>",
                escape_xml(rule)
            );
        }
        for case in &cases {
            test_case(&mut suites, rule, case);
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"changelint\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"0\">\n{suites}</testsuites>\n"
    )
}

fn test_case(out: &mut String, rule: &str, case: &Case<'_>) {
    let file = case
        .findings
        .iter()
        .find_map(|f| f.file.as_deref())
        .map(|file| format!(" file=\"{}\"", escape_xml(&common::uri(file))))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"{file}>",
        escape_xml(rule),
        escape_xml(&case.object.to_string()),
    );
    let deny: Vec<&Finding> = case
        .findings
        .iter()
        .copied()
        .filter(|f| f.severity == Severity::Deny)
        .collect();
    if let Some(first) = deny.first() {
        let body: Vec<String> = deny.iter().map(|f| detail(f)).collect();
        let _ = writeln!(
            out,
            "      <failure type=\"deny\" message=\"{}\">{}</failure>",
            escape_xml(&first.message),
            escape_xml(&body.join("\n\n"))
        );
    }
    let rest: Vec<String> = case
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Deny)
        .map(|f| detail(f))
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            escape_xml(&rest.join("\n\n"))
        );
    }
    out.push_str("    </testcase>\n");
}

/// `deny: message` / `at file:line (pointer)` / `fix: ...`.
fn detail(finding: &Finding) -> String {
    let mut text = format!("{}: {}", finding.severity, finding.message);
    if let Some(location) = common::location(finding) {
        let _ = write!(text, "\nat {location} ({})", finding.pointer);
    }
    if !finding.fix.is_empty() {
        let _ = write!(text, "\nfix: {}", finding.fix);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::testing;

    #[test]
    fn sample_report() {
        insta::assert_snapshot!(junit(&testing::sample_report()));
    }

    #[test]
    fn incident_fails_the_deny_rules() {
        let (report, _) = testing::incident();
        let xml = junit(&report);
        insta::assert_snapshot!(xml);
        assert!(xml.contains("<testsuite name=\"limits-removed\" tests=\"1\" failures=\"1\""));
        assert!(xml.contains("<testsuite name=\"requests-removed\" tests=\"1\" failures=\"1\""));
        assert_eq!(xml.matches("<testsuite ").count(), registry::RULES.len());
    }
}
