//! `--format text`: rustc-style diagnostics with the source line and a caret under the value.

use std::io::{self, IsTerminal, Write};

use changelint_policies::audit::{AuditCounts, AuditSummary};
use changelint_policies::{Report, Severity};

use super::Context;

/// Colour only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>).
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn severity(&self, severity: Severity) -> String {
        let code = match severity {
            Severity::Deny => "1;31",
            Severity::Warn => "1;33",
            Severity::Info => "1;36",
        };
        self.wrap(code, severity.as_str())
    }
}

pub fn render(report: &Report, cx: &Context<'_>, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint(cx.color);
    for finding in &report.findings {
        writeln!(
            out,
            "{}{} {}",
            paint.severity(finding.severity),
            paint.wrap("1", &format!("[{}]:", finding.rule)),
            finding.message
        )?;
        let gutter = finding.line.map_or(1, |l| l.to_string().len());
        let pad = " ".repeat(gutter);
        match (&finding.file, finding.line) {
            (Some(file), Some(line)) => {
                writeln!(out, "{pad}{} {file}:{line}", paint.wrap("34", "-->"))?;
                if let Some(source) = cx.sources.line(file, line) {
                    let bar = paint.wrap("34", "|");
                    writeln!(out, "{pad} {bar}")?;
                    writeln!(
                        out,
                        "{} {bar} {source}",
                        paint.wrap("34", &line.to_string())
                    )?;
                    let indent = source.len() - source.trim_start().len();
                    let width = source.trim().chars().count().max(1);
                    let caret = paint.wrap("1;31", &"^".repeat(width));
                    writeln!(out, "{pad} {bar} {}{caret}", " ".repeat(indent))?;
                }
            }
            (Some(file), None) => writeln!(out, "{pad}{} {file}", paint.wrap("34", "-->"))?,
            _ => {}
        }
        writeln!(out, "{pad} = object: {}", finding.object)?;
        writeln!(out, "{pad} = help: {}", finding.fix)?;
        writeln!(out)?;
    }
    for used in &report.exemptions {
        writeln!(
            out,
            "exempt[{}]: {} ({}: {})",
            used.rule,
            used.object,
            used.source,
            used.reason.as_deref().unwrap_or("no reason given")
        )?;
    }
    if let Some(audit) = &report.audit {
        render_audit_table(audit, out)?;
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    writeln!(
        out,
        "{}: {} ({} deny, {} warn, {} info; {} object(s) changed)",
        paint.wrap("1", "verdict"),
        paint.wrap(
            match report.verdict {
                changelint_policies::Verdict::Deny => "1;31",
                changelint_policies::Verdict::Warn => "1;33",
                changelint_policies::Verdict::Pass => "1;32",
            },
            report.verdict.as_str()
        ),
        count(Severity::Deny),
        count(Severity::Warn),
        count(Severity::Info),
        report.impact.objects_changed
    )
}

/// The fleet audit table: one row per namespace and kind, then the totals.
fn render_audit_table(audit: &AuditSummary, out: &mut dyn Write) -> io::Result<()> {
    let header = [
        "namespace",
        "kind",
        "workloads",
        "containers",
        "no mem limit",
        "no requests",
        "unsafe rollout",
    ];
    let mut rows: Vec<[String; 7]> = audit
        .groups
        .iter()
        .map(|g| row(&g.namespace, &g.kind, &g.counts))
        .collect();
    rows.push(row("total", "", &audit.totals));
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(&header).trim_end())?;
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells).trim_end())?;
    }
    writeln!(out)
}

fn row(namespace: &str, kind: &str, c: &AuditCounts) -> [String; 7] {
    [
        namespace.to_owned(),
        kind.to_owned(),
        c.workloads.to_string(),
        c.containers.to_string(),
        c.without_memory_limit.to_string(),
        c.without_requests.to_string(),
        c.unsafe_rollouts.to_string(),
    ]
}
