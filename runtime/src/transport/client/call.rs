//! [`Client`]: the four kinds of call, run straight on a channel or through
//! a tower service, with deadlines, metadata, compression and size limits.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Uri};
use http_body::Body as _;
use tracing::Instrument;

use super::watch::ConnState;

use super::channel::{Channel, Live};
use super::requests::{MessagesBody, RequestSender, opened};
use super::{add_call_headers, base_headers};
use crate::encoding::SizeCache;
use crate::message::Message;
use crate::transport::body::{Body, BoxError};
use crate::transport::boxed::SharedService;
use crate::transport::cancel::CancelHandle;
use crate::transport::codec::{
    DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE, STREAM_BUFFER, encode_frame,
};
use crate::transport::compression::{self, CompressionEncoding};
use crate::transport::intercept::{Interceptor, Interceptors};
use crate::transport::metadata::MetadataMap;
use crate::transport::observe::{CallRecord, Observer, Observers};
use crate::transport::shared::{AbortOnDrop, InFlight};
use crate::transport::status::Status;
use crate::transport::streaming::{Role, Streaming};
use crate::transport::{IntoRequest, IntoStreamingRequest, Request, Response};

/// Per-client options and the call machinery generated clients use.
///
/// A client runs either straight on a [`Channel`] ([`Client::new`], the fast
/// path) or through any tower service ([`Client::with_service`], so that
/// layers apply). Everything else (deadlines, metadata, compression, size
/// limits, status and trailers) works the same both ways.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    compression: Option<CompressionEncoding>,
    max_recv: usize,
    max_send: usize,
    timeout: Option<Duration>,
    interceptors: Interceptors,
    observers: Observers,
}

#[derive(Clone)]
enum Transport {
    Channel {
        channel: Channel,
        // This client's copy of the connection's sender: calls use it
        // without touching the channel's lock.
        send: Option<Live>,
    },
    Service {
        service: SharedService,
        base_headers: HeaderMap,
    },
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Client");
        match &self.transport {
            Transport::Channel { channel, .. } => d.field("channel", channel),
            Transport::Service { .. } => d.field("service", &"tower service"),
        };
        d.field("compression", &self.compression)
            .field("max_decoding_message_size", &self.max_recv)
            .field("max_encoding_message_size", &self.max_send)
            .field("timeout", &self.timeout)
            .field("interceptors", &self.interceptors)
            .field("observers", &self.observers)
            .finish()
    }
}

/// Everything one call needs once the request headers are out.
struct Started {
    response: h2::client::ResponseFuture,
    body: h2::SendStream<Bytes>,
    compression: Option<CompressionEncoding>,
    in_flight: InFlight,
    record: Option<Arc<CallRecord>>,
}

impl Client {
    /// A client on `channel`: calls go straight onto its connection.
    pub fn new(channel: Channel) -> Self {
        Self {
            timeout: channel.shared.endpoint.timeout,
            observers: channel.shared.endpoint.observers.clone(),
            transport: Transport::Channel {
                channel,
                send: None,
            },
            compression: None,
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
            interceptors: Interceptors::default(),
        }
    }

