//! The server side: [`Server`] accepts HTTP/2 connections and routes each
//! call, by its path `/package.Service/Method`, to a [`Service`] (the
//! `XServer` wrappers that generated code provides). [`Call`] runs one call
//! for a typed handler: it reads the request, applies the deadline, stops the
//! handler when the client cancels, and writes the response and status.
//!
//! One path from connection to reply, a file for each step:
//!
//! ```text
//!   accept   connection: HTTP/2 handshake under the server's limits, the
//!            calls that arrived together taken together, GOAWAY on shutdown
//!     |
//!   route    /package.Service/Method -> the Service (or straight to an
//!            HTTP error or UNIMPLEMENTED); through the tower layers first
//!            if there are any
//!     |
//!   call     request head parsed, handler run under the deadline, stopped
//!            when the client resets; its result an http::Response whose
//!            body encodes the reply
//!     |
//!   reply    that response written onto the stream as the client's flow
//!            control allows, trailers with the status last
//! ```
//!
//! `limits` holds the settings that bound what a peer can make the server
//! hold; `keepalive` a connection's life after its handshake (keepalive
//! pings, idle and age limits), and `watch` the client's pings, which h2
//! answers without telling. With tower layers ([`Server::layer`]) or through [`Routes`] the
//! steps are the same; the response then passes through the layers between
//! `call` and `reply`, boxed, while without layers nothing is boxed per call.
//!
//! Nothing is shared between calls but the immutable routing table. Each
//! call is first polled on its connection's task; one that does not finish
//! there (it waits for more of its request, a timer, another service...)
//! goes on a task of its own. Calls that finish at once, the usual unary
//! call, so cost no task, and the replies of the calls that arrived together
//! go out together, in one write.

mod accept;
mod call;
mod keepalive;
mod limits;
mod reply;
mod route;
mod watch;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::TcpListener;

use super::body::{Body, BoxError};
use super::boxed::SharedService;
use super::intercept::{Interceptor, Interceptors};
use super::observe::{Observer, Observers};
#[cfg(feature = "tls")]
use super::tls::ServerTls;

pub use call::Call;
pub use keepalive::{
    DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_KEEPALIVE_TIME, DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MIN_CLIENT_PING_INTERVAL,
};
pub use limits::{
    DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_HEADER_LIST_SIZE,
    DEFAULT_MAX_LOCAL_ERROR_RESET_STREAMS, DEFAULT_MAX_PENDING_ACCEPT_RESET_STREAMS,
    DEFAULT_MAX_UNSENT_REPLY_BYTES,
};
pub use route::{Routes, RoutesFuture};

use limits::Config;
use route::{Router, RoutesInner};

