//! Hot reload of the serving certificate.
//!
//! cert-manager (or whoever owns the Secret) renews the certificate long before it expires
//! and the kubelet updates the mounted files in place; a webhook that read them once at
//! startup keeps serving the old certificate until it expires and every admission request
//! fails. [`CertReloader`] polls the files with a [`FileWatcher`] and, when they change,
//! swaps a new [`ServerConfig`] into the [`RustlsConfig`] that axum-server reads on every new
//! connection. Connections already open keep their session.
//!
//! A new configuration is only swapped in when certificate and key (and client CA, if any)
//! together build a valid configuration. Anything else (garbage, a half-written file, a key
//! that belongs to the next certificate while the certificate is still the old one) leaves
//! the running configuration alone and is reported as [`ReloadEvent::Failed`]; the next
//! change is tried again. Events go to a channel so the webhook decides how to log and count
//! them; the reloader itself only emits `tracing` records.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{CertError, Result};
use crate::generate::{TLS_CERT_FILE, TLS_KEY_FILE};
use crate::tls::{Pem, build_server_config, not_after_of};
use crate::watch::{FileSnapshot, FileWatcher};

/// How many events may wait unread before new ones are dropped (and logged).
const EVENT_BUFFER: usize = 16;

/// Where the serving certificate, its key and the optional client CA bundle live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM bundle of CAs that client certificates must chain to; `None` for no client auth.
    pub client_ca: Option<PathBuf>,
}

impl CertPaths {
    /// Certificate and key at the given paths, no client authentication.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
            client_ca: None,
        }
    }

    /// `tls.crt` and `tls.key` in `dir`: a mounted `kubernetes.io/tls` Secret, or what
    /// [`GeneratedCerts::write_to`](crate::GeneratedCerts::write_to) wrote.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self::new(dir.join(TLS_CERT_FILE), dir.join(TLS_KEY_FILE))
    }

    /// Also require client certificates signed by a CA in `client_ca`.
    #[must_use]
    pub fn with_client_ca(mut self, client_ca: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(client_ca.into());
        self
    }

    /// Reads the files (blocking) and builds a server configuration from them.
    pub fn load(&self) -> Result<Arc<ServerConfig>> {
        let mut watcher = FileWatcher::new(self.watched(), Duration::ZERO);
        self.build(watcher.poll_blocking())
            .map(|(config, _)| config)
    }

    fn watched(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.cert.clone(), self.key.clone()];
        paths.extend(self.client_ca.clone());
        paths
    }

    /// Builds from one poll's snapshots, in the order of [`Self::watched`].
    fn build(&self, files: Vec<FileSnapshot>) -> Result<(Arc<ServerConfig>, SystemTime)> {
        let mut contents = files.into_iter().map(FileSnapshot::into_contents);
        let mut next = || contents.next().expect("one snapshot per watched path");
        let cert = next()?;
        let key = next()?;
        let client_ca = self.client_ca.as_ref().map(|_| next()).transpose()?;

        let cert_name = self.cert.display().to_string();
        let key_name = self.key.display().to_string();
        let ca_name = self
            .client_ca
            .as_ref()
            .map(|path| path.display().to_string());
        let cert_pem = Pem::new(&cert_name, &cert);
        let config = build_server_config(
            cert_pem,
            Pem::new(&key_name, &key),
            ca_name
                .as_deref()
                .zip(client_ca.as_deref())
                .map(|(name, bytes)| Pem::new(name, bytes)),
        )?;
        Ok((config, not_after_of(cert_pem)?))
    }
}

/// What the reloader did. Sent on the channel returned with the [`CertReloader`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadEvent {
    /// [`CertReloader::start`] loaded the initial configuration.
    Loaded {
        /// Expiry of the serving certificate now in use.
        not_after: SystemTime,
    },
    /// The files changed and the new configuration is now served to new connections.
    Reloaded {
        /// Expiry of the serving certificate now in use.
        not_after: SystemTime,
    },
    /// The files changed but could not be used; the previous configuration is still served.
    Failed {
        /// What is wrong with the files; the message names the file.
        error: CertError,
    },
}

