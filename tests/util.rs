//! Shared test helpers: locating the binaries and fixtures, running a command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A path under `tests/fixtures/`.
pub fn fixture(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative);
    assert!(path.exists(), "missing fixture {}", path.display());
    path.display().to_string()
}

/// A path under the workspace root (examples, policies/fixtures).
pub fn repo_path(relative: &str) -> String {
    let path = root().join(relative);
    assert!(path.exists(), "missing {}", path.display());
    path.display().to_string()
}

/// A binary of the workspace, freshly built: `cargo test -p changelint-tests` alone does not
/// rebuild other packages' binaries, and a stale binary would test old code.
pub fn binary(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--bins", "--workspace"])
            .current_dir(root())
            .status()
            .expect("cargo build runs");
        assert!(status.success(), "building the workspace binaries failed");
    });
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The result of running the CLI.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `changelint ARGS` from the workspace root, with no colour.
pub fn changelint(args: &[&str]) -> Run {
    changelint_with_stdin(args, None)
}

/// `changelint ARGS` as every test runs it: from the workspace root, with no colour and no
/// GitHub job summary.
pub fn changelint_command(args: &[&str]) -> Command {
    let mut command = Command::new(binary("changelint"));
    command
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY");
    command
}

/// Runs `changelint ARGS` with bytes on stdin.
pub fn changelint_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = changelint_command(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("changelint starts");
    if let Some(bytes) = stdin {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(bytes)
            .expect("stdin accepts input");
    }
    child
        .wait_with_output()
        .expect("changelint finishes")
        .into()
}

/// Runs `changelint ARGS --format json` and parses the report.
pub fn changelint_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = changelint(&all);
    let report = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
    (run.code, report)
}

/// One text field of every finding of a JSON report, in order.
pub fn field_of_findings(report: &serde_json::Value, field: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f[field].as_str().expect("a text field").to_owned())
        .collect()
}

/// `(rule, severity)` of every finding of a JSON report.
pub fn rules_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The before and after paths of a rule fixture case of `policies/fixtures/` (single files or
/// trees).
pub fn fixture_sides(rule: &str, kind: &str, case: &str) -> (String, String) {
    let dir = repo_path(&format!("policies/fixtures/{rule}/{kind}/{case}"));
    let side = |s: &str| {
        let file = format!("{dir}/{s}.yaml");
        if std::path::Path::new(&file).exists() {
            file
        } else {
            format!("{dir}/{s}")
        }
    };
    (side("before"), side("after"))
}

/// The incident's shape as a fixture: the log-shipper DaemonSet before and after its memory
/// limit was removed.
pub fn memory_limit_removed() -> (String, String) {
    fixture_sides("limits-removed", "bad", "daemonset-memory-limit")
}

/// Checks a rule fixture case of `policies/fixtures/` as JSON.
pub fn check_fixture(rule: &str, kind: &str, case: &str) -> (i32, serde_json::Value) {
    let (before, after) = fixture_sides(rule, kind, case);
    changelint_json(&["check", "--before", &before, "--after", &after])
}
