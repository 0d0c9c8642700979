//! `--diff FILE --repo DIR`: the patch applied to the repository's files, so full before and
//! after files are judged. The working tree may hold either side (a checkout of the base, or of
//! the head with the patch already in it); whichever the patch fits is used.

use std::path::Path;

use anyhow::{Result, bail};
use changelint_policies::SourceFile;
use changelint_policies::diff::parse_unified_diff;

/// Both sides of every manifest the patch touches, rebuilt from the repository's files.
pub fn full_files(
    diff_name: &str,
    text: &str,
    repo: &Path,
) -> Result<(Vec<SourceFile>, Vec<SourceFile>)> {
    let patches = parse_unified_diff(text)
        .map_err(|e| anyhow::anyhow!("{diff_name}:{}: {}", e.line, e.message))?;
    let mut before = Vec::new();
    let mut after = Vec::new();
    for patch in changelint_policies::manifest_patches(diff_name, &patches)? {
        let pairing = patch.path().to_owned();
        let read = |path: &str| -> Result<Option<String>> {
            let file = repo.join(path);
            if !file.exists() {
                return Ok(None);
            }
            crate::inputs::read_text(&file).map(|(_, text)| Some(text))
        };
        let old_text = match &patch.old_path {
            Some(old) => read(old)?,
            None => None,
        };
        let new_text = match &patch.new_path {
            Some(new) => read(new)?,
            None => None,
        };
        // The working tree is the base if the patch applies to it, else the head if it reverts.
        let (old, new) = match (&patch.old_path, &patch.new_path) {
            (Some(_), _) if old_text.as_deref().is_some_and(|t| patch.apply(t).is_ok()) => {
                let old = old_text.unwrap_or_default();
                let new = patch.apply(&old).ok();
                (Some(old), new)
            }
            (_, Some(_)) if new_text.as_deref().is_some_and(|t| patch.revert(t).is_ok()) => {
                let new = new_text.unwrap_or_default();
                let old = patch.revert(&new).ok();
                (old, Some(new))
            }
            (None, Some(_)) => (
                None,
                Some(
                    patch
                        .apply("")
                        .map_err(|e| anyhow::anyhow!("{diff_name}:{}: {}", e.line, e.message))?,
                ),
            ),
            _ => bail!(
                "{diff_name}: the patch for `{}` applies neither to {} nor in reverse",
                patch.path(),
                repo.join(patch.path()).display()
            ),
        };
        if let (Some(path), Some(text)) = (&patch.old_path, old.filter(|t| !t.trim().is_empty())) {
            before.push(SourceFile {
                path: path.clone(),
                pairing_path: pairing.clone(),
                bytes: text.into_bytes(),
            });
        }
        if let (Some(path), Some(text)) = (&patch.new_path, new.filter(|t| !t.trim().is_empty())) {
            after.push(SourceFile {
                path: path.clone(),
                pairing_path: pairing.clone(),
                bytes: text.into_bytes(),
            });
        }
    }
    Ok((before, after))
}
