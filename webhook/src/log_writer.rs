//! The log writer: lines are appended to a shared buffer and written out in batches by one
//! background thread.
//!
//! A review logs one line. Handing each line to a writer thread through a channel, as
//! `tracing-appender` does, costs an allocation per line, a free on another thread and, under
//! load, hundreds of wake-ups of that thread a second, each of which can preempt a worker: with
//! it, the webhook's p99 on allowed 8 KB reviews was 6% over the echo floor's; with this writer
//! it is 4% under (docs/performance.md). Here a line is copied into the buffer under a lock,
//! and the thread wakes at most every [`BATCH_INTERVAL`] while lines keep coming; an idle
//! webhook's first line wakes it at once, so a lone line is written within one interval.
//!
//! Lines are never dropped: when the buffer holds [`MAX_BUFFERED_BYTES`] (the sink has
//! stalled), writers wait for the thread to drain it. Dropping the [`FlushGuard`] writes what
//! is left; lines logged after that are written directly.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the thread gathers lines before it writes them, while lines keep coming.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);

/// Bytes buffered before writers wait: a stalled sink holds the webhook's memory to this.
pub const MAX_BUFFERED_BYTES: usize = 8 * 1024 * 1024;

/// A [`MakeWriter`] whose lines a background thread writes in batches. Cheap to clone.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Writes what is buffered and stops the thread when dropped.
#[must_use = "dropping the guard stops the writer thread"]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Lines arrived while the thread was idle, or the guard was dropped.
    work: Condvar,
    /// The buffer was drained.
    space: Condvar,
    /// Taken by the thread for each batch, and by writers once the thread has stopped.
    sink: Mutex<Box<dyn Write + Send>>,
    max_buffered: usize,
}

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    /// The thread waits for a first line (the buffer was empty), rather than gathering.
    idle: bool,
    closed: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_out(&self, bytes: &[u8]) {
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        // Nowhere is left to report a failing log sink; the lines are lost either way.
        let _ = sink.write_all(bytes).and_then(|()| sink.flush());
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
        let thread = std::thread::Builder::new()
            .name("changelint-log".into())
            .spawn({
                let shared = shared.clone();
                move || write_batches(&shared, interval)
            })?;
        let guard = FlushGuard {
            shared: shared.clone(),
            thread: Some(thread),
        };
        Ok((Self { shared }, guard))
    }

    fn append(&self, line: &[u8]) {
        let mut state = self.shared.state();
        while !state.closed && state.buffer.len() >= self.shared.max_buffered {
            state = self
                .shared
                .space
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.closed {
            drop(state);
            self.shared.write_out(line);
            return;
        }
        state.buffer.extend_from_slice(line);
        let wake = std::mem::take(&mut state.idle);
        drop(state);
        if wake {
            self.shared.work.notify_one();
        }
    }
}

/// The writer thread: wait for a first line, gather for `interval`, write the batch.
fn write_batches(shared: &Shared, interval: Duration) {
    let mut batch = Vec::new();
    loop {
        {
            let mut state = shared.state();
            while state.buffer.is_empty() && !state.closed {
                state.idle = true;
                state = shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.buffer.is_empty() {
                return;
            }
            if !state.closed {
                drop(state);
                std::thread::sleep(interval);
                state = shared.state();
            }
            std::mem::swap(&mut state.buffer, &mut batch);
        }
        shared.space.notify_all();
        shared.write_out(&batch);
        batch.clear();
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.state().closed = true;
        self.shared.work.notify_one();
        self.shared.space.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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
    use std::time::Instant;

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

    #[test]
    fn lines_from_every_thread_arrive_whole_and_in_order() {
        let sink = Shown::default();
        let (writer, guard) =
            BatchedWriter::with_limits(sink.clone(), Duration::from_millis(1), 4096).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let writer = &writer;
                scope.spawn(move || {
                    for n in 0..2000 {
                        log(
                            writer,
                            &format!("thread={thread} n={n} {}\n", "x".repeat(n % 97)),
                        );
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
    }

    fn wait_for(sink: &Shown, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while sink.text() != text && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.text(), text);
    }

    #[test]
    fn a_line_logged_while_idle_is_written_without_waiting_for_more() {
        let sink = Shown::default();
        let (writer, _guard) = BatchedWriter::new(sink.clone()).unwrap();
        log(&writer, "first\n");
        wait_for(&sink, "first\n");
        // The thread has written its batch and waits for the next line.
        std::thread::sleep(BATCH_INTERVAL * 2);
        log(&writer, "alone\n");
        wait_for(&sink, "first\nalone\n");
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

    #[test]
    fn a_stalled_sink_makes_writers_wait_and_loses_no_line() {
        let shown = Shown::default();
        let (open, opened) = mpsc::channel();
        let sink = Stalled {
            shown: shown.clone(),
            open: opened,
        };
        let (writer, guard) =
            BatchedWriter::with_limits(sink, Duration::from_millis(1), 64).unwrap();
        let (logged, lines_logged) = mpsc::channel();
        let producer = std::thread::spawn({
            let writer = writer.clone();
            move || {
                for n in 0..100 {
                    log(&writer, &format!("line {n:03} of the stalled sink\n"));
                    logged.send(n).unwrap();
                }
            }
        });
        // The first batch is stuck in the sink and the buffer is full: the producer waits.
        std::thread::sleep(Duration::from_millis(200));
        let before_release = lines_logged.try_iter().count();
        drop(open);
        assert!(
            before_release < 100,
            "{before_release} lines logged past a full buffer"
        );
        producer.join().unwrap();
        drop(guard);
        let text = shown.text();
        let expected: Vec<String> = (0..100)
            .map(|n| format!("line {n:03} of the stalled sink"))
            .collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn lines_logged_after_the_guard_is_dropped_are_written_directly() {
        let sink = Shown::default();
        let (writer, guard) = BatchedWriter::new(sink.clone()).unwrap();
        log(&writer, "before\n");
        drop(guard);
        assert_eq!(sink.text(), "before\n");
        log(&writer, "after\n");
        assert_eq!(sink.text(), "before\nafter\n");
    }
}
