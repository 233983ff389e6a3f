//! What ties this crate's own server and channels to a channelz registry:
//! [`Server::channelz`](crate::transport::Server::channelz) and
//! [`Endpoint::channelz`](crate::transport::Endpoint::channelz) register
//! into it, and these observers count every call into the entries (the
//! server's and its connection's socket; the channel's and its
//! subchannel's).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    ChannelEntry, ConnectivityState, SocketAddress, SocketEntry, SocketInfo, SubchannelEntry,
};
use super::{ServerEntry, TlsSecurity};
use crate::transport::observe::{CallEnd, CallInfo, Observer};
use crate::transport::{Code, PeerInfo};

/// A server's calls, counted into its entry and into the socket of the
/// connection each came on: a call is a stream the peer started; its
/// messages count when it ends.
pub(crate) struct ServerCalls(pub(crate) ServerEntry);

impl Observer for ServerCalls {
    fn call_started(&self, call: &CallInfo<'_>) {
        self.0.calls().call_started();
        if let Some(socket) = call.peer.and_then(PeerInfo::channelz_socket) {
            socket.stream_started(false);
        }
    }

    fn call_ended(&self, call: &CallInfo<'_>, end: &CallEnd<'_>) {
        let ok = end.code == Code::Ok;
        self.0.calls().call_ended(ok);
        if let Some(socket) = call.peer.and_then(PeerInfo::channelz_socket) {
            socket.stream_ended(ok);
            socket.messages_sent(end.sent.messages);
            socket.messages_received(end.received.messages);
        }
    }
}

/// The socket entry of a connection a server accepted from `peer` (its
/// address, the server's own end of it, its TLS details).
pub(crate) fn server_socket(server: &ServerEntry, peer: &PeerInfo) -> SocketEntry {
    let address = |addr: Option<SocketAddr>| match addr {
        Some(addr) => SocketAddress::Tcp(addr),
        None => SocketAddress::Unix(None),
    };
    #[cfg(feature = "tls")]
    let security = peer.tls().map(|tls| TlsSecurity {
        standard_name: tls.cipher_suite_name(),
        local_certificate: None,
        remote_certificate: tls.peer_certificates().first().map(|c| c.to_vec()),
    });
    #[cfg(not(feature = "tls"))]
    let security: Option<TlsSecurity> = None;
    server.add_socket(SocketInfo {
        local: address(peer.local_addr()),
        remote: address(peer.addr()),
        remote_name: None,
        security,
    })
}

/// A channel's place in the registry: its entry, its one subchannel (the
/// channel keeps one connection at a time, to its endpoint), and which
/// socket is the live connection (0 for none), so that an old connection
/// that ends after a new one is up does not make the channel idle.
pub(crate) struct ChannelGlue {
    channel: ChannelEntry,
    subchannel: SubchannelEntry,
    live: AtomicU64,
}

impl ChannelGlue {
    /// Registers a channel to `target` whose connections go to `authority`.
    pub(crate) fn new(channelz: &super::Channelz, target: &str, authority: &str) -> Arc<Self> {
        let channel = channelz.add_channel(target);
        let subchannel = channel.add_subchannel(authority);
        channel.set_state(ConnectivityState::Idle);
        subchannel.set_state(ConnectivityState::Idle);
        Arc::new(Self {
            channel,
            subchannel,
            live: AtomicU64::new(0),
        })
    }

    fn set_state(&self, state: ConnectivityState) {
        self.channel.set_state(state);
        self.subchannel.set_state(state);
    }

    /// A connection attempt begins.
    pub(crate) fn connecting(&self) {
        self.set_state(ConnectivityState::Connecting);
    }

    /// The attempt failed.
    pub(crate) fn failed(&self) {
        self.set_state(ConnectivityState::TransientFailure);
    }

    /// A connection from `local` to `remote` is up: its socket entry, which
    /// lives as long as the connection.
    pub(crate) fn connected(
        self: &Arc<Self>,
        local: Option<SocketAddr>,
        remote: Option<SocketAddr>,
    ) -> LiveSocket {
        let address = |addr: Option<SocketAddr>, unix: &str| match addr {
            Some(addr) => SocketAddress::Tcp(addr),
            None => SocketAddress::Other(unix.to_owned()),
        };
        let socket = self.subchannel.add_socket(SocketInfo {
            local: address(local, "unix socket"),
            remote: address(remote, self.subchannel.target()),
            remote_name: None,
            security: None,
        });
        self.live.store(socket.id(), Ordering::Release);
        self.set_state(ConnectivityState::Ready);
        LiveSocket {
            glue: self.clone(),
            socket,
        }
    }
}

/// A client connection's socket entry; when the connection ends (this is
/// dropped), the channel goes idle unless a newer connection is live.
pub(crate) struct LiveSocket {
    glue: Arc<ChannelGlue>,
    socket: SocketEntry,
}

impl Drop for LiveSocket {
    fn drop(&mut self) {
        let id = self.socket.id();
        let was_live = self
            .glue
            .live
            .compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if was_live {
            self.glue.set_state(ConnectivityState::Idle);
        }
    }
}

impl Observer for ChannelGlue {
    fn call_started(&self, _call: &CallInfo<'_>) {
        self.channel.calls().call_started();
        self.subchannel.calls().call_started();
    }

    fn call_ended(&self, _call: &CallInfo<'_>, end: &CallEnd<'_>) {
        let ok = end.code == Code::Ok;
        self.channel.calls().call_ended(ok);
        self.subchannel.calls().call_ended(ok);
    }
}
