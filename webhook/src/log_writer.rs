//! The log writer: lines are appended to a shared buffer and written out in batches by one
//! background thread.
//!
//! A review logs one line. Handing each line to a writer thread through a channel, as
//! `tracing-appender` does, costs an allocation per line, a free on another thread and, under
//! load, hundreds of wake-ups of that thread a second, each of which can preempt a worker
//! (docs/performance.md, "Where the 8 KB gap is"). Here a line is copied into the buffer under
//! a lock, and the thread wakes at most once per [`BATCH_INTERVAL`] while lines keep coming;
//! an idle webhook's first line wakes it at once, and is written one interval later.
//!
//! No line is dropped for lack of room, and each thread's lines stay in order: when the buffer
//! holds [`MAX_BUFFERED_BYTES`] (the sink has stalled), writers wait for the thread to drain
//! it. Lines a failing sink does not take, or that are not written within [`FLUSH_TIMEOUT`] at
//! exit, are lost. Dropping the [`FlushGuard`] writes what is buffered; lines logged once the
//! thread has stopped are written directly.

use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// How long the thread gathers lines before it writes them, while lines keep coming.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);

/// Bytes buffered before writers wait. The buffer and the batch being written take at most
/// four times this (each may have twice the capacity it holds), plus up to two lines longer
/// than it.
pub const MAX_BUFFERED_BYTES: usize = 2 * 1024 * 1024;

/// How long dropping the [`FlushGuard`] waits for the buffered lines to be written: a sink that
/// blocks (a full pipe to a log collector) must not keep the process from exiting.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// A batch that grew past this is not kept for the next one: a burst's memory is given back.
const KEPT_BATCH_CAPACITY: usize = 256 * 1024;

/// A [`MakeWriter`] whose lines a background thread writes in batches. Cheap to clone.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Writes what is buffered and stops the thread when dropped.
#[must_use = "dropping the guard stops the writer thread"]
pub struct FlushGuard {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// A line arrived in an empty buffer, or the guard was dropped.
    work: Condvar,
    /// The buffer was drained, or the thread stopped.
    space: Condvar,
    /// Used by the thread for each batch, and by writers once the thread has stopped.
    sink: Mutex<Box<dyn Write + Send>>,
    max_buffered: usize,
}

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    /// The guard was dropped: write what is buffered and stop.
    closed: bool,
    /// The thread has stopped: writers write directly.
    stopped: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_out(&self, bytes: &[u8]) {
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        // Nowhere is left to report a failing log sink, and a panicking one must not stop the
        // thread (writers would then wait on a full buffer for ever): the lines are lost.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            sink.write_all(bytes).and_then(|()| sink.flush())
        }));
    }
}

impl BatchedWriter {
    /// Starts the writer thread over `sink`.
    pub fn new(sink: impl Write + Send + 'static) -> io::Result<(Self, FlushGuard)> {
        Self::with_limits(sink, BATCH_INTERVAL, MAX_BUFFERED_BYTES)
    }

    fn with_limits(
        sink: impl Write + Send + 'static,
        interval: Duration,
        max_buffered: usize,
    ) -> io::Result<(Self, FlushGuard)> {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            work: Condvar::new(),
            space: Condvar::new(),
            sink: Mutex::new(Box::new(sink)),
            max_buffered,
        });
        std::thread::Builder::new()
            .name("changelint-log".into())
            .spawn({
                let shared = shared.clone();
                move || {
                    let _stop = StopOnExit(&shared);
                    write_batches(&shared, interval);
                }
            })?;
        let guard = FlushGuard {
            shared: shared.clone(),
        };
        Ok((Self { shared }, guard))
    }

    fn append(&self, line: &[u8]) {
        let mut state = self.shared.state();
        while !state.stopped
            && !state.buffer.is_empty()
            && state.buffer.len() + line.len() > self.shared.max_buffered
        {
            state = self
                .shared
                .space
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.stopped {
            drop(state);
            self.shared.write_out(line);
            return;
        }
        // The thread waits for a first line only when the buffer is empty; while it gathers or
        // writes a batch, nobody needs waking.
        let wake = state.buffer.is_empty();
        state.buffer.extend_from_slice(line);
        drop(state);
        if wake {
            self.shared.work.notify_one();
        }
    }
}

