//! Every input form of issue #2 on real files, and every kind of bad input.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::util::{
    changelint, changelint_json, changelint_with_stdin, field_of_findings, fixture,
    memory_limit_removed, repo_path, rules_of,
};

/// Writes `before` and `after` texts into a temporary tree and checks them.
fn check_texts(name: &str, before: &str, after: &str) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    for (side, text) in [("before", before), ("after", after)] {
        let path = dir.path().join(side).join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let side = |s: &str| dir.path().join(s).display().to_string();
    changelint_json(&[
        "check",
        "--before",
        &side("before"),
        "--after",
        &side("after"),
    ])
}

/// A directory holding `ok.yaml`, a good manifest, and an empty `nested/`: the place to put a
/// bad entry that a walk must name.
fn tree_with_a_good_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("ok.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    fs::create_dir(dir.path().join("nested")).unwrap();
    dir
}

/// A side of the incident fixture: the log-shipper DaemonSet before or after its memory limit
/// was removed.
fn incident(side: &str) -> String {
    let (before, after) = memory_limit_removed();
    fs::read_to_string(if side == "before" { before } else { after }).unwrap()
}

fn corpus(name: &str) -> String {
    fs::read_to_string(fixture(&format!("corpus/manifests/{name}"))).unwrap()
}

#[test]
fn json_manifest_with_a_removed_limit() {
    let after = corpus("kubernetes-examples__storm-nimbus-pod.json");
    let before = after.replace(r#""cpu": "100m""#, r#""cpu": "100m", "memory": "1Gi""#);
    assert_ne!(before, after);
    let (code, report) = check_texts("storm-nimbus-pod.json", &before, &after);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["findings"][0]["rule"], "limits-removed");
    assert_eq!(report["findings"][0]["line"], 22, "{report}");
}

#[test]
fn a_limit_set_to_null_is_removed() {
    // `null` is how a Helm value or a patch unsets a field: the API server stores no limit.
    let before = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: shipper, namespace: logging}\nspec:\n  template:\n    spec:\n      containers:\n      - name: shipper\n        image: shipper:1\n        resources:\n          limits: {memory: 256Mi}\n          requests: {cpu: 100m, memory: 128Mi}\n";
    let after = before.replace("{memory: 256Mi}", "{memory: null}");
    let (code, report) = check_texts("shipper.yaml", before, &after);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["findings"][0]["rule"], "limits-removed", "{report}");
    assert_eq!(report["findings"][0]["line"], 11, "{report}");
}

#[test]
fn only_what_the_change_brings_must_be_readable() {
    let shipper = |annotation: &str| {
        format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: shipper\n  namespace: logging\n  annotations:\n    changelint.dev/exempt: \"{annotation}\"\nspec:\n  template:\n    spec:\n      containers:\n      - name: shipper\n        image: shipper:1\n        resources:\n          limits: {{memory: 256Mi}}\n          requests: {{cpu: 100m, memory: 128Mi}}\n"
        )
    };
    let broken = shipper("limits-remvoed; reason=typo");
    let repaired = shipper("limits-removed; reason=load test");
    // The change that repairs the annotation, and one that leaves the broken object alone.
    for (before, after) in [(&broken, &repaired), (&broken, &broken)] {
        let (code, report) = check_texts("shipper.yaml", before, after);
        assert_eq!(code, 0, "{report}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = (
        dir.path().join("before.yaml"),
        dir.path().join("after.yaml"),
    );
    fs::write(&before, &repaired).unwrap();
    fs::write(&after, &broken).unwrap();
    let (before, after) = (before.display().to_string(), after.display().to_string());
    let run = changelint(&["check", "--before", &before, "--after", &after]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("after.yaml:7:"), "{}", run.stderr);
}

