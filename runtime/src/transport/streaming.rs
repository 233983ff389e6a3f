//! [`Streaming`]: the messages coming from the peer on one call.

use core::future::Future as _;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::future::poll_fn;
use std::sync::Arc;

use futures_core::Stream;
use http_body::Body as _;
use tokio::task::AbortHandle;
use tokio::time::Sleep;

use super::body::Body;
use super::cancel::CancelHandle;
use super::codec::FrameReader;
use super::compression::CompressionEncoding;
use super::metadata::MetadataMap;
use super::observe::CallRecord;
use super::shared::InFlight;
use super::status::{Code, GRPC_STATUS, Status};
use crate::message::Message;

/// Which end of the call is reading: a client expects the server's
/// trailers (and the final status in them); a server just sees the end of
/// the request stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
}

#[derive(Debug)]
enum State {
    Data,
    Done,
}

/// A stream of messages from the peer: the responses of a server-streaming
/// or bidi call on the client, the requests of a client-streaming or bidi
/// call on the server.
///
/// Read it with [`Streaming::message`] or as a [`Stream`]. A client sees
/// the call's final non-OK status as an `Err` item, then the end. Messages
/// are only read from the connection as they are asked for, so a slow reader
/// holds the peer back through HTTP/2 flow control instead of buffering.
pub struct Streaming<T> {
    body: Body,
    reader: FrameReader,
    encoding: Option<CompressionEncoding>,
    max_message_size: usize,
    role: Role,
    state: State,
    trailers: Option<MetadataMap>,
    last_compressed: bool,
    deadline: Option<Pin<Box<Sleep>>>,
    // The deadline's timer has been polled once, so it fires by itself.
    deadline_armed: bool,
    cancel: Option<CancelHandle>,
    // Aborts the task sending our side of the call when this is dropped or
    // the call ends badly.
    sender: Option<AbortHandle>,
    // Counts the call as in progress on its channel until it ends (client).
    in_flight: Option<InFlight>,
    // A watched call's record: what arrives is counted into it, and a
    // client's stream ends it with the call's status.
    record: Option<Arc<CallRecord>>,
    // Whether the stream's end ends the record (a client's, unless the
    // caller keeps that for itself).
    record_ends: bool,
    _message: PhantomData<fn() -> T>,
}

impl<T> core::fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Streaming")
            .field("role", &self.role)
            .field("state", &self.state)
            .finish()
    }
}

impl<T> Drop for Streaming<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.abort();
        }
    }
}

impl<T: Message> Streaming<T> {
    pub(crate) fn new(
        body: Body,
        encoding: Option<CompressionEncoding>,
        max_message_size: usize,
        role: Role,
    ) -> Self {
        Self {
            body,
            reader: FrameReader::new(),
            encoding,
            max_message_size,
            role,
            state: State::Data,
            trailers: None,
            last_compressed: false,
            deadline: None,
            deadline_armed: false,
            cancel: None,
            sender: None,
            in_flight: None,
            record: None,
            record_ends: role == Role::Client,
            _message: PhantomData,
        }
    }

    pub(crate) fn with_deadline(mut self, deadline: Option<Pin<Box<Sleep>>>) -> Self {
        self.deadline = deadline;
        self
    }

    /// A stream that has already ended OK with `trailers`: a client's view
    /// of a Trailers-Only response.
    pub(crate) fn ended(mut self, trailers: MetadataMap) -> Self {
        self.trailers = Some(trailers);
        self.finish();
        self
    }

    /// Counts the call as in progress until the stream ends or is dropped.
    pub(crate) fn counting(mut self, in_flight: InFlight) -> Self {
        self.in_flight = Some(in_flight);
        self
    }

    /// Counts what arrives into `record`, if the call is watched; on a
    /// client, the stream's end also ends the call there.
    pub(crate) fn recording(mut self, record: Option<Arc<CallRecord>>) -> Self {
        self.record = record;
        self
    }

    /// Leaves ending the record to the caller, which knows the call's
    /// result (a call whose response is one message).
    pub(crate) fn leave_end_to_caller(&mut self) {
        self.record_ends = false;
    }

    pub(crate) fn with_cancel(mut self, cancel: Option<CancelHandle>) -> Self {
        self.cancel = cancel;
        self
    }

