//! `--format github`: GitHub Actions workflow commands, one annotation per finding, and the
//! Markdown report appended to the job summary when `$GITHUB_STEP_SUMMARY` is set.
//!
//! Format: <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands>
//! `::error file=F,line=L,title=T::message` (`warning` for warn, `notice` for info). The runner
//! splits properties on `,` and `::`, and commands on newlines, so data escapes `%`, CR and LF
//! (`%25`, `%0D`, `%0A`) and property values also escape `:` and `,` (`%3A`, `%2C`), as the
//! runner's own `toolkit/packages/core/src/command.ts` does.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context as _, Result};
use changelint_policies::{Finding, Report, Severity};

use super::common;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for finding in &report.findings {
        writeln!(out, "{}", annotation(finding))?;
    }
    let counts = common::Counts::of(&report.findings);
    writeln!(
        out,
        "changelint: {} ({}; {} object(s) changed)",
        report.verdict,
        counts.summary(),
        report.impact.objects_changed
    )
}

/// The workflow command of one finding.
pub fn annotation(finding: &Finding) -> String {
    let command = match finding.severity {
        Severity::Deny => "error",
        Severity::Warn => "warning",
        Severity::Info => "notice",
    };
    let mut properties = Vec::new();
    let (file, line) = finding.annotation_location();
    if let Some(file) = file {
        properties.push(format!("file={}", escape_property(&common::uri(file))));
        if let Some(line) = line {
            properties.push(format!("line={line}"));
        }
    }
    properties.push(format!(
        "title={}",
        escape_property(&format!(
            "changelint {} on {}",
            common::rule_title(finding.rule),
            finding.object
        ))
    ));
    let mut message = common::message_with_fix(finding);
    let _ = write!(message, "\nDocs: {}", common::rule_url(finding.rule));
    format!(
        "::{command} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

/// Escapes a command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property's value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Appends the Markdown report to the job summary file (`$GITHUB_STEP_SUMMARY`).
pub fn append_step_summary(report: &Report, path: &Path) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("{}: cannot open the job summary", path.display()))?;
    let mut text = super::markdown::report_markdown(report);
    text.push('\n');
    file.write_all(text.as_bytes())
        .with_context(|| format!("{}: cannot write the job summary", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::testing;

    fn render_to_string(report: &Report) -> String {
        let mut out = Vec::new();
        render(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sample_report() {
        insta::assert_snapshot!(render_to_string(&testing::sample_report()));
    }

    #[test]
    fn incident_annotations_carry_file_and_line() {
        let (report, _) = testing::incident();
        let text = render_to_string(&report);
        insta::assert_snapshot!(text);
        let annotations: Vec<&str> = text.lines().filter(|l| l.starts_with("::")).collect();
        assert_eq!(annotations.len(), report.findings.len());
        for line in annotations {
            assert!(
                line.contains(" file=examples/incident/") && line.contains(",line="),
                "{line}"
            );
            // One command per line: the message's newlines are escaped.
            assert!(line.contains("%0AFix: "), "{line}");
        }
    }

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a: b, c%\n"), "a%3A b%2C c%25%0A");
    }

    #[test]
    fn step_summary_is_appended() {
        let dir = std::env::temp_dir().join(format!("changelint-summary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("summary.md");
        std::fs::write(&path, "earlier step\n").unwrap();
        append_step_summary(&testing::sample_report(), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("earlier step\n## ⛔ changelint"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
