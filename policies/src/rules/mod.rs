//! The rules, one file each. The registry lists them in docs order.

pub mod limits_missing;
pub mod limits_raised;
pub mod limits_removed;
pub mod requests_removed;

#[cfg(test)]
mod fixture_tests {
    //! Every rule's `fixtures/<rule-id>/bad/<case>/` must raise that rule (snapshotted as
    //! `<rule-id>_<case>`), and every `good/<case>/` must not.

    use std::fmt::Write as _;
    use std::path::Path;

    use crate::registry::RULES;
    use crate::{Policy, SourceFile, check_on, load_change};

    fn side(dir: &Path, name: &str) -> Vec<SourceFile> {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        vec![SourceFile {
            path: name.to_owned(),
            pairing_path: "manifest.yaml".to_owned(),
            bytes,
        }]
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

    fn run(dir: &Path) -> crate::Report {
        let policy = Policy::default();
        let change = load_change(&side(dir, "before.yaml"), &side(dir, "after.yaml"), &policy)
            .expect("fixtures are valid input");
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
