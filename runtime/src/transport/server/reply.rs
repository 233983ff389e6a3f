//! Replies: the response a call makes of its handler's result (head, a body
//! that encodes the messages, trailers with the status), and the one writer
//! that puts a response onto an HTTP/2 stream, whether it comes from a
//! call or from the server's tower layers.
//!
//! ```text
//!   Reply::One(message)   -> ReplyBody::One: the frame, then trailers
//!   Reply::Stream(stream) -> ReplyBody::Stream: the messages ready together
//!                            (up to BATCH_BYTES) per chunk, then trailers
//!   Err(status)           -> trailers-only: the status in the head
//!
//!   write(stream, http::Response<B>): head, each chunk as the client's
//!   flow control allows, trailers; stops when the client resets
//! ```

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use h2::server::SendResponse;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use tokio::time::{Instant, Sleep};

use super::super::body::Body;
use super::super::codec::{BATCH_BYTES, STREAM_BUFFER, encode_frame_into, encode_sized_frame};
use super::super::compression::{self, CompressionEncoding};
use super::super::shared::send_with_capacity;
use super::super::status::{GRPC_STATUS, Status};
use super::super::{MetadataMap, Response};
use crate::encoding::SizeCache;
use crate::message::Message;

pub(super) static GRPC_ACCEPT_ENCODING: HeaderName =
    HeaderName::from_static("grpc-accept-encoding");
static GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");

/// A reply message this large or larger is encoded on tokio's blocking
/// pool, not on the runtime's workers: encoding it (a 4 MiB message of small
/// fields takes milliseconds) would otherwise hold up the other calls of its
/// connection, and the other tasks queued on that worker. Below it, moving
/// the work costs more than doing it.
const ENCODE_ON_BLOCKING_POOL_BYTES: usize = 256 * 1024;

/// A handler's response stream, boxed once per call.
pub(super) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// A handler's successful result.
pub(super) enum Reply<T> {
    One(Response<T>),
    Stream(Response<BoxStream<T>>),
}

impl<T> Reply<T> {
    pub(super) fn stream<S>(response: Response<S>) -> Self
    where
        S: Stream<Item = Result<T, Status>> + Send + 'static,
    {
        Reply::Stream(response.map(|stream| Box::pin(stream) as BoxStream<T>))
    }

    fn parts(&self) -> (&MetadataMap, &MetadataMap, Option<CompressionEncoding>) {
        match self {
            Reply::One(r) => (r.metadata(), r.trailers(), r.compression()),
            Reply::Stream(r) => (r.metadata(), r.trailers(), r.compression()),
        }
    }
}

/// The head of a trailers-only response: HTTP 200 with the status in it.
pub(super) fn status_head(status: &Status) -> http::Response<()> {
    let mut head = http::Response::new(());
    let headers = head.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    // Like every response, so a client whose grpc-encoding was refused
    // learns what it may use. (Status metadata cannot carry it: the key is
    // reserved.)
    headers.insert(
        GRPC_ACCEPT_ENCODING.clone(),
        compression::supported_accept_encoding(),
    );
    status.write_headers(headers);
    head
}

/// The head of an answer to a request that is not gRPC at all.
pub(super) fn http_error_head(code: StatusCode) -> http::Response<()> {
    let mut head = http::Response::new(());
    *head.status_mut() = code;
    head
}

/// A trailers-only response with `status`, as `http` types.
pub(super) fn status_response(status: &Status) -> http::Response<Body> {
    status_head(status).map(|()| Body::empty())
}

/// A trailers-only response with `status`, typed as a call's.
pub(super) fn status<T>(status: &Status) -> http::Response<ReplyBody<T>> {
    status_head(status).map(|()| ReplyBody::Empty)
}

