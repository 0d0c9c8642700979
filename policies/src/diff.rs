//! Unified diffs: `git diff` output and plain `diff -u` / `diff -ruN` output.
//!
//! Why this module exists: a CI pipeline or an admission hook often has only
//! the patch of a change, not the repository. To lint "resource limits were
//! removed" from a patch we need (1) a faithful parse of the patch — file
//! headers of both dialects, hunk headers, and hunk bodies read *by their
//! declared line counts*, so that a removed YAML document separator (`----`
//! in the patch) or a removed line starting with `-- ` is never mistaken for
//! a file header; (2) a way to turn it back into YAML that a YAML parser can
//! read. [`FilePatch::apply`]/[`FilePatch::revert`] do the exact thing when
//! the full file of one side is available; [`FilePatch::partial_sides`]
//! rebuilds parseable YAML fragments of both sides from the hunks alone,
//! with a line map back to the real file, so that a removed `limits:` block
//! can still be seen under its parent keys.
//!
//! Empty input (only whitespace) parses to an empty list: "no changes" is a
//! valid diff. Non-empty text without any file header is an error.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Key used for the synthetic parent mappings that [`FilePatch::partial_sides`]
/// inserts where a hunk starts below parents it does not show.
pub const SYNTHETIC_KEY: &str = "__hunk_context__";

/// The changes to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePatch {
    /// Path before the change; `None` for a new file (`/dev/null`). Git's `a/`
    /// prefix is stripped; plain `diff` paths are kept as written (up to the
    /// tab that starts the timestamp).
    pub old_path: Option<String>,
    /// Path after the change; `None` for a deleted file. Git's `b/` prefix is stripped.
    pub new_path: Option<String>,
    /// The hunks, in file order.
    pub hunks: Vec<Hunk>,
    /// True for `Binary files ... differ` and `GIT binary patch` entries.
    pub is_binary: bool,
    /// 1-based line of the diff where this file's section starts
    /// (`diff --git`, `diff -ruN ...`, or the `---` line).
    pub header_line: u32,
}

/// One `@@ -a,b +c,d @@` hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    /// First old line of the hunk (1-based; for an empty old range: the line after which it applies).
    pub old_start: u32,
    /// Number of old lines (context + removed).
    pub old_len: u32,
    /// First new line of the hunk (1-based; for an empty new range: the line after which it applies).
    pub new_start: u32,
    /// Number of new lines (context + added).
    pub new_len: u32,
    /// Text after the closing `@@` (git's "function context", e.g. `spec:`), without the separating space.
    pub section: String,
    /// The hunk body.
    pub lines: Vec<HunkLine>,
    /// 1-based line of the `@@` header in the diff.
    pub diff_line: u32,
    /// The old side's last line has no newline (`\ No newline at end of file`).
    pub old_missing_newline: bool,
    /// The new side's last line has no newline.
    pub new_missing_newline: bool,
}

/// One line of a hunk body, without its one-character prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HunkLine {
    /// Present on both sides (` ` prefix).
    Context(String),
    /// Only in the old side (`-` prefix).
    Removed(String),
    /// Only in the new side (`+` prefix).
    Added(String),
}

/// A malformed diff, or a patch that does not apply; `line` is 1-based in the diff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("line {line}: {message}")]
pub struct DiffError {
    /// 1-based line of the diff the error is about.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// One side of a hunk rebuilt as YAML by [`FilePatch::partial_sides`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartialSide {
    /// The YAML text: one document per hunk (separated by `---`), each line
    /// at its original indentation.
    pub text: String,
    /// For each line of `text` (index 0 = first line): its 1-based line in the
    /// original file, or 0 for synthetic lines (parents, separators).
    pub line_map: Vec<u32>,
    /// Whether any line of the hunks was kept as a node. Lines that sit inside a scalar whose
    /// key the hunk does not show (a hunk within a block of script text) are kept as comments
    /// only: such a side holds nothing a rule reads.
    #[serde(default)]
    pub holds_nodes: bool,
}

/// The before (old) and after (new) sides rebuilt from a patch's hunks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartialSides {
    /// Context and removed lines.
    pub before: PartialSide,
    /// Context and added lines.
    pub after: PartialSide,
}

impl PartialSide {
    /// Original 1-based file line of the 1-based `text` line `emitted`, if it is not synthetic.
    pub fn original_line(&self, emitted: usize) -> Option<u32> {
        self.line_map
            .get(emitted.checked_sub(1)?)
            .copied()
            .filter(|&n| n != 0)
    }
}

fn err(line: usize, message: impl Into<String>) -> DiffError {
    DiffError {
        line: to_u32(line),
        message: message.into(),
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Shortens `s` for an error message.
fn excerpt(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// State of the file section being read.
struct Current {
    patch: FilePatch,
    /// Started by `diff --git` (paths carry `a/`/`b/` prefixes).
    git: bool,
    /// `---`/`+++` seen.
    has_headers: bool,
}

/// Parses a unified diff (git or plain) into per-file patches.
///
/// Text before the first file header (mail headers, a commit message, a
/// diffstat) is ignored, as are `Only in ...` lines of `diff -r` and blank
/// lines between files; a `-- ` line outside a hunk (a `git format-patch`
/// signature) ends the patch. Hunk bodies are read by their header's line
/// counts. Empty input gives `Ok(vec![])`; other text without any file
/// header gives the error "no file headers found".
pub fn parse_unified_diff(text: &str) -> Result<Vec<FilePatch>, DiffError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut lines: Vec<&str> = text.split('\n').collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    let mut files: Vec<FilePatch> = Vec::new();
    let mut cur: Option<Current> = None;
    let mut i = 0;
    while let Some(&raw) = lines.get(i) {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let lineno = i + 1;
        if let Some(rest) = line.strip_prefix("diff --git ") {
            finish(&mut files, cur.take());
            let (old, new) = git_line_paths(rest);
            cur = Some(Current {
                patch: new_patch(old, new, lineno),
                git: true,
                has_headers: false,
            });
            i += 1;
        } else if line.starts_with("diff ") {
            finish(&mut files, cur.take());
            let (old, new) = plain_diff_line_paths(line);
            cur = Some(Current {
                patch: new_patch(old, new, lineno),
                git: false,
                has_headers: false,
            });
            i += 1;
        } else if line.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ "))
        {
            let plus = lines.get(i + 1).copied().unwrap_or_default();
            let plus = plus.strip_suffix('\r').unwrap_or(plus);
            let reuse = cur
                .as_ref()
                .is_some_and(|c| !c.has_headers && c.patch.hunks.is_empty() && !c.patch.is_binary);
            if !reuse {
                finish(&mut files, cur.take());
                cur = Some(Current {
                    patch: new_patch(None, None, lineno),
                    git: false,
                    has_headers: false,
                });
            }
            if let Some(c) = cur.as_mut() {
                c.patch.old_path =
                    header_path(line.get(4..).unwrap_or_default(), c.git.then_some("a/"));
                c.patch.new_path =
                    header_path(plus.get(4..).unwrap_or_default(), c.git.then_some("b/"));
                c.has_headers = true;
            }
            i += 2;
        } else if line.starts_with("@@") {
            let Some(c) = cur.as_mut() else {
                return Err(err(lineno, "hunk header before any file header"));
            };
            if !c.has_headers {
                return Err(err(lineno, "hunk header without '---'/'+++' file headers"));
            }
            let (hunk, next) = read_hunk(&lines, i)?;
            if let Some(prev) = c.patch.hunks.last() {
                check_order(prev, &hunk)?;
            }
            c.patch.hunks.push(hunk);
            i = next;
        } else if let Some(rest) = line
            .strip_prefix("Binary files ")
            .and_then(|r| r.strip_suffix(" differ"))
        {
            match cur.as_mut() {
                Some(c) if !c.has_headers && c.patch.hunks.is_empty() => c.patch.is_binary = true,
                _ => {
                    finish(&mut files, cur.take());
                    let (old, new) = rest
                        .split_once(" and ")
                        .map_or((None, None), |(a, b)| (non_null(a), non_null(b)));
                    let mut patch = new_patch(old, new, lineno);
                    patch.is_binary = true;
                    cur = Some(Current {
                        patch,
                        git: false,
                        has_headers: true,
                    });
                }
            }
            i += 1;
        } else if line == "GIT binary patch" && cur.is_some() {
            if let Some(c) = cur.as_mut() {
                c.patch.is_binary = true;
            }
            // Skip the base85 payload up to the next file.
            i += 1;
            while lines.get(i).is_some_and(|l| !l.starts_with("diff ")) {
                i += 1;
            }
        } else if let Some(c) = cur.as_mut().filter(|c| c.git && !c.has_headers) {
            if !apply_extended_header(c, line) {
                return Err(err(
                    lineno,
                    format!("unexpected line in git file header: `{}`", excerpt(line)),
                ));
            }
            i += 1;
        } else if line.trim().is_empty() || line.starts_with("Only in ") {
            i += 1;
        } else if line == "-- " && (cur.is_some() || !files.is_empty()) {
            break;
        } else if cur.is_none() && files.is_empty() {
            // Preamble: mail headers, commit message, diffstat.
            i += 1;
        } else {
            return Err(err(
                lineno,
                format!("unexpected line outside of a hunk: `{}`", excerpt(line)),
            ));
        }
    }
    finish(&mut files, cur.take());
    if files.is_empty() {
        return Err(err(1, "no file headers found"));
    }
    Ok(files)
}

fn new_patch(old: Option<String>, new: Option<String>, header_line: usize) -> FilePatch {
    FilePatch {
        old_path: old,
        new_path: new,
        hunks: Vec::new(),
        is_binary: false,
        header_line: to_u32(header_line),
    }
}

fn finish(files: &mut Vec<FilePatch>, cur: Option<Current>) {
    if let Some(c) = cur {
        files.push(c.patch);
    }
}

/// Handles git's extended header lines; false when `line` is not one.
fn apply_extended_header(c: &mut Current, line: &str) -> bool {
    if line.starts_with("new file mode ") {
        c.patch.old_path = None;
    } else if line.starts_with("deleted file mode ") {
        c.patch.new_path = None;
    } else if let Some(p) = line
        .strip_prefix("rename from ")
        .or_else(|| line.strip_prefix("copy from "))
    {
        c.patch.old_path = Some(unquote(p));
    } else if let Some(p) = line
        .strip_prefix("rename to ")
        .or_else(|| line.strip_prefix("copy to "))
    {
        c.patch.new_path = Some(unquote(p));
    } else {
        return [
            "index ",
            "old mode ",
            "new mode ",
            "similarity index ",
            "dissimilarity index ",
        ]
        .iter()
        .any(|p| line.starts_with(p));
    }
    true
}

fn non_null(path: &str) -> Option<String> {
    let path = unquote(path.trim());
    (path != "/dev/null").then_some(path)
}

/// Path of a `---`/`+++` line: up to a tab (timestamps follow it), C-style
/// quotes removed, `/dev/null` as `None`, git's prefix stripped.
fn header_path(rest: &str, prefix: Option<&str>) -> Option<String> {
    let path = if rest.starts_with('"') {
        unquote(rest)
    } else {
        rest.split('\t').next().unwrap_or(rest).to_string()
    };
    if path == "/dev/null" {
        return None;
    }
    Some(match prefix {
        Some(p) => path
            .strip_prefix(p)
            .map_or_else(|| path.clone(), str::to_string),
        None => path,
    })
}

/// Decodes a C-style quoted path (`"a/x\tb"`); other text is returned as is.
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"') else {
        return s.to_string();
    };
    let mut bytes = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => bytes.push(b'\n'),
                Some('t') => bytes.push(b'\t'),
                Some(d @ '0'..='7') => {
                    let mut v = d.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        let mut look = chars.clone();
                        match look.next().and_then(|x| x.to_digit(8)) {
                            Some(x) => {
                                v = v * 8 + x;
                                chars = look;
                            }
                            None => break,
                        }
                    }
                    bytes.push(u8::try_from(v).unwrap_or(b'?'));
                }
                Some(other) => {
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                }
                None => {}
            },
            other => {
                let mut buf = [0; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Paths from `diff --git a/x b/y` (used when no `---`/`+++` lines follow).
fn git_line_paths(rest: &str) -> (Option<String>, Option<String>) {
    let strip = |p: &str, prefix: &str| {
        let p = unquote(p);
        p.strip_prefix(prefix)
            .map_or_else(|| p.clone(), str::to_string)
    };
    if rest.starts_with('"') {
        // Quoted old path: find its closing quote.
        let mut escaped = false;
        for (idx, ch) in rest.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                let (old, new) = rest.split_at(idx + 1);
                return (Some(strip(old, "a/")), Some(strip(new.trim_start(), "b/")));
            }
        }
        return (None, None);
    }
    // Split at the ` b/` that makes both paths equal, else at the first one.
    let split = |i: usize| Some((rest.get(..i)?, rest.get(i + 1..)?.trim_start()));
    let splits: Vec<(&str, &str)> = rest
        .match_indices(" b/")
        .filter_map(|(i, _)| split(i))
        .collect();
    let chosen = splits
        .iter()
        .copied()
        .find(|(old, new)| old.strip_prefix("a/") == new.strip_prefix("b/"))
        .or_else(|| splits.first().copied())
        .or_else(|| rest.split_once(' '));
    match chosen {
        Some((old, new)) => (Some(strip(old, "a/")), Some(strip(new, "b/"))),
        None => (Some(strip(rest, "a/")), Some(strip(rest, "a/"))),
    }
}

