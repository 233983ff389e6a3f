//! The client side: an [`Endpoint`] describes where to connect, a
//! [`Channel`] multiplexes calls over one HTTP/2 connection to it, and
//! [`Client`] runs the four kinds of call that generated clients expose.
//!
//! Connection life cycle of a channel:
//!
//! ```text
//!   Idle --first call--> Connecting --ok--> Ready --connection lost--> Idle
//!                            |                                  (next call reconnects)
//!                            +--error--> Idle (the call fails UNAVAILABLE)
//! ```
//!
//! The connection is shared by every clone of the channel; a call takes the
//! lock only when there is no live connection (to connect), never per call.
//!
//! Two ways to call, one machinery:
//!
//! ```text
//!   Client::new(channel)        --> straight onto the connection (no boxing)
//!   Client::with_service(svc)   --> http::Request<Body> --> svc (layers...) --> Channel
//! ```
//!
//! `Channel` is itself a `tower_service::Service<http::Request<B>>`, so the
//! second path ends on the same connection, with the same reconnect logic.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use h2::client::SendRequest;
use http::header::{CONTENT_TYPE, HeaderValue, TE, USER_AGENT};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Uri};
use http_body::Body as _;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tracing::Instrument;

mod keepalive;
mod watch;

pub use keepalive::DEFAULT_CLIENT_KEEPALIVE_TIMEOUT;

use keepalive::{Interval, Keepalive};
use watch::{ConnState, Watched};

use super::body::{Body, BoxError, status_from_error};
use super::boxed::SharedService;
use super::cancel::CancelHandle;
use super::codec::{
    BATCH_BYTES, DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE, STREAM_BUFFER,
    encode_frame, encode_frame_into,
};
use super::compression::{self, CompressionEncoding};
use super::intercept::{Interceptor, Interceptors};
use super::metadata::MetadataMap;
use super::observe::{CallRecord, Observer, Observers};
use super::shared::{AbortOnDrop, InFlight, LetOthersFirst, send_with_capacity};
use super::status::Status;
use super::streaming::{Role, Streaming};
use super::timeout::encode_timeout;
#[cfg(feature = "tls")]
use super::tls::{self, ClientTlsConfig, Connector};
use super::{IntoRequest, IntoStreamingRequest, Request, Response};
use crate::encoding::SizeCache;
use crate::message::Message;

const USER_AGENT_VALUE: &str = concat!("rust-rpc/", env!("CARGO_PKG_VERSION"));

/// A failure to set up a channel (a bad address); failures of calls are [`Status`]es.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Where and how to connect: `Endpoint::from_static("http://127.0.0.1:50051")`.
#[derive(Clone, Debug)]
pub struct Endpoint {
    scheme: Scheme,
    authority: Authority,
    // A Unix domain socket to connect to instead of `authority`'s host.
    unix: Option<std::path::PathBuf>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    initial_stream_window: u32,
    initial_connection_window: u32,
    keepalive: keepalive::Settings,
    // The endpoint as given, which observers see as the calls' target.
    target: Arc<str>,
    observers: Observers,
    #[cfg(feature = "channelz")]
    channelz: Option<crate::channelz::Channelz>,
    // The TLS handshake of an `https` endpoint; `None` there means the
    // platform's CAs and the host's name.
    #[cfg(feature = "tls")]
    tls: Option<Arc<Connector>>,
}

/// A connection's two addresses, this end's and the server's: `None` for a
/// Unix domain socket's.
type Addrs = (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>);

/// A live connection: its generation (which tells connections apart), a
/// sender of requests on it, and what its watch saw.
type Live = (u64, SendRequest<Bytes>, Arc<ConnState>);

