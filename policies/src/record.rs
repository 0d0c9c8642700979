//! The change record: the Markdown document (a PR description, a change
//! ticket, a KEP-style design record) that accompanies an infrastructure
//! change.
//!
//! Why this module exists: the lint has to answer questions such as "does the
//! record have a *Resource Impact* section, and did the author actually fill
//! it in?". Doing that with regular expressions over raw Markdown goes wrong
//! in exactly the places that matter: a `## Resource Impact` line inside a
//! fenced code block or an HTML comment (templates are full of those) is not
//! a heading, a setext underline *is* one, and a section whose only body is
//! the template's `<!-- describe the impact -->` prompt has not been filled
//! in. So the record is parsed with a real `CommonMark` parser
//! (pulldown-cmark) into a flat list of [`Section`]s, each carrying its
//! heading, its source lines and its *meaningful prose* — paragraphs, list
//! items, table cells and inline code, but not code blocks, HTML blocks or
//! comments, nor link reference definitions.
//!
//! On top of that the module offers the small text predicates the rules need
//! ([`is_placeholder_text`], [`declares_no_change`], [`mentioned`]) and a
//! reader for the pull-request body in a GitHub event payload
//! ([`pull_request_body`]).
//!
//! Nothing here can fail on Markdown input: Markdown has no syntax errors,
//! every input is some document.

use std::collections::HashMap;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use crate::config::RecordPolicy;

/// The change-record template that passes every record rule (`changelint record --template`).
pub const TEMPLATE: &str = include_str!("../change-record-template.md");

/// Whether a required section is there and says something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionState {
    /// There, with content.
    Present,
    /// No such heading.
    Missing,
    /// A heading with only a placeholder (N/A, TBD, a template comment).
    Placeholder,
    /// There, but it does not cover a resource change the diff makes.
    Undeclared,
}

/// One required section of a record and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionStatus {
    /// The section's name as the policy spells it first.
    pub name: String,
    /// Its state.
    pub state: SectionState,
    /// The heading's line, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// The record's required sections (Resource Impact, then the policy's `requiredSections`).
pub fn required_sections(record: &ChangeRecord, policy: &RecordPolicy) -> Vec<SectionStatus> {
    let mut wanted: Vec<Vec<String>> = vec![policy.resource_impact.clone()];
    wanted.extend(policy.required_sections.iter().map(|s| vec![s.clone()]));
    wanted
        .into_iter()
        .filter(|names| !names.is_empty())
        .map(|names| {
            let found = record.find(&names);
            let state = match found {
                None => SectionState::Missing,
                Some(s) if s.is_placeholder() => SectionState::Placeholder,
                Some(_) => SectionState::Present,
            };
            SectionStatus {
                name: names[0].clone(),
                state,
                line: found.map(|s| s.line),
            }
        })
        .collect()
}

/// A parsed change record: its sections in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The file (or other origin, such as `pull_request.body`) the record came from.
    pub file: String,
    /// Every heading of the document, in order, with the prose beneath it.
    pub sections: Vec<Section>,
}

/// One heading and the body that belongs to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Heading text: inline markup flattened, trimmed, a trailing `:` removed.
    pub title: String,
    /// Heading level, `1..=6`.
    pub level: u8,
    /// 1-based line of the heading (for a setext heading: its text line).
    pub line: u32,
    /// The section's meaningful prose, one block (paragraph, list item, table
    /// cell) per line: paragraphs, list items, table cells and inline code,
    /// excluding code blocks, HTML blocks, HTML comments and link reference
    /// definitions. Text of subsections is included; their titles are not.
    pub text: String,
    /// Last non-blank line of the section body (the heading's own last line
    /// when the body is empty). The body runs until the next heading of the
    /// same or a higher level.
    pub end_line: u32,
}

/// Errors reading a pull-request body out of a GitHub event payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The payload is not valid JSON, or a field has the wrong type.
    #[error("invalid event payload at line {line}, column {column}: {message}")]
    InvalidJson {
        /// 1-based line of the error in the payload.
        line: usize,
        /// 1-based column of the error in the payload.
        column: usize,
        /// What the JSON parser reported.
        message: String,
    },
    /// The payload has no `pull_request` object (not a pull-request event).
    #[error("event payload has no `pull_request` object (not a pull_request event?)")]
    MissingPullRequest,
}

impl ChangeRecord {
    /// Parses `markdown` into its sections. Never fails: every string is a
    /// Markdown document. `file` is recorded for findings only.
    pub fn parse(file: &str, markdown: &str) -> ChangeRecord {
        // CommonMark takes a leading byte order mark for text, which made the first heading a
        // paragraph; every reader of a record comes through here. It ends no line, so line
        // numbers stay those of the file.
        let markdown = markdown.strip_prefix('\u{feff}').unwrap_or(markdown);
        let lines = LineIndex::new(markdown);
        let mut builder = Builder::default();
        let options =
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
        for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
            builder.event(event, range.start, range.end, &lines);
        }
        builder.flush();
        let mut sections = builder.sections;
        finish_end_lines(&mut sections, &builder.heading_last_lines, &lines);
        ChangeRecord {
            file: file.to_string(),
            sections,
        }
    }

    /// The first section whose normalized title equals one of the normalized
    /// `names`. Normalization lower-cases, collapses whitespace, strips a
    /// trailing `:`, surrounding `*`/`_`/`` ` `` emphasis and a leading
    /// numbering such as `1.`, `4.2` or `3)`.
    pub fn find(&self, names: &[String]) -> Option<&Section> {
        let wanted: Vec<String> = names.iter().map(|n| normalize_title(n)).collect();
        self.sections
            .iter()
            .find(|s| wanted.contains(&normalize_title(&s.title)))
    }

    /// The text of the first level-1 heading, if any.
    pub fn title(&self) -> Option<&str> {
        self.sections
            .iter()
            .find(|s| s.level == 1)
            .map(|s| s.title.as_str())
    }
}

