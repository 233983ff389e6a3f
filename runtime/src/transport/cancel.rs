//! [`CancelHandle`]: cancelling a client call from outside it.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use super::status::Status;

/// Cancels one client call from outside it, for instance from another task;
/// get it from [`Request::cancel_handle`](super::Request::cancel_handle).
/// Cheap to clone.
///
/// Once [`cancel`](CancelHandle::cancel) is called, the call ends with
/// `CANCELLED` where its caller looks: a call still waiting for its response
/// returns that status, and a response [`Streaming`](super::Streaming) yields
/// it as its next item. The call stops sending, and its HTTP/2 stream is
/// reset (`RST_STREAM` `CANCEL`, which stops the server's handler) as soon as
/// nothing of the call is left: at once for a call waiting for its response,
/// when the `Streaming` is dropped for a streaming response. Cancelling a call
/// that has already ended does nothing.
#[derive(Clone, Debug, Default)]
pub struct CancelHandle(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    // The call watching this handle (one at a time).
    waker: AtomicWaker,
}

impl CancelHandle {
    /// Cancels the call.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Release);
        self.0.waker.wake();
    }

    /// Whether [`cancel`](CancelHandle::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    pub(crate) fn poll_cancelled(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_cancelled() {
            return Poll::Ready(());
        }
        self.0.waker.register(cx.waker());
        if self.is_cancelled() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Completes once the call is cancelled.
    pub(crate) async fn cancelled(&self) {
        poll_fn(|cx| self.poll_cancelled(cx)).await;
    }

    /// The status a cancelled call ends with.
    pub(crate) fn status() -> Status {
        Status::cancelled("the call was cancelled by the client")
    }
}
