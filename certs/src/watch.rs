//! Polling file watcher.
//!
//! Kubernetes updates a mounted Secret or ConfigMap by writing a new timestamped directory
//! and atomically swapping the `..data` symlink that the visible files point through. inotify
//! on the visible path sees nothing of that (the watched inode never changes), and a watch on
//! the directory reports a burst of events for files that are not the ones we read. Polling
//! is boring and correct everywhere: every `interval`, open each path (following symlinks),
//! and compare its modification time, length and a hash of its contents with the previous
//! poll.
//!
//! A poll hands back the bytes it hashed, so a consumer parses exactly what was compared.
//! If a consumer reads a half-written file, the next poll sees the finished file as a change
//! and the consumer gets another chance; nothing is silently skipped.
//!
//! [`CertReloader`](crate::CertReloader) uses this for the serving certificate; the webhook
//! can use it as is for its policy file.

use std::fs::File;
use std::hash::{DefaultHasher, Hasher as _};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::time::{Interval, MissedTickBehavior};

use crate::error::CertError;

/// Watches a fixed set of files for changes by polling.
#[derive(Debug)]
pub struct FileWatcher {
    paths: Vec<PathBuf>,
    interval: Duration,
    /// What the last poll saw, one per path; `None` before the first poll.
    seen: Option<Vec<Fingerprint>>,
    /// Created on first use, because creating one needs a running tokio runtime.
    ticker: Option<Interval>,
}

/// One file as one poll read it.
#[derive(Debug)]
pub struct FileSnapshot {
    path: PathBuf,
    changed: bool,
    contents: Result<Vec<u8>, CertError>,
}

impl FileSnapshot {
    /// The watched path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file differs from the previous poll (always true on the first poll).
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// The bytes read, or why the file could not be read (missing, permission, ...).
    pub fn contents(&self) -> Result<&[u8], &CertError> {
        self.contents.as_deref()
    }

    /// Takes the bytes read, or why the file could not be read.
    pub fn into_contents(self) -> Result<Vec<u8>, CertError> {
        self.contents
    }
}

/// What is compared between polls. A file that cannot be read is compared by the kind of
/// error, so a missing file that stays missing is not a change, but its reappearance is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fingerprint {
    Read {
        modified: Option<SystemTime>,
        len: u64,
        hash: u64,
    },
    Unreadable(io::ErrorKind),
}

impl FileWatcher {
    /// Watches `paths`, polling every `interval` (at least 1 ms) in
    /// [`changed`](Self::changed).
    ///
    /// Nothing is read yet: the first poll reports every file as changed.
    pub fn new<I, P>(paths: I, interval: Duration) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        Self {
            paths: paths.into_iter().map(Into::into).collect(),
            interval,
            seen: None,
            ticker: None,
        }
    }

    /// The watched paths, in the order snapshots are returned.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The polling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reads every file now, on the calling thread, and makes what was read the baseline
    /// for the next poll. Returns one snapshot per path, in order.
    ///
    /// For startup code that must load the files before serving; in async code prefer
    /// [`poll`](Self::poll).
    pub fn poll_blocking(&mut self) -> Vec<FileSnapshot> {
        let read = read_all(&self.paths);
        self.compare(read)
    }

    /// Like [`poll_blocking`](Self::poll_blocking), but reads on tokio's blocking pool.
    ///
    /// Cancel safe: if the future is dropped, the baseline is unchanged.
    pub async fn poll(&mut self) -> Vec<FileSnapshot> {
        let paths = self.paths.clone();
        let read = match tokio::task::spawn_blocking(move || read_all(&paths)).await {
            Ok(read) => read,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // The runtime is shutting down; nobody is waiting for a result any more.
            Err(_) => std::future::pending().await,
        };
        self.compare(read)
    }

    /// Waits until at least one file differs from the last poll, polling every interval,
    /// and returns one snapshot per path (see [`FileSnapshot::is_changed`]).
    ///
    /// If nothing was polled yet, returns at once with every file marked changed.
    /// Cancel safe.
    pub async fn changed(&mut self) -> Vec<FileSnapshot> {
        loop {
            // tokio rejects a zero period; a millisecond is as good as "continuously".
            let interval = self.interval.max(Duration::from_millis(1));
            self.ticker
                .get_or_insert_with(|| {
                    let mut ticker = tokio::time::interval(interval);
                    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    ticker
                })
                .tick()
                .await;
            let snapshots = self.poll().await;
            if snapshots.iter().any(FileSnapshot::is_changed) {
                return snapshots;
            }
        }
    }

    fn compare(&mut self, read: Vec<(Fingerprint, io::Result<Vec<u8>>)>) -> Vec<FileSnapshot> {
        let previous = self.seen.take();
        let mut fingerprints = Vec::with_capacity(read.len());
        let snapshots = read
            .into_iter()
            .zip(&self.paths)
            .enumerate()
            .map(|(i, ((fingerprint, contents), path))| {
                let changed = previous
                    .as_ref()
                    .and_then(|seen| seen.get(i))
                    .is_none_or(|before| *before != fingerprint);
                fingerprints.push(fingerprint);
                FileSnapshot {
                    path: path.clone(),
                    changed,
                    contents: contents.map_err(|source| CertError::Io {
                        path: path.clone(),
                        source,
                    }),
                }
            })
            .collect();
        self.seen = Some(fingerprints);
        snapshots
    }
}

