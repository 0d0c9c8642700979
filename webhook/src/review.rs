//! One admission request through the engine, and the engine's report as an admission answer.
//!
//! ```text
//! AdmissionRequest --(oldObject, object)--> object_change --> check --> Report
//!                                                                         |
//!   allowed = verdict != deny, status.message = deny findings,  <---------+
//!   warnings = warn findings (bounded), auditAnnotations (bounded)
//! ```
//!
//! This is the webhook's only renderer of findings (STYLE.md lesson 5): the CLI renders the
//! same findings in its own formats. Nothing here does I/O or logging; [`review`] is a pure
//! function of the request and the policy, so it is tested without HTTP and run on the
//! blocking pool by the handler.
//!
//! Bounds come from the API server: it keeps 256 characters of each warning and 4 KiB of
//! warnings in all (longer ones are cut or dropped without notice), so the webhook cuts first
//! and says how many it left out. Audit annotation keys are prefixed by the API server with the
//! webhook's name (`validate.changelint.dev/verdict`), so they carry no prefix here: a key
//! with its own `/` would make the combined key invalid and the annotation would be dropped.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use changelint_policies::podspec::pod_spec_path;
use changelint_policies::report::ExemptionUse;
use changelint_policies::{Finding, Policy, Report, Verdict};
use serde_json::Value;

use crate::admission::{AdmissionRequest, AdmissionResponse, Operation};

/// Most bytes of one warning (the API server's limit per warning).
pub const MAX_WARNING_BYTES: usize = 256;
/// Most bytes of all warnings together (the API server's limit for one request).
pub const MAX_WARNINGS_TOTAL_BYTES: usize = 4096;
/// Most bytes of `status.message`.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Most bytes of one line of `status.message`.
pub const MAX_MESSAGE_LINE_BYTES: usize = 512;
/// Most deny findings listed in `status.message`; the rest are counted.
pub const MAX_MESSAGE_FINDINGS: usize = 10;
/// Most bytes of one audit annotation value.
pub const MAX_ANNOTATION_BYTES: usize = 1024;

/// Audit annotation: `pass`, `warn` or `deny`.
pub const AUDIT_VERDICT: &str = "verdict";
/// Audit annotation: the rule ids of the findings, comma-separated.
pub const AUDIT_FINDINGS: &str = "findings";
/// Audit annotation: the exemptions used (`rule by source: reason, expires`), `; `-separated.
pub const AUDIT_EXEMPTIONS: &str = "exemptions";
/// Audit annotation: the limit and request changes (`container class resource before -> after`).
pub const AUDIT_RESOURCE_CHANGES: &str = "resource-changes";
/// Audit annotation: the JSON patch of the change as `op path` only (values are left out:
/// they may hold credentials from environment variables).
pub const AUDIT_PATCH: &str = "patch";

/// Every audit annotation key the webhook writes.
pub const AUDIT_KEYS: [&str; 5] = [
    AUDIT_VERDICT,
    AUDIT_FINDINGS,
    AUDIT_EXEMPTIONS,
    AUDIT_RESOURCE_CHANGES,
    AUDIT_PATCH,
];

/// Why a request was answered without running the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// DELETE and CONNECT change no pod spec.
    Operation,
    /// A subresource (`status`, `scale`, ...), not the object itself.
    SubResource,
    /// A kind without a pod spec: no rule applies.
    Kind,
}

impl Skip {
    /// Label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operation => "operation",
            Self::SubResource => "subresource",
            Self::Kind => "kind",
        }
    }
}

/// What happened to one request, for the log and the metrics.
#[derive(Debug, Clone)]
pub enum Judgement {
    /// Allowed without running the engine.
    Skipped(Skip),
    /// The request could not be judged (`AdmissionResponse::invalid`).
    Invalid,
    /// The engine ran.
    Checked {
        /// The verdict.
        verdict: Verdict,
        /// Rule id and severity of each finding.
        findings: Vec<(&'static str, &'static str)>,
        /// Exemptions that suppressed findings.
        exemptions: Vec<ExemptionUse>,
    },
}

impl Judgement {
    /// Label for logs and metrics: `pass`, `warn`, `deny`, `skipped` or `invalid`.
    pub fn verdict_label(&self) -> &'static str {
        match self {
            Self::Skipped(_) => "skipped",
            Self::Invalid => "invalid",
            Self::Checked { verdict, .. } => verdict.as_str(),
        }
    }
}