    /// A client whose calls go through `service`: usually a [`Channel`]
    /// wrapped in tower layers, as in
    /// `Client::with_service(ServiceBuilder::new().layer(l).service(channel))`.
    ///
    /// Each call becomes one `http::Request<Body>` with method `POST`, a URI
    /// of just the path (`/package.Service/Method`), the gRPC headers
    /// (`content-type`, `te`, `grpc-timeout`, `grpc-encoding`, metadata...)
    /// and a body of length-prefixed messages; the response is read as from
    /// a channel. The service's errors, and its body's, become [`Status`]es
    /// (a `Status` inside an error is kept, see [`status_from_error`](crate::transport::status_from_error)).
    /// Requests and responses are boxed on this path; [`Client::new`] stays
    /// the one without.
    pub fn with_service<S, B>(service: S) -> Self
    where
        S: tower_service::Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self {
            transport: Transport::Service {
                service: SharedService::new(service),
                base_headers: base_headers(),
            },
            compression: None,
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
            timeout: None,
            interceptors: Interceptors::default(),
            observers: Observers::default(),
        }
    }

    /// A timeout for every call that does not set its own (by default the
    /// channel's [`Endpoint::timeout`](super::Endpoint::timeout), none through a service).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs `interceptor` before every call of this client (and of its
    /// clones made after this): it gets the call's
    /// [`Request<()>`](crate::transport::Request) (metadata, path, timeout) and returns
    /// it, with metadata added (credentials, say), or fails the call with a
    /// status. It runs within the call's deadline; the deadline itself is
    /// fixed when the call is made. Added interceptors run in order. See
    /// [`intercept`](crate::transport::intercept).
    pub fn with_interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors = self.interceptors.then(interceptor);
        self
    }

    /// Tells `observer` of every call of this client (and of its clones
    /// made after this), after the observers of its channel's
    /// [`Endpoint::observer`](super::Endpoint::observer): see [`observe`](crate::transport::observe).
    pub fn with_observer(mut self, observer: impl Observer) -> Self {
        self.observers = self.observers.then(observer);
        self
    }

    /// The record of a call to `path`, if anything watches it: `request`
    /// then carries it (and, with the `otel` feature, the call span's
    /// trace context in its metadata).
    fn watch<T>(&self, path: &'static str, request: &mut Request<T>) -> Option<Arc<CallRecord>> {
        let (target, authority) = match &self.transport {
            Transport::Channel { channel, .. } => {
                let endpoint = &channel.shared.endpoint;
                (Some(&endpoint.target), Some(endpoint.authority.as_str()))
            }
            Transport::Service { .. } => (None, None),
        };
        let record = CallRecord::client(path, target, authority, &self.observers)?;
        #[cfg(feature = "otel")]
        crate::otel::propagate::inject(record.span(), &mut request.metadata);
        request.record = Some(record.clone());
        Some(record)
    }

    /// `request` after this client's interceptors.
    async fn intercept<T>(
        &self,
        request: Request<T>,
        path: &'static str,
    ) -> Result<Request<T>, Status> {
        let (mut head, message) = request.split_message();
        head.path = Some(PathAndQuery::from_static(path));
        let head = self.interceptors.run(head).await?;
        Ok(head.with_message(message))
    }

    /// Compresses every request of this client with `encoding` (calls may
    /// still choose otherwise).
    pub fn send_compressed(mut self, encoding: CompressionEncoding) -> Self {
        self.compression = Some(encoding);
        self
    }

    /// Largest response message accepted (default 4 MiB); larger ones fail
    /// the call with `RESOURCE_EXHAUSTED`.
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.max_recv = limit;
        self
    }

    /// Largest request message sent; larger ones fail with `RESOURCE_EXHAUSTED`.
    pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
        self.max_send = limit;
        self
    }

    /// Opens a stream for `path` on the channel and sends the request headers.
    async fn start<T>(
        &mut self,
        path: &'static str,
        request: &Request<T>,
    ) -> Result<Started, Status> {
        let compression = request.compression.or(self.compression);
        let timeout = request.timeout.or(self.timeout);
        let Transport::Channel { channel, send } = &mut self.transport else {
            return Err(Status::internal("a service client has no channel"));
        };
        let mut req = http::Request::new(());
        *req.method_mut() = Method::POST;
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(channel.shared.endpoint.scheme.clone());
        parts.authority = Some(channel.shared.endpoint.authority.clone());
        parts.path_and_query = Some(PathAndQuery::from_static(path));
        *req.uri_mut() = Uri::from_parts(parts)
            .map_err(|e| Status::internal(format!("invalid path {path:?}: {e}")))?;
        let headers = req.headers_mut();
        headers.clone_from(&channel.shared.base_headers);
        add_call_headers(headers, timeout, compression, &request.metadata);
        let (response, body, in_flight) = channel.start_call(send, req, false).await?;
        Ok(Started {
            response,
            body,
            compression,
            in_flight,
            record: request.record.clone(),
        })
    }

    /// Runs a call through the client's service: sends `body` with the
    /// headers of `request`, then checks the response head.
    async fn call_service<T, Resp: Message>(
        &mut self,
        path: &'static str,
        request: &Request<T>,
        compression: Option<CompressionEncoding>,
        body: Body,
    ) -> Result<(MetadataMap, Streaming<Resp>), Status> {
        let timeout = request.timeout.or(self.timeout);
        let max_recv = self.max_recv;
        let Transport::Service {
            service,
            base_headers,
        } = &mut self.transport
        else {
            return Err(Status::internal("a channel client has no service"));
        };
        let mut req = http::Request::new(body);
        *req.method_mut() = Method::POST;
        *req.uri_mut() = Uri::from_parts({
            let mut parts = http::uri::Parts::default();
            parts.path_and_query = Some(PathAndQuery::from_static(path));
            parts
        })
        .map_err(|e| Status::internal(format!("invalid path {path:?}: {e}")))?;
        let headers = req.headers_mut();
        headers.clone_from(base_headers);
        add_call_headers(headers, timeout, compression, &request.metadata);
        let response = service.ready_call(req).await?;
        parse_response(response, None, request.record.clone(), max_recv)
    }

    /// Sends a request of one message and waits for the response head.
    async fn send_single<Req: Message, Resp: Message>(
        &mut self,
        path: &'static str,
        request: &Request<Req>,
    ) -> Result<(MetadataMap, Streaming<Resp>), Status> {
        if let Transport::Service { .. } = self.transport {
            // Boxed, so that the direct path's future does not grow.
            return Box::pin(async {
                let compression = request.compression.or(self.compression);
                let frame = self.encode(&request.message, compression)?;
                if let Some(record) = &request.record {
                    record.sent_frame(frame.len());
                }
                self.call_service(path, request, compression, Body::from(frame))
                    .await
            })
            .await;
        }
        // Twice at most: a call the server refused unprocessed (its GOAWAY
        // named a lower last stream) never ran, so it is sent again, once,
        // on a new connection (gRFC A6's transparent retry).
        let mut retried = false;
        loop {
            let started = self.start(path, request).await?;
            let frame = self.encode(&request.message, started.compression)?;
            if let (Some(record), false) = (&request.record, retried) {
                record.sent_frame(frame.len());
            }
            match self.send_one::<Resp>(started, frame).await {
                Ok(answer) => return Ok(answer),
                Err((status, true)) if !retried => {
                    tracing::debug!(path, %status, "call refused by GOAWAY; sent again on a new connection");
                    retried = true;
                }
                Err((status, _)) => return Err(status),
            }
        }
    }

    /// Waits for the response headers and checks that they are gRPC's.
    async fn response_head<R: Message>(
        &self,
        response: h2::client::ResponseFuture,
        in_flight: InFlight,
        record: Option<Arc<CallRecord>>,
    ) -> Result<(MetadataMap, Streaming<R>), Status> {
        let response = response.await.map_err(Status::from)?;
        parse_response(
            response.map(Body::h2),
            Some(in_flight),
            record,
            self.max_recv,
        )
    }

    fn encode<M: Message>(
        &self,
        message: &M,
        compression: Option<CompressionEncoding>,
    ) -> Result<Bytes, Status> {
        encode_frame(
            message,
            compression,
            self.max_send,
            &mut SizeCache::new(),
            &mut BytesMut::new(),
        )
    }

    /// Sends the only request message, then waits for the response head.
    /// A failure comes with whether the server refused the call unprocessed
    /// (a GOAWAY named a lower last stream), so that it may be sent again.
    async fn send_one<Resp: Message>(
        &self,
        mut started: Started,
        frame: Bytes,
    ) -> Result<(MetadataMap, Streaming<Resp>), (Status, bool)> {
        let answered = if let Err(e) = started.body.send_data(frame, true) {
            // A server may answer, and close the stream, before it reads the
            // request (an unknown service is UNIMPLEMENTED at once); then the
            // send fails, and the answer, already received, is the result.
            let answer =
                self.response_head::<Resp>(started.response, started.in_flight, started.record);
            futures_util::FutureExt::now_or_never(answer).unwrap_or_else(|| Err(Status::from(e)))
        } else {
            self.response_head::<Resp>(started.response, started.in_flight, started.record)
                .await
        };
        answered.map_err(|status| {
            // The connection the call went on is the cached one; the
            // stream's id costs a lock, so it is asked only after a GOAWAY.
            let refused = self.connection_state().is_some_and(|conn| {
                conn.saw_goaway() && conn.refused(u32::from(started.body.stream_id()))
            });
            (status, refused)
        })
    }

    /// What the watch of the connection this client last called on saw.
    fn connection_state(&self) -> Option<&ConnState> {
        match &self.transport {
            Transport::Channel {
                send: Some((_, _, state)),
                ..
            } => Some(state),
            _ => None,
        }
    }

    /// A unary call: one request, one response.
    pub async fn unary<Req: Message, Resp: Message>(
        &mut self,
        request: impl IntoRequest<Req>,
        path: &'static str,
    ) -> Result<Response<Resp>, Status> {
        let mut request = request.into_request();
        let record = self.watch(path, &mut request);
        let timeout = request.timeout.or(self.timeout);
        if !self.interceptors.is_empty() || record.is_some() {
            // Boxed, so that calls nothing intercepts or watches do not
            // carry this branch's state in theirs.
            let cancel = request.cancel.clone();
            let call = async {
                let request = match self.interceptors.is_empty() {
                    true => request,
                    false => self.intercept(request, path).await?,
                };
                let (metadata, mut stream) = self.send_single::<Req, Resp>(path, &request).await?;
                single_response(metadata, &mut stream).await
            };
            let call = with_deadline(timeout, cancel.as_ref(), call);
            return Box::pin(watched(record, true, call)).await;
        }
        let call = async {
            let (metadata, mut stream) = self.send_single::<Req, Resp>(path, &request).await?;
            single_response(metadata, &mut stream).await
        };
        with_deadline(timeout, request.cancel.as_ref(), call).await
    }

    /// A server-streaming call: one request, a stream of responses.
    pub async fn server_streaming<Req: Message, Resp: Message>(
        &mut self,
        request: impl IntoRequest<Req>,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status> {
        let mut request = request.into_request();
        let record = self.watch(path, &mut request);
        let timeout = request.timeout.or(self.timeout);
        let deadline = timeout.map(|t| Box::pin(tokio::time::sleep(t)));
        let cancel = request.cancel.clone();
        let (metadata, stream) = if self.interceptors.is_empty() && record.is_none() {
            let call = self.send_single::<Req, Resp>(path, &request);
            with_deadline(timeout, cancel.as_ref(), call).await?
        } else {
            // Boxed, as in `unary`. The response stream ends the record.
            let call = async {
                let request = match self.interceptors.is_empty() {
                    true => request,
                    false => self.intercept(request, path).await?,
                };
                self.send_single::<Req, Resp>(path, &request).await
            };
            let call = with_deadline(timeout, cancel.as_ref(), call);
            Box::pin(watched(record, false, call)).await?
        };
        Ok(Response::from_parts(
            metadata,
            stream.with_deadline(deadline).with_cancel(cancel),
            MetadataMap::new(),
        ))
    }

    /// A client-streaming call: a stream of requests, one response.
    pub async fn client_streaming<R: IntoStreamingRequest, Resp: Message>(
        &mut self,
        request: R,
        path: &'static str,
    ) -> Result<Response<Resp>, Status> {
        let mut request = request.into_streaming_request();
        match self.watch(path, &mut request) {
            None => self.client_streaming_call::<R, Resp>(request, path).await,
            Some(record) => {
                let call = self.client_streaming_call::<R, Resp>(request, path);
                Box::pin(watched(Some(record), true, call)).await
            }
        }
    }

    async fn client_streaming_call<R: IntoStreamingRequest, Resp: Message>(
        &mut self,
        request: Request<R::Stream>,
        path: &'static str,
    ) -> Result<Response<Resp>, Status> {
        let timeout = request.timeout.or(self.timeout);
        let cancel = request.cancel.clone();
        let call = async {
            // Boxed, so that calls without interceptors do not carry
            // the interception's state in theirs.
            let request = match self.interceptors.is_empty() {
                true => request,
                false => Box::pin(self.intercept(request, path)).await?,
            };
            let (metadata, mut stream) = self
                .start_streaming::<R::Stream, R::Message, Resp>(request, path)
                .await?;
            single_response(metadata, &mut stream).await
        };
        with_deadline(timeout, cancel.as_ref(), call).await
    }

    /// A bidirectional streaming call.
    pub async fn streaming<R: IntoStreamingRequest, Resp: Message>(
        &mut self,
        request: R,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status> {
        let mut request = request.into_streaming_request();
        match self.watch(path, &mut request) {
            None => self.streaming_call::<R, Resp>(request, path).await,
            Some(record) => {
                let call = self.streaming_call::<R, Resp>(request, path);
                Box::pin(watched(Some(record), false, call)).await
            }
        }
    }

    async fn streaming_call<R: IntoStreamingRequest, Resp: Message>(
        &mut self,
        request: Request<R::Stream>,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status> {
        let timeout = request.timeout.or(self.timeout);
        let deadline = timeout.map(|t| Box::pin(tokio::time::sleep(t)));
        let cancel = request.cancel.clone();
        let call = async {
            // Boxed, so that calls without interceptors do not carry
            // the interception's state in theirs.
            let request = match self.interceptors.is_empty() {
                true => request,
                false => Box::pin(self.intercept(request, path)).await?,
            };
            self.start_streaming::<R::Stream, R::Message, Resp>(request, path)
                .await
        };
        let (metadata, stream) = with_deadline(timeout, cancel.as_ref(), call).await?;
        Ok(Response::from_parts(
            metadata,
            stream.with_deadline(deadline).with_cancel(cancel),
            MetadataMap::new(),
        ))
    }

    /// Starts a call whose requests come from a stream: a task sends them
    /// while the caller reads responses.
    async fn start_streaming<S, M, Resp>(
        &mut self,
        request: Request<S>,
        path: &'static str,
    ) -> Result<(MetadataMap, Streaming<Resp>), Status>
    where
        S: futures_core::Stream<Item = M> + Send + 'static,
        M: Message,
        Resp: Message,
    {
        if let Transport::Service { .. } = self.transport {
            let compression = request.compression.or(self.compression);
            let (head, messages) = request.split_message();
            let body = Body::boxed(MessagesBody::new(
                messages,
                compression.map(|c| (c, head.per_message.clone())),
                self.max_send,
                head.record.clone(),
            ));
            return Box::pin(self.call_service(path, &head, compression, body)).await;
        }
        let mut started = self.start(path, &request).await?;
        // The request stream is the caller's code: what it does when first
        // polled (cancel the call, say, and exit) must find the call
        // started on the wire, not just queued in h2.
        let early = opened(&mut started.body, &mut started.response).await;
        let mut sender = RequestSender {
            messages: Box::pin(request.message),
            body: started.body,
            compression: started.compression,
            per_message: request.per_message,
            max_send: self.max_send,
            sizes: SizeCache::new(),
            buf: BytesMut::with_capacity(STREAM_BUFFER),
            record: started.record.clone(),
        };
        // The messages the stream has ready now go out from this task, right
        // behind the headers: the connection then writes them together (a
        // server sees the whole call in one read and can answer it at once),
        // and a stream that ends there (a client-streaming call of ready
        // messages) needs no task of its own. As a task would, a panic in the
        // stream ends only the request side (the stream is reset).
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sender.send_ready()))
            .unwrap_or_else(|_| {
                tracing::error!("a request stream panicked; its call is reset");
                sender.body.send_reset(h2::Reason::CANCEL);
                true
            });
        let task = (!done).then(|| tokio::spawn(sender.run()));
        // Until the response stream owns the sender, stop it if the call
        // fails or is dropped (deadline, cancel): it holds the request side
        // of the HTTP/2 stream open, and with it the server's handler.
        let mut guard = AbortOnDrop(task.as_ref().map(|t| t.abort_handle()));
        let (metadata, stream) = match early {
            // The server answered before the stream had send capacity.
            Some(head) => {
                let head = head.map_err(Status::from)?;
                parse_response(
                    head.map(Body::h2),
                    Some(started.in_flight),
                    started.record,
                    self.max_recv,
                )?
            }
            None => {
                self.response_head::<Resp>(started.response, started.in_flight, started.record)
                    .await?
            }
        };
        guard.0 = None;
        Ok(match task {
            Some(task) => (metadata, stream.with_sender(task.abort_handle())),
            None => (metadata, stream),
        })
    }
}

