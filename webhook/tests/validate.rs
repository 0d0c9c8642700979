//! `POST /validate`, `/healthz`, `/readyz` through `router().oneshot(..)`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use changelint_policies::{Policy, SourceFile, Verdict};
use changelint_webhook::review::{
    AUDIT_KEYS, MAX_ANNOTATION_BYTES, MAX_WARNING_BYTES, MAX_WARNINGS_TOTAL_BYTES,
};
use changelint_webhook::{AppState, Limits, Metrics, metrics, router};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn incident_daemonset_update_is_denied_naming_rule_and_limit() {
    let response = answer(&incident_review()).await;

    assert_eq!(response["allowed"], false, "{response:#}");
    let status = &response["status"];
    assert_eq!(status["code"], 403);
    assert_eq!(status["reason"], "Forbidden");
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("limits-removed"), "{message}");
    assert!(
        message.contains("DaemonSet runtime-system/log-shipper"),
        "{message}"
    );
    assert!(message.contains("256Mi -> unbounded"), "{message}");
    assert!(message.contains("shipper"), "{message}");
    assert!(message.len() <= 4096);

    let audit = &response["auditAnnotations"];
    assert_eq!(audit["verdict"], "deny");
    assert!(
        audit["findings"]
            .as_str()
            .unwrap()
            .contains("limits-removed")
    );
    assert!(
        audit["resource-changes"]
            .as_str()
            .unwrap()
            .contains("shipper limit memory 256Mi -> unset"),
        "{audit:#}"
    );
    assert!(
        audit["patch"]
            .as_str()
            .unwrap()
            .contains("remove /spec/template/spec/containers/0/resources")
    );
}

#[tokio::test]
async fn image_only_update_is_allowed_without_warnings() {
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let after = log_shipper(
        Some(incident_resources()),
        "registry.example.com/log-shipper:1.4.3",
    );
    let response = answer(&review(V1, "UPDATE", Some(before), Some(after))).await;
    assert_eq!(response["allowed"], true, "{response:#}");
    assert!(response.get("warnings").is_none(), "{response:#}");
    assert!(response.get("status").is_none());
    assert_eq!(response["auditAnnotations"]["verdict"], "pass");
}

#[tokio::test]
async fn create_of_a_daemonset_without_limits_is_denied() {
    let response = answer(&review(
        V1,
        "CREATE",
        None,
        Some(log_shipper(None, SHIPPER_IMAGE)),
    ))
    .await;
    assert_eq!(response["allowed"], false, "{response:#}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("limits-missing"), "{message}");
}

#[tokio::test]
async fn create_of_a_daemonset_with_limits_is_allowed() {
    let object = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let response = answer(&review(V1, "CREATE", None, Some(object))).await;
    assert_eq!(response["allowed"], true, "{response:#}");
}

#[tokio::test]
async fn delete_and_connect_are_allowed_at_once() {
    let old = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    for operation in ["DELETE", "CONNECT"] {
        let response = answer(&review(V1, operation, Some(old.clone()), None)).await;
        assert_eq!(response["allowed"], true, "{operation}: {response:#}");
        assert!(response.get("auditAnnotations").is_none());
    }
}

#[tokio::test]
async fn kinds_without_a_pod_spec_are_allowed_at_once() {
    let configmap = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "c", "namespace": "default" },
        "data": { "resources": "none" }
    });
    let response = answer(&review(V1, "CREATE", None, Some(configmap))).await;
    assert_eq!(response["allowed"], true);
}

#[tokio::test]
async fn dry_run_is_judged_the_same() {
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let after = log_shipper(None, SHIPPER_IMAGE);
    let mut dry = review(V1, "UPDATE", Some(before), Some(after));
    dry["request"]["dryRun"] = json!(true);
    let response = answer(&dry).await;
    assert_eq!(response["allowed"], false);
}

#[tokio::test]
async fn update_without_old_object_is_invalid_not_denied() {
    let mut review = review(V1, "UPDATE", None, Some(log_shipper(None, SHIPPER_IMAGE)));
    review["request"]
        .as_object_mut()
        .unwrap()
        .remove("oldObject");
    let response = answer(&review).await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 400);
    assert_eq!(response["status"]["reason"], "BadRequest");
}

/// The answer to an update of the log shipper whose memory limit becomes `memory`.
async fn memory_limit_set_to(memory: Value) -> Value {
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let mut resources = incident_resources();
    resources["limits"]["memory"] = memory;
    let after = log_shipper(Some(resources), SHIPPER_IMAGE);
    answer(&review(V1, "UPDATE", Some(before), Some(after))).await
}

