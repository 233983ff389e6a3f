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
//!
//! With tower, the same routing table is a service ([`Routes`], from
//! [`Server::into_service`]) from `http::Request<B>` to
//! `http::Response<Body>`, and [`Server::layer`] wraps it in tower layers:
//!
//! ```text
//!   no layer:   h2 stream --> route --> XServer --> Call writes to h2 directly
//!   layers:     h2 stream --> http::Request<Body> --> layers --> Routes
//!                 --> XServer --> Call returns http::Response<Body> --> h2
//! ```
//!
//! Calls without layers keep the direct path: no boxing per call.

use std::collections::HashMap;
use std::convert::Infallible;
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
use http_body::Body as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::body::{Body, BoxError};
use super::boxed::{BoxFuture, SharedService};
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

/// Default for [`Server::max_concurrent_streams`].
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 200;

/// Default for [`Server::max_header_list_size`]: 16 KiB.
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;

/// Default for [`Server::max_pending_accept_reset_streams`].
pub const DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;

/// Default for [`Server::max_local_error_reset_streams`].
pub const DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

/// Limits and options that apply to every call.
#[derive(Clone, Debug)]
struct Config {
    max_recv: usize,
    max_send: usize,
    initial_stream_window: u32,
    initial_connection_window: u32,
    max_concurrent_streams: u32,
    max_header_list_size: u32,
    max_pending_accept_reset_streams: usize,
    max_local_error_reset_streams: usize,
    /// Every call on a task of its own from the start (see [`start`]).
    spawn_every_call: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
            initial_stream_window: 1 << 20,
            initial_connection_window: 2 << 20,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            max_pending_accept_reset_streams: DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS,
            max_local_error_reset_streams: DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS,
            spawn_every_call: false,
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
    // Each wraps the routes in one tower layer; the first added is outermost.
    layers: Vec<Box<dyn FnOnce(Routes) -> Routes + Send>>,
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

    /// Most calls one connection may have open at once (default
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`], 200), advertised to the client as
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`; a stream over it is refused
    /// (`RST_STREAM(REFUSED_STREAM)`, which gRPC clients retry). gRPC clients
    /// queue calls past the limit rather than fail them, so it costs a
    /// well-behaved client only waiting, while without it one connection can
    /// hold thousands of idle streams, each with its handler and buffers.
    ///
    /// grpc-go's default is unlimited (`MaxConcurrentStreams`,
    /// `math.MaxUint32`); 200 is hyper's (so tonic's) default, above the 100
    /// that RFC 9113 asks an endpoint not to go under, and well above what
    /// one client usually multiplexes on a connection. `u32::MAX` means no
    /// limit.
    pub fn max_concurrent_streams(mut self, limit: u32) -> Self {
        self.config.max_concurrent_streams = limit;
        self
    }

