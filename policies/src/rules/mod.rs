//! The rules, one file each. The registry lists them in docs order.

pub mod blast_radius_rollout;
pub mod blast_radius_scope;
pub mod limits_missing;
pub mod limits_raised;
pub mod limits_removed;
pub mod requests_removed;
pub mod resource_impact_missing;
pub mod resource_impact_undeclared;

#[cfg(test)]
mod fixture_tests {
    //! Every rule's `fixtures/<rule-id>/bad/<case>/` must raise that rule (snapshotted as
    //! `<rule-id>_<case>`), and every `good/<case>/` must not.

    use std::fmt::Write as _;
    use std::path::Path;

    use crate::record::ChangeRecord;
    use crate::registry::RULES;
    use crate::scope::Inventory;
    use crate::{Policy, SourceFile, check_on, load_change};

    /// `before.yaml` (a single file) or `before/` (a tree, paired by relative path).
    fn side(dir: &Path, name: &str) -> Vec<SourceFile> {
        let file = dir.join(format!("{name}.yaml"));
        if file.is_file() {
            let bytes = std::fs::read(&file).expect("fixture file");
            return vec![SourceFile {
                path: format!("{name}.yaml"),
                pairing_path: String::new(),
                bytes,
            }];
        }
        let root = dir.join(name);
        let mut files = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            {
                let path = entry.expect("fixture dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    let bytes = std::fs::read(&path).expect("fixture file");
                    files.push(SourceFile {
                        path: format!("{name}/{relative}"),
                        pairing_path: relative,
                        bytes,
                    });
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    fn cases(rule: &str, kind: &str) -> Vec<(String, std::path::PathBuf)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rule)
            .join(kind);
        let mut cases: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("fixture dir entry").path())
            .filter(|p| p.is_dir())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
            .collect();
        cases.sort();
        cases
    }

    /// Runs a case with its own `policy.yaml`, `inventory.yaml` and `record.md` when it has them.
    fn run(dir: &Path) -> crate::Report {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let policy = match read("policy.yaml") {
            Some(text) => Policy::from_yaml("policy.yaml", &text).expect("fixture policy is valid"),
            None => Policy::default(),
        };
        let mut change = load_change(&side(dir, "before"), &side(dir, "after"), &policy)
            .expect("fixtures are valid input");
        change.record = read("record.md").map(|text| ChangeRecord::parse("record.md", &text));
        change.inventory = read("inventory.yaml").map(|text| {
            Inventory::from_yaml("inventory.yaml", &text).expect("fixture inventory is valid")
        });
        check_on(&change, &policy, "2026-11-28")
    }

    #[test]
    fn bad_fixtures_raise_their_rule() {
        for rule in RULES {
            let id = rule.meta().id;
            for (case, dir) in cases(id, "bad") {
                let report = run(&dir);
                let mut rendered = String::new();
                for f in report.findings.iter().filter(|f| f.rule == id) {
                    let location = format!(
                        "{}:{}",
                        f.file.as_deref().unwrap_or("-"),
                        f.line.unwrap_or(0)
                    );
                    writeln!(
                        rendered,
                        "{location} {} [{}] {}\n  pointer: {}\n  fix: {}",
                        f.severity, f.rule, f.message, f.pointer, f.fix
                    )
                    .unwrap();
                }
                assert!(
                    !rendered.is_empty(),
                    "{id}/bad/{case} raised no {id} finding: {:#?}",
                    report.findings
                );
                insta::assert_snapshot!(format!("{id}_{case}"), rendered);
            }
        }
    }

    #[test]
    fn good_fixtures_do_not_raise_their_rule() {
        for rule in RULES {
            let id = rule.meta().id;
            for (case, dir) in cases(id, "good") {
                let report = run(&dir);
                let hits: Vec<_> = report.findings.iter().filter(|f| f.rule == id).collect();
                assert!(hits.is_empty(), "{id}/good/{case} raised {hits:#?}");
            }
        }
    }
}
