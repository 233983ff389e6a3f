//! The data model: what is registered (servers, channels, subchannels,
//! sockets), the counters the transport bumps, and the handles that remove
//! an entity from the registry when the last of them is dropped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::v1::channel_connectivity_state::State;
use super::v1::channel_trace_event::Severity;

/// A channel's or subchannel's connectivity state, as channelz reports it
/// (`grpc.channelz.v1.ChannelConnectivityState.State`).
pub type ConnectivityState = State;

/// How serious a [trace event](ChannelEntry::trace_event) is
/// (`grpc.channelz.v1.ChannelTraceEvent.Severity`).
pub type TraceSeverity = Severity;

/// How many events a channel's or subchannel's trace keeps; older ones are
/// dropped (and still counted in `num_events_logged`).
pub const TRACE_CAPACITY: usize = 32;

/// Now, in nanoseconds since the Unix epoch; never 0 (which means "never"
/// in the counters), and saturating outside the range of `i64`.
pub(super) fn now_nanos() -> i64 {
    let nanos = match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    };
    if nanos == 0 { 1 } else { nanos }
}

/// A timestamp counter's value as a time: `None` for 0 ("never").
fn time_of(nanos: i64) -> Option<SystemTime> {
    if nanos == 0 {
        return None;
    }
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos > 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// The calls counted on a server, channel or subchannel: how many started,
/// how many ended with status OK and how many otherwise, and when the last
/// one started. Every update is one relaxed atomic operation; no lock.
#[derive(Debug, Default)]
pub struct CallCounters {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    /// Nanoseconds since the Unix epoch; 0 while no call has started.
    last_started: AtomicI64,
}

impl CallCounters {
    /// Counters at zero, no call ever started.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a call that starts now.
    pub fn call_started(&self) {
        self.started.fetch_add(1, Relaxed);
        self.last_started.store(now_nanos(), Relaxed);
    }

    /// Counts a call that ended: with status OK (`ok`) or with another.
    pub fn call_ended(&self, ok: bool) {
        if ok {
            self.succeeded.fetch_add(1, Relaxed);
        } else {
            self.failed.fetch_add(1, Relaxed);
        }
    }

    /// How many calls started.
    pub fn started(&self) -> u64 {
        self.started.load(Relaxed)
    }

    /// How many calls ended with status OK.
    pub fn succeeded(&self) -> u64 {
        self.succeeded.load(Relaxed)
    }

    /// How many calls ended with a status other than OK.
    pub fn failed(&self) -> u64 {
        self.failed.load(Relaxed)
    }

    /// When the last call started; `None` if none has.
    pub fn last_call_started(&self) -> Option<SystemTime> {
        time_of(self.last_started.load(Relaxed))
    }

    pub(super) fn last_started_nanos(&self) -> i64 {
        self.last_started.load(Relaxed)
    }
}

/// One end's address of a socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SocketAddress {
    /// An IP address and port (channelz `TcpIpAddress`).
    Tcp(SocketAddr),
    /// A Unix domain socket, by its path; `None` for an unnamed one
    /// (channelz `UdsAddress`).
    Unix(Option<PathBuf>),
    /// Any other kind of address, described for people to read (channelz
    /// `OtherAddress`).
    Other(String),
}

impl From<SocketAddr> for SocketAddress {
    fn from(addr: SocketAddr) -> Self {
        SocketAddress::Tcp(addr)
    }
}

impl std::fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketAddress::Tcp(addr) => write!(f, "{addr}"),
            SocketAddress::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            SocketAddress::Unix(None) => f.write_str("unix:(unnamed)"),
            SocketAddress::Other(name) => f.write_str(name),
        }
    }
}

/// What a TLS connection reports: the negotiated cipher suite and the two
/// ends' certificates (DER), each when known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSecurity {
    /// The cipher suite's standard name, such as
    /// `TLS13_AES_128_GCM_SHA256`.
    pub standard_name: Option<String>,
    /// This side's certificate, DER-encoded.
    pub local_certificate: Option<Vec<u8>>,
    /// The peer's certificate, DER-encoded.
    pub remote_certificate: Option<Vec<u8>>,
}

