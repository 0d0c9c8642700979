//! Rendering a report: one module per format, chosen by `--format` and `--output FORMAT=FILE`.

mod json;
mod text;

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::{Context as _, Result};
use changelint_policies::{Report, SourceFile};

use crate::args::{CommonArgs, Format};

/// The source texts of every input, so renderers can quote the offending line.
#[derive(Default)]
pub struct Sources {
    texts: HashMap<String, String>,
}

impl Sources {
    /// Keeps the text of each file (lossily for non-UTF-8, which never reaches a finding).
    pub fn add(&mut self, files: &[SourceFile]) {
        for file in files {
            self.texts.insert(
                file.path.clone(),
                String::from_utf8_lossy(&file.bytes).into_owned(),
            );
        }
    }

    /// One 1-based line of a file.
    pub fn line(&self, file: &str, line: u32) -> Option<&str> {
        self.texts
            .get(file)?
            .lines()
            .nth(line.checked_sub(1)? as usize)
    }
}

/// What the renderers need besides the report.
pub struct Context<'a> {
    /// Source texts.
    pub sources: &'a Sources,
    /// Whether to colour text output.
    pub color: bool,
}

fn render(
    format: Format,
    report: &Report,
    cx: &Context<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, cx, out),
        Format::Json => json::render(report, out),
    }
}

/// Writes the report to stdout and to every `--output`.
pub fn emit(report: &Report, common: &CommonArgs, sources: &Sources) -> Result<()> {
    let mut to_stdout = common.output.is_empty();
    for spec in &common.output {
        let (format, path) = match spec.split_once('=') {
            Some((name, path)) => {
                let format = <Format as clap::ValueEnum>::from_str(name, true)
                    .map_err(|_| anyhow::anyhow!("--output {spec}: unknown format `{name}`"))?;
                (format, path)
            }
            None => (common.format, spec.as_str()),
        };
        if path == "-" {
            to_stdout = true;
            continue;
        }
        let mut buffer = Vec::new();
        render(
            format,
            report,
            &Context {
                sources,
                color: false,
            },
            &mut buffer,
        )?;
        std::fs::write(path, buffer).with_context(|| format!("--output {path}: cannot write"))?;
    }
    if to_stdout {
        let color = text::color_wanted();
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        render(
            common.format,
            report,
            &Context { sources, color },
            &mut lock,
        )?;
        lock.flush()?;
    }
    Ok(())
}
