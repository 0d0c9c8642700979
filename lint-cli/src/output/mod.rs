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

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use changelint_policies::{Report, SourceFile};

use crate::args::{CommonArgs, Format};

/// The source texts of every input, so renderers can quote the offending line.
#[derive(Default)]
pub struct Sources {
    files: HashMap<String, SourceText>,
}

struct SourceText {
    bytes: Vec<u8>,
    /// Byte offset of each line's start, found the first time a line of the file is asked for:
    /// most files of a large tree have no finding to quote.
    line_starts: OnceLock<Vec<usize>>,
}

impl Sources {
    /// Keeps the files' contents (moved, not copied).
    pub fn add(&mut self, files: impl IntoIterator<Item = SourceFile>) {
        for file in files {
            let text = SourceText {
                bytes: file.bytes,
                line_starts: OnceLock::new(),
            };
            self.files.insert(file.path, text);
        }
    }

    /// One 1-based line of a file, without its line break; `None` past the end or for a line
    /// that is not UTF-8 (such a file never reaches a finding).
    pub fn line(&self, file: &str, line: u32) -> Option<&str> {
        let text = self.files.get(file)?;
        let starts = text.line_starts();
        let index = line.checked_sub(1)? as usize;
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).copied().unwrap_or(text.bytes.len());
        // The last line ends at the end of the file, after its break if it has one.
        let bytes = &text.bytes[start..end];
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        // The reader skips a byte order mark; a quote of the first line must not show it.
        let bytes = match index {
            0 => bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes),
            _ => bytes,
        };
        std::str::from_utf8(bytes).ok()
    }

    /// Indexes, on every core, the lines of each file a finding points into: renderers quote
    /// one finding at a time, and an audit of a large tree quotes from most of its files.
    fn index_quoted_files(&self, report: &Report) {
        use rayon::prelude::*;

        let quoted: HashSet<&str> = report
            .findings
            .iter()
            .flat_map(|f| {
                [
                    f.file.as_deref(),
                    f.after_location.as_ref().map(|l| &*l.file),
                ]
            })
            .flatten()
            .collect();
        quoted
            .into_par_iter()
            .filter_map(|file| self.files.get(file))
            .for_each(|text| {
                text.line_starts();
            });
    }
}

impl SourceText {
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', &self.bytes).map(|at| at + 1))
                .filter(|&start| start < self.bytes.len())
                .collect()
        })
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
    if matches!(format, Format::Text | Format::Sarif) {
        // The formats that quote source lines.
        cx.sources.index_quoted_files(report);
    }
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

/// The file a report path lands in, however it is spelled (`./r.json`, `out/../r.json`, a
/// link): its real path when it exists, else its directory's real path and its name.
fn landing(path: &str) -> PathBuf {
    let path = Path::new(path);
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => {
            std::fs::canonicalize(dir).map_or_else(|_| absolute.clone(), |dir| dir.join(name))
        }
        _ => absolute,
    }
}

/// The context of a failed write to stdout.
const WRITING_STDOUT: &str = "writing the report to stdout";

/// Writes the report to stdout and to every `--output`.
///
/// `--format` goes to stdout unless a plain `--output FILE` redirects it there. `--output
/// FORMAT=FILE` writes another format besides (`FORMAT=-` to stdout), so a pipeline can print
/// annotations and keep SARIF and the Markdown report as files in one run.
pub fn emit(report: &Report, common: &CommonArgs, sources: &Sources) -> Result<()> {
    let mut redirected = false;
    let mut to_stdout: Vec<Format> = Vec::new();
    let mut to_files: Vec<(Format, &str)> = Vec::new();
    let mut landings = HashSet::new();
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
        // The second report would overwrite the first: refused before any file is written.
        // A device or a pipe (`/dev/null`, as scripts/bench-cli.sh uses) overwrites nothing:
        // the reports go to it one after the other, as several `FORMAT=-` go to stdout.
        let device = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        if !device && !landings.insert(landing(path)) {
            anyhow::bail!("--output {path}: given twice; each report needs a file of its own");
        }
        to_files.push((format, path));
    }
    for (format, path) in to_files {
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
        // Stdout is line-buffered: a large report would be a write call per line.
        let mut lock = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
        // An OS error alone ("No space left on device") does not say which output failed.
        for format in to_stdout {
            render(format, report, &Context { sources, color }, &mut lock)
                .context(WRITING_STDOUT)?;
            github |= format == Format::Github;
        }
        lock.flush().context(WRITING_STDOUT)?;
    }
    // The job summary is written once per run, however many github outputs there are.
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty());
    if let Some(path) = summary.filter(|_| github) {
        github::append_step_summary(report, std::path::Path::new(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_quote_lines_as_str_lines_would() {
        let mut sources = Sources::default();
        let text = "a: 1\r\nb: 2\n\nc: 3";
        sources.add([
            SourceFile::new("t.yaml", text.as_bytes()),
            SourceFile::new("bad.yaml", b"ok\n\xff\n".to_vec()),
        ]);
        let expected: Vec<&str> = text.lines().collect();
        for (index, line) in expected.iter().enumerate() {
            assert_eq!(sources.line("t.yaml", index as u32 + 1), Some(*line));
        }
        assert_eq!(sources.line("t.yaml", 0), None);
        assert_eq!(sources.line("t.yaml", 5), None);
        assert_eq!(sources.line("other.yaml", 1), None);
        assert_eq!(sources.line("bad.yaml", 1), Some("ok"));
        assert_eq!(sources.line("bad.yaml", 2), None);
    }

    #[test]
    fn lines_are_quoted_without_their_line_break_or_a_byte_order_mark() {
        let mut sources = Sources::default();
        sources.add([
            SourceFile::new("lf.yaml", "a: 1\nb: 2\n"),
            SourceFile::new("crlf.yaml", "a: 1\r\nb: 2\r\n"),
            SourceFile::new("one.yaml", "a: 1\n"),
            SourceFile::new("bom.yaml", "\u{feff}a: 1\n"),
        ]);
        for file in ["lf.yaml", "crlf.yaml"] {
            assert_eq!(sources.line(file, 2), Some("b: 2"), "{file}");
            assert_eq!(sources.line(file, 3), None, "{file}");
        }
        assert_eq!(sources.line("one.yaml", 1), Some("a: 1"));
        assert_eq!(sources.line("bom.yaml", 1), Some("a: 1"));
    }
}
