//! `--format json`: one object, `{"verdict", "findings", "impact", "exemptions"}`, documented in
//! docs/output-formats.md ("json").

use std::io::{self, Write};

use changelint_policies::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
