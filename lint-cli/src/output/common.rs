//! What every format shares: counts, the per-container rows of the impact table, how missing
//! values read ("unbounded"), reach and fleet totals, paths as URIs, escaping, and the report
//! fields this version of the CLI does not know yet (rendered generically, never dropped).
//!
//! Keeping these here is what makes the formats agree: the Markdown table, the HTML table and
//! chart, and the SARIF and JUnit messages all read the same rows and the same words.

use std::borrow::Cow;
use std::fmt::Write as _;

use changelint_policies::audit::AuditCounts;
use changelint_policies::impact::{ResourceChange, WorkloadImpact};
use changelint_policies::resources::Class;
use changelint_policies::rule::RuleMeta;
use changelint_policies::{Finding, Identity, Report, Severity, registry};

/// Where the rule docs live on the web (generated into `docs/rules/` from the rule metadata).
pub const DOCS_URL: &str = "https://github.com/changelint/changelint/blob/main/docs/rules";

/// The project's home, for SARIF's `informationUri`.
pub const HOME_URL: &str = "https://github.com/changelint/changelint";

/// The word for a value that is gone after the change: no limit caps it, no request reserves it.
pub const UNBOUNDED: &str = "unbounded";

/// The word for a value that did not exist before the change.
pub const UNSET: &str = "unset";

/// Number of findings at each severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Deny-level findings.
    pub deny: usize,
    /// Warn-level findings.
    pub warn: usize,
    /// Info-level findings.
    pub info: usize,
}

impl Counts {
    /// Counts findings by severity.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut counts = Self::default();
        for finding in findings {
            match finding.severity {
                Severity::Deny => counts.deny += 1,
                Severity::Warn => counts.warn += 1,
                Severity::Info => counts.info += 1,
            }
        }
        counts
    }

    /// `3 deny, 1 warn, 0 info`.
    pub fn summary(self) -> String {
        format!("{} deny, {} warn, {} info", self.deny, self.warn, self.info)
    }
}

/// A rule's metadata, if the id is a known rule.
pub fn meta(rule: &str) -> Option<&'static RuleMeta> {
    registry::find(rule).map(changelint_policies::rule::Rule::meta)
}

/// `limits-removed (CL101)`, or just the id for a rule this build does not know.
pub fn rule_title(rule: &str) -> String {
    match meta(rule) {
        Some(meta) => format!("{} ({})", meta.id, meta.code),
        None => rule.to_owned(),
    }
}

/// The web address of a rule's docs.
pub fn rule_url(rule: &str) -> String {
    format!("{DOCS_URL}/{rule}.md")
}

/// `namespace/name`, or `name` for cluster-scoped objects and configs.
pub fn object_name(object: &Identity) -> String {
    match &object.namespace {
        Some(ns) => format!("{ns}/{}", object.name),
        None => object.name.clone(),
    }
}

/// One line of the impact table: a (container, resource) of a workload, with its request and
/// limit changes side by side.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The workload.
    pub workload: &'a WorkloadImpact,
    /// The container or config block.
    pub container: &'a str,
    /// `cpu`, `memory`, ...
    pub resource: &'a str,
    /// The request change, if the request changed.
    pub request: Option<&'a ResourceChange>,
    /// The limit change, if the limit changed.
    pub limit: Option<&'a ResourceChange>,
}

/// The impact table's rows, in report order, one per workload, container and resource.
pub fn rows(report: &Report) -> Vec<Row<'_>> {
    let mut rows: Vec<Row<'_>> = Vec::new();
    for workload in &report.impact.workloads {
        let first = rows.len();
        for change in &workload.changes {
            let existing = rows[first..]
                .iter_mut()
                .find(|r| r.container == change.container && r.resource == change.resource);
            let row = if let Some(row) = existing {
                row
            } else {
                rows.push(Row {
                    workload,
                    container: &change.container,
                    resource: &change.resource,
                    request: None,
                    limit: None,
                });
                rows.last_mut().expect("just pushed")
            };
            match change.class {
                Class::Request => row.request = Some(change),
                Class::Limit => row.limit = Some(change),
            }
        }
    }
    rows
}