/// Checks that a response head is gRPC's and makes the stream of its
/// messages. `in_flight` counts the call on its channel until the stream ends.
fn parse_response<R: Message>(
    response: http::Response<Body>,
    in_flight: Option<InFlight>,
    record: Option<Arc<CallRecord>>,
    max_recv: usize,
) -> Result<(MetadataMap, Streaming<R>), Status> {
    let (parts, body) = response.into_parts();
    if parts.status != http::StatusCode::OK {
        return Err(Status::from_headers(&parts.headers)
            .unwrap_or_else(|| Status::from_http_status(parts.status)));
    }
    // Trailers-only: the status is in the headers and there is no body.
    // An OK one ends a stream of no responses (which a call expecting
    // one response then reports).
    if let Some(status) = Status::from_headers(&parts.headers) {
        if status.code() != crate::transport::Code::Ok {
            return Err(status);
        }
        if body.is_end_stream() {
            let trailers = MetadataMap::from_headers(parts.headers);
            let stream = Streaming::new(body, None, max_recv, Role::Client).recording(record);
            return Ok((MetadataMap::new(), stream.ended(trailers)));
        }
    }
    let is_grpc = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"));
    if !is_grpc {
        return Err(Status::unknown(format!(
            "response has content-type {:?}, not application/grpc",
            parts.headers.get(CONTENT_TYPE)
        )));
    }
    let encoding = match parts.headers.get("grpc-encoding") {
        None => None,
        Some(v) if compression::is_identity(v.as_bytes()) => None,
        Some(v) => Some(
            CompressionEncoding::from_header_value(v.as_bytes()).ok_or_else(|| {
                Status::internal(format!("server used unsupported grpc-encoding {v:?}"))
            })?,
        ),
    };
    let metadata = MetadataMap::from_headers(parts.headers);
    let stream = Streaming::new(body, encoding, max_recv, Role::Client).recording(record);
    Ok((
        metadata,
        match in_flight {
            Some(counted) => stream.counting(counted),
            None => stream,
        },
    ))
}

