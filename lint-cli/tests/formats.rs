//! Every output format through the real binary on the incident example (`examples/incident`):
//! exit code, the values that matter, SARIF schema validity, annotations with file and line,
//! the job summary, several outputs in one run, and `explain` printing the generated docs.

mod support {
    pub mod sarif_schema;
}

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `changelint check` on the incident, run from the repository root so paths are relative.
fn check(extra: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_changelint"));
    command
        .current_dir(repo_root())
        .args([
            "check",
            "--before",
            "examples/incident/before",
            "--after",
            "examples/incident/after",
            "--record",
            "examples/incident/CHG-2026-01-21-OBS-0855.md",
        ])
        .args(extra)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1");
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().expect("changelint runs")
}

fn stdout_of(format: &str) -> String {
    let output = check(&["--format", format], &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "--format {format}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("changelint-formats-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn markdown_shows_the_four_values_going_to_unbounded() {
    let md = stdout_of("markdown");
    assert!(md.starts_with("## ⛔ changelint: **deny**"), "{md}");
    for value in ["200m", "256Mi", "100m", "128Mi"] {
        assert!(
            md.contains(&format!("{value} → **unbounded**")),
            "{value}:\n{md}"
        );
    }
    assert!(md.contains("**Fix:**"));
    // The record never mentions resources: its Resource Impact section is missing.
    assert!(md.contains("resource-impact-missing"), "{md}");
}

#[test]
fn sarif_validates_and_results_have_lines() {
    let log: serde_json::Value = serde_json::from_str(&stdout_of("sarif")).expect("JSON");
    support::sarif_schema::assert_valid(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let physical = &result["locations"][0]["physicalLocation"];
        assert!(
            physical["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("examples/incident/")
        );
        assert!(physical["region"]["startLine"].as_u64().unwrap() > 0);
    }
}

#[test]
fn github_annotations_have_file_and_line_and_fill_the_job_summary() {
    let dir = scratch("github");
    let summary = dir.join("summary.md");
    let output = check(
        &["--format", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.as_path())],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    let annotations: Vec<&str> = text.lines().filter(|l| l.starts_with("::")).collect();
    assert!(annotations.iter().any(|l| l.starts_with("::error ")));
    assert!(annotations.iter().any(|l| l.starts_with("::warning ")));
    for line in &annotations {
        assert!(line.contains(" file=examples/incident/"), "{line}");
        assert!(line.contains(",line="), "{line}");
    }
    let summary = std::fs::read_to_string(&summary).expect("job summary written");
    assert!(summary.contains("256Mi → **unbounded**"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn junit_fails_the_deny_rules() {
    let xml = stdout_of("junit");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
    assert!(xml.contains("<testsuite name=\"limits-removed\""));
    assert!(xml.contains("<failure type=\"deny\""));
    assert_eq!(
        xml.matches("<testsuite ").count(),
        xml.matches("</testsuite>").count()
    );
}

#[test]
fn html_is_self_contained_with_a_chart() {
    let html = stdout_of("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(html.contains("default-src 'none'"));
    for needle in ["<script", "<link", "<img", "src="] {
        assert!(!html.contains(needle), "{needle}");
    }
}

#[test]
fn several_outputs_in_one_run() {
    let dir = scratch("outputs");
    let sarif = dir.join("changelint.sarif");
    let md = dir.join("report.md");
    let output = check(
        &[
            "--output",
            &format!("sarif={}", sarif.display()),
            "--output",
            &format!("markdown={}", md.display()),
            "--format",
            "github",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    // `FORMAT=FILE` outputs come on top of --format on stdout.
    assert!(String::from_utf8_lossy(&output.stdout).contains("::error file="));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    support::sarif_schema::assert_valid(&log);
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("**unbounded**")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_same_output_file_twice_is_a_usage_error() {
    let dir = scratch("same-output");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let report = dir.join("report");
    let shown = report.display().to_string();
    let dir_shown = dir.display();
    for pair in [
        [format!("json={shown}"), format!("sarif={shown}")],
        [shown.clone(), format!("markdown={shown}")],
        // One file, spelled two ways.
        [
            format!("json={shown}"),
            format!("sarif={dir_shown}/./report"),
        ],
        [
            format!("json={dir_shown}/sub/../report"),
            format!("sarif={shown}"),
        ],
    ] {
        let output = check(&["--output", &pair[0], "--output", &pair[1]], &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{pair:?}: {stderr}");
        let second = pair[1]
            .split_once('=')
            .map_or(pair[1].as_str(), |(_, path)| path);
        assert!(
            stderr.contains(&format!("--output {second}: given twice")),
            "{pair:?}: {stderr}"
        );
        // Refused before anything is written: no report is half there.
        assert!(!report.exists(), "{pair:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
    // Nothing is overwritten on a device: every format to /dev/null times their rendering.
    #[cfg(unix)]
    {
        let output = check(
            &["--output", "json=/dev/null", "--output", "sarif=/dev/null"],
            &[],
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn explain_prints_the_generated_rule_page() {
    let output = Command::new(env!("CARGO_BIN_EXE_changelint"))
        .args(["explain", "limits-removed"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let page = std::fs::read_to_string(repo_root().join("docs/rules/limits-removed.md")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), page);
}
