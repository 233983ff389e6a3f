//! The server side: [`Server`] accepts HTTP/2 connections and routes each
//! call, by its path `/package.Service/Method`, to a [`Service`] (the
//! `XServer` wrappers that generated code provides). [`Call`] runs one call
//! for a typed handler: it reads the request, applies the deadline, stops the
//! handler when the client cancels, and writes the response and status.
//!
//! Nothing is shared between calls but the immutable routing table. Each
//! call is first polled on its connection's task; one that does not finish
//! there (it waits for more of its request, a timer, another service...)
//! goes on a task of its own. Calls that finish at once, the usual unary
//! call, so cost no task, and the replies of the calls that arrived together
//! go out together, in one write.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;
use h2::server::SendResponse;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::client::{InFlight, LetOthersFirst, send_with_capacity};
use super::codec::{
    BATCH_BYTES, DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE, STREAM_BUFFER,
    encode_frame, encode_frame_into,
};
use super::compression::{self, CompressionEncoding};
use super::metadata::MetadataMap;
use super::status::{GRPC_STATUS, Status};
use super::streaming::{Role, Streaming};
use super::timeout::parse_timeout;
use super::{Request, Response};
use crate::encoding::SizeCache;
use crate::message::Message;

/// A service the server can route to. Generated `XServer` types implement it.
pub trait Service: Send + Sync + 'static {
    /// The full service name, `package.Service`.
    fn name(&self) -> &'static str;

    /// Runs `call` for `method` (the part of the path after the service),
    /// polled first on the connection's task and then, if it has to wait,
    /// on a task of its own. Unknown methods get `UNIMPLEMENTED`.
    fn call(&self, method: &str, call: Call);
}

/// Limits and options that apply to every call.
#[derive(Clone, Debug)]
struct Config {
    max_recv: usize,
    max_send: usize,
    initial_stream_window: u32,
    initial_connection_window: u32,
    max_concurrent_streams: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
            initial_stream_window: 1 << 20,
            initial_connection_window: 2 << 20,
            max_concurrent_streams: None,
        }
    }
}

/// A gRPC server: add services, then serve on an address or listener.
///
/// ```no_run
/// # async fn run(
/// #     greeter: impl rust_rpc::transport::Service,
/// #     stop: tokio::sync::oneshot::Receiver<()>,
/// # ) -> std::io::Result<()> {
/// use rust_rpc::transport::Server;
/// let addr = "127.0.0.1:50051".parse().expect("a socket address");
/// Server::builder()
///     .add_service(greeter)
///     .serve_with_shutdown(addr, async {
///         let _ = stop.await;
///     })
///     .await
/// # }
/// ```
#[derive(Default)]
pub struct Server {
    services: HashMap<&'static str, Arc<dyn Service>>,
    config: Config,
}

impl Server {
    /// A server with no services.
    pub fn builder() -> Self {
        Self::default()
    }

    /// Routes calls to `service` by its name. A second service of the same
    /// name replaces the first.
    pub fn add_service(mut self, service: impl Service) -> Self {
        self.services.insert(service.name(), Arc::new(service));
        self
    }

