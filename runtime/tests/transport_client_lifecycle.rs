#![deny(warnings)]
//! The client's side of connection management, over real TCP on loopback:
//! a call the server refused with GOAWAY is sent again on a new connection;
//! keepalive pings a silent connection, closes one whose ping goes
//! unanswered, and backs off (doubles its time) on GOAWAY too_many_pings;
//! calls go on without errors across a server's connection-age GOAWAYs.
//! The servers that misbehave on purpose are raw HTTP/2 written here.

pub mod generated {
    include!("../../testdata/services/expected/mod.rs");
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use generated::svc::v1::{Calculator, CalculatorClient, CalculatorServer, Number, Text};
use rust_rpc::transport::{Channel, Endpoint, Request, Response, Server, Status, Streaming};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

type NumberStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Number, Status>> + Send>>;

fn num(value: i64) -> Number {
    Number {
        value,
        ..Default::default()
    }
}

struct Squares;

#[allow(deprecated)]
impl Calculator for Squares {
    async fn square(&self, request: Request<Number>) -> Result<Response<Number>, Status> {
        let v = request.get_ref().value;
        Ok(Response::new(num(v * v)))
    }
    type CountToStream = NumberStream;
    async fn count_to(&self, _: Request<Number>) -> Result<Response<NumberStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn sum(&self, _: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    type DoubleStream = NumberStream;
    async fn double(
        &self,
        _: Request<Streaming<Number>>,
    ) -> Result<Response<NumberStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn sleep(&self, _: Request<Number>) -> Result<Response<Number>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn fail(&self, _: Request<Text>) -> Result<Response<Text>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// A real server; stopped when `stop` is sent or dropped.
async fn real_server(builder: Server) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(
        builder
            .add_service(CalculatorServer::new(Squares))
            .serve_with_listener(listener, async {
                let _ = rx.await;
            }),
    );
    (addr, tx)
}

// ---- A raw HTTP/2 server, as far as these cases need one ----

const PREFACE_LEN: usize = 24;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn goaway(last: u32, code: u32, debug: &[u8]) -> Vec<u8> {
    let mut payload = last.to_be_bytes().to_vec();
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(debug);
    frame(GOAWAY, 0, 0, &payload)
}

/// One accepted connection, read frame by frame.
struct RawPeer {
    tcp: TcpStream,
    buf: Vec<u8>,
    preface_seen: bool,
}

/// A frame the raw server read: type, flags, stream, payload.
type Read = (u8, u8, u32, Vec<u8>);

impl RawPeer {
    /// Sends the server's SETTINGS at once, as a server must.
    async fn accept(listener: &TcpListener) -> Self {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        tcp.write_all(&frame(SETTINGS, 0, 0, &[]))
            .await
            .expect("settings");
        Self {
            tcp,
            buf: Vec::new(),
            preface_seen: false,
        }
    }

    /// The next frame, answering SETTINGS (and PINGs if `pong`) on the
    /// way; `None` once the client closed the connection or `patience`
    /// passed.
    async fn next(&mut self, pong: bool, patience: Duration) -> Option<Read> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if !self.preface_seen && self.buf.len() >= PREFACE_LEN {
                self.buf.drain(..PREFACE_LEN);
                self.preface_seen = true;
            }
            if self.preface_seen && self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() >= 9 + len {
                    let (kind, flags) = (self.buf[3], self.buf[4]);
                    let stream =
                        u32::from_be_bytes([self.buf[5], self.buf[6], self.buf[7], self.buf[8]]);
                    let payload = self.buf[9..9 + len].to_vec();
                    self.buf.drain(..9 + len);
                    if kind == SETTINGS && flags & ACK == 0 {
                        let _ = self.tcp.write_all(&frame(SETTINGS, ACK, 0, &[])).await;
                    }
                    if kind == PING && flags & ACK == 0 && pong {
                        let _ = self.tcp.write_all(&frame(PING, ACK, 0, &payload)).await;
                    }
                    return Some((kind, flags, stream, payload));
                }
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.tcp.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Counts the client's PINGs for `period`, answering them if `pong`;
    /// also whether the client closed the connection meanwhile.
    async fn count_pings(&mut self, pong: bool, period: Duration) -> (usize, bool) {
        let until = tokio::time::Instant::now() + period;
        let mut pings = 0;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return (pings, false);
            }
            match self.next(pong, left).await {
                Some((PING, flags, _, _)) if flags & ACK == 0 => pings += 1,
                Some(_) => {}
                None if tokio::time::Instant::now() < until => return (pings, true),
                None => return (pings, false),
            }
        }
    }
}

/// The first connection refuses the call with GOAWAY (last stream 0: none
/// processed); the client must send it again on a second connection, which
/// is passed through to a real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_refused_by_goaway_is_sent_again_on_a_new_connection() {
    let (real, _stop) = real_server(Server::builder()).await;
    let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = front.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        let mut first = RawPeer::accept(&front).await;
        counted.fetch_add(1, Ordering::SeqCst);
        // Wait for the call, then refuse it unprocessed.
        while let Some((kind, ..)) = first.next(true, Duration::from_secs(10)).await {
            if kind == HEADERS {
                break;
            }
        }
        let _ = first.tcp.write_all(&goaway(0, 0, b"")).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(first);
        loop {
            let Ok((mut tcp, _)) = front.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut to) = TcpStream::connect(real).await {
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut to).await;
                }
            });
        }
    });
    let mut client = CalculatorClient::new(Channel::new(
        Endpoint::new(format!("http://{addr}")).expect("uri"),
    ));
    let mut request = Request::new(num(12));
    request.set_timeout(Duration::from_secs(10));
    let answer = client
        .square(request)
        .await
        .expect("the refused call is sent again and answered");
    assert_eq!(answer.get_ref().value, 144);
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

