//! Where and how to connect: an [`Endpoint`] and the connection it opens
//! (TCP or a Unix domain socket, TLS, the HTTP/2 handshake, keepalive).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::Uri;
use http::uri::{Authority, Scheme};
use tokio::net::TcpStream;

use super::keepalive::Keepalive;
use super::watch::{ConnState, Watched};

use super::Error;
use super::channel::{Channel, Shared};
use crate::transport::observe::{Observer, Observers};
use crate::transport::shared::LetOthersFirst;
use crate::transport::status::Status;
#[cfg(feature = "tls")]
use crate::transport::tls::{self, ClientTlsConfig, Connector};

/// Where and how to connect: `Endpoint::from_static("http://127.0.0.1:50051")`.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub(super) scheme: Scheme,
    pub(super) authority: Authority,
    // A Unix domain socket to connect to instead of `authority`'s host.
    pub(super) unix: Option<std::path::PathBuf>,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) timeout: Option<Duration>,
    pub(super) initial_stream_window: u32,
    pub(super) initial_connection_window: u32,
    pub(super) keepalive: super::keepalive::Settings,
    // The endpoint as given, which observers see as the calls' target.
    pub(super) target: Arc<str>,
    pub(super) observers: Observers,
    #[cfg(feature = "channelz")]
    pub(super) channelz: Option<crate::channelz::Channelz>,
    // The TLS handshake of an `https` endpoint; `None` there means the
    // platform's CAs and the host's name.
    #[cfg(feature = "tls")]
    pub(super) tls: Option<Arc<Connector>>,
}

/// A connection's two addresses, this end's and the server's: `None` for a
/// Unix domain socket's.
type Addrs = (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>);

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
    pub(super) fn unix(text: &str, path: &str) -> Result<Self, Error> {
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

    pub(super) fn with(
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
            keepalive: super::keepalive::Settings::default(),
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
    /// [`observe`](crate::transport::observe). Added observers are told in order.
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

    pub(super) async fn open(
        &self,
        shared: &Shared,
    ) -> Result<(SendRequest<Bytes>, Arc<ConnState>), Status> {
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
    pub(super) async fn secure<Io>(
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
    pub(super) fn connector(&self) -> Result<Option<Arc<Connector>>, Status> {
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
    pub(super) async fn connect_within<T>(
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
    pub(super) async fn open_unix(
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
    pub(super) async fn open_unix(
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
    pub(super) async fn handshake<Io>(
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
