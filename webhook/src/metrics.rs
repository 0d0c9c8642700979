//! Prometheus metrics, served in text format on their own plain-HTTP listener
//! (`--metrics-listen`, `GET /metrics`).
//!
//! Each [`Metrics`] owns its recorder instead of installing a process-wide one, so tests can
//! run several webhooks in one process and read each one's numbers. Series are registered
//! through `metrics::with_local_recorder`; the ones every review records keep their handles,
//! so the request path only increments them. Label values are bounded vocabularies
//! (operations, verdicts, rule ids, and the kinds the policy judges: every other kind is
//! counted as `other`, so neither a misregistered webhook nor a client that reaches the port
//! can grow the series without bound).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `changelint_webhook_requests_total` | counter | `operation`, `kind` (a kind with a pod spec, or `other`), `verdict` (`pass`, `warn`, `deny`, `skipped`, `invalid`) |
//! | `changelint_webhook_request_duration_seconds` | histogram | `operation` |
//! | `changelint_webhook_findings_total` | counter | `rule`, `severity` |
//! | `changelint_webhook_exemptions_total` | counter | `rule`, `source` |
//! | `changelint_webhook_rejected_requests_total` | counter | `reason` (`malformed`, `too_large`, `deadline`, `overloaded`) |
//! | `changelint_webhook_policy_reloads_total` | counter | `result` (`success`, `failure`) |
//! | `changelint_webhook_certificate_reloads_total` | counter | `result` (`success`, `failure`) |
//! | `changelint_webhook_certificate_expiry_timestamp_seconds` | gauge | |
//! | `changelint_webhook_ready` | gauge | |

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{Counter, Histogram, Unit, with_local_recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Requests by operation, kind and verdict.
pub const REQUESTS: &str = "changelint_webhook_requests_total";
/// Time from receiving a request to its answer.
pub const REQUEST_DURATION: &str = "changelint_webhook_request_duration_seconds";
/// Findings by rule and severity.
pub const FINDINGS: &str = "changelint_webhook_findings_total";
/// Exemptions used, by rule and source.
pub const EXEMPTIONS: &str = "changelint_webhook_exemptions_total";
/// Requests refused before review (malformed, too large, past the deadline).
pub const REJECTED: &str = "changelint_webhook_rejected_requests_total";
/// Policy file reloads by result.
pub const POLICY_RELOADS: &str = "changelint_webhook_policy_reloads_total";
/// Certificate reloads by result.
pub const CERT_RELOADS: &str = "changelint_webhook_certificate_reloads_total";
/// `notAfter` of the serving certificate in use, as Unix seconds.
pub const CERT_EXPIRY: &str = "changelint_webhook_certificate_expiry_timestamp_seconds";
/// 1 while `/readyz` answers 200.
pub const READY: &str = "changelint_webhook_ready";

/// Latency buckets: the engine answers in well under a millisecond for one object; the upper
/// buckets show queueing long before the 5 s deadline.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The `kind` label of requests for kinds the policy does not judge (no pod spec).
pub const OTHER_KIND: &str = "other";

/// The webhook's metrics. Cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    per_review: Arc<ReviewSeries>,
}

/// The series every review records, registered on first use and then reused: building a
/// labelled key and finding it in the registry, per sample, was 3-4% of the CPU of an 8 KB
/// review under load (docs/performance.md).
#[derive(Default)]
struct ReviewSeries {
    /// By (operation, kind, verdict).
    requests: Registered<(&'static str, String, &'static str), Counter>,
    /// By operation.
    durations: Registered<&'static str, Histogram>,
    /// By (rule, severity).
    findings: Registered<(&'static str, &'static str), Counter>,
}

/// Handles of registered series by their label values: one entry per series the registry
/// holds, so it is as bounded as the label vocabularies are.
struct Registered<K, H>(RwLock<HashMap<K, H, foldhash::fast::RandomState>>);

impl<K, H> Default for Registered<K, H> {
    fn default() -> Self {
        Self(RwLock::default())
    }
}