/// Paths from a plain `diff -ruN old new` line: its last two words.
fn plain_diff_line_paths(line: &str) -> (Option<String>, Option<String>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [_, .., a, b] if !a.starts_with('-') => (non_null(a), non_null(b)),
        _ => (None, None),
    }
}

/// `a` or `a,b` of a hunk header.
fn parse_range(s: &str) -> Option<Range> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

/// `@@ -a,b +c,d @@ section` → ranges and section.
/// `(start, len)` of one side of a hunk header.
type Range = (u32, u32);

fn parse_hunk_header(line: &str) -> Option<(Range, Range, String)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix('+')?;
    let (new, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("@@")?;
    let section = rest.strip_prefix(' ').unwrap_or(rest);
    Some((parse_range(old)?, parse_range(new)?, section.to_string()))
}

/// Reads the hunk whose header is at index `at`; returns it and the index after it.
fn read_hunk(lines: &[&str], at: usize) -> Result<(Hunk, usize), DiffError> {
    let header_raw = lines.get(at).copied().unwrap_or_default();
    let header = header_raw.strip_suffix('\r').unwrap_or(header_raw);
    let lineno = at + 1;
    if header.starts_with("@@@") {
        return Err(err(lineno, "combined diffs (@@@) are not supported"));
    }
    let ((old_start, old_len), (new_start, new_len), section) = parse_hunk_header(header)
        .ok_or_else(|| {
            err(
                lineno,
                format!("malformed hunk header `{}`", excerpt(header)),
            )
        })?;
    if (old_len > 0 && old_start == 0) || (new_len > 0 && new_start == 0) {
        return Err(err(lineno, "hunk range starts at line 0 but is not empty"));
    }
    let mut hunk = Hunk {
        old_start,
        old_len,
        new_start,
        new_len,
        section,
        lines: Vec::new(),
        diff_line: to_u32(lineno),
        old_missing_newline: false,
        new_missing_newline: false,
    };
    let (mut old_left, mut new_left) = (old_len, new_len);
    let mut i = at + 1;
    loop {
        let done = old_left == 0 && new_left == 0;
        let Some(&raw) = lines.get(i) else {
            if done {
                break;
            }
            return Err(err(
                lineno,
                format!(
                    "hunk is cut short by the end of the diff: {old_left} old and {new_left} new line(s) missing"
                ),
            ));
        };
        if raw.starts_with('\\') {
            let Some(last) = hunk.lines.last() else {
                return Err(err(
                    i + 1,
                    "'\\ No newline at end of file' before any hunk line",
                ));
            };
            match last {
                HunkLine::Context(_) => {
                    hunk.old_missing_newline = true;
                    hunk.new_missing_newline = true;
                }
                HunkLine::Removed(_) => hunk.old_missing_newline = true,
                HunkLine::Added(_) => hunk.new_missing_newline = true,
            }
            i += 1;
            continue;
        }
        if done {
            break;
        }
        let (first, content) = match raw.chars().next() {
            Some(c) => (c, raw.get(c.len_utf8()..).unwrap_or_default()),
            // An empty line: a context line whose blank was stripped by an editor or mailer.
            None => (' ', ""),
        };
        let too_many = || {
            err(
                i + 1,
                format!(
                    "hunk has more lines than its header `@@ -{old_start},{old_len} +{new_start},{new_len} @@` declares"
                ),
            )
        };
        match first {
            ' ' => {
                if old_left == 0 || new_left == 0 {
                    return Err(too_many());
                }
                old_left -= 1;
                new_left -= 1;
                hunk.lines.push(HunkLine::Context(content.to_string()));
            }
            '-' => {
                if old_left == 0 {
                    return Err(too_many());
                }
                old_left -= 1;
                hunk.lines.push(HunkLine::Removed(content.to_string()));
            }
            '+' => {
                if new_left == 0 {
                    return Err(too_many());
                }
                new_left -= 1;
                hunk.lines.push(HunkLine::Added(content.to_string()));
            }
            _ => {
                return Err(err(
                    i + 1,
                    format!(
                        "hunk ends early: {old_left} old and {new_left} new line(s) still expected, found `{}`",
                        excerpt(raw)
                    ),
                ));
            }
        }
        i += 1;
    }
    Ok((hunk, i))
}

/// 0-based index of the first line a range covers (or the insertion point of an empty range).
fn range_begin(start: u32, len: u32) -> usize {
    if len == 0 {
        start as usize
    } else {
        (start as usize).saturating_sub(1)
    }
}

fn check_order(prev: &Hunk, next: &Hunk) -> Result<(), DiffError> {
    let old_ok = range_begin(next.old_start, next.old_len)
        >= range_begin(prev.old_start, prev.old_len) + prev.old_len as usize;
    let new_ok = range_begin(next.new_start, next.new_len)
        >= range_begin(prev.new_start, prev.new_len) + prev.new_len as usize;
    if old_ok && new_ok {
        Ok(())
    } else {
        Err(err(
            next.diff_line as usize,
            "hunk overlaps or precedes the previous hunk",
        ))
    }
}

/// Lines of `text` without their `\n`; and whether the last line ends with one
/// (true for empty text).
fn split_lines(text: &str) -> (Vec<&str>, bool) {
    if text.is_empty() {
        return (Vec::new(), true);
    }
    let mut lines: Vec<&str> = text.split('\n').collect();
    let final_newline = text.ends_with('\n');
    if final_newline {
        lines.pop();
    }
    (lines, final_newline)
}

