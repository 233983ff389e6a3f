//! Who is on the other end of a server's connection: [`PeerInfo`], made
//! once per connection when it is accepted and shared by its calls.

use std::net::SocketAddr;

#[cfg(feature = "tls")]
use super::tls::TlsInfo;

/// The peer of a call's connection, as the server accepted it: its address
/// (for TCP) and, over TLS, what the handshake established. Handlers and
/// interceptors read it from [`Request::peer`](super::Request::peer).
#[derive(Clone, Debug)]
pub struct PeerInfo {
    addr: Option<SocketAddr>,
    #[cfg(feature = "tls")]
    tls: Option<TlsInfo>,
}

impl PeerInfo {
    /// A TCP peer at `addr`.
    pub(crate) fn tcp(addr: SocketAddr) -> Self {
        Self {
            addr: Some(addr),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// A Unix domain socket's peer (unnamed, as clients' are).
    pub(crate) fn unix() -> Self {
        Self {
            addr: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
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
