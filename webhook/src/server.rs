//! HTTPS serving with certificate and policy reload, metrics, and graceful shutdown.
//!
//! [`start`] loads everything the webhook needs before it listens (a webhook that listens
//! without a certificate or policy only produces failed admissions), binds, and returns a
//! [`Running`] server. [`Running::shutdown`] is the SIGTERM path: turn not-ready, keep serving
//! for [`ServeConfig::shutdown_delay`] while the endpoint leaves the Service, then stop
//! accepting and let in-flight requests finish within [`ServeConfig::drain_timeout`].

use std::net::SocketAddr;
use std::time::Duration;

use axum_server::Handle;
use axum_server::accept::NoDelayAcceptor;
use changelint_certs::{CertError, CertPaths, CertReloader, ReloadEvent};
use changelint_policies::Policy;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ServeConfig;
use crate::connections::{CONNECTION_SLOT_WAIT, ConnectionLimit};
use crate::metrics::Metrics;
use crate::policy::{PolicyFile, PolicyLoadError, PolicyReloader};
use crate::state::AppState;

/// How often histogram buffers are drained when nobody scrapes.
const METRICS_UPKEEP: Duration = Duration::from_secs(10);

/// Largest read buffer of an HTTP/1 connection. hyper's default (about 400 KB) is reached by
/// every connection that uploads a large review, shed or not, so with 500 KB reviews the
/// connections rather than the reviews in flight set the peak RSS (docs/reliability.md,
/// "Overload"). TLS records are at most 16 KiB, so reads of 64 KiB lose nothing.
const HTTP1_READ_BUFFER_MAX: usize = 64 * 1024;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The serving certificate could not be loaded.
    #[error("cannot load the serving certificate")]
    Certs(#[from] CertError),
    /// The policy could not be loaded.
    #[error("cannot load the policy")]
    Policy(#[from] PolicyLoadError),
    /// Binding or serving failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// A running webhook. Stop it with [`shutdown`](Self::shutdown); dropping it stops
/// certificate and policy reload but leaves the listeners serving.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    state: AppState,
    handle: Handle<SocketAddr>,
    server: JoinHandle<std::io::Result<()>>,
    metrics_server: Option<JoinHandle<std::io::Result<()>>>,
    stop_metrics: watch::Sender<bool>,
    shutdown_delay: Duration,
    drain_timeout: Duration,
    background: Vec<JoinHandle<()>>,
    _certs: CertReloader,
    _policy: Option<PolicyReloader>,
}

impl Running {
    /// The HTTPS address (with the real port when configured with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The metrics address, if a metrics listener runs.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The shared state (policy, readiness, metrics).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Drains and stops: not ready at once, stop accepting after the shutdown delay, wait
    /// for in-flight requests up to the drain timeout.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        self.state.readiness().set_draining();
        tracing::info!(delay = ?self.shutdown_delay, "shutting down: not ready; draining");
        tokio::time::sleep(self.shutdown_delay).await;
        self.handle.graceful_shutdown(Some(self.drain_timeout));
        let served = self.server.await;
        let _ = self.stop_metrics.send(true);
        if let Some(metrics) = self.metrics_server {
            let _ = metrics.await;
        }
        for task in &self.background {
            task.abort();
        }
        tracing::info!(open_connections = self.handle.connection_count(), "stopped");
        match served {
            Ok(result) => result.map_err(io_error("serving HTTPS failed")),
            Err(join) => Err(ServeError::Io {
                what: "the HTTPS server task failed".into(),
                source: std::io::Error::other(join),
            }),
        }
    }
}

/// Loads certificate and policy, binds the listeners and starts serving.
pub async fn start(config: ServeConfig) -> Result<Running, ServeError> {
    let metrics = Metrics::new();

    let (policy_file, policy) = match &config.policy {
        Some(path) => {
            let (file, policy) = PolicyFile::open(path, config.reload_interval)?;
            (Some(file), policy)
        }
        None => (None, Policy::default()),
    };
    let state = AppState::with_parts(policy, config.limits, metrics.clone());

    let mut paths = CertPaths::new(&config.tls_cert, &config.tls_key);
    if let Some(ca) = &config.client_ca {
        paths = paths.with_client_ca(ca);
    }
    let (certs, mut events) = CertReloader::start(paths, config.reload_interval)?;
    state.readiness().set_certs_loaded(true);
    let mut background = Vec::new();
    background.push(tokio::spawn({
        let metrics = metrics.clone();
        async move {
            while let Some(event) = events.recv().await {
                match event {
                    ReloadEvent::Loaded { not_after } => metrics.cert_expiry(not_after),
                    ReloadEvent::Reloaded { not_after } => {
                        metrics.cert_reload(true);
                        metrics.cert_expiry(not_after);
                    }
                    // The reloader has logged it with the file name and cause.
                    ReloadEvent::Failed { .. } => metrics.cert_reload(false),
                    _ => {}
                }
            }
        }
    }));
    background.push(tokio::spawn({
        let metrics = metrics.clone();
        async move {
            let mut upkeep = tokio::time::interval(METRICS_UPKEEP);
            loop {
                upkeep.tick().await;
                metrics.run_upkeep();
            }
        }
    }));
    let policy_reloader = policy_file.map(|file| file.watch(state.clone()));

    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(io_error(format!("cannot listen on {}", config.listen)))?;
    listener
        .set_nonblocking(true)
        .map_err(io_error("cannot configure the listener"))?;
    let addr = listener
        .local_addr()
        .map_err(io_error("cannot read the listener address"))?;
    let handle = Handle::new();
    let limits = config.limits;
    let mut server = axum_server::from_tcp_rustls(listener, certs.rustls_config())
        .map_err(io_error("cannot serve on the listener"))?
        .map(|tls| {
            ConnectionLimit::new(
                // Without TCP_NODELAY, an answer hyper writes in two TLS records waits for the
                // client's delayed ACK of the first: 40 ms stalls at p99.9 (docs/performance.md).
                tls.acceptor(NoDelayAcceptor::new()),
                limits.max_connections,
                CONNECTION_SLOT_WAIT,
                metrics.clone(),
            )
        })
        // A connection that never sends a request would hold its slot: bounded like a request.
        .first_request_timeout(limits.request_timeout)
        .handle(handle.clone());
    server
        .http_builder()
        .http1()
        .max_buf_size(HTTP1_READ_BUFFER_MAX);
    let app = crate::router(state.clone());
    let server = tokio::spawn(async move { server.serve(app.into_make_service()).await });

    let (stop_metrics, mut stopped) = watch::channel(false);
    let (metrics_addr, metrics_server) = match config.metrics_listen {
        Some(metrics_listen) => {
            let listener = tokio::net::TcpListener::bind(metrics_listen)
                .await
                .map_err(io_error(format!("cannot listen on {metrics_listen}")))?;
            let metrics_addr = listener
                .local_addr()
                .map_err(io_error("cannot read the metrics listener address"))?;
            let app = crate::metrics_router(metrics.clone());
            let task = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            });
            (Some(metrics_addr), Some(task))
        }
        None => (None, None),
    };

    tracing::info!(%addr, ?metrics_addr, policy = ?config.policy, "changelint webhook serving");
    Ok(Running {
        addr,
        metrics_addr,
        state,
        handle,
        server,
        metrics_server,
        stop_metrics,
        shutdown_delay: config.shutdown_delay,
        drain_timeout: config.drain_timeout,
        background,
        _certs: certs,
        _policy: policy_reloader,
    })
}
