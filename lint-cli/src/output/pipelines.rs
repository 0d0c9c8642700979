//! Tests that the ready-to-copy pipeline examples (`examples/pipelines/*.yml` and the
//! repository's `.pre-commit-hooks.yaml`) only use changelint flags that exist: every
//! `changelint ...` command in their `run:`, `script:` or `entry:` + `args:` is parsed with the
//! real clap definitions.

use changelint_policies::yaml::{Limits, parse_documents};
use clap::{CommandFactory as _, Parser as _};
use serde_json::Value;

use super::testing::repo_root;
use crate::args::Cli;

/// Flags the examples use that belong to other issues and may not exist yet, each with the
/// number of values it takes. A flag is only removed before parsing while the CLI lacks it, so
/// this list never hides a typo in a flag that exists.
const PENDING_FLAGS: &[(&str, usize)] = &[
    // Change records from the pull request body (issue 8).
    ("--record-from-github-event", 1),
    ("--record", 1),
];

/// Keys whose string values are shell scripts (GitHub `run`, GitLab `script` and friends).
const SCRIPT_KEYS: &[&str] = &["run", "script", "before_script", "after_script"];

/// Splits a shell command into words: quotes group, variables stay as written.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `changelint` command lines of a script (continuation lines joined).
fn commands_in_script(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("changelint "))
        .map(shell_words)
        .collect()
}

fn collect(value: &Value, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            // A pre-commit hook: `entry` plus `args`, then the staged file names.
            if let Some(Value::String(entry)) = map.get("entry") {
                let mut words = shell_words(entry);
                if let Some(Value::Array(args)) = map.get("args") {
                    words.extend(args.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                words.push("deploy/daemonset.yaml".to_owned());
                out.push(words);
            }
            for (key, child) in map {
                match child {
                    Value::String(script) if SCRIPT_KEYS.contains(&key.as_str()) => {
                        out.extend(commands_in_script(script));
                    }
                    Value::Array(lines) if SCRIPT_KEYS.contains(&key.as_str()) => {
                        for line in lines.iter().filter_map(Value::as_str) {
                            out.extend(commands_in_script(line));
                        }
                    }
                    _ => collect(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        _ => {}
    }
}

/// Removes the pending flags the subcommand does not have yet.
fn without_pending_flags(words: &[String]) -> Vec<String> {
    let command = Cli::command();
    let sub = words.get(1).and_then(|name| command.find_subcommand(name));
    let known = |flag: &str| {
        sub.is_some_and(|sub| {
            sub.get_arguments()
                .any(|a| a.get_long() == flag.strip_prefix("--"))
        })
    };
    let mut kept = Vec::new();
    let mut skip = 0;
    for word in words {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let pending = PENDING_FLAGS
            .iter()
            .find(|(flag, _)| word == flag || word.starts_with(&format!("{flag}=")));
        match pending {
            Some((flag, values)) if !known(flag) => {
                skip = if word.contains('=') { 0 } else { *values };
            }
            _ => kept.push(word.clone()),
        }
    }
    kept
}

#[test]
fn pipeline_examples_use_only_existing_flags() {
    let files = [
        "examples/pipelines/github-actions.yml",
        "examples/pipelines/gitlab-ci.yml",
        ".pre-commit-hooks.yaml",
    ];
    for file in files {
        let text = std::fs::read_to_string(repo_root().join(file)).expect(file);
        let documents = parse_documents(&text, &Limits::default())
            .unwrap_or_else(|e| panic!("{file} is not valid YAML: {e}"));
        let mut commands = Vec::new();
        for document in &documents {
            collect(&document.value, &mut commands);
        }
        assert!(!commands.is_empty(), "{file} runs no changelint command");
        for words in commands {
            let args = without_pending_flags(&words);
            if let Err(error) = Cli::try_parse_from(&args) {
                panic!("{file}: `{}` does not parse:\n{error}", words.join(" "));
            }
        }
    }
}

#[test]
fn github_workflow_uploads_sarif_comments_and_summarises() {
    let text =
        std::fs::read_to_string(repo_root().join("examples/pipelines/github-actions.yml")).unwrap();
    let workflow = &parse_documents(&text, &Limits::default()).unwrap()[0].value;
    let steps = workflow["jobs"]["changelint"]["steps"].as_array().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(
        uses.iter()
            .any(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    );
    assert!(steps.iter().any(|s| s["with"]["path"] == "report.md"
        || s["run"].as_str().is_some_and(|r| r.contains("report.md"))));
    assert_eq!(workflow["permissions"]["security-events"], "write");
}

#[test]
fn gitlab_job_reports_junit() {
    let text =
        std::fs::read_to_string(repo_root().join("examples/pipelines/gitlab-ci.yml")).unwrap();
    let pipeline = &parse_documents(&text, &Limits::default()).unwrap()[0].value;
    let junit = pipeline["changelint"]["artifacts"]["reports"]["junit"]
        .as_str()
        .unwrap();
    let script = pipeline["changelint"]["script"][0].as_str().unwrap();
    assert!(
        script.contains(&format!("--output junit={junit}")),
        "{script}"
    );
}

#[test]
fn shell_words_keep_quoted_variables() {
    assert_eq!(
        shell_words(r#"changelint check --base "$BASE_SHA" --output 'a b'"#),
        [
            "changelint",
            "check",
            "--base",
            "$BASE_SHA",
            "--output",
            "a b"
        ]
    );
}