impl Endpoint {
    /// Parses `http://host:port` (HTTP/2 in plaintext), `https://host:port`
    /// (TLS, trusting the platform's CAs unless
    /// [`Endpoint::tls_config`] says otherwise), or `unix:/path/to/socket`
    /// (also written `unix:///path/to/socket`, as gRPC's naming document has
    /// it) for a Unix domain socket.
    pub fn new(uri: impl AsRef<str>) -> Result<Self, Error> {
        let text = uri.as_ref();
        if let Some(path) = text.strip_prefix("unix:") {
            return Self::unix(text, path);
        }
        let uri: Uri = text
            .parse()
            .map_err(|e| Error(format!("invalid endpoint {text:?}: {e}")))?;
        let scheme = uri.scheme().cloned().unwrap_or(Scheme::HTTP);
        if scheme == Scheme::HTTPS && !cfg!(feature = "tls") {
            return Err(Error(format!(
                "endpoint {text:?}: https:// needs rust-rpc's `tls` feature"
            )));
        }
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(Error(format!(
                "endpoint {text:?}: the scheme must be http:// or https://"
            )));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| Error(format!("endpoint {text:?} has no host")))?;
        Ok(Self::with(text, scheme, authority, None))
    }

    /// A Unix domain socket endpoint: `path` is what follows `unix:`.
    fn unix(text: &str, path: &str) -> Result<Self, Error> {
        // `unix:///abs` (an empty authority) is `unix:/abs`.
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(Error(format!("endpoint {text:?} names no socket path")));
        }
        if !cfg!(unix) {
            return Err(Error(format!(
                "endpoint {text:?}: Unix domain sockets need a Unix system"
            )));
        }
        // What the requests' :authority says, as gRPC does for such targets.
        let authority = Authority::from_static("localhost");
        Ok(Self::with(
            text,
            Scheme::HTTP,
            authority,
            Some(std::path::PathBuf::from(path)),
        ))
    }

    fn with(
        target: &str,
        scheme: Scheme,
        authority: Authority,
        unix: Option<std::path::PathBuf>,
    ) -> Self {
        Self {
            target: target.into(),
            observers: Observers::default(),
            #[cfg(feature = "channelz")]
            channelz: None,
            scheme,
            authority,
            unix,
            connect_timeout: Some(Duration::from_secs(20)),
            timeout: None,
            // Larger than HTTP/2's 64 KiB default so one stream can keep a
            // fast link busy; still a bound on what a slow reader buffers.
            initial_stream_window: 1 << 20,
            initial_connection_window: 2 << 20,
            keepalive: keepalive::Settings::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Connects over TLS as `config` says (trusted CAs, the name to check,
    /// a client certificate for mTLS); the endpoint becomes `https` if it
    /// was `http`. Works for Unix domain sockets too (the name checked is
    /// then `localhost` unless `config` names one). An error if the key
    /// material does not check out.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: ClientTlsConfig) -> Result<Self, tls::Error> {
        self.tls = Some(Arc::new(config.connector()?));
        if self.unix.is_none() {
            self.scheme = Scheme::HTTPS;
        }
        Ok(self)
    }

    /// Like [`Endpoint::new`] for a literal known to be valid; panics otherwise.
    pub fn from_static(uri: &'static str) -> Self {
        match Self::new(uri) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
    }

    /// How long connecting may take (default 20 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// A timeout applied to every call that does not set its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// HTTP/2 flow-control windows: per stream and per connection.
    pub fn flow_control_windows(mut self, stream: u32, connection: u32) -> Self {
        self.initial_stream_window = stream;
        self.initial_connection_window = connection;
        self
    }

    /// Tells `observer` of every call made on this endpoint's channel, by
    /// every client on it, as it starts and ends (method, target, status,
    /// message counts and sizes, duration): see
    /// [`observe`](super::observe). Added observers are told in order.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observers = self.observers.then(observer);
        self
    }

    /// Registers the channels made from this endpoint in `channelz` (see
    /// [`channelz`](crate::channelz)): each is a channel for the endpoint's
    /// target with one subchannel, whose state follows its connection (idle,
    /// connecting, ready, transient failure), with a socket for each
    /// connection and the calls of every client on it counted. The channel
    /// leaves the registry when its last clone is dropped.
    #[cfg(feature = "channelz")]
    pub fn channelz(mut self, channelz: &crate::channelz::Channelz) -> Self {
        self.channelz = Some(channelz.clone());
        self
    }

    /// A channel to this endpoint that connects on its first call.
    pub fn connect_lazy(self) -> Channel {
        Channel::new(self)
    }

    /// A channel to this endpoint, connected now.
    pub async fn connect(self) -> Result<Channel, Status> {
        let channel = Channel::new(self);
        channel.sender().await?;
        Ok(channel)
    }

    async fn open(&self, shared: &Shared) -> Result<(SendRequest<Bytes>, Arc<ConnState>), Status> {
        if let Some(path) = &self.unix {
            return self.open_unix(path, shared).await;
        }
        let host = self.authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = self
            .authority
            .port_u16()
            .unwrap_or(if self.scheme == Scheme::HTTPS {
                443
            } else {
                80
            });
        let tcp = self
            .connect_within(TcpStream::connect((host, port)), &self.authority)
            .await?;
        tcp.set_nodelay(true).ok();
        let addrs = (tcp.local_addr().ok(), tcp.peer_addr().ok());
        self.secure(tcp, host, shared, addrs).await
    }

    /// HTTP/2 on `io`, over TLS first if the endpoint has it.
    async fn secure<Io>(
        &self,
        io: Io,
        host: &str,
        shared: &Shared,
        addrs: Addrs,
    ) -> Result<(SendRequest<Bytes>, Arc<ConnState>), Status>
    where
        Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        #[cfg(feature = "tls")]
        if let Some(connector) = self.connector()? {
            let handshake = connector.connect(host, io);
            let (stream, _) = match self.connect_timeout {
                Some(t) => tokio::time::timeout(t, handshake).await.map_err(|_| {
                    Status::unavailable(format!("TLS handshake with {host} timed out"))
                })?,
                None => handshake.await,
            }?;
            return self.handshake(stream, shared, addrs).await;
        }
        let _ = host;
        self.handshake(io, shared, addrs).await
    }

    /// The TLS connector, if this endpoint does TLS: its own, or for an
    /// `https` endpoint without one, the platform's.
    #[cfg(feature = "tls")]
    fn connector(&self) -> Result<Option<Arc<Connector>>, Status> {
        match &self.tls {
            Some(c) => Ok(Some(c.clone())),
            None if self.scheme == Scheme::HTTPS => Connector::platform()
                .map(Some)
                .map_err(|e| Status::unavailable(e.to_string())),
            None => Ok(None),
        }
    }

    /// Connects with `connect` within the endpoint's connect timeout; a
    /// failure, or no connection in time, is `UNAVAILABLE` naming `target`.
    async fn connect_within<T>(
        &self,
        connect: impl Future<Output = std::io::Result<T>>,
        target: &(dyn core::fmt::Display + Sync),
    ) -> Result<T, Status> {
        let connected = match self.connect_timeout {
            Some(t) => tokio::time::timeout(t, connect)
                .await
                .map_err(|_| Status::unavailable(format!("connecting to {target} timed out")))?,
            None => connect.await,
        };
        connected.map_err(|e| Status::unavailable(format!("cannot connect to {target}: {e}")))
    }

    #[cfg(unix)]
    async fn open_unix(
        &self,
        path: &std::path::Path,
        shared: &Shared,
    ) -> Result<(SendRequest<Bytes>, Arc<ConnState>), Status> {
        let target = format!("unix:{}", path.display());
        let stream = self
            .connect_within(tokio::net::UnixStream::connect(path), &target)
            .await?;
        self.secure(stream, "localhost", shared, (None, None)).await
    }

    #[cfg(not(unix))]
    async fn open_unix(
        &self,
        path: &std::path::Path,
        _: &Shared,
    ) -> Result<(SendRequest<Bytes>, Arc<ConnState>), Status> {
        Err(Status::unavailable(format!(
            "unix:{}: Unix domain sockets need a Unix system",
            path.display()
        )))
    }

    /// HTTP/2 over any byte stream: TCP, a Unix domain socket, TLS over
    /// either (after its handshake and ALPN). The connection runs on a task
    /// of its own, beside its keepalive.
    async fn handshake<Io>(
        &self,
        io: Io,
        shared: &Shared,
        addrs: Addrs,
    ) -> Result<(SendRequest<Bytes>, Arc<ConnState>), Status>
    where
        Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let state = Arc::new(ConnState::default());
        let (send, mut connection) = h2::client::Builder::new()
            .initial_window_size(self.initial_stream_window)
            .initial_connection_window_size(self.initial_connection_window)
            .handshake::<_, Bytes>(Watched::new(io, state.clone()))
            .await
            .map_err(|e| {
                Status::unavailable(format!(
                    "HTTP/2 handshake with {} failed: {e}",
                    self.authority
                ))
            })?;
        let authority = self.authority.clone();
        // The connection's channelz socket lives, and the channel stays
        // ready, as long as the connection's task.
        #[cfg(feature = "channelz")]
        let socket = shared
            .channelz
            .as_ref()
            .map(|glue| glue.connected(addrs.0, addrs.1));
        #[cfg(not(feature = "channelz"))]
        let _ = addrs;
        let keepalive = Keepalive {
            settings: self.keepalive,
            interval: shared.keepalive.clone(),
            state: state.clone(),
            in_flight: shared.in_flight.clone(),
        };
        // Only with keepalive on: a taken PingPong costs h2 a waker
        // registration on every poll of the connection.
        let pings = self.keepalive.time.and_then(|_| connection.ping_pong());
        tokio::spawn(LetOthersFirst::new(
            async move {
                let closed = match pings {
                    // The connection alone when there is no keepalive: it is
                    // polled on every wake-up, and a select beside it would
                    // cost each of them.
                    None => connection.await.err(),
                    Some(pings) => tokio::select! {
                        biased;
                        ended = connection => ended.err(),
                        why = keepalive.run(pings) => {
                            tracing::debug!(%authority, why, "connection closed");
                            None
                        }
                    },
                };
                if let Some(e) = closed {
                    tracing::debug!(%authority, error = %e, "connection closed");
                }
                keepalive.ended(authority.as_str());
                #[cfg(feature = "channelz")]
                drop(socket);
            },
            shared.in_flight.clone(),
        ));
        Ok((send, state))
    }
}

