//! Request and response wrappers and the conversions client methods accept.

use std::time::Duration;

use super::compression::CompressionEncoding;
use super::metadata::MetadataMap;
use futures_core::Stream;

/// A call's request: the message (or stream of messages) plus metadata and
/// per-call options.
#[derive(Debug)]
pub struct Request<T> {
    pub(crate) metadata: MetadataMap,
    pub(crate) message: T,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<CompressionEncoding>,
}

impl<T> Request<T> {
    /// A request carrying `message` and no metadata.
    pub fn new(message: T) -> Self {
        Self {
            metadata: MetadataMap::new(),
            message,
            timeout: None,
            compression: None,
        }
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// Takes the message out.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// Custom metadata (request headers).
    pub fn metadata(&self) -> &MetadataMap {
        &self.metadata
    }

    /// Custom metadata, to add headers to a call.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.metadata
    }

    /// On the client: fail the call with `DEADLINE_EXCEEDED` (and cancel it)
    /// after `timeout`; the server sees it as `grpc-timeout`. On the server:
    /// the time the client allowed, if it said.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// The timeout, see [`Request::set_timeout`].
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Compresses this call's messages with `encoding` (client side).
    pub fn set_compression(&mut self, encoding: CompressionEncoding) {
        self.compression = Some(encoding);
    }

    /// The compression set with [`Request::set_compression`], or, on the
    /// server, the one the client used.
    pub fn compression(&self) -> Option<CompressionEncoding> {
        self.compression
    }

    /// A request with the same metadata and options carrying `f(message)`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        Request {
            metadata: self.metadata,
            message: f(self.message),
            timeout: self.timeout,
            compression: self.compression,
        }
    }

    pub(crate) fn from_parts(
        metadata: MetadataMap,
        message: T,
        timeout: Option<Duration>,
        compression: Option<CompressionEncoding>,
    ) -> Self {
        Self {
            metadata,
            message,
            timeout,
            compression,
        }
    }
}

/// A call's response: the message (or stream) plus the server's initial
/// metadata and, for calls whose response is one message, its trailing
/// metadata.
#[derive(Debug)]
pub struct Response<T> {
    metadata: MetadataMap,
    message: T,
    trailers: MetadataMap,
    compression: Option<CompressionEncoding>,
}

impl<T> Response<T> {
    /// A response carrying `message`.
    pub fn new(message: T) -> Self {
        Self {
            metadata: MetadataMap::new(),
            message,
            trailers: MetadataMap::new(),
            compression: None,
        }
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// Takes the message out.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// Initial metadata (response headers).
    pub fn metadata(&self) -> &MetadataMap {
        &self.metadata
    }

    /// Initial metadata, mutably (server side: headers to send).
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.metadata
    }

    /// Trailing metadata. On the client, what the server sent with the status
    /// of a call whose response is one message (for streams, see
    /// [`Streaming::trailers`]); on the server, trailers to send.
    pub fn trailers(&self) -> &MetadataMap {
        &self.trailers
    }

    /// Trailing metadata, mutably.
    pub fn trailers_mut(&mut self) -> &mut MetadataMap {
        &mut self.trailers
    }

    /// Server side: compress the response messages with `encoding` when the
    /// client accepts it.
    pub fn set_compression(&mut self, encoding: CompressionEncoding) {
        self.compression = Some(encoding);
    }

    /// The compression set on the response.
    pub fn compression(&self) -> Option<CompressionEncoding> {
        self.compression
    }

    pub(crate) fn into_parts(self) -> (MetadataMap, T, MetadataMap, Option<CompressionEncoding>) {
        (self.metadata, self.message, self.trailers, self.compression)
    }

    pub(crate) fn from_parts(metadata: MetadataMap, message: T, trailers: MetadataMap) -> Self {
        Self {
            metadata,
            message,
            trailers,
            compression: None,
        }
    }
}

/// Anything a unary or server-streaming client method accepts: a message or
/// a [`Request`] around one.
pub trait IntoRequest<T> {
    /// Wraps `self` in a request.
    fn into_request(self) -> Request<T>;
}

impl<T: crate::Message> IntoRequest<T> for T {
    fn into_request(self) -> Request<T> {
        Request::new(self)
    }
}

impl<T: crate::Message> IntoRequest<T> for Request<T> {
    fn into_request(self) -> Request<T> {
        self
    }
}

/// Anything a client-streaming or bidi client method accepts: a stream of
/// messages or a [`Request`] around one.
pub trait IntoStreamingRequest {
    /// The stream.
    type Stream: Stream<Item = Self::Message> + Send + 'static;
    /// Its messages.
    type Message: crate::Message;
    /// Wraps `self` in a request.
    fn into_streaming_request(self) -> Request<Self::Stream>;
}

impl<S, M> IntoStreamingRequest for S
where
    S: Stream<Item = M> + Send + 'static,
    M: crate::Message,
{
    type Stream = S;
    type Message = M;
    fn into_streaming_request(self) -> Request<S> {
        Request::new(self)
    }
}

impl<S, M> IntoStreamingRequest for Request<S>
where
    S: Stream<Item = M> + Send + 'static,
    M: crate::Message,
{
    type Stream = S;
    type Message = M;
    fn into_streaming_request(self) -> Request<S> {
        self
    }
}