/// Reads exactly one response message and the final status.
async fn single_response<R: Message>(
    metadata: MetadataMap,
    stream: &mut Streaming<R>,
) -> Result<Response<R>, Status> {
    // The call's result, not the stream's end, is the status to record:
    // a stream that ends OK without its one message fails the call.
    stream.leave_end_to_caller();
    let Some(message) = stream.message().await? else {
        return Err(Status::internal("server sent no response message"));
    };
    let compression = stream
        .encoding()
        .filter(|_| stream.last_message_compressed());
    if stream.message().await?.is_some() {
        return Err(Status::internal(
            "server sent more than one response message",
        ));
    }
    let trailers = stream.take_trailers().unwrap_or_default();
    let mut response = Response::from_parts(metadata, message, trailers);
    if let Some(c) = compression {
        response.set_compression(c);
    }
    Ok(response)
}

pin_project_lite::pin_project! {
    /// A call under watch: it runs in its record's span, and its result ends
    /// the record if it failed, or on success too if `ends` (a call whose
    /// response is one message; else the response stream ends it). A
    /// struct, not an `async fn`: that would hold the call's future twice
    /// over (as its argument, and in what it awaits), and the call's future
    /// is most of a call's state, copied whole when boxed.
    struct WatchedCall<F> {
        #[pin]
        call: tracing::instrument::Instrumented<F>,
        record: Option<Arc<CallRecord>>,
        ends: bool,
    }
}