/// Makes the response for a handler's result: the head with the response's
/// metadata, then a body that encodes its message or messages (compressed
/// only with an encoding the client accepts) and ends with its trailers and
/// the status. A message too large to send fails the call with
/// `RESOURCE_EXHAUSTED`.
pub(super) async fn respond<T: Message>(
    reply: Reply<T>,
    accepts: &[CompressionEncoding],
    max_send: usize,
    deadline: Option<Instant>,
    budget: Option<Budget<'_>>,
) -> http::Response<ReplyBody<T>> {
    let (metadata, trailers, compression) = reply.parts();
    let compression = compression::response_encoding(compression, accepts);
    let mut head = http::Response::new(());
    let headers = head.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    if let Some(c) = compression {
        headers.insert(GRPC_ENCODING.clone(), HeaderValue::from_static(c.as_str()));
    }
    headers.insert(
        GRPC_ACCEPT_ENCODING.clone(),
        compression::supported_accept_encoding(),
    );
    metadata.extend_headers(headers);
    let mut trailer_map = HeaderMap::new();
    trailers.extend_headers(&mut trailer_map);
    let body = match reply {
        Reply::One(response) => {
            let message = response.into_inner();
            let mut sizes = SizeCache::new();
            let len = message.compute_size(&mut sizes);
            let encode = move || {
                let mut buf = BytesMut::new();
                encode_sized_frame(&message, len, compression, max_send, &sizes, &mut buf)
                    .map(|()| buf.freeze())
            };
            let frame = if len >= ENCODE_ON_BLOCKING_POOL_BYTES {
                // Counted against the connection's budget while it is
                // encoded: replies a client leaves unread must not pile up
                // in the blocking pool, each with its message and its
                // encoding, before the budget is asked.
                let _held = match budget {
                    Some(budget) => match budget.hold(len) {
                        Some(held) => Some(held),
                        None => return self::status(&budget.exhausted(len)),
                    },
                    None => None,
                };
                tokio::task::spawn_blocking(encode)
                    .await
                    .unwrap_or_else(|e| Err(Status::internal(format!("encoding failed: {e}"))))
            } else {
                encode()
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(status) => return self::status(&status),
            };
            // What `Status::ok().write_headers` writes, without building it.
            trailer_map.insert(
                HeaderName::from_static(GRPC_STATUS),
                HeaderValue::from_static("0"),
            );
            ReplyBody::One {
                frame: Some(frame),
                trailers: Some(trailer_map),
            }
        }
        Reply::Stream(response) => ReplyBody::Stream(Box::new(MessageStream {
            response,
            compression,
            max_send,
            sizes: SizeCache::new(),
            buf: BytesMut::new(),
            deadline,
            timer: None,
            trailers: Some(trailer_map),
            end: None,
        })),
    };
    head.map(|()| body)
}

/// The body of a call's response.
pub(super) enum ReplyBody<T> {
    /// Nothing after the head: a trailers-only response, or an HTTP error.
    Empty,
    /// One encoded message, then the trailers (`grpc-status: 0` among them).
    One {
        frame: Option<Bytes>,
        trailers: Option<HeaderMap>,
    },
    /// A handler's stream of messages, encoded as they come.
    Stream(Box<MessageStream<T>>),
}

impl<T: Message> ReplyBody<T> {
    /// As the type-erased [`Body`], for [`Routes`](super::Routes): boxed
    /// only for a stream.
    pub(super) fn into_body(self) -> Body {
        match self {
            ReplyBody::Empty => Body::empty(),
            ReplyBody::One {
                frame: Some(frame),
                trailers,
            } => Body::full(frame, trailers),
            stream => Body::boxed(stream),
        }
    }
}

impl<T: Message> http_body::Body for ReplyBody<T> {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        match self.get_mut() {
            ReplyBody::Empty => Poll::Ready(None),
            ReplyBody::One { frame, trailers } => {
                if let Some(frame) = frame.take() {
                    return Poll::Ready(Some(Ok(http_body::Frame::data(frame))));
                }
                Poll::Ready(trailers.take().map(|t| Ok(http_body::Frame::trailers(t))))
            }
            ReplyBody::Stream(stream) => stream.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReplyBody::Empty => true,
            ReplyBody::One { frame, trailers } => frame.is_none() && trailers.is_none(),
            ReplyBody::Stream(stream) => stream.trailers.is_none(),
        }
    }
}

