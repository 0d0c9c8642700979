//! Command-line arguments (clap derive). `docs/cli.md` is generated from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Stop risky infrastructure changes: removed resource limits, undeclared resource impact,
/// unsafe blast radius.
#[derive(Debug, Parser)]
#[command(name = "changelint", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a change: a before/after pair of manifest trees.
    Check(CheckArgs),
    /// Check the current state only: containers without limits, unsafe rollouts.
    Audit(AuditArgs),
    /// Check a change record alone: its required sections present and not empty.
    Record(RecordArgs),
    /// Print a rule's documentation.
    Explain {
        /// Rule id (`limits-removed`) or code (`CL101`).
        rule: String,
    },
    /// List every rule.
    Rules,
}

/// Options shared by `check` and `audit`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Policy file (YAML) read over the built-in default policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Fleet inventory (YAML): clusters with node counts and zones, for the fleet impact.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Output format for stdout and for `--output FILE`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the output to FILE instead of stdout; `FORMAT=FILE` writes another format.
    /// May be repeated to write several formats in one run.
    #[arg(long, value_name = "[FORMAT=]FILE")]
    pub output: Vec<String>,
}

/// `changelint check`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["before", "base", "diff"])))]
pub struct CheckArgs {
    /// The state before the change: a file, a directory (recursive: .yaml .yml .json) or `-`.
    #[arg(long, value_name = "PATH", requires = "after")]
    pub before: Option<String>,
    /// The state after the change: a file, a directory or `-`.
    #[arg(long, value_name = "PATH", requires = "before")]
    pub after: Option<String>,
    /// Read the before side from this git ref (with --head; no checkout needed).
    #[arg(long, value_name = "REF", requires = "head", conflicts_with_all = ["before", "after"])]
    pub base: Option<String>,
    /// Read the after side from this git ref (with --base).
    #[arg(long, value_name = "REF", requires = "base")]
    pub head: Option<String>,
    /// A unified diff (git or plain `diff -u`) on its own, as a pipeline that only has the patch;
    /// `-` for stdin.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["before", "after", "base", "head"])]
    pub diff: Option<PathBuf>,
    /// The repository for --base/--head (default: the current directory); with --diff, the
    /// files the patch applies to, so full before/after files are judged.
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The change record (Markdown), or `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub record: Option<String>,
    /// Take the change record from a pull request's body in a GitHub event payload
    /// (`$GITHUB_EVENT_PATH`).
    #[arg(long, value_name = "FILE", conflicts_with = "record")]
    pub record_from_github_event: Option<PathBuf>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `changelint record`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["file", "template"])))]
pub struct RecordArgs {
    /// The record (Markdown), or `-` for stdin.
    pub file: Option<String>,
    /// Print the change-record template that passes every record rule.
    #[arg(long)]
    pub template: bool,
    /// Policy file naming the required sections.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// `changelint audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Files or directories to audit.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-style diagnostics with the source line (default).
    Text,
    /// One JSON object: verdict, findings, impact, exemptions.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML: a test suite per rule, a test case per rule and object.
    Junit,
    /// GitHub Actions annotations; appends the report to `$GITHUB_STEP_SUMMARY` when set.
    Github,
    /// The impact report in GitHub-flavoured Markdown, ready for a pull-request comment.
    Markdown,
    /// The impact report as one self-contained HTML page with a chart.
    Html,
}
