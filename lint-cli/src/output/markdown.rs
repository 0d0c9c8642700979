//! `--format markdown`: the impact report, GitHub-flavoured, ready to post as a pull-request
//! comment or a job summary.
//!
//! Order is what a reviewer needs first: the verdict, the resources that change (before -> after
//! per container, gone values shown as "unbounded", reach and fleet totals where known), fields
//! the engine adds (record status, blast radius), the blocking findings with their fixes, then the
//! warnings, exemptions and raw patches in collapsible `<details>` blocks.
//!
//! A GitHub comment holds at most 65,536 characters
//! (<https://docs.github.com/en/rest/issues/comments>). A report that would be longer is rendered
//! again with fewer table rows and findings, and a per-rule summary plus a note saying how many
//! were left out, until it fits.

use std::fmt::Write as _;
use std::io::{self, Write};

use changelint_policies::{Finding, Report, Severity, Verdict};

use super::common::{self, Counts, Row};

/// GitHub's limit for a comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// What the report aims to stay under: the limit, less room for a sticky-comment marker or a
/// heading a workflow adds around it.
const BUDGET: usize = GITHUB_COMMENT_LIMIT - 1_536;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(report_markdown(report).as_bytes())
}

/// The whole report, summarised until it fits within a GitHub comment.
pub fn report_markdown(report: &Report) -> String {
    let mut caps = Caps::ALL;
    loop {
        let text = render_with(report, caps);
        if text.chars().count() <= BUDGET || caps.is_minimal() {
            return text;
        }
        caps = caps.shrink(report);
    }
}

/// How much of a long report to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Caps {
    rows: usize,
    findings: usize,
    exemptions: usize,
    patches: bool,
}

impl Caps {
    const ALL: Self = Self {
        rows: usize::MAX,
        findings: usize::MAX,
        exemptions: usize::MAX,
        patches: true,
    };

    fn is_minimal(self) -> bool {
        self.rows == 0 && self.findings == 0 && self.exemptions == 0 && !self.patches
    }

    fn shrink(self, report: &Report) -> Self {
        if self.patches {
            // Raw patches go first: they repeat what the table already says.
            return Self {
                patches: false,
                ..self
            };
        }
        let halve = |cap: usize, len: usize| cap.min(len) / 2;
        Self {
            rows: halve(self.rows, common::rows(report).len()),
            findings: halve(self.findings, report.findings.len()),
            exemptions: halve(self.exemptions, report.exemptions.len()),
            patches: false,
        }
    }
}

fn render_with(report: &Report, caps: Caps) -> String {
    let mut md = String::new();
    let counts = Counts::of(&report.findings);
    let truncated = caps != Caps::ALL;

    verdict(&mut md, report, counts);
    if truncated {
        let _ = writeln!(
            md,
            "> [!NOTE]\n> This report is summarised to fit in a comment. The SARIF, JSON or \
             HTML output of the same run has every finding.\n"
        );
        rule_summary(&mut md, report);
    }
    resources(&mut md, report, caps.rows);
    audit(&mut md, report, caps.rows);
    blast_radius(&mut md, report);
    record(&mut md, report);
    extras(&mut md, report);
    findings(&mut md, report, caps.findings);
    exemptions(&mut md, report, caps.exemptions);
    if caps.patches {
        patches(&mut md, report);
    }
    md
}

fn verdict(md: &mut String, report: &Report, counts: Counts) {
    let (icon, words) = match report.verdict {
        Verdict::Deny => ("⛔", "at least one finding blocks this change"),
        Verdict::Warn => ("⚠️", "nothing blocks, but review the warnings"),
        Verdict::Pass => ("✅", "no finding blocks this change"),
    };
    let _ = writeln!(
        md,
        "## {icon} changelint: **{}** — {words}\n",
        report.verdict
    );
    let _ = writeln!(
        md,
        "**{}** deny · **{}** warn · **{}** info · {} object(s) changed · {} workload(s) change \
         resources\n",
        common::thousands(counts.deny),
        common::thousands(counts.warn),
        common::thousands(counts.info),
        common::thousands(report.impact.objects_changed),
        common::thousands(report.impact.workloads.len()),
    );
}

