//! `changelint`: thin glue between the command line, the file system and the policy engine.

mod args;
mod git;
mod inputs;
mod output;

use std::io;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use changelint_policies::scope::Inventory;
use changelint_policies::{Policy, Report, SourceFile, Verdict, registry};
use clap::Parser as _;

use args::{AuditArgs, CheckArgs, Cli, Command, CommonArgs};
use output::Sources;

/// The process exit status: the contract pipelines depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExitStatus {
    /// No deny-level finding.
    Success,
    /// At least one deny-level finding.
    Findings,
    /// A usage or input error.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Findings => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => status.into(),
        Err(error) => {
            // A closed pipe (`changelint ... | head`) is the reader's choice, not an error.
            if error
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            {
                return ExitStatus::Success.into();
            }
            eprintln!("error: {error:#}");
            ExitStatus::Error.into()
        }
    }
}

fn run(cli: Cli) -> Result<ExitStatus> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Audit(args) => audit(&args),
        Command::Explain { rule } => {
            let rule = registry::find(&rule)
                .ok_or_else(|| anyhow!("unknown rule `{rule}`; `changelint rules` lists them"))?;
            // The same text as docs/rules/<id>.md.
            print!("{}", output::docs::rule_markdown(rule.meta()));
            Ok(ExitStatus::Success)
        }
        Command::Rules => {
            for rule in registry::RULES {
                let meta = rule.meta();
                println!(
                    "{:<6} {:<28} {:<5} {}",
                    meta.code, meta.id, meta.severity, meta.summary
                );
            }
            Ok(ExitStatus::Success)
        }
    }
}

fn load_policy(common: &CommonArgs) -> Result<Policy> {
    let Some(path) = &common.policy else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read policy", path.display()))?;
    Ok(Policy::from_yaml(&path.display().to_string(), &text)?)
}

fn load_inventory(common: &CommonArgs) -> Result<Option<Inventory>> {
    let Some(path) = &common.inventory else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read inventory", path.display()))?;
    Ok(Some(Inventory::from_yaml(&path.display().to_string(), &text)?))
}

fn check(args: &CheckArgs) -> Result<ExitStatus> {
    let policy = load_policy(&args.common)?;
    let (before, after) = match (&args.before, &args.after, &args.base, &args.head) {
        (Some(before), Some(after), _, _) => {
            if before == "-" && after == "-" {
                return Err(anyhow!("only one of --before and --after can read stdin (`-`)"));
            }
            (inputs::read_tree(before)?, inputs::read_tree(after)?)
        }
        (_, _, Some(base), Some(head)) => git::read_refs(&args.repo, base, head)?,
        _ => return Err(anyhow!("check needs --before PATH --after PATH, or --base REF --head REF")),
    };
    let mut change = changelint_policies::load_change(&before, &after, &policy)?;
    change.inventory = load_inventory(&args.common)?;
    let report = changelint_policies::check(&change, &policy);
    finish(&report, &args.common, &[&before, &after])
}

fn audit(args: &AuditArgs) -> Result<ExitStatus> {
    let policy = load_policy(&args.common)?;
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(inputs::read_tree(path)?);
    }
    let mut change = changelint_policies::load_change(&[], &files, &policy)?;
    change.inventory = load_inventory(&args.common)?;
    let report = changelint_policies::audit(&change, &policy);
    finish(&report, &args.common, &[&files])
}

fn finish(report: &Report, common: &CommonArgs, files: &[&Vec<SourceFile>]) -> Result<ExitStatus> {
    let mut sources = Sources::default();
    for side in files {
        sources.add(side);
    }
    output::emit(report, common, &sources)?;
    Ok(if report.verdict == Verdict::Deny {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}