#[derive(Default)]
struct Connection {
    live: Option<Live>,
    generation: u64,
}

struct Shared {
    endpoint: Endpoint,
    // The live connection, if any, with a generation number that tells
    // connections apart. Locked only to connect or replace it.
    connection: Mutex<Connection>,
    // Headers every call sends, built once.
    base_headers: HeaderMap,
    // Calls in progress (see `InFlight`).
    in_flight: Arc<AtomicUsize>,
    // The keepalive time now (doubled by each GOAWAY too_many_pings).
    keepalive: Arc<Interval>,
    // The channel's entries in channelz, if its endpoint registers there.
    #[cfg(feature = "channelz")]
    channelz: Option<Arc<crate::channelz::transport::ChannelGlue>>,
}

/// A cheap-to-clone handle to one HTTP/2 connection that all its calls
/// share. It connects on first use and reconnects after the connection drops.
#[derive(Clone)]
pub struct Channel {
    shared: Arc<Shared>,
}

impl core::fmt::Debug for Channel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Channel")
            .field("endpoint", &self.shared.endpoint.authority)
            .finish()
    }
}

impl Channel {
    /// A lazily connecting channel to `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        #[cfg(feature = "channelz")]
        let mut endpoint = endpoint;
        #[cfg(feature = "channelz")]
        let channelz = endpoint.channelz.as_ref().map(|channelz| {
            let glue = crate::channelz::transport::ChannelGlue::new(
                channelz,
                &endpoint.target,
                endpoint.authority.as_str(),
            );
            endpoint.observers = endpoint.observers.then(glue.clone());
            glue
        });
        Self {
            shared: Arc::new(Shared {
                #[cfg(feature = "channelz")]
                channelz,
                connection: Mutex::new(Connection::default()),
                base_headers: base_headers(),
                in_flight: Arc::new(AtomicUsize::new(0)),
                keepalive: Arc::new(Interval::new(&endpoint.keepalive)),
                endpoint,
            }),
        }
    }

    /// The keepalive time the channel pings at now: the endpoint's
    /// [`Endpoint::keepalive_time`], doubled for each GOAWAY
    /// `too_many_pings` a server answered with; `None` without keepalive.
    pub fn keepalive_time(&self) -> Option<Duration> {
        self.shared.keepalive.get()
    }

    /// A lazily connecting channel to `uri` (`http://host:port`).
    pub fn from_uri(uri: impl AsRef<str>) -> Result<Self, Error> {
        Endpoint::new(uri).map(Self::new)
    }

    /// A sender on the live connection (and its generation), connecting
    /// first if there is none.
    async fn sender(&self) -> Result<Live, Status> {
        let mut conn = self.shared.connection.lock().await;
        if let Some(live) = &conn.live {
            return Ok(live.clone());
        }
        // Boxed: connecting (a TLS handshake's state above all) is rare, and
        // unboxed it would take room in every call's future, which is moved
        // whole as the call is wrapped in its deadline.
        #[cfg(feature = "channelz")]
        if let Some(glue) = &self.shared.channelz {
            glue.connecting();
        }
        let opened = Box::pin(self.shared.endpoint.open(&self.shared)).await;
        #[cfg(feature = "channelz")]
        if let (Some(glue), Err(_)) = (&self.shared.channelz, &opened) {
            glue.failed();
        }
        let (send, state) = opened?;
        conn.generation += 1;
        let live = (conn.generation, send, state);
        conn.live = Some(live.clone());
        Ok(live)
    }

    /// Forgets connection `generation` if it is still the live one, so that
    /// the next call reconnects (and a newer connection is left alone).
    async fn discard(&self, generation: u64) {
        let mut conn = self.shared.connection.lock().await;
        if conn.live.as_ref().is_some_and(|(g, ..)| *g == generation) {
            conn.live = None;
        }
    }

    /// Opens a stream and sends `head` on it, using the sender in `cached`
    /// (and leaving the one used there, with what its watch sees) or the
    /// channel's.
    async fn start_call(
        &self,
        cached: &mut Option<Live>,
        head: http::Request<()>,
        end_of_stream: bool,
    ) -> Result<(h2::client::ResponseFuture, h2::SendStream<Bytes>, InFlight), Status> {
        // Two attempts: a connection found dead, or going away (GOAWAY),
        // before anything was sent is replaced once, transparently.
        for attempt in 0..2 {
            let (generation, send, state) = match cached.take() {
                Some(s) => s,
                None => self.sender().await?,
            };
            let mut ready = match send.ready().await {
                Ok(r) => r,
                Err(e) if attempt == 0 => {
                    tracing::debug!(error = %e, "connection unusable; reconnecting");
                    self.discard(generation).await;
                    continue;
                }
                Err(e) => return Err(Status::unavailable(format!("connection failed: {e}"))),
            };
            // A GOAWAY may have come since: h2 would refuse the stream (or
            // fail send_request, with the head gone). The watch reads each
            // frame before h2 does, so what h2 knows of a GOAWAY it knows
            // first: new calls go to a new connection.
            if attempt == 0 && state.saw_goaway() {
                tracing::debug!("connection going away (GOAWAY); the call goes on a new one");
                self.discard(generation).await;
                continue;
            }
            match ready.send_request(head, end_of_stream) {
                Ok((response, body)) => {
                    *cached = Some((generation, ready, state));
                    return Ok((response, body, InFlight::enter(&self.shared.in_flight)));
                }
                Err(e) => {
                    self.discard(generation).await;
                    return Err(Status::unavailable(format!("cannot start the call: {e}")));
                }
            }
        }
        Err(Status::unavailable("no connection"))
    }

    /// Sends any HTTP request on this channel's connection (see the
    /// `tower_service::Service` impl).
    async fn send_http<B>(self, request: http::Request<B>) -> Result<http::Response<Body>, Status>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = request.into_parts();
        // Requests made for a service usually carry only the path; the
        // connection needs the scheme and authority too.
        if parts.uri.scheme().is_none() || parts.uri.authority().is_none() {
            let mut uri = std::mem::take(&mut parts.uri).into_parts();
            uri.scheme
                .get_or_insert_with(|| self.shared.endpoint.scheme.clone());
            uri.authority
                .get_or_insert_with(|| self.shared.endpoint.authority.clone());
            uri.path_and_query
                .get_or_insert_with(|| PathAndQuery::from_static("/"));
            parts.uri = Uri::from_parts(uri)
                .map_err(|e| Status::internal(format!("invalid request URI: {e}")))?;
        }
        let head = http::Request::from_parts(parts, ());
        let empty = body.is_end_stream();
        let (response, mut send, in_flight) = self.start_call(&mut None, head, empty).await?;
        let mut sender = None;
        if !empty {
            let mut body = Box::pin(body);
            // A body of one chunk (a unary request) goes out right here, with
            // END_STREAM; anything longer gets a task that sends it as the
            // peer's flow control allows.
            let first = poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
            match first {
                Poll::Ready(Some(Ok(frame))) if frame.is_data() && body.is_end_stream() => {
                    let data = frame.into_data().unwrap_or_default();
                    if let Err(e) = send.send_data(data, true) {
                        // The server may have answered (and closed the stream)
                        // already; then its answer is the result.
                        return match futures_util::FutureExt::now_or_never(response) {
                            Some(Ok(r)) => Ok(r.map(|recv| Body::h2_client(recv, None, in_flight))),
                            _ => Err(Status::from(e)),
                        };
                    }
                }
                Poll::Ready(None) => {
                    let _ = send.send_data(Bytes::new(), true);
                }
                Poll::Ready(Some(Err(e))) => {
                    send.send_reset(h2::Reason::CANCEL);
                    return Err(status_from_error(e.into()));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    let task = tokio::spawn(send_body(body, send, Some(frame)));
                    sender = Some(AbortOnDrop(Some(task.abort_handle())));
                }
                Poll::Pending => {
                    let task = tokio::spawn(send_body(body, send, None));
                    sender = Some(AbortOnDrop(Some(task.abort_handle())));
                }
            }
        }
        // Dropping this future before the response arrives drops `sender`,
        // which stops the task (and the stream is reset).
        let response = response.await.map_err(Status::from)?;
        Ok(response.map(|recv| Body::h2_client(recv, sender, in_flight)))
    }
}

