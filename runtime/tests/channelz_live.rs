#![deny(warnings)]
#![cfg(feature = "channelz")]
//! Channelz fed by the transport itself, over real loopback connections: a
//! server and a channel registered in one registry, a known sequence of
//! calls, and then what the channelz service reports of them: the server's
//! and its connection socket's counters (calls, streams, messages), its
//! listen socket, the channel's and its subchannel's state and calls, the
//! client's socket with its addresses; and the channel gone once dropped.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use rust_rpc::channelz::v1::address::Address as AddressKind;
use rust_rpc::channelz::v1::channel_connectivity_state::State;
use rust_rpc::channelz::v1::{
    Address, GetServerSocketsRequest, GetServersRequest, GetSocketRequest, GetSubchannelRequest,
    GetTopChannelsRequest, Socket,
};
use rust_rpc::channelz::{Channelz, ChannelzClient};
use rust_rpc::transport::{Channel, Client, Code, Endpoint, Server};
use support::{CalculatorClient, Number, bounded, num, serve};

fn tcp(address: &Option<Address>) -> SocketAddr {
    match address.as_ref().and_then(|a| a.address.as_ref()) {
        Some(AddressKind::TcpipAddress(a)) => {
            let ip: std::net::IpAddr = match a.ip_address.len() {
                4 => <[u8; 4]>::try_from(&a.ip_address[..])
                    .expect("4 bytes")
                    .into(),
                16 => <[u8; 16]>::try_from(&a.ip_address[..])
                    .expect("16 bytes")
                    .into(),
                n => panic!("an IP address of {n} bytes"),
            };
            SocketAddr::new(ip, u16::try_from(a.port).expect("a port"))
        }
        other => panic!("not a TCP address: {other:?}"),
    }
}

async fn socket(client: &mut ChannelzClient, id: i64) -> Socket {
    bounded(
        "GetSocket",
        client.get_socket(GetSocketRequest {
            socket_id: id,
            ..Default::default()
        }),
    )
    .await
    .expect("the socket")
    .into_inner()
    .socket
    .expect("a socket")
}

#[tokio::test]
async fn the_transport_counts_its_calls_into_channelz() {
    let channelz = Channelz::new();
    let server = serve(
        Server::builder()
            .channelz(&channelz)
            .add_service(channelz.service()),
    )
    .await;
    let target = format!("http://{}", server.addr);
    let channel: Channel = Endpoint::new(&target)
        .expect("an endpoint")
        .channelz(&channelz)
        .connect_lazy();
    let mut calc = CalculatorClient::new(channel.clone());

    // Three squares and a stream of four, OK; one unknown method, failed.
    for v in [1, 2, 3] {
        bounded("square", calc.square(num(v))).await.expect("OK");
    }
    let counted: Vec<_> = bounded("count_to", async {
        let stream = calc.count_to(num(4)).await.expect("OK").into_inner();
        stream.collect::<Vec<_>>().await
    })
    .await;
    assert_eq!(counted.len(), 4);
    let err = bounded(
        "unknown method",
        Client::new(channel.clone()).unary::<Number, Number>(num(1), "/svc.v1.Calculator/Cube"),
    )
    .await
    .expect_err("UNIMPLEMENTED");
    assert_eq!(err.code(), Code::Unimplemented);

    // Asked on a channel of its own, not registered: its calls count on
    // the server (this query among them), not on the channel above.
    let query = Endpoint::new(&target).expect("an endpoint").connect_lazy();
    let mut cz = ChannelzClient::new(query);

    let servers = bounded("GetServers", cz.get_servers(GetServersRequest::default()))
        .await
        .expect("servers")
        .into_inner();
    assert!(servers.end);
    let [listed] = <[_; 1]>::try_from(servers.server).expect("one server");
    let data = listed.data.expect("server data");
    // The five calls, and this GetServers, which has started.
    assert_eq!(
        (data.calls_started, data.calls_succeeded, data.calls_failed),
        (6, 4, 1)
    );
    assert!(data.last_call_started_timestamp.is_some());
    let server_id = listed.r#ref.expect("a ref").server_id;
    let [listen] = <[_; 1]>::try_from(listed.listen_socket).expect("one listen socket");
    let listening = socket(&mut cz, listen.socket_id).await;
    assert_eq!(tcp(&listening.local), server.addr);

    // The server's sockets: the registered channel's connection and the
    // query's. The channel's is the one whose counts are the five calls.
    let refs = bounded(
        "GetServerSockets",
        cz.get_server_sockets(GetServerSocketsRequest {
            server_id,
            ..Default::default()
        }),
    )
    .await
    .expect("sockets")
    .into_inner();
    assert!(refs.end);
    assert_eq!(refs.socket_ref.len(), 2, "{:?}", refs.socket_ref);
    let mut on_server = Vec::new();
    for r in &refs.socket_ref {
        on_server.push(socket(&mut cz, r.socket_id).await);
    }
    let calls_socket = on_server
        .iter()
        .find(|s| s.data.as_ref().is_some_and(|d| d.streams_started == 5))
        .unwrap_or_else(|| panic!("no socket with the five calls: {on_server:?}"));
    let d = calls_socket.data.as_ref().expect("socket data");
    assert_eq!((d.streams_succeeded, d.streams_failed), (4, 1));
    // Sent: 3 squares and 4 counted; received: 3 squares and the count's
    // request (the unknown method's message was never read).
    assert_eq!((d.messages_sent, d.messages_received), (7, 4));
    assert!(d.last_remote_stream_created_timestamp.is_some());
    assert!(d.last_message_sent_timestamp.is_some());
    assert_eq!(tcp(&calls_socket.local), server.addr);
    let client_addr = tcp(&calls_socket.remote);

    // The channel: ready, the five calls, one subchannel with the
    // connection's socket, whose addresses mirror the server's view.
    let channels = bounded(
        "GetTopChannels",
        cz.get_top_channels(GetTopChannelsRequest::default()),
    )
    .await
    .expect("channels")
    .into_inner();
    let [top] = <[_; 1]>::try_from(channels.channel).expect("one channel");
    let data = top.data.expect("channel data");
    assert_eq!(data.target, target);
    assert_eq!(
        data.state.expect("a state").state.known(),
        Some(State::Ready)
    );
    assert_eq!(
        (data.calls_started, data.calls_succeeded, data.calls_failed),
        (5, 4, 1)
    );
    let [sub] = <[_; 1]>::try_from(top.subchannel_ref).expect("one subchannel");
    let sub = bounded(
        "GetSubchannel",
        cz.get_subchannel(GetSubchannelRequest {
            subchannel_id: sub.subchannel_id,
            ..Default::default()
        }),
    )
    .await
    .expect("the subchannel")
    .into_inner()
    .subchannel
    .expect("a subchannel");
    let sub_data = sub.data.expect("subchannel data");
    assert_eq!(
        sub_data.state.expect("a state").state.known(),
        Some(State::Ready)
    );
    assert_eq!(sub_data.calls_started, 5);
    let [conn] = <[_; 1]>::try_from(sub.socket_ref).expect("one connection");
    let client_socket = socket(&mut cz, conn.socket_id).await;
    assert_eq!(tcp(&client_socket.local), client_addr);
    assert_eq!(tcp(&client_socket.remote), server.addr);

    // Dropped (every clone), the channel leaves the registry once its
    // connection has closed.
    drop(calc);
    drop(channel);
    bounded("the channel to go", async {
        loop {
            let channels = cz
                .get_top_channels(GetTopChannelsRequest::default())
                .await
                .expect("channels")
                .into_inner();
            if channels.channel.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    server.stop().await;
}