impl Section {
    /// True when the section has no content beyond template placeholders
    /// (see [`is_placeholder_text`]).
    pub fn is_placeholder(&self) -> bool {
        is_placeholder_text(&self.text)
    }
}

/// Maps byte offsets to 1-based line numbers and knows which lines are blank.
struct LineIndex {
    starts: Vec<usize>,
    blank: Vec<bool>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        let mut blank = Vec::new();
        for line in text.split('\n') {
            blank.push(line.trim().is_empty());
        }
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        // A final newline does not start a line of its own.
        if text.ends_with('\n') {
            starts.pop();
            blank.pop();
        }
        LineIndex { starts, blank }
    }

    /// 1-based line containing byte `offset`.
    fn line_of(&self, offset: usize) -> u32 {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        u32::try_from(idx + 1).unwrap_or(u32::MAX)
    }

    fn count(&self) -> u32 {
        u32::try_from(self.starts.len()).unwrap_or(u32::MAX)
    }

    fn is_blank(&self, line: u32) -> bool {
        let idx = (line as usize).saturating_sub(1);
        self.blank.get(idx).copied().unwrap_or(true)
    }
}

/// Event-driven collector of sections and their prose.
#[derive(Default)]
struct Builder {
    sections: Vec<Section>,
    /// Last line of each heading (setext headings span two lines).
    heading_last_lines: Vec<u32>,
    /// Indices into `sections` of the sections still open.
    open: Vec<usize>,
    /// Title being collected while inside a heading.
    heading: Option<String>,
    /// Depth inside blocks whose content is not prose (code, HTML blocks).
    skip_depth: usize,
    /// Prose of the block being read.
    buf: String,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, start: usize, end: usize, lines: &LineIndex) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                self.flush();
                let level = heading_level(level);
                while let Some(&top) = self.open.last() {
                    if self.sections.get(top).is_some_and(|s| s.level >= level) {
                        self.open.pop();
                    } else {
                        break;
                    }
                }
                let line = lines.line_of(start);
                // The range ends after the heading's line break (if any).
                let last = lines.line_of(end.saturating_sub(1).max(start));
                self.sections.push(Section {
                    title: String::new(),
                    level,
                    line,
                    text: String::new(),
                    end_line: line,
                });
                self.heading_last_lines.push(last.max(line));
                self.open.push(self.sections.len() - 1);
                self.heading = Some(String::new());
            }
            Event::End(TagEnd::Heading(_)) => {
                if let (Some(title), Some(section)) =
                    (self.heading.take(), self.sections.last_mut())
                {
                    section.title = clean_title(&title);
                }
            }
            Event::Start(Tag::CodeBlock(_) | Tag::HtmlBlock | Tag::MetadataBlock(_)) => {
                self.flush();
                self.skip_depth += 1;
            }
            Event::End(TagEnd::CodeBlock | TagEnd::HtmlBlock | TagEnd::MetadataBlock(_)) => {
                self.skip_depth = self.skip_depth.saturating_sub(1);
            }
            Event::Start(
                Tag::Paragraph
                | Tag::Item
                | Tag::TableCell
                | Tag::BlockQuote(_)
                | Tag::List(_)
                | Tag::Table(_)
                | Tag::TableHead
                | Tag::TableRow
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionList
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition,
            )
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_)
                | TagEnd::List(_)
                | TagEnd::Table
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionList
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            )
            | Event::HardBreak
            | Event::Rule => self.flush(),
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.push_inline(&t);
            }
            Event::SoftBreak => self.push_inline(" "),
            Event::TaskListMarker(checked) => {
                self.push_inline(if checked { "[x] " } else { "[ ] " });
            }
            // Inline HTML (comments included), HTML in HTML blocks, footnote
            // references and the remaining tags carry no prose.
            _ => {}
        }
    }

    fn push_inline(&mut self, text: &str) {
        if let Some(title) = self.heading.as_mut() {
            title.push_str(text);
        } else if self.skip_depth == 0 {
            self.buf.push_str(text);
        }
    }

    /// Ends the current block: its prose becomes one line of every open section.
    fn flush(&mut self) {
        let piece = self.buf.trim().to_string();
        self.buf.clear();
        if piece.is_empty() {
            return;
        }
        for &idx in &self.open {
            if let Some(section) = self.sections.get_mut(idx) {
                if !section.text.is_empty() {
                    section.text.push('\n');
                }
                section.text.push_str(&piece);
            }
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Heading text: whitespace collapsed, trimmed, trailing `:` removed.
fn clean_title(raw: &str) -> String {
    let collapsed = collapse_whitespace(raw);
    collapsed.trim_end_matches(':').trim_end().to_string()
}

/// Sets each section's `end_line`: the last non-blank line before the next
/// heading of the same or a higher level (or the end of the document).
fn finish_end_lines(sections: &mut [Section], heading_last: &[u32], lines: &LineIndex) {
    let starts: Vec<(u8, u32)> = sections.iter().map(|s| (s.level, s.line)).collect();
    for (i, section) in sections.iter_mut().enumerate() {
        let next = starts
            .iter()
            .skip(i + 1)
            .find(|(level, _)| *level <= section.level)
            .map_or(lines.count(), |(_, line)| line.saturating_sub(1));
        let floor = heading_last
            .get(i)
            .copied()
            .unwrap_or(section.line)
            .max(section.line);
        let mut end = next.max(floor);
        while end > floor && lines.is_blank(end) {
            end -= 1;
        }
        section.end_line = end;
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Strips emphasis/code wrappers (`**x**`, `_x_`, `` `x` ``) around the whole string.
fn strip_wrappers(s: &str) -> &str {
    let mut t = s.trim();
    loop {
        let before = t;
        for w in ["**", "__", "*", "_", "`", "~~"] {
            if t.len() > 2 * w.len() && t.starts_with(w) && t.ends_with(w) {
                t = t.get(w.len()..t.len() - w.len()).unwrap_or(t).trim();
            }
        }
        if t == before {
            return t;
        }
    }
}

/// Removes a leading section number such as `1.`, `4.2`, `4.2.` or `3)`.
fn strip_numbering(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut group_len = 0;
    let mut groups = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_digit() {
            group_len += 1;
            if group_len > 3 {
                return s;
            }
        } else if b == b'.' && group_len > 0 {
            groups += 1;
            group_len = 0;
        } else {
            break;
        }
        i += 1;
    }
    if group_len > 0 {
        groups += 1;
    }
    if groups == 0 {
        return s;
    }
    if bytes.get(i) == Some(&b')') {
        i += 1;
    }
    match s.get(i..) {
        Some(rest) if rest.starts_with(char::is_whitespace) && !rest.trim().is_empty() => {
            rest.trim_start()
        }
        _ => s,
    }
}

/// Normalized form of a section title for comparisons (see [`ChangeRecord::find`]).
pub fn normalize_title(title: &str) -> String {
    let mut t = collapse_whitespace(&title.to_lowercase());
    loop {
        let before = t.clone();
        let stripped = strip_wrappers(t.trim().trim_end_matches(':').trim_end());
        let stripped = strip_numbering(stripped);
        t = stripped.to_string();
        if t == before {
            return t;
        }
    }
}

/// Removes `<!-- ... -->` spans (an unterminated comment runs to the end).
fn remove_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((head, tail)) = rest.split_once("<!--") {
        out.push_str(head);
        match tail.split_once("-->") {
            Some((_, after)) => rest = after,
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Strips Markdown list, quote and ordered-list markers from the start of a line.
fn strip_line_markers(line: &str) -> &str {
    let mut t = line.trim();
    loop {
        let before = t;
        for marker in ["- ", "* ", "+ ", "> "] {
            if let Some(rest) = t.strip_prefix(marker) {
                t = rest.trim_start();
            }
        }
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let numbered = if (1..=3).contains(&digits) {
            t.get(digits..)
                .and_then(|r| r.strip_prefix(". ").or_else(|| r.strip_prefix(") ")))
        } else {
            None
        };
        if let Some(rest) = numbered {
            t = rest.trim_start();
        }
        if t == before {
            return t;
        }
    }
}

/// Tokens that stand for "nothing written here".
const PLACEHOLDER_TOKENS: &[&str] = &[
    "",
    "n/a",
    "na",
    "n.a",
    "n. a",
    "not applicable",
    "tbd",
    "tba",
    "tbc",
    "todo",
    "none",
    "nil",
    "null",
    "-",
    "--",
    "—",
    "–",
    "...",
    "…",
    "no",
    "nothing",
    "[ ]",
    "[]",
    "?",
];

/// Openings of template instructions ("Describe the change", "Please explain ...").
const PROMPT_OPENINGS: &[&str] = &[
    "describe ",
    "explain ",
    "please describe",
    "please explain",
    "please provide",
    "please fill",
    "please list",
    "please add",
    "please include",
    "please enter",
    "fill in",
    "fill me in",
    "fill this",
    "fill out",
    "replace this",
    "replace me",
    "insert ",
    "enter ",
    "summarize ",
    "summarise ",
    "provide ",
    "add a description",
    "list any ",
    "list all ",
    "e.g.",
    "todo:",
    "tbd:",
];

fn is_prompt(lower: &str) -> bool {
    let t = lower.trim();
    PROMPT_OPENINGS
        .iter()
        .any(|p| t.starts_with(p) || t == p.trim_end())
}

/// Is one line of prose (or raw Markdown) a placeholder?
fn is_placeholder_line(line: &str) -> bool {
    let t = strip_wrappers(strip_line_markers(line));
    let lower = t.to_lowercase();
    let token = lower.trim_end_matches(['.', '!', ':']).trim();
    if PLACEHOLDER_TOKENS.contains(&token) {
        return true;
    }
    let wrapped =
        |open: char, close: char| t.starts_with(open) && t.ends_with(close) && t.len() > 1;
    if wrapped('<', '>') || (wrapped('[', ']') && !lower.starts_with("[x]")) {
        return true;
    }
    if wrapped('(', ')') && is_prompt(lower.trim_start_matches('(')) {
        return true;
    }
    // A template instruction or a bare question asks for content, it is none.
    is_prompt(&lower) || lower.ends_with('?')
}

/// True when `text` is empty or made only of placeholders: `N/A`, `TBD`,
/// `TODO`, `none`, `-`, `...`, `no`, `nothing`, HTML comments, a bare
/// unchecked checkbox (`- [ ]`), text entirely wrapped in `<...>` or `[...]`,
/// template instructions (`_Describe the change_`, `Please explain ...`) and
/// bare questions. Works on section text and on raw Markdown alike; each line
/// is judged on its own and all must be placeholders. A real sentence such as
/// "None of the pods change" is content.
pub fn is_placeholder_text(text: &str) -> bool {
    remove_html_comments(text).lines().all(is_placeholder_line)
}

/// Which of `names` the text mentions, in one pass over it: a case-insensitive (ASCII)
/// search for each name as a whole token. `-` and `_` count as part of names, so
/// `log-shipper` is mentioned by "the `log-shipper` agent" and "ns/log-shipper." but not by
/// "log-shipper-v2" or "my-log-shipper". An empty name is never mentioned.
///
/// One automaton over every name rather than a scan of the text per name: a record that
/// names each of thousands of changed workloads made the scans quadratic.
pub fn mentioned(text: &str, names: &[&str]) -> Vec<bool> {
    // Each distinct name (ignoring ASCII case) is searched once: many workloads share a
    // directory or a file stem, and a pattern per occurrence multiplied the matches.
    let mut distinct: Vec<String> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let pattern_of: Vec<Option<usize>> = names
        .iter()
        .map(|name| {
            (!name.is_empty()).then(|| {
                let key = name.to_ascii_lowercase();
                *index_of.entry(key).or_insert_with_key(|key| {
                    distinct.push(key.clone());
                    distinct.len() - 1
                })
            })
        })
        .collect();
    let mut found = vec![false; distinct.len()];
    let automaton = |patterns: &[String]| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(patterns)
    };
    match automaton(&distinct) {
        Ok(all) => mark_mentions(&all, text, |pattern| pattern, &mut found),
        // Past the automaton's size limit (far beyond any real change): one name at a time.
        Err(_) => {
            for (pattern, name) in distinct.iter().enumerate() {
                if let Ok(one) = automaton(std::slice::from_ref(name)) {
                    mark_mentions(&one, text, |_| pattern, &mut found);
                }
            }
        }
    }
    pattern_of
        .into_iter()
        .map(|pattern| pattern.is_some_and(|p| found[p]))
        .collect()
}

/// Marks `found[name_of(pattern)]` for every match of `automaton` in `text` that stands as a
/// whole token.
fn mark_mentions(
    automaton: &aho_corasick::AhoCorasick,
    text: &str,
    name_of: impl Fn(usize) -> usize,
    found: &mut [bool],
) {
    let is_name_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    for hit in automaton.find_overlapping_iter(text) {
        let (Some(before), Some(after)) = (text.get(..hit.start()), text.get(hit.end()..)) else {
            continue;
        };
        if !before.chars().next_back().is_some_and(is_name_char)
            && !after.chars().next().is_some_and(is_name_char)
        {
            found[name_of(hit.pattern().as_usize())] = true;
        }
    }
}

/// Splits prose into sentences: lines, `;`, and `.`/`!`/`?` followed by a space.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut current = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            let ends = c == ';'
                || (matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()));
            if ends {
                out.push(std::mem::take(&mut current));
            } else {
                current.push(c);
            }
        }
        out.push(current);
    }
    out
}

