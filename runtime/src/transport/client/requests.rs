//! The request side of streaming calls: a task that sends a stream's
//! messages on an HTTP/2 stream as flow control allows, and the same
//! messages as an HTTP body for the service path.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::encoding::SizeCache;
use crate::message::Message;
use crate::transport::codec::{BATCH_BYTES, STREAM_BUFFER, encode_frame_into};
use crate::transport::compression::CompressionEncoding;
use crate::transport::observe::CallRecord;
use crate::transport::shared::send_with_capacity;
use crate::transport::status::Status;

/// The request side of a streaming call: the messages still to send, the
/// stream they go on, and what encodes them.
pub(super) struct RequestSender<S> {
    pub(super) messages: Pin<Box<S>>,
    pub(super) body: h2::SendStream<Bytes>,
    pub(super) compression: Option<CompressionEncoding>,
    pub(super) per_message: Option<crate::transport::MessageCompression>,
    pub(super) max_send: usize,
    pub(super) sizes: SizeCache,
    pub(super) buf: BytesMut,
    // A watched call's record, that the messages sent count into.
    pub(super) record: Option<Arc<CallRecord>>,
}

impl<S, M> RequestSender<S>
where
    S: futures_core::Stream<Item = M> + Send + 'static,
    M: Message,
{
    /// Encodes `message` and every one the stream already has ready into
    /// `buf`, up to about BATCH_BYTES: `Some(true)` if the stream ended,
    /// `None` if a message could not be encoded (the call is then reset).
    pub(super) fn fill(&mut self, mut message: M, cx: &mut Context<'_>) -> Option<bool> {
        loop {
            let this_one = self
                .compression
                .filter(|_| self.per_message.as_ref().is_none_or(|p| p.get()));
            let before = self.buf.len();
            if let Err(status) = encode_frame_into(
                &message,
                this_one,
                self.max_send,
                &mut self.sizes,
                &mut self.buf,
            ) {
                tracing::debug!(%status, "cannot send a request message; cancelling the call");
                self.body.send_reset(h2::Reason::CANCEL);
                return None;
            }
            if let Some(record) = &self.record {
                record.sent_frame(self.buf.len() - before);
            }
            if self.buf.len() >= BATCH_BYTES {
                return Some(false);
            }
            match self.messages.as_mut().poll_next(cx) {
                Poll::Ready(Some(m)) => message = m,
                Poll::Ready(None) => return Some(true),
                Poll::Pending => return Some(false),
            }
        }
    }

    /// Sends what the stream has ready right now, without waiting: true
    /// when nothing is left to send (the stream ended, or the call failed).
    /// It does not wait for window capacity either: what it sends is one
    /// batch (about BATCH_BYTES), bounded as a unary call's one message is,
    /// and h2 counts it against the window before any later batch gets
    /// capacity.
    pub(super) fn send_ready(&mut self) -> bool {
        // A stream that is not ready is polled again, with the sending task's
        // waker, when that task starts.
        let mut cx = Context::from_waker(Waker::noop());
        let end = match self.messages.as_mut().poll_next(&mut cx) {
            Poll::Pending => return false,
            Poll::Ready(None) => true,
            Poll::Ready(Some(message)) => match self.fill(message, &mut cx) {
                Some(end) => end,
                None => return true,
            },
        };
        self.body.send_data(self.buf.split().freeze(), end).is_err() || end
    }

    /// Sends the rest of the messages, then ends the request stream. Waits
    /// for flow-control capacity, so a slow server slows the producer down.
    pub(super) async fn run(mut self) {
        while let Some(message) = self.messages.next().await {
            // This message and every one the stream already has ready (up to
            // BATCH_BYTES) go out in one DATA frame; the last with END_STREAM.
            let mut first = Some(message);
            let filled = poll_fn(|cx| Poll::Ready(first.take().and_then(|m| self.fill(m, cx))));
            let Some(end) = filled.await else {
                return;
            };
            let batch = self.buf.split().freeze();
            if send_with_capacity(&mut self.body, batch, end)
                .await
                .is_err()
                || end
            {
                return;
            }
        }
        let _ = self.body.send_data(Bytes::new(), true);
    }
}

/// Waits until h2 has written the stream's HEADERS to the connection.
///
/// `send_request` only queues them: the connection's task writes them when
/// it next runs, and a call dropped before that (cancelled by its own
/// request stream, then the program exits) never reaches the server, which
/// is how the interop case `cancel_after_begin` lost its call about one run
/// in four. h2 tells no "written", but it assigns a stream send capacity
/// only once the stream is open, in the same locked step that writes its
/// HEADERS and flushes them: so capacity for one byte, once granted, says
/// the HEADERS went out. The byte is given back. A stream that fails first
/// (reset, connection lost) ends the wait too; the response then says why.
/// So does the response head, which the server sends only for a call it
/// has seen (and which comes first when the connection has no send window
/// left): it is returned then, as the call's response.
pub(super) async fn opened(
    body: &mut h2::SendStream<Bytes>,
    response: &mut h2::client::ResponseFuture,
) -> Option<Result<http::Response<h2::RecvStream>, h2::Error>> {
    if body.capacity() > 0 {
        return None;
    }
    body.reserve_capacity(1);
    let early = tokio::select! {
        biased;
        _ = poll_fn(|cx| body.poll_capacity(cx)) => None,
        head = response => Some(head),
    };
    body.reserve_capacity(0);
    early
}

pin_project_lite::pin_project! {
    /// A client's stream of request messages as an HTTP body, for the
    /// service path: messages are encoded as they are polled, and those the
    /// stream has ready together (up to BATCH_BYTES) go in one chunk.
    pub(super) struct MessagesBody<S> {
        #[pin]
        pub(super) messages: S,
        pub(super) compression: Option<(CompressionEncoding, Option<crate::transport::MessageCompression>)>,
        pub(super) max_send: usize,
        pub(super) sizes: SizeCache,
        pub(super) buf: BytesMut,
        pub(super) done: bool,
        pub(super) record: Option<Arc<CallRecord>>,
    }
}

impl<S> MessagesBody<S> {
    pub(super) fn new(
        messages: S,
        compression: Option<(
            CompressionEncoding,
            Option<crate::transport::MessageCompression>,
        )>,
        max_send: usize,
        record: Option<Arc<CallRecord>>,
    ) -> Self {
        Self {
            messages,
            compression,
            max_send,
            sizes: SizeCache::new(),
            buf: BytesMut::new(),
            done: false,
            record,
        }
    }
}

impl<S, M> http_body::Body for MessagesBody<S>
where
    S: futures_core::Stream<Item = M>,
    M: Message,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let mut this = self.project();
        while !*this.done && this.buf.len() < BATCH_BYTES {
            match this.messages.as_mut().poll_next(cx) {
                Poll::Ready(Some(message)) => {
                    if this.buf.capacity() == 0 {
                        this.buf.reserve(STREAM_BUFFER);
                    }
                    let compression = this.compression.as_ref().and_then(|(c, per_message)| {
                        per_message.as_ref().is_none_or(|p| p.get()).then_some(*c)
                    });
                    let before = this.buf.len();
                    if let Err(status) = encode_frame_into(
                        &message,
                        compression,
                        *this.max_send,
                        this.sizes,
                        this.buf,
                    ) {
                        *this.done = true;
                        this.buf.clear();
                        return Poll::Ready(Some(Err(status)));
                    }
                    if let Some(record) = this.record {
                        record.sent_frame(this.buf.len() - before);
                    }
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }
        if !this.buf.is_empty() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(this.buf.split().freeze()))));
        }
        if *this.done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.buf.is_empty()
    }
}