/// What is known of a connection when it is registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketInfo {
    /// This side's address.
    pub local: SocketAddress,
    /// The peer's address.
    pub remote: SocketAddress,
    /// The peer's name, when it differs from the target (e.g. the TLS
    /// server name of a client connection).
    pub remote_name: Option<String>,
    /// The connection's TLS details; `None` for a plaintext one.
    pub security: Option<TlsSecurity>,
}

/// The unchanging part of a socket and its counters.
#[derive(Debug)]
pub(super) struct SocketNode {
    pub(super) name: String,
    pub(super) local: SocketAddress,
    pub(super) remote: Option<SocketAddress>,
    pub(super) remote_name: Option<String>,
    pub(super) security: Option<TlsSecurity>,
    pub(super) streams_started: AtomicU64,
    pub(super) streams_succeeded: AtomicU64,
    pub(super) streams_failed: AtomicU64,
    pub(super) messages_sent: AtomicU64,
    pub(super) messages_received: AtomicU64,
    pub(super) keep_alives_sent: AtomicU64,
    pub(super) last_local_stream_created: AtomicI64,
    pub(super) last_remote_stream_created: AtomicI64,
    pub(super) last_message_sent: AtomicI64,
    pub(super) last_message_received: AtomicI64,
    /// [`NO_WINDOW`] while not reported.
    pub(super) local_flow_control_window: AtomicI64,
    /// [`NO_WINDOW`] while not reported.
    pub(super) remote_flow_control_window: AtomicI64,
}

/// A flow control window that was not reported.
pub(super) const NO_WINDOW: i64 = i64::MIN;

impl SocketNode {
    fn new(
        name: String,
        local: SocketAddress,
        remote: Option<SocketAddress>,
        remote_name: Option<String>,
        security: Option<TlsSecurity>,
    ) -> Self {
        Self {
            name,
            local,
            remote,
            remote_name,
            security,
            streams_started: AtomicU64::new(0),
            streams_succeeded: AtomicU64::new(0),
            streams_failed: AtomicU64::new(0),
            messages_sent: AtomicU64::new(0),
            messages_received: AtomicU64::new(0),
            keep_alives_sent: AtomicU64::new(0),
            last_local_stream_created: AtomicI64::new(0),
            last_remote_stream_created: AtomicI64::new(0),
            last_message_sent: AtomicI64::new(0),
            last_message_received: AtomicI64::new(0),
            local_flow_control_window: AtomicI64::new(NO_WINDOW),
            remote_flow_control_window: AtomicI64::new(NO_WINDOW),
        }
    }
}

/// One kept trace event.
#[derive(Clone, Debug)]
pub(super) struct TraceEvent {
    pub(super) description: String,
    pub(super) severity: Severity,
    pub(super) at_nanos: i64,
    /// The subchannel the event is about, by id and name.
    pub(super) subchannel: Option<(u64, String)>,
}

/// A bounded log of a channel's or subchannel's events.
#[derive(Debug)]
pub(super) struct Trace {
    pub(super) created_nanos: i64,
    pub(super) logged: u64,
    pub(super) events: VecDeque<TraceEvent>,
}

impl Trace {
    fn new() -> Self {
        Self {
            created_nanos: now_nanos(),
            logged: 0,
            events: VecDeque::new(),
        }
    }