    /// Largest request header list accepted, counted as HTTP/2 does (each
    /// field's name and value plus 32 bytes), default
    /// [`DEFAULT_MAX_HEADER_LIST_SIZE`] (16 KiB); advertised as
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`. A call whose headers decode to more
    /// is refused (HTTP 431 and `RST_STREAM`) without its fields being
    /// kept, so the limit bounds what headers cost however well HPACK
    /// compressed them; one past four times the limit ends the connection
    /// (`GOAWAY(ENHANCE_YOUR_CALM)`).
    ///
    /// 16 KiB is gRPC C core's hard limit (`GRPC_ARG_MAX_METADATA_SIZE`: it
    /// starts refusing some calls past 8 KiB and all past 16 KiB) and
    /// hyper's default, so any call a C core server takes fits. grpc-go's
    /// default is 16 MiB (`MaxHeaderListSize`), h2's alone too: a peer can
    /// then make the server decode and hold megabytes per call.
    pub fn max_header_list_size(mut self, limit: u32) -> Self {
        self.config.max_header_list_size = limit;
        self
    }

    /// How many streams a client may open and reset before the server has
    /// taken them up, at once, before the connection is ended with
    /// `GOAWAY(ENHANCE_YOUR_CALM)`: the bound on an unpaced "rapid reset"
    /// (CVE-2023-44487), HEADERS and RST_STREAM sent in bursts. Default
    /// [`DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS`] (20, h2's). grpc-go has no
    /// such count; it bounds running handlers by `MaxConcurrentStreams`.
    pub fn max_pending_accept_reset_streams(mut self, limit: usize) -> Self {
        self.config.max_pending_accept_reset_streams = limit;
        self
    }

    /// How many streams the server may reset because of the client's
    /// protocol errors on one connection before it ends the connection
    /// (`GOAWAY(ENHANCE_YOUR_CALM)`): a peer that makes every stream an
    /// error costs the server a reset each, and this bounds how many.
    /// Default [`DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS`] (1024, h2's and
    /// hyper's). grpc-go has no such count.
    pub fn max_local_error_reset_streams(mut self, limit: usize) -> Self {
        self.config.max_local_error_reset_streams = limit;
        self
    }

    /// Whether every call gets a task of its own from the start (`true`),
    /// or is first polled on its connection's task and moves to a task of
    /// its own only when it has to wait (`false`, the default). The default
    /// saves a task per call and writes the replies of calls that arrived
    /// together in one write, but what a handler does before its first
    /// waiting `.await` then holds up the other calls on its connection:
    /// turn this on for handlers that compute for long before they wait
    /// (better still, move such work to `spawn_blocking`).
    pub fn spawn_every_call(mut self, on: bool) -> Self {
        self.config.spawn_every_call = on;
        self
    }

    /// Wraps every call, to every service, in a tower `layer`: the layer's
    /// service gets each call as an `http::Request<Body>` (headers,
    /// metadata and the body of length-prefixed messages) and returns the
    /// `http::Response` the server writes back. An error it returns is sent
    /// as the call's status (a [`Status`] inside it is kept, see
    /// [`status_from_error`](super::status_from_error)), so a layer can refuse a call with
    /// `Err(Status::permission_denied(..))`.
    ///
    /// Layers added first are outermost, as with tower's `ServiceBuilder`.
    /// Each call through a layer is boxed; a server without layers does not
    /// box.
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<Routes> + Send + 'static,
        L::Service: tower_service::Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        <L::Service as tower_service::Service<http::Request<Body>>>::Future: Send + 'static,
        <L::Service as tower_service::Service<http::Request<Body>>>::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.layers.push(Box::new(move |routes: Routes| Routes {
            inner: RoutesInner::Layered(SharedService::new(layer.layer(routes))),
            ready_error: None,
        }));
        self
    }

    /// Everything added so far, layers included, as one tower service from
    /// `http::Request<B>` to `http::Response<Body>`: to mount in another
    /// HTTP/2 server (hyper, axum), to wrap further, or to call directly.
    pub fn into_service(self) -> Routes {
        self.build().1
    }

    /// The routing table, and the service that fronts it.
    fn build(self) -> (Arc<Router>, Routes) {
        let router = Arc::new(Router {
            services: self.services,
            config: self.config,
        });
        let mut routes = Routes {
            inner: RoutesInner::Router(router.clone()),
            ready_error: None,
        };
        // The last added wraps the routes first, leaving the first outermost.
        for wrap in self.layers.into_iter().rev() {
            routes = wrap(routes);
        }
        (router, routes)
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
        let layered = !self.layers.is_empty();
        let (router, routes) = self.build();
        // Without layers, calls take the direct path.
        let routes = layered.then_some(routes);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut connections = JoinSet::new();
        let mut signal = pin!(signal);
        loop {
            tokio::select! {
                () = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        // Small replies go out at once, not after Nagle's delay.
                        tcp.set_nodelay(true).ok();
                        let spawned = Arc::new(AtomicUsize::new(0));
                        connections.spawn(LetOthersFirst::new(
                            serve_connection(
                                tcp,
                                Peer { addr: peer, router: router.clone(), routes: routes.clone() },
                                stop_rx.clone(),
                                spawned.clone(),
                            ),
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

/// Who a connection serves: its peer, the routing table, and the layered
/// service in front of it if there are layers.
struct Peer {
    addr: SocketAddr,
    router: Arc<Router>,
    routes: Option<Routes>,
}

/// Serves one connection: HTTP/2 over any byte stream. Plain TCP today;
/// TLS (rustls) will hand over its decrypted stream here, after the
/// handshake and ALPN, and nothing below changes.
async fn serve_connection<Io>(
    io: Io,
    peer: Peer,
    mut stop: tokio::sync::watch::Receiver<bool>,
    spawned: Arc<AtomicUsize>,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Peer {
        addr: peer,
        router,
        routes,
    } = peer;
    let mut builder = h2::server::Builder::new();
    let config = &router.config;
    builder
        .initial_window_size(config.initial_stream_window)
        .initial_connection_window_size(config.initial_connection_window)
        .max_concurrent_streams(config.max_concurrent_streams)
        .max_header_list_size(config.max_header_list_size)
        .max_pending_accept_reset_streams(config.max_pending_accept_reset_streams)
        .max_local_error_reset_streams(Some(config.max_local_error_reset_streams));
    let mut conn = match builder.handshake::<_, Bytes>(io).await {
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
                        match &routes {
                            None => dispatch(&router, &spawned, request, respond),
                            Some(routes) => dispatch_layered(
                                routes,
                                &spawned,
                                router.config.spawn_every_call,
                                request,
                                respond,
                            ),
                        }
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

/// Why a request reached no service.
enum Unrouted {
    Http(StatusCode),
    Grpc(Status),
}

/// Finds the service for `request`, and the method's name in its path.
fn route<'a, B>(
    router: &'a Router,
    request: &'a http::Request<B>,
) -> Result<(&'a Arc<dyn Service>, &'a str), Unrouted> {
    if request.method() != http::Method::POST {
        return Err(Unrouted::Http(StatusCode::METHOD_NOT_ALLOWED));
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
        return Err(Unrouted::Http(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let path = request.uri().path();
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.rsplit_once('/')) else {
        return Err(Unrouted::Grpc(Status::unimplemented(format!(
            "malformed path {path:?}"
        ))));
    };
    match router.services.get(service) {
        Some(svc) => Ok((svc, method)),
        None => Err(Unrouted::Grpc(Status::unimplemented(format!(
            "unknown service {service}"
        )))),
    }
}

fn dispatch(
    router: &Arc<Router>,
    spawned: &Arc<AtomicUsize>,
    request: http::Request<h2::RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let (svc, method) = match route(router, &request) {
        Ok(found) => found,
        Err(Unrouted::Http(status)) => return reply_http(&mut respond, status),
        Err(Unrouted::Grpc(status)) => return reply_status(&mut respond, &status),
    };
    let svc = svc.clone();
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
        request: request.map(Body::h2),
        reply: ReplyTo::H2 {
            respond,
            spawned: spawned.clone(),
        },
        router: router.clone(),
    };
    svc.call(method, call);
}

/// Runs a call through the server's layers, on the connection's task first
/// as [`start`] does, and writes the response the layers return.
fn dispatch_layered(
    routes: &Routes,
    spawned: &Arc<AtomicUsize>,
    spawn_at_once: bool,
    request: http::Request<h2::RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let mut routes = routes.clone();
    let request = request.map(Body::h2);
    start(
        Box::pin(async move {
            let response = {
                let call = async {
                    std::future::poll_fn(|cx| {
                        tower_service::Service::<http::Request<Body>>::poll_ready(&mut routes, cx)
                    })
                    .await?;
                    tower_service::Service::call(&mut routes, request).await
                };
                // The client may give up before the layers answer.
                tokio::select! {
                    biased;
                    r = call => r,
                    reason = poll_fn(|cx| respond.poll_reset(cx)) => {
                        tracing::debug!(?reason, "client cancelled the call");
                        return;
                    }
                }
            };
            let Ok(response): Result<_, Infallible> = response;
            if let Err(e) = write_response(&mut respond, response).await {
                tracing::debug!(error = %e, "cannot send the response");
            }
        }),
        spawned.clone(),
        spawn_at_once,
    );
}

/// Writes a response that a service returned onto an HTTP/2 stream: the
/// head (with END_STREAM if the body is empty, a trailers-only response),
/// the data as the client's flow control allows, then the trailers. Stops
/// when the client resets the stream.
async fn write_response(
    respond: &mut SendResponse<Bytes>,
    response: http::Response<Body>,
) -> Result<(), h2::Error> {
    let (parts, mut body) = response.into_parts();
    let head = http::Response::from_parts(parts, ());
    if body.is_end_stream() {
        respond.send_response(head, true)?;
        return Ok(());
    }
    let mut out = respond.send_response(head, false)?;
    loop {
        let frame = tokio::select! {
            biased;
            frame = poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)) => frame,
            reason = poll_fn(|cx| out.poll_reset(cx)) => {
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
                    send_with_capacity(&mut out, data, end).await?;
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

/// The server's routes as a tower service: every service added to a
/// [`Server`], behind its layers if it has any. Get it from
/// [`Server::into_service`]; a layer added with [`Server::layer`] wraps one.
///
/// It takes `http::Request<B>` for any body `B` of [`Bytes`] and answers
/// every request with an `http::Response<Body>`, never an error: what goes
/// wrong (an unknown service or method, a bad header, a handler's error, a
/// layer's error) is a gRPC status in the response, as on the wire.
/// Deadlines (`grpc-timeout`) apply; dropping the response future or body
/// cancels the call. Cheap to clone.
pub struct Routes {
    inner: RoutesInner,
    // An error from the layers' `poll_ready`, answered on the next call.
    ready_error: Option<Status>,
}

#[derive(Clone)]
enum RoutesInner {
    Router(Arc<Router>),
    Layered(SharedService),
}

impl Clone for Routes {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            ready_error: None,
        }
    }
}

impl core::fmt::Debug for Routes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Routes");
        match &self.inner {
            RoutesInner::Router(router) => {
                let mut names: Vec<_> = router.services.keys().collect();
                names.sort();
                d.field("services", &names)
            }
            RoutesInner::Layered(_) => d.field("layered", &true),
        };
        d.finish()
    }
}

/// What [`Routes`] returns for a request.
pub type RoutesFuture = BoxFuture<Result<http::Response<Body>, Infallible>>;

impl<B> tower_service::Service<http::Request<B>> for Routes
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = RoutesFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        match &mut self.inner {
            RoutesInner::Router(_) => Poll::Ready(Ok(())),
            RoutesInner::Layered(service) => {
                if let Err(status) = std::task::ready!(service.poll_ready(cx)) {
                    self.ready_error = Some(status);
                }
                Poll::Ready(Ok(()))
            }
        }
    }

    fn call(&mut self, request: http::Request<B>) -> RoutesFuture {
        let request = request.map(Body::new);
        if let Some(status) = self.ready_error.take() {
            return Box::pin(std::future::ready(Ok(status_response(&status))));
        }
        match &mut self.inner {
            RoutesInner::Router(router) => {
                let answer = route_http(router, request);
                Box::pin(async move { Ok(answer.await) })
            }
            RoutesInner::Layered(service) => {
                let response = service.call(request);
                Box::pin(async move {
                    Ok(match response.await {
                        Ok(response) => response,
                        Err(status) => status_response(&status),
                    })
                })
            }
        }
    }
}

/// Routes one request given as `http` types; the call's handler runs inside
/// the returned future.
fn route_http(
    router: &Arc<Router>,
    request: http::Request<Body>,
) -> BoxFuture<http::Response<Body>> {
    let (svc, method) = match route(router, &request) {
        Ok((svc, method)) => (svc.clone(), method.to_owned()),
        Err(Unrouted::Http(status)) => {
            let mut response = http::Response::new(Body::empty());
            *response.status_mut() = status;
            return Box::pin(std::future::ready(response));
        }
        Err(Unrouted::Grpc(status)) => {
            return Box::pin(std::future::ready(status_response(&status)));
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let call = Call {
        request,
        reply: ReplyTo::Http(tx),
        router: router.clone(),
    };
    svc.call(&method, call);
    Box::pin(async move {
        match rx.await {
            Ok(answer) => answer.await,
            // A hand-written `Service` that dropped its call unanswered.
            Err(_) => status_response(&Status::internal(format!(
                "the service did not answer the call to {method}"
            ))),
        }
    })
}

/// A trailers-only response with `status`, as `http` types.
fn status_response(status: &Status) -> http::Response<Body> {
    let mut response = http::Response::new(Body::empty());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    status.write_headers(response.headers_mut());
    response
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
    request: http::Request<Body>,
    reply: ReplyTo,
    router: Arc<Router>,
}

/// Where a call's answer goes.
enum ReplyTo {
    // Straight onto the HTTP/2 stream; `spawned` counts the connection's
    // calls running on tasks of their own.
    H2 {
        respond: SendResponse<Bytes>,
        spawned: Arc<AtomicUsize>,
    },
    // Back to `Routes` as a future that runs the handler and makes the
    // `http::Response`.
    Http(tokio::sync::oneshot::Sender<BoxFuture<http::Response<Body>>>),
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
    pub fn unimplemented(self, method: &str) {
        let status = Status::unimplemented(format!("unknown method {method}"));
        match self.reply {
            ReplyTo::H2 { mut respond, .. } => reply_status(&mut respond, &status),
            ReplyTo::Http(tx) => {
                let _ = tx.send(Box::pin(std::future::ready(status_response(&status))));
            }
        }
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
            reply,
            router,
        } = self;
        let spawn_at_once = router.config.spawn_every_call;
        let (mut respond, spawned) = match reply {
            ReplyTo::H2 { respond, spawned } => (respond, spawned),
            ReplyTo::Http(tx) => {
                let _ = tx.send(Box::pin(answer_http(request, router, handler)));
                return;
            }
        };
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
            spawn_at_once,
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
/// for [`LetOthersFirst`]. With `spawn_at_once` (the builder's
/// `spawn_every_call`), the call goes on a task of its own without that
/// first poll.
fn start(
    mut call: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    spawned: Arc<AtomicUsize>,
    spawn_at_once: bool,
) {
    if !spawn_at_once {
        let mut cx = Context::from_waker(Waker::noop());
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.as_mut().poll(&mut cx)));
        match polled {
            Ok(Poll::Ready(())) => return,
            Ok(Poll::Pending) => {}
            Err(_) => {
                tracing::error!("a handler panicked; its call is reset");
                return;
            }
        }
    }
    let counted = InFlight::enter(&spawned);
    tokio::spawn(async move {
        let _counted = counted;
        call.await;
    });
}

// Looked up on every call: as names, not strings to parse each time.
static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
static GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
static GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");

impl Head {
    fn parse(headers: HeaderMap) -> Result<Self, Status> {
        let timeout = match headers.get(&GRPC_TIMEOUT) {
            None => None,
            Some(v) => match parse_timeout(v.as_bytes()) {
                // `0S`, `0n`, `00000000H`: the grammar allows zero, and it
                // means the deadline passed before the call arrived. Fail
                // it without running the handler (a handler that finishes
                // at once would otherwise win the race with the timer).
                Ok(t) if t.is_zero() => {
                    return Err(Status::deadline_exceeded(format!(
                        "grpc-timeout {v:?}: the deadline passed before the call started"
                    )));
                }
                Ok(t) => Some(t),
                Err(_) => {
                    return Err(Status::invalid_argument(format!(
                        "invalid grpc-timeout {v:?}"
                    )));
                }
            },
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

/// The response head for `reply`, its trailers so far, and the compression
/// to use (only one the client said it accepts).
fn reply_head<T>(
    reply: &Reply<T>,
    accepts: &[CompressionEncoding],
) -> (http::Response<()>, HeaderMap, Option<CompressionEncoding>) {
    let (metadata, trailers, compression) = match reply {
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
    (head, trailer_map, compression)
}

/// Runs a call for [`Routes`]: parses the head, runs the handler under the
/// deadline and makes its reply an `http::Response`. Cancellation is the
/// caller's: dropping this future drops the handler.
async fn answer_http<Req, Resp, F, Fut>(
    request: http::Request<Body>,
    router: Arc<Router>,
    handler: F,
) -> http::Response<Body>
where
    Req: Message,
    Resp: Message,
    F: FnOnce(Head, Streaming<Req>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Reply<Resp>, Status>> + Send + 'static,
{
    let (parts, body) = request.into_parts();
    let head = match Head::parse(parts.headers) {
        Ok(h) => h,
        Err(status) => return status_response(&status),
    };
    let timeout = head.timeout;
    let accepts = head.accepts.clone();
    let body = Streaming::new(body, head.encoding, router.config.max_recv, Role::Server);
    let work = handler(head, body);
    let outcome = match timeout {
        None => work.await,
        Some(t) => tokio::time::timeout(t, work)
            .await
            .unwrap_or_else(|_| Err(Status::deadline_exceeded("deadline exceeded"))),
    };
    let reply = match outcome {
        Ok(reply) => reply,
        Err(status) => return status_response(&status),
    };
    let (head, mut trailers, compression) = reply_head(&reply, &accepts);
    let max_send = router.config.max_send;
    let body = match reply {
        Reply::One(response) => {
            let frame = match encode_frame(
                response.get_ref(),
                compression,
                max_send,
                &mut SizeCache::new(),
                &mut BytesMut::new(),
            ) {
                Ok(f) => f,
                Err(status) => return status_response(&status),
            };
            trailers.insert(
                HeaderName::from_static(GRPC_STATUS),
                HeaderValue::from_static("0"),
            );
            Body::full(frame, Some(trailers))
        }
        Reply::Stream(response) => Body::boxed(ReplyBody {
            response,
            compression,
            max_send,
            sizes: SizeCache::new(),
            buf: BytesMut::new(),
            deadline: timeout.map(|t| Box::pin(tokio::time::sleep(t))),
            trailers: Some(trailers),
            end: None,
        }),
    };
    let (parts, ()) = head.into_parts();
    http::Response::from_parts(parts, body)
}

/// A streaming reply as an HTTP body, for [`Routes`]: messages encoded as
/// the handler's stream yields them (those ready together, up to
/// BATCH_BYTES, in one chunk), then trailers with the status; the deadline
/// ends it with `DEADLINE_EXCEEDED`.
struct ReplyBody<T> {
    response: Response<BoxStream<T>>,
    compression: Option<CompressionEncoding>,
    max_send: usize,
    sizes: SizeCache,
    buf: BytesMut,
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    // Taken when sent: the body is over.
    trailers: Option<HeaderMap>,
    // The status to end with, once what is buffered is out.
    end: Option<Status>,
}

impl<T: Message> http_body::Body for ReplyBody<T> {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        if this.trailers.is_none() {
            return Poll::Ready(None);
        }
        if this.end.is_none() {
            if let Some(deadline) = &mut this.deadline {
                if deadline.as_mut().poll(cx).is_ready() {
                    this.end = Some(Status::deadline_exceeded("deadline exceeded"));
                }
            }
        }
        while this.end.is_none() && this.buf.len() < BATCH_BYTES {
            match this.response.get_mut().poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(message))) => {
                    if this.buf.capacity() == 0 {
                        this.buf.reserve(STREAM_BUFFER);
                    }
                    let compression = this.compression.filter(|_| this.response.compress_next());
                    if let Err(status) = encode_frame_into(
                        &message,
                        compression,
                        this.max_send,
                        &mut this.sizes,
                        &mut this.buf,
                    ) {
                        this.end = Some(status);
                    }
                }
                Poll::Ready(Some(Err(status))) => this.end = Some(status),
                Poll::Ready(None) => this.end = Some(Status::ok()),
                Poll::Pending => break,
            }
        }
        if !this.buf.is_empty() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(this.buf.split().freeze()))));
        }
        match (this.end.take(), this.trailers.take()) {
            (Some(status), Some(mut trailers)) => {
                status.write_headers(&mut trailers);
                Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
            }
            (end, trailers) => {
                this.end = end;
                this.trailers = trailers;
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.trailers.is_none()
    }
}

async fn send_reply<T: Message>(
    respond: &mut SendResponse<Bytes>,
    reply: Reply<T>,
    accepts: &[CompressionEncoding],
    config: &Config,
    timeout: Option<Duration>,
) -> Result<(), h2::Error> {
    let (head, mut trailer_map, compression) = reply_head(&reply, accepts);

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
                let mut first = Some(tokio::select! {
                    biased;
                    next = response.get_mut().next() => next,
                    () = &mut deadline => break Status::deadline_exceeded("deadline exceeded"),
                    reason = poll_fn(|cx| body.poll_reset(cx)) => {
                        tracing::debug!(?reason, "client cancelled the streaming call");
                        return Ok(());
                    }
                });
                // This message and every one the stream already has ready
                // (up to BATCH_BYTES) go out in one DATA frame. The batch is
                // taken in one synchronous poll, not an await per message:
                // across an await each message would be copied into the
                // future's state and back out again.
                let end = poll_fn(|cx| {
                    // Polled once: it is always ready.
                    let Some(mut next) = first.take() else {
                        return Poll::Ready(Some(Status::internal("reply batch polled twice")));
                    };
                    Poll::Ready(loop {
                        match next {
                            Some(Ok(ref message)) => {
                                let this_one = compression.filter(|_| response.compress_next());
                                if let Err(status) = encode_frame_into(
                                    message,
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
                        match response.get_mut().poll_next_unpin(cx) {
                            Poll::Ready(n) => next = n,
                            Poll::Pending => break None,
                        }
                    })
                })
                .await;
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