/// `call` watched by `record`, if there is one (else just run as it is).
fn watched<F>(record: Option<Arc<CallRecord>>, ends: bool, call: F) -> WatchedCall<F> {
    let span = record
        .as_ref()
        .map_or_else(tracing::Span::none, |r| r.span().clone());
    WatchedCall {
        call: call.instrument(span),
        record,
        ends,
    }
}

impl<F, T> Future for WatchedCall<F>
where
    F: Future<Output = Result<T, Status>>,
{
    type Output = Result<T, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.call.poll(cx));
        if let Some(record) = this.record.take() {
            match &result {
                Err(status) => record.end_with(status),
                Ok(_) if *this.ends => record.end(crate::transport::Code::Ok, ""),
                Ok(_) => {}
            }
        }
        Poll::Ready(result)
    }
}

/// Runs `call`, failing with `DEADLINE_EXCEEDED` when `timeout` passes first,
/// or with `CANCELLED` when `cancel` is cancelled first. Dropping the call's
/// streams then resets them, which tells the server.
async fn with_deadline<T>(
    timeout: Option<Duration>,
    cancel: Option<&CancelHandle>,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    let Some(cancel) = cancel else {
        return with_timeout(timeout, call).await;
    };
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(CancelHandle::status()),
        r = with_timeout(timeout, call) => r,
    }
}

async fn with_timeout<T>(
    timeout: Option<Duration>,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    match timeout {
        None => call.await,
        // No time at all: the deadline has passed before the call could
        // start, so it does not start (the timer would let it run once,
        // and send its HEADERS, before it fired).
        Some(t) if t.is_zero() => Err(Status::deadline_exceeded(
            "a deadline of zero passed before the call started",
        )),
        Some(t) => match tokio::time::timeout(t, call).await {
            Ok(r) => r,
            Err(_) => Err(Status::deadline_exceeded(format!(
                "deadline of {t:?} exceeded"
            ))),
        },
    }
}
