//! Shared state of the handlers: the live policy, readiness, metrics and limits.
//!
//! The policy sits in an [`ArcSwap`]: each request takes a snapshot with one atomic load and
//! keeps it for the whole review, so a reload in the middle of a request never mixes two
//! policies, and the reload never waits for requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use changelint_policies::Policy;

use crate::config::Limits;
use crate::metrics::Metrics;

/// State shared by every handler. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: ArcSwap<Policy>,
    readiness: Readiness,
    metrics: Metrics,
    limits: Limits,
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State serving `policy`, with default limits and fresh metrics. The policy counts as
    /// loaded; certificates do not until [`Readiness::set_certs_loaded`].
    pub fn new(policy: Policy) -> Self {
        Self::with_parts(policy, Limits::default(), Metrics::new())
    }

    /// State with the given limits and metrics.
    pub fn with_parts(policy: Policy, limits: Limits, metrics: Metrics) -> Self {
        let readiness = Readiness::new(metrics.clone());
        readiness.policy_loaded.store(true, Ordering::SeqCst);
        Self {
            inner: Arc::new(Inner {
                policy: ArcSwap::from_pointee(policy),
                readiness,
                metrics,
                in_flight: Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
                limits,
            }),
        }
    }

    /// A slot for one review, or `None` when the webhook is at its in-flight limit.
    pub fn try_review_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.in_flight.clone().try_acquire_owned().ok()
    }

    /// The policy in force now.
    pub fn policy(&self) -> Arc<Policy> {
        self.inner.policy.load_full()
    }

    /// Puts a new policy in force for requests that start from now on.
    pub fn set_policy(&self, policy: Policy) {
        self.inner.policy.store(Arc::new(policy));
    }

    /// Readiness flags.
    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    /// Metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Request limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }
}

/// What `/readyz` reports: ready once certificates and policy are loaded, and not while
/// draining (so the Service stops sending new requests before the listener closes).
#[derive(Debug)]
pub struct Readiness {
    certs_loaded: AtomicBool,
    policy_loaded: AtomicBool,
    draining: AtomicBool,
    metrics: Metrics,
}

impl Readiness {
    fn new(metrics: Metrics) -> Self {
        metrics.ready(false);
        Self {
            certs_loaded: AtomicBool::new(false),
            policy_loaded: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            metrics,
        }
    }

    /// Marks the serving certificate as loaded.
    pub fn set_certs_loaded(&self, loaded: bool) {
        self.certs_loaded.store(loaded, Ordering::SeqCst);
        self.metrics.ready(self.is_ready());
    }

    /// Marks the webhook as draining (shutting down): not ready from now on.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.metrics.ready(false);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.not_ready_reasons().is_empty()
    }

    /// Why the webhook is not ready; empty when it is.
    pub fn not_ready_reasons(&self) -> Vec<&'static str> {
        let mut reasons = Vec::new();
        if !self.certs_loaded.load(Ordering::SeqCst) {
            reasons.push("serving certificate not loaded");
        }
        if !self.policy_loaded.load(Ordering::SeqCst) {
            reasons.push("policy not loaded");
        }
        if self.is_draining() {
            reasons.push("shutting down");
        }
        reasons
    }
}