    /// Largest request message accepted (default 4 MiB); larger ones fail
    /// with `RESOURCE_EXHAUSTED`.
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.config.max_recv = limit;
        self
    }

    /// Largest response message sent.
    pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
        self.config.max_send = limit;
        self
    }

    /// HTTP/2 flow-control windows: per stream and per connection.
    pub fn flow_control_windows(mut self, stream: u32, connection: u32) -> Self {
        self.config.initial_stream_window = stream;
        self.config.initial_connection_window = connection;
        self
    }

    /// Most calls one connection may have open at once.
    pub fn max_concurrent_streams(mut self, limit: u32) -> Self {
        self.config.max_concurrent_streams = Some(limit);
        self
    }

    /// Serves on `addr` until the process ends.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        self.serve_with_shutdown(addr, std::future::pending()).await
    }

    /// Serves on `addr` until `signal` completes, then shuts down gracefully.
    pub async fn serve_with_shutdown(
        self,
        addr: SocketAddr,
        signal: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_listener(listener, signal).await
    }

    /// Serves connections from `listener` until `signal` completes; then
    /// stops accepting, tells every client to go away (HTTP/2 GOAWAY), and
    /// waits for the calls in flight to finish.
    pub async fn serve_with_listener(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let router = Arc::new(Router {
            services: self.services,
            config: self.config,
        });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut connections = JoinSet::new();
        let mut signal = pin!(signal);
        loop {
            tokio::select! {
                () = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let spawned = Arc::new(AtomicUsize::new(0));
                        connections.spawn(LetOthersFirst::new(
                            serve_connection(tcp, peer, router.clone(), stop_rx.clone(), spawned.clone()),
                            spawned,
                        ));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        let _ = stop_tx.send(true);
        while connections.join_next().await.is_some() {}
        Ok(())
    }
}

struct Router {
    services: HashMap<&'static str, Arc<dyn Service>>,
    config: Config,
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Arc<Router>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    spawned: Arc<AtomicUsize>,
) {
    tcp.set_nodelay(true).ok();
    let mut builder = h2::server::Builder::new();
    builder
        .initial_window_size(router.config.initial_stream_window)
        .initial_connection_window_size(router.config.initial_connection_window);
    if let Some(n) = router.config.max_concurrent_streams {
        builder.max_concurrent_streams(n);
    }
    let mut conn = match builder.handshake::<_, Bytes>(tcp).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "HTTP/2 handshake failed");
            return;
        }
    };
    let mut stopping = *stop.borrow();
    if stopping {
        conn.graceful_shutdown();
    }
    let mut arrived = Vec::new();
    loop {
        tokio::select! {
            next = conn.accept() => match next {
                Some(Ok(call)) => {
                    // Take every call that has already arrived before
                    // starting any: calls that finish at once then have
                    // their replies written together, in one write when
                    // the connection is next polled (each accept flushes).
                    arrived.push(call);
                    let mut ended = false;
                    while !ended {
                        match poll_fn(|cx| Poll::Ready(conn.poll_accept(cx))).await {
                            Poll::Ready(Some(Ok(call))) => arrived.push(call),
                            Poll::Ready(Some(Err(e))) => {
                                tracing::debug!(%peer, error = %e, "connection error");
                                ended = true;
                            }
                            Poll::Ready(None) => ended = true,
                            Poll::Pending => break,
                        }
                    }
                    for (request, respond) in arrived.drain(..) {
                        dispatch(&router, &spawned, request, respond);
                    }
                    if ended {
                        break;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "connection error");
                    break;
                }
                None => break,
            },
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    conn.graceful_shutdown();
                }
            }
        }
    }
}

fn dispatch(
    router: &Arc<Router>,
    spawned: &Arc<AtomicUsize>,
    request: http::Request<h2::RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    if request.method() != http::Method::POST {
        reply_http(&mut respond, StatusCode::METHOD_NOT_ALLOWED);
        return;
    }
    let is_grpc = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct == "application/grpc"
                || ct.starts_with("application/grpc+")
                || ct.starts_with("application/grpc;")
        });
    if !is_grpc {
        tracing::debug!(content_type = ?request.headers().get(CONTENT_TYPE), "not a gRPC request");
        reply_http(&mut respond, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        return;
    }
    let path = request.uri().path();
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.rsplit_once('/')) else {
        reply_status(
            &mut respond,
            &Status::unimplemented(format!("malformed path {path:?}")),
        );
        return;
    };
    let Some(svc) = router.services.get(service) else {
        reply_status(
            &mut respond,
            &Status::unimplemented(format!("unknown service {service}")),
        );
        return;
    };
    // The method name is part of the request, which moves into the call: a
    // copy on the stack (no allocation) serves unless the name is long.
    let mut copy = [0u8; 64];
    let long;
    let method = match copy.get_mut(..method.len()) {
        Some(to) => {
            to.copy_from_slice(method.as_bytes());
            std::str::from_utf8(to).unwrap_or_default()
        }
        None => {
            long = method.to_owned();
            long.as_str()
        }
    };
    let call = Call {
        request,
        respond,
        router: router.clone(),
        spawned: spawned.clone(),
    };
    svc.call(method, call);
}

fn reply_http(respond: &mut SendResponse<Bytes>, status: StatusCode) {
    let mut response = http::Response::new(());
    *response.status_mut() = status;
    let _ = respond.send_response(response, true);
}