    fn push(&mut self, event: TraceEvent) {
        self.logged = self.logged.saturating_add(1);
        if self.events.len() >= TRACE_CAPACITY {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

/// What channels and subchannels share: target, state, calls, trace.
#[derive(Debug)]
pub(super) struct ChannelNode {
    pub(super) target: String,
    pub(super) state: AtomicI32,
    pub(super) calls: CallCounters,
    pub(super) trace: Mutex<Trace>,
}

impl ChannelNode {
    fn new(target: String, what: &str) -> Self {
        let node = Self {
            target,
            state: AtomicI32::new(State::Idle as i32),
            calls: CallCounters::new(),
            trace: Mutex::new(Trace::new()),
        };
        node.log(Severity::CtInfo, format!("{what} created"), None);
        node
    }

    pub(super) fn trace(&self) -> MutexGuard<'_, Trace> {
        self.trace.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log(&self, severity: Severity, description: String, subchannel: Option<(u64, String)>) {
        self.trace().push(TraceEvent {
            description,
            severity,
            at_nanos: now_nanos(),
            subchannel,
        });
    }

    fn set_state(&self, state: State) {
        let old = self.state.swap(state as i32, Relaxed);
        if old != state as i32 {
            self.log(
                Severity::CtInfo,
                format!("connectivity state changed to {}", state_name(state)),
                None,
            );
        }
    }

    pub(super) fn state(&self) -> State {
        match self.state.load(Relaxed) {
            1 => State::Idle,
            2 => State::Connecting,
            3 => State::Ready,
            4 => State::TransientFailure,
            5 => State::Shutdown,
            _ => State::Unknown,
        }
    }
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Unknown => "UNKNOWN",
        State::Idle => "IDLE",
        State::Connecting => "CONNECTING",
        State::Ready => "READY",
        State::TransientFailure => "TRANSIENT_FAILURE",
        State::Shutdown => "SHUTDOWN",
    }
}

/// A server's unchanging part and counters.
#[derive(Debug)]
pub(super) struct ServerNode {
    pub(super) name: String,
    pub(super) calls: CallCounters,
}

/// Which entity a socket belongs to.
#[derive(Clone, Copy, Debug)]
enum SocketParent {
    ServerListener(u64),
    ServerConnection(u64),
    Subchannel(u64),
}

pub(super) struct ServerRecord {
    pub(super) node: Arc<ServerNode>,
    pub(super) listen_sockets: BTreeSet<u64>,
    pub(super) sockets: BTreeSet<u64>,
}

pub(super) struct ChannelRecord {
    pub(super) node: Arc<ChannelNode>,
    pub(super) subchannels: BTreeSet<u64>,
}

pub(super) struct SubchannelRecord {
    pub(super) node: Arc<ChannelNode>,
    parent: u64,
    pub(super) sockets: BTreeSet<u64>,
}

pub(super) struct SocketRecord {
    pub(super) node: Arc<SocketNode>,
    parent: SocketParent,
}

/// Everything registered, by id; each map in id order.
#[derive(Default)]
pub(super) struct Maps {
    pub(super) servers: BTreeMap<u64, ServerRecord>,
    pub(super) channels: BTreeMap<u64, ChannelRecord>,
    pub(super) subchannels: BTreeMap<u64, SubchannelRecord>,
    pub(super) sockets: BTreeMap<u64, SocketRecord>,
}

/// The registry behind a [`Channelz`](super::Channelz) handle.
#[derive(Default)]
pub(super) struct Registry {
    /// The last id handed out; ids are one sequence across every kind.
    last_id: AtomicU64,
    maps: Mutex<Maps>,
}

impl Registry {
    pub(super) fn maps(&self) -> MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_id(&self) -> u64 {
        self.last_id.fetch_add(1, Relaxed) + 1
    }

    pub(super) fn add_server(self: &Arc<Self>, name: String) -> ServerEntry {
        let id = self.next_id();
        let node = Arc::new(ServerNode {
            name,
            calls: CallCounters::new(),
        });
        self.maps().servers.insert(
            id,
            ServerRecord {
                node: node.clone(),
                listen_sockets: BTreeSet::new(),
                sockets: BTreeSet::new(),
            },
        );
        ServerEntry(Arc::new(Handle::new(self, id, Kind::Server, node)))
    }

    pub(super) fn add_channel(self: &Arc<Self>, target: String) -> ChannelEntry {
        let id = self.next_id();
        let node = Arc::new(ChannelNode::new(target, "channel"));
        self.maps().channels.insert(
            id,
            ChannelRecord {
                node: node.clone(),
                subchannels: BTreeSet::new(),
            },
        );
        ChannelEntry(Arc::new(Handle::new(self, id, Kind::Channel, node)))
    }

    fn add_subchannel(self: &Arc<Self>, parent: u64, target: String) -> SubchannelEntry {
        let id = self.next_id();
        let node = Arc::new(ChannelNode::new(target, "subchannel"));
        {
            let mut maps = self.maps();
            if let Some(channel) = maps.channels.get_mut(&parent) {
                channel.subchannels.insert(id);
            }
            maps.subchannels.insert(
                id,
                SubchannelRecord {
                    node: node.clone(),
                    parent,
                    sockets: BTreeSet::new(),
                },
            );
        }
        SubchannelEntry(Arc::new(Handle::new(self, id, Kind::Subchannel, node)))
    }

    fn add_socket(self: &Arc<Self>, parent: SocketParent, node: SocketNode) -> SocketEntry {
        let id = self.next_id();
        let node = Arc::new(node);
        {
            let mut maps = self.maps();
            // A parent that already left (a subchannel whose channel was
            // dropped) registers nothing: the socket would be an orphan.
            let registered = match parent {
                SocketParent::ServerListener(server) => maps
                    .servers
                    .get_mut(&server)
                    .map(|s| s.listen_sockets.insert(id)),
                SocketParent::ServerConnection(server) => {
                    maps.servers.get_mut(&server).map(|s| s.sockets.insert(id))
                }
                SocketParent::Subchannel(sub) => {
                    maps.subchannels.get_mut(&sub).map(|s| s.sockets.insert(id))
                }
            };
            if registered.is_some() {
                maps.sockets.insert(
                    id,
                    SocketRecord {
                        node: node.clone(),
                        parent,
                    },
                );
            }
        }
        SocketEntry(Arc::new(Handle::new(self, id, Kind::Socket, node)))
    }

    /// Takes an entity (and what it owns) out of the maps. What is removed
    /// drops under the lock, which is fine: no node's drop takes it.
    fn remove(&self, kind: Kind, id: u64) {
        let mut maps = self.maps();
        let maps = &mut *maps;
        match kind {
            Kind::Server => {
                if let Some(server) = maps.servers.remove(&id) {
                    for socket in server.listen_sockets.iter().chain(&server.sockets) {
                        maps.sockets.remove(socket);
                    }
                }
            }
            Kind::Channel => {
                if let Some(channel) = maps.channels.remove(&id) {
                    for sub in &channel.subchannels {
                        if let Some(sub) = maps.subchannels.remove(sub) {
                            for socket in &sub.sockets {
                                maps.sockets.remove(socket);
                            }
                        }
                    }
                }
            }
            Kind::Subchannel => {
                if let Some(sub) = maps.subchannels.remove(&id) {
                    if let Some(channel) = maps.channels.get_mut(&sub.parent) {
                        channel.subchannels.remove(&id);
                    }
                    for socket in &sub.sockets {
                        maps.sockets.remove(socket);
                    }
                }
            }
            Kind::Socket => {
                if let Some(socket) = maps.sockets.remove(&id) {
                    match socket.parent {
                        SocketParent::ServerListener(server) => {
                            if let Some(s) = maps.servers.get_mut(&server) {
                                s.listen_sockets.remove(&id);
                            }
                        }
                        SocketParent::ServerConnection(server) => {
                            if let Some(s) = maps.servers.get_mut(&server) {
                                s.sockets.remove(&id);
                            }
                        }
                        SocketParent::Subchannel(sub) => {
                            if let Some(s) = maps.subchannels.get_mut(&sub) {
                                s.sockets.remove(&id);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Server,
    Channel,
    Subchannel,
    Socket,
}

/// What every entry handle shares: the registry, the id, the node; when
/// the last clone drops, the entity leaves the registry.
struct Handle<T> {
    registry: Arc<Registry>,
    id: u64,
    kind: Kind,
    node: Arc<T>,
}

impl<T> Handle<T> {
    fn new(registry: &Arc<Registry>, id: u64, kind: Kind, node: Arc<T>) -> Self {
        Self {
            registry: registry.clone(),
            id,
            kind,
            node,
        }
    }
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        self.registry.remove(self.kind, self.id);
    }
}

/// A server registered with [`Channelz::add_server`](super::Channelz::add_server):
/// its call counters and its sockets. Cheap to clone; when the last clone
/// is dropped, the server and its sockets leave the registry.
#[derive(Clone)]
pub struct ServerEntry(Arc<Handle<ServerNode>>);

impl std::fmt::Debug for ServerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerEntry")
            .field("id", &self.0.id)
            .field("name", &self.0.node.name)
            .finish_non_exhaustive()
    }
}

impl ServerEntry {
    /// The server's channelz id.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The name it was registered with.
    pub fn name(&self) -> &str {
        &self.0.node.name
    }

    /// The calls that came in to it.
    pub fn calls(&self) -> &CallCounters {
        &self.0.node.calls
    }

    /// Registers a socket it listens on, bound to `local`; reported in
    /// `Server.listen_socket` and by `GetSocket`.
    pub fn add_listen_socket(&self, local: SocketAddress) -> SocketEntry {
        let name = local.to_string();
        let node = SocketNode::new(name, local, None, None, None);
        self.0
            .registry
            .add_socket(SocketParent::ServerListener(self.0.id), node)
    }

    /// Registers a connection it accepted; reported by `GetServerSockets`
    /// and `GetSocket`.
    pub fn add_socket(&self, info: SocketInfo) -> SocketEntry {
        let node = connection(info);
        self.0
            .registry
            .add_socket(SocketParent::ServerConnection(self.0.id), node)
    }
}

fn connection(info: SocketInfo) -> SocketNode {
    let name = format!("{} -> {}", info.local, info.remote);
    SocketNode::new(
        name,
        info.local,
        Some(info.remote),
        info.remote_name,
        info.security,
    )
}

/// What a channel and a subchannel both are (a `ChannelNode`: target,
/// state, calls, trace), written once for both entry types.
macro_rules! channel_like {
    ($entry:ident, $what:literal) => {
        impl $entry {
            #[doc = concat!("The ", $what, "'s channelz id.")]
            pub fn id(&self) -> u64 {
                self.0.id
            }

            /// The target it was registered with.
            pub fn target(&self) -> &str {
                &self.0.node.target
            }

            /// The calls started on it.
            pub fn calls(&self) -> &CallCounters {
                &self.0.node.calls
            }

            /// Its connectivity state (`IDLE` when registered).
            pub fn state(&self) -> ConnectivityState {
                self.0.node.state()
            }

            /// Sets its connectivity state; a change is logged in its trace.
            pub fn set_state(&self, state: ConnectivityState) {
                self.0.node.set_state(state);
            }

            /// Logs an event in its trace (which keeps the last
            /// [`TRACE_CAPACITY`] events).
            pub fn trace_event(&self, severity: TraceSeverity, description: impl Into<String>) {
                self.0.node.log(severity, description.into(), None);
            }
        }
    };
}

/// A channel (a client's connections to one target) registered with
/// [`Channelz::add_channel`](super::Channelz::add_channel): its state,
/// calls, trace and subchannels. Cheap to clone; when the last clone is
/// dropped, the channel, its subchannels and their sockets leave the
/// registry.
#[derive(Clone)]
pub struct ChannelEntry(Arc<Handle<ChannelNode>>);

impl std::fmt::Debug for ChannelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelEntry")
            .field("id", &self.0.id)
            .field("target", &self.0.node.target)
            .field("state", &self.0.node.state())
            .finish_non_exhaustive()
    }
}

channel_like!(ChannelEntry, "channel");

impl ChannelEntry {
    /// Registers a subchannel of it (one connection target, e.g. one
    /// resolved address); its creation is logged in the channel's trace.
    pub fn add_subchannel(&self, target: impl Into<String>) -> SubchannelEntry {
        let target = target.into();
        let sub = self.0.registry.add_subchannel(self.0.id, target.clone());
        self.0.node.log(
            Severity::CtInfo,
            format!("subchannel {} created", sub.id()),
            Some((sub.id(), target)),
        );
        sub
    }
}

/// A subchannel registered with [`ChannelEntry::add_subchannel`]: its
/// state, calls, trace and sockets. Cheap to clone; when the last clone is
/// dropped, it and its sockets leave the registry.
#[derive(Clone)]
pub struct SubchannelEntry(Arc<Handle<ChannelNode>>);

impl std::fmt::Debug for SubchannelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubchannelEntry")
            .field("id", &self.0.id)
            .field("target", &self.0.node.target)
            .field("state", &self.0.node.state())
            .finish_non_exhaustive()
    }
}

channel_like!(SubchannelEntry, "subchannel");

impl SubchannelEntry {
    /// Registers a connection it made; reported in `Subchannel.socket_ref`
    /// and by `GetSocket`.
    pub fn add_socket(&self, info: SocketInfo) -> SocketEntry {
        let node = connection(info);
        self.0
            .registry
            .add_socket(SocketParent::Subchannel(self.0.id), node)
    }
}

/// A socket (a connection, or a listener) registered with
/// [`ServerEntry::add_socket`], [`ServerEntry::add_listen_socket`] or
/// [`SubchannelEntry::add_socket`], and its counters. Every update is a
/// relaxed atomic operation or two; no lock. Cheap to clone; when the last
/// clone is dropped, the socket leaves the registry.
#[derive(Clone)]
pub struct SocketEntry(Arc<Handle<SocketNode>>);

impl std::fmt::Debug for SocketEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketEntry")
            .field("id", &self.0.id)
            .field("name", &self.0.node.name)
            .finish_non_exhaustive()
    }
}