/// The writer thread: wait for a first line, gather for `interval` (or until the guard is
/// dropped), write the batch; once closed and drained, stop.
fn write_batches(shared: &Shared, interval: Duration) {
    let mut batch = Vec::new();
    loop {
        {
            let mut state = shared.state();
            while state.buffer.is_empty() && !state.closed {
                state = shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.buffer.is_empty() {
                return;
            }
            let gathered = Instant::now() + interval;
            while !state.closed {
                let Some(left) = gathered.checked_duration_since(Instant::now()) else {
                    break;
                };
                state = shared
                    .work
                    .wait_timeout(state, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut state.buffer, &mut batch);
        }
        shared.space.notify_all();
        shared.write_out(&batch);
        if batch.capacity() > KEPT_BATCH_CAPACITY {
            batch = Vec::new();
        } else {
            batch.clear();
        }
    }
}

/// Marks the thread stopped when it returns or panics, so that writers write directly rather
/// than wait for a thread that is gone, after writing what was buffered meanwhile. The state
/// stays locked until then, so a writer's later line cannot overtake its buffered one.
struct StopOnExit<'a>(&'a Shared);

impl Drop for StopOnExit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.stopped = true;
        if !state.buffer.is_empty() {
            self.0.write_out(&state.buffer);
            state.buffer = Vec::new();
        }
        drop(state);
        self.0.space.notify_all();
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.closed = true;
        self.shared.work.notify_one();
        // Returns when the thread has stopped (`StopOnExit`), or after the timeout.
        let _ = self
            .shared
            .space
            .wait_timeout_while(state, FLUSH_TIMEOUT, |state| !state.stopped);
    }
}

