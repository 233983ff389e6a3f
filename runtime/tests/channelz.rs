#![deny(warnings)]
#![cfg(feature = "channelz")]
//! The channelz service over real loopback connections, with its generated
//! client: entities registered by hand with known counts, then every Get*
//! checked for exact values (paging by start id, page size and `end`,
//! NOT_FOUND for unknown ids, addresses, security, timestamps set and
//! unset), hostile paging values, and entries leaving when dropped.

mod support;

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::SystemTime;

use rust_rpc::channelz::v1::address::Address as AddressKind;
use rust_rpc::channelz::v1::channel_trace_event::ChildRef;
use rust_rpc::channelz::v1::security::{Model, tls::CipherSuite};
use rust_rpc::channelz::v1::{
    Address, GetChannelRequest, GetServerRequest, GetServerSocketsRequest,
    GetServerSocketsResponse, GetServersRequest, GetServersResponse, GetSocketRequest,
    GetSubchannelRequest, GetTopChannelsRequest, Socket, SocketRef,
};
use rust_rpc::channelz::{
    Channelz, ChannelzClient, ConnectivityState, MAX_PAGE_SIZE, SocketAddress, SocketInfo,
    TlsSecurity, TraceSeverity,
};
use rust_rpc::transport::{Code, Endpoint, Server, Status};
use rust_rpc::wkt::Timestamp;
use support::{Running, bounded, serve_with};

async fn start(channelz: &Channelz) -> (Running, ChannelzClient) {
    let server = serve_with(
        Server::builder().add_service(channelz.service()),
        |_| async {},
    )
    .await;
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    (server, ChannelzClient::new(channel))
}

fn id(n: u64) -> i64 {
    i64::try_from(n).expect("a small id")
}

fn time(ts: &Option<Timestamp>) -> Option<SystemTime> {
    ts.clone()
        .map(|t| SystemTime::try_from(t).expect("a valid timestamp"))
}

/// Asserts `ts` is set, between `before` and `after`.
fn assert_between(what: &str, ts: &Option<Timestamp>, before: SystemTime, after: SystemTime) {
    let t = time(ts).unwrap_or_else(|| panic!("{what}: unset"));
    assert!(
        before <= t && t <= after,
        "{what}: {t:?} not within {before:?}..{after:?}"
    );
}

fn tcp(addr: &str) -> SocketAddress {
    SocketAddress::Tcp(addr.parse().expect("an address"))
}

async fn servers(client: &mut ChannelzClient, start: i64, max: i64) -> GetServersResponse {
    bounded(
        "GetServers",
        client.get_servers(GetServersRequest {
            start_server_id: start,
            max_results: max,
            ..Default::default()
        }),
    )
    .await
    .expect("GetServers")
    .into_inner()
}

async fn server_sockets(
    client: &mut ChannelzClient,
    server: i64,
    start: i64,
    max: i64,
) -> Result<GetServerSocketsResponse, Status> {
    let reply = bounded(
        "GetServerSockets",
        client.get_server_sockets(GetServerSocketsRequest {
            server_id: server,
            start_socket_id: start,
            max_results: max,
            ..Default::default()
        }),
    )
    .await?;
    Ok(reply.into_inner())
}

async fn socket(client: &mut ChannelzClient, socket: i64) -> Result<Socket, Status> {
    let reply = bounded(
        "GetSocket",
        client.get_socket(GetSocketRequest {
            socket_id: socket,
            ..Default::default()
        }),
    )
    .await?;
    Ok(reply.into_inner().socket.expect("GetSocket sets socket"))
}

fn ids(refs: &[SocketRef]) -> Vec<i64> {
    refs.iter().map(|r| r.socket_id).collect()
}

fn tcp_of(address: &Option<Address>) -> (Vec<u8>, i32) {
    match address.as_ref().and_then(|a| a.address.as_ref()) {
        Some(AddressKind::TcpipAddress(a)) => (a.ip_address.clone(), a.port),
        other => panic!("not a TCP address: {other:?}"),
    }
}