fn rule_summary(md: &mut String, report: &Report) {
    let mut rules: Vec<(&str, Counts)> = Vec::new();
    for finding in &report.findings {
        let index = if let Some(i) = rules.iter().position(|(r, _)| *r == finding.rule) {
            i
        } else {
            rules.push((finding.rule, Counts::default()));
            rules.len() - 1
        };
        let counts = &mut rules[index].1;
        match finding.severity {
            Severity::Deny => counts.deny += 1,
            Severity::Warn => counts.warn += 1,
            Severity::Info => counts.info += 1,
        }
    }
    if rules.is_empty() {
        return;
    }
    md.push_str("### Findings by rule\n\n| Rule | Deny | Warn | Info |\n|---|--:|--:|--:|\n");
    for (rule, counts) in rules {
        let _ = writeln!(
            md,
            "| [{}]({}) | {} | {} | {} |",
            code(&common::rule_title(rule)),
            common::rule_url(rule),
            counts.deny,
            counts.warn,
            counts.info
        );
    }
    md.push('\n');
}

fn resources(md: &mut String, report: &Report, cap: usize) {
    let rows = common::rows(report);
    if rows.is_empty() {
        return;
    }
    md.push_str(
        "### Resource changes\n\n| Workload | Container | Resource | Request | Limit | Reach |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut previous: Option<&Row<'_>> = None;
    for row in rows.iter().take(cap) {
        let same_workload = previous.is_some_and(|p| std::ptr::eq(p.workload, row.workload));
        let (workload, reach) = if same_workload {
            (String::new(), String::new())
        } else {
            (
                workload_cell(row),
                common::reach_text(row.workload).unwrap_or_else(|| "—".to_owned()),
            )
        };
        let _ = writeln!(
            md,
            "| {workload} | {} | {} | {} | {} | {} |",
            code(row.container),
            inline(row.resource),
            change_cell(row.request),
            change_cell(row.limit),
            inline(&reach),
        );
        previous = Some(row);
    }
    if rows.len() > cap {
        let _ = writeln!(
            md,
            "| _…{} more row(s) not shown_ | | | | | |",
            common::thousands(rows.len() - cap)
        );
    }
    md.push('\n');
    if rows
        .iter()
        .flat_map(|r| [r.request, r.limit])
        .flatten()
        .any(common::goes_unbounded)
    {
        md.push_str(
            "_**unbounded**: the value is gone after the change: no limit caps the container and \
             no request reserves room for it on the node._\n\n",
        );
    }
    let fleet: Vec<String> = rows
        .iter()
        .take(cap)
        .flat_map(|row| {
            [row.request, row.limit]
                .into_iter()
                .flatten()
                .filter_map(|change| {
                    let total = common::fleet_text(row.workload, change)?;
                    Some(format!(
                        "- {} {}: {}",
                        inline(&row.workload.object.to_string()),
                        code(row.container),
                        inline(total)
                    ))
                })
        })
        .collect();
    if !fleet.is_empty() {
        md.push_str(
            "**Fleet impact** (per-pod values multiplied by the pods or nodes reached):\n\n",
        );
        for line in fleet {
            md.push_str(&line);
            md.push('\n');
        }
        md.push('\n');
    }
}

fn audit(md: &mut String, report: &Report, cap: usize) {
    let Some((header, rows)) = common::audit_table(report) else {
        return;
    };
    let _ = writeln!(
        md,
        "### Fleet audit\n\n| {} |\n|{}",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    let total = rows.len() - 1;
    // The totals row is always shown, however many namespace rows are cut.
    for row in rows[..total].iter().take(cap).chain(&rows[total..]) {
        let cells: Vec<String> = row.iter().map(|c| inline(c)).collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    md.push('\n');
}

fn blast_radius(md: &mut String, report: &Report) {
    let targets = common::targets(report);
    if targets.is_empty() {
        return;
    }
    md.push_str("### Blast radius\n\n");
    for (category, names) in targets {
        let shown: Vec<String> = names.iter().take(20).map(|n| code(n)).collect();
        let more = if names.len() > shown.len() {
            format!(" and {} more", common::thousands(names.len() - shown.len()))
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "- **{}** {}: {}{more}",
            common::thousands(names.len()),
            inline(&category),
            shown.join(", ")
        );
    }
    md.push('\n');
}

fn record(md: &mut String, report: &Report) {
    let Some(record) = common::record_view(report) else {
        return;
    };
    let _ = writeln!(
        md,
        "### Change record {}\n\n| Section | State |\n|---|---|",
        code(&record.file)
    );
    for (name, state, line) in &record.sections {
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        let _ = writeln!(
            md,
            "| {} | {}{at} |",
            inline(name),
            inline(&common::section_state(state))
        );
    }
    let _ = writeln!(
        md,
        "| Staged rollout | {} |\n",
        if record.staged_rollout {
            "✅ declared"
        } else {
            "not declared"
        }
    );
}

fn workload_cell(row: &Row<'_>) -> String {
    let object = &row.workload.object;
    format!(
        "{} {}",
        inline(&object.kind),
        code(&common::object_name(object))
    )
}

fn change_cell(change: Option<&changelint_policies::impact::ResourceChange>) -> String {
    let Some(change) = change else {
        return "unchanged".to_owned();
    };
    let after = common::after_text(change);
    let after = if change.after.is_none() {
        format!("**{}**", inline(after))
    } else {
        inline(after)
    };
    format!("{} → {after}", inline(common::before_text(change)))
}

fn extras(md: &mut String, report: &Report) {
    for (name, value) in common::extra_fields(report) {
        let _ = writeln!(md, "### {}\n", inline(&common::field_title(&name)));
        let lines = common::flatten(&value);
        if lines.len() <= 12 {
            for (key, text) in lines {
                if key.is_empty() {
                    let _ = writeln!(md, "- {}", inline(&text));
                } else {
                    let _ = writeln!(md, "- {}: {}", code(&key), inline(&text));
                }
            }
            md.push('\n');
        } else {
            let json = serde_json::to_string_pretty(&value).unwrap_or_default();
            let _ = writeln!(
                md,
                "<details><summary>{} entries</summary>\n\n{}\n\n</details>\n",
                lines.len(),
                fenced("json", &json)
            );
        }
    }
}

fn findings(md: &mut String, report: &Report, cap: usize) {
    if report.findings.is_empty() {
        return;
    }
    let ordered = common::by_severity(report);
    let shown = &ordered[..cap.min(ordered.len())];
    let deny: Vec<&Finding> = shown
        .iter()
        .copied()
        .filter(|f| f.severity == Severity::Deny)
        .collect();
    let rest: Vec<&Finding> = shown
        .iter()
        .copied()
        .filter(|f| f.severity != Severity::Deny)
        .collect();
    md.push_str("### Findings\n\n");
    for finding in &deny {
        finding_item(md, finding);
    }
    if !deny.is_empty() {
        md.push('\n');
    }
    if !rest.is_empty() {
        let counts = Counts::of(rest.iter().copied());
        let mut label = Vec::new();
        if counts.warn > 0 {
            label.push(format!("{} warning(s)", common::thousands(counts.warn)));
        }
        if counts.info > 0 {
            label.push(format!("{} note(s)", common::thousands(counts.info)));
        }
        // With nothing blocking, the warnings are the news: show them open.
        let open = if deny.is_empty() { " open" } else { "" };
        let _ = writeln!(
            md,
            "<details{open}><summary>{}</summary>\n",
            label.join(", ")
        );
        for finding in &rest {
            finding_item(md, finding);
        }
        md.push_str("\n</details>\n\n");
    }
    if ordered.len() > shown.len() {
        let left = Counts::of(ordered[shown.len()..].iter().copied());
        let _ = writeln!(
            md,
            "_…and {} more finding(s) not shown ({})._\n",
            common::thousands(ordered.len() - shown.len()),
            left.summary()
        );
    }
}

fn finding_item(md: &mut String, finding: &Finding) {
    let icon = match finding.severity {
        Severity::Deny => "⛔",
        Severity::Warn => "⚠️",
        Severity::Info => "ℹ️",
    };
    let _ = writeln!(
        md,
        "- {icon} **{}** [{}]({}): {}",
        finding.severity,
        code(&common::rule_title(finding.rule)),
        common::rule_url(finding.rule),
        inline(&finding.message)
    );
    let mut at = vec![format!(
        "{} {}",
        inline(&finding.object.kind),
        code(&common::object_name(&finding.object))
    )];
    if let Some(location) = common::location(finding) {
        at.insert(0, code(&location));
    }
    if !finding.pointer.is_empty() {
        at.push(code(&finding.pointer));
    }
    let _ = writeln!(md, "  <br>at {}", at.join(" · "));
    if !finding.fix.is_empty() {
        let _ = writeln!(md, "  <br>**Fix:** {}", inline(&finding.fix));
    }
}

fn exemptions(md: &mut String, report: &Report, cap: usize) {
    if report.exemptions.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "### Exemptions used ({})\n\n| Rule | Object | Via | Reason | Expires |\n|---|---|---|---|---|",
        common::thousands(report.exemptions.len())
    );
    for used in report.exemptions.iter().take(cap) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            code(&used.rule),
            code(&used.object.to_string()),
            inline(&used.source),
            inline(used.reason.as_deref().unwrap_or("no reason given")),
            inline(used.expires.as_deref().unwrap_or("never")),
        );
    }
    if report.exemptions.len() > cap {
        let _ = writeln!(
            md,
            "| _…{} more not shown_ | | | | |",
            common::thousands(report.exemptions.len() - cap)
        );
    }
    md.push('\n');
}

