//! The policy file: loaded at startup, reloaded when it changes on disk.
//!
//! The file is polled with the certs crate's [`FileWatcher`] (mtime, length and content hash,
//! following symlinks), which sees the atomic `..data` symlink swap Kubernetes uses to update
//! a mounted ConfigMap. A new file that does not parse, or is not a valid policy, leaves the
//! policy in force as it was; the error (with file and line) is logged and counted in
//! `changelint_webhook_policy_reloads_total{result="failure"}`. The next change is tried again.
//!
//! A change is loaded once the file has stayed the same for one more poll, so a file caught
//! halfway through a (non-atomic) write is not loaded: a prefix of a policy can itself be a
//! valid, and wrong, policy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use changelint_certs::{CertError, FileWatcher};
use changelint_policies::{Policy, PolicyError};
use tokio::task::JoinHandle;

use crate::state::AppState;

/// Why a policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    /// The file could not be read.
    #[error("cannot read policy file")]
    Read(#[source] CertError),
    /// The file is not UTF-8.
    #[error("policy file {} is not UTF-8", .0.display())]
    NotUtf8(PathBuf),
    /// The file is not a valid policy; the error names file and line.
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}

/// Reads and validates a policy file (blocking).
pub fn load_policy(path: &Path) -> Result<Policy, PolicyLoadError> {
    let mut watcher = FileWatcher::new([path], Duration::ZERO);
    let snapshot = watcher
        .poll_blocking()
        .pop()
        .expect("one snapshot per path");
    parse(path, snapshot.into_contents())
}

fn parse(path: &Path, contents: Result<Vec<u8>, CertError>) -> Result<Policy, PolicyLoadError> {
    let bytes = contents.map_err(PolicyLoadError::Read)?;
    let text = String::from_utf8(bytes).map_err(|_| PolicyLoadError::NotUtf8(path.to_owned()))?;
    Ok(Policy::from_yaml(&path.display().to_string(), &text)?)
}

/// A policy file being watched. Created by [`PolicyFile::open`], started by
/// [`PolicyFile::watch`].
#[derive(Debug)]
pub struct PolicyFile {
    path: PathBuf,
    watcher: FileWatcher,
}

impl PolicyFile {
    /// Loads the policy now (a webhook must not start without one) and prepares to watch the
    /// file, polling every `interval`. What was read is the baseline: only later changes
    /// trigger a reload.
    pub fn open(
        path: impl Into<PathBuf>,
        interval: Duration,
    ) -> Result<(Self, Policy), PolicyLoadError> {
        let path = path.into();
        let mut watcher = FileWatcher::new([&path], interval);
        let snapshot = watcher
            .poll_blocking()
            .pop()
            .expect("one snapshot per path");
        let policy = parse(&path, snapshot.into_contents())?;
        Ok((Self { path, watcher }, policy))
    }

    /// Starts reloading into `state` whenever the file changes. Must run inside a tokio
    /// runtime; stops when the returned handle is dropped.
    pub fn watch(self, state: AppState) -> PolicyReloader {
        let Self { path, mut watcher } = self;
        let task = tokio::spawn(async move {
            loop {
                let mut snapshot = watcher
                    .changed()
                    .await
                    .pop()
                    .expect("one snapshot per path");
                // Settle: an editor or `cp` may be halfway through writing, and a prefix of a
                // policy can itself be a valid policy (an empty file is the default policy).
                // Load only contents that stayed the same for one more interval.
                loop {
                    tokio::time::sleep(watcher.interval()).await;
                    let next = watcher.poll().await.pop().expect("one snapshot per path");
                    if !next.is_changed() {
                        break;
                    }
                    snapshot = next;
                }
                match parse(&path, snapshot.into_contents()) {
                    Ok(policy) => {
                        state.set_policy(policy);
                        state.metrics().policy_reload(true);
                        tracing::info!(path = %path.display(), "reloaded policy");
                    }
                    Err(error) => {
                        state.metrics().policy_reload(false);
                        tracing::warn!(
                            path = %path.display(),
                            error = %changelint_certs::error_chain(&error),
                            "policy file changed but is not usable; keeping the policy in force"
                        );
                    }
                }
            }
        });
        PolicyReloader { task }
    }
}

/// Background policy reload; stops when dropped.
#[derive(Debug)]
#[must_use = "dropping the PolicyReloader stops reloading"]
pub struct PolicyReloader {
    task: JoinHandle<()>,
}

impl Drop for PolicyReloader {
    fn drop(&mut self) {
        self.task.abort();
    }
}