impl SocketEntry {
    /// The socket's channelz id.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The name it is reported under (its addresses).
    pub fn name(&self) -> &str {
        &self.0.node.name
    }

    /// Counts a stream that starts now: started by this side (`local`) or
    /// by the peer.
    pub fn stream_started(&self, local: bool) {
        let node = &self.0.node;
        node.streams_started.fetch_add(1, Relaxed);
        let last = if local {
            &node.last_local_stream_created
        } else {
            &node.last_remote_stream_created
        };
        last.store(now_nanos(), Relaxed);
    }

    /// Counts a stream that ended: well (`ok`: a client received the end
    /// of the stream, a server sent it) or not.
    pub fn stream_ended(&self, ok: bool) {
        let node = &self.0.node;
        if ok {
            node.streams_succeeded.fetch_add(1, Relaxed);
        } else {
            node.streams_failed.fetch_add(1, Relaxed);
        }
    }

    /// Counts a gRPC message sent now.
    pub fn message_sent(&self) {
        let node = &self.0.node;
        node.messages_sent.fetch_add(1, Relaxed);
        node.last_message_sent.store(now_nanos(), Relaxed);
    }

    /// Counts a gRPC message received now.
    pub fn message_received(&self) {
        let node = &self.0.node;
        node.messages_received.fetch_add(1, Relaxed);
        node.last_message_received.store(now_nanos(), Relaxed);
    }