/// A trailers-only response: HTTP 200 with the status in the headers.
fn reply_status(respond: &mut SendResponse<Bytes>, status: &Status) {
    let mut response = http::Response::new(());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    // Like every response, so a client whose grpc-encoding was refused
    // learns what it may use. (Status metadata cannot carry it: the key is
    // reserved.)
    response.headers_mut().insert(
        GRPC_ACCEPT_ENCODING.clone(),
        compression::supported_accept_encoding(),
    );
    status.write_headers(response.headers_mut());
    if let Err(e) = respond.send_response(response, true) {
        tracing::debug!(error = %e, "cannot send status");
    }
}

/// One incoming call, handed to a [`Service`]. Generated code calls one of
/// [`Call::unary`], [`Call::server_streaming`], [`Call::client_streaming`],
/// [`Call::streaming`] or [`Call::unimplemented`].
pub struct Call {
    request: http::Request<h2::RecvStream>,
    respond: SendResponse<Bytes>,
    router: Arc<Router>,
    // Calls of this connection running on tasks of their own.
    spawned: Arc<AtomicUsize>,
}

/// What a call learned from its request headers.
struct Head {
    metadata: MetadataMap,
    timeout: Option<Duration>,
    encoding: Option<CompressionEncoding>,
    accepts: Vec<CompressionEncoding>,
}

impl Call {
    /// Answers `UNIMPLEMENTED`: the service has no such method.
    pub fn unimplemented(mut self, method: &str) {
        let status = Status::unimplemented(format!("unknown method {method}"));
        reply_status(&mut self.respond, &status);
    }

    /// Runs a unary handler.
    pub fn unary<Req, Resp, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        F: FnOnce(Request<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        self.run(move |head, mut body: Streaming<Req>| async move {
            let message = match body.message().await? {
                Some(m) => m,
                None => return Err(Status::internal("the request carried no message")),
            };
            if body.message().await?.is_some() {
                return Err(Status::internal(
                    "a unary call carried more than one request message",
                ));
            }
            // For a single message, "compressed" is what that message was.
            let head = head.compressed_if(body.last_message_compressed());
            let response = handler(head.into_request(message)).await?;
            Ok(Reply::One(response))
        });
    }