    pub(crate) fn with_sender(mut self, sender: AbortHandle) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The next message, `Ok(None)` at the end, or the call's error status.
    pub async fn message(&mut self) -> Result<Option<T>, Status> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
            .await
            .transpose()
    }

    /// Whether the message most recently returned arrived compressed.
    pub fn last_message_compressed(&self) -> bool {
        self.last_compressed
    }

    /// The encoding compressed messages arrive in, if the peer chose one.
    pub(crate) fn encoding(&self) -> Option<CompressionEncoding> {
        self.encoding
    }

    /// The trailing metadata the server sent, once the stream has ended
    /// (client side only).
    pub fn trailers(&self) -> Option<&MetadataMap> {
        self.trailers.as_ref()
    }

    /// Takes the trailing metadata out, for a call that is done with the
    /// stream.
    pub(crate) fn take_trailers(&mut self) -> Option<MetadataMap> {
        self.trailers.take()
    }

    /// The end of the stream: OK unless [`Streaming::fail`] says otherwise.
    fn finish(&mut self) {
        if let Some(record) = self.record.take() {
            if self.record_ends {
                record.end(Code::Ok, "");
            }
        }
        self.in_flight = None;
        self.state = State::Done;
        self.deadline = None;
        self.cancel = None;
    }

    fn fail(&mut self, status: Status) -> Poll<Option<Result<T, Status>>> {
        if let Some(record) = self.record.take() {
            if self.record_ends {
                record.end_with(&status);
            }
        }
        self.finish();
        if let Some(sender) = self.sender.take() {
            sender.abort();
        }
        Poll::Ready(Some(Err(status)))
    }

    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Status>>> {
        loop {
            match self.state {
                State::Done => return Poll::Ready(None),
                State::Data => {
                    match self.reader.next_message(
                        self.encoding,
                        self.max_message_size,
                        // In place on the client only: a server reading its
                        // requests that way measured slower overall
                        // (client-stream 1.51x tonic -> 1.33x: its tokio
                        // workers park more and the client's CPU per op rises).
                        self.role == Role::Client,
                        &mut self.last_compressed,
                    ) {
                        Ok(Some(m)) => {
                            if let Some(record) = &self.record {
                                record.received_message();
                            }
                            return Poll::Ready(Some(Ok(m)));
                        }
                        Ok(None) => {}
                        Err(status) => return self.fail(status),
                    }
                    let frame = match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                        Some(Ok(frame)) => frame,
                        Some(Err(status)) => return self.fail(status),
                        None => {
                            if !self.reader.is_empty() {
                                return self.fail(Status::internal(
                                    "stream ended in the middle of a message",
                                ));
                            }
                            if self.role == Role::Server {
                                self.finish();
                                return Poll::Ready(None);
                            }
                            return self.fail(Status::internal(
                                "server closed the stream without a status",
                            ));
                        }
                    };
                    let trailers = match frame.into_data() {
                        Ok(chunk) => {
                            if let Some(record) = &self.record {
                                record.received_bytes(chunk.len());
                            }
                            self.reader.push(chunk);
                            continue;
                        }
                        Err(frame) => match frame.into_trailers() {
                            Ok(trailers) => trailers,
                            // A kind of frame gRPC does not use.
                            Err(_) => continue,
                        },
                    };
                    if !self.reader.is_empty() {
                        return self
                            .fail(Status::internal("stream ended in the middle of a message"));
                    }
                    if self.role == Role::Server {
                        // A client's trailers mean nothing to gRPC.
                        self.finish();
                        return Poll::Ready(None);
                    }
                    // The usual end, OK, without building a Status for it.
                    if trailers
                        .get(GRPC_STATUS)
                        .is_some_and(|v| v.as_bytes() == b"0")
                    {
                        self.trailers = Some(MetadataMap::from_headers(trailers));
                        self.finish();
                        return Poll::Ready(None);
                    }
                    let status = Status::from_headers(&trailers);
                    self.trailers = Some(MetadataMap::from_headers(trailers));
                    return match status {
                        Some(s) if s.code() == Code::Ok => {
                            self.finish();
                            Poll::Ready(None)
                        }
                        Some(s) => self.fail(s),
                        None => {
                            self.fail(Status::internal("server's trailers carry no grpc-status"))
                        }
                    };
                }
            }
        }
    }
}

impl<T: Message> Stream for Streaming<T> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if matches!(this.state, State::Done) {
            return Poll::Ready(None);
        }
        // Cheap checks on every message; the wake-ups are registered only
        // when the stream is about to wait (and the timer once at the start,
        // so that it runs at all), not once per message.
        if this.deadline.as_ref().is_some_and(|d| d.is_elapsed()) {
            return this.fail(Status::deadline_exceeded("deadline exceeded"));
        }
        if this.cancel.as_ref().is_some_and(CancelHandle::is_cancelled) {
            return this.fail(CancelHandle::status());
        }
        if !this.deadline_armed {
            this.deadline_armed = true;
            if let Some(deadline) = &mut this.deadline {
                if deadline.as_mut().poll(cx).is_ready() {
                    return this.fail(Status::deadline_exceeded("deadline exceeded"));
                }
            }
        }
        let next = this.poll_message(cx);
        if next.is_ready() {
            return next;
        }
        if let Some(deadline) = &mut this.deadline {
            if deadline.as_mut().poll(cx).is_ready() {
                return this.fail(Status::deadline_exceeded("deadline exceeded"));
            }
        }
        if let Some(cancel) = &this.cancel {
            if cancel.poll_cancelled(cx).is_ready() {
                return this.fail(CancelHandle::status());
            }
        }
        Poll::Pending
    }
}
