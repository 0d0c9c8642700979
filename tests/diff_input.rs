//! `--diff FILE` (alone and with `--repo`) and `--record`: the same change fed as trees, as a
//! patch with the repository, or as git refs gives the same verdict and findings.

use std::fs;
use std::path::Path;

use crate::git_input::repo_of;
use crate::util::{changelint, changelint_json, memory_limit_removed, repo_path, rules_of};

const RECORD: &str = "examples/incident/CHG-2026-01-21-OBS-0855.md";

fn summary(report: &serde_json::Value) -> Vec<String> {
    crate::git_input::summary(report)
}

/// Puts a corpus side at its real paths: `before/Documentation__kube-flannel.yml` becomes
/// `Documentation/kube-flannel.yml`; a single `before.yaml` takes the one path of the diff.
fn unflatten(case: &Path, side: &str, diff: &str, to: &Path) {
    let single = case.join(format!("{side}.yaml"));
    if single.exists() {
        let path = diff
            .lines()
            .find_map(|l| l.strip_prefix("+++ b/"))
            .expect("a git diff of one file");
        let target = to.join(path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(single, target).unwrap();
        return;
    }
    for entry in fs::read_dir(case.join(side)).unwrap() {
        let path = entry.unwrap().path();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("__", "/");
        let target = to.join(name);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(&path, target).unwrap();
    }
}

#[test]
fn incident_is_denied_from_every_input_form() {
    let forms: Vec<Vec<String>> = vec![
        vec![
            "--before".into(),
            "examples/incident/before".into(),
            "--after".into(),
            "examples/incident/after".into(),
        ],
        vec![
            "--diff".into(),
            "examples/incident/runtime-log-shipper-config-diff.txt".into(),
        ],
        vec![
            "--diff".into(),
            "examples/incident/runtime-log-shipper-config-diff.txt".into(),
            "--repo".into(),
            "examples/incident/before".into(),
        ],
        // The working tree may already hold the head: the patch is then reverted.
        vec![
            "--diff".into(),
            "examples/incident/runtime-log-shipper-config-diff.txt".into(),
            "--repo".into(),
            "examples/incident/after".into(),
        ],
    ];
    let repo = repo_of(
        Path::new(&repo_path("examples/incident/before")),
        Path::new(&repo_path("examples/incident/after")),
    );
    let mut forms = forms;
    forms.push(vec![
        "--base".into(),
        "base".into(),
        "--head".into(),
        "HEAD".into(),
        "--repo".into(),
        repo.path().display().to_string(),
    ]);
    for form in forms {
        let mut args = vec!["check"];
        args.extend(form.iter().map(String::as_str));
        args.extend(["--record", RECORD]);
        let (code, report) = changelint_json(&args);
        assert_eq!(code, 1, "{form:?}");
        let rules = rules_of(&report);
        for (rule, severity) in [
            ("limits-removed", "deny"),
            ("resource-impact-missing", "deny"),
        ] {
            assert!(
                rules.contains(&(rule.to_owned(), severity.to_owned())),
                "{form:?}: {rules:?}"
            );
        }
        let memory = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "limits-removed" && f["severity"] == "deny")
            .unwrap();
        assert_eq!(memory["line"], 13, "{form:?}");
        assert!(
            memory["file"]
                .as_str()
                .unwrap()
                .ends_with("runtime-system/log-shipper/config.yaml"),
            "{form:?}: {memory}"
        );
    }
}

#[test]
fn corpus_diffs_give_the_same_findings_as_trees_and_git_refs() {
    for case in [
        "flannel-remove-cpu-memory-limits",
        "otel-collector-remove-default-resources",
        "microservices-demo-add-resource-limits",
        "kube-prometheus-higher-limits-node-exporter-ksm",
        "vpc-cni-calico-clear-cpu-request",
    ] {
        let dir = repo_path(&format!("policies/fixtures/diffs/{case}"));
        let diff = format!("{dir}.diff");
        let work = tempfile::tempdir().unwrap();
        let (before, after) = (work.path().join("before"), work.path().join("after"));
        let diff_text = fs::read_to_string(&diff).unwrap();
        unflatten(Path::new(&dir), "before", &diff_text, &before);
        unflatten(Path::new(&dir), "after", &diff_text, &after);
        let (before, after) = (before.display().to_string(), after.display().to_string());

        let (tree_code, trees) =
            changelint_json(&["check", "--before", &before, "--after", &after]);
        let (patch_code, patched) = changelint_json(&["check", "--diff", &diff, "--repo", &before]);
        let repo = repo_of(Path::new(&before), Path::new(&after));
        let (git_code, refs) = changelint_json(&[
            "check",
            "--base",
            "base",
            "--head",
            "HEAD",
            "--repo",
            &repo.path().display().to_string(),
        ]);
        assert_eq!((tree_code, patch_code), (git_code, git_code), "{case}");
        assert_eq!(summary(&trees), summary(&patched), "{case}: trees vs patch");
        assert_eq!(summary(&trees), summary(&refs), "{case}: trees vs git refs");

        // The patch alone cannot see whole objects, but it reaches the same verdict.
        let (alone_code, alone) = changelint_json(&["check", "--diff", &diff]);
        assert_eq!(
            (alone_code, &alone["verdict"]),
            (tree_code, &trees["verdict"]),
            "{case}: patch alone: {alone:#}"
        );
    }
}

