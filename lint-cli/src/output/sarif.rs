//! `--format sarif`: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
//!
//! Spec: <https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html>; what GitHub reads:
//! <https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning>.
//! Every rule of the registry is listed in `tool.driver.rules` with its docs as help text; each
//! finding is a result at its file and line (the removed line of the before file for what was
//! removed), so code scanning marks the changed line. The output is validated against the
//! official schema in the tests (`tests/fixtures/sarif-schema-2.1.0.json`).

use std::io::{self, Write};

use changelint_policies::rule::RuleMeta;
use changelint_policies::{Finding, Report, Severity, registry};
use serde_json::{Value, json};

use super::Context;
use super::common;

/// The schema URI SARIF consumers expect in `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn render(report: &Report, cx: &Context<'_>, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &sarif(report, cx))?;
    writeln!(out)
}

/// SARIF's `level` for a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Deny => "error",
        Severity::Warn => "warning",
        Severity::Info => "note",
    }
}

/// The SARIF log of a report.
pub fn sarif(report: &Report, cx: &Context<'_>) -> Value {
    let rules: Vec<&RuleMeta> = registry::RULES.iter().map(|r| r.meta()).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| result(finding, &rules, cx))
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "changelint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": common::HOME_URL,
                    "rules": rules.iter().map(|meta| rule(meta)).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "verdict": report.verdict.as_str(),
                "objectsChanged": report.impact.objects_changed,
                "exemptionsUsed": report.exemptions.len(),
            },
        }]
    })
}

/// `limits-removed` -> `LimitsRemoved`: SARIF's `name` is a readable identifier.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The "What it does" section of a rule's docs, as plain text.
fn what_it_does(docs: &str) -> String {
    docs.split("## ")
        .find_map(|section| section.strip_prefix("What it does\n"))
        .map_or_else(String::new, |text| text.trim().replace('\n', " "))
}

fn rule(meta: &RuleMeta) -> Value {
    json!({
        "id": meta.id,
        "name": pascal_case(meta.id),
        "shortDescription": { "text": meta.summary },
        "fullDescription": { "text": what_it_does(meta.docs) },
        "help": {
            "text": super::docs::rule_markdown(meta),
            "markdown": super::docs::rule_markdown(meta),
        },
        "helpUri": common::rule_url(meta.id),
        "defaultConfiguration": { "level": level(meta.severity) },
        "properties": {
            "code": meta.code,
            "tags": ["kubernetes", "resources", meta.code],
        },
    })
}

fn result(finding: &Finding, rules: &[&RuleMeta], cx: &Context<'_>) -> Value {
    let mut result = json!({
        "ruleId": finding.rule,
        "level": level(finding.severity),
        "message": { "text": common::message_with_fix(finding) },
        "properties": {
            "object": finding.object,
            "pointer": finding.pointer,
            "before": finding.before,
            "after": finding.after,
            "fix": finding.fix,
        },
    });
    if let Some(index) = rules.iter().position(|m| m.id == finding.rule) {
        result["ruleIndex"] = json!(index);
    }
    let logical = json!([{
        "fullyQualifiedName": finding.object.to_string(),
        "kind": "object",
    }]);
    let (file, line) = finding.annotation_location();
    if let Some(file) = file {
        let mut physical = json!({ "artifactLocation": { "uri": common::uri(file) } });
        if let Some(line) = line {
            let mut region = json!({ "startLine": line });
            if let Some(text) = cx.sources.line(file, line) {
                region["snippet"] = json!({ "text": text });
            }
            physical["region"] = region;
        }
        result["locations"] =
            json!([{ "physicalLocation": physical, "logicalLocations": logical }]);
    } else {
        result["locations"] = json!([{ "logicalLocations": logical }]);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Sources, testing};

    mod sarif_schema {
        include!("../../tests/support/sarif_schema.rs");
    }
    use sarif_schema::assert_valid;

    #[test]
    fn sample_report() {
        let sources = Sources::default();
        let log = sarif(
            &testing::sample_report(),
            &Context {
                sources: &sources,
                color: false,
            },
        );
        assert_valid(&log);
        // The rules' help repeats the generated docs; the results are what this test pins.
        insta::assert_json_snapshot!(log["runs"][0]["results"]);
    }

    #[test]
    fn incident_validates_and_every_result_is_on_the_changed_line() {
        let (report, sources) = testing::incident();
        let log = sarif(
            &report,
            &Context {
                sources: &sources,
                color: false,
            },
        );
        assert_valid(&log);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), report.findings.len());
        assert!(!results.is_empty());
        for (result, finding) in results.iter().zip(&report.findings) {
            let physical = &result["locations"][0]["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
            let line = physical["region"]["startLine"].as_u64().unwrap();
            assert!(!uri.contains('\\') && !uri.starts_with('/'), "{uri}");
            // The line is the one the change touches: it holds the key the finding points at
            // and the value that was there (a removed value: its line in the before file).
            let text = physical["region"]["snippet"]["text"].as_str().unwrap();
            if let Some(site) = &finding.after_location {
                // A removed value: the annotation lands in the after file, on the line that
                // now stands where the deleted lines were (their next surviving sibling).
                assert_eq!(uri, common::uri(&site.file));
                let before_file = finding.file.as_deref().unwrap();
                let removed_at = finding.line.unwrap() as usize;
                let later: Vec<&str> = (removed_at + 1..removed_at + 40)
                    .filter_map(|l| sources.line(before_file, l as u32))
                    .collect();
                assert!(
                    later.contains(&text),
                    "line {line} of {uri}: {text:?} does not follow the removal"
                );
                continue;
            }
            if let Some(key) = finding.pointer.rsplit('/').next().filter(|k| !k.is_empty()) {
                assert!(text.contains(key), "line {line} of {uri}: {text:?}");
            }
            if let Some(before) = &finding.before {
                assert!(
                    text.contains(before.as_str()),
                    "line {line} of {uri}: {text:?}"
                );
            }
        }
        assert!(
            results
                .iter()
                .any(|r| r["ruleId"] == "resource-impact-missing"),
            "the record finding is reported"
        );
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), registry::RULES.len());
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
    }

    #[test]
    fn levels() {
        assert_eq!(level(Severity::Deny), "error");
        assert_eq!(level(Severity::Warn), "warning");
        assert_eq!(level(Severity::Info), "note");
        assert_eq!(pascal_case("limits-removed"), "LimitsRemoved");
    }
}
