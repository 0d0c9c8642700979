//! The rule interface: each rule is one unit struct in `rules/`, listed once in the registry.

use crate::change::{ChangeSet, DeltaKind, Pair, ResourceDelta};
use crate::config::Policy;
use crate::finding::{Finding, Severity};
use crate::object::{Identity, Object};
use crate::podspec::lookup;
use crate::record::ChangeRecord;
use crate::resources::{Class, Slot};
use crate::yaml::escape_token;
use serde_json::Value;

/// A rule's fixed description: what users see in `changelint rules` and `explain`.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// The stable id users put in config (`limits-removed`).
    pub id: &'static str,
    /// The stable numeric code (`CL101`), grouped by family.
    pub code: &'static str,
    /// One line: what the rule catches.
    pub summary: &'static str,
    /// The headline severity (rules may grade below it; see the docs).
    pub severity: Severity,
    /// Markdown docs: `## What it does`, `## Why is this bad?`, `## Example`, `## Use instead`.
    pub docs: &'static str,
}

/// One check over a change set.
pub trait Rule: Sync {
    /// The rule's description.
    fn meta(&self) -> &'static RuleMeta;

    /// Appends the rule's findings, at the rule's own graded severities.
    fn check(&self, change: &ChangeSet, policy: &Policy, out: &mut Vec<Finding>);
}

/// Builds findings with the location filled in from the object.
pub struct FindingAt<'a> {
    /// The rule.
    pub meta: &'static RuleMeta,
    /// The object the finding is about.
    pub object: &'a Object,
}

impl FindingAt<'_> {
    /// A finding at `pointer` of the object.
    pub fn finding(
        &self,
        severity: Severity,
        pointer: &str,
        message: String,
        fix: String,
    ) -> Finding {
        let (file, line) = self.object.locate(pointer);
        Finding {
            rule: self.meta.id,
            severity,
            object: self.object.identity.clone(),
            file,
            line,
            pointer: pointer.to_owned(),
            message,
            before: None,
            after: None,
            fix,
            after_location: None,
        }
    }
}

impl Finding {
    /// Records where a removed value was removed in the after object: the line of its nearest
    /// sibling that survived (the next one first, so the deleted lines sat just above it), or of
    /// its nearest surviving parent.
    #[must_use]
    pub fn removed_from(mut self, before: &Object, after: Option<&Object>, pointer: &str) -> Self {
        // Only an object read from a file has a location to find (not an admission request's).
        self.after_location = after.filter(|a| a.origin.is_some()).and_then(|after| {
            let site = removal_site(before, after, pointer)?;
            match after.locate(&site) {
                (Some(file), line) => Some(crate::finding::Location { file, line }),
                (None, _) => None,
            }
        });
        self
    }

    /// Sets the before and after values shown by every output.
    #[must_use]
    pub fn values(mut self, before: Option<String>, after: Option<String>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// One limit or request that the change removed.
pub struct Removal<'a> {
    /// The object pair.
    pub pair: &'a Pair,
    /// The before side, where the removed value stood.
    pub before: &'a Object,
    /// The delta.
    pub delta: ResourceDelta<'a>,
    /// The removed slot.
    pub slot: &'a Slot,
}

impl Removal<'_> {
    /// A finding on the removed value's line, with its value and its removal site.
    pub fn finding(
        &self,
        meta: &'static RuleMeta,
        severity: Severity,
        message: String,
        fix: String,
    ) -> Finding {
        FindingAt {
            meta,
            object: self.before,
        }
        .finding(severity, &self.slot.pointer, message, fix)
        .values(Some(self.slot.raw.clone()), None)
        .removed_from(self.before, self.pair.after.as_ref(), &self.slot.pointer)
    }
}

/// Every limit (or request) the change removes, in checked pairs.
pub fn removals<'a>(change: &'a ChangeSet, policy: &'a Policy, class: Class) -> Vec<Removal<'a>> {
    let mut out = Vec::new();
    for pair in checked_pairs(change, policy) {
        let Some(before) = &pair.before else { continue };
        for delta in pair.resource_deltas() {
            if delta.kind != DeltaKind::Removed || delta.class != class {
                continue;
            }
            if let Some(slot) = delta.before {
                out.push(Removal {
                    pair,
                    before,
                    delta,
                    slot,
                });
            }
        }
    }
    out
}

/// Pairs the rules look at: changed, and not in a skipped namespace.
pub fn checked_pairs<'a>(
    change: &'a ChangeSet,
    policy: &'a Policy,
) -> impl Iterator<Item = &'a Pair> {
    change
        .pairs
        .iter()
        .filter(|p| p.changed() && !policy.skips(p.current().namespace()))
}

/// The identity findings about the change record itself carry.
pub fn record_identity(record: &ChangeRecord) -> Identity {
    Identity {
        api_version: String::new(),
        kind: "ChangeRecord".to_owned(),
        namespace: None,
        name: record.file.clone(),
    }
}

/// A finding located in the change record (file and line of the Markdown).
pub fn record_finding(
    meta: &'static RuleMeta,
    severity: Severity,
    object: Identity,
    record: &ChangeRecord,
    line: u32,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        rule: meta.id,
        severity,
        object,
        file: Some(record.file.as_str().into()),
        line: Some(line),
        pointer: String::new(),
        message,
        before: None,
        after: None,
        fix,
        after_location: None,
    }
}

/// Where the fix text of record findings sends the author.
pub const TEMPLATE_HINT: &str = "Start from the change-record template: `changelint record --template` (policies/change-record-template.md).";

/// The pointer, in `after`, that marks where `pointer` of `before` was removed.
fn removal_site(before: &Object, after: &Object, pointer: &str) -> Option<String> {
    let mut current = pointer.to_owned();
    loop {
        if lookup(&after.value, &current).is_some() {
            return Some(current);
        }
        let (parent, token) = current.rsplit_once('/')?;
        if let Some(Value::Object(siblings)) = lookup(&before.value, parent) {
            let keys: Vec<String> = siblings
                .keys()
                .map(|k| escape_token(k).into_owned())
                .collect();
            if let Some(index) = keys.iter().position(|k| k == token) {
                let next = keys[index + 1..].iter();
                let previous = keys[..index].iter().rev();
                if let Some(site) = next
                    .chain(previous)
                    .map(|k| format!("{parent}/{k}"))
                    .find(|p| lookup(&after.value, p).is_some())
                {
                    return Some(site);
                }
            }
        }
        let parent_len = parent.len();
        current.truncate(parent_len);
    }
}