    /// Counts `count` gRPC messages sent, the last of them now (a call's
    /// messages, counted when it ends).
    pub fn messages_sent(&self, count: u64) {
        if count > 0 {
            let node = &self.0.node;
            node.messages_sent.fetch_add(count, Relaxed);
            node.last_message_sent.store(now_nanos(), Relaxed);
        }
    }

    /// Counts `count` gRPC messages received, the last of them now.
    pub fn messages_received(&self, count: u64) {
        if count > 0 {
            let node = &self.0.node;
            node.messages_received.fetch_add(count, Relaxed);
            node.last_message_received.store(now_nanos(), Relaxed);
        }
    }

    /// Counts a keepalive (an HTTP/2 PING) sent.
    pub fn keep_alive_sent(&self) {
        self.0.node.keep_alives_sent.fetch_add(1, Relaxed);
    }

    /// Reports the connection-level flow control windows: the one the peer
    /// granted this side (`local`) and the one this side granted the peer
    /// (`remote`). Unreported, they are left out.
    pub fn set_flow_control_windows(&self, local: i64, remote: i64) {
        let node = &self.0.node;
        node.local_flow_control_window
            .store(local.max(NO_WINDOW + 1), Relaxed);
        node.remote_flow_control_window
            .store(remote.max(NO_WINDOW + 1), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subchannel_that_outlives_its_channel_registers_no_socket() {
        let registry = Arc::new(Registry::default());
        let channel = registry.add_channel("t".to_owned());
        let sub = channel.add_subchannel("127.0.0.1:1");
        let kept = sub.add_socket(SocketInfo {
            local: SocketAddress::Other("a".to_owned()),
            remote: SocketAddress::Other("b".to_owned()),
            remote_name: None,
            security: None,
        });
        assert!(registry.maps().sockets.contains_key(&kept.id()));
        drop(channel);
        let late = sub.add_socket(SocketInfo {
            local: SocketAddress::Other("a".to_owned()),
            remote: SocketAddress::Other("b".to_owned()),
            remote_name: None,
            security: None,
        });
        late.message_sent();
        let maps = registry.maps();
        assert!(maps.sockets.is_empty() && maps.subchannels.is_empty());
    }

    #[test]
    fn call_counters_count_and_remember_the_last_start() {
        let calls = CallCounters::new();
        assert_eq!(
            (calls.started(), calls.succeeded(), calls.failed()),
            (0, 0, 0)
        );
        assert_eq!(calls.last_call_started(), None);
        let before = SystemTime::now();
        calls.call_started();
        calls.call_started();
        calls.call_started();
        calls.call_ended(true);
        calls.call_ended(false);
        calls.call_ended(false);
        let after = SystemTime::now();
        assert_eq!(
            (calls.started(), calls.succeeded(), calls.failed()),
            (3, 1, 2)
        );
        let last = calls.last_call_started().expect("a call started");
        // Nanosecond precision survives the round trip through i64.
        assert!(
            before <= last && last <= after,
            "{before:?} {last:?} {after:?}"
        );
    }

    #[test]
    fn call_counters_count_from_many_threads() {
        let calls = Arc::new(CallCounters::new());
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let calls = calls.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        calls.call_started();
                        calls.call_ended(i % 2 == 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a counting thread");
        }
        assert_eq!(
            (calls.started(), calls.succeeded(), calls.failed()),
            (4000, 2000, 2000)
        );
    }

    #[test]
    fn timestamps_zero_is_never() {
        assert_eq!(time_of(0), None);
        assert_eq!(
            time_of(1),
            Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(1))
        );
        assert!(now_nanos() > 0);
    }

    #[test]
    fn trace_keeps_the_last_events_and_counts_all() {
        let registry = Arc::new(Registry::default());
        let channel = registry.add_channel("dns:///x".to_owned());
        for i in 0..100 {
            channel.trace_event(TraceSeverity::CtWarning, format!("event {i}"));
        }
        let trace = channel.0.node.trace();
        // "channel created" and 100 more.
        assert_eq!(trace.logged, 101);
        assert_eq!(trace.events.len(), TRACE_CAPACITY);
        assert_eq!(
            trace.events.back().map(|e| e.description.as_str()),
            Some("event 99")
        );
    }

    #[test]
    fn state_changes_are_traced_once() {
        let registry = Arc::new(Registry::default());
        let sub = registry
            .add_channel("t".to_owned())
            .add_subchannel("127.0.0.1:1");
        assert_eq!(sub.state(), ConnectivityState::Idle);
        sub.set_state(ConnectivityState::Ready);
        sub.set_state(ConnectivityState::Ready);
        assert_eq!(sub.state(), ConnectivityState::Ready);
        let trace = sub.0.node.trace();
        let descriptions: Vec<&str> = trace
            .events
            .iter()
            .map(|e| e.description.as_str())
            .collect();
        assert_eq!(
            descriptions,
            ["subchannel created", "connectivity state changed to READY"]
        );
    }
}
