//! `changelint audit` and the blast-radius rules through the CLI.

use crate::util::{changelint, changelint_json, check_fixture, fixture};

/// The counts were cross-checked with an independent script (PyYAML over the same files:
/// 70 workloads, 97 containers, 47 without a memory limit, 39 without cpu and memory requests).
#[test]
fn audit_of_the_corpus_counts_every_container_without_limits() {
    let (code, report) = changelint_json(&["audit", &fixture("corpus/manifests")]);
    assert_eq!(code, 1, "node agents without limits deny");
    let totals = &report["audit"]["totals"];
    assert_eq!(totals["workloads"], 70);
    assert_eq!(totals["containers"], 97);
    assert_eq!(totals["without_memory_limit"], 47);
    assert_eq!(totals["without_requests"], 39);
    // Every container missing a memory limit or requests has its own finding.
    let missing = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "limits-missing")
        .count();
    assert_eq!(
        missing, 47,
        "containers lacking a memory limit or requests (47 by the same script)"
    );
    let kube_system_daemonsets = report["audit"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["namespace"] == "kube-system" && g["kind"] == "DaemonSet")
        .expect("a kube-system DaemonSet row");
    assert_eq!(kube_system_daemonsets["workloads"], 15);
    assert_eq!(kube_system_daemonsets["without_memory_limit"], 14);
}

#[test]
fn audit_prints_a_table_grouped_by_namespace_and_kind() {
    let run = changelint(&["audit", &fixture("corpus/manifests")]);
    let header = run
        .stdout
        .lines()
        .find(|l| l.starts_with("namespace"))
        .expect("table header");
    assert!(
        header.contains("no mem limit") && header.contains("unsafe rollout"),
        "{header}"
    );
    let total = run
        .stdout
        .lines()
        .find(|l| l.starts_with("total"))
        .expect("totals row");
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["total", "70", "97", "47", "39", "1"]
    );
}

#[test]
fn daemonset_image_bump_rolled_to_every_node_denies() {
    let (code, report) = check_fixture("blast-radius-rollout", "bad", "daemonset-every-node");
    assert_eq!(code, 1);
    assert_eq!(report["findings"][0]["before"], "1");
    assert_eq!(report["findings"][0]["after"], "100%");
    for case in [
        "daemonset-one-at-a-time",
        "daemonset-ten-percent",
        "lowers-risk",
    ] {
        let (code, report) = check_fixture("blast-radius-rollout", "good", case);
        assert_eq!(
            (code, report["verdict"].as_str()),
            (0, Some("pass")),
            "{case}: {report}"
        );
    }
}

#[test]
fn recreate_with_forty_replicas_is_flagged_and_one_replica_is_not() {
    let (code, _) = check_fixture("blast-radius-rollout", "bad", "deployment-recreate");
    assert_eq!(code, 1);
    let (code, report) = check_fixture("blast-radius-rollout", "good", "recreate-single-replica");
    assert_eq!((code, report["verdict"].as_str()), (0, Some("pass")));
}

#[test]
fn six_cluster_overlays_warn_and_deny_with_a_removed_limit() {
    let (code, report) = check_fixture("blast-radius-scope", "bad", "six-clusters-image-bump");
    assert_eq!(
        (code, report["verdict"].as_str()),
        (0, Some("warn")),
        "{report}"
    );
    let (code, report) = check_fixture("blast-radius-scope", "bad", "six-clusters-limit-removed");
    assert_eq!(code, 1);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "blast-radius-scope" && f["severity"] == "deny")
    );
    let (code, report) = check_fixture("blast-radius-scope", "good", "one-cluster");
    assert_eq!(
        (code, report["verdict"].as_str()),
        (0, Some("pass")),
        "{report}"
    );
}

#[test]
fn inventory_multiplies_the_delta_over_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::write(
        &inventory,
        "clusters:\n  prod-eu-1:\n    nodes: 120\n    zones: [a, b, c]\n",
    )
    .unwrap();
    let (code, report) = changelint_json(&[
        "check",
        "--before",
        "examples/incident/before",
        "--after",
        "examples/incident/after",
        "--inventory",
        &inventory.display().to_string(),
    ]);
    assert_eq!(code, 1);
    let workload = &report["impact"]["workloads"][0];
    assert_eq!(
        workload["reach"],
        serde_json::json!({"count": 120, "unit": "nodes"})
    );
    let fleet: Vec<_> = workload["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["fleet"].as_str().unwrap())
        .collect();
    assert!(
        fleet.contains(&"memory limit 256Mi -> unbounded on 120 nodes (30Gi -> unbounded)"),
        "{fleet:?}"
    );

    std::fs::write(&inventory, "clusters:\n  prod-eu-1:\n    nodez: 120\n").unwrap();
    let run = changelint(&[
        "audit",
        "examples/incident/after",
        "--inventory",
        &inventory.display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("inventory.yaml:3"), "{}", run.stderr);
}

#[test]
fn an_inventory_of_several_documents_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::write(
        &inventory,
        "clusters:\n  prod-eu-1:\n    nodes: 120\n---\nclusters:\n  prod-us-1:\n    nodes: 80\n",
    )
    .unwrap();
    let run = changelint(&[
        "audit",
        "examples/incident/after",
        "--inventory",
        &inventory.display().to_string(),
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("inventory.yaml:5"), "{}", run.stderr);
}

/// A container that takes its name and resources from another through a YAML merge key is
/// judged with them: the reader prunes containers, and a merge into one makes it read the file
/// again in full (a version that left out more than digests lost the merge: no name, no
/// limits).
#[test]
fn audit_reads_a_container_merged_from_an_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("web.yaml");
    std::fs::write(
        &manifest,
        "\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      initContainers:
        - &base
          name: init
          image: web:1
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
      containers:
        - <<: *base
          image: web:2
",
    )
    .unwrap();
    let (code, report) = changelint_json(&["audit", &manifest.display().to_string()]);
    assert_eq!(
        (code, &report["findings"]),
        (0, &serde_json::json!([])),
        "{report}"
    );
    let totals = &report["audit"]["totals"];
    assert_eq!(totals["containers"], 2, "{report}");
    assert_eq!(totals["without_memory_limit"], 0, "{report}");
}
