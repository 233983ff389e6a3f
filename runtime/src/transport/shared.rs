//! What the client and the server both use to drive HTTP/2 streams: sending
//! data as the peer's flow control allows, counting the calls in flight on a
//! connection, letting the calls woken together write before the
//! connection does, and stopping a task when what it works for is dropped.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;

/// Sends `data` as the peer's flow-control window allows, ending the stream
/// with its last piece if `end_of_stream`.
pub(crate) async fn send_with_capacity(
    body: &mut h2::SendStream<Bytes>,
    mut data: Bytes,
    end_of_stream: bool,
) -> Result<(), h2::Error> {
    if data.is_empty() {
        if end_of_stream {
            body.send_data(data, true)?;
        }
        return Ok(());
    }
    while !data.is_empty() {
        body.reserve_capacity(data.len());
        // The window is usually open, and h2 then assigns the capacity as
        // it is reserved: reading it back costs less than polling for it.
        let granted = match body.capacity() {
            0 => match poll_fn(|cx| body.poll_capacity(cx)).await {
                Some(Ok(n)) => n,
                Some(Err(e)) => return Err(e),
                None => return Err(h2::Error::from(h2::Reason::CANCEL)),
            },
            n => n,
        };
        if granted == 0 {
            continue;
        }
        let chunk = data.split_to(granted.min(data.len()));
        body.send_data(chunk, end_of_stream && data.is_empty())?;
    }
    Ok(())
}

/// Drives a connection (a client's or a server's) so that the tasks that
/// woke it go first: each time it is woken it reschedules itself once (to
/// the back of the run queue) before doing any I/O. Calls woken together (by
/// one read carrying several responses or requests) then queue what they
/// send next before the connection writes, and one write carries it all
/// instead of one write per call. When the runtime is busy, the reschedule
/// costs a trip through the scheduler and no system call.
///
/// It does so only while more than one call is counted in `in_flight` (a
/// client's calls in progress on the channel; a server connection's calls
/// running on tasks of their own): with one, nobody else is about to send,
/// and the reschedule would only wake an idle runtime thread (a system call)
/// for nothing.
pub(crate) struct LetOthersFirst<F> {
    inner: Pin<Box<F>>,
    yielded: bool,
    in_flight: Arc<AtomicUsize>,
}

impl<F: Future> LetOthersFirst<F> {
    pub(crate) fn new(inner: F, in_flight: Arc<AtomicUsize>) -> Self {
        Self {
            inner: Box::pin(inner),
            yielded: false,
            in_flight,
        }
    }
}

/// One call in progress on a channel, counted from its request headers
/// until its response stream ends or is dropped.
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    pub(crate) fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<F: Future> Future for LetOthersFirst<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if !self.yielded && self.in_flight.load(Ordering::Relaxed) > 1 {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        self.inner.as_mut().poll(cx)
    }
}

/// Aborts a task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) Option<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}