/// What the channel's `tower_service::Service` impl returns: the response
/// head, with a [`Body`] that streams the DATA frames and then the trailers.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, Status>> + Send + 'static>>;

/// The channel as a tower service: each request becomes one HTTP/2 stream on
/// the channel's connection (connecting, or reconnecting, first if need be).
/// A request that names no scheme or authority (just a path, as
/// [`Client::with_service`] sends) gets the endpoint's. The body is sent as
/// the server's flow control allows; dropping the response (or its body)
/// resets the stream. It is always ready: calls wait for a connection, and
/// for HTTP/2 concurrency, when they are made.
impl<B> tower_service::Service<http::Request<B>> for Channel
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Status;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> ResponseFuture {
        Box::pin(self.clone().send_http(request))
    }
}

/// Sends the rest of a request body (starting with `first`, if the caller
/// already took it) on `send`: data as the peer's flow-control window allows,
/// then trailers or END_STREAM. A failing body resets the stream.
async fn send_body<B>(
    mut body: Pin<Box<B>>,
    mut send: h2::SendStream<Bytes>,
    mut first: Option<http_body::Frame<Bytes>>,
) where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    loop {
        let frame = match first.take() {
            Some(frame) => frame,
            None => match poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    let status = status_from_error(e.into());
                    tracing::debug!(%status, "request body failed; cancelling the call");
                    send.send_reset(h2::Reason::CANCEL);
                    return;
                }
                None => {
                    let _ = send.send_data(Bytes::new(), true);
                    return;
                }
            },
        };
        match frame.into_data() {
            Ok(data) => {
                let end = body.is_end_stream();
                if send_with_capacity(&mut send, data, end).await.is_err() || end {
                    return;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    let _ = send.send_trailers(trailers);
                    return;
                }
            }
        }
    }
}