#[test]
fn plain_diff_u_is_read_too() {
    let diff = repo_path("policies/fixtures/diffs/plain-u-agent.diff");
    let (code, report) = changelint_json(&["check", "--diff", &diff]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        rules_of(&report)
            .iter()
            .any(|(rule, _)| rule == "limits-removed")
    );
}

#[test]
fn a_hunk_inside_a_block_scalar_holds_nothing_to_judge() {
    let dir = tempfile::tempdir().unwrap();
    // Lines 18-24 of a ConfigMap whose `script.sh: |` holds `echo line1` to `echo line20`.
    let hunk = "@@ -18,7 +18,7 @@\n     echo line12\n     echo line13\n     echo line14\n-    echo line15\n+    echo changed15\n     echo line16\n     echo line17\n     echo line18\n";
    let diff = format!("--- a/cm.yaml\n+++ b/cm.yaml\n{hunk}");
    let only_script = dir.path().join("script.diff");
    fs::write(&only_script, &diff).unwrap();
    let (code, report) = changelint_json(&["check", "--diff", &only_script.display().to_string()]);
    assert_eq!(code, 0, "{report:#}");

    // Beside a removed limit, which is still found.
    let removal =
        fs::read_to_string(repo_path("policies/fixtures/diffs/plain-u-agent.diff")).unwrap();
    let both = dir.path().join("both.diff");
    fs::write(&both, format!("{diff}{removal}")).unwrap();
    let (code, report) = changelint_json(&["check", "--diff", &both.display().to_string()]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        rules_of(&report)
            .iter()
            .any(|(rule, _)| rule == "limits-removed"),
        "{report:#}"
    );
}

