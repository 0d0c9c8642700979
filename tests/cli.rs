//! `changelint check`: the verdicts and messages of issue #2's "done when" list, and the
//! contracts of DESIGN.md section 3 (exit codes, JSON shape, file:line).

use crate::util::{
    changelint, changelint_json, check_fixture, memory_limit_removed, repo_path, rules_of,
};

/// The README's first command: the bundled incident is denied with `limits-removed` on the lines
/// the incident's diff deleted.
#[test]
fn incident_example_is_denied_on_the_removed_lines() {
    let run = changelint(&[
        "check",
        "--before",
        "examples/incident/before",
        "--after",
        "examples/incident/after",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let config = "examples/incident/before/runtime-system/log-shipper/config.yaml";
    assert!(
        run.stdout.contains(&format!("--> {config}:13")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(
        "deny[limits-removed]: memory limit of `shipper.resources` removed: 256Mi -> unbounded"
    ));
    assert!(run.stdout.contains(
        "warn[limits-removed]: cpu limit of `shipper.resources` removed: 200m -> unbounded"
    ));
    assert!(
        run.stdout.contains(r#"13 |     mem_limit: "256Mi""#),
        "{}",
        run.stdout
    );

    let (code, report) = changelint_json(&[
        "check",
        "--before",
        "examples/incident/before",
        "--after",
        "examples/incident/after",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["verdict"], "deny");
    let removed: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "limits-removed" || f["rule"] == "requests-removed")
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["before"].as_str().unwrap().to_owned(),
                f["after"].clone(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        vec![
            (12, "200m".to_owned(), serde_json::Value::Null),
            (13, "256Mi".to_owned(), serde_json::Value::Null),
            (14, "100m".to_owned(), serde_json::Value::Null),
            (15, "128Mi".to_owned(), serde_json::Value::Null),
        ]
    );
}

/// DESIGN.md's JSON shape: the keys pipelines read.
#[test]
fn json_report_has_the_documented_shape() {
    let (before, after) = memory_limit_removed();
    let (code, report) = changelint_json(&["check", "--before", &before, "--after", &after]);
    assert_eq!(code, 1);
    let finding = &report["findings"][0];
    for key in [
        "rule", "severity", "object", "file", "line", "pointer", "message", "before", "after",
        "fix",
    ] {
        assert!(finding.get(key).is_some(), "finding lacks {key}: {finding}");
    }
    assert_eq!(
        finding["object"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "namespace": "runtime-system", "name": "log-shipper"})
    );
    assert_eq!(
        finding["pointer"],
        "/spec/template/spec/containers/0/resources/limits/memory"
    );
    assert_eq!(finding["line"], 19);
    assert!(report["impact"]["workloads"].is_array());
}

#[test]
fn removing_only_a_daemonset_memory_limit_denies() {
    let (code, report) = check_fixture("limits-removed", "bad", "daemonset-memory-limit");
    assert_eq!(code, 1);
    assert_eq!(
        rules_of(&report),
        [("limits-removed".to_owned(), "deny".to_owned())]
    );
}

#[test]
fn renaming_a_container_passes() {
    let (code, report) = check_fixture("limits-removed", "good", "renamed-container");
    assert_eq!(
        (code, report["verdict"].as_str()),
        (0, Some("pass")),
        "{report}"
    );
}

#[test]
fn same_quantity_in_another_spelling_passes() {
    // 200m -> "0.2" and 1Gi -> 1024Mi, with an image bump.
    let (code, report) = check_fixture("limits-removed", "good", "same-value-other-spelling");
    assert_eq!(
        (code, report["verdict"].as_str()),
        (0, Some("pass")),
        "{report}"
    );
}

#[test]
fn a_tenfold_raise_warns_without_failing() {
    let (code, report) = check_fixture("limits-raised", "bad", "tenfold");
    assert_eq!((code, report["verdict"].as_str()), (0, Some("warn")));
    assert_eq!(
        rules_of(&report),
        [("limits-raised".to_owned(), "warn".to_owned())]
    );
}

#[test]
fn a_new_daemonset_without_limits_denies() {
    let (code, report) = check_fixture("limits-missing", "bad", "new-daemonset");
    assert_eq!(code, 1);
    assert_eq!(
        rules_of(&report),
        [("limits-missing".to_owned(), "deny".to_owned())]
    );
}

/// Real upstream commits (tests/fixtures/corpus/diffs): what each one should get.
#[test]
fn corpus_diffs_get_the_expected_verdicts() {
    let cases = [
        ("cloudwatch-fargate-limits-equal-requests", "pass"),
        ("descheduler-cronjob-job-add-resources", "pass"),
        ("flannel-add-limits-guaranteed-qos", "pass"),
        ("flannel-remove-cpu-memory-limits", "deny"),
        ("fluent-bit-raise-memory-100-to-200Mi", "pass"),
        ("fluent-bit-reduce-memory-limit-200-to-100Mi", "pass"),
        ("kube-prometheus-adapter-add-requests-limits", "pass"),
        ("kube-prometheus-higher-limits-node-exporter-ksm", "warn"),
        ("kube-prometheus-ksm-omit-static-resources", "deny"),
        ("kube-prometheus-prometheus-memory-400Mi-to-4Gi", "warn"),
        ("kube-prometheus-prometheus-memory-4Gi-to-400Mi", "pass"),
        ("microservices-demo-add-resource-limits", "pass"),
        ("microservices-demo-adservice-bump-memory", "pass"),
        ("microservices-demo-helm-values-increase-memory", "pass"),
        (
            "microservices-demo-loadgen-add-initcontainer-without-resources",
            "warn",
        ),
        ("node-problem-detector-add-resources", "pass"),
        ("otel-collector-remove-default-resources", "deny"),
        ("otel-demo-flagd-memory-limit-20-to-50Mi", "pass"),
        ("otel-operator-remove-default-resources", "deny"),
        ("vpc-cni-calico-clear-cpu-request", "deny"),
        ("vpc-cni-increase-cpu-request", "pass"),
        ("weave-raise-cpu-requests-10m-to-50m", "warn"),
    ];
    for (case, verdict) in cases {
        let dir = repo_path(&format!("policies/fixtures/diffs/{case}"));
        let single = std::path::Path::new(&dir).join("before.yaml").exists();
        let (before, after) = if single {
            (format!("{dir}/before.yaml"), format!("{dir}/after.yaml"))
        } else {
            (format!("{dir}/before"), format!("{dir}/after"))
        };
        let (code, report) = changelint_json(&["check", "--before", &before, "--after", &after]);
        assert_eq!(report["verdict"], verdict, "{case}: {report:#}");
        assert_eq!(code, i32::from(verdict == "deny"), "{case}");
    }
}

#[test]
fn policy_file_changes_levels_and_bad_policy_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "rules:\n  limits-raised: deny\n").unwrap();
    let fixture = repo_path("policies/fixtures/limits-raised/bad/tenfold");
    let args = |p: &str| {
        vec![
            "check".to_owned(),
            "--before".to_owned(),
            format!("{fixture}/before.yaml"),
            "--after".to_owned(),
            format!("{fixture}/after.yaml"),
            "--policy".to_owned(),
            p.to_owned(),
        ]
    };
    let policy_path = policy.display().to_string();
    let run = changelint(
        &args(&policy_path)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 1, "limits-raised forced to deny: {}", run.stdout);

    std::fs::write(
        &policy,
        "thresholds:\n  raiseFactor: 4\n  maxUnavailabe: 5%\n",
    )
    .unwrap();
    let run = changelint(
        &args(&policy_path)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!("{policy_path}:3")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("maxUnavailabe"), "{}", run.stderr);
}

#[test]
fn explain_and_rules_list_every_rule() {
    let run = changelint(&["rules"]);
    assert_eq!(run.code, 0);
    for id in [
        "limits-removed",
        "requests-removed",
        "limits-raised",
        "limits-missing",
        "blast-radius-rollout",
        "blast-radius-scope",
    ] {
        assert!(run.stdout.contains(id), "rules lacks {id}");
    }
    let run = changelint(&["explain", "limits-removed"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("## Why is this bad?"), "{}", run.stdout);
    let run = changelint(&["explain", "CL101"]);
    assert!(run.stdout.contains("limits-removed"));
    let run = changelint(&["explain", "no-such-rule"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown rule"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(changelint(&["check", "--before", "x.yaml"]).code, 2);
    assert_eq!(changelint(&["check", "--frobnicate"]).code, 2);
    let run = changelint(&[
        "check",
        "--before",
        "no/such/file.yaml",
        "--after",
        "no/such/file.yaml",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no/such/file.yaml"), "{}", run.stderr);
}

#[test]
fn every_input_file_is_bounded_and_named() {
    let (before, after) = memory_limit_removed();
    // An endless input stops at the size limit instead of filling memory.
    for flag in ["--diff", "--policy", "--inventory", "--record"] {
        let mut args = vec!["check", flag, "/dev/zero"];
        if flag != "--diff" {
            args.extend(["--before", &before, "--after", &after]);
        }
        let run = changelint(&args);
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(
            run.stderr.contains("/dev/zero: file is larger than 64 MiB"),
            "{flag}: {}",
            run.stderr
        );
    }
    // Bytes that are not UTF-8 are named with their line, as in manifests.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, b"rules:\n  limits-removed: deny # caf\xe9\n").unwrap();
    let policy = policy.display().to_string();
    let run = changelint(&[
        "check", "--policy", &policy, "--before", &before, "--after", &after,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{policy}:2: file is not valid UTF-8")),
        "{}",
        run.stderr
    );
}

/// Runs `changelint ARGS` with stdout on `/dev/full`, where every write fails.
#[cfg(target_os = "linux")]
fn with_stdout_full(args: &[&str]) -> crate::util::Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens");
    crate::util::changelint_command(args)
        .stdout(full)
        .output()
        .expect("changelint runs")
        .into()
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_to_stdout_says_it_was_writing_stdout() {
    let run = with_stdout_full(&["audit", "examples/incident/after"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("writing the report to stdout") && run.stderr.contains("os error 28"),
        "{}",
        run.stderr
    );
    // The subcommands that print text fail the same way, not with a panic.
    for args in [
        &["rules"][..],
        &["explain", "CL101"],
        &["record", "--template"],
        &["record", "examples/incident/CHG-2026-01-21-OBS-0855.md"],
    ] {
        let run = with_stdout_full(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("writing to stdout") && !run.stderr.contains("panicked"),
            "{args:?}: {}",
            run.stderr
        );
    }
}