/// Headers every call of a client sends, built once per channel or client.
fn base_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(TE, HeaderValue::from_static("trailers"));
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(
        "grpc-accept-encoding",
        compression::supported_accept_encoding(),
    );
    headers
}

/// The headers one call adds to the base ones.
fn add_call_headers(
    headers: &mut HeaderMap,
    timeout: Option<Duration>,
    compression: Option<CompressionEncoding>,
    metadata: &MetadataMap,
) {
    if let Some(timeout) = timeout {
        headers.insert("grpc-timeout", encode_timeout(timeout));
    }
    if let Some(enc) = compression {
        headers.insert("grpc-encoding", HeaderValue::from_static(enc.as_str()));
    }
    metadata.extend_headers(headers);
}

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
    /// (a `Status` inside an error is kept, see [`status_from_error`]).
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
    /// channel's [`Endpoint::timeout`], none through a service).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs `interceptor` before every call of this client (and of its
    /// clones made after this): it gets the call's
    /// [`Request<()>`](super::Request) (metadata, path, timeout) and returns
    /// it, with metadata added (credentials, say), or fails the call with a
    /// status. It runs within the call's deadline; the deadline itself is
    /// fixed when the call is made. Added interceptors run in order. See
    /// [`intercept`](super::intercept).
    pub fn with_interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors = self.interceptors.then(interceptor);
        self
    }

    /// Tells `observer` of every call of this client (and of its clones
    /// made after this), after the observers of its channel's
    /// [`Endpoint::observer`]: see [`observe`](super::observe).
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