#[test]
fn a_list_kind_of_other_items_is_an_object_of_its_own() {
    let allow_list = "apiVersion: net.example.com/v1\nkind: IPAllowList\nmetadata: {name: office}\nitems: [10.0.0.1, 10.0.0.2]\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("allow.yaml");
    fs::write(&path, allow_list).unwrap();
    let (code, report) = changelint_json(&["audit", &path.display().to_string()]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["impact"]["objects_changed"], 1, "{report}");
}

#[test]
fn yaml_list_items_pair_and_point_at_their_lines() {
    let before = corpus("kubernetes__hack-testdata-list.yaml");
    let with_limits = before.replace(
        "            image: nginx\n",
        "            image: nginx\n            resources:\n              limits: {memory: 64Mi}\n",
    );
    let (code, report) = check_texts("list.yaml", &with_limits, &before);
    assert_eq!(code, 1, "{report}");
    let finding = &report["findings"][0];
    assert_eq!(finding["object"]["name"], "list-deployment-test");
    assert_eq!(finding["line"], 34);
}

/// A CRLF file's finding names the file's own line, and the text output quotes that line.
#[test]
fn crlf_manifest_findings_point_at_the_files_lines() {
    let lf = corpus("grafana-agent__production-kubernetes-agent-loki.yaml");
    assert!(!lf.contains('\r'));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.yaml");
    fs::write(&path, lf.replace('\n', "\r\n")).unwrap();
    let path = path.display().to_string();
    let (code, report) = changelint_json(&["audit", &path]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["findings"][0]["rule"], "limits-missing");
    assert_eq!(report["findings"][0]["line"], 59, "{report}");
    let run = changelint(&["audit", &path]);
    assert!(
        run.stdout.contains(&format!("{path}:59\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("59 |       - args:\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn json_star_list_is_unpacked() {
    let after = corpus("kubernetes__hack-testdata-multi-resource-list.json");
    let (code, report) = check_texts("list.json", &after, &after);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("pass")));
    // The ReplicationController inside the `List` is a workload: audit sees its container.
    let run = changelint(&[
        "audit",
        &fixture("corpus/manifests/kubernetes__hack-testdata-multi-resource-list.json"),
    ]);
    assert!(
        run.stdout.contains("ReplicationController"),
        "{}",
        run.stdout
    );
}

#[test]
fn helm_rendered_file_with_source_comments() {
    let before =
        corpus("otel-helm-charts__collector-daemonset-and-deployment-rendered-daemonset.yaml");
    let after = before.replacen("              memory: 200M\n", "", 1);
    assert_ne!(before, after);
    let (code, report) = check_texts("daemonset.yaml", &before, &after);
    assert_eq!(code, 1);
    assert_eq!(
        rules_of(&report),
        [("limits-removed".to_owned(), "deny".to_owned())]
    );
    assert_eq!(report["findings"][0]["line"], 119);
}

#[test]
fn multi_document_stream_with_end_markers_and_empty_documents() {
    let before = "---\n# comment only\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: c, image: i, resources: {limits: {memory: '128Mi'}}}\n...\n---\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers:\n  - name: c\n    image: i\n    resources:\n      limits:\n        memory: \"1Gi\"\n";
    let after = before
        .replace(
            "resources: {limits: {memory: '128Mi'}}",
            "resources: {limits: {memory: 134217728}}",
        )
        .replace("memory: \"1Gi\"", "cpu: 1");
    let (code, report) = check_texts("pods.yaml", before, &after);
    assert_eq!(code, 1, "{report}");
    // Pod a: 128Mi -> 134217728 (bytes) is the same value; Pod b lost its memory limit.
    let objects: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["object"]["name"].clone())
        .collect();
    assert_eq!(objects, ["b"]);
    assert_eq!(report["findings"][0]["line"], 22);
}

#[test]
fn anchors_and_merge_keys_remove_the_limit_from_every_container() {
    let dir = repo_path("policies/fixtures/limits-removed/bad/anchor-merge");
    let (code, report) = changelint_json(&[
        "check",
        "--before",
        &format!("{dir}/before.yaml"),
        "--after",
        &format!("{dir}/after.yaml"),
    ]);
    assert_eq!(code, 1);
    let pointers: Vec<_> = field_of_findings(&report, "pointer");
    assert!(
        pointers.contains(&"/spec/containers/0/resources/limits/memory".to_owned()),
        "{pointers:?}"
    );
    assert!(
        pointers.contains(&"/spec/containers/1/resources/limits/memory".to_owned()),
        "{pointers:?}"
    );
}

#[test]
fn stdin_is_read_for_dash() {
    let (before_path, after_path) = memory_limit_removed();
    let before = fs::read(before_path).unwrap();
    let run = changelint_with_stdin(
        &[
            "check",
            "--before",
            "-",
            "--after",
            &after_path,
            "--format",
            "json",
        ],
        Some(&before),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["findings"][0]["file"], "<stdin>");
    assert_eq!(report["findings"][0]["line"], 19);
}

#[test]
fn directories_pair_by_relative_path_and_overlays_pair_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = incident("before");
    let without = incident("after");
    // The same DaemonSet in two overlays: only prod loses its limit.
    for (side, prod, staging) in [("before", &base, &base), ("after", &without, &base)] {
        for (overlay, text) in [
            ("overlays/prod/shipper.yaml", prod),
            ("overlays/staging/shipper.yml", staging),
        ] {
            let path = dir.path().join(side).join(overlay);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        fs::write(dir.path().join(side).join("README.md"), "not a manifest").unwrap();
    }
    let side = |s: &str| dir.path().join(s).display().to_string();
    let (code, report) = changelint_json(&[
        "check",
        "--before",
        &side("before"),
        "--after",
        &side("after"),
    ]);
    assert_eq!(code, 1);
    let files: Vec<_> = field_of_findings(&report, "file");
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].ends_with("before/overlays/prod/shipper.yaml"),
        "{files:?}"
    );
}