/// The answer to one request and what led to it.
#[derive(Debug, Clone)]
pub struct Reviewed {
    /// What goes back to the API server.
    pub response: AdmissionResponse,
    /// What happened, for the log and the metrics.
    pub judgement: Judgement,
    /// Whether the policy judges the request's kind (it has a pod spec), whatever the
    /// operation: the metrics name only such kinds.
    pub judged_kind: bool,
}

/// Judges one admission request with `policy`.
///
/// UPDATE compares `oldObject` with `object`; CREATE checks `object` alone; DELETE, CONNECT,
/// subresources and kinds without a pod spec are allowed at once. Dry runs are judged the same.
pub fn review(request: AdmissionRequest, policy: &Policy) -> Reviewed {
    let judged_kind = pod_spec_path(&request.kind.group, &request.kind.kind, policy).is_some();
    let skipped = |skip| Reviewed {
        response: AdmissionResponse::allow(request.uid.clone()),
        judgement: Judgement::Skipped(skip),
        judged_kind,
    };
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return skipped(Skip::Operation);
    }
    if request
        .sub_resource
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        return skipped(Skip::SubResource);
    }
    let AdmissionRequest {
        uid,
        name,
        namespace,
        operation,
        object,
        old_object,
        ..
    } = request;
    let invalid = |message: &str| Reviewed {
        response: AdmissionResponse::invalid(uid.clone(), message),
        judgement: Judgement::Invalid,
        judged_kind,
    };
    let mut after = match object {
        Some(object @ Value::Object(_)) => object,
        None | Some(Value::Null) => {
            return invalid("changelint: the AdmissionReview request has no object to check");
        }
        Some(_) => {
            return invalid(
                "changelint: the AdmissionReview request's object is not a JSON object",
            );
        }
    };
    let mut before = match (operation, old_object.filter(|old| !old.is_null())) {
        (Operation::Update, None) => {
            return invalid("changelint: an UPDATE AdmissionReview request must carry oldObject");
        }
        (Operation::Update, Some(old)) if !old.is_object() => {
            return invalid(
                "changelint: the AdmissionReview request's oldObject is not a JSON object",
            );
        }
        (Operation::Update, old) => old,
        _ => None,
    };
    // On CREATE with generateName the object has no name yet, and objects may arrive without
    // metadata.namespace (the namespace comes from the URL); the engine pairs, exempts and
    // skips by identity, so fill both in from the request.
    for value in std::iter::once(&mut after).chain(before.as_mut()) {
        fill_identity(value, namespace.as_deref(), name.as_deref());
    }
    if !judged_kind {
        return Reviewed {
            response: AdmissionResponse::allow(uid),
            judgement: Judgement::Skipped(Skip::Kind),
            judged_kind,
        };
    }
    let change = match changelint_policies::object_change(before, Some(after), policy) {
        Ok(change) => change,
        Err(misshapen) => {
            return invalid(&format!(
                "changelint: the object cannot be read: {misshapen}"
            ));
        }
    };
    let report = changelint_policies::check(&change, policy);
    render(uid, &report)
}