/// One log line's writer: tracing-subscriber formats a line, then writes it with one
/// `write_all`.
pub struct LineWriter<'a> {
    writer: &'a BatchedWriter,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.writer.append(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { writer: self }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A sink tests can read while the writer thread holds it.
    #[derive(Clone, Default)]
    struct Shown(Arc<Mutex<Vec<u8>>>);

    impl Shown {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Shown {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn log(writer: &BatchedWriter, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    /// Runs `test` on its own thread and fails if it has not returned within 30 s: a deadlock
    /// fails the test instead of hanging the suite.
    fn within_30s(test: impl FnOnce() + Send + 'static) {
        let (done, finished) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            test();
            done.send(()).unwrap();
        });
        match finished.recv_timeout(Duration::from_secs(30)) {
            Ok(()) => thread.join().unwrap(),
            // The test panicked: show its message.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::panic::resume_unwind(thread.join().unwrap_err())
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlocked: still running after 30 s"),
        }
    }

    /// Polls the sink until it shows `text`, for at most `limit`.
    fn shows_within(sink: &Shown, text: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while sink.text() != text && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        sink.text() == text
    }

    #[test]
    fn lines_from_every_thread_arrive_whole_and_in_order() {
        within_30s(|| {
            let sink = Shown::default();
            let (writer, guard) =
                BatchedWriter::with_limits(sink.clone(), Duration::from_millis(1), 4096).unwrap();
            std::thread::scope(|scope| {
                for thread in 0..4 {
                    let writer = &writer;
                    scope.spawn(move || {
                        for n in 0..2000 {
                            let padding = "x".repeat(n % 97);
                            log(writer, &format!("thread={thread} n={n} {padding}\n"));
                        }
                    });
                }
            });
            drop(guard);
            let text = sink.text();
            let mut next = [0; 4];
            for line in text.lines() {
                let (thread, rest) = line["thread=".len()..].split_once(" n=").unwrap();
                let (n, padding) = rest.split_once(' ').unwrap();
                let (thread, n): (usize, usize) = (thread.parse().unwrap(), n.parse().unwrap());
                assert_eq!(n, next[thread], "thread {thread} out of order");
                assert_eq!(padding, "x".repeat(n % 97));
                next[thread] += 1;
            }
            assert_eq!(next, [2000; 4]);
        });
    }

    #[test]
    fn a_line_logged_while_idle_wakes_the_thread() {
        within_30s(|| {
            let interval = Duration::from_secs(1);
            let sink = Shown::default();
            let (writer, _guard) =
                BatchedWriter::with_limits(sink.clone(), interval, MAX_BUFFERED_BYTES).unwrap();
            log(&writer, "first\n");
            assert!(shows_within(&sink, "first\n", interval * 10));
            // The thread has written its batch and waits for the next line: the line wakes it,
            // and it is written one interval later. A thread that looked once per interval
            // instead would take two.
            let logged = Instant::now();
            log(&writer, "alone\n");
            assert!(
                shows_within(&sink, "first\nalone\n", interval * 10),
                "{:?}",
                sink.text()
            );
            let took = logged.elapsed();
            assert!(
                took < interval * 3 / 2,
                "written {took:?} after it was logged"
            );
        });
    }

    /// A sink whose writes wait until the test lets them through.
    struct Stalled {
        shown: Shown,
        open: mpsc::Receiver<()>,
    }

    impl Write for Stalled {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.open.recv().ok();
            self.shown.write(bytes)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer over a [`Stalled`] sink, what it shows, and the sender whose drop opens it.
    fn stalled(max_buffered: usize) -> (BatchedWriter, FlushGuard, Shown, mpsc::Sender<()>) {
        let shown = Shown::default();
        let (open, opened) = mpsc::channel();
        let sink = Stalled {
            shown: shown.clone(),
            open: opened,
        };
        let (writer, guard) =
            BatchedWriter::with_limits(sink, Duration::from_millis(1), max_buffered).unwrap();
        (writer, guard, shown, open)
    }

    #[test]
    fn a_stalled_sink_makes_writers_wait_and_loses_no_line() {
        within_30s(|| {
            let (writer, guard, shown, open) = stalled(64);
            let line = |n: usize| format!("line {n:03} of the stalled sink");
            let (logged, lines_logged) = mpsc::channel();
            let producer = std::thread::spawn({
                let writer = writer.clone();
                move || {
                    for n in 0..100 {
                        log(&writer, &format!("{}\n", line(n)));
                        logged.send(n).unwrap();
                    }
                }
            });
            // The first batch is stuck in the sink and two lines fill the buffer: the producer
            // waits.
            std::thread::sleep(Duration::from_millis(200));
            let before_release = lines_logged.try_iter().count();
            drop(open);
            assert!(
                (1..=8).contains(&before_release),
                "{before_release} lines logged while the sink was stalled"
            );
            producer.join().unwrap();
            drop(guard);
            let expected: Vec<String> = (0..100).map(line).collect();
            assert_eq!(shown.text().lines().collect::<Vec<_>>(), expected);
        });
    }

    #[test]
    fn a_line_logged_while_the_guard_is_dropped_comes_after_the_buffered_ones() {
        within_30s(|| {
            let (writer, guard, shown, open) = stalled(1024);
            log(&writer, "written\n");
            // The thread is stuck writing the first line; the second waits in the buffer.
            std::thread::sleep(Duration::from_millis(50));
            log(&writer, "buffered\n");
            let dropping = std::thread::spawn(move || drop(guard));
            std::thread::sleep(Duration::from_millis(50));
            let during = std::thread::spawn({
                let writer = writer.clone();
                move || log(&writer, "during the drop\n")
            });
            std::thread::sleep(Duration::from_millis(50));
            drop(open);
            during.join().unwrap();
            dropping.join().unwrap();
            log(&writer, "after\n");
            assert_eq!(shown.text(), "written\nbuffered\nduring the drop\nafter\n");
        });
    }

    /// A sink that panics on its first write and works after.
    struct PanicsOnce {
        shown: Shown,
        panicked: bool,
    }

    impl Write for PanicsOnce {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            assert!(
                std::mem::replace(&mut self.panicked, true),
                "the sink failed"
            );
            self.shown.write(bytes)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panicking_sink_loses_its_batch_but_not_the_writer() {
        within_30s(|| {
            let shown = Shown::default();
            let sink = PanicsOnce {
                shown: shown.clone(),
                panicked: false,
            };
            let (writer, guard) =
                BatchedWriter::with_limits(sink, Duration::from_millis(1), 64).unwrap();
            log(&writer, "lost with the panic\n");
            std::thread::sleep(Duration::from_millis(100));
            // More than the buffer holds: a dead thread would leave these writers waiting.
            for n in 0..20 {
                log(&writer, &format!("line {n:02}\n"));
            }
            // Lines written directly by the writers once the thread had died would read the
            // same: the thread must still be running.
            assert!(!writer.shared.state().stopped, "the writer thread died");
            drop(guard);
            let expected: String = (0..20)
                .map(|n| format!("line {n:02}\n"))
                .collect::<Vec<_>>()
                .concat();
            assert_eq!(shown.text(), expected);
        });
    }
}