#[test]
fn strategic_merge_patches_are_judged_on_what_they_contain() {
    let before = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: log-shipper, namespace: runtime-system}\nspec:\n  template:\n    spec:\n      containers:\n        - name: shipper\n          resources:\n            limits: {memory: 256Mi}\n";
    let after = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: log-shipper, namespace: runtime-system}\nspec:\n  template:\n    spec:\n      containers:\n        - name: shipper\n          resources:\n            limits: {cpu: 200m}\n";
    let (code, report) = check_texts("kustomization-patch.yaml", before, after);
    assert_eq!(code, 1);
    assert_eq!(
        rules_of(&report),
        [("limits-removed".to_owned(), "deny".to_owned())]
    );
}

#[test]
fn custom_resources_with_a_pod_template_use_the_policy_paths() {
    let rollout = |limits: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: web}}\nspec:\n  replicas: 5\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:1\n          resources: {{limits: {{{limits}}}}}\n"
        )
    };
    let (code, report) = check_texts(
        "rollout.yaml",
        &rollout("memory: 1Gi, cpu: 1"),
        &rollout("cpu: 1"),
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        report["findings"][0]["pointer"],
        "/spec/template/spec/containers/0/resources/limits/memory"
    );
}

#[test]
fn every_workload_kind_is_read() {
    // Every container of every kind in the corpus is found: the audit counts them (see audit.rs
    // for the numbers); here, that each kind appears.
    let run = changelint(&["audit", &fixture("corpus/manifests")]);
    for kind in [
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(kind)),
            "{kind} missing:\n{}",
            run.stdout
        );
    }
}

#[test]
fn manifest_extensions_match_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let daemonset = incident("after");
    fs::write(dir.path().join("DS.YAML"), &daemonset).unwrap();
    let (_, report) = changelint_json(&["audit", &dir.path().display().to_string()]);
    let files: Vec<_> = field_of_findings(&report, "file");
    assert!(
        !files.is_empty() && files.iter().all(|f| f.ends_with("DS.YAML")),
        "{report}"
    );
}

