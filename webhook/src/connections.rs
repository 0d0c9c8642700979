//! A bound on the connections served at once.
//!
//! Every open connection costs memory (TLS state and HTTP buffers, about 35 KiB) and a share of
//! the CPU; without a bound, ten times more clients meant ten times the memory and answers
//! queued past their deadline before their request was even read (docs/reliability.md,
//! "Overload"). A connection over the limit waits briefly for a slot, before its TLS
//! handshake, and is closed if none frees: the API server then applies the webhook's
//! `failurePolicy` at once instead of waiting out `timeoutSeconds`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

/// How long a connection over the limit waits for a slot before it is closed: long enough to
/// ride out a burst, short against the API server's `timeoutSeconds`.
pub const CONNECTION_SLOT_WAIT: Duration = Duration::from_secs(1);

/// An acceptor that admits at most `max` connections at once around `inner` (the TLS one).
#[derive(Clone)]
pub struct ConnectionLimit<A> {
    inner: A,
    slots: Arc<Semaphore>,
    wait: Duration,
    metrics: Metrics,
}

impl<A> ConnectionLimit<A> {
    /// Wraps `inner`; connections beyond `max` wait up to `wait` for a slot.
    pub fn new(inner: A, max: usize, wait: Duration, metrics: Metrics) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(max)),
            wait,
            metrics,
        }
    }
}

impl<A, I, S> Accept<I, S> for ConnectionLimit<A>
where
    A: Accept<I, S> + Clone + Send + Sync + 'static,
    A::Future: Send,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = Admitted<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let Ok(Ok(slot)) = tokio::time::timeout(this.wait, this.slots.acquire_owned()).await
            else {
                this.metrics.rejected("connections");
                return Err(io::Error::other("connection limit reached"));
            };
            let (stream, service) = this.inner.accept(stream, service).await?;
            Ok((
                Admitted {
                    stream,
                    _slot: slot,
                },
                service,
            ))
        })
    }
}

/// A connection holding its slot until it closes.
pub struct Admitted<T> {
    stream: T,
    _slot: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Admitted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Admitted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