/// Keepalive every 100 ms, while idle too: a connection that receives
/// nothing is pinged about that often, and stays while the pings are
/// answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_pinged() {
    let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = front.local_addr().expect("addr");
    let endpoint = Endpoint::new(format!("http://{addr}"))
        .expect("uri")
        .keepalive_time(Some(Duration::from_millis(100)))
        .keepalive_while_idle(true);
    let (peer, channel) = tokio::join!(RawPeer::accept(&front), endpoint.connect());
    let _channel = channel.expect("connect");
    let mut peer = peer;
    let (pings, closed) = peer.count_pings(true, Duration::from_millis(1500)).await;
    assert!(
        !closed,
        "the client closed a connection whose pings were answered"
    );
    assert!(
        (5..=20).contains(&pings),
        "{pings} pings in 1.5 s at 100 ms"
    );
}

/// Without calls and without `keepalive_while_idle`, the client does not
/// ping at all (servers refuse such pings by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_channel_does_not_ping_unless_asked() {
    let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = front.local_addr().expect("addr");
    let endpoint = Endpoint::new(format!("http://{addr}"))
        .expect("uri")
        .keepalive_time(Some(Duration::from_millis(100)));
    let (peer, channel) = tokio::join!(RawPeer::accept(&front), endpoint.connect());
    let _channel = channel.expect("connect");
    let mut peer = peer;
    let (pings, _) = peer.count_pings(true, Duration::from_millis(800)).await;
    assert_eq!(pings, 0);
}

/// A ping unanswered for the keepalive timeout closes the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_ping_closes_the_connection() {
    let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = front.local_addr().expect("addr");
    let endpoint = Endpoint::new(format!("http://{addr}"))
        .expect("uri")
        .keepalive_time(Some(Duration::from_millis(100)))
        .keepalive_timeout(Duration::from_millis(200))
        .keepalive_while_idle(true);
    let (peer, channel) = tokio::join!(RawPeer::accept(&front), endpoint.connect());
    let _channel = channel.expect("connect");
    let mut peer = peer;
    let (pings, closed) = peer.count_pings(false, Duration::from_secs(3)).await;
    assert!(pings >= 1, "never pinged");
    assert!(closed, "the connection outlived its unanswered ping");
}

/// GOAWAY too_many_pings doubles the channel's keepalive time: the next
/// connection is pinged about half as often.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_pings_doubles_the_keepalive_time() {
    let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = front.local_addr().expect("addr");
    let endpoint = Endpoint::new(format!("http://{addr}"))
        .expect("uri")
        .keepalive_time(Some(Duration::from_millis(100)))
        .keepalive_while_idle(true);
    let channel = endpoint.connect_lazy();
    let mut client = CalculatorClient::new(channel.clone());
    // A call makes the channel connect; the raw server never answers it.
    let call = tokio::spawn(async move {
        let mut request = Request::new(num(1));
        request.set_timeout(Duration::from_secs(30));
        client.square(request).await.map(drop)
    });
    let mut first = RawPeer::accept(&front).await;
    let (before, _) = first.count_pings(true, Duration::from_millis(1200)).await;
    let _ = first
        .tcp
        .write_all(&goaway(1, 0xb, b"too_many_pings"))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(first);
    let status = call.await.expect("the call's task");
    assert!(status.is_err(), "the call on the closed connection failed");
    // The next connection (made for the next call) pings every 200 ms.
    let mut client = CalculatorClient::new(channel);
    let again = tokio::spawn(async move {
        let mut request = Request::new(num(2));
        request.set_timeout(Duration::from_secs(30));
        client.square(request).await.map(drop)
    });
    let mut second = RawPeer::accept(&front).await;
    let (after, _) = second.count_pings(true, Duration::from_millis(1200)).await;
    again.abort();
    assert!(before >= 6, "{before} pings at 100 ms in 1.2 s");
    assert!(
        after * 4 <= before * 3 && after >= 2,
        "{after} pings after too_many_pings, {before} before: not halved"
    );
}

/// A server that sends every connection away at 100 ms of age: calls from
/// eight callers for 1.5 s on one channel all succeed across the
/// reconnections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_across_connection_age_goaways() {
    let (addr, _stop) =
        real_server(Server::builder().max_connection_age(Some(Duration::from_millis(100)))).await;
    let channel = Channel::new(Endpoint::new(format!("http://{addr}")).expect("uri"));
    let until = tokio::time::Instant::now() + Duration::from_millis(1500);
    let mut callers = Vec::new();
    for id in 0..8i64 {
        let mut client = CalculatorClient::new(channel.clone());
        callers.push(tokio::spawn(async move {
            let mut ok = 0usize;
            while tokio::time::Instant::now() < until {
                let mut request = Request::new(num(id));
                request.set_timeout(Duration::from_secs(5));
                match client.square(request).await {
                    Ok(r) => {
                        assert_eq!(r.get_ref().value, id * id);
                        ok += 1;
                    }
                    Err(status) => panic!("a call failed across a GOAWAY: {status:?}"),
                }
            }
            ok
        }));
    }
    let mut total = 0;
    for caller in callers {
        total += caller.await.expect("a caller");
    }
    assert!(total > 100, "only {total} calls in 1.5 s");
}
