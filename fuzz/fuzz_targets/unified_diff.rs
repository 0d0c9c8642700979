//! Text -> `parse_unified_diff` -> `partial_sides`, `apply`/`revert` on a base derived from the
//! hunks, and `load_diff` + `check`, as `changelint check --diff` runs them.
//!
//! Invariant: where the hunks are consistent (in order, new positions shifted by the earlier
//! hunks' growth), applying them to the base they describe succeeds, and reverting the result
//! gives the base back.
#![no_main]

use std::sync::LazyLock;

use changelint_policies::diff::{FilePatch, HunkLine, parse_unified_diff};
use changelint_policies::{Policy, check, load_diff};
use libfuzzer_sys::fuzz_target;

static POLICY: LazyLock<Policy> = LazyLock::new(Policy::default);

fn begin(start: u32, len: u32) -> i64 {
    if len == 0 {
        i64::from(start)
    } else {
        i64::from(start) - 1
    }
}

/// The old text the hunks describe (filler lines between hunks), if the hunks are consistent.
fn derived_base(patch: &FilePatch) -> Option<String> {
    let mut lines: Vec<&str> = Vec::new();
    let mut growth: i64 = 0;
    let mut missing_newline = false;
    for (n, hunk) in patch.hunks.iter().enumerate() {
        let at = begin(hunk.old_start, hunk.old_len);
        if at < lines.len() as i64 || begin(hunk.new_start, hunk.new_len) != at + growth {
            return None;
        }
        if missing_newline {
            return None; // only the last hunk may reach a final line without newline
        }
        while (lines.len() as i64) < at {
            lines.push("# filler");
        }
        let (mut old, mut new) = (0u32, 0u32);
        for line in &hunk.lines {
            match line {
                HunkLine::Context(s) => {
                    lines.push(s);
                    old += 1;
                    new += 1;
                }
                HunkLine::Removed(s) => {
                    lines.push(s);
                    old += 1;
                }
                HunkLine::Added(_) => new += 1,
            }
        }
        if (old, new) != (hunk.old_len, hunk.new_len) || n > 10_000 {
            return None;
        }
        growth += i64::from(hunk.new_len) - i64::from(hunk.old_len);
        missing_newline = hunk.old_missing_newline || hunk.new_missing_newline;
    }
    if patch.is_binary || missing_newline {
        return None;
    }
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    Some(text)
}

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on every panic, even one the engine catches: let those through.
    changelint_policies::yaml::quiet_parser_panics();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(patches) = parse_unified_diff(text) {
        for patch in &patches {
            let sides = patch.partial_sides();
            for side in [&sides.before, &sides.after] {
                assert_eq!(
                    side.line_map.len(),
                    side.text.lines().count(),
                    "line_map has one entry per emitted line"
                );
            }
            if let Some(base) = derived_base(patch)
                && let Ok(new) = patch.apply(&base)
            {
                let back = patch
                    .revert(&new)
                    .expect("a patch that applies also reverts");
                assert_eq!(back, base, "revert(apply(base)) == base");
            }
        }
    }
    let policy = &*POLICY;
    if let Ok(change) = load_diff("fuzz.diff", text, policy) {
        let report = check(&change, policy);
        let _ = serde_json::to_string(&report);
    }
});
