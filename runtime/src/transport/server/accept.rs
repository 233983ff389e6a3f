//! Accepting: the listener's loop (under the cap on connections), and each
//! connection's handshakes (TLS if the server has it, then HTTP/2, together
//! under the handshake timeout) and loop, which takes its calls and hands
//! them to [`route`](super::route) and does what its [`Lifecycle`] says:
//! keepalive pings, GOAWAY when idle or aged, closing.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::peer::PeerInfo;
use super::super::shared::LetOthersFirst;
#[cfg(feature = "tls")]
use super::super::tls::ServerTls;
use super::keepalive::{Event, Lifecycle};
use super::route::{Router, Routes, dispatch};
use super::watch::{PingPolicy, Shared, Watched};

/// Where connections come from: a TCP listener, or (on Unix) a Unix domain
/// socket's.
pub(super) trait Listener {
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;

    /// The next connection, ready to serve, and who is on the other end.
    fn accept(&self) -> impl Future<Output = std::io::Result<(Self::Io, PeerInfo)>> + Send;

    /// The address it listens on, as channelz reports it.
    #[cfg(feature = "channelz")]
    fn channelz_address(&self) -> crate::channelz::SocketAddress;
}

impl Listener for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&self) -> std::io::Result<(Self::Io, PeerInfo)> {
        let (tcp, addr): (_, SocketAddr) = TcpListener::accept(self).await?;
        // Small replies go out at once, not after Nagle's delay.
        tcp.set_nodelay(true).ok();
        let local = tcp.local_addr().ok();
        Ok((tcp, PeerInfo::tcp(addr, local)))
    }

    #[cfg(feature = "channelz")]
    fn channelz_address(&self) -> crate::channelz::SocketAddress {
        use crate::channelz::SocketAddress;
        match self.local_addr() {
            Ok(addr) => SocketAddress::Tcp(addr),
            Err(_) => SocketAddress::Other("tcp listener".to_owned()),
        }
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept(&self) -> std::io::Result<(Self::Io, PeerInfo)> {
        let (stream, _) = tokio::net::UnixListener::accept(self).await?;
        Ok((stream, PeerInfo::unix()))
    }

    #[cfg(feature = "channelz")]
    fn channelz_address(&self) -> crate::channelz::SocketAddress {
        let path = self
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(std::path::Path::to_path_buf));
        crate::channelz::SocketAddress::Unix(path)
    }
}

/// The TLS a server's connections start with, if any.
#[cfg(feature = "tls")]
pub(super) type Tls = ServerTls;
/// Without the `tls` feature there is none to have.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub(super) enum Tls {}

/// What a server serves its connections with: the routing table, the
/// layered service in front of it if there are layers, its TLS if any.
pub(super) struct Serving {
    pub(super) router: Arc<Router>,
    pub(super) routes: Option<Routes>,
    pub(super) tls: Option<Tls>,
    /// Run when the shutdown signal comes, before the connections are told
    /// to go away (the health service's NOT_SERVING, the end of reflection
    /// streams).
    pub(super) on_shutdown: Vec<OnShutdown>,
}

/// Something to do when a graceful shutdown begins.
pub(super) type OnShutdown = Box<dyn FnOnce() + Send>;

