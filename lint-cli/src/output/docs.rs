//! Documentation generated from the code: `docs/rules/<rule-id>.md` from each rule's metadata,
//! the `docs/rules/README.md` index, and `docs/cli.md` from the clap definitions.
//!
//! `changelint explain RULE` prints [`rule_markdown`], the very text of `docs/rules/<id>.md`.
//! The test `docs_are_up_to_date` fails when a file under `docs/` differs from what the code
//! generates; `CHANGELINT_UPDATE_DOCS=1 cargo test -p changelint-cli docs` rewrites them (the
//! same scheme as ruff's `ruff_dev generate-all` and its `--mode check`).

#[cfg(test)]
use std::fmt::Write as _;

#[cfg(test)]
use changelint_policies::registry;
use changelint_policies::rule::RuleMeta;

/// A rule's documentation page: title with id and code, summary, default severity, docs.
pub fn rule_markdown(meta: &RuleMeta) -> String {
    format!(
        "# {} ({})\n\n{}.\n\nDefault severity: **{}**\n\n{}\n",
        meta.id,
        meta.code,
        meta.summary.trim_end_matches('.'),
        meta.severity,
        meta.docs.trim()
    )
}

/// The index of every rule, in registry order.
#[cfg(test)]
pub fn rules_index() -> String {
    let mut md = String::from(
        "# Rules\n\n<!-- Generated from the rule metadata in policies/src/rules/ by \
         `CHANGELINT_UPDATE_DOCS=1 cargo test -p changelint-cli docs`; do not edit. -->\n\n\
         `changelint rules` lists them; `changelint explain RULE` prints one page. Rule ids and \
         codes are stable: use either in policies and exemptions.\n\n\
         | Code | Rule | Default severity | What it catches |\n|---|---|---|---|\n",
    );
    for rule in registry::RULES {
        let meta = rule.meta();
        let _ = writeln!(
            md,
            "| {} | [`{}`]({}.md) | {} | {} |",
            meta.code,
            meta.id,
            meta.id,
            meta.severity,
            meta.summary.replace('|', "\\|")
        );
    }
    md
}

/// `docs/cli.md`: the long help of the command and every subcommand, at a fixed width.
#[cfg(test)]
pub fn cli_markdown() -> String {
    use clap::CommandFactory as _;

    fn walk(command: &mut clap::Command, md: &mut String) {
        let name = command
            .get_bin_name()
            .unwrap_or(command.get_name())
            .to_owned();
        let help = command.render_long_help().to_string();
        let help: Vec<&str> = help.lines().map(str::trim_end).collect();
        let _ = write!(md, "\n## `{name}`\n\n```text\n{}\n```\n", help.join("\n"));
        for sub in command.get_subcommands_mut() {
            if sub.get_name() != "help" && !sub.is_hide_set() {
                walk(sub, md);
            }
        }
    }

    let mut command = crate::args::Cli::command().term_width(100);
    command.build();
    let mut md = String::from(
        "# Command-line reference\n\n<!-- Generated from lint-cli/src/args.rs by \
         `CHANGELINT_UPDATE_DOCS=1 cargo test -p changelint-cli docs`; do not edit. -->\n\n\
         Exit codes: `0` no deny-level finding, `1` at least one deny-level finding, `2` usage or \
         input error. Output formats are described in [output-formats.md](output-formats.md).\n",
    );
    walk(&mut command, &mut md);
    md
}

/// Every generated file, as (path under the repository root, content).
#[cfg(test)]
pub fn generated_files() -> Vec<(String, String)> {
    let mut files = vec![
        ("docs/cli.md".to_owned(), cli_markdown()),
        ("docs/rules/README.md".to_owned(), rules_index()),
    ];
    for rule in registry::RULES {
        let meta = rule.meta();
        files.push((format!("docs/rules/{}.md", meta.id), rule_markdown(meta)));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::testing::repo_root;

    #[test]
    fn docs_are_up_to_date() {
        let root = repo_root();
        let update = std::env::var_os("CHANGELINT_UPDATE_DOCS").is_some_and(|v| v == "1");
        let files = generated_files();
        let mut stale = Vec::new();
        for (path, content) in &files {
            let full = root.join(path);
            if std::fs::read_to_string(&full).ok().as_deref() == Some(content.as_str()) {
                continue;
            }
            if update {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(&full, content).unwrap();
            } else {
                stale.push(path.clone());
            }
        }
        // A page for a rule that no longer exists is stale too.
        for entry in std::fs::read_dir(root.join("docs/rules"))
            .into_iter()
            .flatten()
        {
            let path = format!(
                "docs/rules/{}",
                entry.unwrap().file_name().to_string_lossy()
            );
            if !files.iter().any(|(p, _)| *p == path) {
                if update {
                    std::fs::remove_file(root.join(&path)).unwrap();
                } else {
                    stale.push(format!("{path} (no such rule)"));
                }
            }
        }
        assert!(
            stale.is_empty(),
            "generated docs are stale: {}\nrun `CHANGELINT_UPDATE_DOCS=1 cargo test -p \
             changelint-cli docs` and commit the result",
            stale.join(", ")
        );
    }

    #[test]
    fn rule_pages_have_title_severity_and_sections() {
        for rule in registry::RULES {
            let meta = rule.meta();
            let page = rule_markdown(meta);
            assert!(page.starts_with(&format!("# {} ({})\n", meta.id, meta.code)));
            assert!(page.contains(&format!("Default severity: **{}**", meta.severity)));
            assert!(page.contains("## What it does"));
        }
    }
}