/// Lower-cased words of a sentence with list markers, emphasis and edge punctuation removed.
fn words(sentence: &str) -> Vec<String> {
    strip_wrappers(strip_line_markers(sentence))
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| ",.;:!?()\"'*_`[]<>".contains(c))
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Does a word list say "no resource change"?
fn says_no_change(words: &[String]) -> bool {
    const WHOLE: &[&str] = &[
        "n/a",
        "na",
        "n.a",
        "none",
        "nothing",
        "no",
        "not applicable",
        "unchanged",
        "none expected",
        "no change",
        "no changes",
    ];
    let joined = words.join(" ");
    if WHOLE.contains(&joined.as_str()) {
        return true;
    }
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    // "there is/are no ..." reads like "no ...".
    let rest: &[&str] = match w.as_slice() {
        ["there", "is" | "are" | "will" | "should", tail @ ..] => {
            let tail = tail.strip_prefix(&["be"]).unwrap_or(tail);
            match tail {
                ["no", tail @ ..] => tail,
                _ => return false,
            }
        }
        ["no", tail @ ..] => tail,
        _ => return false,
    };
    let mut i = 0;
    let take = |i: &mut usize, options: &[&str]| {
        if rest.get(*i).is_some_and(|w| options.contains(w)) {
            *i += 1;
            true
        } else {
            false
        }
    };
    take(&mut i, &["other", "additional", "further", "new"]);
    take(&mut i, &["resource", "resources", "capacity"]);
    take(
        &mut i,
        &["usage", "consumption", "requirement", "requirements"],
    );
    if !take(&mut i, &["impact", "impacts", "change", "changes"]) {
        return false;
    }
    take(&mut i, &["expected"]);
    if i == rest.len() {
        return true;
    }
    // "no changes to (the) resources", "no impact on resource usage"
    if !take(&mut i, &["to", "in", "on", "for"]) {
        return false;
    }
    take(&mut i, &["the", "any"]);
    take(&mut i, &["container", "pod", "workload"]);
    if !take(&mut i, &["resource", "resources", "capacity"]) {
        return false;
    }
    take(
        &mut i,
        &["usage", "requests", "limits", "consumption", "requirements"],
    );
    take(&mut i, &["expected"]);
    i == rest.len()
}

