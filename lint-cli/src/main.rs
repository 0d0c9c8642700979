//! `changelint`: thin glue between the command line, the file system and the policy engine.

/// Parsing a tree is many small allocations on every core; see `mimalloc` in Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod git;
mod inputs;
mod output;
mod patch;

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use changelint_policies::record::{self, ChangeRecord};
use changelint_policies::scope::Inventory;
use changelint_policies::{ChangeSet, Policy, Report, SourceFile, Verdict, registry};
use clap::Parser as _;

use args::{AuditArgs, CheckArgs, Cli, Command, CommonArgs, RecordArgs};
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
    changelint_policies::yaml::quiet_parser_panics();
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
        Command::Record(args) => record(&args),
        Command::Explain { rule } => {
            let rule = registry::find(&rule)
                .ok_or_else(|| anyhow!("unknown rule `{rule}`; `changelint rules` lists them"))?;
            // The same text as docs/rules/<id>.md.
            print_out(&output::docs::rule_markdown(rule.meta()))?;
            Ok(ExitStatus::Success)
        }
        Command::Rules => {
            let mut out = String::new();
            for rule in registry::RULES {
                let meta = rule.meta();
                writeln!(
                    out,
                    "{:<6} {:<28} {:<5} {}",
                    meta.code, meta.id, meta.severity, meta.summary
                )?;
            }
            print_out(&out)?;
            Ok(ExitStatus::Success)
        }
    }
}

fn load_policy(path: Option<&Path>) -> Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let (name, text) = inputs::read_text(path).context("reading the policy")?;
    Ok(Policy::from_yaml(&name, &text)?)
}

fn load_inventory(common: &CommonArgs) -> Result<Option<Inventory>> {
    let Some(path) = &common.inventory else {
        return Ok(None);
    };
    let (name, text) = inputs::read_text(path).context("reading the inventory")?;
    Ok(Some(Inventory::from_yaml(&name, &text)?))
}

fn check(args: &CheckArgs) -> Result<ExitStatus> {
    one_stdin_reader(&[
        ("--before", args.before.as_deref()),
        ("--after", args.after.as_deref()),
        ("--diff", named(args.diff.as_deref())),
        ("--record", args.record.as_deref()),
        (
            "--record-from-github-event",
            named(args.record_from_github_event.as_deref()),
        ),
        ("--policy", named(args.common.policy.as_deref())),
        ("--inventory", named(args.common.inventory.as_deref())),
    ])?;
    let policy = load_policy(args.common.policy.as_deref())?;
    let record_text = read_record(args)?;
    let (mut change, sources) = match (&args.before, &args.after, &args.base, &args.diff) {
        (Some(before), Some(after), _, _) => {
            let (before, after) = (inputs::read_tree(before)?, inputs::read_tree(after)?);
            (
                changelint_policies::load_change(&before, &after, &policy)?,
                [before, after],
            )
        }
        (_, _, Some(base), _) => {
            let head = args.head.as_deref().context("--base needs --head")?;
            let repo = args.repo.as_deref().unwrap_or(std::path::Path::new("."));
            let (before, after) = git::read_refs(repo, base, head)?;
            (
                changelint_policies::load_change(&before, &after, &policy)?,
                [before, after],
            )
        }
        (_, _, _, Some(diff)) => {
            let (name, text) = inputs::read_text(diff).context("reading the diff")?;
            match &args.repo {
                Some(repo) => {
                    let (before, after) = patch::full_files(&name, &text, repo)?;
                    (
                        changelint_policies::load_change(&before, &after, &policy)?,
                        [before, after],
                    )
                }
                None => (
                    changelint_policies::load_diff(&name, &text, &policy)?,
                    [
                        vec![SourceFile::new(name.clone(), text.into_bytes())],
                        Vec::new(),
                    ],
                ),
            }
        }
        _ => {
            return Err(anyhow!(
                "check needs --before PATH --after PATH, --base REF --head REF, or --diff FILE"
            ));
        }
    };
    change.inventory = load_inventory(&args.common)?;
    let mut sources = Vec::from(sources);
    if let Some((name, text)) = record_text {
        change.record = Some(ChangeRecord::parse(&name, &text));
        sources.push(vec![SourceFile::new(name, text.into_bytes())]);
    }
    judge(change, sources, &args.common, |change| {
        changelint_policies::check(change, &policy)
    })
}

/// A path as the text it was given as, to compare with `-`.
fn named(path: Option<&Path>) -> Option<&str> {
    path.and_then(Path::to_str)
}