/// Serves connections from `listener` until `signal` completes; then stops
/// accepting, has every connection send GOAWAY, and waits for them to end.
pub(super) async fn serve<L: Listener>(
    listener: L,
    signal: impl Future<Output = ()>,
    serving: Serving,
) {
    let Serving {
        router,
        routes,
        tls,
        on_shutdown,
    } = serving;
    let (stop_tx, stop_rx) = watch::channel(false);
    let cap = router
        .config
        .keepalive
        .max_connections
        .map(|n| Arc::new(Semaphore::new(n)));
    let mut connections = JoinSet::new();
    let mut signal = pin!(signal);
    loop {
        // At the cap, accept nothing until a connection ends.
        let permit = match &cap {
            None => None,
            Some(cap) => tokio::select! {
                () = &mut signal => break,
                permit = cap.clone().acquire_owned() => permit.ok(),
            },
        };
        tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((io, info)) => {
                    let spawned = Arc::new(AtomicUsize::new(0));
                    let unsent = Arc::new(AtomicUsize::new(0));
                    let peer = Peer {
                        info: Arc::new(info.with_unsent_replies(unsent.clone())),
                        router: router.clone(),
                        routes: routes.clone(),
                        spawned: spawned.clone(),
                        unsent,
                    };
                    let stop = stop_rx.clone();
                    let tls = tls.clone();
                    connections.spawn(LetOthersFirst::new(
                        async move {
                            serve_accepted(io, peer, tls, stop).await;
                            drop(permit);
                        },
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
    for hook in on_shutdown {
        hook();
    }
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
}

/// Who a connection serves: its peer, the routing table, the layered service
/// in front of it if there are layers, and the count of its calls running
/// on tasks of their own (for [`LetOthersFirst`]).
pub(super) struct Peer {
    /// Shared with every call, for [`Request::peer`](crate::transport::Request::peer).
    pub(super) info: Arc<PeerInfo>,
    pub(super) router: Arc<Router>,
    pub(super) routes: Option<Routes>,
    pub(super) spawned: Arc<AtomicUsize>,
    /// Reply bytes encoded and waiting for the client's window (see
    /// [`Server::max_unsent_reply_bytes`](super::Server::max_unsent_reply_bytes)).
    pub(super) unsent: Arc<AtomicUsize>,
}

/// Serves an accepted connection: its TLS handshake first if the server
/// has TLS (what it established joins the peer's info), then HTTP/2. Both
/// handshakes together must finish within the handshake timeout.
async fn serve_accepted<Io>(io: Io, peer: Peer, tls: Option<Tls>, stop: watch::Receiver<bool>)
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let timeout = peer.router.config.keepalive.handshake_timeout;
    let handshake_by = Instant::now() + timeout;
    let Some(tls) = tls else {
        return serve_connection(io, peer, stop, handshake_by).await;
    };
    #[cfg(not(feature = "tls"))]
    match tls {}
    #[cfg(feature = "tls")]
    match tokio::time::timeout_at(handshake_by, tls.accept(io)).await {
        Ok(Ok((stream, established))) => {
            let info = Arc::new(PeerInfo::clone(&peer.info).with_tls(established));
            serve_connection(stream, Peer { info, ..peer }, stop, handshake_by).await;
        }
        Ok(Err(why)) => tracing::debug!(peer = %peer.info, why, "connection refused"),
        Err(_) => tracing::debug!(
            peer = %peer.info,
            ?timeout,
            "no TLS handshake in time: connection closed"
        ),
    }
}

/// Serves one connection: HTTP/2 over any byte stream (TCP, a Unix domain
/// socket, TLS over either), its handshake done by `handshake_by`.
async fn serve_connection<Io>(
    io: Io,
    peer: Peer,
    mut stop: watch::Receiver<bool>,
    handshake_by: Instant,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Registered for channelz from the start: a connection that never gets
    // past its handshake is one to see too.
    #[cfg(feature = "channelz")]
    let peer = match &peer.router.channelz {
        Some(server) => {
            let socket = crate::channelz::transport::server_socket(server, &peer.info);
            let info = Arc::new(PeerInfo::clone(&peer.info).with_channelz_socket(socket));
            Peer { info, ..peer }
        }
        None => peer,
    };
    let config = &peer.router.config;
    let settings = &config.keepalive;
    let shared = Arc::new(Shared::default());
    let policy = PingPolicy {
        min_interval: settings.min_client_ping_interval,
        permit_without_calls: settings.permit_client_pings_without_calls,
    };
    let io = Watched::new(io, policy, shared.clone());
    let handshake = config.h2().handshake::<_, Bytes>(io);
    let mut conn = match tokio::time::timeout_at(handshake_by, handshake).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::debug!(peer = %peer.info, error = %e, "HTTP/2 handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(
                peer = %peer.info,
                timeout = ?settings.handshake_timeout,
                "no HTTP/2 preface in time: connection closed"
            );
            return;
        }
    };
    let mut life = Lifecycle::new(settings, shared.clone());
    // Taken when the first keepalive ping is due: once taken, h2 registers
    // a waker for it each time it polls the connection.
    let mut ping_pong: Option<h2::PingPong> = None;
    let mut stopping = *stop.borrow();
    if stopping {
        conn.graceful_shutdown();
        life.going_away();
    }
    let mut arrived = Vec::new();
    loop {
        shared.set_has_calls(conn.has_streams());
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
                                connection_error(&peer, &shared, &e);
                                ended = true;
                            }
                            Poll::Ready(None) => ended = true,
                            Poll::Pending => break,
                        }
                    }
                    for (request, respond) in arrived.drain(..) {
                        dispatch(&peer, request, respond);
                    }
                    if ended {
                        break;
                    }
                }
                Some(Err(e)) => {
                    connection_error(&peer, &shared, &e);
                    break;
                }
                None => break,
            },
            event = poll_fn(|cx| life.poll_next(cx)) => match event {
                Event::Ping => {
                    if ping_pong.is_none() {
                        ping_pong = conn.ping_pong();
                    }
                    let sent = ping_pong.as_mut().map(|p| p.send_ping(h2::Ping::opaque()));
                    match sent {
                        Some(Err(e)) => {
                            tracing::debug!(peer = %peer.info, error = %e, "cannot send a keepalive ping");
                        }
                        #[cfg(feature = "channelz")]
                        Some(Ok(())) => {
                            if let Some(socket) = peer.info.channelz_socket() {
                                socket.keep_alive_sent();
                            }
                        }
                        _ => {}
                    }
                }
                Event::CheckIdle => {
                    if life.check_idle(Instant::now(), conn.has_streams()) {
                        tracing::debug!(peer = %peer.info, "GOAWAY: idle for longer than the maximum");
                        conn.graceful_shutdown();
                    }
                }
                Event::GoAway(why) => {
                    tracing::debug!(peer = %peer.info, why, "GOAWAY");
                    conn.graceful_shutdown();
                }
                Event::Close(why) => {
                    tracing::debug!(peer = %peer.info, why, "connection closed");
                    break;
                }
            },
            pong = poll_fn(|cx| match ping_pong.as_mut() {
                Some(p) => p.poll_pong(cx),
                None => Poll::Pending,
            }), if life.awaiting_pong() => match pong {
                Ok(_) => life.pong(Instant::now()),
                Err(e) => {
                    tracing::debug!(peer = %peer.info, error = %e, "keepalive ping failed");
                    break;
                }
            },
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    conn.graceful_shutdown();
                    life.going_away();
                }
            }
        }
    }
}

fn connection_error(peer: &Peer, shared: &Shared, e: &h2::Error) {
    if shared.too_many_pings() {
        tracing::info!(peer = %peer.info, "GOAWAY too_many_pings: the client pinged more often than allowed");
    } else {
        tracing::debug!(peer = %peer.info, error = %e, "connection error");
    }
}
