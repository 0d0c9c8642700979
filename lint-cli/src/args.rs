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
pub struct CheckArgs {
    /// The state before the change: a file, a directory (recursive: .yaml .yml .json) or `-`.
    #[arg(long, value_name = "PATH", requires = "after")]
    pub before: Option<String>,
    /// The state after the change: a file, a directory or `-`.
    #[arg(long, value_name = "PATH", requires = "before")]
    pub after: Option<String>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
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
}
