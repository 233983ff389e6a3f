//! `grpc.channelz.v1.Channelz` answered from a registry: the entities are
//! picked under the registry's lock (clones of `Arc`s, a bounded number),
//! and the messages are built after it is released.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::registry::{
    ChannelNode, NO_WINDOW, Registry, ServerNode, SocketAddress, SocketNode, TlsSecurity, Trace,
};
use super::v1::{
    self, Address, Channel, ChannelConnectivityState, ChannelData, ChannelRef, ChannelTrace,
    ChannelTraceEvent, GetChannelRequest, GetChannelResponse, GetServerRequest, GetServerResponse,
    GetServerSocketsRequest, GetServerSocketsResponse, GetServersRequest, GetServersResponse,
    GetSocketRequest, GetSocketResponse, GetSubchannelRequest, GetSubchannelResponse,
    GetTopChannelsRequest, GetTopChannelsResponse, Security, Server, ServerData, ServerRef, Socket,
    SocketData, SocketRef, Subchannel, SubchannelRef,
};
use crate::transport::{Request, Response, Status};
use crate::wkt::{Int64Value, Timestamp};

/// How many entries a page holds when the request leaves `max_results` at 0
/// (or sends a negative value).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The most entries a page holds, whatever the request asks for, so that a
/// peer cannot make the service build a huge response.
pub const MAX_PAGE_SIZE: usize = 1000;

/// `grpc.channelz.v1.Channelz` over a [`Channelz`](super::Channelz)
/// registry; made by [`Channelz::service`](super::Channelz::service).
pub struct ChannelzService {
    pub(super) registry: Arc<Registry>,
}

impl std::fmt::Debug for ChannelzService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelzService").finish_non_exhaustive()
    }
}

/// The first id and the size of a page, from a request's `start_*_id` and
/// `max_results`, whatever their values.
fn page(start_id: i64, max_results: i64) -> (u64, usize) {
    let start = u64::try_from(start_id).unwrap_or(0);
    let size = match usize::try_from(max_results) {
        Ok(0) | Err(_) => DEFAULT_PAGE_SIZE,
        Ok(n) => n.min(MAX_PAGE_SIZE),
    };
    (start, size)
}