/// A streaming reply: messages encoded as the handler's stream yields them
/// (those ready together, up to [`BATCH_BYTES`], in one chunk: one DATA
/// frame, one wake-up of the connection), then trailers with the status.
/// The call's deadline ends it with `DEADLINE_EXCEEDED`.
pub(super) struct MessageStream<T> {
    response: Response<BoxStream<T>>,
    compression: Option<CompressionEncoding>,
    max_send: usize,
    sizes: SizeCache,
    buf: BytesMut,
    deadline: Option<Instant>,
    // Made when first polled with a deadline.
    timer: Option<Pin<Box<Sleep>>>,
    // Taken when sent: the body is over.
    trailers: Option<HeaderMap>,
    // The status to end with, once what is buffered is out.
    end: Option<Status>,
}

impl<T: Message> MessageStream<T> {
    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        if self.trailers.is_none() {
            return Poll::Ready(None);
        }
        if self.end.is_none() {
            if let Some(at) = self.deadline {
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if timer.as_mut().poll(cx).is_ready() {
                    self.end = Some(Status::deadline_exceeded("deadline exceeded"));
                }
            }
        }
        // Every message the stream has ready goes into this chunk, in one
        // synchronous poll.
        while self.end.is_none() && self.buf.len() < BATCH_BYTES {
            match self.response.get_mut().as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(message))) => {
                    if self.buf.capacity() == 0 {
                        self.buf.reserve(STREAM_BUFFER);
                    }
                    let compression = self.compression.filter(|_| self.response.compress_next());
                    if let Err(status) = encode_frame_into(
                        &message,
                        compression,
                        self.max_send,
                        &mut self.sizes,
                        &mut self.buf,
                    ) {
                        self.end = Some(status);
                    }
                }
                Poll::Ready(Some(Err(status))) => self.end = Some(status),
                Poll::Ready(None) => self.end = Some(Status::ok()),
                Poll::Pending => break,
            }
        }
        if !self.buf.is_empty() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(self.buf.split().freeze()))));
        }
        match (self.end.take(), self.trailers.take()) {
            (Some(status), Some(mut trailers)) => {
                status.write_headers(&mut trailers);
                Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
            }
            (end, trailers) => {
                self.end = end;
                self.trailers = trailers;
                Poll::Pending
            }
        }
    }
}

/// A connection's budget of reply bytes waiting for the client's window.
#[derive(Clone, Copy)]
pub(super) struct Budget<'a> {
    pub(super) unsent: &'a Arc<AtomicUsize>,
    pub(super) limit: usize,
}

impl<'a> Budget<'a> {
    /// Why a reply of `len` bytes is not sent.
    fn exhausted(&self, len: usize) -> Status {
        Status::resource_exhausted(format!(
            "a reply of {len} bytes is not sent: over {} bytes of replies on this \
             connection already wait for the client to read them",
            self.limit
        ))
    }

    /// Counts `len` bytes as waiting, unless that takes the connection past
    /// its limit while other bytes already wait; the bytes stop counting
    /// when the guard is dropped.
    fn hold(&self, len: usize) -> Option<Held<'a>> {
        let before = self.unsent.fetch_add(len, Ordering::Relaxed);
        if before > 0 && before.saturating_add(len) > self.limit {
            self.unsent.fetch_sub(len, Ordering::Relaxed);
            return None;
        }
        Some(Held {
            unsent: self.unsent,
            len,
        })
    }
}

/// Bytes counted as waiting, until dropped.
struct Held<'a> {
    unsent: &'a AtomicUsize,
    len: usize,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.unsent.fetch_sub(self.len, Ordering::Relaxed);
    }
}