impl<K: Hash + Eq, H: Clone> Registered<K, H> {
    /// The handle of `labels`' series, registered with `register` the first time.
    fn get(&self, labels: K, register: impl FnOnce(&K) -> H) -> H {
        if let Some(handle) = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&labels)
        {
            return handle.clone();
        }
        let handle = register(&labels);
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(labels)
            .or_insert(handle)
            .clone()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, all described, none recorded.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), LATENCY_BUCKETS)
            .expect("latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Self {
            recorder: Arc::new(recorder),
            handle,
            per_review: Arc::default(),
        };
        metrics.with(|| {
            metrics::describe_counter!(
                REQUESTS,
                "Admission requests by operation, kind and verdict."
            );
            metrics::describe_histogram!(
                REQUEST_DURATION,
                Unit::Seconds,
                "Time from receiving an admission request to its answer."
            );
            metrics::describe_counter!(FINDINGS, "Findings reported, by rule and severity.");
            metrics::describe_counter!(
                EXEMPTIONS,
                "Exemptions that suppressed a finding, by rule and source."
            );
            metrics::describe_counter!(
                REJECTED,
                "Requests refused before review: malformed, too large, or past the deadline."
            );
            metrics::describe_counter!(POLICY_RELOADS, "Policy file reloads, by result.");
            metrics::describe_counter!(CERT_RELOADS, "Serving certificate reloads, by result.");
            metrics::describe_gauge!(
                CERT_EXPIRY,
                Unit::Seconds,
                "notAfter of the serving certificate in use, as Unix time."
            );
            metrics::describe_gauge!(READY, "1 while the webhook reports ready.");
            // Zero-valued series exist from the start, so alerts on increase() see the first one.
            for result in ["success", "failure"] {
                metrics::counter!(POLICY_RELOADS, "result" => result).absolute(0);
                metrics::counter!(CERT_RELOADS, "result" => result).absolute(0);
            }
        });
        metrics
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        with_local_recorder(self.recorder.as_ref(), f)
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains histogram buffers so memory stays bounded when nobody scrapes.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Records one answered admission request.
    pub fn request(
        &self,
        operation: &'static str,
        kind: &str,
        verdict: &'static str,
        elapsed: Duration,
    ) {
        let kind = kind.to_owned();
        let series = &self.per_review;
        series
            .requests
            .get((operation, kind, verdict), |(operation, kind, verdict)| {
                self.with(|| {
                    metrics::counter!(REQUESTS, "operation" => *operation, "kind" => kind.clone(), "verdict" => *verdict)
                })
            })
            .increment(1);
        series
            .durations
            .get(operation, |operation| {
                self.with(|| metrics::histogram!(REQUEST_DURATION, "operation" => *operation))
            })
            .record(elapsed.as_secs_f64());
    }

    /// Records one finding.
    pub fn finding(&self, rule: &'static str, severity: &'static str) {
        self.per_review
            .findings
            .get((rule, severity), |(rule, severity)| {
                self.with(|| metrics::counter!(FINDINGS, "rule" => *rule, "severity" => *severity))
            })
            .increment(1);
    }

    /// Records one exemption used.
    pub fn exemption(&self, rule: &str, source: &str) {
        let (rule, source) = (rule.to_owned(), source.to_owned());
        self.with(|| {
            metrics::counter!(EXEMPTIONS, "rule" => rule, "source" => source).increment(1);
        });
    }

    /// Records a request refused before review.
    pub fn rejected(&self, reason: &'static str) {
        self.with(|| metrics::counter!(REJECTED, "reason" => reason).increment(1));
    }

    /// Records a policy reload attempt.
    pub fn policy_reload(&self, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.with(|| metrics::counter!(POLICY_RELOADS, "result" => result).increment(1));
    }

    /// Records a certificate reload attempt.
    pub fn cert_reload(&self, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.with(|| metrics::counter!(CERT_RELOADS, "result" => result).increment(1));
    }

    /// Sets the expiry of the serving certificate in use.
    pub fn cert_expiry(&self, not_after: SystemTime) {
        let seconds = not_after
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.with(|| metrics::gauge!(CERT_EXPIRY).set(seconds));
    }

    /// Sets the readiness gauge.
    pub fn ready(&self, ready: bool) {
        self.with(|| metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 }));
    }
}