/// A pipe or a device named on the command line is read as a file: `<(cat x.yaml)`,
/// `/dev/stdin`.
#[cfg(unix)]
#[test]
fn a_pipe_given_as_a_path_is_read_as_a_file() {
    let (before_path, after_path) = memory_limit_removed();
    let after = fs::read(after_path).unwrap();
    let run = changelint_with_stdin(&["audit", "/dev/stdin", "--format", "json"], Some(&after));
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    assert_eq!(report["findings"][0]["file"], "/dev/stdin", "{report}");

    let run = changelint_with_stdin(
        &[
            "check",
            "--before",
            &before_path,
            "--after",
            "/dev/stdin",
            "--format",
            "json",
        ],
        Some(&after),
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        rules_of(&report),
        [("limits-removed".to_owned(), "deny".to_owned())]
    );

    // A character device holds no manifest: an error, not an empty directory.
    let run = changelint(&["audit", "/dev/null"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("/dev/null"), "{}", run.stderr);
}

/// Inside a directory, a FIFO or a socket named like a manifest is refused, not read (a FIFO
/// with no writer would block the walk forever) and not skipped.
#[cfg(unix)]
#[test]
fn a_fifo_or_socket_in_a_directory_is_an_error() {
    let dir = tree_with_a_good_file();
    let fifo = dir.path().join("nested/pipe.yaml");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let root = dir.path().display().to_string();
    let run = changelint(&["audit", &root]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&fifo.display().to_string()),
        "{}",
        run.stderr
    );
    fs::remove_file(&fifo).unwrap();

    let socket = dir.path().join("agent.sock.json");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let run = changelint(&["audit", &root]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&socket.display().to_string()),
        "{}",
        run.stderr
    );
}

/// Bad input: exit 2, a message naming the file (and line), never a panic.
mod bad_input {
    use super::*;

    fn check_bad(name: &str, bytes: &[u8]) -> crate::util::Run {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join(name);
        fs::write(&bad, bytes).unwrap();
        let (_, good) = memory_limit_removed();
        let run = changelint(&[
            "check",
            "--before",
            &good,
            "--after",
            &bad.display().to_string(),
        ]);
        assert_eq!(run.code, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&bad.display().to_string()),
            "{name}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        run
    }

    /// `bytes` as the after side are refused with a message that says `says`.
    fn refused_saying(name: &str, bytes: &[u8], says: &str) {
        let run = check_bad(name, bytes);
        assert!(run.stderr.contains(says), "{name}: {}", run.stderr);
    }

    #[test]
    fn invalid_yaml_names_file_and_line() {
        refused_saying(
            "broken.yaml",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
            "broken.yaml:",
        );
    }