fn read_all(paths: &[PathBuf]) -> Vec<(Fingerprint, io::Result<Vec<u8>>)> {
    paths.iter().map(|path| read_file(path)).collect()
}

/// Opens the file once and takes its metadata from the open handle, so the modification
/// time belongs to the bytes read even if a symlink is swapped meanwhile.
fn read_file(path: &Path) -> (Fingerprint, io::Result<Vec<u8>>) {
    let read = (|| -> io::Result<_> {
        let mut file = File::open(path)?;
        let metadata = file.metadata()?;
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        file.read_to_end(&mut bytes)?;
        Ok((metadata.modified().ok(), bytes))
    })();
    match read {
        Ok((modified, bytes)) => {
            let mut hasher = DefaultHasher::new();
            hasher.write(&bytes);
            let fingerprint = Fingerprint::Read {
                modified,
                len: bytes.len() as u64,
                hash: hasher.finish(),
            };
            (fingerprint, Ok(bytes))
        }
        Err(err) => (Fingerprint::Unreadable(err.kind()), Err(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_poll_reports_everything_then_only_differences() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, "one").unwrap();
        let mut watcher = FileWatcher::new([&a, &b], Duration::from_millis(10));

        let first = watcher.poll_blocking();
        assert!(first.iter().all(FileSnapshot::is_changed));
        assert_eq!(first[0].contents().unwrap(), b"one");
        assert!(matches!(first[1].contents(), Err(CertError::Io { path, .. }) if *path == b));

        let unchanged = watcher.poll_blocking();
        assert!(!unchanged.iter().any(FileSnapshot::is_changed));

        // Same length and, with the modification time put back, only the content hash
        // can tell (coarse-mtime file systems, or a writer that preserves times).
        let modified = std::fs::metadata(&a).unwrap().modified().unwrap();
        std::fs::write(&a, "two").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&a)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let after = watcher.poll_blocking();
        assert!(after[0].is_changed());
        assert!(!after[1].is_changed(), "still missing is not a change");
        assert_eq!(after[0].contents().unwrap(), b"two");

        std::fs::write(&b, "now here").unwrap();
        let appeared = watcher.poll_blocking();
        assert!(!appeared[0].is_changed());
        assert!(appeared[1].is_changed());
    }

    #[cfg(unix)]
    #[test]
    fn sees_kubernetes_style_symlink_swaps() {
        use std::os::unix::fs::symlink;
        // <dir>/tls.crt -> ..data/tls.crt, ..data -> ..v1, then ..data is swapped to ..v2.
        let dir = tempfile::tempdir().unwrap();
        for (version, content) in [("..v1", "first"), ("..v2", "second")] {
            std::fs::create_dir(dir.path().join(version)).unwrap();
            std::fs::write(dir.path().join(version).join("tls.crt"), content).unwrap();
        }
        symlink("..v1", dir.path().join("..data")).unwrap();
        symlink("..data/tls.crt", dir.path().join("tls.crt")).unwrap();
        let mut watcher = FileWatcher::new([dir.path().join("tls.crt")], Duration::from_millis(10));
        assert_eq!(watcher.poll_blocking()[0].contents().unwrap(), b"first");

        symlink("..v2", dir.path().join("..data_tmp")).unwrap();
        std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
        let after = watcher.poll_blocking();
        assert!(after[0].is_changed());
        assert_eq!(after[0].contents().unwrap(), b"second");
    }

    #[tokio::test]
    async fn changed_waits_for_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.yaml");
        std::fs::write(&path, "a: 1").unwrap();
        let mut watcher = FileWatcher::new([&path], Duration::from_millis(10));
        let first = watcher.changed().await;
        assert!(
            first[0].is_changed(),
            "first call reports the initial state"
        );

        let timed_out = tokio::time::timeout(Duration::from_millis(100), watcher.changed()).await;
        assert!(
            timed_out.is_err(),
            "nothing changed, so changed() must not return"
        );

        std::fs::write(&path, "a: 2").unwrap();
        let next = tokio::time::timeout(Duration::from_secs(5), watcher.changed())
            .await
            .expect("change not seen");
        assert_eq!(next[0].contents().unwrap(), b"a: 2");
    }
}
