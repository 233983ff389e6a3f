//! Request and response wrappers and the conversions client methods accept.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::cancel::CancelHandle;
use super::compression::CompressionEncoding;
use super::metadata::MetadataMap;
use super::observe::CallRecord;
use super::peer::PeerInfo;
use futures_core::Stream;
use http::uri::PathAndQuery;

/// A call's request: the message (or stream of messages) plus metadata and
/// per-call options.
#[derive(Debug)]
pub struct Request<T> {
    pub(crate) metadata: MetadataMap,
    pub(crate) message: T,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<CompressionEncoding>,
    pub(crate) per_message: Option<MessageCompression>,
    pub(crate) cancel: Option<CancelHandle>,
    pub(crate) extensions: http::Extensions,
    pub(crate) peer: Option<Arc<PeerInfo>>,
    pub(crate) path: Option<PathAndQuery>,
    /// A watched client call's record, that its sending counts into (see
    /// [`observe`](super::observe)).
    pub(crate) record: Option<Arc<CallRecord>>,
}

impl<T> Request<T> {
    /// A request carrying `message` and no metadata.
    pub fn new(message: T) -> Self {
        Self {
            metadata: MetadataMap::new(),
            message,
            timeout: None,
            compression: None,
            per_message: None,
            cancel: None,
            extensions: http::Extensions::new(),
            peer: None,
            path: None,
            record: None,
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

    /// Values attached to the call, by type: on a server, what its
    /// interceptors put there for the handler (an authenticated user, say);
    /// on a client, what interceptors and tower layers pass along. They are
    /// never sent.
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// The call's extensions, mutably: `extensions_mut().insert(user)`.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.extensions
    }

    /// On a server: who the call's connection is from (address, TLS
    /// identity); `None` on a client.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_deref()
    }

    /// On a server: the client's address, for TCP connections.
    pub fn remote_addr(&self) -> Option<std::net::SocketAddr> {
        self.peer.as_ref().and_then(|p| p.addr())
    }

    /// On a server: the certificate chain (leaf first, DER) the client
    /// presented in its TLS handshake, for mTLS; `None` without TLS or
    /// without a client certificate.
    #[cfg(feature = "tls")]
    pub fn peer_certificates(&self) -> Option<&[rustls::pki_types::CertificateDer<'static>]> {
        let certs = self.peer.as_ref()?.tls()?.peer_certificates();
        (!certs.is_empty()).then_some(certs)
    }

    /// The call's path, `/package.Service/Method`: on a server, and on a
    /// client in its interceptors.
    pub fn path(&self) -> Option<&str> {
        self.path.as_ref().map(PathAndQuery::path)
    }

    /// A request with the same metadata and options carrying `f(message)`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        let (head, message) = self.split_message();
        head.with_message(f(message))
    }

    /// Client side, for streaming requests: a handle that switches
    /// compression per message on top of [`Request::set_compression`]; see
    /// [`MessageCompression`].
    pub fn message_compression(&mut self) -> MessageCompression {
        self.per_message
            .get_or_insert_with(|| MessageCompression(Arc::new(AtomicBool::new(true))))
            .clone()
    }

    /// Client side: a handle that cancels this call from outside it; see
    /// [`CancelHandle`].
    pub fn cancel_handle(&mut self) -> CancelHandle {
        self.cancel
            .get_or_insert_with(CancelHandle::default)
            .clone()
    }

    /// The request without its message, and the message.
    pub(crate) fn split_message(self) -> (Request<()>, T) {
        let Request {
            metadata,
            message,
            timeout,
            compression,
            per_message,
            cancel,
            extensions,
            peer,
            path,
            record,
        } = self;
        let head = Request {
            metadata,
            message: (),
            timeout,
            compression,
            per_message,
            cancel,
            extensions,
            peer,
            path,
            record,
        };
        (head, message)
    }
}

impl Request<()> {
    /// This head of a request (everything but the message) with `message`.
    pub(crate) fn with_message<U>(self, message: U) -> Request<U> {
        let Request {
            metadata,
            message: (),
            timeout,
            compression,
            per_message,
            cancel,
            extensions,
            peer,
            path,
            record,
        } = self;
        Request {
            metadata,
            message,
            timeout,
            compression,
            per_message,
            cancel,
            extensions,
            peer,
            path,
            record,
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
    per_message: Option<MessageCompression>,
}

/// Turns compression on and off for each message of a stream, on top of the
/// call's compression ([`Request::set_compression`] on a client,
/// [`Response::set_compression`] on a server): the value when a message is
/// sent applies to that message. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MessageCompression(Arc<AtomicBool>);

impl MessageCompression {
    /// Compress the messages sent from now on (`true`, the default) or not.
    pub fn set(&self, compress: bool) {
        self.0.store(compress, Ordering::Relaxed);
    }

    /// Whether the next message is compressed.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl<T> Response<T> {
    /// A response carrying `message`.
    pub fn new(message: T) -> Self {
        Self {
            metadata: MetadataMap::new(),
            message,
            trailers: MetadataMap::new(),
            compression: None,
            per_message: None,
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
    /// [`Streaming::trailers`](super::Streaming::trailers)); on the server, trailers to send.
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

    /// The compression set on the response. On the client, for a call whose
    /// response is one message: the encoding that message arrived
    /// compressed with, `None` if it came uncompressed.
    pub fn compression(&self) -> Option<CompressionEncoding> {
        self.compression
    }

    /// A handle that switches compression per message of a streaming
    /// response; see [`MessageCompression`].
    pub fn message_compression(&mut self) -> MessageCompression {
        self.per_message
            .get_or_insert_with(|| MessageCompression(Arc::new(AtomicBool::new(true))))
            .clone()
    }

    /// Whether the next message is to be compressed (when a compression is set).
    pub(crate) fn compress_next(&self) -> bool {
        self.per_message
            .as_ref()
            .is_none_or(MessageCompression::get)
    }

    /// The same response (metadata, trailers, compression) around `f(message)`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            metadata: self.metadata,
            message: f(self.message),
            trailers: self.trailers,
            compression: self.compression,
            per_message: self.per_message,
        }
    }

    pub(crate) fn from_parts(metadata: MetadataMap, message: T, trailers: MetadataMap) -> Self {
        Self {
            metadata,
            message,
            trailers,
            compression: None,
            per_message: None,
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