/// The value of one series in rendered text (`name{labels} value`), for tests and tools:
/// `labels` is a substring every matching line must contain.
pub fn sample(rendered: &str, name: &str, labels: &str) -> Option<f64> {
    rendered
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| line.contains(labels))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_renders_independently_per_instance() {
        let one = Metrics::new();
        let two = Metrics::new();
        one.request("UPDATE", "DaemonSet", "deny", Duration::from_millis(2));
        one.finding("limits-removed", "deny");
        one.policy_reload(false);
        let text = one.render();
        assert_eq!(
            sample(&text, REQUESTS, r#"verdict="deny""#),
            Some(1.0),
            "{text}"
        );
        assert_eq!(sample(&text, FINDINGS, "limits-removed"), Some(1.0));
        assert_eq!(sample(&text, POLICY_RELOADS, "failure"), Some(1.0));
        assert_eq!(sample(&text, POLICY_RELOADS, "success"), Some(0.0));
        assert!(text.contains("changelint_webhook_request_duration_seconds_bucket"));
        assert_eq!(sample(&two.render(), REQUESTS, "deny"), None);
    }

    #[test]
    fn a_series_is_registered_once_and_its_handle_reused() {
        let registered: Registered<(&str, String), u32> = Registered::default();
        let registrations = std::cell::Cell::new(0);
        let register = |_: &(&str, String)| {
            registrations.set(registrations.get() + 1);
            registrations.get()
        };
        assert_eq!(registered.get(("UPDATE", "DaemonSet".into()), register), 1);
        assert_eq!(registered.get(("UPDATE", "DaemonSet".into()), register), 1);
        assert_eq!(registered.get(("UPDATE", "Deployment".into()), register), 2);
        assert_eq!(registrations.get(), 2);
    }

    #[test]
    fn reused_series_keep_every_label_apart() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis(1);
        for _ in 0..2 {
            metrics.request("UPDATE", "DaemonSet", "deny", ms);
            metrics.finding("limits-removed", "deny");
        }
        metrics.request("UPDATE", "Deployment", "deny", ms);
        metrics.request("CREATE", "DaemonSet", "deny", ms);
        metrics.request("UPDATE", "DaemonSet", "pass", ms);
        metrics.finding("limits-removed", "warn");
        metrics.finding("requests-removed", "deny");
        let text = metrics.render();
        let requests = |labels: &str| sample(&text, REQUESTS, labels);
        assert_eq!(
            requests(r#"operation="UPDATE",kind="DaemonSet",verdict="deny""#),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            requests(r#"operation="UPDATE",kind="Deployment",verdict="deny""#),
            Some(1.0)
        );
        assert_eq!(
            requests(r#"operation="CREATE",kind="DaemonSet",verdict="deny""#),
            Some(1.0)
        );
        assert_eq!(
            requests(r#"operation="UPDATE",kind="DaemonSet",verdict="pass""#),
            Some(1.0)
        );
        let findings = |labels: &str| sample(&text, FINDINGS, labels);
        assert_eq!(
            findings(r#"rule="limits-removed",severity="deny""#),
            Some(2.0)
        );
        assert_eq!(
            findings(r#"rule="limits-removed",severity="warn""#),
            Some(1.0)
        );
        assert_eq!(
            findings(r#"rule="requests-removed",severity="deny""#),
            Some(1.0)
        );
        let durations = |operation: &str| {
            sample(
                &text,
                &format!("{REQUEST_DURATION}_count"),
                &format!(r#"operation="{operation}""#),
            )
        };
        assert_eq!(durations("UPDATE"), Some(4.0));
        assert_eq!(durations("CREATE"), Some(1.0));
    }
}