#[tokio::test]
async fn a_memory_limit_set_to_null_is_a_removal() {
    let response = memory_limit_set_to(Value::Null).await;
    assert_eq!(response["allowed"], false, "{response:#}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("256Mi -> unbounded"), "{message}");
}

#[tokio::test]
async fn an_object_the_rules_cannot_read_is_invalid_not_allowed() {
    let response = memory_limit_set_to(json!("abc")).await;
    assert_eq!(response["allowed"], false, "{response:#}");
    assert_eq!(response["status"]["code"], 400);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("/spec/template/spec/containers/0/resources/limits/memory"),
        "{message}"
    );
}

#[tokio::test]
async fn an_update_may_repair_what_the_rules_cannot_read() {
    let annotated = |exemption: &str| {
        let mut object = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
        object["metadata"]["annotations"] = json!({ "changelint.dev/exempt": exemption });
        object
    };
    let broken = annotated("limits-remvoed; reason=typo");
    let repaired = annotated("limits-removed; reason=load test");
    let response = answer(&review(V1, "UPDATE", Some(broken.clone()), Some(repaired))).await;
    assert_eq!(response["allowed"], true, "{response:#}");
    let response = answer(&review(V1, "UPDATE", Some(broken.clone()), Some(broken))).await;
    assert_eq!(response["status"]["code"], 400, "{response:#}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("limits-remvoed"), "{message}");
}

#[tokio::test]
async fn an_object_that_is_not_a_json_object_is_invalid_and_said_so() {
    for object in [json!("a string"), json!(5), json!([1])] {
        let mut review = review(V1, "CREATE", None, Some(log_shipper(None, SHIPPER_IMAGE)));
        review["request"]["object"] = object;
        let response = answer(&review).await;
        assert_eq!(response["status"]["code"], 400, "{response:#}");
        let message = response["status"]["message"].as_str().unwrap();
        assert!(message.contains("request's object is not"), "{message}");
    }
    let object = log_shipper(None, SHIPPER_IMAGE);
    let mut update = review(V1, "UPDATE", Some(object.clone()), Some(object));
    update["request"]["oldObject"] = json!("a string");
    let response = answer(&update).await;
    assert_eq!(response["status"]["code"], 400, "{response:#}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("oldObject is not a JSON object"),
        "{message}"
    );
}

#[tokio::test]
async fn v1beta1_is_answered_in_v1beta1() {
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let after = log_shipper(None, SHIPPER_IMAGE);
    let response = answer(&review(V1BETA1, "UPDATE", Some(before), Some(after))).await;
    assert_eq!(response["allowed"], false);
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_json_error() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not json", b"{\"apiVersion\": ".to_vec()),
        ("empty", Vec::new()),
        ("not utf-8", vec![0xff, 0xfe, 0x00]),
        ("array", b"[]".to_vec()),
        ("wrong apiVersion", br#"{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE"}}"#.to_vec()),
        ("wrong kind", br#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u","operation":"CREATE"}}"#.to_vec()),
        ("no request", br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec()),
        ("no uid", br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#.to_vec()),
        ("unknown operation", br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"PATCH"}}"#.to_vec()),
        ("jsonc fixture", fixture("gatekeeper-docs__input-md-example.jsonc")),
        ("yaml fixture", fixture("gatekeeper-library__ephemeralstoragelimit-update.yaml")),
        ("bare request fixture", fixture("kubewarden-policies__echo__update_accept.json")),
    ];
    for (what, body) in cases {
        let (status, body) = call(app(), post_request(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {body}"
        );
    }
}

#[tokio::test]
async fn oversized_body_gets_413_with_a_json_error() {
    let state = AppState::with_parts(
        Policy::default(),
        Limits {
            max_body_bytes: 64 * 1024,
            ..Limits::default()
        },
        Metrics::new(),
    );
    let mut big = review(V1, "CREATE", None, Some(log_shipper(None, SHIPPER_IMAGE)));
    big["request"]["object"]["metadata"]["annotations"] =
        json!({ "padding": "x".repeat(100 * 1024) });
    let (status, body) = call(
        router(state.clone()),
        post_request(serde_json::to_vec(&big).unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("65536"));
    let rendered = state.metrics().render();
    assert_eq!(
        metrics::sample(&rendered, metrics::REJECTED, "too_large"),
        Some(1.0),
        "{rendered}"
    );

    // The default limit takes a 3 MiB object (the API server's own limit).
    let mut large = review(
        V1,
        "CREATE",
        None,
        Some(log_shipper(Some(incident_resources()), SHIPPER_IMAGE)),
    );
    large["request"]["object"]["metadata"]["annotations"] =
        json!({ "padding": "x".repeat(3 * 1024 * 1024 - 4096) });
    let (status, body) = validate(&large).await;
    assert_eq!(status, StatusCode::OK, "{}", body["error"]);
}

#[tokio::test]
async fn warnings_are_bounded_per_warning_and_in_total() {
    // 100 containers, each raising its memory limit 10x: 100 limits-raised warnings.
    let container = |i: usize, memory: &str| {
        json!({
            "name": format!("worker-with-a-rather-long-container-name-to-fill-the-warning-{i:03}"),
            "image": "registry.example.com/worker:1",
            "resources": { "limits": { "memory": memory }, "requests": { "cpu": "10m", "memory": "64Mi" } }
        })
    };
    let deployment = |memory: &str| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "workers", "namespace": "batch" },
            "spec": { "replicas": 3, "selector": { "matchLabels": { "app": "w" } }, "template": {
                "metadata": { "labels": { "app": "w" } },
                "spec": { "containers": (0..100).map(|i| container(i, memory)).collect::<Vec<_>>() }
            } }
        })
    };
    let response = answer(&review(
        V1,
        "UPDATE",
        Some(deployment("100Mi")),
        Some(deployment("1000Mi")),
    ))
    .await;
    assert_eq!(response["allowed"], true, "warn findings do not block");
    let warnings: Vec<&str> = response["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.len() > 1 && warnings.len() < 100,
        "{}",
        warnings.len()
    );
    assert!(warnings.iter().all(|w| w.len() <= MAX_WARNING_BYTES));
    assert!(warnings.iter().map(|w| w.len()).sum::<usize>() <= MAX_WARNINGS_TOTAL_BYTES);
    assert!(
        warnings[0].starts_with("limits-raised: Deployment batch/workers"),
        "{}",
        warnings[0]
    );
    let last = warnings.last().unwrap();
    let shown = warnings.len() - 1;
    assert!(
        last.starts_with(&format!("... {} more", 100 - shown)),
        "{last}"
    );

    for (key, value) in response["auditAnnotations"].as_object().unwrap() {
        assert!(
            value.as_str().unwrap().len() <= MAX_ANNOTATION_BYTES,
            "{key}"
        );
    }
    assert!(
        response["auditAnnotations"]["patch"]
            .as_str()
            .unwrap()
            .contains("more")
    );
}

