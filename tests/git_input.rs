//! `--base REF --head REF`: the same change read from git gives the same verdict and findings as
//! the same change given as trees.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{changelint_json, memory_limit_removed, repo_path};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// A repository with two commits: `before` then `after`, as `base` and `head`.
pub fn repo_of(before: &Path, after: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    copy_tree(before, dir.path());
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "before"]);
    git(dir.path(), &["tag", "base"]);
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != ".git") {
            if path.is_dir() {
                fs::remove_dir_all(path).unwrap();
            } else {
                fs::remove_file(path).unwrap();
            }
        }
    }
    copy_tree(after, dir.path());
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "after"]);
    dir
}

/// Findings without their file names (which differ by input form), sorted: findings sort by
/// file name first, and the forms name files differently.
pub fn summary(report: &serde_json::Value) -> Vec<String> {
    let mut lines: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["rule"], f["severity"], f["line"], f["pointer"], f["message"]
            )
        })
        .collect();
    lines.sort();
    lines
}

fn assert_same_from_git_and_trees(before: &str, after: &str) {
    let (before, after) = (Path::new(before), Path::new(after));
    let repo = repo_of(before, after);
    let repo_dir = repo.path().display().to_string();
    let (tree_code, from_trees) = changelint_json(&[
        "check",
        "--before",
        &before.display().to_string(),
        "--after",
        &after.display().to_string(),
    ]);
    let (git_code, from_git) = changelint_json(&[
        "check", "--base", "base", "--head", "HEAD", "--repo", &repo_dir,
    ]);
    assert_eq!(tree_code, git_code, "{from_git:#}");
    assert_eq!(from_trees["verdict"], from_git["verdict"]);
    assert_eq!(summary(&from_trees), summary(&from_git));
}

#[test]
fn incident_from_git_refs_matches_the_trees() {
    assert_same_from_git_and_trees(
        &repo_path("examples/incident/before"),
        &repo_path("examples/incident/after"),
    );
}

#[test]
fn corpus_commits_from_git_refs_match_the_trees() {
    for case in [
        "flannel-remove-cpu-memory-limits",
        "otel-operator-remove-default-resources",
        "microservices-demo-add-resource-limits",
    ] {
        let dir = repo_path(&format!("policies/fixtures/diffs/{case}"));
        assert_same_from_git_and_trees(&format!("{dir}/before"), &format!("{dir}/after"));
    }
}

#[test]
fn a_renamed_file_pairs_with_its_old_self() {
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = memory_limit_removed();
    fs::create_dir_all(dir.path().join("before/old")).unwrap();
    fs::create_dir_all(dir.path().join("after/new")).unwrap();
    fs::copy(before, dir.path().join("before/old/shipper.yaml")).unwrap();
    fs::copy(after, dir.path().join("after/new/shipper.yaml")).unwrap();
    let repo = repo_of(&dir.path().join("before"), &dir.path().join("after"));
    let (code, report) = changelint_json(&[
        "check",
        "--base",
        "base",
        "--head",
        "HEAD",
        "--repo",
        &repo.path().display().to_string(),
    ]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"][0]["rule"], "limits-removed");
    assert_eq!(report["findings"][0]["file"], "base:old/shipper.yaml");
}

#[test]
fn a_bad_ref_is_a_clear_error() {
    let repo = repo_of(
        Path::new(&repo_path("examples/incident/before")),
        Path::new(&repo_path("examples/incident/after")),
    );
    let run = crate::util::changelint(&[
        "check",
        "--base",
        "no-such-ref",
        "--head",
        "HEAD",
        "--repo",
        &repo.path().display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no-such-ref"), "{}", run.stderr);
}

/// A symbolic link in the repository is read as the file it leads to in the same commit, as a
/// checkout reads it (it was read as the text of its target: "document is not a mapping"); one
/// that leads out of the commit is an error naming it.
#[cfg(unix)]
#[test]
fn a_symbolic_link_is_read_as_the_file_it_leads_to() {
    use std::os::unix::fs::symlink;

    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    let (before, after) = memory_limit_removed();
    fs::create_dir_all(dir.join("shared")).unwrap();
    fs::create_dir_all(dir.join("apps")).unwrap();
    fs::copy(before, dir.join("shared/v1.yaml")).unwrap();
    fs::copy(after, dir.join("shared/v2.yaml")).unwrap();
    let link = dir.join("apps/shipper.yaml");
    symlink("../shared/v1.yaml", &link).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "v1"]);
    git(dir, &["tag", "base"]);
    fs::remove_file(&link).unwrap();
    symlink("../shared/v2.yaml", &link).unwrap();
    git(dir, &["commit", "-q", "-am", "v2"]);
    let shown = dir.display().to_string();
    let check = [
        "check", "--base", "base", "--head", "HEAD", "--repo", &shown,
    ];
    let (code, report) = changelint_json(&check);
    assert_eq!(code, 1, "{report:#}");
    let finding = &report["findings"][0];
    assert_eq!(
        (&finding["rule"], &finding["file"], &finding["line"]),
        (
            &serde_json::json!("limits-removed"),
            &serde_json::json!("base:apps/shipper.yaml"),
            &serde_json::json!(19)
        ),
        "{report:#}"
    );

    symlink("/etc/hostname", dir.join("apps/outside.yaml")).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "outside"]);
    let run = crate::util::changelint(&check);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("HEAD:apps/outside.yaml: a symbolic link to `/etc/hostname`, outside"),
        "{}",
        run.stderr
    );
}