/// Sets `metadata.namespace` and `metadata.name` where the object lacks them.
fn fill_identity(value: &mut Value, namespace: Option<&str>, name: Option<&str>) {
    let Some(object) = value.as_object_mut() else {
        return;
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    for (key, given) in [("namespace", namespace), ("name", name)] {
        let missing = metadata
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if let Some(given) = given.filter(|g| !g.is_empty())
            && missing
        {
            metadata.insert(key.to_owned(), Value::String(given.to_owned()));
        }
    }
}

/// Turns the engine's report on a judged kind into the admission answer.
fn render(uid: String, report: &Report) -> Reviewed {
    let denials: Vec<&Finding> = report.denials().collect();
    let mut response = if denials.is_empty() {
        AdmissionResponse::allow(uid)
    } else {
        AdmissionResponse::deny(uid, deny_message(&denials))
    };
    let warnings: Vec<String> = report.warnings().map(finding_line).collect();
    response.warnings = bound_warnings(warnings);
    response.audit_annotations = audit_annotations(report);
    Reviewed {
        response,
        judgement: Judgement::Checked {
            verdict: report.verdict,
            findings: report
                .findings
                .iter()
                .map(|f| (f.rule, f.severity.as_str()))
                .collect(),
            exemptions: report.exemptions.clone(),
        },
        judged_kind: true,
    }
}

/// `rule: Kind namespace/name: message`, on one line.
fn finding_line(finding: &Finding) -> String {
    let object = &finding.object;
    let mut line = String::with_capacity(
        finding.rule.len() + object.kind.len() + object.name.len() + finding.message.len() + 64,
    );
    let namespace = object.namespace.as_deref();
    let parts = [finding.rule, ": ", &object.kind, " "]
        .into_iter()
        .chain(namespace.into_iter().flat_map(|namespace| [namespace, "/"]))
        .chain([object.name.as_str(), ": ", &finding.message]);
    for part in parts {
        line.push_str(&one_line(part));
    }
    line
}

/// The `status.message` of a denial: one line per deny finding, bounded.
fn deny_message(denials: &[&Finding]) -> String {
    let count = denials.len();
    let mut message = format!(
        "changelint: {count} finding{} block{} this change:",
        if count == 1 { "" } else { "s" },
        if count == 1 { "s" } else { "" },
    );
    let mut listed = 0;
    for finding in denials.iter().take(MAX_MESSAGE_FINDINGS) {
        let line = finding_line(finding);
        let line = truncate(&line, MAX_MESSAGE_LINE_BYTES);
        // Leave room for the closing lines.
        if message.len() + line.len() + 3 > MAX_MESSAGE_BYTES - 512 {
            break;
        }
        message.push_str("\n- ");
        message.push_str(&line);
        listed += 1;
    }
    if listed < count {
        let _ = write!(message, "\n- ... {} more", count - listed);
    }
    let rules = unique_rules(denials.iter().copied());
    let _ = write!(
        message,
        "\nFix: restore or declare the resources (`changelint explain {}`); to accept on purpose, annotate the object with changelint.dev/exempt: \"{}; reason=...; expires=YYYY-MM-DD\".",
        rules.first().copied().unwrap_or("RULE"),
        rules.join(",")
    );
    truncate(&message, MAX_MESSAGE_BYTES).into_owned()
}

/// Cuts each warning to [`MAX_WARNING_BYTES`] and all of them to
/// [`MAX_WARNINGS_TOTAL_BYTES`], ending with a `... N more` warning when some are left out.
pub fn bound_warnings(warnings: Vec<String>) -> Vec<String> {
    // Room kept for the closing "... N more" warning while more are to come.
    const MORE_ROOM: usize = 80;
    let total = warnings.len();
    let mut kept = Vec::new();
    let mut used = 0;
    for (index, warning) in warnings.into_iter().enumerate() {
        let warning = one_line(&warning);
        let warning = truncate(&warning, MAX_WARNING_BYTES).into_owned();
        let still_to_come = total - index - 1;
        let room = if still_to_come > 0 { MORE_ROOM } else { 0 };
        if used + warning.len() + room > MAX_WARNINGS_TOTAL_BYTES {
            kept.push(format!(
                "... {} more changelint warnings (see the audit log, or run changelint check)",
                total - index
            ));
            return kept;
        }
        used += warning.len();
        kept.push(warning);
    }
    kept
}

fn audit_annotations(report: &Report) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        if !value.is_empty() {
            annotations.insert(
                key.to_owned(),
                truncate(&value, MAX_ANNOTATION_BYTES).into_owned(),
            );
        }
    };
    put(AUDIT_VERDICT, report.verdict.as_str().to_owned());
    put(
        AUDIT_FINDINGS,
        unique_rules(report.findings.iter()).join(","),
    );
    put(
        AUDIT_EXEMPTIONS,
        report
            .exemptions
            .iter()
            .map(exemption_text)
            .collect::<Vec<_>>()
            .join("; "),
    );
    let mut changes = Vec::new();
    let mut patch = Vec::new();
    for workload in &report.impact.workloads {
        for change in &workload.changes {
            changes.push(
                [
                    &change.container,
                    " ",
                    change.class.as_str(),
                    " ",
                    &change.resource,
                    " ",
                    change.before.as_deref().unwrap_or("unset"),
                    " -> ",
                    change.after.as_deref().unwrap_or("unset"),
                ]
                .concat(),
            );
        }
        for operation in workload.patch.iter() {
            patch.push(patch_summary(operation));
        }
    }
    put(AUDIT_RESOURCE_CHANGES, join_bounded(&changes, ", "));
    put(AUDIT_PATCH, join_bounded(&patch, ", "));
    annotations
}

