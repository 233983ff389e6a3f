//! Who is on the other end of a server's connection: [`PeerInfo`], made
//! once per connection when it is accepted and shared by its calls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

#[cfg(feature = "tls")]
use super::tls::TlsInfo;

/// The peer of a call's connection, as the server accepted it: its address
/// (for TCP) and, over TLS, what the handshake established. Handlers and
/// interceptors read it from [`Request::peer`](super::Request::peer).
#[derive(Clone, Debug)]
pub struct PeerInfo {
    addr: Option<SocketAddr>,
    local: Option<SocketAddr>,
    #[cfg(feature = "tls")]
    tls: Option<TlsInfo>,
    // The connection's channelz socket, when the server registers there.
    #[cfg(feature = "channelz")]
    socket: Option<crate::channelz::SocketEntry>,
    // The connection's count of reply bytes waiting for the client, for the
    // calls behind the server's layers (which find the peer, not the
    // connection).
    unsent: Option<Arc<AtomicUsize>>,
}

impl PeerInfo {
    /// This peer, on a connection whose waiting reply bytes `unsent` counts.
    pub(crate) fn with_unsent_replies(mut self, unsent: Arc<AtomicUsize>) -> Self {
        self.unsent = Some(unsent);
        self
    }

    /// The count of its connection's reply bytes waiting for the client.
    pub(crate) fn unsent_replies(&self) -> Option<&Arc<AtomicUsize>> {
        self.unsent.as_ref()
    }

    /// A TCP peer at `addr`, connected to this server's `local` address.
    pub(crate) fn tcp(addr: SocketAddr, local: Option<SocketAddr>) -> Self {
        Self {
            addr: Some(addr),
            local,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "channelz")]
            socket: None,
            unsent: None,
        }
    }

    /// A Unix domain socket's peer (unnamed, as clients' are).
    pub(crate) fn unix() -> Self {
        Self {
            addr: None,
            local: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "channelz")]
            socket: None,
            unsent: None,
        }
    }

    /// The same peer, its connection registered as channelz's `socket`.
    #[cfg(feature = "channelz")]
    pub(crate) fn with_channelz_socket(self, socket: crate::channelz::SocketEntry) -> Self {
        Self {
            socket: Some(socket),
            ..self
        }
    }

    /// The connection's channelz socket, if the server registers in one.
    #[cfg(feature = "channelz")]
    pub(crate) fn channelz_socket(&self) -> Option<&crate::channelz::SocketEntry> {
        self.socket.as_ref()
    }

    /// The server's own address of this connection (what the client
    /// connected to): `None` for a Unix domain socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// The same peer, over a TLS connection that established `tls`.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(self, tls: TlsInfo) -> Self {
        Self {
            tls: Some(tls),
            ..self
        }
    }

    /// The peer's address: `None` for a Unix domain socket.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// What the TLS handshake established (the client's certificates for
    /// mTLS, the SNI name); `None` on a plaintext connection.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }
}

impl core::fmt::Display for PeerInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.addr {
            Some(addr) => addr.fmt(f),
            None => f.write_str("unix socket peer"),
        }
    }
}