#[tokio::test]
async fn servers_and_their_sockets_are_reported_exactly() {
    let channelz = Channelz::new();
    let before = SystemTime::now();
    let main = channelz.add_server("main");
    let idle = channelz.add_server("idle");
    let listener = main.add_listen_socket(tcp("127.0.0.1:5000"));
    let tls = TlsSecurity {
        standard_name: Some("TLS13_AES_128_GCM_SHA256".to_owned()),
        local_certificate: Some(vec![1, 2, 3]),
        remote_certificate: None,
    };
    let first = main.add_socket(SocketInfo {
        local: tcp("127.0.0.1:5000"),
        remote: tcp("10.1.2.3:40000"),
        remote_name: None,
        security: Some(tls),
    });
    let second = main.add_socket(SocketInfo {
        local: SocketAddress::Tcp(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 5001)),
        remote: SocketAddress::Tcp(SocketAddr::new(
            "2001:db8::7".parse::<Ipv6Addr>().expect("v6").into(),
            40001,
        )),
        remote_name: Some("peer.example".to_owned()),
        security: None,
    });
    let third = main.add_socket(SocketInfo {
        local: SocketAddress::Unix(Some(PathBuf::from("/tmp/rpc.sock"))),
        remote: SocketAddress::Unix(None),
        remote_name: None,
        security: None,
    });

    // Known counts: 5 calls, 3 OK, 1 failed, 1 still going; on the first
    // socket 4 streams (3 OK, 1 failed), 7 messages out, 6 in, 2 PINGs.
    for _ in 0..5 {
        main.calls().call_started();
    }
    for ok in [true, true, true, false] {
        main.calls().call_ended(ok);
    }
    for _ in 0..4 {
        first.stream_started(false);
    }
    for ok in [true, true, false, true] {
        first.stream_ended(ok);
    }
    for _ in 0..7 {
        first.message_sent();
    }
    for _ in 0..6 {
        first.message_received();
    }
    first.keep_alive_sent();
    first.keep_alive_sent();
    first.set_flow_control_windows(65_535, 1 << 20);
    let after = SystemTime::now();

    let (server, mut client) = start(&channelz).await;

    // Both servers, in id order, on one page.
    let all = servers(&mut client, 0, 0).await;
    assert!(all.end);
    let names: Vec<(i64, &str)> = all
        .server
        .iter()
        .map(|s| {
            let r = s.r#ref.as_ref().expect("a ref");
            (r.server_id, r.name.as_str())
        })
        .collect();
    assert_eq!(names, [(id(main.id()), "main"), (id(idle.id()), "idle")]);
    let data = all.server[0].data.as_ref().expect("data");
    assert_eq!(
        (data.calls_started, data.calls_succeeded, data.calls_failed),
        (5, 3, 1)
    );
    assert_between(
        "last call started",
        &data.last_call_started_timestamp,
        before,
        after,
    );
    let idle_data = all.server[1].data.as_ref().expect("data");
    assert_eq!(idle_data.calls_started, 0);
    assert_eq!(idle_data.last_call_started_timestamp, None);
    assert_eq!(ids(&all.server[0].listen_socket), [id(listener.id())]);
    assert_eq!(all.server[0].listen_socket[0].name, "127.0.0.1:5000");
    assert!(all.server[1].listen_socket.is_empty());

    // Paging: one at a time, start at the last id seen plus one.
    let page = servers(&mut client, 0, 1).await;
    assert_eq!(page.server.len(), 1);
    assert!(!page.end, "a server comes after the first");
    let next = page.server[0].r#ref.as_ref().expect("ref").server_id + 1;
    let page = servers(&mut client, next, 1).await;
    assert_eq!(
        page.server[0].r#ref.as_ref().expect("ref").server_id,
        id(idle.id())
    );
    assert!(page.end);
    let past = servers(&mut client, id(idle.id()) + 1, 0).await;
    assert!(past.server.is_empty() && past.end);

    // GetServer by id; unknown ids of every shape are NOT_FOUND.
    let got = bounded(
        "GetServer",
        client.get_server(GetServerRequest {
            server_id: id(main.id()),
            ..Default::default()
        }),
    )
    .await
    .expect("GetServer")
    .into_inner()
    .server
    .expect("a server");
    assert_eq!(got, all.server[0]);
    for unknown in [0, -1, id(first.id()), 9_999, i64::MAX, i64::MIN] {
        let err = bounded(
            "GetServer",
            client.get_server(GetServerRequest {
                server_id: unknown,
                ..Default::default()
            }),
        )
        .await
        .expect_err("no such server");
        assert_eq!(err.code(), Code::NotFound, "{unknown}: {err}");
        assert!(err.message().contains("server"), "{err}");
    }

    // The accepted sockets (not the listener), two to a page.
    let page = server_sockets(&mut client, id(main.id()), 0, 2)
        .await
        .expect("sockets");
    assert_eq!(ids(&page.socket_ref), [id(first.id()), id(second.id())]);
    assert!(!page.end);
    assert_eq!(page.socket_ref[0].name, "127.0.0.1:5000 -> 10.1.2.3:40000");
    let page = server_sockets(&mut client, id(main.id()), id(second.id()) + 1, 2)
        .await
        .expect("sockets");
    assert_eq!(ids(&page.socket_ref), [id(third.id())]);
    assert!(page.end);
    let page = server_sockets(&mut client, id(main.id()), 0, 0)
        .await
        .expect("sockets");
    assert_eq!(
        ids(&page.socket_ref),
        [id(first.id()), id(second.id()), id(third.id())]
    );
    assert!(page.end);
    let none = server_sockets(&mut client, id(idle.id()), 0, 0)
        .await
        .expect("no sockets");
    assert!(none.socket_ref.is_empty() && none.end);
    let err = server_sockets(&mut client, 9_999, 0, 0)
        .await
        .expect_err("no such server");
    assert_eq!(err.code(), Code::NotFound, "{err}");

    // The first socket: every counter, timestamps set and unset, IPv4
    // addresses as 4 bytes, TLS details.
    let s = socket(&mut client, id(first.id())).await.expect("a socket");
    assert_eq!(s.r#ref.as_ref().expect("ref").socket_id, id(first.id()));
    let d = s.data.as_ref().expect("data");
    assert_eq!(
        (
            d.streams_started,
            d.streams_succeeded,
            d.streams_failed,
            d.messages_sent,
            d.messages_received,
            d.keep_alives_sent
        ),
        (4, 3, 1, 7, 6, 2)
    );
    assert_eq!(d.last_local_stream_created_timestamp, None);
    assert_between(
        "remote stream",
        &d.last_remote_stream_created_timestamp,
        before,
        after,
    );
    assert_between("sent", &d.last_message_sent_timestamp, before, after);
    assert_between(
        "received",
        &d.last_message_received_timestamp,
        before,
        after,
    );
    assert_eq!(
        d.local_flow_control_window.as_ref().map(|w| w.value),
        Some(65_535)
    );
    assert_eq!(
        d.remote_flow_control_window.as_ref().map(|w| w.value),
        Some(1 << 20)
    );
    assert_eq!(tcp_of(&s.local), (vec![127, 0, 0, 1], 5000));
    assert_eq!(tcp_of(&s.remote), (vec![10, 1, 2, 3], 40000));
    assert_eq!(s.remote_name, "");
    match s.security.as_ref().and_then(|s| s.model.as_ref()) {
        Some(Model::Tls(tls)) => {
            assert_eq!(
                tls.cipher_suite,
                Some(CipherSuite::StandardName(
                    "TLS13_AES_128_GCM_SHA256".to_owned()
                ))
            );
            assert_eq!(tls.local_certificate, [1, 2, 3]);
            assert!(tls.remote_certificate.is_empty());
        }
        other => panic!("not TLS: {other:?}"),
    }

    // The second: IPv6 addresses as 16 bytes, a remote name, no security,
    // no counts and no timestamps.
    let s = socket(&mut client, id(second.id()))
        .await
        .expect("a socket");
    let mut loopback = vec![0; 15];
    loopback.push(1);
    assert_eq!(tcp_of(&s.local), (loopback, 5001));
    let peer = "2001:db8::7".parse::<Ipv6Addr>().expect("v6").octets();
    assert_eq!(tcp_of(&s.remote), (peer.to_vec(), 40001));
    assert_eq!(s.remote_name, "peer.example");
    assert_eq!(s.security, None);
    let d = s.data.as_ref().expect("data");
    assert_eq!((d.streams_started, d.messages_sent), (0, 0));
    assert_eq!(d.last_message_sent_timestamp, None);
    assert_eq!(d.local_flow_control_window, None);

    // The third: Unix domain sockets, named and not.
    let s = socket(&mut client, id(third.id())).await.expect("a socket");
    match (
        s.local.as_ref().and_then(|a| a.address.as_ref()),
        s.remote.as_ref().and_then(|a| a.address.as_ref()),
    ) {
        (Some(AddressKind::UdsAddress(local)), Some(AddressKind::UdsAddress(remote))) => {
            assert_eq!(local.filename, "/tmp/rpc.sock");
            assert_eq!(remote.filename, "");
        }
        other => panic!("not Unix addresses: {other:?}"),
    }

    // The listener: its address, no peer.
    let s = socket(&mut client, id(listener.id()))
        .await
        .expect("the listener");
    assert_eq!(tcp_of(&s.local), (vec![127, 0, 0, 1], 5000));
    assert_eq!(s.remote, None);

    for unknown in [0, -7, id(main.id()), 9_999] {
        let err = socket(&mut client, unknown)
            .await
            .expect_err("no such socket");
        assert_eq!(err.code(), Code::NotFound, "{unknown}: {err}");
    }

    // A dropped socket leaves; the others stay.
    let second_id = id(second.id());
    drop(second);
    let err = socket(&mut client, second_id).await.expect_err("dropped");
    assert_eq!(err.code(), Code::NotFound, "{err}");
    let page = server_sockets(&mut client, id(main.id()), 0, 0)
        .await
        .expect("sockets");
    assert_eq!(ids(&page.socket_ref), [id(first.id()), id(third.id())]);

    // A clone keeps the server; dropping the last removes it and every
    // socket it had, even those whose entries still live.
    let main_id = id(main.id());
    let clone = main.clone();
    drop(main);
    assert_eq!(servers(&mut client, 0, 0).await.server.len(), 2);
    drop(clone);
    let left = servers(&mut client, 0, 0).await;
    assert_eq!(left.server.len(), 1);
    assert_eq!(
        left.server[0].r#ref.as_ref().expect("ref").server_id,
        id(idle.id())
    );
    let err = server_sockets(&mut client, main_id, 0, 0)
        .await
        .expect_err("server gone");
    assert_eq!(err.code(), Code::NotFound, "{err}");
    for gone in [id(first.id()), id(third.id()), id(listener.id())] {
        let err = socket(&mut client, gone).await.expect_err("socket gone");
        assert_eq!(err.code(), Code::NotFound, "{err}");
    }
    // Counting on an entry whose entity left does no harm.
    first.message_sent();
    drop((first, third, listener));
    server.stop().await;
}