    /// Runs a server-streaming handler.
    pub fn server_streaming<Req, Resp, S, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        S: Stream<Item = Result<Resp, Status>> + Send + 'static,
        F: FnOnce(Request<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    {
        self.run(move |head, mut body: Streaming<Req>| async move {
            let message = match body.message().await? {
                Some(m) => m,
                None => return Err(Status::internal("the request carried no message")),
            };
            // For a single message, "compressed" is what that message was.
            let head = head.compressed_if(body.last_message_compressed());
            let response = handler(head.into_request(message)).await?;
            Ok(Reply::Stream(response.map_stream()))
        });
    }

    /// Runs a client-streaming handler.
    pub fn client_streaming<Req, Resp, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        F: FnOnce(Request<Streaming<Req>>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        self.run(move |head, body: Streaming<Req>| async move {
            let response = handler(head.into_request(body)).await?;
            Ok(Reply::One(response))
        });
    }

    /// Runs a bidirectional-streaming handler.
    pub fn streaming<Req, Resp, S, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        S: Stream<Item = Result<Resp, Status>> + Send + 'static,
        F: FnOnce(Request<Streaming<Req>>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    {
        self.run(move |head, body: Streaming<Req>| async move {
            let response = handler(head.into_request(body)).await?;
            Ok(Reply::Stream(response.map_stream()))
        });
    }

    /// Parses the request head, runs the handler and writes its reply (see
    /// [`start`] for where).
    fn run<Req, Resp, F, Fut>(self, handler: F)
    where
        Req: Message,
        Resp: Message,
        F: FnOnce(Head, Streaming<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Reply<Resp>, Status>> + Send + 'static,
    {
        let Call {
            request,
            mut respond,
            router,
            spawned,
        } = self;
        start(
            Box::pin(async move {
                let (parts, body) = request.into_parts();
                let head = match Head::parse(parts.headers) {
                    Ok(h) => h,
                    Err(status) => {
                        reply_status(&mut respond, &status);
                        return;
                    }
                };
                let timeout = head.timeout;
                let encoding = head.encoding;
                let accepts = head.accepts.clone();
                let body = Streaming::new(body, encoding, router.config.max_recv, Role::Server);
                let work = handler(head, body);
                // The handler stops (is dropped) when the deadline passes or the
                // client resets the stream, whichever comes first.
                let outcome = {
                    let mut work = pin!(work);
                    let reset = poll_fn(|cx| respond.poll_reset(cx));
                    let deadline = async {
                        match timeout {
                            Some(t) => tokio::time::sleep(t).await,
                            None => std::future::pending().await,
                        }
                    };
                    // The handler first: one that is done at once needs neither
                    // the timer nor a wake-up on reset.
                    tokio::select! {
                        biased;
                        r = &mut work => Some(r),
                        reason = reset => {
                            tracing::debug!(?reason, "client cancelled the call");
                            None
                        }
                        () = deadline => Some(Err(Status::deadline_exceeded("deadline exceeded"))),
                    }
                };
                let Some(outcome) = outcome else { return };
                let reply = match outcome {
                    Ok(reply) => reply,
                    Err(status) => {
                        reply_status(&mut respond, &status);
                        return;
                    }
                };
                if let Err(e) =
                    send_reply(&mut respond, reply, &accepts, &router.config, timeout).await
                {
                    tracing::debug!(error = %e, "cannot send the response");
                }
            }),
            spawned,
        );
    }
}

/// Starts one call: polls it once right here, on the connection's task, and
/// gives it a task of its own only if it has to wait. A handler that finishes
/// at once (a unary call with its request already received, the usual case)
/// so costs no task, and its reply is written together with those of the
/// other calls that arrived with it. What a handler does before its first
/// `.await` that waits therefore runs on the connection's task: a handler
/// with long CPU-bound work should hand it to `spawn_blocking` or another
/// task (as it should anyway, not to hold up a runtime thread).
///
/// The first poll uses a no-op waker: a call that is not done is spawned,
/// and its task polls it again at once, registering real wake-ups. A panic
/// in that first poll ends only this call (its stream is reset when the
/// call is dropped), as it would on a task of its own.
///
/// `spawned` counts the connection's calls that run on tasks of their own,
/// for [`LetOthersFirst`].
fn start(mut call: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>, spawned: Arc<AtomicUsize>) {
    let mut cx = Context::from_waker(Waker::noop());
    let polled =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.as_mut().poll(&mut cx)));
    match polled {
        Ok(Poll::Ready(())) => {}
        Ok(Poll::Pending) => {
            let counted = InFlight::enter(&spawned);
            tokio::spawn(async move {
                let _counted = counted;
                call.await;
            });
        }
        Err(_) => tracing::error!("a handler panicked; its call is reset"),
    }
}

// Looked up on every call: as names, not strings to parse each time.
static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
static GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
static GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");

impl Head {
    fn parse(headers: HeaderMap) -> Result<Self, Status> {
        let timeout = match headers.get(&GRPC_TIMEOUT) {
            None => None,
            Some(v) => Some(
                parse_timeout(v.as_bytes())
                    .map_err(|_| Status::invalid_argument(format!("invalid grpc-timeout {v:?}")))?,
            ),
        };
        let encoding = match headers.get(&GRPC_ENCODING) {
            None => None,
            Some(v) if compression::is_identity(v.as_bytes()) => None,
            Some(v) => match CompressionEncoding::from_header_value(v.as_bytes()) {
                Some(e) => Some(e),
                None => {
                    // The reply says what to use instead, as the spec asks:
                    // every trailers-only reply carries grpc-accept-encoding.
                    return Err(Status::unimplemented(format!(
                        "grpc-encoding {v:?} is not supported"
                    )));
                }
            },
        };
        let accepts = headers
            .get(&GRPC_ACCEPT_ENCODING)
            .map(compression::parse_accept_encoding)
            .unwrap_or_default();
        Ok(Head {
            metadata: MetadataMap::from_headers(headers),
            timeout,
            encoding,
            accepts,
        })
    }

    fn compressed_if(mut self, compressed: bool) -> Self {
        if !compressed {
            self.encoding = None;
        }
        self
    }