/// Up to `size` of the entries from `start` on, in id order, and whether
/// none comes after them.
fn take_page<'a, V: 'a, T>(
    entries: impl Iterator<Item = (&'a u64, V)>,
    size: usize,
    mut pick: impl FnMut(u64, V) -> T,
) -> (Vec<T>, bool) {
    let mut out = Vec::new();
    let mut entries = entries.peekable();
    while out.len() < size {
        match entries.next() {
            Some((id, v)) => out.push(pick(*id, v)),
            None => break,
        }
    }
    let end = entries.peek().is_none();
    (out, end)
}

/// A request's id as a registry key; `None` for ids no entity can have.
fn key(id: i64) -> Option<u64> {
    u64::try_from(id).ok().filter(|&id| id > 0)
}

/// A registry id as a channelz id; ids stay far below `i64::MAX`.
fn wire_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn saturate(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn count(value: &std::sync::atomic::AtomicU64) -> i64 {
    saturate(value.load(Relaxed))
}

fn timestamp(nanos: i64) -> Option<Timestamp> {
    if nanos == 0 {
        return None;
    }
    let seconds = nanos.div_euclid(1_000_000_000);
    // In 0..1e9, so it fits.
    let sub = nanos.rem_euclid(1_000_000_000) as i32;
    Some(Timestamp::new(seconds, sub))
}

fn window(value: &std::sync::atomic::AtomicI64) -> Option<Int64Value> {
    match value.load(Relaxed) {
        NO_WINDOW => None,
        value => Some(Int64Value {
            value,
            ..Default::default()
        }),
    }
}

fn address(addr: &SocketAddress) -> Address {
    use v1::address::{Address as Kind, OtherAddress, TcpIpAddress, UdsAddress};
    let kind = match addr {
        SocketAddress::Tcp(addr) => Kind::TcpipAddress(TcpIpAddress {
            ip_address: match addr.ip() {
                std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
                std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
            },
            port: i32::from(addr.port()),
            ..Default::default()
        }),
        SocketAddress::Unix(path) => Kind::UdsAddress(UdsAddress {
            filename: path
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..Default::default()
        }),
        SocketAddress::Other(name) => Kind::OtherAddress(OtherAddress {
            name: name.clone(),
            ..Default::default()
        }),
    };
    Address {
        address: Some(kind),
        ..Default::default()
    }
}

fn security(tls: &TlsSecurity) -> Security {
    use v1::security::{Model, Tls, tls::CipherSuite};
    Security {
        model: Some(Model::Tls(Tls {
            cipher_suite: tls.standard_name.clone().map(CipherSuite::StandardName),
            local_certificate: tls.local_certificate.clone().unwrap_or_default(),
            remote_certificate: tls.remote_certificate.clone().unwrap_or_default(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn socket_ref(id: u64, node: &SocketNode) -> SocketRef {
    SocketRef {
        socket_id: wire_id(id),
        name: node.name.clone(),
        ..Default::default()
    }
}

fn server_message(id: u64, node: &ServerNode, listen: &[(u64, Arc<SocketNode>)]) -> Server {
    Server {
        r#ref: Some(ServerRef {
            server_id: wire_id(id),
            name: node.name.clone(),
            ..Default::default()
        }),
        data: Some(ServerData {
            calls_started: saturate(node.calls.started()),
            calls_succeeded: saturate(node.calls.succeeded()),
            calls_failed: saturate(node.calls.failed()),
            last_call_started_timestamp: timestamp(node.calls.last_started_nanos()),
            ..Default::default()
        }),
        listen_socket: listen.iter().map(|(id, s)| socket_ref(*id, s)).collect(),
        ..Default::default()
    }
}

fn trace_message(trace: &Trace) -> ChannelTrace {
    use v1::channel_trace_event::ChildRef;
    ChannelTrace {
        num_events_logged: saturate(trace.logged),
        creation_timestamp: timestamp(trace.created_nanos),
        events: trace
            .events
            .iter()
            .map(|e| ChannelTraceEvent {
                description: e.description.clone(),
                severity: e.severity.into(),
                timestamp: timestamp(e.at_nanos),
                child_ref: e.subchannel.as_ref().map(|(id, name)| {
                    ChildRef::SubchannelRef(SubchannelRef {
                        subchannel_id: wire_id(*id),
                        name: name.clone(),
                        ..Default::default()
                    })
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn channel_data(node: &ChannelNode) -> ChannelData {
    ChannelData {
        state: Some(ChannelConnectivityState {
            state: node.state().into(),
            ..Default::default()
        }),
        target: node.target.clone(),
        trace: Some(trace_message(&node.trace())),
        calls_started: saturate(node.calls.started()),
        calls_succeeded: saturate(node.calls.succeeded()),
        calls_failed: saturate(node.calls.failed()),
        last_call_started_timestamp: timestamp(node.calls.last_started_nanos()),
        ..Default::default()
    }
}

fn channel_message(id: u64, node: &ChannelNode, subs: &[(u64, Arc<ChannelNode>)]) -> Channel {
    Channel {
        r#ref: Some(ChannelRef {
            channel_id: wire_id(id),
            name: node.target.clone(),
            ..Default::default()
        }),
        data: Some(channel_data(node)),
        subchannel_ref: subs
            .iter()
            .map(|(id, sub)| SubchannelRef {
                subchannel_id: wire_id(*id),
                name: sub.target.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn socket_message(id: u64, node: &SocketNode) -> Socket {
    Socket {
        r#ref: Some(socket_ref(id, node)),
        data: Some(SocketData {
            streams_started: count(&node.streams_started),
            streams_succeeded: count(&node.streams_succeeded),
            streams_failed: count(&node.streams_failed),
            messages_sent: count(&node.messages_sent),
            messages_received: count(&node.messages_received),
            keep_alives_sent: count(&node.keep_alives_sent),
            last_local_stream_created_timestamp: timestamp(
                node.last_local_stream_created.load(Relaxed),
            ),
            last_remote_stream_created_timestamp: timestamp(
                node.last_remote_stream_created.load(Relaxed),
            ),
            last_message_sent_timestamp: timestamp(node.last_message_sent.load(Relaxed)),
            last_message_received_timestamp: timestamp(node.last_message_received.load(Relaxed)),
            local_flow_control_window: window(&node.local_flow_control_window),
            remote_flow_control_window: window(&node.remote_flow_control_window),
            ..Default::default()
        }),
        local: Some(address(&node.local)),
        remote: node.remote.as_ref().map(address),
        security: node.security.as_ref().map(security),
        remote_name: node.remote_name.clone().unwrap_or_default(),
        ..Default::default()
    }
}

fn not_found(what: &str, id: i64) -> Status {
    Status::not_found(format!("channelz: no {what} with id {id}"))
}

type ServerPick = (u64, Arc<ServerNode>, Vec<(u64, Arc<SocketNode>)>);
type ChannelPick = (u64, Arc<ChannelNode>, Vec<(u64, Arc<ChannelNode>)>);

impl ChannelzService {
    fn pick_server(
        maps: &super::registry::Maps,
        id: u64,
        rec: &super::registry::ServerRecord,
    ) -> ServerPick {
        let listen = rec
            .listen_sockets
            .iter()
            .filter_map(|s| Some((*s, maps.sockets.get(s)?.node.clone())))
            .collect();
        (id, rec.node.clone(), listen)
    }

    fn pick_channel(
        maps: &super::registry::Maps,
        id: u64,
        rec: &super::registry::ChannelRecord,
    ) -> ChannelPick {
        let subs = rec
            .subchannels
            .iter()
            .filter_map(|s| Some((*s, maps.subchannels.get(s)?.node.clone())))
            .collect();
        (id, rec.node.clone(), subs)
    }
}

impl v1::Channelz for ChannelzService {
    async fn get_top_channels(
        &self,
        request: Request<GetTopChannelsRequest>,
    ) -> Result<Response<GetTopChannelsResponse>, Status> {
        let request = request.get_ref();
        let (start, size) = page(request.start_channel_id, request.max_results);
        let (picked, end) = {
            let maps = self.registry.maps();
            take_page(maps.channels.range(start..), size, |id, rec| {
                Self::pick_channel(&maps, id, rec)
            })
        };
        Ok(Response::new(GetTopChannelsResponse {
            channel: picked
                .iter()
                .map(|(id, node, subs)| channel_message(*id, node, subs))
                .collect(),
            end,
            ..Default::default()
        }))
    }

    async fn get_servers(
        &self,
        request: Request<GetServersRequest>,
    ) -> Result<Response<GetServersResponse>, Status> {
        let request = request.get_ref();
        let (start, size) = page(request.start_server_id, request.max_results);
        let (picked, end) = {
            let maps = self.registry.maps();
            take_page(maps.servers.range(start..), size, |id, rec| {
                Self::pick_server(&maps, id, rec)
            })
        };
        Ok(Response::new(GetServersResponse {
            server: picked
                .iter()
                .map(|(id, node, listen)| server_message(*id, node, listen))
                .collect(),
            end,
            ..Default::default()
        }))
    }

    async fn get_server(
        &self,
        request: Request<GetServerRequest>,
    ) -> Result<Response<GetServerResponse>, Status> {
        let asked = request.get_ref().server_id;
        let picked = {
            let maps = self.registry.maps();
            key(asked).and_then(|id| {
                let rec = maps.servers.get(&id)?;
                Some(Self::pick_server(&maps, id, rec))
            })
        };
        let (id, node, listen) = picked.ok_or_else(|| not_found("server", asked))?;
        Ok(Response::new(GetServerResponse {
            server: Some(server_message(id, &node, &listen)),
            ..Default::default()
        }))
    }

    async fn get_server_sockets(
        &self,
        request: Request<GetServerSocketsRequest>,
    ) -> Result<Response<GetServerSocketsResponse>, Status> {
        let request = request.get_ref();
        let (start, size) = page(request.start_socket_id, request.max_results);
        let picked = {
            let maps = self.registry.maps();
            key(request.server_id).and_then(|id| {
                let rec = maps.servers.get(&id)?;
                Some(take_page(
                    rec.sockets.range(start..).map(|s| (s, ())),
                    size,
                    |s, ()| {
                        // Every socket in a server's set is in the map too;
                        // a ref with an empty name would do if not.
                        let name = maps
                            .sockets
                            .get(&s)
                            .map(|r| r.node.name.clone())
                            .unwrap_or_default();
                        SocketRef {
                            socket_id: wire_id(s),
                            name,
                            ..Default::default()
                        }
                    },
                ))
            })
        };
        let (socket_ref, end) = picked.ok_or_else(|| not_found("server", request.server_id))?;
        Ok(Response::new(GetServerSocketsResponse {
            socket_ref,
            end,
            ..Default::default()
        }))
    }

    async fn get_channel(
        &self,
        request: Request<GetChannelRequest>,
    ) -> Result<Response<GetChannelResponse>, Status> {
        let asked = request.get_ref().channel_id;
        let picked = {
            let maps = self.registry.maps();
            key(asked).and_then(|id| {
                let rec = maps.channels.get(&id)?;
                Some(Self::pick_channel(&maps, id, rec))
            })
        };
        let (id, node, subs) = picked.ok_or_else(|| not_found("channel", asked))?;
        Ok(Response::new(GetChannelResponse {
            channel: Some(channel_message(id, &node, &subs)),
            ..Default::default()
        }))
    }

    async fn get_subchannel(
        &self,
        request: Request<GetSubchannelRequest>,
    ) -> Result<Response<GetSubchannelResponse>, Status> {
        let asked = request.get_ref().subchannel_id;
        let picked = {
            let maps = self.registry.maps();
            key(asked).and_then(|id| {
                let rec = maps.subchannels.get(&id)?;
                let sockets: Vec<(u64, Arc<SocketNode>)> = rec
                    .sockets
                    .iter()
                    .filter_map(|s| Some((*s, maps.sockets.get(s)?.node.clone())))
                    .collect();
                Some((id, rec.node.clone(), sockets))
            })
        };
        let (id, node, sockets) = picked.ok_or_else(|| not_found("subchannel", asked))?;
        Ok(Response::new(GetSubchannelResponse {
            subchannel: Some(Subchannel {
                r#ref: Some(SubchannelRef {
                    subchannel_id: wire_id(id),
                    name: node.target.clone(),
                    ..Default::default()
                }),
                data: Some(channel_data(&node)),
                socket_ref: sockets.iter().map(|(id, s)| socket_ref(*id, s)).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn get_socket(
        &self,
        request: Request<GetSocketRequest>,
    ) -> Result<Response<GetSocketResponse>, Status> {
        let asked = request.get_ref().socket_id;
        let picked = {
            let maps = self.registry.maps();
            key(asked).and_then(|id| Some((id, maps.sockets.get(&id)?.node.clone())))
        };
        let (id, node) = picked.ok_or_else(|| not_found("socket", asked))?;
        // `summary` changes nothing: no socket options are gathered anyway.
        Ok(Response::new(GetSocketResponse {
            socket: Some(socket_message(id, &node)),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded_whatever_is_asked() {
        assert_eq!(page(0, 0), (0, DEFAULT_PAGE_SIZE));
        assert_eq!(page(-5, -1), (0, DEFAULT_PAGE_SIZE));
        assert_eq!(page(i64::MIN, i64::MIN), (0, DEFAULT_PAGE_SIZE));
        assert_eq!(page(7, 3), (7, 3));
        assert_eq!(page(i64::MAX, i64::MAX), (i64::MAX as u64, MAX_PAGE_SIZE));
    }

    #[test]
    fn timestamps_split_into_seconds_and_nanos() {
        assert_eq!(timestamp(0), None);
        let t = timestamp(1_500_000_001).expect("set");
        assert_eq!((t.seconds, t.nanos), (1, 500_000_001));
        let t = timestamp(-1).expect("set");
        assert_eq!((t.seconds, t.nanos), (-1, 999_999_999));
    }

    #[test]
    fn ids_no_entity_can_have_are_no_key() {
        assert_eq!(key(0), None);
        assert_eq!(key(-1), None);
        assert_eq!(key(i64::MIN), None);
        assert_eq!(key(3), Some(3));
    }
}