/// The request side of a streaming call: the messages still to send, the
/// stream they go on, and what encodes them.
struct RequestSender<S> {
    messages: Pin<Box<S>>,
    body: h2::SendStream<Bytes>,
    compression: Option<CompressionEncoding>,
    per_message: Option<super::MessageCompression>,
    max_send: usize,
    sizes: SizeCache,
    buf: BytesMut,
    // A watched call's record, that the messages sent count into.
    record: Option<Arc<CallRecord>>,
}

impl<S, M> RequestSender<S>
where
    S: futures_core::Stream<Item = M> + Send + 'static,
    M: Message,
{
    /// Encodes `message` and every one the stream already has ready into
    /// `buf`, up to about BATCH_BYTES: `Some(true)` if the stream ended,
    /// `None` if a message could not be encoded (the call is then reset).
    fn fill(&mut self, mut message: M, cx: &mut Context<'_>) -> Option<bool> {
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
    fn send_ready(&mut self) -> bool {
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
    async fn run(mut self) {
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
async fn opened(
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
        if status.code() != super::Code::Ok {
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

pin_project_lite::pin_project! {
    /// A client's stream of request messages as an HTTP body, for the
    /// service path: messages are encoded as they are polled, and those the
    /// stream has ready together (up to BATCH_BYTES) go in one chunk.
    struct MessagesBody<S> {
        #[pin]
        messages: S,
        compression: Option<(CompressionEncoding, Option<super::MessageCompression>)>,
        max_send: usize,
        sizes: SizeCache,
        buf: BytesMut,
        done: bool,
        record: Option<Arc<CallRecord>>,
    }
}

impl<S> MessagesBody<S> {
    fn new(
        messages: S,
        compression: Option<(CompressionEncoding, Option<super::MessageCompression>)>,
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
                Ok(_) if *this.ends => record.end(super::Code::Ok, ""),
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