/// True when `text` states that there is no resource change: "N/A", "none",
/// "no resource changes", "no other resource changes", "no changes to
/// resources", "no impact", "no resource impact", "there are no resource
/// changes" ... (case-insensitive), either as the whole text or as one of its
/// sentences. A sentence that merely contains such words ("no impact on the
/// API, but memory doubles") does not count.
pub fn declares_no_change(text: &str) -> bool {
    let text = remove_html_comments(text);
    if says_no_change(&words(&text)) {
        return true;
    }
    sentences(&text).iter().any(|s| says_no_change(&words(s)))
}

#[derive(Deserialize)]
struct EventPayload {
    pull_request: Option<PullRequest>,
}

#[derive(Deserialize)]
struct PullRequest {
    body: Option<String>,
}

/// Reads `pull_request.body` from a GitHub event payload (the file named by
/// `$GITHUB_EVENT_PATH`). A `null` or absent body is an empty string.
pub fn pull_request_body(event_json: &str) -> Result<String, RecordError> {
    let payload: EventPayload =
        serde_json::from_str(event_json).map_err(|e| RecordError::InvalidJson {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    let pr = payload
        .pull_request
        .ok_or(RecordError::MissingPullRequest)?;
    Ok(pr.body.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/records/");

    fn fixture(name: &str) -> ChangeRecord {
        let path = format!("{RECORDS}{name}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        ChangeRecord::parse(name, &text)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    fn resource_impact(md: &str) -> Option<Section> {
        ChangeRecord::parse("t.md", md)
            .find(&names(&["Resource Impact"]))
            .cloned()
    }

    #[test]
    fn finds_resource_impact_heading_variants() {
        // (markdown, expected (title, level, line))
        type Expected = Option<(&'static str, u8, u32)>;
        let cases: &[(&str, Expected)] = &[
            (
                "## Resource impact\nAdds 256Mi.\n",
                Some(("Resource impact", 2, 1)),
            ),
            (
                "# T\n\n### RESOURCE IMPACT:\nx\n",
                Some(("RESOURCE IMPACT", 3, 3)),
            ),
            (
                "intro\n\nResource Impact\n---------------\nx\n",
                Some(("Resource Impact", 2, 3)),
            ),
            ("Resource Impact\n===\nx\n", Some(("Resource Impact", 1, 1))),
            (
                "## Resource Impact ##\nx\n",
                Some(("Resource Impact", 2, 1)),
            ),
            (
                "## **Resource Impact**:\nx\n",
                Some(("Resource Impact", 2, 1)),
            ),
            (
                "## `Resource` _Impact_\nx\n",
                Some(("Resource Impact", 2, 1)),
            ),
            (
                "## 4. Resource Impact\nx\n",
                Some(("4. Resource Impact", 2, 1)),
            ),
            (
                "## 4.2 Resource Impact\nx\n",
                Some(("4.2 Resource Impact", 2, 1)),
            ),
            (
                "#### 3) resource   impact :\nx\n",
                Some(("3) resource impact", 4, 1)),
            ),
            // Not headings:
            ("**Resource Impact**\nSomething\n", None),
            ("**Resource Impact**:\n\nSomething\n", None),
            ("```\n## Resource Impact\n```\n", None),
            ("~~~yaml\nResource Impact\n---\n~~~\n", None),
            ("<!--\n## Resource Impact\n-->\n", None),
            ("<!-- ## Resource Impact -->\n", None),
            ("    ## Resource Impact\n", None),
            ("##Resource Impact\n", None),
            ("## Resource Impact Assessment\nx\n", None),
        ];
        for (md, expected) in cases {
            let found = resource_impact(md);
            let got = found.as_ref().map(|s| (s.title.as_str(), s.level, s.line));
            assert_eq!(got, *expected, "markdown: {md:?}");
        }
    }

    #[test]
    fn find_normalizes_both_sides_and_takes_the_first_match() {
        let record = ChangeRecord::parse(
            "t.md",
            "# Change\n## Summary\nx\n## Resource Impact\nfirst\n## resource impact\nsecond\n",
        );
        let found = record.find(&names(&["nope", "**RESOURCE  impact:**"]));
        assert_eq!(found.map(|s| s.line), Some(4));
        assert!(record.find(&names(&["impact"])).is_none());
        assert!(record.find(&[]).is_none());
        assert_eq!(record.title(), Some("Change"));
        assert_eq!(ChangeRecord::parse("t.md", "## Only H2\n").title(), None);
    }

    #[test]
    fn normalize_title_cases() {
        let cases = [
            ("Resource Impact", "resource impact"),
            ("  Resource\tImpact: ", "resource impact"),
            ("**Resource Impact**:", "resource impact"),
            ("_Resource Impact_", "resource impact"),
            ("`Resource Impact`", "resource impact"),
            ("4. Resource Impact", "resource impact"),
            ("4.2 Resource Impact", "resource impact"),
            ("4.2. Resource Impact", "resource impact"),
            ("1) Resource Impact", "resource impact"),
            ("2024 Roadmap", "2024 roadmap"),
            ("4.", "4."),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_title(input), expected, "input: {input:?}");
        }
    }

    #[test]
    fn placeholder_sections() {
        // (body under "## Resource Impact", is placeholder)
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("N/A", true),
            ("n/a", true),
            ("NA", true),
            ("TBD", true),
            ("TODO", true),
            ("None.", true),
            ("none", true),
            ("-", true),
            ("—", true),
            ("...", true),
            ("no", true),
            ("Nothing.", true),
            ("<!-- fill in -->", true),
            ("<!--\nDescribe the CPU/memory impact.\n-->\n", true),
            ("- [ ]", true),
            ("- [ ]\n- [ ]", true),
            ("<describe the impact on CPU and memory>", true),
            ("[describe here]", true),
            ("_Describe the change_", true),
            ("*Please describe the resource impact.*", true),
            ("Does this change CPU or memory usage?", true),
            (
                "```yaml\nresources:\n  limits:\n    memory: 256Mi\n```",
                true,
            ),
            ("    indented code only", true),
            ("[ref]: https://example.com", true),
            ("<details>\n<summary>x</summary>\n</details>", true),
            ("N/A\n\n<!-- template -->\n\nTBD", true),
            // Content:
            ("None of the DaemonSets change", false),
            ("No resource changes.", false),
            ("Removes the memory limit of `log-shipper`.", false),
            ("- [ ] log-shipper limits removed", false),
            ("- [x] Reviewed", false),
            (
                "| workload | memory |\n|---|---|\n| log-shipper | 256Mi -> none |",
                false,
            ),
            ("`log-shipper`", false),
            ("N/A\n\nlog-shipper memory limit removed", false),
        ];
        for (body, expected) in cases {
            let md = format!("## Resource Impact\n\n{body}\n");
            let section = resource_impact(&md).expect("section found");
            assert_eq!(
                section.is_placeholder(),
                *expected,
                "body: {body:?} text: {:?}",
                section.text
            );
        }
    }

    #[test]
    fn raw_placeholder_text() {
        assert!(is_placeholder_text(""));
        assert!(is_placeholder_text("  \n\t\n"));
        assert!(is_placeholder_text("- N/A\n* TBD\n1. todo"));
        assert!(is_placeholder_text("<!-- unterminated comment"));
        assert!(is_placeholder_text("(fill me in with the impact)"));
        assert!(!is_placeholder_text("(no limits on the sidecar)"));
        assert!(!is_placeholder_text("Noted: memory doubles"));
        assert!(!is_placeholder_text("none of the pods restart"));
    }

    #[test]
    fn section_text_selects_prose_only() {
        let md = "\
# Change
intro
## Resource Impact
Paragraph one
continues here.

- item `log-shipper`
- [ ] unchecked

| a | b |
|---|---|
| cell1 | cell2 |

```yaml
limits: {}
```

    indented code

<!-- hidden comment -->
<div>html block</div>

[ref]: https://example.com/x

Inline <!-- c --> kept **bold** ~~struck~~ [link text](https://x) ![alt](i.png).
### Memory
sub text
## Rollback
revert
";
        let record = ChangeRecord::parse("t.md", md);
        let section = record.find(&names(&["resource impact"])).expect("found");
        assert_eq!(
            section.text,
            "Paragraph one continues here.\nitem log-shipper\n[ ] unchecked\na\nb\ncell1\ncell2\n\
             Inline  kept bold struck link text alt.\nsub text"
        );
        assert_eq!((section.line, section.end_line), (3, 27));
        let memory = record.find(&names(&["memory"])).expect("found");
        assert_eq!((memory.level, memory.line, memory.end_line), (3, 26, 27));
        assert_eq!(memory.text, "sub text");
        let rollback = record.find(&names(&["rollback"])).expect("found");
        assert_eq!(
            (rollback.line, rollback.end_line, rollback.text.as_str()),
            (28, 29, "revert")
        );
        let top = record.find(&names(&["change"])).expect("found");
        assert_eq!(top.end_line, 29);
        assert!(top.text.starts_with("intro\nParagraph one"));
        assert!(top.text.ends_with("sub text\nrevert"));
    }

    #[test]
    fn subsection_content_counts_for_the_parent() {
        let md =
            "## Resource Impact\n<!-- describe -->\n### Memory\nlog-shipper: +128Mi\n## Next\nx\n";
        let section = resource_impact(md).expect("found");
        assert!(!section.is_placeholder());
        assert_eq!(section.text, "log-shipper: +128Mi");
        assert_eq!(section.end_line, 4);
        // A subsection heading alone does not count as content.
        let md = "## Resource Impact\n### Memory\nN/A\n### CPU\n\n## Next\nx\n";
        let section = resource_impact(md).expect("found");
        assert!(section.is_placeholder(), "text: {:?}", section.text);
        assert_eq!(section.end_line, 4);
    }

    #[test]
    fn empty_and_blank_documents() {
        assert!(ChangeRecord::parse("e.md", "").sections.is_empty());
        assert!(ChangeRecord::parse("e.md", "\n\n  \n").sections.is_empty());
        let record = ChangeRecord::parse("e.md", "## Resource Impact");
        let section = record.sections.first().expect("one section");
        assert_eq!(
            (section.line, section.end_line, section.text.as_str()),
            (1, 1, "")
        );
        let record = ChangeRecord::parse("e.md", "Title\r\n=====\r\n\r\nbody\r\n\r\n");
        let section = record.sections.first().expect("one section");
        assert_eq!(
            (section.title.as_str(), section.line, section.end_line),
            ("Title", 1, 4)
        );
    }

    #[test]
    fn kubernetes_pr_template_has_no_headings() {
        // Its labels are bold paragraphs ("**Release note**:"), not headings;
        // the headings inside its HTML comments do not count either.
        let record = fixture("kubernetes__PULL_REQUEST_TEMPLATE.md");
        assert!(record.sections.is_empty(), "{:?}", record.sections);
        assert_eq!(record.title(), None);
    }

    #[test]
    fn rust_rfc_template_sections() {
        let record = fixture("rust-lang-rfcs__0000-template.md");
        let got: Vec<(&str, u8, u32)> = record
            .sections
            .iter()
            .map(|s| (s.title.as_str(), s.level, s.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Summary", 2, 6),
                ("Motivation", 2, 11),
                ("Guide-level explanation", 2, 22),
                ("Reference-level explanation", 2, 36),
                ("Drawbacks", 2, 47),
                ("Rationale and alternatives", 2, 52),
                ("Prior art", 2, 60),
                ("Unresolved questions", 2, 77),
                ("Future possibilities", 2, 84),
            ]
        );
        let summary = record.find(&names(&["summary"])).expect("summary");
        // The link reference definition under the heading is not prose.
        assert_eq!(summary.text, "One paragraph explanation of the feature.");
        assert_eq!(summary.end_line, 9);
        // "Why should we *not* do this?" only asks a question.
        assert!(
            record
                .find(&names(&["Drawbacks"]))
                .expect("drawbacks")
                .is_placeholder()
        );
        assert!(!summary.is_placeholder());
        assert_eq!(record.sections.last().map(|s| s.end_line), Some(103));
    }

    #[test]
    fn kep_template_sections() {
        let record = fixture("kubernetes-enhancements__kep-template-README.md");
        // The checklist and headings inside the leading HTML comment are not sections.
        assert_eq!(record.sections.first().map(|s| s.line), Some(68));
        assert_eq!(
            record.title(),
            Some("KEP-NNNN: Your short, descriptive title")
        );
        let prr = record
            .find(&names(&["Production Readiness Review Questionnaire"]))
            .expect("PRR");
        assert_eq!((prr.level, prr.line), (2, 453));
        let scalability = record.find(&names(&["Scalability"])).expect("Scalability");
        assert_eq!((scalability.level, scalability.line), (3, 677));
        assert!(scalability.line > prr.line && scalability.end_line <= prr.end_line);
        assert_eq!(scalability.end_line, 763);
        // Every question under it is answered only by template comments.
        assert!(scalability.is_placeholder(), "text: {:?}", scalability.text);
        let usage = record
            .sections
            .iter()
            .find(|s| {
                s.title
                    .contains("non-negligible increase of resource usage")
            })
            .expect("resource usage question");
        assert_eq!((usage.level, usage.line), (6, 741));
        assert!(usage.line > scalability.line && usage.end_line <= scalability.end_line);
        assert_eq!(
            record
                .sections
                .iter()
                .filter(|s| s.title == "Scalability")
                .count(),
            1
        );
    }

    #[test]
    fn filled_keps_answer_the_resource_question() {
        let question = "Will enabling / using this feature result in non-negligible increase of \
                        resource usage (CPU, RAM, disk, IO, ...) in any components?";
        let answered_no =
            fixture("kubernetes-enhancements__kep-1967-size-memory-backed-volumes-README.md");
        let section = answered_no
            .find(&names(&[question]))
            .expect("question in KEP-1967");
        assert_eq!(
            (section.level, section.line, section.text.as_str()),
            (4, 363, "No")
        );
        assert!(declares_no_change(&section.text));

        let answered = fixture("kubernetes-enhancements__kep-4210-max-image-gc-age-README.md");
        let section = answered
            .find(&names(&[question]))
            .expect("question in KEP-4210");
        assert_eq!(section.line, 347);
        assert!(
            section
                .text
                .starts_with("Potentially, depending on the age chosen")
        );
        assert!(!section.is_placeholder());
        assert!(!declares_no_change(&section.text));
    }

    #[test]
    fn mentions_whole_names_only() {
        let cases = [
            ("the log-shipper DaemonSet", "log-shipper", true),
            ("`log-shipper`", "log-shipper", true),
            ("Log-Shipper limits", "log-shipper", true),
            ("runtime-system/log-shipper.", "log-shipper", true),
            ("(log-shipper)", "log-shipper", true),
            ("log-shipper", "log-shipper", true),
            ("log-shipper-v2 only", "log-shipper", false),
            ("my-log-shipper", "log-shipper", false),
            ("log_shipper", "log-shipper", false),
            ("log-shipper_x", "log-shipper", false),
            ("logshipper", "log-shipper", false),
            ("first log-shipper-v2 then log-shipper", "log-shipper", true),
            ("anything", "", false),
            ("", "x", false),
            ("é log-shipper é", "log-shipper", true),
            ("élog-shipper", "log-shipper", false),
        ];
        for (text, needle, expected) in cases {
            assert_eq!(
                mentioned(text, &[needle]),
                [expected],
                "{needle:?} in {text:?}"
            );
        }
        // Several names at once: each is judged on its own, duplicates and overlaps included.
        assert_eq!(
            mentioned(
                "Raised log-shipper-v2 and API limits.",
                &["log-shipper", "log-shipper-v2", "", "api", "shipper", "api"]
            ),
            [false, true, false, true, false, true]
        );
    }

    #[test]
    fn declares_no_change_phrases() {
        let yes = [
            "N/A",
            "n/a.",
            "None",
            "none.",
            "No resource changes.",
            "no other resource changes",
            "No changes to resources",
            "No changes to the resources.",
            "No impact",
            "No resource impact.",
            "There are no resource changes.",
            "- No impact on resource usage",
            "**None**",
            "Only labels change. No resource impact.",
            "Relabels pods; no resource changes",
            "No changes",
            "Not applicable",
            "No\n",
        ];
        for text in yes {
            assert!(declares_no_change(text), "{text:?}");
        }
        let no = [
            "",
            "<!-- N/A -->",
            "TBD",
            "Memory limit removed; expect no impact on the API.",
            "No impact on the API, but memory doubles",
            "None of the DaemonSets change",
            "There is no limit now",
            "no resource limits",
            "Removes log-shipper limits",
        ];
        for text in no {
            assert!(!declares_no_change(text), "{text:?}");
        }
    }

    #[test]
    fn pull_request_body_from_event() {
        let event = r###"{"action":"opened","pull_request":{"number":7,"body":"## Resource Impact\r\nNone"}}"###;
        assert_eq!(
            pull_request_body(event),
            Ok("## Resource Impact\r\nNone".to_string())
        );
        assert_eq!(
            pull_request_body(r#"{"pull_request":{"body":null}}"#),
            Ok(String::new())
        );
        assert_eq!(
            pull_request_body(r#"{"pull_request":{}}"#),
            Ok(String::new())
        );
        assert_eq!(
            pull_request_body(r#"{"issue":{}}"#),
            Err(RecordError::MissingPullRequest)
        );
        assert_eq!(
            pull_request_body(r#"{"pull_request":null}"#),
            Err(RecordError::MissingPullRequest)
        );
        match pull_request_body("{\n  \"pull_request\": {\n    \"body\": 3\n  }\n}") {
            Err(RecordError::InvalidJson { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected a type error, got {other:?}"),
        }
        match pull_request_body("{\n  \"pull_request\": {,\n}") {
            Err(
                e @ RecordError::InvalidJson {
                    line: 2, column, ..
                },
            ) => {
                assert!(column > 0);
                assert!(e.to_string().starts_with("invalid event payload at line 2"));
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        assert!(matches!(
            pull_request_body(""),
            Err(RecordError::InvalidJson { .. })
        ));
    }

    #[test]
    fn never_panics_on_odd_markdown() {
        let inputs = [
            "#",
            "######",
            "####### seven",
            "\u{0}",
            "<!--",
            "```",
            "- [ ]",
            "|a|\n|-|\n|",
            "\r",
            "\r\n#\r\n",
            "Setext\n---\n---\n===",
            "> ## quoted heading\n> text",
            "- ## heading in list\n  text",
            "[^1]: foot",
            "*",
            "***",
            "# é\u{301} ü\n",
            "\u{feff}# BOM title",
        ];
        for md in inputs {
            let record = ChangeRecord::parse("odd.md", md);
            for s in &record.sections {
                assert!((1..=6).contains(&s.level));
                assert!(s.line >= 1 && s.end_line >= s.line, "{md:?}: {s:?}");
                let _ = s.is_placeholder();
                let _ = declares_no_change(&s.text);
            }
        }
    }

    #[test]
    fn a_leading_byte_order_mark_is_not_part_of_the_first_heading() {
        let record = ChangeRecord::parse(
            "bom.md",
            "\u{feff}# Title\n\n## Resource Impact\nmemory 1Gi -> 2Gi\n",
        );
        assert_eq!(record.title(), Some("Title"));
        let lines: Vec<(u32, u32)> = record
            .sections
            .iter()
            .map(|s| (s.line, s.end_line))
            .collect();
        assert_eq!(lines, [(1, 4), (3, 4)]);
    }
}