    fn into_request<T>(self, message: T) -> Request<T> {
        Request::from_parts(self.metadata, message, self.timeout, self.encoding)
    }
}

/// A handler's response stream, boxed once per call.
type BoxStream<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// A handler's successful result.
enum Reply<T> {
    One(Response<T>),
    Stream(Response<BoxStream<T>>),
}

impl<S> Response<S> {
    fn map_stream<T>(self) -> Response<BoxStream<T>>
    where
        S: Stream<Item = Result<T, Status>> + Send + 'static,
    {
        self.map(|stream| Box::pin(stream) as BoxStream<T>)
    }
}

async fn send_reply<T: Message>(
    respond: &mut SendResponse<Bytes>,
    reply: Reply<T>,
    accepts: &[CompressionEncoding],
    config: &Config,
    timeout: Option<Duration>,
) -> Result<(), h2::Error> {
    let (metadata, trailers, compression) = match &reply {
        Reply::One(r) => (r.metadata(), r.trailers(), r.compression()),
        Reply::Stream(r) => (r.metadata(), r.trailers(), r.compression()),
    };
    // Compress only with an encoding the client said it accepts.
    let compression = compression::response_encoding(compression, accepts);
    let mut head = http::Response::new(());
    let headers = head.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    if let Some(c) = compression {
        headers.insert("grpc-encoding", HeaderValue::from_static(c.as_str()));
    }
    headers.insert(
        GRPC_ACCEPT_ENCODING.clone(),
        compression::supported_accept_encoding(),
    );
    metadata.extend_headers(headers);
    let mut trailer_map = HeaderMap::new();
    trailers.extend_headers(&mut trailer_map);

    let mut sizes = SizeCache::new();
    let mut buf = BytesMut::new();
    match reply {
        Reply::One(response) => {
            let frame = match encode_frame(
                response.get_ref(),
                compression,
                config.max_send,
                &mut sizes,
                &mut buf,
            ) {
                Ok(f) => f,
                Err(status) => {
                    reply_status(respond, &status);
                    return Ok(());
                }
            };
            let mut body = respond.send_response(head, false)?;
            // One message: bounded, so no need to wait for window capacity.
            body.send_data(frame, false)?;
            // What `Status::ok().write_headers` writes, without building it.
            trailer_map.insert(
                HeaderName::from_static(GRPC_STATUS),
                HeaderValue::from_static("0"),
            );
            body.send_trailers(trailer_map)
        }
        Reply::Stream(mut response) => {
            buf.reserve(STREAM_BUFFER);
            let mut body = respond.send_response(head, false)?;
            let deadline = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            let mut deadline = pin!(deadline);
            let status = loop {
                // While the stream has nothing to send, a client that resets
                // (cancels, or goes away) must still end the call: the
                // stream, and whatever it holds, is dropped at once instead of
                // at its next message. Biased: the reset check (which takes
                // h2's connection lock) runs only when the stream must wait.
                let mut next = tokio::select! {
                    biased;
                    next = response.get_mut().next() => next,
                    () = &mut deadline => break Status::deadline_exceeded("deadline exceeded"),
                    reason = poll_fn(|cx| body.poll_reset(cx)) => {
                        tracing::debug!(?reason, "client cancelled the streaming call");
                        return Ok(());
                    }
                };
                // This message and every one the stream already has ready
                // (up to BATCH_BYTES) go out in one DATA frame.
                let end = loop {
                    match next {
                        Some(Ok(message)) => {
                            let this_one = compression.filter(|_| response.compress_next());
                            if let Err(status) = encode_frame_into(
                                &message,
                                this_one,
                                config.max_send,
                                &mut sizes,
                                &mut buf,
                            ) {
                                break Some(status);
                            }
                        }
                        Some(Err(status)) => break Some(status),
                        None => break Some(Status::ok()),
                    }
                    if buf.len() >= BATCH_BYTES {
                        break None;
                    }
                    match poll_fn(|cx| Poll::Ready(response.get_mut().poll_next_unpin(cx))).await {
                        Poll::Ready(n) => next = n,
                        Poll::Pending => break None,
                    }
                };
                if !buf.is_empty() {
                    send_with_capacity(&mut body, buf.split().freeze(), false).await?;
                }
                if let Some(status) = end {
                    break status;
                }
            };
            status.write_headers(&mut trailer_map);
            body.send_trailers(trailer_map)
        }
    }
}
