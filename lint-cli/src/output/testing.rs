//! Reports for the format tests: a small hand-built one, the incident example through the real
//! code path, and a generated one with thousands of findings.

use std::path::Path;
use std::sync::Arc;

use changelint_policies::change::DeltaKind;
use changelint_policies::impact::{Impact, Reach, ResourceChange, WorkloadImpact};
use changelint_policies::report::ExemptionUse;
use changelint_policies::resources::Class;
use changelint_policies::{Finding, Identity, Policy, Report, Severity, Verdict};

use super::Sources;

fn identity(kind: &str, namespace: &str, name: &str) -> Identity {
    Identity {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

fn change(
    container: &str,
    class: Class,
    resource: &str,
    before: Option<&str>,
    after: Option<&str>,
    kind: DeltaKind,
) -> ResourceChange {
    ResourceChange {
        container: container.into(),
        class,
        resource: resource.into(),
        before: before.map(Into::into),
        after: after.map(Into::into),
        kind,
        fleet: format!(
            "{resource} {class} {} -> {} on 3 pods",
            before.unwrap_or("unset"),
            after.unwrap_or("unbounded")
        ),
    }
}

#[allow(clippy::too_many_arguments)] // a test builder; named fields would only repeat Finding
fn finding(
    rule: &'static str,
    severity: Severity,
    object: &Identity,
    file: &str,
    line: u32,
    pointer: &str,
    message: &str,
    fix: &str,
) -> Finding {
    Finding {
        rule,
        severity,
        object: object.clone(),
        file: Some(Arc::from(file)),
        line: Some(line),
        pointer: pointer.into(),
        message: message.into(),
        before: None,
        after: None,
        fix: fix.into(),
        after_location: None,
    }
}

/// A small report with one finding per severity, two workloads (one with a known reach), an
/// exemption, and user text that needs escaping in every format.
pub fn sample_report() -> Report {
    let agent = identity("DaemonSet", "logging", "node-agent");
    let api = identity("Deployment", "shop", "api<&>\"'");
    let findings = vec![
        finding(
            "limits-removed",
            Severity::Deny,
            &agent,
            "before/agent.yaml",
            21,
            "/spec/template/spec/containers/0/resources/limits/memory",
            "memory limit of container `agent` removed: 256Mi -> unbounded",
            "Restore the memory limit (was 256Mi).",
        )
        .values(Some("256Mi".into()), None),
        finding(
            "limits-raised",
            Severity::Warn,
            &api,
            "after/api.yaml",
            30,
            "/spec/template/spec/containers/0/resources/limits/cpu",
            "cpu limit of container `app` raised 5x: 500m -> 2500m | see <notes> & [links](x)",
            "Declare the raise in the record's Resource Impact section.",
        )
        .values(Some("500m".into()), Some("2500m".into())),
        finding(
            "limits-missing",
            Severity::Info,
            &api,
            "after/api.yaml",
            12,
            "/spec/template/spec/containers/1",
            "new container `sidecar` has no memory limit",
            "Set resources.limits.memory on `sidecar`.",
        ),
    ];
    let patch = |v: serde_json::Value| serde_json::from_value(v).expect("a valid patch");
    Report {
        verdict: Verdict::of(&findings),
        findings,
        impact: Impact {
            workloads: vec![
                WorkloadImpact {
                    deployed_by: None,
                    object: agent.clone(),
                    file: Some(Arc::from("after/agent.yaml")),
                    reach: None,
                    changes: vec![
                        change(
                            "agent",
                            Class::Limit,
                            "memory",
                            Some("256Mi"),
                            None,
                            DeltaKind::Removed,
                        ),
                        change(
                            "agent",
                            Class::Request,
                            "memory",
                            Some("128Mi"),
                            Some("64Mi"),
                            DeltaKind::Lowered,
                        ),
                    ],
                    patch: patch(serde_json::json!([
                        {"op": "remove", "path": "/spec/template/spec/containers/0/resources/limits"}
                    ])),
                },
                WorkloadImpact {
                    deployed_by: None,
                    object: api.clone(),
                    file: Some(Arc::from("after/api.yaml")),
                    reach: Some(Reach {
                        count: 3,
                        unit: "pods",
                    }),
                    changes: vec![change(
                        "app",
                        Class::Limit,
                        "cpu",
                        Some("500m"),
                        Some("2500m"),
                        DeltaKind::Raised,
                    )],
                    patch: patch(serde_json::json!([
                        {"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/cpu", "value": "2500m"}
                    ])),
                },
            ],
            objects_changed: 2,
            ..Impact::default()
        },
        exemptions: vec![ExemptionUse {
            rule: "requests-removed".into(),
            object: api,
            source: "annotation".into(),
            reason: Some("load test <until Friday>".into()),
            expires: Some("2026-12-31".into()),
        }],
        audit: None,
    }
}

/// The repository root, where `examples/` lives.
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The incident's change record, in `examples/incident/`.
pub const INCIDENT_RECORD: &str = "CHG-2026-01-21-OBS-0855.md";

/// The incident example (`examples/incident`, trees and change record) run through the real inputs and engine, with
/// paths relative to the repository root as a pipeline in the repository would see them.
pub fn incident() -> (Report, Sources) {
    let root = repo_root();
    let read = |side: &str| {
        let dir = root.join("examples/incident").join(side);
        let mut files = crate::inputs::read_tree(&dir.to_string_lossy()).expect("incident files");
        for file in &mut files {
            let relative = Path::new(&file.path)
                .strip_prefix(root)
                .expect("under the repository")
                .to_string_lossy()
                .replace('\\', "/");
            file.path = relative;
        }
        files
    };
    let (before, after) = (read("before"), read("after"));
    let policy = Policy::default();
    let mut change = changelint_policies::load_change(&before, &after, &policy).expect("loads");
    let record_file = format!("examples/incident/{INCIDENT_RECORD}");
    let record_text = std::fs::read_to_string(root.join(&record_file)).expect("incident record");
    change.record = Some(changelint_policies::record::ChangeRecord::parse(
        &record_file,
        &record_text,
    ));
    let report = changelint_policies::check(&change, &policy);
    let mut sources = Sources::default();
    sources.add(before);
    sources.add(after);
    sources.add([changelint_policies::SourceFile::new(
        record_file,
        record_text.into_bytes(),
    )]);
    (report, sources)
}

/// A report with `n` findings over `n / 4` workloads: far more than a comment can hold.
pub fn huge_report(n: usize) -> Report {
    let mut report = sample_report();
    let template = report.impact.workloads[0].clone();
    report.findings.clear();
    report.impact.workloads.clear();
    for i in 0..n {
        let object = identity("DaemonSet", &format!("team-{}", i / 4), "agent");
        let severity = if i % 3 == 0 {
            Severity::Warn
        } else {
            Severity::Deny
        };
        report.findings.push(finding(
            if i % 2 == 0 {
                "limits-removed"
            } else {
                "requests-removed"
            },
            severity,
            &object,
            &format!("clusters/prod-{i}/agent.yaml"),
            20 + (i % 7) as u32,
            "/spec/template/spec/containers/0/resources/limits/memory",
            "memory limit of container `agent` removed: 256Mi -> unbounded",
            "Restore the memory limit (was 256Mi).",
        ));
        if i % 4 == 0 {
            let mut workload = template.clone();
            workload.object = object;
            report.impact.workloads.push(workload);
        }
    }
    report.impact.objects_changed = n / 4;
    report.verdict = Verdict::of(&report.findings);
    report
}