impl FilePatch {
    /// The file's path: the new path, or the old path for a deleted file.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }

    /// Applies the hunks to the full old text, giving the new text. Context
    /// and removed lines must match exactly (and so must the final newline
    /// where a hunk reaches the end of the file); otherwise the error points
    /// at the hunk's `@@` line.
    pub fn apply(&self, old_text: &str) -> Result<String, DiffError> {
        self.patch(old_text, false)
    }

    /// The inverse of [`FilePatch::apply`]: from the full new text back to the old text.
    pub fn revert(&self, new_text: &str) -> Result<String, DiffError> {
        self.patch(new_text, true)
    }

    fn patch(&self, base: &str, reverse: bool) -> Result<String, DiffError> {
        if self.is_binary {
            return Err(err(
                self.header_line as usize,
                "cannot apply a binary patch",
            ));
        }
        let (src, src_final_newline) = split_lines(base);
        let mut out: Vec<&str> = Vec::with_capacity(src.len());
        let mut pos = 0;
        let mut final_newline = src_final_newline;
        for hunk in &self.hunks {
            let at = hunk.diff_line as usize;
            let (start, len) = if reverse {
                (hunk.new_start, hunk.new_len)
            } else {
                (hunk.old_start, hunk.old_len)
            };
            let begin = range_begin(start, len);
            if begin < pos {
                return Err(err(at, "hunk overlaps the previous hunk"));
            }
            let Some(before) = src.get(pos..begin) else {
                return Err(err(
                    at,
                    format!(
                        "hunk starts at line {start} but the file has {} line(s)",
                        src.len()
                    ),
                ));
            };
            out.extend_from_slice(before);
            pos = begin;
            for line in &hunk.lines {
                let (expect, emit) = match (line, reverse) {
                    (HunkLine::Context(s), _) => (Some(s), Some(s)),
                    (HunkLine::Removed(s), false) | (HunkLine::Added(s), true) => (Some(s), None),
                    (HunkLine::Added(s), false) | (HunkLine::Removed(s), true) => (None, Some(s)),
                };
                if let Some(expected) = expect {
                    match src.get(pos) {
                        Some(actual) if *actual == expected.as_str() => pos += 1,
                        Some(actual) => {
                            return Err(err(
                                at,
                                format!(
                                    "hunk does not apply: line {} is `{}`, the diff expects `{}`",
                                    pos + 1,
                                    excerpt(actual),
                                    excerpt(expected)
                                ),
                            ));
                        }
                        None => {
                            return Err(err(
                                at,
                                format!(
                                    "hunk does not apply: the file ends at line {} but the diff expects `{}`",
                                    src.len(),
                                    excerpt(expected)
                                ),
                            ));
                        }
                    }
                }
                if let Some(s) = emit {
                    out.push(s.as_str());
                }
            }
            let (src_missing, dst_missing) = if reverse {
                (hunk.new_missing_newline, hunk.old_missing_newline)
            } else {
                (hunk.old_missing_newline, hunk.new_missing_newline)
            };
            if pos == src.len() && !src.is_empty() && len > 0 && src_missing == src_final_newline {
                return Err(err(
                    at,
                    if src_missing {
                        "the diff says the file has no newline at its end, but it has one"
                    } else {
                        "the file has no newline at its end, but the diff expects one"
                    },
                ));
            }
            if src_missing && pos != src.len() {
                return Err(err(
                    at,
                    "the diff marks a missing final newline before the end of the file",
                ));
            }
            if pos == src.len() {
                final_newline = !dst_missing;
            }
        }
        out.extend_from_slice(src.get(pos..).unwrap_or_default());
        let mut text = out.join("\n");
        if final_newline && !out.is_empty() {
            text.push('\n');
        }
        Ok(text)
    }

    /// Rebuilds parseable YAML for both sides from the hunks alone (no repository needed).
    ///
    /// Each hunk becomes one YAML document per side (documents separated by
    /// `---`): the before side holds its context and removed lines, the after
    /// side its context and added lines, all at their original indentation.
    /// A hunk starts mid-document, so parents are missing; they are rebuilt:
    /// git's section text (`@@ ... @@ spec:`) is prepended when it is a
    /// `key:` line less indented than the hunk, and wherever the hunk later
    /// dedents to a level whose parent it does not show, a synthetic parent
    /// ([`SYNTHETIC_KEY`]`:` or a bare `-` for sequences) is inserted at the
    /// start. Lines that cannot be placed in a valid YAML structure (the tail
    /// of a block scalar or flow collection whose start is above the hunk,
    /// an alias whose anchor is not shown, ...) are turned into comments, so
    /// the line count is unchanged. `line_map` maps every emitted line back
    /// to the original file (0 for synthetic lines). Binary patches give
    /// empty sides.
    pub fn partial_sides(&self) -> PartialSides {
        let mut sides = PartialSides::default();
        if self.is_binary {
            return sides;
        }
        for (n, hunk) in self.hunks.iter().enumerate() {
            let mut old_no = hunk.old_start;
            let mut new_no = hunk.new_start;
            let mut old_lines: Vec<(&str, u32)> = Vec::new();
            let mut new_lines: Vec<(&str, u32)> = Vec::new();
            for line in &hunk.lines {
                match line {
                    HunkLine::Context(s) => {
                        old_lines.push((s, old_no));
                        new_lines.push((s, new_no));
                        old_no = old_no.saturating_add(1);
                        new_no = new_no.saturating_add(1);
                    }
                    HunkLine::Removed(s) => {
                        old_lines.push((s, old_no));
                        old_no = old_no.saturating_add(1);
                    }
                    HunkLine::Added(s) => {
                        new_lines.push((s, new_no));
                        new_no = new_no.saturating_add(1);
                    }
                }
            }
            for (side, lines) in [
                (&mut sides.before, old_lines),
                (&mut sides.after, new_lines),
            ] {
                if n > 0 {
                    push_line(side, "---", 0);
                }
                yaml::rebuild(&lines, &hunk.section, side);
            }
        }
        sides
    }
}

fn push_line(side: &mut PartialSide, line: &str, original: u32) {
    side.text.push_str(line);
    side.text.push('\n');
    side.line_map.push(original);
}

/// Line-level YAML structure analysis used to rebuild hunk fragments.
mod yaml {
    use super::{HashSet, PartialSide, SYNTHETIC_KEY, push_line};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Kind {
        Map,
        Seq,
    }

    /// State of a multi-line flow collection or quoted scalar.
    #[derive(Debug, Clone, Copy, Default)]
    pub(super) struct Flow {
        depth: usize,
        quote: Option<char>,
    }