#[tokio::test]
async fn audit_annotation_keys_are_valid_once_prefixed_by_the_webhook_name() {
    // The API server stores `<webhook name>/<key>`; that must be a qualified name.
    let valid_name = |name: &str| {
        !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    for key in AUDIT_KEYS {
        assert!(valid_name(key), "{key}");
        let prefixed = format!("validate.changelint.dev/{key}");
        assert_eq!(prefixed.matches('/').count(), 1, "{prefixed}");
    }
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let after = log_shipper(None, SHIPPER_IMAGE);
    let response = answer(&review(V1, "UPDATE", Some(before), Some(after))).await;
    for key in response["auditAnnotations"].as_object().unwrap().keys() {
        assert!(AUDIT_KEYS.contains(&key.as_str()), "{key}");
    }
}

#[tokio::test]
async fn exemption_annotation_allows_and_is_reported() {
    let mut before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let mut after = log_shipper(None, SHIPPER_IMAGE);
    let exempt = json!({ "changelint.dev/exempt": "limits-removed,requests-removed; reason=load test CHG-1; expires=2999-12-31" });
    before["metadata"]["annotations"] = exempt.clone();
    after["metadata"]["annotations"] = exempt;
    let response = answer(&review(V1, "UPDATE", Some(before), Some(after))).await;
    assert_eq!(response["allowed"], true, "{response:#}");
    let exemptions = response["auditAnnotations"]["exemptions"].as_str().unwrap();
    assert!(
        exemptions.contains("limits-removed by annotation (load test CHG-1; expires 2999-12-31)"),
        "{exemptions}"
    );
}

#[tokio::test]
async fn namespace_comes_from_the_request_when_the_object_has_none() {
    // Exemptions by namespace must apply even when metadata.namespace is left out.
    let policy = Policy::from_yaml(
        "policy.yaml",
        "exemptions:\n  namespaces:\n    runtime-system: [limits-removed, requests-removed]\n",
    )
    .unwrap();
    let mut before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let mut after = log_shipper(None, SHIPPER_IMAGE);
    let review = review(V1, "UPDATE", Some(before.clone()), Some(after.clone()));
    before["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    after["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let mut review = review;
    review["request"]["object"] = after;
    review["request"]["oldObject"] = before;
    let (status, body) = call(
        router(AppState::new(policy)),
        post_request(serde_json::to_vec(&review).unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], true, "{body:#}");
    assert!(
        body["response"]["auditAnnotations"]["exemptions"]
            .as_str()
            .unwrap()
            .contains("by namespace")
    );
}

/// Every corpus payload is answered (bare AdmissionRequests wrapped in a review), with the
/// verdict the default policy gives: only a DaemonSet without limits would be denied.
#[tokio::test]
async fn corpus_payloads_are_answered() {
    let mut answered = 0;
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let review = if value.get("request").is_some() {
            value
        } else {
            wrap(&value)
        };
        let response = answer(&review).await;
        let kind = review["request"]["kind"]["kind"].as_str().unwrap();
        assert_eq!(response["allowed"], true, "{name} ({kind}): {response:#}");
        answered += 1;
    }
    assert_eq!(answered, 19);
}

#[tokio::test]
async fn corpus_deployment_without_resources_gets_a_warning() {
    let request: Value = serde_json::from_slice(&fixture(
        "kubewarden-policies__container-resources-policy__deployment_without_resources_admission_request.json",
    ))
    .unwrap();
    let response = answer(&wrap(&request)).await;
    assert_eq!(response["allowed"], true);
    let warnings = response["warnings"].as_array().unwrap();
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("limits-missing: Deployment default/"),
        "{warnings:?}"
    );
}

