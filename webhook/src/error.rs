//! Errors answered over HTTP, each as a JSON body `{"error": "..."}`.
//!
//! These are for requests that are not AdmissionReviews the webhook can answer (the API server
//! then applies the webhook's `failurePolicy`). A well-formed review whose object cannot be
//! judged is answered with [`AdmissionResponse::invalid`](crate::admission::AdmissionResponse::invalid)
//! instead, and a policy violation with `deny`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::admission::ReviewError;

/// An HTTP-level error of the webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The body is larger than the configured limit (413).
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read (400).
    #[error("cannot read the request body: {0}")]
    Body(String),
    /// The body is not an AdmissionReview this webhook answers (400).
    #[error(transparent)]
    Review(#[from] ReviewError),
    /// The request took longer than its deadline (503).
    #[error("request deadline of {0:?} exceeded")]
    Deadline(std::time::Duration),
    /// More reviews are in flight than the limit; shed at once (503).
    #[error("overloaded: {0} reviews in flight; retry")]
    Overloaded(usize),
    /// Something failed inside the webhook (500); never expected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Body(_) | Self::Review(_) => StatusCode::BAD_REQUEST,
            Self::Deadline(_) | Self::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The metrics label of the refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "too_large",
            Self::Body(_) | Self::Review(_) => "malformed",
            Self::Deadline(_) => "deadline",
            Self::Overloaded(_) => "overloaded",
            Self::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}