/// Background task that keeps a [`RustlsConfig`] in sync with certificate files.
///
/// Stops when dropped (or by [`stop`](Self::stop)). Must be created inside a tokio runtime.
#[derive(Debug)]
#[must_use = "dropping the CertReloader stops reloading"]
pub struct CertReloader {
    task: JoinHandle<()>,
    config: RustlsConfig,
}

impl CertReloader {
    /// Loads the files once and starts watching them.
    ///
    /// Fails if the files cannot be loaded now: a webhook should not start without a
    /// certificate. The channel receives [`ReloadEvent::Loaded`] first. Serve with
    /// [`rustls_config`](Self::rustls_config).
    pub fn start(
        paths: CertPaths,
        interval: Duration,
    ) -> Result<(Self, mpsc::Receiver<ReloadEvent>)> {
        let mut watcher = FileWatcher::new(paths.watched(), interval);
        let (server_config, not_after) = paths.build(watcher.poll_blocking())?;
        let config = RustlsConfig::from_config(server_config);
        let (events, receiver) = mpsc::channel(EVENT_BUFFER);
        send(&events, ReloadEvent::Loaded { not_after });
        Ok((Self::run(paths, watcher, config, events), receiver))
    }

    /// Starts watching the files for a `config` the caller already built from them.
    ///
    /// The files as they are now are taken to be what `config` holds; a change between
    /// the caller's load and this call goes unnoticed until the next change. Prefer
    /// [`start`](Self::start), which has no such gap.
    pub fn spawn(
        paths: CertPaths,
        config: RustlsConfig,
        interval: Duration,
    ) -> (Self, mpsc::Receiver<ReloadEvent>) {
        let mut watcher = FileWatcher::new(paths.watched(), interval);
        watcher.poll_blocking();
        let (events, receiver) = mpsc::channel(EVENT_BUFFER);
        (Self::run(paths, watcher, config, events), receiver)
    }

    /// The configuration to serve with (`axum_server::bind_rustls(addr, config)`); it is
    /// the one the reloader updates.
    pub fn rustls_config(&self) -> RustlsConfig {
        self.config.clone()
    }

    /// Whether the background task has ended (only after [`stop`](Self::stop) or a panic).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops watching. The configuration in use stays as it is.
    pub fn stop(self) {
        drop(self);
    }

    fn run(
        paths: CertPaths,
        mut watcher: FileWatcher,
        config: RustlsConfig,
        events: mpsc::Sender<ReloadEvent>,
    ) -> Self {
        let task_config = config.clone();
        let task = tokio::spawn(async move {
            loop {
                let files = watcher.changed().await;
                let changed: Vec<String> = files
                    .iter()
                    .filter(|file| file.is_changed())
                    .map(|file| file.path().display().to_string())
                    .collect();
                let event = match paths.build(files) {
                    Ok((server_config, not_after)) => {
                        task_config.reload_from_config(server_config);
                        tracing::info!(?changed, ?not_after, "reloaded TLS certificate");
                        ReloadEvent::Reloaded { not_after }
                    }
                    Err(error) => {
                        tracing::warn!(
                            ?changed,
                            error = %error_chain(&error),
                            "TLS certificate files changed but cannot be used; keeping the previous certificate"
                        );
                        ReloadEvent::Failed { error }
                    }
                };
                send(&events, event);
            }
        });
        Self { task, config }
    }
}

impl Drop for CertReloader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Never blocks the reloader: a full channel drops the event (it was logged already),
/// a closed one means nobody listens, which is fine.
fn send(events: &mpsc::Sender<ReloadEvent>, event: ReloadEvent) {
    if let Err(mpsc::error::TrySendError::Full(event)) = events.try_send(event) {
        tracing::warn!(
            ?event,
            "certificate reload event dropped: receiver is not keeping up"
        );
    }
}

/// `error: cause: cause`, for one-line logs (used by the webhook's policy reload too).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
