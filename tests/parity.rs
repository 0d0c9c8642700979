//! The same verdict from the CLI and the webhook: every fixture pair that fits in one admission
//! request (one object after, at most one before) is judged by the real `changelint` binary and
//! by the real `changelint-webhook` binary over HTTPS, called with curl.

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use changelint_policies::yaml::{Limits, parse_documents};

use crate::util::{binary, changelint_json, repo_path};

/// A webhook server on loopback, killed on drop.
struct Webhook {
    child: Child,
    port: u16,
    ca: String,
    _dir: tempfile::TempDir,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Webhook {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().display().to_string();
        let status = Command::new(binary("changelint-webhook"))
            .args([
                "certs",
                "--service",
                "changelint-webhook",
                "--namespace",
                "changelint",
                "--out",
                &out,
            ])
            .args(["--dns", "localhost", "--ip", "127.0.0.1"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "changelint-webhook certs");
        // A free port: bind, read it, release it for the server.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary("changelint-webhook"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--tls-cert",
                &format!("{out}/tls.crt"),
                "--tls-key",
                &format!("{out}/tls.key"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let webhook = Self {
            child,
            port,
            ca: format!("{out}/ca.crt"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while webhook.curl(&["--fail", &webhook.url("/readyz")]).is_none() {
            assert!(Instant::now() < deadline, "webhook never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        webhook
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    fn curl(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("curl")
            .args([
                "--silent",
                "--show-error",
                "--cacert",
                &self.ca,
                "--resolve",
            ])
            .arg(format!("localhost:{}:127.0.0.1", self.port))
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn validate(&self, review: &serde_json::Value) -> serde_json::Value {
        let body = review.to_string();
        let answer = self
            .curl(&[
                "--fail",
                "-H",
                "content-type: application/json",
                "--data-binary",
                &body,
                &self.url("/validate"),
            ])
            .expect("the webhook answers");
        serde_json::from_str(&answer).unwrap()
    }
}

fn objects(path: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(path).unwrap();
    parse_documents(&text, &Limits::default())
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect()
}

fn review(
    uid: &str,
    old: Option<&serde_json::Value>,
    new: &serde_json::Value,
) -> serde_json::Value {
    let kind = new["kind"].as_str().unwrap_or_default();
    let api_version = new["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
            "name": new["metadata"]["name"],
            "namespace": new["metadata"]["namespace"].as_str().unwrap_or("default"),
            "operation": if old.is_some() { "UPDATE" } else { "CREATE" },
            "userInfo": {"username": "parity-test"},
            "object": new,
            "oldObject": old,
            "dryRun": false
        }
    })
}

#[test]
fn cli_and_webhook_give_the_same_verdict_on_every_fixture_pair() {
    let webhook = Webhook::start();
    let root = Path::new(&repo_path("policies/fixtures")).to_path_buf();
    let mut compared = Vec::new();
    let mut rules: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    rules.sort();
    for rule in rules {
        for class in ["bad", "good"] {
            let Ok(cases) = fs::read_dir(rule.join(class)) else {
                continue;
            };
            for case in cases {
                let dir = case.unwrap().path();
                let (before, after) = (dir.join("before.yaml"), dir.join("after.yaml"));
                if !after.exists()
                    || dir.join("record.md").exists()
                    || dir.join("policy.yaml").exists()
                {
                    continue; // trees, records and custom policies are CLI-only inputs
                }
                let (old, new) = (objects(&before), objects(&after));
                let new: Vec<_> = new
                    .into_iter()
                    .filter(|o| o["kind"] != "ConfigMap")
                    .collect();
                let old: Vec<_> = old
                    .into_iter()
                    .filter(|o| o["kind"] != "ConfigMap")
                    .collect();
                if new.len() != 1 || old.len() > 1 || new[0]["kind"].is_null() {
                    continue;
                }
                let (code, report) = changelint_json(&[
                    "check",
                    "--before",
                    &before.display().to_string(),
                    "--after",
                    &after.display().to_string(),
                ]);
                let answer = webhook.validate(&review(
                    &format!("uid-{}", compared.len()),
                    old.first(),
                    &new[0],
                ));
                let response = &answer["response"];
                assert_eq!(response["uid"], format!("uid-{}", compared.len()));
                let name = dir.strip_prefix(&root).unwrap().display().to_string();
                assert_eq!(
                    response["allowed"] == true,
                    code == 0,
                    "{name}: CLI {report:#}\nwebhook {answer:#}"
                );
                // Every rule the CLI denies for is named in the webhook's message.
                let message = response["status"]["message"].as_str().unwrap_or_default();
                for finding in report["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["severity"] == "deny")
                {
                    let rule = finding["rule"].as_str().unwrap();
                    assert!(
                        message.contains(rule),
                        "{name}: webhook message lacks {rule}: {message}"
                    );
                }
                compared.push(name);
            }
        }
    }
    assert!(compared.len() >= 15, "too few pairs compared: {compared:?}");
}
