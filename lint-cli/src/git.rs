//! `--base REF --head REF`: both trees read from git without a checkout.
//!
//! Only what the change touches is read: the manifests changed between the refs, plus the other
//! manifests in their directories (LimitRanges and the workload an agent config belongs to live
//! next to it). Blobs are read in one `git cat-file --batch` call per side.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use changelint_policies::SourceFile;

use changelint_policies::input::is_manifest_path;

use crate::inputs::check_size;

/// One file changed between the refs.
struct Changed {
    /// Path at the base ref (`None` for an added file).
    old: Option<String>,
    /// Path at the head ref (`None` for a deleted file).
    new: Option<String>,
}

fn git(repo: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .context("running git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

/// Reads the before (base) and after (head) sides of a change from a repository.
pub fn read_refs(
    repo: &Path,
    base: &str,
    head: &str,
) -> Result<(Vec<SourceFile>, Vec<SourceFile>)> {
    for rev in [base, head] {
        git(
            repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .with_context(|| format!("`{rev}` is not a commit in {}", repo.display()))?;
    }
    let diff = git(repo, &["diff", "--name-status", "-z", "-M", base, head])?;
    let changed = parse_name_status(&diff)?;
    let changed: Vec<Changed> = changed
        .into_iter()
        .filter(|c| c.old.iter().chain(&c.new).any(|p| is_manifest_path(p)))
        .collect();

    // Sets, not lists: every file of both trees is looked up in them, and a scan per file
    // made a pull request that touches thousands of files quadratic.
    let dirs: HashSet<&str> = changed
        .iter()
        .flat_map(|c| c.old.iter().chain(&c.new))
        .map(|p| dir_of(p))
        .collect();
    let neighbours = |rev: &str| -> Result<Vec<String>> {
        let listing = git(repo, &["ls-tree", "-r", "-z", "--name-only", rev])?;
        Ok(listing
            .split(|b| *b == 0)
            .filter_map(|p| std::str::from_utf8(p).ok())
            .filter(|p| is_manifest_path(p) && dirs.contains(dir_of(p)))
            .map(str::to_owned)
            .collect())
    };

    // (path to read, pairing path): a renamed file pairs under its new name.
    let mut before: Vec<(String, String)> = Vec::new();
    let mut after: Vec<(String, String)> = Vec::new();
    for c in &changed {
        if let Some(old) = &c.old {
            before.push((old.clone(), c.new.clone().unwrap_or_else(|| old.clone())));
        }
        if let Some(new) = &c.new {
            after.push((new.clone(), new.clone()));
        }
    }
    let mut read_before: HashSet<String> = before.iter().map(|(path, _)| path.clone()).collect();
    // A path that a changed file has at head is already paired: its base side is the file it
    // was changed or renamed from.
    read_before.extend(changed.iter().filter_map(|c| c.new.clone()));
    for path in neighbours(base)? {
        if read_before.insert(path.clone()) {
            before.push((path.clone(), path));
        }
    }
    let mut read_after: HashSet<String> = after.iter().map(|(path, _)| path.clone()).collect();
    for path in neighbours(head)? {
        if read_after.insert(path.clone()) {
            after.push((path.clone(), path));
        }
    }
    Ok((
        cat_files(repo, base, &before, true)?,
        cat_files(repo, head, &after, false)?,
    ))
}

/// The directory of a repository path (`""` at the root).
fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `git diff --name-status -z` output: `M\0path\0`, `R100\0old\0new\0`, ...
fn parse_name_status(output: &[u8]) -> Result<Vec<Changed>> {
    let mut fields = output
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| String::from_utf8_lossy(f).into_owned());
    let mut out = Vec::new();
    while let Some(status) = fields.next() {
        let mut path = || {
            fields
                .next()
                .context("truncated `git diff --name-status` output")
        };
        let change = match status.as_bytes().first() {
            Some(b'A') => Changed {
                old: None,
                new: Some(path()?),
            },
            Some(b'D') => Changed {
                old: Some(path()?),
                new: None,
            },
            Some(b'R' | b'C') => {
                let old = path()?;
                Changed {
                    old: Some(old),
                    new: Some(path()?),
                }
            }
            _ => {
                let p = path()?;
                Changed {
                    old: Some(p.clone()),
                    new: Some(p),
                }
            }
        };
        out.push(change);
    }
    Ok(out)
}

/// Reads blobs `rev:path` in one `git cat-file --batch` process. Files are shown as `rev:path`
/// when `name_rev`, else by their plain path (the head side: what a pull request's checkout and
/// code scanning call the file).
///
/// A symbolic link is read as the file it leads to in the same commit, as a checkout (and
/// `changelint check` of a directory) reads it; one that leads out of the commit, or nowhere,
/// is an error naming it.
fn cat_files(
    repo: &Path,
    rev: &str,
    paths: &[(String, String)],
    name_rev: bool,
) -> Result<Vec<SourceFile>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch", "--follow-symlinks"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running git cat-file")?;
    let mut stdin = child.stdin.take().context("git cat-file stdin")?;
    let requests = paths.iter().fold(String::new(), |mut out, (path, _)| {
        out.push_str(rev);
        out.push(':');
        out.push_str(path);
        out.push('\n');
        out
    });
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let mut reader = BufReader::new(child.stdout.take().context("git cat-file stdout")?);
    let mut files = Vec::new();
    for (path, pairing) in paths {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let mut parts = header.split_whitespace();
        match parts.next() {
            Some("symlink") => {
                let mut target = String::new();
                reader.read_line(&mut target)?;
                bail!(
                    "{rev}:{path}: a symbolic link to `{}`, outside the commit: only files \
                     in the commit can be read from git",
                    target.trim_end()
                );
            }
            Some(problem @ ("dangling" | "loop" | "notdir")) => bail!(
                "{rev}:{path}: a symbolic link that leads to no file in the commit ({problem})"
            ),
            _ => {}
        }
        let (kind, size) = (parts.next(), parts.next());
        if kind != Some("blob") {
            bail!("{rev}:{path}: not found in git ({})", header.trim());
        }
        let size: u64 = size
            .and_then(|s| s.parse().ok())
            .context("git cat-file: bad header")?;
        check_size(&format!("{rev}:{path}"), size)?;
        let size = usize::try_from(size)?;
        let mut bytes = vec![0; size];
        reader.read_exact(&mut bytes)?;
        let mut newline = [0u8; 1];
        reader.read_exact(&mut newline)?;
        files.push(SourceFile {
            path: if name_rev {
                format!("{rev}:{path}")
            } else {
                path.clone()
            },
            pairing_path: pairing.clone(),
            bytes,
        });
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("git cat-file writer panicked"))??;
    child.wait()?;
    Ok(files)
}