    impl Flow {
        /// Feeds one line; returns the byte offset just after the character
        /// that closes the construct, or `None` while it is still open.
        fn feed(&mut self, s: &str) -> Option<usize> {
            let mut chars = s.char_indices().peekable();
            let mut prev: Option<char> = None;
            while let Some((i, c)) = chars.next() {
                let end = i + c.len_utf8();
                match self.quote {
                    Some('"') => {
                        if c == '\\' {
                            chars.next();
                        } else if c == '"' {
                            self.quote = None;
                            if self.depth == 0 {
                                return Some(end);
                            }
                        }
                    }
                    Some(_) => {
                        if c == '\'' {
                            if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                                chars.next();
                            } else {
                                self.quote = None;
                                if self.depth == 0 {
                                    return Some(end);
                                }
                            }
                        }
                    }
                    None => match c {
                        '"' | '\''
                            if prev.is_none_or(|p| p.is_whitespace() || "[{,:".contains(p)) =>
                        {
                            self.quote = Some(c);
                        }
                        '[' | '{' => self.depth += 1,
                        ']' | '}' => {
                            self.depth = self.depth.saturating_sub(1);
                            if self.depth == 0 {
                                return Some(end);
                            }
                        }
                        '#' if prev.is_none_or(char::is_whitespace) => return None,
                        _ => {}
                    },
                }
                prev = Some(c);
            }
            None
        }
    }

    /// What follows a key's `:` or a sequence entry's `- `.
    #[derive(Debug, Clone)]
    pub(super) enum Value {
        /// Nothing (children or a scalar may follow on the next lines).
        Empty,
        /// A plain scalar (may continue on more-indented lines).
        Plain,
        /// A complete quoted scalar, flow collection or alias.
        Closed,
        /// `|` or `>`: a block scalar follows.
        Block,
        /// A flow collection or quoted scalar that continues on the next lines.
        Open(Flow),
    }

    /// A line that is a mapping entry or a sequence entry.
    #[derive(Debug, Clone)]
    pub(super) struct Node {
        /// Collections the line opens, outermost first: `- a: 1` at column 4
        /// is `[(4, Seq), (6, Map)]`.
        frames: Vec<(usize, Kind)>,
        value: Value,
        /// Column children and continuation lines must exceed.
        child_col: usize,
        anchors: Vec<String>,
        alias: Option<String>,
    }

    impl Node {
        fn indent(&self) -> usize {
            self.frames.first().map_or(0, |f| f.0)
        }
        fn kind(&self) -> Kind {
            self.frames.first().map_or(Kind::Map, |f| f.1)
        }
        fn innermost_is_map(&self) -> bool {
            self.frames.last().is_some_and(|f| f.1 == Kind::Map)
        }
    }

    #[derive(Debug, Clone)]
    pub(super) enum Class {
        Blank,
        Comment,
        /// `---` or `...` at column 0.
        DocMarker,
        Node(Node),
        /// Any other text (scalar continuation, block-scalar text, ...).
        Other,
        /// A line that cannot be valid YAML on its own terms.
        Invalid,
        /// Inside the block scalar / multi-line flow opened by line `opener`.
        Content {
            opener: usize,
        },
    }

    fn indent_of(line: &str) -> usize {
        line.len() - line.trim_start_matches(' ').len()
    }

    /// Byte offset just after the `:` of a mapping key at the start of `s`.
    fn key_end(s: &str) -> Option<usize> {
        let first = s.chars().next()?;
        if first == '"' || first == '\'' {
            let end = Flow::default().feed(s)?;
            let after = s.get(end..)?.trim_start_matches([' ', '\t']);
            let rest = after.strip_prefix(':')?;
            return (rest.is_empty() || rest.starts_with([' ', '\t']))
                .then(|| s.len() - rest.len());
        }
        if "[]{},#&*!|>%@`".contains(first) {
            return None;
        }
        if matches!(first, '?' | ':' | '-')
            && s.chars().nth(1).is_none_or(|c| c == ' ' || c == '\t')
        {
            return None;
        }
        let mut prev = ' ';
        for (i, c) in s.char_indices() {
            if c == '#' && (prev == ' ' || prev == '\t') {
                return None;
            }
            if c == ':' {
                let next = s.get(i + 1..).and_then(|r| r.chars().next());
                if next.is_none_or(|n| n == ' ' || n == '\t') {
                    return Some(i + 1);
                }
            }
            prev = c;
        }
        None
    }

    /// Classifies a value; `None` when it cannot be valid.
    fn value_of(v: &str, anchors: &mut Vec<String>, alias: &mut Option<String>) -> Option<Value> {
        let mut v = v.trim_start_matches([' ', '\t']);
        // Node properties: anchors and tags.
        while let Some(first) = v.chars().next().filter(|c| *c == '&' || *c == '!') {
            let end = v.find([' ', '\t']).unwrap_or(v.len());
            if first == '&' {
                anchors.push(v.get(1..end).unwrap_or_default().to_string());
            }
            v = v
                .get(end..)
                .unwrap_or_default()
                .trim_start_matches([' ', '\t']);
        }
        let Some(first) = v.chars().next() else {
            return Some(Value::Empty);
        };
        let after_token = |v: &str| {
            let end = v.find([' ', '\t']).unwrap_or(v.len());
            let rest = v.get(end..).unwrap_or_default().trim_start();
            rest.is_empty() || rest.starts_with('#')
        };
        match first {
            '#' => Some(Value::Empty),
            '*' => {
                let end = v.find([' ', '\t']).unwrap_or(v.len());
                *alias = Some(v.get(1..end).unwrap_or_default().to_string());
                after_token(v).then_some(Value::Closed)
            }
            '|' | '>' => {
                let ok = v
                    .chars()
                    .skip(1)
                    .take_while(|c| !c.is_whitespace())
                    .all(|c| c.is_ascii_digit() || c == '+' || c == '-');
                (ok && after_token(v)).then_some(Value::Block)
            }
            '[' | '{' | '"' | '\'' => {
                let mut flow = Flow::default();
                match flow.feed(v) {
                    Some(end) => {
                        let rest = v.get(end..).unwrap_or_default().trim_start();
                        (rest.is_empty() || rest.starts_with('#')).then_some(Value::Closed)
                    }
                    None => Some(Value::Open(flow)),
                }
            }
            '@' | '`' | '%' | ']' | '}' | ',' => None,
            '-' | '?' | ':' if v.chars().nth(1).is_none_or(|c| c == ' ' || c == '\t') => None,
            _ => {
                let mut prev = ' ';
                for (i, c) in v.char_indices() {
                    if c == '#' && (prev == ' ' || prev == '\t') {
                        break;
                    }
                    if c == ':' {
                        let next = v.get(i + 1..).and_then(|r| r.chars().next());
                        if next.is_none_or(|n| n == ' ' || n == '\t') {
                            return None;
                        }
                    }
                    prev = c;
                }
                Some(Value::Plain)
            }
        }
    }

    /// Classifies one line (without the block-scalar/flow context).
    pub(super) fn classify(line: &str) -> Class {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let indent = indent_of(line);
        let rest = line.get(indent..).unwrap_or_default().trim_end();
        if rest.is_empty() {
            return Class::Blank;
        }
        if rest.starts_with('#') {
            return Class::Comment;
        }
        if indent == 0
            && (rest == "---"
                || rest.starts_with("--- ")
                || rest == "..."
                || rest.starts_with("... "))
        {
            return Class::DocMarker;
        }
        if rest.starts_with('\t') {
            return Class::Other;
        }
        let mut frames = Vec::new();
        let mut anchors = Vec::new();
        let mut alias = None;
        let mut col = indent;
        let mut s = rest;
        loop {
            if s == "-" || s.starts_with("- ") || s.starts_with("-\t") {
                frames.push((col, Kind::Seq));
                let after = s.get(1..).unwrap_or_default();
                let trimmed = after.trim_start_matches([' ', '\t']);
                let dash_col = col;
                col += 1 + (after.len() - trimmed.len());
                s = trimmed;
                if s.is_empty() || s.starts_with('#') {
                    return Class::Node(Node {
                        frames,
                        value: Value::Empty,
                        child_col: dash_col,
                        anchors,
                        alias,
                    });
                }
                continue;
            }
            if let Some(end) = key_end(s) {
                frames.push((col, Kind::Map));
                let Some(value) =
                    value_of(s.get(end..).unwrap_or_default(), &mut anchors, &mut alias)
                else {
                    return Class::Invalid;
                };
                return Class::Node(Node {
                    frames,
                    value,
                    child_col: col,
                    anchors,
                    alias,
                });
            }
            let Some(&(dash_col, _)) = frames.last() else {
                return Class::Other;
            };
            let Some(value) = value_of(s, &mut anchors, &mut alias) else {
                return Class::Invalid;
            };
            return Class::Node(Node {
                frames,
                value,
                child_col: dash_col,
                anchors,
                alias,
            });
        }
    }

    /// Classifies a segment's lines, resolving block scalars and multi-line
    /// flow/quoted constructs whose start is in the segment.
    fn classify_segment(lines: &[(&str, u32)]) -> Vec<Class> {
        let mut out: Vec<Class> = Vec::with_capacity(lines.len());
        // (opener index, column content must exceed[, open flow state])
        let mut block: Option<(usize, usize)> = None;
        let mut flow: Option<(usize, usize, Flow)> = None;
        for (idx, (line, _)) in lines.iter().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if let Some((opener, min_col, mut state)) = flow.take() {
                // Flow continuation lines must be indented past the opener's
                // node; otherwise the "opener" was text of a block scalar
                // that started above the hunk.
                let fits = line.trim().is_empty() || indent_of(line) > min_col;
                let closed = if fits { state.feed(line) } else { None };
                let tail_ok = closed.is_none_or(|end| {
                    let rest = line.get(end..).unwrap_or_default().trim_start();
                    rest.is_empty() || rest.starts_with('#')
                });
                if fits && tail_ok {
                    if closed.is_none() {
                        flow = Some((opener, min_col, state));
                    }
                    out.push(Class::Content { opener });
                    continue;
                }
                if let Some(c) = out.get_mut(opener) {
                    *c = Class::Invalid;
                }
                if fits {
                    out.push(Class::Content { opener });
                    continue;
                }
            }
            if let Some((opener, min_col)) = block {
                if line.trim().is_empty() || indent_of(line) > min_col {
                    out.push(Class::Content { opener });
                    continue;
                }
                block = None;
            }
            let class = classify(line);
            if let Class::Node(node) = &class {
                match node.value {
                    Value::Block => block = Some((idx, node.child_col)),
                    Value::Open(state) => flow = Some((idx, node.child_col, state)),
                    _ => {}
                }
            }
            out.push(class);
        }
        // A flow collection or quoted scalar still open at the end cannot parse.
        if let Some((opener, _, _)) = flow {
            if let Some(c) = out.get_mut(opener) {
                *c = Class::Invalid;
            }
        }
        out
    }

    /// Open-collection state while emitting.
    #[derive(Default)]
    struct Machine {
        frames: Vec<(usize, Kind)>,
        started: bool,
        /// A line whose value is empty: children must be indented more than
        /// `.0`; a sequence may also start at `.1` (a map key's own column).
        pending: Option<(usize, Option<usize>)>,
        /// Continuation lines must be indented more than this (plain scalars).
        cont: Option<(usize, bool)>,
        anchors: HashSet<String>,
    }

    impl Machine {
        /// Tries to place a node; on success updates the state and returns true.
        fn place(&mut self, node: &Node) -> bool {
            if node
                .alias
                .as_ref()
                .is_some_and(|a| !self.anchors.contains(a))
            {
                return false;
            }
            let (indent, kind) = (node.indent(), node.kind());
            let mut frames = self.frames.clone();
            let child = self.pending.is_some_and(|(gt, compact)| {
                indent > gt || (kind == Kind::Seq && compact == Some(indent))
            });
            if !child {
                while frames.last().is_some_and(|f| f.0 > indent) {
                    frames.pop();
                }
                if kind == Kind::Map && frames.last() == Some(&(indent, Kind::Seq)) {
                    frames.pop();
                }
                if frames.last() == Some(&(indent, kind)) {
                    frames.pop();
                } else if !frames.is_empty() || self.started {
                    return false;
                }
            }
            frames.extend(node.frames.iter().copied());
            self.frames = frames;
            self.started = true;
            self.pending = match node.value {
                Value::Empty => Some((
                    node.child_col,
                    node.innermost_is_map().then_some(node.child_col),
                )),
                _ => None,
            };
            self.cont = match node.value {
                Value::Empty => Some((node.child_col, false)),
                Value::Plain => Some((node.child_col, true)),
                _ => None,
            };
            self.anchors.extend(node.anchors.iter().cloned());
            true
        }

        /// Can a non-structural line at `indent` continue the previous node?
        fn continues(&mut self, indent: usize, text: &str) -> bool {
            let Some((col, plain)) = self.cont else {
                return false;
            };
            let starts_node =
                text.starts_with(['[', '{', '"', '\'', '&', '*', '!', '|', '>', '%', '@', '`']);
            if indent > col && (plain || !starts_node) {
                self.pending = None;
                self.cont = Some((col, true));
                true
            } else {
                false
            }
        }
    }

    fn comment_out(line: &str) -> String {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let indent = indent_of(line);
        let (pad, text) = line.split_at_checked(indent).unwrap_or(("", line));
        format!("{pad}# {text}")
    }

    /// Emits the YAML rebuilt from one side of one hunk.
    pub(super) fn rebuild(lines: &[(&str, u32)], section: &str, out: &mut PartialSide) {
        let mut start = 0;
        let mut first = true;
        for idx in 0..=lines.len() {
            let at_marker = lines
                .get(idx)
                .is_some_and(|(l, _)| matches!(classify(l), Class::DocMarker));
            if idx == lines.len() || at_marker {
                if let Some(segment) = lines.get(start..idx) {
                    emit_segment(segment, first.then_some(section), out);
                }
                if let Some((marker, no)) = lines.get(idx) {
                    push_line(out, marker.strip_suffix('\r').unwrap_or(marker), *no);
                }
                start = idx + 1;
                first = false;
            }
        }
    }

    /// Synthetic parent lines for a segment whose first node is below parents it does not show.
    fn synthetic_parents(classes: &[Class], section: Option<&str>) -> Vec<String> {
        let nodes: Vec<&Node> = classes
            .iter()
            .filter_map(|c| match c {
                Class::Node(n) => Some(n),
                _ => None,
            })
            .collect();
        let Some(first) = nodes.first() else {
            return Vec::new();
        };
        // Levels the segment dedents to: its running minimum of indentation.
        let mut levels: Vec<(usize, usize)> = vec![(first.indent(), 0)];
        for (pos, node) in nodes.iter().enumerate() {
            if levels.last().is_some_and(|&(min, _)| node.indent() < min) {
                levels.push((node.indent(), pos));
            }
        }
        let mut out = Vec::new();
        let outermost = levels.last().map_or(0, |l| l.0);
        // Git's section text is the nearest line above the hunk that starts
        // in column 0: a parent of everything in the hunk that is indented
        // more than it.
        let header = section.and_then(|text| match classify(text) {
            Class::Node(node)
                if node.frames.len() == 1
                    && node.kind() == Kind::Map
                    && matches!(node.value, Value::Empty)
                    && node.indent() <= outermost
                    && node.alias.is_none()
                    && node.anchors.is_empty() =>
            {
                Some((node.indent(), text.trim_end().to_string()))
            }
            _ => None,
        });
        let mut header_used = false;
        if let Some((indent, text)) = &header {
            if *indent < outermost {
                out.push(text.clone());
                header_used = true;
            }
        }
        for (n, &(level, pos)) in levels.iter().enumerate().rev() {
            let end = levels.get(n + 1).map_or(nodes.len(), |l| l.1);
            let siblings = nodes
                .get(pos..end)
                .unwrap_or_default()
                .iter()
                .filter(|node| node.indent() == level);
            let mut kinds = siblings.map(|node| node.kind());
            let first_kind = kinds.next().unwrap_or(Kind::Map);
            let map_after_seq = first_kind == Kind::Seq && kinds.any(|k| k == Kind::Map);
            let pad = " ".repeat(level);
            let header_here = !header_used && header.as_ref().is_some_and(|h| h.0 == level);
            // A key is needed for a mapping level above the first line, or
            // to own a block sequence at its own column (`key:\n- item`).
            if (first_kind == Kind::Map && n > 0)
                || map_after_seq
                || (first_kind == Kind::Seq && header_here)
            {
                match &header {
                    // The header is the real parent at this level.
                    Some((_, text)) if header_here => {
                        out.push(text.clone());
                        header_used = true;
                    }
                    _ => out.push(format!("{pad}{SYNTHETIC_KEY}:")),
                }
            }
            if first_kind == Kind::Seq && n > 0 {
                out.push(format!("{pad}-"));
            }
        }
        out
    }

    fn emit_segment(lines: &[(&str, u32)], section: Option<&str>, out: &mut PartialSide) {
        let classes = classify_segment(lines);
        let mut machine = Machine::default();
        for synthetic in synthetic_parents(&classes, section) {
            if let Class::Node(node) = classify(&synthetic) {
                machine.place(&node);
            }
            push_line(out, &synthetic, 0);
        }
        // Synthetic parents own the first real node, not text before it.
        machine.cont = None;
        let mut emitted = vec![false; lines.len()];
        for (idx, ((line, no), class)) in lines.iter().zip(&classes).enumerate() {
            let clean = line.strip_suffix('\r').unwrap_or(line);
            let keep = match class {
                Class::Blank => true,
                Class::Comment => {
                    machine.cont = None;
                    true
                }
                Class::DocMarker => {
                    machine = Machine::default();
                    true
                }
                Class::Node(node) => machine.place(node),
                Class::Other => machine.continues(indent_of(clean), clean.trim_start()),
                Class::Invalid => false,
                Class::Content { opener } => {
                    emitted.get(*opener).copied().unwrap_or(false) || clean.trim().is_empty()
                }
            };
            if let Some(e) = emitted.get_mut(idx) {
                *e = keep;
            }
            if keep {
                out.holds_nodes |= matches!(class, Class::Node(_));
                push_line(out, clean, *no);
            } else {
                // A comment ends any multi-line plain scalar.
                machine.cont = None;
                push_line(out, &comment_out(clean), *no);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFFS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/diffs/");

    /// (old path, new path, binary, hunk count, header line)
    type Summary<'a> = (Option<&'a str>, Option<&'a str>, bool, usize, u32);

    fn read(rel: &str) -> String {
        let path = format!("{DIFFS}{rel}");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn parse_fixture(name: &str) -> Vec<FilePatch> {
        parse_unified_diff(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The diff fixtures these tests own (other tests may add more files to the directory).
    const FIXTURE_DIFFS: &[&str] = &[
        "cloudwatch-fargate-limits-equal-requests.diff",
        "descheduler-cronjob-job-add-resources.diff",
        "flannel-add-limits-guaranteed-qos.diff",
        "flannel-remove-cpu-memory-limits.diff",
        "fluent-bit-raise-memory-100-to-200Mi.diff",
        "fluent-bit-reduce-memory-limit-200-to-100Mi.diff",
        "incident-log-shipper.diff",
        "kube-prometheus-adapter-add-requests-limits.diff",
        "kube-prometheus-higher-limits-node-exporter-ksm.diff",
        "kube-prometheus-ksm-increase-memory-limits-oomkilled.diff",
        "kube-prometheus-ksm-omit-static-resources.diff",
        "kube-prometheus-prometheus-memory-400Mi-to-4Gi.diff",
        "kube-prometheus-prometheus-memory-4Gi-to-400Mi.diff",
        "microservices-demo-add-resource-limits.diff",
        "microservices-demo-adservice-bump-memory.diff",
        "microservices-demo-helm-values-increase-memory.diff",
        "microservices-demo-loadgen-add-initcontainer-without-resources.diff",
        "node-problem-detector-add-resources.diff",
        "otel-collector-remove-default-resources.diff",
        "otel-demo-flagd-memory-limit-20-to-50Mi.diff",
        "otel-operator-remove-default-resources.diff",
        "plain-ruN.diff",
        "plain-u-agent.diff",
        "vpc-cni-calico-clear-cpu-request.diff",
        "vpc-cni-increase-cpu-request.diff",
        "vpc-cni-init-container-resources.diff",
        "weave-raise-cpu-requests-10m-to-50m.diff",
    ];

    fn all_fixture_diffs() -> Vec<String> {
        FIXTURE_DIFFS.iter().map(|s| (*s).to_string()).collect()
    }

    /// Scalars of a YAML stream as (document, dotted path, value, 1-based line), read with the
    /// engine's own YAML reader, so "parses" means "changelint can load it".
    fn yaml_leaves(text: &str) -> Result<Vec<(usize, String, String, usize)>, String> {
        fn walk(
            value: &serde_json::Value,
            path: &mut Vec<String>,
            doc: &crate::yaml::YamlDocument,
            index: usize,
            out: &mut Vec<(usize, String, String, usize)>,
        ) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, child) in map {
                        path.push(key.clone());
                        walk(child, path, doc, index, out);
                        path.pop();
                    }
                }
                serde_json::Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        path.push(i.to_string());
                        walk(child, path, doc, index, out);
                        path.pop();
                    }
                }
                scalar => {
                    let text = match scalar {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    let line = doc
                        .lines
                        .line_of(&crate::yaml::pointer_of(path))
                        .unwrap_or(0);
                    out.push((index, path.join("."), text, line as usize));
                }
            }
        }
        let docs = crate::yaml::parse_documents(text, &crate::yaml::Limits::default())
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for (index, doc) in docs.iter().enumerate() {
            walk(&doc.value, &mut Vec::new(), doc, index + 1, &mut out);
        }
        Ok(out)
    }

    fn assert_parses(text: &str, what: &str) {
        if let Err(e) = yaml_leaves(text) {
            panic!("{what}: {e}\n--- text ---\n{text}");
        }
    }

    fn leaf<'a>(
        leaves: &'a [(usize, String, String, usize)],
        path: &str,
    ) -> Option<&'a (usize, String, String, usize)> {
        leaves.iter().find(|l| l.1 == path)
    }

    #[test]
    fn corpus_fixtures_parse_with_expected_shape() {
        // (fixture, number of files, total hunks, first file's path)
        let cases: &[(&str, usize, usize, &str)] = &[
            (
                "flannel-remove-cpu-memory-limits.diff",
                5,
                9,
                "Documentation/k8s-old-manifests/kube-flannel-legacy.yml",
            ),
            (
                "fluent-bit-raise-memory-100-to-200Mi.diff",
                1,
                1,
                "fluent-bit-daemonset-elasticsearch.yaml",
            ),
            (
                "otel-collector-remove-default-resources.diff",
                4,
                10,
                "charts/opentelemetry-collector/examples/daemonset-hostmetrics/rendered/daemonset.yaml",
            ),
            (
                "vpc-cni-calico-clear-cpu-request.diff",
                1,
                3,
                "config/v1.4/calico.yaml",
            ),
            (
                "microservices-demo-helm-values-increase-memory.diff",
                1,
                3,
                "helm-chart/values.yaml",
            ),
            (
                "otel-demo-flagd-memory-limit-20-to-50Mi.diff",
                2,
                38,
                "charts/opentelemetry-demo/examples/default/rendered/component.yaml",
            ),
            (
                "incident-log-shipper.diff",
                1,
                1,
                "runtime-system/log-shipper/config.yaml",
            ),
            ("plain-u-agent.diff", 1, 1, "new/agent.yaml"),
            ("plain-ruN.diff", 2, 2, "new/agent.yaml"),
        ];
        for &(name, files, hunks, first) in cases {
            let patches = parse_fixture(name);
            assert_eq!(patches.len(), files, "{name}");
            assert_eq!(
                patches.iter().map(|p| p.hunks.len()).sum::<usize>(),
                hunks,
                "{name}"
            );
            assert_eq!(patches.first().map(FilePatch::path), Some(first), "{name}");
            for p in &patches {
                assert!(!p.is_binary);
                assert_eq!(
                    p.old_path,
                    p.new_path.as_ref().map(|n| n.replacen("new/", "old/", 1))
                );
            }
        }
    }

    #[test]
    fn header_lines_and_hunk_positions() {
        let patches = parse_fixture("flannel-remove-cpu-memory-limits.diff");
        let headers: Vec<u32> = patches.iter().map(|p| p.header_line).collect();
        assert_eq!(headers, vec![1, 15, 69, 83, 97]);
        let hunk = &patches[0].hunks[0];
        assert_eq!(
            (
                hunk.old_start,
                hunk.old_len,
                hunk.new_start,
                hunk.new_len,
                hunk.section.as_str(),
                hunk.diff_line
            ),
            (63, 9, 63, 6, "spec:", 5)
        );
        assert_eq!(
            hunk.lines[0],
            HunkLine::Context("          requests:".to_string())
        );
        assert_eq!(
            hunk.lines[3],
            HunkLine::Removed("          limits:".to_string())
        );

        let plain = parse_fixture("plain-ruN.diff");
        assert_eq!(
            plain.iter().map(|p| p.header_line).collect::<Vec<_>>(),
            vec![1, 27]
        );
        assert_eq!(plain[0].old_path.as_deref(), Some("old/agent.yaml"));
        // The removed `---` document separator is a hunk line, not a file header.
        assert!(
            plain[0].hunks[0]
                .lines
                .contains(&HunkLine::Removed("---".to_string()))
        );
        assert_eq!(plain[0].hunks[0].section, "");
        let values = &plain[1].hunks[0];
        assert!(values.old_missing_newline && !values.new_missing_newline);
    }

    /// Full files of both sides for a fixture case, keyed by the patch's path.
    fn sides_of(case: &str, patch: &FilePatch) -> Option<(String, String)> {
        let single = (format!("{case}/before.yaml"), format!("{case}/after.yaml"));
        let flat = patch.path().replace('/', "__");
        let multi = (
            format!("{case}/before/{flat}"),
            format!("{case}/after/{flat}"),
        );
        let plain = (
            format!("plain-u/{}", patch.old_path.as_deref()?),
            format!("plain-u/{}", patch.new_path.as_deref()?),
        );
        let exists = |p: &str| std::path::Path::new(&format!("{DIFFS}{p}")).exists();
        [single, multi, plain]
            .into_iter()
            .find(|(b, a)| exists(b) && exists(a))
            .map(|(b, a)| (read(&b), read(&a)))
    }

    #[test]
    fn apply_and_revert_reproduce_the_real_files() {
        let mut checked = 0;
        for name in all_fixture_diffs() {
            let case = name.trim_end_matches(".diff");
            for patch in parse_fixture(&name) {
                let Some((before, after)) = sides_of(case, &patch) else {
                    continue;
                };
                let applied = patch
                    .apply(&before)
                    .unwrap_or_else(|e| panic!("{name} {}: {e}", patch.path()));
                assert!(applied == after, "{name} {}: apply differs", patch.path());
                let reverted = patch
                    .revert(&after)
                    .unwrap_or_else(|e| panic!("{name} {}: {e}", patch.path()));
                assert!(
                    reverted == before,
                    "{name} {}: revert differs",
                    patch.path()
                );
                checked += 1;
            }
        }
        // 13 single-file corpus cases, 27 multi-file corpus files, 3 plain-u files.
        assert!(checked >= 40, "only {checked} files checked");
    }

    #[test]
    fn apply_rejects_mismatches_with_the_hunk_line() {
        let patches = parse_fixture("fluent-bit-raise-memory-100-to-200Mi.diff");
        let patch = &patches[0];
        let before = read("fluent-bit-raise-memory-100-to-200Mi/before.yaml");
        let tampered = before.replace("memory: 100Mi", "memory: 128Mi");
        let e = patch.apply(&tampered).expect_err("mismatch");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("does not apply"), "{e}");
        // Applying to the wrong side fails too.
        assert!(
            patch
                .apply(&read("fluent-bit-raise-memory-100-to-200Mi/after.yaml"))
                .is_err()
        );
        // A file too short for the hunk.
        let e = patch.apply("a: 1\n").expect_err("short");
        assert_eq!(e.line, 5);
        // Final newline mismatch where the hunk reaches the end of the file.
        let values = &parse_fixture("plain-ruN.diff")[1];
        assert_eq!(
            values.apply("replicas: 2\nlog_level: info"),
            Ok("replicas: 3\nlog_level: info\n".into())
        );
        assert!(values.apply("replicas: 2\nlog_level: info\n").is_err());
        assert_eq!(
            values.revert("replicas: 3\nlog_level: info\n"),
            Ok("replicas: 2\nlog_level: info".into())
        );
    }

    #[test]
    fn git_extended_headers() {
        let diff = "\
From 1234 Mon Sep 17 00:00:00 2001
Subject: [PATCH] things

---
 a.yaml | 1 +
 1 file changed

diff --git a/new.yaml b/new.yaml
new file mode 100644
index 0000000..3b18e51
--- /dev/null
+++ b/new.yaml
@@ -0,0 +1,2 @@
+a: 1
+b: 2
diff --git a/gone.yaml b/gone.yaml
deleted file mode 100644
index 3b18e51..0000000
--- a/gone.yaml
+++ /dev/null
@@ -1 +0,0 @@
-a: 1
diff --git a/old name.yaml b/new name.yaml
similarity index 100%
rename from old name.yaml
rename to new name.yaml
diff --git a/logo.png b/logo.png
index 1111111..2222222 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/bin.dat b/bin.dat
index 1111111..2222222 100644
GIT binary patch
literal 12
TcmZ?wbhEHbRA*pd00000

literal 0
HcmV?d00001

diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git \"a/tab\\there.yaml\" \"b/tab\\there.yaml\"
index 1..2 100644
--- \"a/tab\\there.yaml\"
+++ \"b/tab\\there.yaml\"
@@ -1 +1 @@
-x: 1
\\ No newline at end of file
+x: 2
\\ No newline at end of file
-- 
2.43.0
";
        let patches = parse_unified_diff(diff).expect("parses");
        let summary: Vec<Summary<'_>> = patches
            .iter()
            .map(|p| {
                (
                    p.old_path.as_deref(),
                    p.new_path.as_deref(),
                    p.is_binary,
                    p.hunks.len(),
                    p.header_line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (None, Some("new.yaml"), false, 1, 8),
                (Some("gone.yaml"), None, false, 1, 16),
                (Some("old name.yaml"), Some("new name.yaml"), false, 0, 23),
                (Some("logo.png"), Some("logo.png"), true, 0, 27),
                (Some("bin.dat"), Some("bin.dat"), true, 0, 30),
                (Some("run.sh"), Some("run.sh"), false, 0, 39),
                (Some("tab\there.yaml"), Some("tab\there.yaml"), false, 1, 42),
            ]
        );
        assert_eq!(patches[1].path(), "gone.yaml");
        assert_eq!(patches[0].apply(""), Ok("a: 1\nb: 2\n".to_string()));
        assert_eq!(patches[1].apply("a: 1\n"), Ok(String::new()));
        assert_eq!(patches[6].apply("x: 1"), Ok("x: 2".to_string()));
        assert!(patches[3].apply("").is_err());
        let sides = patches[3].partial_sides();
        assert!(sides.before.text.is_empty() && sides.after.text.is_empty());
    }

    #[test]
    fn hunk_counts_decide_what_is_a_header() {
        // Inside the hunk, `--- x` / `+++ y` are a removed `-- x` and an added `++ y`.
        let diff = "\
--- a.txt
+++ b.txt
@@ -1,3 +1,3 @@
 keep
--- x
+++ y
 tail
--- c.txt
+++ c.txt
@@ -1 +1 @@
-1
+2
";
        let patches = parse_unified_diff(diff).expect("parses");
        assert_eq!(patches.len(), 2);
        assert_eq!(
            patches[0].hunks[0].lines,
            vec![
                HunkLine::Context("keep".into()),
                HunkLine::Removed("-- x".into()),
                HunkLine::Added("++ y".into()),
                HunkLine::Context("tail".into()),
            ]
        );
        assert_eq!(patches[0].path(), "b.txt");
        assert_eq!(patches[1].header_line, 8);
        assert_eq!(
            patches[0].apply("keep\n-- x\ntail\n"),
            Ok("keep\n++ y\ntail\n".into())
        );
    }

    #[test]
    fn malformed_diffs_are_errors_with_lines() {
        let head = "diff --git a/x b/x\n--- a/x\n+++ b/x\n";
        let cases: &[(&str, u32, &str)] = &[
            (
                &format!("{head}@@ -1,2 +1,2 @\n a\n"),
                4,
                "malformed hunk header",
            ),
            (
                &format!("{head}@@ -a,2 +1,2 @@\n a\n"),
                4,
                "malformed hunk header",
            ),
            (
                &format!("{head}@@ -1,1 +1,1 @@\n a\n b\n"),
                6,
                "unexpected line outside of a hunk",
            ),
            (
                &format!("{head}@@ -1,1 +1,1 @@\n-a\n-b\n+c\n"),
                6,
                "more lines than its header",
            ),
            (&format!("{head}@@ -1,3 +1,3 @@\n a\n"), 4, "cut short"),
            (
                &format!("{head}@@ -1,2 +1,2 @@\n a\nzzz\n b\n"),
                6,
                "hunk ends early",
            ),
            (
                &format!("{head}@@ -5,1 +5,1 @@\n a\n@@ -1,1 +1,1 @@\n b\n"),
                6,
                "overlaps",
            ),
            (
                &format!("{head}@@@ -1,1 -1,1 +1,1 @@@\n  a\n"),
                4,
                "combined",
            ),
            (&format!("{head}@@ -0,1 +1,1 @@\n a\n"), 4, "line 0"),
            ("@@ -1 +1 @@\n-a\n+b\n", 1, "before any file header"),
            (
                "diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b\n",
                2,
                "without '---'/'+++'",
            ),
            (
                "diff --git a/x b/x\ngarbage\n",
                2,
                "unexpected line in git file header",
            ),
            ("hello\nworld\n", 1, "no file headers found"),
            (
                "--- only a dashed line\nno plus line\n",
                1,
                "no file headers found",
            ),
            (
                &format!("{head}@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\ngarbage\n"),
                8,
                "outside of a hunk",
            ),
        ];
        for (diff, line, message) in cases {
            let e = parse_unified_diff(diff).expect_err(diff);
            assert_eq!(e.line, *line, "{diff:?}: {e}");
            assert!(e.message.contains(message), "{diff:?}: {e}");
            assert!(e.to_string().starts_with(&format!("line {line}: ")));
        }
    }

    #[test]
    fn empty_input_is_no_files() {
        assert_eq!(parse_unified_diff(""), Ok(vec![]));
        assert_eq!(parse_unified_diff("\n  \n"), Ok(vec![]));
    }

    #[test]
    fn crlf_diffs_keep_carriage_returns_in_content() {
        let diff = "--- a/x\r\n+++ b/x\r\n@@ -1,2 +1,2 @@\r\n a: 1\r\n-b: 2\r\n+b: 3\r\n";
        let patches = parse_unified_diff(diff).expect("parses");
        assert_eq!(patches[0].path(), "b/x");
        assert_eq!(
            patches[0].apply("a: 1\r\nb: 2\r\n"),
            Ok("a: 1\r\nb: 3\r\n".into())
        );
        assert_parses(&patches[0].partial_sides().before.text, "crlf");
    }

    #[test]
    fn every_partial_side_of_every_fixture_parses() {
        let mut sides_checked = 0;
        for name in all_fixture_diffs() {
            for patch in parse_fixture(&name) {
                let sides = patch.partial_sides();
                for (label, side) in [("before", &sides.before), ("after", &sides.after)] {
                    assert_eq!(
                        side.text.lines().count(),
                        side.line_map.len(),
                        "{name} {label}"
                    );
                    assert_parses(&side.text, &format!("{name} {} {label}", patch.path()));
                    sides_checked += 1;
                }
            }
        }
        assert!(sides_checked >= 80, "{sides_checked}");
    }

    #[test]
    fn partial_sides_line_maps_point_at_real_lines() {
        // Every non-synthetic emitted line equals (or is the comment form of)
        // the line at that number in the real file.
        for name in all_fixture_diffs() {
            let case = name.trim_end_matches(".diff");
            for patch in parse_fixture(&name) {
                let Some((before, after)) = sides_of(case, &patch) else {
                    continue;
                };
                let sides = patch.partial_sides();
                for (side, full) in [(&sides.before, &before), (&sides.after, &after)] {
                    let real: Vec<&str> = full.lines().collect();
                    for (emitted, &orig) in side.text.lines().zip(&side.line_map) {
                        if orig == 0 {
                            continue;
                        }
                        let want = real[orig as usize - 1].trim_end_matches('\r');
                        let ok = emitted == want || emitted.replacen("# ", "", 1) == want;
                        assert!(ok, "{name}: line {orig}: {emitted:?} vs {want:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn incident_partial_sides() {
        let patches = parse_fixture("incident-log-shipper.diff");
        let sides = patches[0].partial_sides();
        let before = yaml_leaves(&sides.before.text).expect("before parses");
        let (_, _, value, line) =
            leaf(&before, "shipper.resources.mem_limit").expect("mem_limit in before");
        assert_eq!(value, "256Mi");
        assert_eq!(sides.before.original_line(*line), Some(13));
        assert_eq!(
            leaf(&before, "shipper.resources.cpu_limit").map(|l| sides.before.original_line(l.3)),
            Some(Some(12))
        );
        assert_eq!(
            leaf(&before, "shipper.outputs.0.batch_size").map(|l| l.2.as_str()),
            Some("1024")
        );
        let after = yaml_leaves(&sides.after.text).expect("after parses");
        assert!(
            after.iter().all(|l| !l.1.starts_with("shipper.resources")),
            "{after:?}"
        );
        assert_eq!(
            leaf(&after, "shipper.outputs.0.batch_size").map(|l| l.2.as_str()),
            Some("2048")
        );
        assert_eq!(
            leaf(&after, "shipper.metrics.enabled").map(|l| sides.after.original_line(l.3)),
            Some(Some(17))
        );
        // The section header is synthetic: it has no original line.
        assert!(sides.before.text.starts_with("shipper:\n"));
        assert_eq!(sides.before.line_map.first(), Some(&0));
    }

    #[test]
    fn flannel_removed_limits_are_visible_under_their_parents() {
        let mut before_limits = 0;
        for patch in parse_fixture("flannel-remove-cpu-memory-limits.diff") {
            let sides = patch.partial_sides();
            assert!(sides.before.text.contains(
                "          limits:\n            cpu: \"100m\"\n            memory: \"50Mi\"\n"
            ));
            assert!(!sides.after.text.contains("limits:"));
            let before = yaml_leaves(&sides.before.text).expect("parses");
            for (_, path, value, line) in &before {
                if path.ends_with("limits.memory") {
                    assert_eq!(value, "50Mi");
                    assert!(path.starts_with("spec."), "{path}");
                    assert!(sides.before.original_line(*line).is_some_and(|n| n > 60));
                    before_limits += 1;
                }
            }
            let after = yaml_leaves(&sides.after.text).expect("parses");
            assert!(
                after
                    .iter()
                    .any(|l| l.1.ends_with("requests.memory") && l.2 == "50Mi")
            );
            assert!(after.iter().all(|l| !l.1.contains("limits")));
        }
        assert_eq!(before_limits, 9);
    }

    #[test]
    fn other_corpus_partial_sides() {
        let values = |name: &str, suffix: &str| -> (Vec<String>, Vec<String>) {
            let mut out = (Vec::new(), Vec::new());
            for patch in parse_fixture(name) {
                let sides = patch.partial_sides();
                for (leaves, text) in [
                    (&mut out.0, &sides.before.text),
                    (&mut out.1, &sides.after.text),
                ] {
                    for l in yaml_leaves(text).expect("parses") {
                        if l.1.ends_with(suffix) {
                            leaves.push(format!("{}={}", l.1, l.2));
                        }
                    }
                }
            }
            out
        };
        let (b, a) = values("fluent-bit-raise-memory-100-to-200Mi.diff", "limits.memory");
        assert_eq!(
            (b, a),
            (
                vec!["spec.resources.limits.memory=100Mi".to_string()],
                vec!["spec.resources.limits.memory=200Mi".to_string()]
            )
        );
        let (b, a) = values("vpc-cni-calico-clear-cpu-request.diff", "requests.cpu");
        assert_eq!(
            (b, a),
            (vec!["spec.resources.requests.cpu=250m".to_string()], vec![])
        );
        let (b, a) = values(
            "microservices-demo-helm-values-increase-memory.diff",
            "limits.memory",
        );
        assert_eq!(
            b,
            vec![
                "cartService.resources.limits.memory=128Mi",
                "currencyService.resources.limits.memory=128Mi",
                "paymentService.resources.limits.memory=128Mi",
            ]
        );
        assert_eq!(
            a,
            vec![
                "cartService.resources.limits.memory=256Mi",
                "currencyService.resources.limits.memory=256Mi",
                "paymentService.resources.limits.memory=256Mi",
            ]
        );
        let (b, a) = values(
            "otel-collector-remove-default-resources.diff",
            "limits.memory",
        );
        assert_eq!(b.len(), 4, "{b:?}");
        assert!(
            b.contains(&"resources.limits.memory=512Mi".to_string()),
            "{b:?}"
        );
        assert!(a.is_empty(), "{a:?}");
        let (b, a) = values("plain-u-agent.diff", "limits.memory");
        assert_eq!(
            (b, a),
            (
                vec!["spec.containers.0.resources.limits.memory=128Mi".to_string()],
                vec![]
            )
        );
    }

    /// Rebuilds a fake one-hunk patch of context lines `from..to` (1-based, exclusive end) of `text`.
    fn window(text: &str, from: usize, to: usize) -> FilePatch {
        let lines: Vec<&str> = text.lines().collect();
        // Like git: the nearest line above that starts with a letter, `_` or `$`.
        let section = lines[..from - 1]
            .iter()
            .rev()
            .find(|l| l.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$'))
            .map_or(String::new(), |l| (*l).to_string());
        let body: Vec<HunkLine> = lines[from - 1..to - 1]
            .iter()
            .map(|l| HunkLine::Context((*l).to_string()))
            .collect();
        let n = to_u32(body.len());
        FilePatch {
            old_path: Some("f.yaml".into()),
            new_path: Some("f.yaml".into()),
            hunks: vec![Hunk {
                old_start: to_u32(from),
                old_len: n,
                new_start: to_u32(from),
                new_len: n,
                section,
                lines: body,
                diff_line: 1,
                old_missing_newline: false,
                new_missing_newline: false,
            }],
            is_binary: false,
            header_line: 1,
        }
    }

    #[test]
    fn arbitrary_windows_of_real_yaml_parse() {
        // Every "before" fixture YAML file that parses as a whole: every
        // window of 2..=9 lines (every 4th start) must rebuild into
        // parseable YAML. (The "after" files are near-copies.)
        let mut files = Vec::new();
        let mut stack: Vec<std::path::PathBuf> = FIXTURE_DIFFS
            .iter()
            .map(|name| {
                std::path::PathBuf::from(format!("{DIFFS}{}", name.trim_end_matches(".diff")))
            })
            .chain([std::path::PathBuf::from(format!("{DIFFS}plain-u/old"))])
            .filter(|p| p.is_dir())
            .collect();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && (path.to_string_lossy().contains("before")
                        || path.to_string_lossy().contains("/old/"))
                {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut windows = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).expect("read");
            if yaml_leaves(&text).is_err() {
                continue; // helm templates and the like
            }
            let count = text.lines().count();
            for from in (1..=count).step_by(4) {
                for len in 2..=9 {
                    let to = from + len;
                    if to > count + 1 {
                        break;
                    }
                    let side = window(&text, from, to).partial_sides().before;
                    if let Err(e) = yaml_leaves(&side.text) {
                        panic!("{}: lines {from}..{to}: {e}\n{}", path.display(), side.text);
                    }
                    windows += 1;
                }
            }
        }
        assert!(windows > 10_000, "{windows}");
    }

    #[test]
    fn partial_sides_repair_cases() {
        // (hunk body as context lines, section, expected emitted text)
        let cases: &[(&str, &str, &str)] = &[
            // k8s compact sequence: the list item starts, then a sibling key.
            (
                "        image: b\n      - name: c\n      volumes:\n      - name: v\n",
                "spec:",
                "spec:\n      __hunk_context__:\n      -\n        image: b\n      - name: c\n      volumes:\n      - name: v\n",
            ),
            // Starts inside a block scalar: the orphaned text becomes comments.
            (
                "    [INPUT]\n        Name tail\n  other: 1\n",
                "data:",
                "data:\n    # [INPUT]\n        # Name tail\n  other: 1\n",
            ),
            // Block scalar whose opener is in the hunk: kept verbatim.
            (
                "  cfg: |\n    [INPUT]\n      a: b: c\n  x: 1\n",
                "",
                "  cfg: |\n    [INPUT]\n      a: b: c\n  x: 1\n",
            ),
            // An alias whose anchor is above the hunk.
            ("  a: *base\n  b: 1\n", "x:", "x:\n  # a: *base\n  b: 1\n"),
            (
                "  a: &base 1\n  b: *base\n",
                "x:",
                "x:\n  a: &base 1\n  b: *base\n",
            ),
            // A flow sequence still open at the end of the hunk.
            (
                "  a: 1\n  args: [\n    --v=2,\n",
                "",
                "  a: 1\n  # args: [\n    # --v=2,\n",
            ),
            // ... and one closed within it.
            (
                "  args: [\n    --v=2]\n  b: 1\n",
                "",
                "  args: [\n    --v=2]\n  b: 1\n",
            ),
            // A multi-line quoted scalar starting above the hunk.
            (
                "    continued text\"\n  b: 1\n",
                "",
                "    # continued text\"\n  b: 1\n",
            ),
            // Sequence of sequences at the top of a document.
            ("  - a\n- - b\n", "", "-\n  - a\n- - b\n"),
            // The header owns a compact sequence at column 0.
            (
                "    name: x\n- name: y\n",
                "items:",
                "items:\n-\n    name: x\n- name: y\n",
            ),
            // A header with a value is not a parent.
            (
                "  a: 1\nb: 2\n",
                "kind: Pod",
                "__hunk_context__:\n  a: 1\nb: 2\n",
            ),
            // Shell script lines of a block scalar opened above the hunk.
            (
                "          echo \"a: b\"\n          if x; then\n              exit 1\n",
                "spec:",
                "spec:\n          echo \"a: b\"\n          # if x; then\n              # exit 1\n",
            ),
            // Document separators inside the hunk.
            (
                "  a: 1\n---\nkind: X\n",
                "spec:",
                "spec:\n  a: 1\n---\nkind: X\n",
            ),
        ];
        for (body, section, expected) in cases {
            let lines: Vec<HunkLine> = body
                .lines()
                .map(|l| HunkLine::Context(l.to_string()))
                .collect();
            let n = to_u32(lines.len());
            let patch = FilePatch {
                old_path: None,
                new_path: Some("x.yaml".into()),
                hunks: vec![Hunk {
                    old_start: 10,
                    old_len: n,
                    new_start: 10,
                    new_len: n,
                    section: (*section).to_string(),
                    lines,
                    diff_line: 1,
                    old_missing_newline: false,
                    new_missing_newline: false,
                }],
                is_binary: false,
                header_line: 1,
            };
            let sides = patch.partial_sides();
            assert_eq!(sides.before.text, *expected, "body: {body:?}");
            assert_eq!(sides.before, sides.after);
            assert_parses(&sides.before.text, body);
            let real: Vec<u32> = sides
                .before
                .line_map
                .iter()
                .copied()
                .filter(|&n| n != 0)
                .collect();
            assert_eq!(real, (10..10 + n).collect::<Vec<_>>(), "body: {body:?}");
        }
    }

    #[test]
    fn multiple_hunks_become_separate_documents() {
        let patches = parse_fixture("vpc-cni-calico-clear-cpu-request.diff");
        let sides = patches[0].partial_sides();
        let docs = yaml_leaves(&sides.before.text)
            .expect("parses")
            .iter()
            .map(|l| l.0)
            .max();
        assert_eq!(docs, Some(3));
        assert!(sides.before.line_map.iter().filter(|&&n| n == 0).count() >= 2);
        assert_eq!(sides.before.original_line(0), None);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "diff --git",
            "diff --git \"unterminated",
            "--- \n+++ \n@@ -1 +1 @@\n-\n+\n",
            "@@",
            "\\",
            "--- a\n+++ b\n@@ -4294967295,1 +1 @@\n-a\n+b\n",
            "--- a\n+++ b\n@@ -1,4294967295 +1 @@\n-a\n",
            "Binary files  differ",
            "diff -ruN",
            "--- a\n+++ b\n@@ -1 +1 @@ é\n-é\n+ü\n",
            "--- a\n+++ b\n@@ -1,2 +1,2 @@\n- key: \"open\n+ - [\n \u{0}\n",
        ];
        for input in inputs {
            if let Ok(patches) = parse_unified_diff(input) {
                for p in patches {
                    let _ = p.partial_sides();
                    let _ = p.apply("");
                    let _ = p.revert("a\nb\n");
                    let _ = p.path();
                }
            }
        }
    }
}
