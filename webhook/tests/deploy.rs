//! The kustomize manifests in `webhook/deploy/` parse, and keep the invariants that stop the
//! webhook from taking the cluster down or being an incident of its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use changelint_policies::yaml::{Limits, parse_documents};
use changelint_policies::{Policy, Severity};
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Every document of every YAML file under `deploy/`, by file (relative path).
fn manifests() -> BTreeMap<String, Vec<Value>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![deploy_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let docs = parse_documents(&text, &Limits::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let name = path
                    .strip_prefix(deploy_dir())
                    .unwrap()
                    .display()
                    .to_string();
                files.insert(
                    name,
                    docs.into_iter()
                        .map(|d| d.value)
                        .filter(|v| !v.is_null())
                        .collect(),
                );
            }
        }
    }
    files
}

/// Objects of the base (not the overlays' patches).
fn objects_of(kind: &str) -> Vec<Value> {
    manifests()
        .into_iter()
        .filter(|(file, _)| !file.contains('/'))
        .flat_map(|(_, docs)| docs)
        .filter(|doc| doc["kind"] == kind)
        .collect()
}

fn one(kind: &str) -> Value {
    let mut found = objects_of(kind);
    assert_eq!(found.len(), 1, "expected one {kind}");
    found.remove(0)
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn every_manifest_parses_and_every_base_file_is_listed() {
    let files = manifests();
    assert!(files.len() >= 10, "{:?}", files.keys());
    for (dir, prefix) in [
        ("kustomization.yaml", ""),
        ("cert-manager/kustomization.yaml", "cert-manager/"),
    ] {
        let kustomization = &files[dir][0];
        let listed: Vec<String> = strings(&kustomization["resources"])
            .into_iter()
            .chain(strings(
                &kustomization["patches"]
                    .as_array()
                    .map(|p| Value::Array(p.iter().map(|p| p["path"].clone()).collect()))
                    .unwrap_or_default(),
            ))
            .map(|r| format!("{prefix}{r}"))
            .collect();
        for file in files.keys() {
            let in_dir = file
                .strip_prefix(prefix)
                .is_some_and(|rest| !rest.contains('/'));
            if in_dir && !file.ends_with("kustomization.yaml") {
                assert!(listed.contains(file), "{file} is not referenced by {dir}");
            }
        }
    }
}

#[test]
fn webhook_configuration_cannot_lock_the_cluster() {
    let config = one("ValidatingWebhookConfiguration");
    assert_eq!(
        config["metadata"]["name"], "changelint",
        "the documented off-switch names it"
    );
    let webhooks = config["webhooks"].as_array().unwrap();
    assert!(!webhooks.is_empty());
    for webhook in webhooks {
        assert_eq!(webhook["sideEffects"], "None");
        let timeout = webhook["timeoutSeconds"].as_u64().unwrap();
        assert!(timeout <= 10, "timeoutSeconds {timeout}");
        assert!(strings(&webhook["admissionReviewVersions"]).contains(&"v1"));
        assert!(["Ignore", "Fail"].contains(&webhook["failurePolicy"].as_str().unwrap()));
        assert_eq!(webhook["clientConfig"]["service"]["path"], "/validate");
        assert_eq!(
            webhook["clientConfig"]["service"]["namespace"],
            "changelint"
        );

        let expressions = webhook["namespaceSelector"]["matchExpressions"]
            .as_array()
            .unwrap();
        let excluded: Vec<&str> = expressions
            .iter()
            .filter(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
            .flat_map(|e| strings(&e["values"]))
            .collect();
        assert!(excluded.contains(&"kube-system"), "{excluded:?}");
        assert!(excluded.contains(&"changelint"), "{excluded:?}");

        let mut resources = Vec::new();
        for rule in webhook["rules"].as_array().unwrap() {
            let operations = strings(&rule["operations"]);
            assert!(
                operations.iter().all(|o| ["CREATE", "UPDATE"].contains(o)),
                "{operations:?}"
            );
            assert!(!operations.contains(&"*"));
            resources.extend(strings(&rule["resources"]));
        }
        for expected in [
            "deployments",
            "daemonsets",
            "statefulsets",
            "replicasets",
            "jobs",
            "cronjobs",
            "pods",
            "replicationcontrollers",
        ] {
            assert!(resources.contains(&expected), "{expected} not matched");
        }
        assert!(
            !resources.iter().any(|r| r.contains('*') || r.contains('/')),
            "no wildcards or subresources"
        );
    }
}

#[test]
fn request_deadline_is_under_the_webhook_timeout() {
    let deployment = one("Deployment");
    let timeout = one("ValidatingWebhookConfiguration")["webhooks"][0]["timeoutSeconds"]
        .as_f64()
        .unwrap();
    let args = strings(&deployment["spec"]["template"]["spec"]["containers"][0]["args"]);
    let deadline: f64 = args
        .iter()
        .find_map(|a| a.strip_prefix("--request-timeout="))
        .unwrap_or("5")
        .parse()
        .unwrap();
    assert!(deadline < timeout, "{deadline} >= {timeout}");
    assert!(args.contains(&"serve"));
}

#[test]
fn deployment_is_redundant_bounded_and_locked_down() {
    let deployment = one("Deployment");
    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2);
    let pod = &spec["template"]["spec"];
    assert!(pod["affinity"]["podAntiAffinity"].is_object());
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    for container in pod["containers"].as_array().unwrap() {
        let resources = &container["resources"];
        for class in ["limits", "requests"] {
            for resource in ["cpu", "memory"] {
                assert!(resources[class][resource].is_string(), "{class}.{resource}");
            }
        }
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["runAsNonRoot"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            assert_eq!(container[probe]["httpGet"]["scheme"], "HTTPS", "{probe}");
            assert_eq!(container[probe]["httpGet"]["path"], path, "{probe}");
        }
    }
    let volumes = pod["volumes"].as_array().unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["secret"]["secretName"] == "changelint-webhook-tls")
    );

    let pdb = one("PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        spec["selector"]["matchLabels"]
    );
    let service = one("Service");
    let https = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == 443)
        .cloned()
        .unwrap();
    assert_eq!(https["targetPort"], "https");
    assert!(
        pod["containers"][0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "https" && p["containerPort"] == 8443)
    );
}