/// A service the server can route to. Generated `XServer` types implement it.
pub trait Service: Send + Sync + 'static {
    /// The full service name, `package.Service`.
    fn name(&self) -> &'static str;

    /// Runs `call` for `method` (the part of the path after the service),
    /// polled first on the connection's task and then, if it has to wait,
    /// on a task of its own. Unknown methods get `UNIMPLEMENTED`.
    fn call(&self, method: &str, call: Call);

    /// The `.proto` file that declares the service (generated code embeds
    /// it unless generated with `descriptors=false`): what reflection serves,
    /// with the files it imports.
    fn descriptor(&self) -> Option<&'static crate::descriptor::FileDescriptor> {
        None
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
    interceptors: Interceptors,
    observers: Observers,
    // Each wraps the routes in one tower layer; the first added is outermost.
    layers: Vec<Box<dyn FnOnce(Routes) -> Routes + Send>>,
    #[cfg(feature = "tls")]
    tls: Option<ServerTls>,
    #[cfg(feature = "health")]
    health: Option<crate::health::HealthReporter>,
    #[cfg(feature = "reflection")]
    reflection: bool,
    #[cfg(feature = "channelz")]
    channelz: Option<crate::channelz::Channelz>,
    // This server's entry in that registry, made when serving starts.
    #[cfg(feature = "channelz")]
    channelz_entry: Option<crate::channelz::ServerEntry>,
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

    /// Runs `interceptor` before every call to every service, after the
    /// request head is read and within the call's deadline: it sees the
    /// metadata, the path, the peer ([`Request::peer`](super::Request::peer):
    /// address, TLS client certificates) and may reject the call with a
    /// status or put values in its extensions for the handler. Added
    /// interceptors run in order. See [`intercept`](super::intercept).
    pub fn interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors = self.interceptors.then(interceptor);
        self
    }

    /// Tells `observer` of every call to every service as it starts and
    /// ends (method, peer, status, message counts and sizes, duration): see
    /// [`observe`](super::observe). Added observers are told in order. A
    /// call is also a `tracing` span whether or not there are observers.
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observers = self.observers.then(observer);
        self
    }

    /// Serves over TLS with `tls` (see [`tls`](super::tls)): every
    /// connection's TLS handshake, under the handshake timeout, comes before
    /// HTTP/2, and must negotiate `h2` by ALPN. Keep a clone of `tls` to
    /// [`reload`](ServerTls::reload) certificates while serving. A
    /// plaintext client is answered with GOAWAY `INADEQUATE_SECURITY`
    /// saying that TLS is required.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves the standard health service (`grpc.health.v1.Health`, see
    /// [`health`](crate::health)) with `reporter`'s statuses. When serving
    /// starts, every service added (before or after this) whose status was
    /// not set is marked `SERVING`; when a graceful shutdown begins,
    /// everything is marked `NOT_SERVING` before the server drains.
    #[cfg(feature = "health")]
    pub fn health(mut self, reporter: &crate::health::HealthReporter) -> Self {
        self.health = Some(reporter.clone());
        self.add_service(reporter.service())
    }

    /// Serves the standard reflection service, `grpc.reflection.v1` and
    /// `v1alpha` (see [`reflection`](crate::reflection)), for every service
    /// added (before or after this), from the descriptors generated code
    /// embeds, with their imports.
    #[cfg(feature = "reflection")]
    pub fn reflection(mut self) -> Self {
        self.reflection = true;
        self
    }

    /// Registers this server in `channelz` when serving starts (as a server
    /// named by its listening address, with that listen socket, and a
    /// socket per connection): every call counts into the server's and its
    /// connection's counters (calls started, succeeded, failed; streams,
    /// messages, keepalive pings). The server and its sockets leave the
    /// registry when serving ends. Share one registry between servers and
    /// channels to see them all.
    ///
    /// This does not serve the channelz service: add
    /// `channelz.service()` (see [`channelz`](crate::channelz)) where it
    /// should be answered. It tells whoever can call it every peer's
    /// address and TLS certificate, and what the process connects to: serve
    /// it where only operators reach it (a server of its own on an admin
    /// port, with the same registry), or behind an interceptor that checks
    /// who asks.
    #[cfg(feature = "channelz")]
    pub fn channelz(mut self, channelz: &crate::channelz::Channelz) -> Self {
        self.channelz = Some(channelz.clone());
        self
    }

    /// Whether every call gets a task of its own from the start (`true`),
    /// or is first polled on its connection's task and moves to a task of
    /// its own only when it has to wait (`false`, the default). The default
    /// saves a task per call and writes the replies of calls that arrived
    /// together in one write, but what a handler does before its first
    /// waiting `.await` then holds up the other calls on its connection:
    /// turn this on for handlers that compute for long before they wait
    /// (better still, move such work to `spawn_blocking`). A reply message
    /// of 256 KiB or more is encoded on tokio's blocking pool either way.
    pub fn spawn_every_call(mut self, on: bool) -> Self {
        self.config.spawn_every_call = on;
        self
    }

    /// Wraps every call, to every service, in a tower `layer`: the layer's
    /// service gets each call as an `http::Request<Body>` (headers,
    /// metadata and the body of length-prefixed messages) and returns the
    /// `http::Response` the server writes back. An error it returns is sent
    /// as the call's status (a [`Status`](super::Status) inside it is kept,
    /// see [`status_from_error`](super::status_from_error)), so a layer can
    /// refuse a call with `Err(Status::permission_denied(..))`.
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
        self.layers.push(Box::new(move |routes: Routes| {
            Routes::new(RoutesInner::Layered(SharedService::new(
                layer.layer(routes),
            )))
        }));
        self
    }

    /// Everything added so far, layers included, as one tower service from
    /// `http::Request<B>` to `http::Response<Body>`: to mount in another
    /// HTTP/2 server (hyper, axum), to wrap further, or to call directly.
    pub fn into_service(self) -> Routes {
        self.build().1
    }

    /// The routing table, the service that fronts it, and what to run when
    /// a graceful shutdown begins.
    #[cfg_attr(not(feature = "reflection"), allow(unused_mut))]
    fn build(mut self) -> (Arc<Router>, Routes, Vec<accept::OnShutdown>) {
        #[cfg_attr(not(feature = "reflection"), allow(unused_mut))]
        let mut on_shutdown: Vec<accept::OnShutdown> = Vec::new();
        #[cfg(feature = "reflection")]
        if self.reflection {
            use crate::reflection::Reflection;
            let mut names: Vec<String> = self.services.keys().map(|n| (*n).to_owned()).collect();
            names.extend(Reflection::NAMES.iter().map(|n| (*n).to_owned()));
            let mut files: Vec<_> = self
                .services
                .values()
                .filter_map(|s| s.descriptor())
                .collect();
            files.extend(Reflection::own_files());
            // Reflection streams last as long as their clients keep them
            // open: they end when the shutdown begins, so that it can drain.
            let (stop, stopping) = tokio::sync::watch::channel(false);
            on_shutdown.push(Box::new(move || {
                let _ = stop.send(true);
            }));
            let reflection = Reflection::new(names, files, stopping);
            self = self
                .add_service(crate::reflection::v1::ServerReflectionServer::new(
                    reflection.clone(),
                ))
                .add_service(crate::reflection::v1alpha::ServerReflectionServer::new(
                    reflection,
                ));
        }
        let router = Arc::new(Router {
            services: self.services,
            config: self.config,
            interceptors: self.interceptors,
            observers: self.observers,
            #[cfg(feature = "channelz")]
            channelz: self.channelz_entry,
        });
        let mut routes = Routes::new(RoutesInner::Router(router.clone()));
        // The last added wraps the routes first, leaving the first outermost.
        for wrap in self.layers.into_iter().rev() {
            routes = wrap(routes);
        }
        (router, routes, on_shutdown)
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
        self.serve_on(listener, signal).await;
        Ok(())
    }

    /// Serves connections from any listener (TCP, Unix) until `signal`.
    #[cfg_attr(not(feature = "channelz"), allow(unused_mut))]
    async fn serve_on(mut self, listener: impl accept::Listener, signal: impl Future<Output = ()>) {
        // Registered while serving: the entries leave when these are dropped.
        #[cfg(feature = "channelz")]
        let _listen_socket = match &self.channelz {
            Some(channelz) => {
                let address = listener.channelz_address();
                let entry = channelz.add_server(format!("rust-rpc server on {address}"));
                let socket = entry.add_listen_socket(address);
                self.observers = self
                    .observers
                    .then(crate::channelz::transport::ServerCalls(entry.clone()));
                self.channelz_entry = Some(entry);
                Some(socket)
            }
            None => None,
        };
        let layered = !self.layers.is_empty();
        #[cfg(feature = "tls")]
        let tls = self.tls.clone();
        #[cfg(not(feature = "tls"))]
        let tls = None;
        #[cfg(feature = "health")]
        let health = self.health.clone();
        #[cfg_attr(not(feature = "health"), allow(unused_mut))]
        let (router, routes, mut on_shutdown) = self.build();
        #[cfg(feature = "health")]
        if let Some(health) = health {
            for name in router.services.keys() {
                health.serving_unless_set(name);
            }
            on_shutdown.insert(0, Box::new(move || health.shutdown()));
        }
        // Without layers, calls take the direct path.
        let routes = layered.then_some(routes);
        let serving = accept::Serving {
            router,
            routes,
            tls,
            on_shutdown,
        };
        accept::serve(listener, signal, serving).await;
    }

    /// Serves on the Unix domain socket at `path` until `signal` completes,
    /// then shuts down as [`Server::serve_with_listener`] does. A stale
    /// socket file left at `path` by an earlier run is replaced; the file is
    /// removed when serving ends. Clients reach it as `unix:<path>`
    /// ([`Endpoint::new`](super::Endpoint::new)).
    #[cfg(unix)]
    pub async fn serve_unix(
        self,
        path: impl AsRef<std::path::Path>,
        signal: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let path = path.as_ref();
        let listener = match tokio::net::UnixListener::bind(path) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && !socket_in_use(path) => {
                std::fs::remove_file(path)?;
                tokio::net::UnixListener::bind(path)?
            }
            bound => bound?,
        };
        let served = self.serve_with_unix_listener(listener, signal).await;
        let _ = std::fs::remove_file(path);
        served
    }

    /// Serves connections from a Unix domain socket `listener` until
    /// `signal` completes, as [`Server::serve_with_listener`] does for TCP.
    #[cfg(unix)]
    pub async fn serve_with_unix_listener(
        self,
        listener: tokio::net::UnixListener,
        signal: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.serve_on(listener, signal).await;
        Ok(())
    }
}

/// Whether a server still listens on the socket file at `path` (a stale
/// file refuses connections).
#[cfg(unix)]
fn socket_in_use(path: &std::path::Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}