/// `rule by source (reason; expires date)`.
fn exemption_text(used: &ExemptionUse) -> String {
    let mut text = format!("{} by {}", used.rule, used.source);
    match (&used.reason, &used.expires) {
        (Some(reason), Some(expires)) => {
            let _ = write!(text, " ({}; expires {expires})", one_line(reason));
        }
        (Some(reason), None) => {
            let _ = write!(text, " ({})", one_line(reason));
        }
        (None, Some(expires)) => {
            let _ = write!(text, " (expires {expires})");
        }
        (None, None) => {}
    }
    text
}

/// `op path` of one patch operation, without its value.
fn patch_summary(operation: &json_patch::PatchOperation) -> String {
    use json_patch::PatchOperation as Op;
    match operation {
        Op::Add(op) => ["add ", op.path.as_str()].concat(),
        Op::Remove(op) => ["remove ", op.path.as_str()].concat(),
        Op::Replace(op) => ["replace ", op.path.as_str()].concat(),
        Op::Move(op) => ["move ", op.from.as_str(), " ", op.path.as_str()].concat(),
        Op::Copy(op) => ["copy ", op.from.as_str(), " ", op.path.as_str()].concat(),
        Op::Test(op) => ["test ", op.path.as_str()].concat(),
    }
}

/// Joins items with `sep` within [`MAX_ANNOTATION_BYTES`], ending with `... N more`.
fn join_bounded(items: &[String], sep: &str) -> String {
    let mut out = String::new();
    let mut count = itoa::Buffer::new();
    for (index, item) in items.iter().enumerate() {
        let left = count.format(items.len() - index);
        let more = [sep, "... ", left, " more"];
        let more_len: usize = more.iter().map(|part| part.len()).sum();
        let needed = if out.is_empty() { 0 } else { sep.len() } + item.len();
        if out.len() + needed + more_len > MAX_ANNOTATION_BYTES {
            if out.is_empty() {
                return truncate(item, MAX_ANNOTATION_BYTES).into_owned();
            }
            out.extend(more);
            return out;
        }
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(item);
    }
    out
}

fn unique_rules<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = Vec::new();
    for finding in findings {
        if !rules.contains(&finding.rule) {
            rules.push(finding.rule);
        }
    }
    rules
}

/// Replaces control characters (newlines, tabs) with spaces: warnings travel as HTTP headers.
fn one_line(text: &str) -> Cow<'_, str> {
    // Control characters are C0 (below 0x20), DEL, and C1 (0xC2 0x80..0x9F in UTF-8); text
    // without those bytes, nearly every message, is kept as it is.
    if !text.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// Cuts `text` to at most `max` bytes on a character boundary, ending with `…` when cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    const ELLIPSIS: &str = "…";
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub(ELLIPSIS.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{ELLIPSIS}", &text[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_replaces_every_control_character_and_keeps_the_rest() {
        let cases = [
            ("plain text, é ¢ ü", "plain text, é ¢ ü"),
            ("two\nlines\tand\r\u{7f}", "two lines and  "),
            // C1 controls share their first UTF-8 byte (0xC2) with signs such as ¢.
            ("next\u{85}line ¢\u{9f}", "next line ¢ "),
        ];
        for (text, expected) in cases {
            assert_eq!(one_line(text), expected, "{text:?}");
        }
        assert!(matches!(one_line("kept as is"), Cow::Borrowed(_)));
    }

    #[test]
    fn join_bounded_counts_what_it_leaves_out() {
        let items: Vec<String> = (0..200).map(|i| format!("replace /spec/{i:04}")).collect();
        let joined = join_bounded(&items, ", ");
        assert!(joined.len() <= MAX_ANNOTATION_BYTES, "{}", joined.len());
        let listed = joined.matches("replace").count();
        assert!(
            joined.ends_with(&format!(", ... {} more", 200 - listed)),
            "{joined}"
        );
        assert_eq!(
            join_bounded(&items[..2], ", "),
            "replace /spec/0000, replace /spec/0001"
        );
    }
}