/// The webhook's own Deployment passes the engine's audit (as `changelint audit` would judge it).
#[test]
fn own_deployment_passes_the_engine() {
    let deployment = one("Deployment");
    let policy = Policy::default();
    let change = changelint_policies::object_change(None, Some(deployment), &policy)
        .expect("a readable deployment");
    let report = changelint_policies::check(&change, &policy);
    assert!(
        !report.findings.iter().any(|f| f.rule == "limits-missing"),
        "{:#?}",
        report.findings
    );
    assert!(
        !report.findings.iter().any(|f| f.severity >= Severity::Warn),
        "{:#?}",
        report.findings
    );
}

#[test]
fn policy_configmap_holds_a_valid_policy() {
    let configmap = one("ConfigMap");
    let text = configmap["data"]["policy.yaml"].as_str().unwrap();
    Policy::from_yaml("policy.yaml", text).unwrap();
}

#[test]
fn cert_manager_overlay_injects_the_ca_of_its_certificate() {
    let files = manifests();
    let patch = &files["cert-manager/inject-ca.yaml"][0];
    let from = patch["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        .as_str()
        .unwrap();
    let certificates: Vec<&Value> = files["cert-manager/certificate.yaml"]
        .iter()
        .filter(|d| d["kind"] == "Certificate")
        .collect();
    let serving = certificates
        .iter()
        .find(|c| {
            format!(
                "{}/{}",
                c["metadata"]["namespace"].as_str().unwrap(),
                c["metadata"]["name"].as_str().unwrap()
            ) == from
        })
        .expect("inject-ca-from names a Certificate");
    assert_eq!(serving["spec"]["secretName"], "changelint-webhook-tls");
    let names = strings(&serving["spec"]["dnsNames"]);
    assert!(names.contains(&"changelint-webhook.changelint.svc"));
}

/// Every manifest of the deploy base is a well-formed object of its Kubernetes API type: a
/// misspelt or mistyped field fails here rather than at `kubectl apply`.
#[test]
fn manifests_deserialize_into_their_api_types() {
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;

    fn typed<T: serde::de::DeserializeOwned>(kind: &str) -> usize {
        let objects = objects_of(kind);
        for object in &objects {
            if let Err(error) = serde_json::from_value::<T>(object.clone()) {
                panic!("{kind} {}: {error}", object["metadata"]["name"]);
            }
        }
        objects.len()
    }
    let checked = typed::<Deployment>("Deployment")
        + typed::<ValidatingWebhookConfiguration>("ValidatingWebhookConfiguration")
        + typed::<Service>("Service")
        + typed::<ServiceAccount>("ServiceAccount")
        + typed::<Namespace>("Namespace")
        + typed::<ConfigMap>("ConfigMap")
        + typed::<PodDisruptionBudget>("PodDisruptionBudget");
    assert!(checked >= 7, "only {checked} manifests checked");
}
