//! Gathering inputs from the command line: files, directories (recursive) and stdin.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use changelint_policies::SourceFile;
use changelint_policies::input::{is_manifest_path, not_utf8};
use rayon::prelude::*;

/// Largest file read; larger ones are refused before they are read.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a PATH argument: a file, a directory (recursively) or `-` for stdin.
///
/// Files in a directory get their path relative to it as pairing path, so `before/x.yaml` pairs
/// with `after/x.yaml`; a single file (or stdin) gets an empty pairing path, so two single files
/// pair with each other whatever their names.
///
/// A PATH that is not a directory is read as one file whatever it is: a pipe (`<(cat x.yaml)`,
/// `/dev/stdin`) or a device is what the user named, and taking it for an empty directory
/// passed a change nobody read.
pub fn read_tree(arg: &str) -> Result<Vec<SourceFile>> {
    if arg == "-" {
        return Ok(vec![SourceFile {
            path: STDIN.into(),
            pairing_path: String::new(),
            bytes: read_stdin()?,
        }]);
    }
    let root = Path::new(arg);
    let meta = std::fs::metadata(root).with_context(|| format!("{arg}: cannot read"))?;
    if !meta.is_dir() {
        return Ok(vec![SourceFile {
            path: arg.to_owned(),
            pairing_path: String::new(),
            bytes: read_file(root)?,
        }]);
    }
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.with_context(|| format!("{arg}: cannot walk the directory"))?;
        if entry.file_type().is_dir() || !is_manifest_path(&entry.path().to_string_lossy()) {
            continue;
        }
        // Skipping a FIFO or a socket would drop a manifest unseen, and reading a FIFO nobody
        // writes to would block forever: only a path named on the command line is read so.
        if !entry.file_type().is_file() {
            bail!(
                "{}: not a regular file (a FIFO, socket or device); name it as a PATH of its own \
                 to read it",
                entry.path().display()
            );
        }
        paths.push(entry.into_path());
    }
    // Read on every core, as the engine parses: one by one, reading was a tenth of an audit.
    // Results keep the walk's order, and the first error in that order is the one reported.
    let read: Vec<Result<SourceFile>> = paths
        .par_iter()
        .with_max_len(1)
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(path);
            Ok(SourceFile {
                path: path.display().to_string(),
                pairing_path: relative.to_string_lossy().replace('\\', "/"),
                bytes: read_file(path)?,
            })
        })
        .collect();
    read.into_iter().collect()
}

/// How stdin is named in messages.
const STDIN: &str = "<stdin>";

/// Reads a text input that is not a manifest (a policy, an inventory, a diff, a change record,
/// a GitHub event; `-` is stdin) under the same size limit: `--diff /dev/zero` would otherwise
/// read until memory ran out. Returns the name to show and the text.
pub fn read_text(arg: &Path) -> Result<(String, String)> {
    let (shown, bytes) = if arg == Path::new("-") {
        (STDIN.to_owned(), read_stdin()?)
    } else {
        (arg.display().to_string(), read_file(arg)?)
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok((shown, text)),
        Err(error) => {
            let valid_up_to = error.utf8_error().valid_up_to();
            Err(not_utf8(&shown, error.as_bytes(), valid_up_to).into())
        }
    }
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("reading stdin")?;
    check_size(STDIN, bytes.len() as u64)?;
    Ok(bytes)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let shown = path.display().to_string();
    let cannot_read = || format!("{shown}: cannot read");
    let file = std::fs::File::open(path).with_context(cannot_read)?;
    let size = file.metadata().with_context(cannot_read)?.len();
    check_size(&shown, size)?;
    // A pipe or a device has no size to check beforehand: the limit holds while reading.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(cannot_read)?;
    check_size(&shown, bytes.len() as u64)?;
    Ok(bytes)
}

/// Refuses a file over the size limit: before reading it when its size is known, and after
/// reading at most one byte past the limit when it is not (a pipe).
pub fn check_size(name: &str, size: u64) -> Result<()> {
    if size > MAX_FILE_BYTES {
        bail!(
            "{name}: file is larger than {} MiB; refusing to read it",
            MAX_FILE_BYTES / 1024 / 1024
        );
    }
    Ok(())
}
