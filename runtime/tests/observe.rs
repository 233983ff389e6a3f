#![deny(warnings)]
//! Observers on both sides, over real loopback connections: what each side
//! is told of a known sequence of calls (every kind of call, failures,
//! deadlines, an unknown method, a client that drops its response stream),
//! with exact message counts and sizes; the same through tower layers and a
//! client over a tower service; and nothing told of calls no one observes.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use rust_rpc::Message;
use rust_rpc::transport::observe::{CallEnd, CallInfo, Observer, Side, Transferred};
use rust_rpc::transport::{Client, Code, Endpoint, Request, Server};
use support::{CalculatorClient, Number, Running, bounded, num, serve};

/// One call as an observer saw it.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    side: Side,
    method: String,
    registered: bool,
    target: Option<String>,
    peer_has_addr: Option<bool>,
    code: Code,
    sent: (u64, u64),
    received: (u64, u64),
}

/// Records what it is told; checks that every end follows its start.
#[derive(Default)]
struct Recorder {
    started: Mutex<Vec<String>>,
    ended: Mutex<Vec<Seen>>,
}

impl Observer for Recorder {
    fn call_started(&self, call: &CallInfo<'_>) {
        self.started
            .lock()
            .expect("not poisoned")
            .push(call.method.to_owned());
    }

    fn call_ended(&self, call: &CallInfo<'_>, end: &CallEnd<'_>) {
        assert!(
            self.started
                .lock()
                .expect("not poisoned")
                .iter()
                .any(|m| m == call.method),
            "{} ended before it started",
            call.method
        );
        assert!(end.duration < Duration::from_secs(60));
        if end.code == Code::Ok {
            assert!(end.message.is_empty(), "OK with a message: {}", end.message);
        }
        let pair = |t: Transferred| (t.messages, t.bytes);
        self.ended.lock().expect("not poisoned").push(Seen {
            side: call.side,
            method: call.method.to_owned(),
            registered: call.registered,
            target: call.target.map(str::to_owned),
            peer_has_addr: call.peer.map(|p| p.addr().is_some()),
            code: end.code,
            sent: pair(end.sent),
            received: pair(end.received),
        });
    }
}

impl Recorder {
    fn started(&self) -> Vec<String> {
        self.started.lock().expect("not poisoned").clone()
    }

    fn ended(&self) -> Vec<Seen> {
        self.ended.lock().expect("not poisoned").clone()
    }

