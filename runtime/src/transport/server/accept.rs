//! Accepting: the listener's loop (under the cap on connections), and each
//! connection's HTTP/2 handshake (under its timeout) and loop, which takes
//! its calls and hands them to [`route`](super::route) and does what its
//! [`Lifecycle`] says: keepalive pings, GOAWAY when idle or aged, closing.

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

use super::super::shared::LetOthersFirst;
use super::keepalive::{Event, Lifecycle};
use super::route::{Router, Routes, dispatch};
use super::watch::{PingPolicy, Shared, Watched};

/// Where connections come from: a TCP listener, or (on Unix) a Unix domain
/// socket's.
pub(super) trait Listener {
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;

    /// The next connection, ready to serve, and who is on the other end.
    fn accept(&self) -> impl Future<Output = std::io::Result<(Self::Io, PeerAddr)>> + Send;
}

impl Listener for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&self) -> std::io::Result<(Self::Io, PeerAddr)> {
        let (tcp, addr) = TcpListener::accept(self).await?;
        // Small replies go out at once, not after Nagle's delay.
        tcp.set_nodelay(true).ok();
        Ok((tcp, PeerAddr::Tcp(addr)))
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept(&self) -> std::io::Result<(Self::Io, PeerAddr)> {
        let (stream, _) = tokio::net::UnixListener::accept(self).await?;
        Ok((stream, PeerAddr::Unix))
    }
}

/// Who a connection is from, for the logs.
#[derive(Clone, Copy, Debug)]
pub(super) enum PeerAddr {
    Tcp(SocketAddr),
    /// A Unix domain socket's peer (unnamed, as clients' are).
    Unix,
}

impl core::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PeerAddr::Tcp(addr) => addr.fmt(f),
            PeerAddr::Unix => f.write_str("unix socket peer"),
        }
    }
}

/// Serves connections from `listener` until `signal` completes; then stops
/// accepting, has every connection send GOAWAY, and waits for them to end.
pub(super) async fn serve<L: Listener>(
    listener: L,
    signal: impl Future<Output = ()>,
    router: Arc<Router>,
    routes: Option<Routes>,
) {
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
                Ok((io, addr)) => {
                    let spawned = Arc::new(AtomicUsize::new(0));
                    let peer = Peer {
                        addr,
                        router: router.clone(),
                        routes: routes.clone(),
                        spawned: spawned.clone(),
                        unsent: Arc::default(),
                    };
                    let stop = stop_rx.clone();
                    connections.spawn(LetOthersFirst::new(
                        async move {
                            serve_connection(io, peer, stop).await;
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
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
}

/// Who a connection serves: its peer, the routing table, the layered service
/// in front of it if there are layers, and the count of its calls running
/// on tasks of their own (for [`LetOthersFirst`]).
pub(super) struct Peer {
    pub(super) addr: PeerAddr,
    pub(super) router: Arc<Router>,
    pub(super) routes: Option<Routes>,
    pub(super) spawned: Arc<AtomicUsize>,
    /// Reply bytes encoded and waiting for the client's window (see
    /// [`Server::max_unsent_reply_bytes`](super::Server::max_unsent_reply_bytes)).
    pub(super) unsent: Arc<AtomicUsize>,
}

/// Serves one connection: HTTP/2 over any byte stream, TCP or a Unix
/// domain socket; TLS (rustls) will hand over its decrypted stream here,
/// after the handshake and ALPN, and nothing below changes.
async fn serve_connection<Io>(io: Io, peer: Peer, mut stop: watch::Receiver<bool>)
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let config = &peer.router.config;
    let settings = &config.keepalive;
    let shared = Arc::new(Shared::default());
    let policy = PingPolicy {
        min_interval: settings.min_client_ping_interval,
        permit_without_calls: settings.permit_client_pings_without_calls,
    };
    let io = Watched::new(io, policy, shared.clone());
    let handshake = config.h2().handshake::<_, Bytes>(io);
    let mut conn = match tokio::time::timeout(settings.handshake_timeout, handshake).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::debug!(peer = %peer.addr, error = %e, "HTTP/2 handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(
                peer = %peer.addr,
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
                    if let Some(Err(e)) = sent {
                        tracing::debug!(peer = %peer.addr, error = %e, "cannot send a keepalive ping");
                    }
                }
                Event::CheckIdle => {
                    if life.check_idle(Instant::now(), conn.has_streams()) {
                        tracing::debug!(peer = %peer.addr, "GOAWAY: idle for longer than the maximum");
                        conn.graceful_shutdown();
                    }
                }
                Event::GoAway(why) => {
                    tracing::debug!(peer = %peer.addr, why, "GOAWAY");
                    conn.graceful_shutdown();
                }
                Event::Close(why) => {
                    tracing::debug!(peer = %peer.addr, why, "connection closed");
                    break;
                }
            },
            pong = poll_fn(|cx| match ping_pong.as_mut() {
                Some(p) => p.poll_pong(cx),
                None => Poll::Pending,
            }), if life.awaiting_pong() => match pong {
                Ok(_) => life.pong(Instant::now()),
                Err(e) => {
                    tracing::debug!(peer = %peer.addr, error = %e, "keepalive ping failed");
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
        tracing::info!(peer = %peer.addr, "GOAWAY too_many_pings: the client pinged more often than allowed");
    } else {
        tracing::debug!(peer = %peer.addr, error = %e, "connection error");
    }
}
