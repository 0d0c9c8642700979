//! Text -> `ChangeRecord::parse` + `required_sections`, and the pull-request event reader.
//!
//! Invariants: every section's heading line is within the text, its end line is not before it,
//! and `find` finds every section by its own title.
#![no_main]

use std::sync::LazyLock;

use changelint_policies::Policy;
use changelint_policies::record::{self, ChangeRecord};
use libfuzzer_sys::fuzz_target;

static POLICY: LazyLock<Policy> = LazyLock::new(Policy::default);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = ChangeRecord::parse("record.md", text);
    let line_count = text.split('\n').count() as u32;
    for section in &parsed.sections {
        assert!(
            section.line >= 1 && section.line <= line_count.max(1),
            "{section:?}"
        );
        assert!(section.end_line >= section.line, "{section:?}");
        assert!((1..=6).contains(&section.level));
        assert!(parsed.find(std::slice::from_ref(&section.title)).is_some());
        let _ = section.is_placeholder();
        let _ = record::declares_no_change(&section.text);
        let _ = record::mentioned(&section.text, &["log-shipper", "", "API"]);
    }
    let _ = parsed.title();
    let statuses = record::required_sections(&parsed, &POLICY.record);
    assert!(!statuses.is_empty());
    let _ = record::is_placeholder_text(text);
    if let Ok(body) = record::pull_request_body(text) {
        let _ = ChangeRecord::parse("pull_request.body", &body);
    }
});