/// How a value before the change reads: the value, or "unset".
pub fn before_text(change: &ResourceChange) -> &str {
    change.before.as_deref().unwrap_or(UNSET)
}

/// How a value after the change reads: the value, or "unbounded" when it is gone.
pub fn after_text(change: &ResourceChange) -> &str {
    change.after.as_deref().unwrap_or(UNBOUNDED)
}

/// Whether the change leaves the resource without a value.
pub fn goes_unbounded(change: &ResourceChange) -> bool {
    change.before.is_some() && change.after.is_none()
}

/// How far a workload's change reaches, in words: "3 pods", or "every node" for a DaemonSet
/// whose node count the manifests cannot tell.
/// An agent config reaches what the workload running it reaches.
pub fn reach_text(workload: &WorkloadImpact) -> Option<String> {
    let runner = workload.deployed_by.as_ref();
    let reach = match workload.reach {
        Some(reach) => format!("{} {}", reach.count, reach.unit),
        None if runner.unwrap_or(&workload.object).kind == "DaemonSet" => "every node".to_owned(),
        None => return None,
    };
    Some(match runner {
        Some(runner) => format!("{reach} (via {} {})", runner.kind, runner.name),
        None => reach,
    })
}

/// The change multiplied out over the workload's reach (the engine's
/// `memory limit 256Mi -> unbounded on 120 nodes (30Gi -> unbounded)`), when it reaches more
/// than one pod or node.
pub fn fleet_text<'a>(workload: &WorkloadImpact, change: &'a ResourceChange) -> Option<&'a str> {
    workload
        .reach
        .filter(|r| r.count > 1 && !change.fleet.is_empty())
        .map(|_| change.fleet.as_str())
}

/// The fleet audit table (`changelint audit`): header and rows, the totals last.
pub fn audit_table(report: &Report) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let audit = report.audit.as_ref()?;
    let header = vec![
        "Namespace",
        "Kind",
        "Workloads",
        "Containers",
        "No memory limit",
        "No requests",
        "Unsafe rollout",
    ];
    let row = |namespace: &str, kind: &str, c: &AuditCounts| {
        vec![
            namespace.to_owned(),
            kind.to_owned(),
            thousands(c.workloads),
            thousands(c.containers),
            thousands(c.without_memory_limit),
            thousands(c.without_requests),
            thousands(c.unsafe_rollouts),
        ]
    };
    let mut rows: Vec<Vec<String>> = audit
        .groups
        .iter()
        .map(|g| row(&g.namespace, &g.kind, &g.counts))
        .collect();
    rows.push(row("total", "", &audit.totals));
    Some((header, rows))
}

/// A path as a SARIF/GitHub artifact URI: relative to the working directory when it can be,
/// with forward slashes; a `file://` URI for an absolute path elsewhere.
pub fn uri(path: &str) -> String {
    let path = std::path::Path::new(path);
    let relative = if path.is_absolute() {
        std::env::current_dir().ok().and_then(|cwd| {
            path.strip_prefix(cwd)
                .ok()
                .map(std::path::Path::to_path_buf)
        })
    } else {
        Some(path.to_path_buf())
    };
    match relative {
        Some(relative) => {
            let text = relative.to_string_lossy().replace('\\', "/");
            text.strip_prefix("./").map_or(text.clone(), str::to_owned)
        }
        None => format!("file://{}", path.to_string_lossy().replace('\\', "/")),
    }
}

/// `file:line`, `file`, or nothing.
pub fn location(finding: &Finding) -> Option<String> {
    let file = finding.file.as_deref()?;
    Some(match finding.line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_owned(),
    })
}