#[tokio::test]
async fn channels_and_subchannels_are_reported_exactly() {
    let channelz = Channelz::new();
    let before = SystemTime::now();
    let channel = channelz.add_channel("dns:///svc.example:443");
    let other = channelz.add_channel("unix:///tmp/other.sock");
    channel.set_state(ConnectivityState::Connecting);
    let sub_a = channel.add_subchannel("10.0.0.1:443");
    let sub_b = channel.add_subchannel("10.0.0.2:443");
    sub_a.set_state(ConnectivityState::Ready);
    sub_b.set_state(ConnectivityState::TransientFailure);
    channel.set_state(ConnectivityState::Ready);
    channel.trace_event(TraceSeverity::CtWarning, "resolver returned 2 addresses");
    let conn = sub_a.add_socket(SocketInfo {
        local: tcp("10.9.9.9:50000"),
        remote: tcp("10.0.0.1:443"),
        remote_name: Some("svc.example".to_owned()),
        security: None,
    });
    for _ in 0..3 {
        channel.calls().call_started();
        sub_a.calls().call_started();
    }
    channel.calls().call_ended(true);
    channel.calls().call_ended(false);
    sub_a.calls().call_ended(true);
    conn.stream_started(true);
    let after = SystemTime::now();

    let (server, mut client) = start(&channelz).await;

    // Top channels only (no subchannels), in id order, paged.
    let top = bounded(
        "GetTopChannels",
        client.get_top_channels(GetTopChannelsRequest::default()),
    )
    .await
    .expect("GetTopChannels")
    .into_inner();
    assert!(top.end);
    let listed: Vec<i64> = top
        .channel
        .iter()
        .map(|c| c.r#ref.as_ref().expect("ref").channel_id)
        .collect();
    assert_eq!(listed, [id(channel.id()), id(other.id())]);
    let page = bounded(
        "GetTopChannels",
        client.get_top_channels(GetTopChannelsRequest {
            start_channel_id: 0,
            max_results: 1,
            ..Default::default()
        }),
    )
    .await
    .expect("GetTopChannels")
    .into_inner();
    assert_eq!(page.channel.len(), 1);
    assert!(!page.end);

    // The channel: state, target, calls, subchannel refs, trace.
    let got = bounded(
        "GetChannel",
        client.get_channel(GetChannelRequest {
            channel_id: id(channel.id()),
            ..Default::default()
        }),
    )
    .await
    .expect("GetChannel")
    .into_inner()
    .channel
    .expect("a channel");
    assert_eq!(got, top.channel[0]);
    assert_eq!(
        got.r#ref.as_ref().expect("ref").name,
        "dns:///svc.example:443"
    );
    let data = got.data.as_ref().expect("data");
    assert_eq!(
        data.state.as_ref().and_then(|s| s.state.known()),
        Some(ConnectivityState::Ready)
    );
    assert_eq!(data.target, "dns:///svc.example:443");
    assert_eq!(
        (data.calls_started, data.calls_succeeded, data.calls_failed),
        (3, 1, 1)
    );
    assert_between(
        "channel call",
        &data.last_call_started_timestamp,
        before,
        after,
    );
    let subs: Vec<(i64, &str)> = got
        .subchannel_ref
        .iter()
        .map(|r| (r.subchannel_id, r.name.as_str()))
        .collect();
    assert_eq!(
        subs,
        [
            (id(sub_a.id()), "10.0.0.1:443"),
            (id(sub_b.id()), "10.0.0.2:443")
        ]
    );
    assert!(got.socket_ref.is_empty() && got.channel_ref.is_empty());
    let trace = data.trace.as_ref().expect("a trace");
    let events: Vec<&str> = trace
        .events
        .iter()
        .map(|e| e.description.as_str())
        .collect();
    let created_a = format!("subchannel {} created", sub_a.id());
    let created_b = format!("subchannel {} created", sub_b.id());
    assert_eq!(
        events,
        [
            "channel created",
            "connectivity state changed to CONNECTING",
            created_a.as_str(),
            created_b.as_str(),
            "connectivity state changed to READY",
            "resolver returned 2 addresses",
        ]
    );
    assert_eq!(trace.num_events_logged, 6);
    assert_between("created", &trace.creation_timestamp, before, after);
    assert_eq!(
        trace.events[2].child_ref,
        Some(ChildRef::SubchannelRef(got.subchannel_ref[0].clone()))
    );
    assert_eq!(
        trace.events[5].severity.known(),
        Some(TraceSeverity::CtWarning)
    );
    for e in &trace.events {
        assert_between("event", &e.timestamp, before, after);
    }

    // The other channel: IDLE, no calls, no timestamp.
    let data = top.channel[1].data.as_ref().expect("data");
    assert_eq!(
        data.state.as_ref().and_then(|s| s.state.known()),
        Some(ConnectivityState::Idle)
    );
    assert_eq!(data.calls_started, 0);
    assert_eq!(data.last_call_started_timestamp, None);

    // The subchannels: state, calls, sockets.
    let sub_client = client.clone();
    let get_sub = move |sub: i64| {
        let mut client = sub_client.clone();
        async move {
            bounded(
                "GetSubchannel",
                client.get_subchannel(GetSubchannelRequest {
                    subchannel_id: sub,
                    ..Default::default()
                }),
            )
            .await
            .map(|r| r.into_inner().subchannel.expect("a subchannel"))
        }
    };
    let a = get_sub(id(sub_a.id())).await.expect("subchannel a");
    let data = a.data.as_ref().expect("data");
    assert_eq!(
        data.state.as_ref().and_then(|s| s.state.known()),
        Some(ConnectivityState::Ready)
    );
    assert_eq!(
        (data.calls_started, data.calls_succeeded, data.calls_failed),
        (3, 1, 0)
    );
    assert_eq!(ids(&a.socket_ref), [id(conn.id())]);
    let b = get_sub(id(sub_b.id())).await.expect("subchannel b");
    assert_eq!(
        b.data
            .as_ref()
            .and_then(|d| d.state.as_ref())
            .and_then(|s| s.state.known()),
        Some(ConnectivityState::TransientFailure)
    );
    assert!(b.socket_ref.is_empty());
    let s = socket(&mut client, id(conn.id())).await.expect("a socket");
    let d = s.data.as_ref().expect("data");
    assert_eq!(d.streams_started, 1);
    assert_between(
        "local stream",
        &d.last_local_stream_created_timestamp,
        before,
        after,
    );
    assert_eq!(d.last_remote_stream_created_timestamp, None);
    assert_eq!(s.remote_name, "svc.example");

    // Unknown ids, including a subchannel asked for as a channel.
    for unknown in [0, -1, id(sub_a.id()), 9_999] {
        let err = bounded(
            "GetChannel",
            client.get_channel(GetChannelRequest {
                channel_id: unknown,
                ..Default::default()
            }),
        )
        .await
        .expect_err("no such channel");
        assert_eq!(err.code(), Code::NotFound, "{unknown}: {err}");
    }
    let err = get_sub(id(channel.id()))
        .await
        .expect_err("not a subchannel");
    assert_eq!(err.code(), Code::NotFound, "{err}");

    // Dropping a subchannel takes it off its channel; dropping the channel
    // takes the rest, down to the sockets.
    let b_id = id(sub_b.id());
    drop(sub_b);
    let err = get_sub(b_id).await.expect_err("dropped");
    assert_eq!(err.code(), Code::NotFound, "{err}");
    let got = bounded(
        "GetChannel",
        client.get_channel(GetChannelRequest {
            channel_id: id(channel.id()),
            ..Default::default()
        }),
    )
    .await
    .expect("GetChannel")
    .into_inner()
    .channel
    .expect("a channel");
    assert_eq!(got.subchannel_ref.len(), 1);
    drop(channel);
    let top = bounded(
        "GetTopChannels",
        client.get_top_channels(GetTopChannelsRequest::default()),
    )
    .await
    .expect("GetTopChannels")
    .into_inner();
    assert_eq!(top.channel.len(), 1);
    let err = get_sub(id(sub_a.id())).await.expect_err("channel gone");
    assert_eq!(err.code(), Code::NotFound, "{err}");
    let err = socket(&mut client, id(conn.id()))
        .await
        .expect_err("channel gone");
    assert_eq!(err.code(), Code::NotFound, "{err}");
    drop((sub_a, conn, other));
    server.stop().await;
}

#[tokio::test]
async fn pages_stay_bounded_whatever_the_request_says() {
    let channelz = Channelz::new();
    let entries: Vec<_> = (0..MAX_PAGE_SIZE + 5)
        .map(|i| channelz.add_server(format!("s{i}")))
        .collect();
    let sockets: Vec<_> = (0..MAX_PAGE_SIZE + 5)
        .map(|i| {
            entries[0].add_socket(SocketInfo {
                local: tcp("127.0.0.1:1"),
                remote: SocketAddress::Other(format!("peer {i}")),
                remote_name: None,
                security: None,
            })
        })
        .collect();
    let (server, mut client) = start(&channelz).await;

    let page = servers(&mut client, 0, i64::MAX).await;
    assert_eq!(page.server.len(), MAX_PAGE_SIZE);
    assert!(!page.end);
    let page = servers(&mut client, 0, 0).await;
    assert_eq!(page.server.len(), rust_rpc::channelz::DEFAULT_PAGE_SIZE);
    assert!(!page.end);
    // Negative values act as their defaults; a start past every id is an
    // empty last page.
    let page = servers(&mut client, -5, -5).await;
    assert_eq!(page.server.len(), rust_rpc::channelz::DEFAULT_PAGE_SIZE);
    assert_eq!(
        page.server[0].r#ref.as_ref().expect("ref").server_id,
        id(entries[0].id())
    );
    let page = servers(&mut client, i64::MAX, i64::MAX).await;
    assert!(page.server.is_empty() && page.end);
    let page = servers(&mut client, i64::MIN, i64::MIN).await;
    assert_eq!(page.server.len(), rust_rpc::channelz::DEFAULT_PAGE_SIZE);

    let page = server_sockets(&mut client, id(entries[0].id()), i64::MIN, i64::MAX)
        .await
        .expect("sockets");
    assert_eq!(page.socket_ref.len(), MAX_PAGE_SIZE);
    assert!(!page.end);
    let last = page.socket_ref.last().expect("a ref").socket_id;
    let rest = server_sockets(&mut client, id(entries[0].id()), last + 1, i64::MAX)
        .await
        .expect("sockets");
    assert_eq!(rest.socket_ref.len(), 5);
    assert!(rest.end);
    let s = socket(&mut client, rest.socket_ref[4].socket_id)
        .await
        .expect("a socket");
    match s.remote.and_then(|a| a.address) {
        Some(AddressKind::OtherAddress(other)) => {
            assert_eq!(other.name, format!("peer {}", MAX_PAGE_SIZE + 4));
        }
        other => panic!("not another address: {other:?}"),
    }
    drop(sockets);
    drop(entries);
    let page = servers(&mut client, 0, 0).await;
    assert!(page.server.is_empty() && page.end);
    server.stop().await;
}