/// Sends a response that has nothing after its head (END_STREAM on the
/// HEADERS frame).
pub(super) fn send_head_only(respond: &mut SendResponse<Bytes>, head: http::Response<()>) {
    if let Err(e) = respond.send_response(head, true) {
        tracing::debug!(error = %e, "cannot send the response");
    }
}

/// Writes `response` onto its HTTP/2 stream: the head (with END_STREAM if
/// the body is empty: a trailers-only response), each chunk of the body as
/// the client's flow control allows, then the trailers. An error the body
/// ends with goes out as the status in the trailers. Stops when the client
/// resets the stream; while the body has nothing ready, that reset drops
/// the body (and the handler's stream in it) at once.
///
/// A reply still waiting for the client's window at the call's `deadline`
/// is dropped and its stream reset (`RST_STREAM(CANCEL)`, as gRPC ends a
/// call past its deadline): a client that never reads holds the server's
/// memory no longer than its deadline. Bytes that would take the
/// connection past its `budget` of waiting bytes are not kept: the call
/// ends with `RESOURCE_EXHAUSTED` in the trailers.
pub(super) async fn write<B>(
    respond: &mut SendResponse<Bytes>,
    response: http::Response<B>,
    deadline: Option<Instant>,
    budget: Budget<'_>,
) where
    B: http_body::Body<Data = Bytes, Error = Status> + Unpin,
{
    if let Err(e) = write_body(respond, response, deadline, budget).await {
        tracing::debug!(error = %e, "cannot send the response");
    }
}

async fn write_body<B>(
    respond: &mut SendResponse<Bytes>,
    response: http::Response<B>,
    deadline: Option<Instant>,
    budget: Budget<'_>,
) -> Result<(), h2::Error>
where
    B: http_body::Body<Data = Bytes, Error = Status> + Unpin,
{
    let (parts, mut body) = response.into_parts();
    let head = http::Response::from_parts(parts, ());
    if body.is_end_stream() {
        return respond.send_response(head, true).map(drop);
    }
    let mut out = respond.send_response(head, false)?;
    loop {
        // The reset check (which takes h2's connection lock) only when the
        // body must wait.
        let frame = poll_fn(|cx| match Pin::new(&mut body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(Ok(frame)),
            Poll::Pending => out.poll_reset(cx).map(Err),
        })
        .await;
        let frame = match frame {
            Ok(frame) => frame,
            Err(reason) => {
                tracing::debug!(?reason, "client cancelled the call");
                return Ok(());
            }
        };
        match frame {
            None => return out.send_data(Bytes::new(), true),
            Some(Err(status)) => {
                // Too late for a status in the headers: end with it in the
                // trailers instead.
                let mut trailers = HeaderMap::new();
                status.write_headers(&mut trailers);
                return out.send_trailers(trailers);
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    let end = body.is_end_stream();
                    let Some(_held) = budget.hold(data.len()) else {
                        tracing::debug!(
                            bytes = data.len(),
                            "the connection's client leaves too many reply bytes unread"
                        );
                        let mut trailers = HeaderMap::new();
                        budget.exhausted(data.len()).write_headers(&mut trailers);
                        return out.send_trailers(trailers);
                    };
                    let sent = send_with_capacity(&mut out, data, end);
                    match deadline {
                        None => sent.await?,
                        // The data first: sent at once, it needs no timer.
                        Some(at) => tokio::select! {
                            biased;
                            sent = sent => sent?,
                            () = tokio::time::sleep_until(at) => {
                                tracing::debug!("deadline passed while the reply waited for the client's window");
                                out.send_reset(h2::Reason::CANCEL);
                                return Ok(());
                            }
                        },
                    }
                    if end {
                        return Ok(());
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        return out.send_trailers(trailers);
                    }
                }
            },
        }
    }
}