/// Refuses a second input named `-`: the first reader takes all of stdin, and the second would
/// read nothing and judge an empty input.
fn one_stdin_reader(inputs: &[(&str, Option<&str>)]) -> Result<()> {
    let readers: Vec<&str> = inputs
        .iter()
        .filter(|(_, value)| *value == Some("-"))
        .map(|(flag, _)| *flag)
        .collect();
    if readers.len() > 1 {
        return Err(anyhow!(
            "{} all read stdin (`-`); only one input can",
            readers.join(", ")
        ));
    }
    Ok(())
}

/// The record from `--record FILE` (or stdin) or from a GitHub event's pull request body.
fn read_record(args: &CheckArgs) -> Result<Option<(String, String)>> {
    if let Some(path) = &args.record {
        let record = inputs::read_text(Path::new(path)).context("reading the change record")?;
        return Ok(Some(record));
    }
    if let Some(event) = &args.record_from_github_event {
        let (shown, json) = inputs::read_text(event).context("reading the GitHub event")?;
        let body = record::pull_request_body(&json)
            .with_context(|| format!("{shown}: no pull request body"))?;
        return Ok(Some((format!("{shown} (pull request body)"), body)));
    }
    Ok(None)
}

fn record(args: &RecordArgs) -> Result<ExitStatus> {
    if args.template {
        print_out(record::TEMPLATE)?;
        return Ok(ExitStatus::Success);
    }
    let path = args
        .file
        .as_deref()
        .context("record needs a FILE or --template")?;
    one_stdin_reader(&[
        ("FILE", Some(path)),
        ("--policy", named(args.policy.as_deref())),
    ])?;
    let (name, text) = inputs::read_text(Path::new(path)).context("reading the change record")?;
    let policy = load_policy(args.policy.as_deref())?;
    let parsed = ChangeRecord::parse(&name, &text);
    let sections = record::required_sections(&parsed, &policy.record);
    let mut complete = true;
    let mut out = String::new();
    for section in &sections {
        let at = section
            .line
            .map_or_else(|| path.to_owned(), |l| format!("{path}:{l}"));
        let state = match section.state {
            record::SectionState::Present => "present",
            record::SectionState::Missing => "missing",
            record::SectionState::Placeholder => "only a placeholder",
            record::SectionState::Undeclared => "undeclared",
        };
        complete &= section.state == record::SectionState::Present;
        writeln!(out, "{at}: {}: {state}", section.name)?;
    }
    if complete {
        out.push_str("record: complete\n");
    } else {
        out.push_str(
            "record: incomplete (`changelint record --template` prints a record that passes)\n",
        );
    }
    print_out(&out)?;
    Ok(if complete {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}

/// Writes text to stdout. `print!` panics when stdout fails (a full disk, a closed pipe); this
/// returns the error, which `main` reports (or, for a closed pipe, takes for the reader's
/// choice).
fn print_out(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

fn audit(args: &AuditArgs) -> Result<ExitStatus> {
    let mut inputs: Vec<(&str, Option<&str>)> = args
        .paths
        .iter()
        .map(|path| ("PATH", Some(path.as_str())))
        .collect();
    inputs.push(("--policy", named(args.common.policy.as_deref())));
    inputs.push(("--inventory", named(args.common.inventory.as_deref())));
    one_stdin_reader(&inputs)?;
    let policy = load_policy(args.common.policy.as_deref())?;
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(inputs::read_tree(path)?);
    }
    let mut change = changelint_policies::load_change(&[], &files, &policy)?;
    change.inventory = load_inventory(&args.common)?;
    judge(change, vec![files], &args.common, |change| {
        changelint_policies::audit(change, &policy)
    })
}

/// Runs the engine (`run`) and renders its report.
///
/// The change set and the report are leaked rather than freed, since the process exits next:
/// freeing a tree of thousands of objects one allocation at a time cost a tenth of a large run.
fn judge(
    change: ChangeSet,
    files: Vec<Vec<SourceFile>>,
    common: &CommonArgs,
    run: impl FnOnce(&ChangeSet) -> Report,
) -> Result<ExitStatus> {
    let report = run(&change);
    let mut sources = Sources::default();
    sources.add(files.into_iter().flatten());
    let emitted = output::emit(&report, common, &sources);
    let status = if report.verdict == Verdict::Deny {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    };
    std::mem::forget((change, sources, report));
    emitted?;
    Ok(status)
}