fn patches(md: &mut String, report: &Report) {
    for workload in &report.impact.workloads {
        let Ok(json) = serde_json::to_string_pretty(&workload.patch) else {
            continue;
        };
        let _ = writeln!(
            md,
            "<details><summary>Raw change of {} (JSON Patch)</summary>\n\n{}\n\n</details>\n",
            escape_html(&workload.object.to_string()),
            fenced("json", &json)
        );
    }
}

/// Inline Markdown text: user text is escaped so it cannot open links, emphasis, HTML or table
/// cells; code spans (between backticks) written by the engine's messages are kept as code.
pub fn inline(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    if text.matches('`').count() % 2 == 1 {
        return escape_plain(&text).replace('`', "\\`");
    }
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push('`');
            out.push_str(&part.replace('|', "\\|"));
            out.push('`');
        } else {
            out.push_str(&escape_plain(part));
        }
    }
    out
}

fn escape_plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '[' | ']' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            // `<` could open an HTML tag and `&` an entity; `>` alone is plain text inline.
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A code span holding any text: the fence is longer than any backtick run inside it.
pub fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ").replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

fn fenced(lang: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{lang}\n{text}\n{fence}")
}

fn escape_html(text: &str) -> String {
    common::escape_xml(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::testing;

    #[test]
    fn sample_report() {
        insta::assert_snapshot!(report_markdown(&testing::sample_report()));
    }

    #[test]
    fn incident_report_shows_verdict_and_unbounded_values_first() {
        let (report, _) = testing::incident();
        let md = report_markdown(&report);
        insta::assert_snapshot!(md);
        let first_screen: String = md.lines().take(30).collect::<Vec<_>>().join("\n");
        assert!(first_screen.starts_with("## ⛔ changelint: **deny**"));
        for value in ["200m", "256Mi", "100m", "128Mi"] {
            assert!(
                first_screen.contains(&format!("{value} → **unbounded**")),
                "{value} -> unbounded missing from the first screen:\n{first_screen}"
            );
        }
        assert!(
            first_screen.contains("| Resource Impact | ❌ missing |"),
            "{first_screen}"
        );
    }

    #[test]
    fn huge_reports_are_summarised_under_the_comment_limit() {
        let report = testing::huge_report(5_000);
        let md = report_markdown(&report);
        let chars = md.chars().count();
        assert!(chars <= GITHUB_COMMENT_LIMIT, "{chars} characters");
        assert!(md.starts_with("## ⛔ changelint: **deny**"));
        assert!(md.contains("This report is summarised"));
        assert!(md.contains("### Findings by rule"));
        assert!(md.contains("more finding(s) not shown"));
        // The summary still shows a useful share of the findings.
        assert!(
            md.matches("**Fix:**").count() >= 50,
            "too few findings kept"
        );
    }

    #[test]
    fn user_text_cannot_break_out() {
        assert_eq!(
            inline("a|b <img> [x](y) *z*"),
            "a\\|b &lt;img> \\[x\\](y) \\*z\\*"
        );
        assert_eq!(inline("keep `a|b` code"), "keep `a\\|b` code");
        assert_eq!(inline("odd ` tick"), "odd \\` tick");
        assert_eq!(code("x`y"), "`` x`y ``");
        assert_eq!(code("plain"), "`plain`");
    }
}
