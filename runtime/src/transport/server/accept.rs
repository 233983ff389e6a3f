//! Accepting: the listener's loop, and each connection's HTTP/2 handshake
//! and loop that takes its calls and hands them to [`route`](super::route).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::super::shared::LetOthersFirst;
use super::route::{Router, Routes, dispatch};

/// Serves connections from `listener` until `signal` completes; then stops
/// accepting, has every connection send GOAWAY, and waits for them to end.
pub(super) async fn serve(
    listener: TcpListener,
    signal: impl Future<Output = ()>,
    router: Arc<Router>,
    routes: Option<Routes>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut signal = pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, addr)) => {
                    // Small replies go out at once, not after Nagle's delay.
                    tcp.set_nodelay(true).ok();
                    let spawned = Arc::new(AtomicUsize::new(0));
                    let peer = Peer {
                        addr,
                        router: router.clone(),
                        routes: routes.clone(),
                        spawned: spawned.clone(),
                    };
                    connections.spawn(LetOthersFirst::new(
                        serve_connection(tcp, peer, stop_rx.clone()),
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
    pub(super) addr: SocketAddr,
    pub(super) router: Arc<Router>,
    pub(super) routes: Option<Routes>,
    pub(super) spawned: Arc<AtomicUsize>,
}

/// Serves one connection: HTTP/2 over any byte stream. Plain TCP today;
/// TLS (rustls) will hand over its decrypted stream here, after the
/// handshake and ALPN, and nothing below changes.
async fn serve_connection<Io>(io: Io, peer: Peer, mut stop: watch::Receiver<bool>)
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut conn = match peer.router.config.h2().handshake::<_, Bytes>(io).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(peer = %peer.addr, error = %e, "HTTP/2 handshake failed");
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
                                tracing::debug!(peer = %peer.addr, error = %e, "connection error");
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
                    tracing::debug!(peer = %peer.addr, error = %e, "connection error");
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
