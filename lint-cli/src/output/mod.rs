//! Rendering a report: one module per format, chosen by `--format` and `--output FORMAT=FILE`.
//! What formats share (rows of the impact table, wording, escaping, paths) lives in `common`.
//! The formats are described for users in docs/output-formats.md.

mod common;
pub mod docs;
mod github;
mod html;
mod json;
mod junit;
mod markdown;
#[cfg(test)]
mod pipelines;
mod sarif;
#[cfg(test)]
mod testing;
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
        Format::Sarif => sarif::render(report, cx, out),
        Format::Junit => junit::render(report, out),
        Format::Github => github::render(report, out),
        Format::Markdown => markdown::render(report, out),
        Format::Html => html::render(report, out),
    }
}

/// Writes the report to stdout and to every `--output`.
///
/// `--format` goes to stdout unless a plain `--output FILE` redirects it there. `--output
/// FORMAT=FILE` writes another format besides (`FORMAT=-` to stdout), so a pipeline can print
/// annotations and keep SARIF and the Markdown report as files in one run.
pub fn emit(report: &Report, common: &CommonArgs, sources: &Sources) -> Result<()> {
    let mut redirected = false;
    let mut to_stdout: Vec<Format> = Vec::new();
    let mut github = false;
    for spec in &common.output {
        let (format, path) = if let Some((name, path)) = spec.split_once('=') {
            let format = <Format as clap::ValueEnum>::from_str(name, true)
                .map_err(|_| anyhow::anyhow!("--output {spec}: unknown format `{name}`"))?;
            (format, path)
        } else {
            redirected = true;
            (common.format, spec.as_str())
        };
        github |= format == Format::Github;
        if path == "-" {
            to_stdout.push(format);
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
    if !redirected && !to_stdout.contains(&common.format) {
        to_stdout.insert(0, common.format);
    }
    if !to_stdout.is_empty() {
        let color = text::color_wanted();
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        for format in to_stdout {
            render(format, report, &Context { sources, color }, &mut lock)?;
            github |= format == Format::Github;
        }
        lock.flush()?;
    }
    // The job summary is written once per run, however many github outputs there are.
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty());
    if let Some(path) = summary.filter(|_| github) {
        github::append_step_summary(report, std::path::Path::new(&path))?;
    }
    Ok(())
}