#[test]
fn a_diff_that_is_not_a_diff_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.diff");
    fs::write(&bad, "@@ -1,2 +1,2 @@\n-a\n").unwrap();
    let run = changelint(&["check", "--diff", &bad.display().to_string()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.diff"), "{}", run.stderr);
}

#[test]
fn records_from_the_corpus_and_from_a_github_event() {
    let (before, after) = memory_limit_removed();
    // A KEP-template record: its Scalability question is not a Resource Impact section.
    let kep =
        repo_path("policies/fixtures/records/kubernetes-enhancements__kep-template-README.md");
    let (code, report) = changelint_json(&[
        "check", "--before", &before, "--after", &after, "--record", &kep,
    ]);
    assert_eq!(code, 1);
    assert!(rules_of(&report).contains(&("resource-impact-missing".to_owned(), "deny".to_owned())));

    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    let body = "## Summary\\nDrop the memory limit.\\n\\n## Resource Impact\\nlog-shipper: memory limit 256Mi -> unbounded on every node.\\n";
    fs::write(
        &event,
        format!(r#"{{"action": "opened", "pull_request": {{"number": 7, "body": "{body}"}}}}"#),
    )
    .unwrap();
    let (_, report) = changelint_json(&[
        "check",
        "--before",
        &before,
        "--after",
        &after,
        "--record-from-github-event",
        &event.display().to_string(),
    ]);
    let rules = rules_of(&report);
    assert!(
        !rules
            .iter()
            .any(|(rule, _)| rule.starts_with("resource-impact")),
        "{rules:?}"
    );
    assert_eq!(
        report["impact"]["record"]["sections"][0]["state"],
        "present"
    );
}

#[test]
fn record_subcommand_and_template() {
    let run = changelint(&["record", "--template"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("## Resource Impact"));
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("record.md");
    fs::write(&template, &run.stdout).unwrap();
    let run = changelint(&["record", &template.display().to_string()]);
    assert_eq!(run.code, 0, "the template passes: {}", run.stdout);
    let run = changelint(&["record", RECORD]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("Resource Impact: missing"),
        "{}",
        run.stdout
    );
}

#[test]
fn record_from_stdin_and_one_stdin_reader_only() {
    let (before, after) = memory_limit_removed();
    let record = b"## Resource Impact\nlog-shipper: memory limit 256Mi -> unbounded\n";
    let run = crate::util::changelint_with_stdin(
        &[
            "check", "--before", &before, "--after", &after, "--record", "-", "--format", "json",
        ],
        Some(record),
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["impact"]["record"]["file"], "<stdin>");
    assert_eq!(
        report["impact"]["record"]["sections"][0]["state"],
        "present"
    );
    let run = changelint(&["check", "--before", "-", "--after", &after, "--record", "-"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--before, --record all read stdin"),
        "{}",
        run.stderr
    );
    // The record would take all of stdin, and the diff would read as no change at all.
    let run = changelint(&["check", "--diff", "-", "--record", "-"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--diff, --record all read stdin"),
        "{}",
        run.stderr
    );
    // Every command counts every input that can read stdin.
    for (args, readers) in [
        (
            &["check", "--diff", "-", "--policy", "-"][..],
            "--diff, --policy",
        ),
        (
            &[
                "check",
                "--after",
                "-",
                "--before",
                &after,
                "--inventory",
                "-",
            ],
            "--after, --inventory",
        ),
        (&["audit", "-", "--policy", "-"], "PATH, --policy"),
        (
            &["audit", &after, "--inventory", "-", "--policy", "-"],
            "--policy, --inventory",
        ),
        (&["record", "-", "--policy", "-"], "FILE, --policy"),
    ] {
        let run = changelint(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let says = format!("{readers} all read stdin");
        assert!(run.stderr.contains(&says), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn a_binary_patch_of_a_manifest_is_an_error_naming_the_diff_and_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("change.diff");
    let shown = diff.display().to_string();
    let repo = dir.path().display().to_string();
    for patch in [
        "diff --git a/d/ds.yaml b/d/ds.yaml\nindex 1111111..2222222 100644\nBinary files a/d/ds.yaml and b/d/ds.yaml differ\n",
        "diff --git a/d/ds.yaml b/d/ds.yaml\nindex 1111111..2222222 100644\nGIT binary patch\nliteral 12\nTcmZ?wbhEHbRA*pd00000\n\nliteral 0\nHcmV?d00001\n\n",
        "Binary files old/d/ds.yaml and new/d/ds.yaml differ\n",
    ] {
        fs::write(&diff, patch).unwrap();
        for with_repo in [&[][..], &["--repo", &repo][..]] {
            let mut args = vec!["check", "--diff", &shown];
            args.extend(with_repo);
            let run = changelint(&args);
            assert_eq!(
                run.code, 2,
                "{patch}{with_repo:?}: {}{}",
                run.stdout, run.stderr
            );
            assert!(
                run.stderr.contains(&shown)
                    && run.stderr.contains("binary patch of the manifest")
                    && run.stderr.contains("d/ds.yaml"),
                "{patch}{with_repo:?}: {}",
                run.stderr
            );
        }
    }

    // A binary file that is not a manifest (an image) is no input of the lint.
    let incident = fs::read_to_string(repo_path(
        "examples/incident/runtime-log-shipper-config-diff.txt",
    ))
    .unwrap();
    fs::write(
        &diff,
        format!(
            "diff --git a/logo.png b/logo.png\nindex 1111111..2222222 100644\nBinary files a/logo.png and b/logo.png differ\n{incident}"
        ),
    )
    .unwrap();
    let (code, report) = changelint_json(&["check", "--diff", &shown]);
    assert_eq!(code, 1, "{report}");
}

#[test]
fn a_record_that_starts_with_a_byte_order_mark_keeps_its_first_heading() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.md");
    fs::write(
        &record,
        "\u{feff}## Resource Impact\nlog-shipper: memory limit 256Mi -> unbounded\n\n## Summary\nDrop the limit.\n\n## Rollback\nRevert.\n",
    )
    .unwrap();
    let record = record.display().to_string();
    let run = changelint(&["record", &record]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("{record}:1: Resource Impact: present")),
        "{}",
        run.stdout
    );

    let (before, after) = memory_limit_removed();
    let (_, report) = changelint_json(&[
        "check", "--before", &before, "--after", &after, "--record", &record,
    ]);
    assert_eq!(
        report["impact"]["record"]["sections"][0],
        serde_json::json!({"name": "Resource Impact", "state": "present", "line": 1}),
        "{report}"
    );
}
