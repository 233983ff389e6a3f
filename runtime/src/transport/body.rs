//! [`Body`]: the HTTP body of a gRPC request or response (length-prefixed
//! messages in DATA frames, then trailers), as an [`http_body::Body`] so that
//! tower services and layers, hyper and axum can carry it.
//!
//! A body is one of a few shapes, kept in a private enum so that the common
//! ones cost no allocation:
//!
//! ```text
//!   Empty                      no frames at all
//!   Full    (data?, trailers?) what a unary call sends: one chunk, maybe trailers
//!   H2      (h2::RecvStream)   what came off our own HTTP/2 connection
//!   Dyn     (boxed body)       anything else: a stream of messages being
//!                              encoded, or a body some other layer made
//! ```

use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::any::Any;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Frame, SizeHint};

use super::shared::{AbortOnDrop, InFlight};
use super::status::Status;

/// What a tower service may fail with: any error, converted to a [`Status`]
/// where this crate needs one (see [`status_from_error`]).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The body of a gRPC request or response: DATA frames carrying
/// length-prefixed messages, then (for a response) trailers with the status.
///
/// It is what [`Channel`](super::Channel) returns as a tower service and
/// what the server's [`Routes`](super::server::Routes) take and return.
/// Build one from bytes (`Body::from(bytes)`), from any other
/// [`http_body::Body`] with [`Body::new`], or empty with [`Body::empty`].
/// Errors are [`Status`]es.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Full {
        data: Option<Bytes>,
        trailers: Option<HeaderMap>,
    },
    H2 {
        recv: h2::RecvStream,
        phase: Phase,
        // Client side, when the request body is being sent by a task of its
        // own: stopped once nothing reads the response any more.
        sender: Option<AbortOnDrop>,
        // Client side: counts the call as in progress on its channel.
        _in_flight: Option<InFlight>,
    },
    // The mutex only makes the body `Sync` (so that a `Streaming` over it is,
    // as it was before bodies could be anything); polling goes through
    // `get_mut`, which never locks.
    Dyn(Mutex<DynBody>),
}

type DynBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = Status> + Send + 'static>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Data,
    Trailers,
    Done,
}

impl Body {
    /// A body with no frames.
    pub fn empty() -> Self {
        Self { kind: Kind::Empty }
    }

    /// Wraps any body whose data is [`Bytes`]; its errors become
    /// [`Status`]es (see [`status_from_error`]). A `Body` passed in is
    /// returned as it is, not wrapped again.
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        // Already ours (the usual case when a layer passes the body
        // through): no second box.
        let mut slot = Some(body);
        if let Some(ours) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Body>>() {
            if let Some(body) = ours.take() {
                return body;
            }
        }
        match slot {
            Some(inner) => Self::boxed(MapErr { inner }),
            None => Self::empty(),
        }
    }

    /// One chunk of data, then `trailers` if any.
    pub(crate) fn full(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self {
            kind: Kind::Full {
                data: Some(data),
                trailers,
            },
        }
    }

    pub(crate) fn boxed(
        body: impl http_body::Body<Data = Bytes, Error = Status> + Send + 'static,
    ) -> Self {
        Self {
            kind: Kind::Dyn(Mutex::new(Box::pin(body))),
        }
    }

    /// The body of a stream received on our HTTP/2 connection. Flow-control
    /// capacity is given back as each chunk is handed out, so a reader that
    /// does not read holds the peer back.
    pub(crate) fn h2(recv: h2::RecvStream) -> Self {
        Self {
            kind: Kind::H2 {
                recv,
                phase: Phase::Data,
                sender: None,
                _in_flight: None,
            },
        }
    }

    /// A response body on a client's connection, which stops the task
    /// sending the request body when dropped and counts the call meanwhile.
    pub(crate) fn h2_client(
        recv: h2::RecvStream,
        sender: Option<AbortOnDrop>,
        in_flight: InFlight,
    ) -> Self {
        Self {
            kind: Kind::H2 {
                recv,
                phase: Phase::Data,
                sender,
                _in_flight: Some(in_flight),
            },
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for Body {
    fn from(data: Bytes) -> Self {
        Self::full(data, None)
    }
}

impl core::fmt::Debug for Body {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Full { .. } => "full",
            Kind::H2 { .. } => "h2",
            Kind::Dyn(_) => "boxed",
        };
        f.debug_struct("Body").field("kind", &kind).finish()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match &mut self.get_mut().kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full { data, trailers } => {
                if let Some(data) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t))))
            }
            Kind::H2 {
                recv,
                phase,
                sender,
                ..
            } => {
                let polled = poll_h2(recv, phase, cx);
                if let Poll::Ready(None | Some(Err(_))) = &polled {
                    // Done: nothing left to send for. (A request still being
                    // sent after the server answered is of no use.)
                    sender.take();
                }
                polled
            }
            Kind::Dyn(body) => body
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
                .poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full { data, trailers } => data.is_none() && trailers.is_none(),
            Kind::H2 { recv, phase, .. } => match phase {
                Phase::Data => recv.is_end_stream(),
                Phase::Trailers => false,
                Phase::Done => true,
            },
            Kind::Dyn(body) => body
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full { data, .. } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::H2 { .. } => SizeHint::default(),
            Kind::Dyn(body) => body
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .size_hint(),
        }
    }
}

fn poll_h2(
    recv: &mut h2::RecvStream,
    phase: &mut Phase,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
    if *phase == Phase::Data {
        match ready!(recv.poll_data(cx)) {
            Some(Ok(data)) => {
                // The bytes are the reader's now; let the peer send more.
                let _ = recv.flow_control().release_capacity(data.len());
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            Some(Err(e)) => {
                *phase = Phase::Done;
                return Poll::Ready(Some(Err(Status::from(e))));
            }
            None => *phase = Phase::Trailers,
        }
    }
    if *phase == Phase::Trailers {
        let trailers = ready!(recv.poll_trailers(cx));
        *phase = Phase::Done;
        return Poll::Ready(match trailers {
            Ok(Some(t)) => Some(Ok(Frame::trailers(t))),
            Ok(None) => None,
            Err(e) => Some(Err(Status::from(e))),
        });
    }
    Poll::Ready(None)
}

pin_project_lite::pin_project! {
    /// A foreign body with its errors turned into [`Status`]es.
    struct MapErr<B> {
        #[pin]
        inner: B,
    }
}

impl<B> http_body::Body for MapErr<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match ready!(self.project().inner.poll_frame(cx)) {
            None => Poll::Ready(None),
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            Some(Err(e)) => Poll::Ready(Some(Err(status_from_error(e.into())))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Turns any error into a [`Status`]: a `Status` anywhere in its chain of
/// sources is used as it is (a layer such as tower's `Buffer` wraps the
/// errors of the service inside); an I/O error maps as it would off the
/// connection; anything else is `UNKNOWN` with the error's text.
pub fn status_from_error(error: BoxError) -> Status {
    let error = match error.downcast::<Status>() {
        Ok(status) => return *status,
        Err(other) => other,
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*error);
    while let Some(e) = source {
        if let Some(status) = e.downcast_ref::<Status>() {
            return status.clone();
        }
        source = e.source();
    }
    match error.downcast::<std::io::Error>() {
        Ok(io) => Status::from(*io),
        Err(other) => Status::unknown(other.to_string()),
    }
}