    /// Waits (boundedly) until `n` calls have ended: a server's end can
    /// come after the client has its answer (a reset reaches it later).
    async fn wait_for(&self, n: usize) -> Vec<Seen> {
        bounded("the calls' ends", async {
            loop {
                let ended = self.ended();
                if ended.len() >= n {
                    return ended;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }
}

/// The bytes `message` takes on the wire, without the 5-byte prefix.
fn size(message: &Number) -> u64 {
    message.encoded_len() as u64
}

fn sizes(values: impl IntoIterator<Item = i64>) -> (u64, u64) {
    values
        .into_iter()
        .fold((0, 0), |(n, bytes), v| (n + 1, bytes + size(&num(v))))
}

struct Setup {
    server: Running,
    server_seen: Arc<Recorder>,
    client_seen: Arc<Recorder>,
    target: String,
    client: CalculatorClient,
}

async fn setup(server: Server) -> Setup {
    let server_seen = Arc::new(Recorder::default());
    let client_seen = Arc::new(Recorder::default());
    let server = serve(server.observer(server_seen.clone())).await;
    let target = format!("http://{}", server.addr);
    let channel = Endpoint::new(&target)
        .expect("an endpoint")
        .observer(client_seen.clone())
        .connect_lazy();
    Setup {
        server,
        server_seen,
        client_seen,
        target,
        client: CalculatorClient::new(channel),
    }
}

fn seen(side: Side, method: &str, code: Code, sent: (u64, u64), received: (u64, u64)) -> Seen {
    Seen {
        side,
        method: method.to_owned(),
        registered: true,
        target: None,
        peer_has_addr: (side == Side::Server).then_some(true),
        code,
        sent,
        received,
    }
}

/// The client's view of a call, `server`'s mirrored: what one sent, the
/// other received.
fn both(method: &str, code: Code, sent: (u64, u64), received: (u64, u64)) -> (Seen, Seen) {
    (
        seen(Side::Client, method, code, sent, received),
        seen(Side::Server, method, code, received, sent),
    )
}

fn with_target(mut seen: Seen, target: &str) -> Seen {
    seen.target = Some(target.to_owned());
    seen
}

#[tokio::test]
async fn every_kind_of_call_is_told_with_its_messages() {
    let mut s = setup(Server::builder()).await;

    // Unary: 3 in, 9 out.
    let nine = bounded("square", s.client.square(num(3)))
        .await
        .expect("OK");
    assert_eq!(nine.get_ref().value, 9);
    // Server streaming: 4 in, 1..=5 out.
    let counted: Vec<_> = bounded("count_to", async {
        let stream = s.client.count_to(num(5)).await.expect("OK").into_inner();
        stream.collect::<Vec<_>>().await
    })
    .await;
    assert_eq!(counted.len(), 5);
    // Client streaming: 1, 2, 300 in (300 takes a longer varint), 303 out.
    let requests = futures_util::stream::iter([num(1), num(2), num(300)]);
    let total = bounded("sum", s.client.sum(requests)).await.expect("OK");
    assert_eq!(total.get_ref().value, 303);
    // Bidi: 7, 0 in (0 is an empty message), 14, 0 out.
    let requests = futures_util::stream::iter([num(7), num(0)]);
    let doubled: Vec<_> = bounded("double", async {
        let stream = s.client.double(requests).await.expect("OK").into_inner();
        stream.collect::<Vec<_>>().await
    })
    .await;
    assert_eq!(doubled.len(), 2);

    let (c1, s1) = both("svc.v1.Calculator/Square", Code::Ok, sizes([3]), sizes([9]));
    let (c2, s2) = both(
        "svc.v1.Calculator/CountTo",
        Code::Ok,
        sizes([5]),
        sizes(1..=5),
    );
    let (c3, s3) = both(
        "svc.v1.Calculator/Sum",
        Code::Ok,
        sizes([1, 2, 300]),
        sizes([303]),
    );
    let (c4, s4) = both(
        "svc.v1.Calculator/Double",
        Code::Ok,
        sizes([7, 0]),
        sizes([14, 0]),
    );
    let client = s.client_seen.wait_for(4).await;
    let t = &s.target;
    assert_eq!(
        client,
        vec![
            with_target(c1, t),
            with_target(c2, t),
            with_target(c3, t),
            with_target(c4, t)
        ]
    );
    assert_eq!(s.server_seen.wait_for(4).await, vec![s1, s2, s3, s4]);
    assert_eq!(s.client_seen.started().len(), 4);
    assert_eq!(s.server_seen.started().len(), 4);
    // The sizes are real: 300 takes three bytes, 0 none.
    assert_eq!(sizes([1, 2, 300]), (3, 2 + 2 + 3));
    assert_eq!(sizes([7, 0]), (2, 2));
    s.server.stop().await;
}

#[tokio::test]
async fn failures_deadlines_and_unknown_methods_are_told_with_their_status() {
    let mut s = setup(Server::builder()).await;

    // A deadline that passes while the handler sleeps: both sides say so.
    let mut request = Request::new(num(10_000));
    request.set_timeout(Duration::from_millis(100));
    let err = bounded("sleep", s.client.sleep(request))
        .await
        .expect_err("past the deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");

    // A method the service does not have.
    let channel = Endpoint::new(&s.target)
        .expect("an endpoint")
        .observer(s.client_seen.clone())
        .connect_lazy();
    let mut raw = Client::new(channel);
    let err = bounded(
        "unknown method",
        raw.unary::<Number, Number>(num(1), "/svc.v1.Calculator/Cube"),
    )
    .await
    .expect_err("no such method");
    assert_eq!(err.code(), Code::Unimplemented, "{err}");

    // A stream the client stops reading and drops: CANCELLED on both sides.
    let mut stream = bounded("count_to", s.client.count_to(num(1_000_000)))
        .await
        .expect("OK")
        .into_inner();
    let first = bounded("one message", stream.next()).await;
    assert!(
        matches!(first, Some(Ok(ref n)) if n.value == 1),
        "{first:?}"
    );
    drop(stream);

    let client = s.client_seen.wait_for(3).await;
    let codes = |all: &[Seen]| all.iter().map(|c| c.code).collect::<Vec<_>>();
    assert_eq!(
        codes(&client),
        [Code::DeadlineExceeded, Code::Unimplemented, Code::Cancelled]
    );
    // The server's ends come in the order the server learns them (the
    // deadline's call may end after the next call): looked up by method.
    let server = s.server_seen.wait_for(3).await;
    let on_server = |method: &str| {
        server
            .iter()
            .find(|c| c.method == format!("svc.v1.Calculator/{method}"))
            .unwrap_or_else(|| panic!("no {method} among {server:?}"))
    };
    // Past the deadline, the server's own timer and the client's reset
    // (RST_STREAM CANCEL, sent when the client's timer fires) race: the
    // server's call ends with whichever comes first.
    let slept = on_server("Sleep");
    assert!(
        matches!(slept.code, Code::DeadlineExceeded | Code::Cancelled),
        "{slept:?}"
    );
    // The unknown method is the peer's name, flagged as not declared.
    let cube = on_server("Cube");
    assert_eq!(cube.code, Code::Unimplemented);
    assert!(!cube.registered);
    let counted = on_server("CountTo");
    assert_eq!(counted.code, Code::Cancelled);
    assert!(slept.registered && counted.registered);
    // A call that failed before any answer received nothing; the dropped
    // stream received at least the message read.
    assert_eq!(client[0].received, (0, 0));
    assert_eq!(client[0].sent, sizes([10_000]));
    assert!(client[2].received.0 >= 1, "{:?}", client[2]);
    s.server.stop().await;
}

#[tokio::test]
async fn calls_through_tower_layers_and_services_are_told_too() {
    let server_seen = Arc::new(Recorder::default());
    let server = serve(
        Server::builder()
            .layer(tower::layer::util::Identity::new())
            .observer(server_seen.clone()),
    )
    .await;
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    // A client over a tower service has no endpoint to take observers from.
    let client_seen = Arc::new(Recorder::default());
    let service = tower::ServiceBuilder::new().service(channel);
    let mut client = CalculatorClient::from_client(
        Client::with_service(service).with_observer(client_seen.clone()),
    );

    bounded("square", client.square(num(4))).await.expect("OK");
    let requests = futures_util::stream::iter([num(2), num(3)]);
    let doubled: Vec<_> = bounded("double", async {
        let stream = client.double(requests).await.expect("OK").into_inner();
        stream.collect::<Vec<_>>().await
    })
    .await;
    assert_eq!(doubled.len(), 2);

    let (c1, s1) = both(
        "svc.v1.Calculator/Square",
        Code::Ok,
        sizes([4]),
        sizes([16]),
    );
    let (c2, s2) = both(
        "svc.v1.Calculator/Double",
        Code::Ok,
        sizes([2, 3]),
        sizes([4, 6]),
    );
    assert_eq!(client_seen.wait_for(2).await, vec![c1, c2]);
    assert_eq!(server_seen.wait_for(2).await, vec![s1, s2]);
    server.stop().await;
}

#[tokio::test]
async fn observers_run_in_order_and_unobserved_channels_tell_none() {
    #[derive(Default)]
    struct Order(Mutex<Vec<&'static str>>);
    struct Named(&'static str, Arc<Order>);
    impl Observer for Named {
        fn call_ended(&self, _: &CallInfo<'_>, _: &CallEnd<'_>) {
            self.1.0.lock().expect("not poisoned").push(self.0);
        }
    }
    let order = Arc::new(Order::default());
    let server_seen = Arc::new(Recorder::default());
    let server = serve(
        Server::builder()
            .observer(Named("first", order.clone()))
            .observer(Named("second", order.clone()))
            .observer(server_seen.clone()),
    )
    .await;
    // This channel has no observer: only the server is told.
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    let mut client = CalculatorClient::new(channel);
    bounded("square", client.square(num(2))).await.expect("OK");
    server_seen.wait_for(1).await;
    assert_eq!(*order.0.lock().expect("not poisoned"), ["first", "second"]);
    server.stop().await;
}
