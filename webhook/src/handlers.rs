//! HTTP handlers: `POST /validate`, `GET /healthz`, `GET /readyz`, and `GET /metrics` on the
//! metrics listener.
//!
//! The handlers adapt HTTP to [`review`](crate::review::review) and back; the review of a large
//! body runs on tokio's blocking pool, so a slow review never stalls the connection tasks and
//! the deadline layer can answer when it fires. Small bodies (the common case) are judged on
//! the connection's task: their review takes a fraction of a millisecond, less than the hand-off
//! to the pool and back (see [`INLINE_REVIEW_MAX_BYTES`]). Logs carry the request's identity (uid, kind,
//! namespace, name, operation, user) and the outcome (verdict, rule ids, exemptions used),
//! never the object, its annotations or its data: objects may be Secrets.

use std::time::Instant;

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::admission::{AdmissionRequest, AdmissionReview, ReviewResponse};
use crate::error::ApiError;
use crate::metrics::{Metrics, OTHER_KIND};
use crate::review::{self, Judgement};
use crate::state::AppState;

/// Bodies up to this size are reviewed on the connection's task rather than on the blocking
/// pool. An 8 KB DaemonSet UPDATE is judged in about a tenth of a millisecond; the hand-off to
/// the pool (two thread wake-ups) cost more than that, and halved throughput under load
/// (docs/performance.md).
pub const INLINE_REVIEW_MAX_BYTES: usize = 64 * 1024;

/// A decoded AdmissionReview body, read by `POST /validate` once it holds an in-flight slot.
///
/// Rejections are [`ApiError`]s: 413 over the size limit, 400 for anything that is not an
/// AdmissionReview v1 or v1beta1 with a request and a uid. Each is logged (without the body)
/// and counted.
#[derive(Debug)]
pub struct Review {
    /// The `apiVersion` to answer in.
    pub api_version: String,
    /// The request.
    pub request: AdmissionRequest,
    /// Size of the body, in bytes.
    pub body_bytes: usize,
}

impl FromRequest<AppState> for Review {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let result: Result<Self, ApiError> = async {
            let body = Bytes::from_request(req, state).await.map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge {
                        limit: state.limits().max_body_bytes,
                    }
                } else {
                    ApiError::Body(rejection.body_text())
                }
            })?;
            let (api_version, request) = AdmissionReview::from_slice(&body)?;
            Ok(Self {
                api_version,
                request,
                body_bytes: body.len(),
            })
        }
        .await;
        if let Err(error) = &result {
            state.metrics().rejected(error.reason());
            // As a string field, so that it is quoted and escaped: serde's message quotes an
            // unknown enum variant as the client sent it.
            tracing::warn!(
                status = error.status().as_u16(),
                error = error.to_string(),
                "refused an admission request"
            );
        }
        result
    }
}

/// `POST /validate`: judges one AdmissionReview and answers in the same `apiVersion`.
///
/// Each review is logged as one line with the request's identity and the outcome; a span per
/// request, recorded field by field, cost a large share of a small review.
pub async fn validate(
    State(state): State<AppState>,
    http_request: Request,
) -> Result<Json<ReviewResponse>, ApiError> {
    let started = Instant::now();
    // The slot is taken before the body is read, so the limit bounds the bodies held in memory
    // and their decoding, not only the reviews: with 500 KB reviews and ten times more
    // connections than slots, taking it after decoding let RSS grow with the connections
    // (docs/reliability.md, "Overload"). It is held until the review ends, even past the
    // deadline, so work that can no longer be answered in time still counts against the limit.
    let Some(slot) = state.try_review_slot() else {
        let error = ApiError::Overloaded(state.limits().max_in_flight);
        state.metrics().rejected(error.reason());
        tracing::warn!(%error, "shed an admission request");
        return Err(error);
    };
    let Review {
        api_version,
        request,
        body_bytes,
    } = Review::from_request(http_request, &state).await?;
    let uid = request.uid.clone();
    let namespace = request.namespace.clone().unwrap_or_default();
    let name = request.name.clone().unwrap_or_default();
    let operation = request.operation;
    let kind = request.kind.kind.clone();
    let user = request.user_info.username.clone().unwrap_or_default();
    let dry_run = request.dry_run.unwrap_or(false);

    let policy = state.policy();
    let reviewed = if body_bytes <= INLINE_REVIEW_MAX_BYTES {
        let reviewed = review::review(request, &policy);
        drop(slot);
        reviewed
    } else {
        let deadline = state.limits().request_timeout;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            // Queued behind other work past its deadline: nobody waits for this answer.
            if started.elapsed() > deadline {
                return None;
            }
            Some(review::review(request, &policy))
        })
        .await
        .map_err(|error| {
            tracing::error!(uid, %error, "review task failed");
            ApiError::Internal("review failed".into())
        })?
        .ok_or(ApiError::Deadline(deadline))?
    };

    let allowed = reviewed.response.allowed;
    let verdict = reviewed.judgement.verdict_label();
    let operation = operation.as_str();
    let metrics = state.metrics();
    record(metrics, &reviewed.judgement);
    // Anyone who reaches the port chooses the kind, and the registry keeps a series per label
    // value for good: the kinds the policy does not judge share one.
    let kind_label = if reviewed.judged_kind {
        &kind
    } else {
        OTHER_KIND
    };
    metrics.request(operation, kind_label, verdict, started.elapsed());
    match &reviewed.judgement {
        Judgement::Checked {
            findings,
            exemptions,
            ..
        } => {
            let rules: Vec<&str> = findings.iter().map(|(rule, _)| *rule).collect();
            for used in exemptions {
                // The reason is in the audit annotation; annotation values are not logged.
                tracing::info!(
                    uid,
                    rule = %used.rule,
                    source = %used.source,
                    expires = used.expires.as_deref().unwrap_or(""),
                    object = %used.object,
                    "exemption used"
                );
            }
            tracing::info!(
                uid, kind, namespace, name, operation, user, dry_run, allowed, verdict,
                findings = ?rules,
                "admission reviewed"
            );
        }
        Judgement::Skipped(skip) => {
            tracing::debug!(
                uid,
                kind,
                namespace,
                name,
                operation,
                user,
                skipped = skip.as_str(),
                "admission allowed without review"
            );
        }
        Judgement::Invalid => {
            tracing::warn!(
                uid,
                kind,
                namespace,
                name,
                operation,
                user,
                "admission request cannot be judged"
            );
        }
    }
    Ok(Json(reviewed.response.into_review(&api_version)))
}

fn record(metrics: &Metrics, judgement: &Judgement) {
    if let Judgement::Checked {
        findings,
        exemptions,
        ..
    } = judgement
    {
        for (rule, severity) in findings {
            metrics.finding(rule, severity);
        }
        for used in exemptions {
            metrics.exemption(&used.rule, &used.source);
        }
    }
}

/// `GET /healthz`: the process is alive and serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once certificate and policy are loaded and while not draining, else 503
/// with the reasons.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let reasons = state.readiness().not_ready_reasons();
    if reasons.is_empty() {
        (StatusCode::OK, Json(serde_json::json!({ "ready": true }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "ready": false, "reasons": reasons })),
        )
            .into_response()
    }
}

/// Any other path: 404 with a JSON error.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": "not found: the webhook serves POST /validate, GET /healthz and GET /readyz" })),
    )
        .into_response()
}

/// `GET /metrics` on the metrics listener.
pub async fn metrics(State(metrics): State<Metrics>) -> Response {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        metrics.render(),
    )
        .into_response()
}