    #[test]
    fn invalid_json_names_file_and_line() {
        refused_saying(
            "broken.json",
            b"{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",,\n}\n",
            "broken.json:3",
        );
    }

    #[test]
    fn crlf_yaml_names_the_files_line() {
        refused_saying(
            "crlf.yaml",
            b"apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: \"x}\r\n",
            "crlf.yaml:4: ",
        );
    }

    #[test]
    fn control_character_names_its_line() {
        refused_saying(
            "bel.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"\x07\"\n",
            "bel.yaml:6: control characters are not allowed",
        );
    }

    #[test]
    fn empty_file() {
        refused_saying("empty.yaml", b"", "no YAML or JSON document");
    }

    #[test]
    fn non_utf8_bytes() {
        refused_saying(
            "latin1.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n",
            "latin1.yaml:3: file is not valid UTF-8",
        );
    }

    #[test]
    fn alias_bomb() {
        let mut bomb = String::from(
            "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
        );
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let alias = format!("*{prev}");
            writeln!(bomb, "{name}: &{name} [{}]", [alias.as_str(); 9].join(", ")).unwrap();
        }
        refused_saying("bomb.yaml", bomb.as_bytes(), "alias bomb");
    }

    #[test]
    fn object_over_the_api_server_limit() {
        let mut big =
            String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n");
        let line = format!("  k{{}}: \"{}\"\n", "x".repeat(1000));
        for i in 0..3200 {
            big.push_str(&line.replace("{}", &i.to_string()));
        }
        refused_saying("big.yaml", big.as_bytes(), "over the API server's limit");
    }

    #[test]
    fn unrendered_helm_template_gets_a_hint() {
        let template = fs::read(repo_path("policies/fixtures/diffs/vpc-cni-init-container-resources/before/charts__aws-vpc-cni__templates__daemonset.yaml")).unwrap();
        refused_saying("daemonset.yaml", &template, "helm template");
    }

    /// The incident DaemonSet with `text` in place of its `cpu: 200m` limit line.
    fn shipper_with(text: &str) -> String {
        let good = incident("after");
        assert!(good.contains("              cpu: 200m\n"));
        good.replace("              cpu: 200m\n", text)
    }

    #[test]
    fn a_limit_that_is_not_a_quantity_names_its_line() {
        for bad in ["abc", "\"\"", "256MiB", "-1Gi", "[1]"] {
            let run = check_bad(
                "shipper.yaml",
                shipper_with(&format!("              cpu: {bad}\n")).as_bytes(),
            );
            assert!(
                run.stderr.contains("shipper.yaml:18:"),
                "{bad}: {}",
                run.stderr
            );
            assert!(run.stderr.contains("limits/cpu"), "{bad}: {}", run.stderr);
        }
    }

    #[test]
    fn an_unrendered_template_value_gets_the_helm_hint() {
        refused_saying(
            "shipper.yaml",
            shipper_with("              cpu: \"{{ .Values.cpu }}\"\n").as_bytes(),
            "helm template",
        );
    }

    #[test]
    fn a_workload_of_the_wrong_shape_names_its_line() {
        let good = shipper_with("              cpu: 200m\n");
        for (bad, line) in [
            (good.replace("kind: DaemonSet", "kind: 5"), 2),
            (good.replace("  name: log-shipper\n", "  name: 5\n"), 4),
            (
                good.replace(
                    "      containers:\n",
                    "      containers: shipper\n      old:\n",
                ),
                13,
            ),
            (
                good.replace(
                    "            limits:\n",
                    "            limits: 200m\n            old:\n",
                ),
                17,
            ),
            (
                good.replace(
                    "spec:\n  selector",
                    "spec:\n  minReadySeconds: soon\n  selector",
                ),
                7,
            ),
        ] {
            refused_saying(
                "shipper.yaml",
                bad.as_bytes(),
                &format!("shipper.yaml:{line}:"),
            );
        }
    }

    #[test]
    fn a_malformed_exemption_names_its_line() {
        let good = shipper_with("              cpu: 200m\n");
        for exemption in [
            "limits-removed; reason=test; expires=31.12.2020",
            "limits-remvoed; reason=typo",
        ] {
            let annotated = good.replace(
                "  namespace: runtime-system\n",
                &format!(
                    "  namespace: runtime-system\n  annotations:\n    changelint.dev/exempt: \"{exemption}\"\n"
                ),
            );
            refused_saying(
                "shipper.yaml",
                annotated.as_bytes(),
                "shipper.yaml:7: the exemption",
            );
        }
    }

    #[test]
    fn a_list_item_that_is_not_an_object_names_its_line() {
        refused_saying("list.yaml",
            b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- 1\n", "list.yaml:7:");
    }

    #[test]
    fn a_directory_with_a_bad_file_names_that_file() {
        let dir = tree_with_a_good_file();
        fs::write(dir.path().join("nested/bad.yml"), "a: b: c\n").unwrap();
        let root = dir.path().display().to_string();
        let run = changelint(&["audit", &root]);
        assert_eq!(run.code, 2);
        assert!(
            run.stderr.contains(
                &Path::new(&root)
                    .join("nested/bad.yml")
                    .display()
                    .to_string()
            ),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("bad.yml:1"), "{}", run.stderr);
    }
}