/// The same before/after pair gets the same verdict from the webhook as from the CLI's path
/// through the engine (`load_change` + `check`), for every single-object fixture pair.
#[tokio::test]
async fn same_verdict_as_the_cli_for_engine_fixture_pairs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/fixtures");
    let mut compared = 0;
    for rule in std::fs::read_dir(&root).unwrap() {
        for class in ["bad", "good"] {
            let Ok(cases) = std::fs::read_dir(rule.as_ref().unwrap().path().join(class)) else {
                continue;
            };
            for case in cases {
                let dir = case.unwrap().path();
                let (Ok(before), Ok(after)) = (
                    std::fs::read_to_string(dir.join("before.yaml")),
                    std::fs::read_to_string(dir.join("after.yaml")),
                ) else {
                    continue;
                };
                let policy = Policy::default();
                let docs = |text: &str| {
                    changelint_policies::yaml::parse_documents(
                        text,
                        &changelint_policies::yaml::Limits::default(),
                    )
                    .unwrap()
                    .into_iter()
                    .map(|d| d.value)
                    .filter(|v| !v.is_null())
                    .collect::<Vec<_>>()
                };
                let (before_docs, after_docs) = (docs(&before), docs(&after));
                // One Kubernetes object on each side (or none before): what one admission holds.
                if after_docs.len() != 1
                    || before_docs.len() > 1
                    || after_docs[0].get("kind").is_none()
                {
                    continue;
                }
                let cli = changelint_policies::load_change(
                    &[SourceFile::new("before.yaml", before.clone())],
                    &[SourceFile::new("after.yaml", after.clone())],
                    &policy,
                )
                .unwrap();
                let cli_verdict = changelint_policies::check(&cli, &policy).verdict;
                let operation = if before_docs.is_empty() {
                    "CREATE"
                } else {
                    "UPDATE"
                };
                let response = answer(&review(
                    V1,
                    operation,
                    before_docs.first().cloned(),
                    Some(after_docs[0].clone()),
                ))
                .await;
                assert_eq!(
                    response["allowed"] == true,
                    cli_verdict != Verdict::Deny,
                    "{}: CLI says {cli_verdict}, webhook says {response:#}",
                    dir.display()
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 8, "compared only {compared} pairs");
}

/// Log lines written while the test runs, on its thread.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// POSTs `review` and returns the status and what the webhook logged meanwhile.
async fn logged(review: &Value) -> (StatusCode, String) {
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let (status, _) = validate(review).await;
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    (status, text)
}

#[tokio::test]
async fn log_lines_cannot_be_split_by_what_the_request_carries() {
    const FORGED: &str = "\n2026-01-21T00:00:00Z  INFO changelint_webhook: admission allowed";
    let mut incident = incident_review();

    // The user name comes from the API server's authenticators (OIDC claims, webhook token
    // authenticators) and is not validated like object names.
    incident["request"]["userInfo"]["username"] = json!(format!("mallory{FORGED}"));
    let (status, text) = logged(&incident).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("admission reviewed"), "{text}");
    assert!(text.contains(r#"user="mallory\n2026"#), "{text}");

    // A body that is not a review is refused with serde's message, which quotes an unknown
    // enum variant as sent.
    incident["request"]["operation"] = json!(format!("PATCH{FORGED}"));
    let (status, text) = logged(&incident).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("refused an admission request"), "{text}");
}

#[tokio::test]
async fn request_deadline_answers_503_instead_of_hanging() {
    // A client that sends half a review and then stalls (the body never ends) must not hold
    // the request past its deadline.
    let state = AppState::with_parts(
        Policy::default(),
        Limits {
            request_timeout: Duration::from_millis(200),
            ..Limits::default()
        },
        Metrics::new(),
    );
    let (mut sender, stalled) = http_body_util::channel::Channel::<bytes::Bytes>::new(1);
    sender
        .send_data(bytes::Bytes::from_static(
            b"{\"apiVersion\": \"admission.k8s.io/v1\",",
        ))
        .await
        .unwrap();
    let request = Request::post("/validate")
        .header("content-type", "application/json")
        .body(Body::new(stalled))
        .unwrap();
    let started = std::time::Instant::now();
    let (status, body) = call(router(state.clone()), request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(body["error"].as_str().unwrap().contains("deadline"));
    assert_eq!(
        metrics::sample(&state.metrics().render(), metrics::REJECTED, "deadline"),
        Some(1.0)
    );
    drop(sender);
}

#[tokio::test]
async fn health_and_readiness() {
    let state = AppState::new(Policy::default());
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let (status, _) = call(router(state.clone()), get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = call(router(state.clone()), get("/readyz")).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no certificate yet"
    );
    assert!(body["reasons"].to_string().contains("certificate"));

    state.readiness().set_certs_loaded(true);
    let (status, _) = call(router(state.clone()), get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);

    state.readiness().set_draining();
    let (status, body) = call(router(state.clone()), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["reasons"].to_string().contains("shutting down"));
    let (status, _) = call(router(state), get("/healthz")).await;
    assert_eq!(status, StatusCode::OK, "liveness stays up while draining");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused() {
    let (status, body) = call(app(), Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let (status, _) = call(
        app(),
        Request::get("/validate").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn requests_and_findings_are_counted() {
    let state = AppState::new(Policy::default());
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let after = log_shipper(None, SHIPPER_IMAGE);
    let body = serde_json::to_vec(&review(V1, "UPDATE", Some(before), Some(after))).unwrap();
    let (status, _) = call(router(state.clone()), post_request(body)).await;
    assert_eq!(status, StatusCode::OK);
    let text = state.metrics().render();
    assert_eq!(
        metrics::sample(&text, metrics::REQUESTS, r#"kind="DaemonSet""#),
        Some(1.0),
        "{text}"
    );
    assert!(metrics::sample(&text, metrics::REQUESTS, r#"verdict="deny""#).is_some());
    assert!(
        metrics::sample(
            &text,
            metrics::FINDINGS,
            r#"rule="limits-removed",severity="deny""#
        )
        .is_some(),
        "{text}"
    );
    assert!(text.contains("changelint_webhook_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn kinds_the_policy_does_not_judge_share_one_series() {
    // The live policy names a custom kind with a pod spec: it is judged, so it keeps its name.
    let policy = Policy::from_yaml(
        "policy.yaml",
        "podSpecPaths:\n  - group: example.com\n    kind: Workload\n    path: /spec/template/spec\n",
    )
    .unwrap();
    let state = AppState::new(policy);
    let send = |review: Value| {
        let state = state.clone();
        async move {
            let body = serde_json::to_vec(&review).unwrap();
            let (status, _) = call(router(state), post_request(body)).await;
            assert_eq!(status, StatusCode::OK);
        }
    };
    // Whoever reaches the port chooses the kind; each one would otherwise be a series kept for
    // good.
    for n in 0..50 {
        let object = json!({
            "apiVersion": "example.com/v1", "kind": format!("Made{n}"),
            "metadata": { "name": "x", "namespace": "default" }
        });
        send(review(V1, "CREATE", None, Some(object))).await;
    }
    let deployment = |name: &str| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": name, "namespace": "default" },
            "spec": { "template": { "spec": { "containers": [{ "name": "app", "image": "app:1" }] } } }
        })
    };
    send(review(V1, "CREATE", None, Some(deployment("web")))).await;
    // A judged kind keeps its name whatever the operation.
    send(review(V1, "DELETE", Some(deployment("web")), None)).await;
    let mut workload = deployment("custom");
    workload["apiVersion"] = json!("example.com/v1");
    workload["kind"] = json!("Workload");
    send(review(V1, "DELETE", Some(workload), None)).await;

    let text = state.metrics().render();
    let requests: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with(metrics::REQUESTS))
        .collect();
    assert!(!text.contains("Made"), "{text}");
    assert_eq!(
        metrics::sample(
            &text,
            metrics::REQUESTS,
            r#"operation="CREATE",kind="other",verdict="skipped""#
        ),
        Some(50.0),
        "{text}"
    );
    assert!(
        metrics::sample(
            &text,
            metrics::REQUESTS,
            r#"operation="CREATE",kind="Deployment""#
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(
        metrics::sample(
            &text,
            metrics::REQUESTS,
            r#"operation="DELETE",kind="Deployment",verdict="skipped""#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metrics::sample(
            &text,
            metrics::REQUESTS,
            r#"operation="DELETE",kind="Workload",verdict="skipped""#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(requests.len(), 4, "{requests:#?}");
}

#[tokio::test]
async fn logs_never_carry_object_bodies_or_annotation_values() {
    // The handler's log fields are the request's identity and the outcome; check the Debug
    // form (what an accidental `?request` would print) has no object content either.
    let mut object = log_shipper(None, SHIPPER_IMAGE);
    object["metadata"]["annotations"] = json!({ "secret-note": "hunter2-annotation" });
    let review = review(V1, "CREATE", None, Some(object));
    let (_, request) = changelint_webhook::admission::AdmissionReview::from_slice(
        &serde_json::to_vec(&review).unwrap(),
    )
    .unwrap();
    assert!(!format!("{request:?}").contains("hunter2"));
}

#[tokio::test]
async fn requests_over_the_in_flight_limit_are_shed_at_once() {
    let state = AppState::with_parts(
        Policy::default(),
        Limits {
            max_in_flight: 1,
            ..Limits::default()
        },
        Metrics::new(),
    );
    let body = serde_json::to_vec(&review(
        V1,
        "CREATE",
        None,
        Some(log_shipper(None, SHIPPER_IMAGE)),
    ))
    .unwrap();
    // One review holds the only slot: the next request is answered 503 without being judged.
    let held = state.try_review_slot().expect("a free slot");
    let (status, answer) = call(router(state.clone()), post_request(body.clone())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("overloaded"),
        "{answer}"
    );
    let rendered = state.metrics().render();
    assert_eq!(
        metrics::sample(&rendered, metrics::REJECTED, "overloaded"),
        Some(1.0),
        "{rendered}"
    );
    // Load drops: the slot is free again and the same request is judged at once.
    drop(held);
    let (status, answer) = call(router(state), post_request(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["response"]["allowed"], false,
        "a DaemonSet without limits is denied"
    );
}

#[tokio::test]
async fn shed_requests_are_answered_before_their_body_is_read() {
    // A body that never ends: had the webhook read it before taking a slot, this request would
    // hold its memory and be answered only at the deadline, with "deadline".
    let state = AppState::with_parts(
        Policy::default(),
        Limits {
            max_in_flight: 1,
            ..Limits::default()
        },
        Metrics::new(),
    );
    let held = state.try_review_slot().expect("a free slot");
    let (mut sender, endless) = http_body_util::channel::Channel::<bytes::Bytes>::new(1);
    sender
        .send_data(bytes::Bytes::from_static(
            b"{\"apiVersion\": \"admission.k8s.io/v1\",",
        ))
        .await
        .unwrap();
    let (status, answer) = call(router(state.clone()), post_request(Body::new(endless))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("overloaded"),
        "{answer}"
    );
    let rendered = state.metrics().render();
    assert_eq!(
        metrics::sample(&rendered, metrics::REJECTED, "deadline"),
        None,
        "{rendered}"
    );
    drop((held, sender));
}