/// Escapes text for XML and HTML, content and attributes alike. Characters XML 1.0 forbids
/// (control characters other than tab and newline) become U+FFFD rather than invalid documents.
pub fn escape_xml(text: &str) -> Cow<'_, str> {
    let needs = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'' | '\r') || forbidden_in_xml(c);
    if !text.contains(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => out.push_str("&#13;"),
            c if forbidden_in_xml(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn forbidden_in_xml(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Report fields this renderer has no layout for yet (the engine grows: record status, blast
/// radius scope, fleet reach): top-level fields and `impact` fields beyond the known ones, as
/// `(name, value)` in report order, so every format can still show them.
pub fn extra_fields(report: &Report) -> Vec<(String, serde_json::Value)> {
    const KNOWN: &[&str] = &["verdict", "findings", "impact", "exemptions", "audit"];
    const KNOWN_IMPACT: &[&str] = &["workloads", "objects_changed", "record", "targets"];
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(report) else {
        return Vec::new();
    };
    let mut extra = Vec::new();
    for (name, value) in fields {
        if name == "impact" {
            if let serde_json::Value::Object(impact) = value {
                extra.extend(
                    impact
                        .into_iter()
                        .filter(|(k, v)| !KNOWN_IMPACT.contains(&k.as_str()) && !is_empty(v))
                        .map(|(k, v)| (format!("impact.{k}"), v)),
                );
            }
        } else if !KNOWN.contains(&name.as_str()) && !is_empty(&value) {
            extra.push((name, value));
        }
    }
    extra
}

fn is_empty(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The change record's status, as the report shows it (read from the report's serialized form,
/// so the renderers follow the engine's record model without depending on its types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView {
    /// The record's file.
    pub file: String,
    /// Each required section: name, state (`present`, `missing`, `placeholder`, `undeclared`)
    /// and heading line.
    pub sections: Vec<(String, String, Option<u64>)>,
    /// Whether the record declares a staged rollout.
    pub staged_rollout: bool,
}

fn impact_field(report: &Report, name: &str) -> Option<serde_json::Value> {
    let value = serde_json::to_value(&report.impact).ok()?;
    value.get(name).filter(|v| !is_empty(v)).cloned()
}

/// The change-record status, when a record was given.
pub fn record_view(report: &Report) -> Option<RecordView> {
    let record = impact_field(report, "record")?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    Some(RecordView {
        file: text(&record["file"]),
        sections: record["sections"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| (text(&s["name"]), text(&s["state"]), s["line"].as_u64()))
            .collect(),
        staged_rollout: record["staged_rollout"].as_bool().unwrap_or(false),
    })
}

/// How a section state reads, with a mark: `✅ present`.
pub fn section_state(state: &str) -> String {
    let mark = match state {
        "present" => "✅",
        "missing" => "❌",
        _ => "⚠️",
    };
    format!("{mark} {state}")
}

/// The deployment targets the change reaches, by category (`clusters: [a, b]`).
pub fn targets(report: &Report) -> Vec<(String, Vec<String>)> {
    let Some(serde_json::Value::Object(targets)) = impact_field(report, "targets") else {
        return Vec::new();
    };
    targets
        .into_iter()
        .map(|(category, names)| {
            let names = names
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_owned))
                .collect();
            (category, names)
        })
        .filter(|(_, names): &(String, Vec<String>)| !names.is_empty())
        .collect()
}

/// A human title for a field name: `record_status` -> `Record status`.
pub fn field_title(name: &str) -> String {
    let name = name.strip_prefix("impact.").unwrap_or(name);
    let mut title = name.replace(['_', '-'], " ");
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    title
}

/// Flattens a JSON value into `key: value` lines (`a.b[0].c: x`), for the generic rendering of
/// fields without a dedicated layout.
pub fn flatten(value: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

/// The findings, most severe first, in report order within a severity.
pub fn by_severity(report: &Report) -> Vec<&Finding> {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// Thousands separators for counts in prose: `12,345`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A one-line message: the finding's message and its fix.
pub fn message_with_fix(finding: &Finding) -> String {
    let mut text = finding.message.clone();
    if !finding.fix.is_empty() {
        let _ = write!(text, "\nFix: {}", finding.fix);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(escape_xml("plain"), "plain");
        assert_eq!(
            escape_xml("<a href=\"x\">'&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{FFFD}"
        );
    }

    #[test]
    fn uris_are_relative_with_forward_slashes() {
        assert_eq!(uri("./a/b.yaml"), "a/b.yaml");
        assert_eq!(uri("a\\b.yaml"), "a/b.yaml");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(uri(&cwd.join("x/y.yaml").to_string_lossy()), "x/y.yaml");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn field_titles() {
        assert_eq!(field_title("impact.blast_radius"), "Blast radius");
        assert_eq!(field_title("record"), "Record");
    }
}
